"""Pre-training on the user's own text: masked-LM (+ NSP) as a job kind of the training engine."""
