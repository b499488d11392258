"""The model a pre-training run trains, and its loss L = α·L_MLM + β·L_NSP from the model's own heads.

Any masked-LM trains as it is. An encoder without a masked-LM head (e.g. the sentence-transformers
MiniLM) gets one whose decoder is tied to its word embeddings, as the embedded model's recipe did, so
the [MASK] row of the embeddings learns too. Next-sentence prediction needs BERT's pre-training heads
(`BertForPreTraining`): a BERT masked-LM or encoder gets a new NSP head; other model types cannot.
For BERT the masked-LM head runs on the masked positions only: the vocabulary-sized decoder over every
position would otherwise be about half of the compute.
"""

from __future__ import annotations

import inspect
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lmstudio_app.core.errors import ModelSourceError, UserError
from lmstudio_app.core.models.family import require_encoder_base
from lmstudio_app.core.models.quiet import quiet_transformers
from lmstudio_app.core.models.registry import HEAD_MLM, HEAD_NSP, detect_heads

NSP_MODEL_TYPES = ("bert", "megatron-bert", "mobilebert")  # model types with BERT's pre-training heads


@dataclass
class ModelPlan:
    """How a folder becomes the model to train: the loading class and what is added, in words."""

    path: Path
    name: str
    model_type: str
    auto_class: str  # AutoModelForMaskedLM | AutoModelForPreTraining
    new_head: bool  # a masked-LM head is added (decoder tied to the word embeddings)
    new_nsp_head: bool
    can_nsp: bool
    notes: list[str] = field(default_factory=list)


def plan_model(path: Path, name: str, nsp: bool) -> ModelPlan:
    """Check that `path` can be pre-trained (with NSP when asked) and say what will be done to it."""
    from transformers.models.auto.modeling_auto import MODEL_FOR_MASKED_LM_MAPPING_NAMES

    try:
        config = json.loads((Path(path) / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelSourceError(
            f"{name} has no readable config.json: pick a Hugging Face model folder."
        ) from exc
    model_type = str(config.get("model_type", ""))
    _, heads = detect_heads(Path(path))
    has_mlm = HEAD_MLM in heads
    if not has_mlm and model_type not in MODEL_FOR_MASKED_LM_MAPPING_NAMES:
        raise UserError(
            f"{name} ({model_type or 'unknown type'}) has no masked-LM head and no encoder that can take one: "
            "pick a BERT-like model (BERT, RoBERTa, DistilBERT, MiniLM...)."
        )
    require_encoder_base(config, name, "pre-training")  # e.g. BERT as a decoder: a BERT type, no encoder
    can_nsp = model_type in NSP_MODEL_TYPES
    if nsp and not can_nsp:
        raise UserError(
            f"{name} ({model_type}) cannot have a next-sentence head (only BERT-type models have BERT's "
            "pre-training heads): turn NSP off."
        )
    has_nsp = HEAD_NSP in heads and has_mlm
    keep_nsp = has_nsp or nsp  # a model with both heads keeps them, even when NSP is not trained
    plan = ModelPlan(
        path=Path(path),
        name=name,
        model_type=model_type,
        auto_class="AutoModelForPreTraining" if keep_nsp else "AutoModelForMaskedLM",
        new_head=not has_mlm,
        new_nsp_head=nsp and not has_nsp,
        can_nsp=can_nsp,
    )
    if plan.new_head:
        plan.notes.append(
            f"{name} has no masked-LM head: a new one is added, its decoder tied to the word embeddings "
            "(its transform layer starts untrained, so the first steps mostly train the head)."
        )
    if plan.new_nsp_head:
        plan.notes.append(
            f"{name} has no next-sentence head: a new one is added (it starts at chance, 50 %)."
        )
    if has_nsp and not nsp:
        plan.notes.append("The next-sentence head is kept as it is (not trained: NSP is off).")
    return plan


def load_model(plan: ModelPlan) -> Any:
    """The model to train, in fp32; new heads start from the same seed-dependent initialisation."""
    import transformers

    cls = getattr(transformers, plan.auto_class)
    extra = {"tie_word_embeddings": True} if plan.new_head else {}
    with quiet_transformers():  # the missing-head report is expected when a head is added
        try:
            model = cls.from_pretrained(
                plan.path, local_files_only=True, use_safetensors=True, dtype="float32", **extra
            )
        except (OSError, ValueError, KeyError) as exc:
            raise ModelSourceError(
                f"Could not load {plan.name} for pre-training: {exc}".splitlines()[0]
            ) from exc
    output = model.get_output_embeddings()
    if (
        plan.new_head
        and output is not None
        and output.weight.data_ptr() != model.get_input_embeddings().weight.data_ptr()
    ):
        raise ModelSourceError(f"The new masked-LM head of {plan.name} could not be tied to its embeddings.")
    model.config.architectures = [type(model).__name__]
    return model


def _accepted(model: Any, batch: dict[str, Any]) -> dict[str, Any]:
    names = inspect.signature(model.forward).parameters
    return {
        k: batch[k] for k in ("input_ids", "attention_mask", "token_type_ids") if k in batch and k in names
    }


def head_outputs(model: Any, batch: dict[str, Any]) -> tuple[Any, Any, Any]:
    """(masked-position logits, their gold ids, NSP logits or None) from the model's own heads.

    A BERT's LM head runs on the masked positions only (far less memory than logits everywhere). Under
    several processes the model is wrapped (DistributedDataParallel): its gradients are exchanged only
    when the wrapper's own forward runs, so it takes the whole-model path.
    """
    labels = batch["labels"]
    chosen = labels != -100
    inner = getattr(model, "module", model)  # the model itself, also when wrapped
    encoder, heads = getattr(model, "bert", None), getattr(model, "cls", None)
    if encoder is not None and heads is not None and hasattr(heads, "predictions"):
        out = encoder(**_accepted(encoder, batch))
        logits = heads.predictions(out.last_hidden_state[chosen])
        pooled = out.pooler_output
        nsp = (
            heads.seq_relationship(pooled)
            if hasattr(heads, "seq_relationship") and pooled is not None
            else None
        )
        return logits, labels[chosen], nsp
    out = model(**_accepted(inner, batch))
    logits = out.logits if getattr(out, "logits", None) is not None else out.prediction_logits
    return logits[chosen], labels[chosen], getattr(out, "seq_relationship_logits", None)


def pretraining_loss(
    model: Any, batch: dict[str, Any], alpha: float, beta: float
) -> tuple[Any, dict[str, float]]:
    """α·(mean cross-entropy over the masked tokens) + β·(NSP cross-entropy), as BertForPreTraining sums them."""
    import torch.nn.functional as F

    logits, gold, nsp_logits = head_outputs(model, batch)
    mlm = F.cross_entropy(logits.float(), gold) if gold.numel() else logits.sum() * 0.0
    loss, parts = alpha * mlm, {"mlm_loss": float(mlm.detach())}
    if beta and nsp_logits is not None and "next_sentence_label" in batch:
        nsp = F.cross_entropy(nsp_logits.float(), batch["next_sentence_label"])
        loss = loss + beta * nsp
        parts["nsp_loss"] = float(nsp.detach())
    return loss, parts
