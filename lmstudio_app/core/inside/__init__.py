"""Inside the model: the primer's formulas computed live on a loaded model (Qt-free).

steps: one self-attention layer step by step (decoder_steps: a causal LM's masked self-attention, an
encoder-decoder's cross-attention); heads: each head's share and head ablation; positions: learned and
sine/cosine position encodings; lens: the masked-LM head (a causal LM's final norm and LM head) on every
layer; objectives: BERT's masking and the pre-training loss. `anatomy` and `decoder_anatomy` find the
pieces these need inside each architecture.
"""
