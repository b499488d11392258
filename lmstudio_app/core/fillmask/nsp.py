"""Next-sentence prediction (BERT's second pre-training task): does sentence B follow sentence A?

Only the pooled [CLS] vector goes through the 2-way NSP classifier; the masked-LM head is skipped.
"""

from __future__ import annotations

from typing import Any

from lmstudio_app.core.errors import UserError
from lmstudio_app.core.tasks import TaskState, ensure_state


def _nsp_layer(model: Any) -> Any | None:
    """The NSP classifier (BertForPreTraining and BertForNextSentencePrediction keep it at cls.seq_relationship)."""
    return getattr(getattr(model, "cls", None), "seq_relationship", None)


def has_nsp_head(model: Any) -> bool:
    return model is not None and _nsp_layer(model) is not None


def next_sentence_probability(
    model: Any,
    tokenizer: Any,
    first: str,
    second: str,
    *,
    name: str = "This model",
    state: TaskState | None = None,
) -> float:
    """P(IsNext): the model's probability that `second` follows `first` (label 0 in BERT's NSP head)."""
    import torch

    ensure_state(state).raise_if_stopped()
    if not first.strip() or not second.strip():
        raise UserError("Type both sentences, A and B, to see whether B follows A.")
    layer = _nsp_layer(model)
    if layer is None:
        raise UserError(
            f"{name} has no next-sentence head: only BERT pre-training checkpoints (e.g. bert-base-uncased) "
            "have one."
        )
    device = next(model.parameters()).device
    inputs = tokenizer(first, second, return_tensors="pt", truncation="longest_first").to(device)
    with torch.inference_mode():
        pooled = model.base_model(**inputs).pooler_output
        logits = layer(pooled).float()
    return float(logits.softmax(-1)[0, 0])
