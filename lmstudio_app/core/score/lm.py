"""What every score needs from a language model: its family, and log-probabilities at chosen positions.

The family comes from core/models/family.py (transformers' own model mappings, no list of names), so any
masked, causal or encoder-decoder model class transformers knows is recognised. torch is imported inside
functions: the GUI imports the score modules at start-up for their types.
"""

from __future__ import annotations

from typing import Any

from lmstudio_app.core.errors import UserError
from lmstudio_app.core.models.family import CAUSAL, MASKED, SEQ2SEQ, family_of
from lmstudio_app.core.models.heads import split_masked_lm


def lm_family(model: Any) -> str:
    """MASKED, CAUSAL or SEQ2SEQ (core/models/family.py decides from transformers' own mappings); a
    UserError for a model without a language-model head."""
    name = type(model).__name__
    if model is None or model.get_output_embeddings() is None:
        raise UserError(
            f"This model ({name}) has no language-model head, so it cannot score sentences: load a masked-LM "
            "(e.g. the embedded minilm-mlm or bert-base-uncased), a causal-LM (the embedded minilm-clm) or an "
            "encoder-decoder model."
        )
    family = family_of(model)
    if family not in (MASKED, CAUSAL, SEQ2SEQ):
        raise UserError(f"{name} is not a language model of a kind that can score sentences.")
    return family


def require_masked(model: Any, tokenizer: Any, what: str) -> None:
    """A UserError unless the model is a masked LM whose tokenizer has a mask token."""
    if lm_family(model) != MASKED:
        raise UserError(f"{what} needs a masked-LM model (such as the embedded minilm-mlm).")
    if tokenizer.mask_token_id is None:
        raise UserError(f"This model's tokenizer has no mask token, so it cannot do {what}.")


def encode(tokenizer: Any, text: str, model: Any, *, bos: bool = False) -> tuple[list[int], list[bool]]:
    """Token ids of `text` with the tokenizer's special tokens, and which positions are special; with
    `bos`, the beginning-of-sequence token goes first when the tokenizer has one and did not add it."""
    enc = tokenizer(text, return_special_tokens_mask=True)
    ids, special = list(enc["input_ids"]), [bool(s) for s in enc["special_tokens_mask"]]
    start = tokenizer.bos_token_id
    if bos and start is not None and (not ids or ids[0] != start):
        ids, special = [start, *ids], [True, *special]
    limit = getattr(model.config, "max_position_embeddings", None) or 512
    if 0 < (tokenizer.model_max_length or 0) < limit:
        limit = tokenizer.model_max_length
    if len(ids) > limit:
        short = text if len(text) <= 40 else text[:40] + "…"
        raise UserError(f"'{short}' is {len(ids)} tokens long; this model reads at most {limit}. Shorten it.")
    return ids, special


def token_label(tokenizer: Any, token_id: int) -> str:
    """A token as the user reads it: WordPiece's '##ing' as is, byte-level pieces decoded (' the')."""
    raw = tokenizer.convert_ids_to_tokens(int(token_id)) or ""
    if raw.startswith("##"):
        return raw
    return tokenizer.decode([int(token_id)]) or raw or f"[id {token_id}]"


class MaskedLogProbs:
    """Batched forward passes of a masked LM that return log-softmax rows at one position per input."""

    def __init__(self, model: Any, tokenizer: Any) -> None:
        self.model = model
        self.device = next(model.parameters()).device
        self.pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        self.split = split_masked_lm(model)

    def __call__(self, rows: list[list[int]], positions: list[int]) -> Any:
        """float32 log-probabilities (len(rows), vocab) on the CPU: row i's distribution at positions[i]."""
        import torch

        width = max(len(r) for r in rows)
        ids = torch.full((len(rows), width), self.pad, dtype=torch.long)
        attention = torch.zeros((len(rows), width), dtype=torch.long)
        for i, row in enumerate(rows):
            ids[i, : len(row)] = torch.tensor(row)
            attention[i, : len(row)] = 1
        which = torch.arange(len(rows), device=self.device)
        at = torch.tensor(positions, device=self.device)
        with torch.inference_mode():
            ids, attention = ids.to(self.device), attention.to(self.device)
            if self.split is not None:
                base, head = self.split
                logits = head(base(input_ids=ids, attention_mask=attention)[0][which, at])
            else:
                output = self.model(input_ids=ids, attention_mask=attention)  # [0]: pre-training models too
                logits = output[0][which, at]
            return logits.float().log_softmax(-1).cpu()
