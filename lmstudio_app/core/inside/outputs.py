"""What a model's head says about a text, in one shape for the ablation and word-order experiments.

A masked-LM gives the top words at each mask; a classifier gives each label's probability. Kept apart
from the Masked words panel's engine on purpose (core/inside depends on shared core modules only): here
one plain forward pass is all that is needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lmstudio_app.core.errors import UserError
from lmstudio_app.core.inside.anatomy import MLM_EXAMPLES, Encoded, encode, mlm_head, token_text


@dataclass(frozen=True)
class Outputs:
    """kind 'masks': one list of (word, probability) per mask; kind 'labels': one list, every label."""

    kind: str
    slots: list[list[tuple[str, float]]]
    slot_names: list[str]

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "slots": [
                {"name": name, "scores": [{"label": w, "score": p} for w, p in slot]}
                for name, slot in zip(self.slot_names, self.slots, strict=True)
            ],
        }


def output_kind(loaded: Any) -> str:
    """'masks' for a masked-LM, 'labels' for a sequence classifier; a UserError for a bare encoder."""
    if mlm_head(loaded.model) is not None and loaded.tokenizer.mask_token_id is not None:
        return "masks"
    if getattr(loaded.model.config, "id2label", None) and hasattr(loaded.model, "classifier"):
        return "labels"
    raise UserError(
        f"{loaded.name} has neither a masked-LM head nor a classifier head, so there is no prediction to "
        f"watch: load a masked-LM ({MLM_EXAMPLES}) or a fine-tuned classifier."
    )


def predict(loaded: Any, enc: Encoded, top_k: int = 5) -> Outputs:
    """One forward pass of the whole model (with whatever hooks are active on this thread)."""
    import torch

    kind = output_kind(loaded)
    if kind == "masks":
        positions = [i for i, t in enumerate(enc.ids) if t == loaded.tokenizer.mask_token_id]
        if not positions:
            raise UserError(
                f"No mask in the text: put {loaded.tokenizer.mask_token} where a word is missing, "
                "e.g. 'The cat sat on the [MASK].'"
            )
        with torch.inference_mode():
            out = loaded.model(**enc.inputs)
            logits = getattr(out, "prediction_logits", None)
            logits = out.logits if logits is None else logits
            probs = logits[0, positions].float().softmax(-1).cpu()
        top = probs.topk(min(top_k, probs.shape[-1]))
        slots = [
            [(token_text(loaded.tokenizer, t), float(p)) for p, t in zip(vals, ids, strict=True)]
            for vals, ids in zip(top.values.tolist(), top.indices.tolist(), strict=True)
        ]
        return Outputs("masks", slots, [f"mask {k + 1}" for k in range(len(positions))])
    with torch.inference_mode():
        probs = loaded.model(**enc.inputs).logits[0].float().softmax(-1).cpu().tolist()
    labels = loaded.model.config.id2label
    return Outputs("labels", [[(str(labels.get(i, i)), p) for i, p in enumerate(probs)]], ["labels"])


def predict_text(loaded: Any, text: str, text_b: str | None = None, top_k: int = 5) -> Outputs:
    return predict(loaded, encode(loaded, text, text_b), top_k)
