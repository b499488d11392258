"""Inside the encoder: the primer's formulas computed live on a loaded model (Qt-free).

steps: one self-attention layer step by step; heads: each head's share and head ablation; positions:
learned and sine/cosine position encodings; lens: the masked-LM head on every layer; objectives: BERT's
masking and the pre-training loss. `anatomy` finds the pieces these need inside each architecture.
"""
