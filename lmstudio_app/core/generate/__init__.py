"""Text generation with causal LMs and encoder-decoders: the next-token distribution, decoding strategies
(greedy, sampling, beam search) and token-by-token streaming with a stop flag."""
