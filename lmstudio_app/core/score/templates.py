"""Template probes (Kurita et al. 2019): how much does an attribute word raise a target word's probability?

In "[MASK] is a nurse." the target ("he", "she") fills the mask: p = P(mask = target | template); the
prior is the same with the attribute ("nurse") masked too; log ratio = ln(p / prior) says how much the
attribute moves the target. The attribute is the word given, else the word marked in braces
("[MASK] is a {nurse}."), else the template's last word. A target of several word pieces is scored by the
chain rule: the mask is widened to as many pieces and they are predicted left to right, each seeing the
earlier ones filled in (for the prior and the probability alike).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from lmstudio_app.core.errors import UserError
from lmstudio_app.core.score.lm import MaskedLogProbs, require_masked
from lmstudio_app.core.tasks import TaskState, ensure_state

MASK_SPELLINGS = ("[MASK]", "<mask>")
EXAMPLE = "[MASK] is a nurse."
BATCH = 64
_WORD = re.compile(r"[^\W_][\w'-]*")


@dataclass
class TargetProbe:
    target: str
    group: str
    prob: float
    prior: float
    log_ratio: float  # ln(prob / prior)

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "group": self.group,
            "prob": self.prob,
            "prior": self.prior,
            "log_ratio": self.log_ratio,
        }


def parse_targets(text: str) -> dict[str, list[str]] | list[str]:
    """ "he,she" -> ["he", "she"]; "male:he,him;female:she,her" -> {"male": [...], "female": [...]}."""
    if ":" not in text:
        words = [w.strip() for w in text.split(",") if w.strip()]
        if not words:
            raise UserError("No target words: give them comma-separated, e.g. he,she.")
        return words
    groups: dict[str, list[str]] = {}
    for part in filter(str.strip, text.split(";")):
        name, _, words = part.partition(":")
        listed = [w.strip() for w in words.split(",") if w.strip()]
        if not name.strip() or not listed:
            raise UserError(f"Write target groups as group:word,word;group:word (not {part.strip()!r}).")
        groups[name.strip()] = listed
    return groups


def group_log_ratios(probes: list[TargetProbe]) -> dict[str, float]:
    """The mean log ratio of each group's targets, groups in the order given."""
    groups: dict[str, list[float]] = {}
    for p in probes:
        groups.setdefault(p.group, []).append(p.log_ratio)
    return {g: sum(v) / len(v) for g, v in groups.items()}


@dataclass
class _Template:
    text: str  # the mask in the model's spelling, braces removed
    attribute: tuple[int, int]  # character span of the attribute in text
    mask: tuple[int, int]


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def parse_template(template: str, mask_token: str, attribute: str | None = None) -> _Template:
    """Find the one mask and the attribute (given, in braces, or the last word); a UserError otherwise."""
    spellings = {*MASK_SPELLINGS, mask_token}
    pattern = "|".join(re.escape(s) for s in sorted(spellings, key=len, reverse=True))
    masks = list(re.finditer(pattern, template, re.IGNORECASE))
    if len(masks) != 1:
        raise UserError(
            f"The template needs exactly one {mask_token} (where the target word goes), not {len(masks)}: "
            f"e.g. '{EXAMPLE}'"
        )
    text = template[: masks[0].start()] + mask_token + template[masks[0].end() :]
    mask = (masks[0].start(), masks[0].start() + len(mask_token))
    braces = list(re.finditer(r"\{([^{}]*)\}", text))
    if len(braces) > 1 or any(not b.group(1).strip() or _overlap(b.span(), mask) for b in braces):
        raise UserError("Mark one attribute word in braces, e.g. '[MASK] is a {nurse}.'")
    span = None
    if braces:
        b = braces[0]
        if b.start() < mask[0]:
            mask = (mask[0] - 2, mask[1] - 2)
        text = text[: b.start()] + b.group(1) + text[b.end() :]
        span = (b.start(), b.start() + len(b.group(1)))
    if attribute is not None:
        found = [
            m
            for m in re.finditer(rf"(?<!\w){re.escape(attribute.strip())}(?!\w)", text, re.IGNORECASE)
            if not _overlap(m.span(), mask)
        ]
        if not attribute.strip() or not found:
            raise UserError(f"The attribute {attribute!r} is not a word of the template {template!r}.")
        span = found[-1].span()
    if span is None:
        words = [m.span() for m in _WORD.finditer(text) if not _overlap(m.span(), mask)]
        if not words:
            raise UserError(f"The template has no attribute word besides the mask: e.g. '{EXAMPLE}'")
        span = words[-1]
    return _Template(text, span, mask)


def attribute_of(template: str, mask_token: str, attribute: str | None = None) -> str:
    """The attribute word a probe of `template` masks for its prior, as it reads in the template."""
    parsed = parse_template(template, mask_token, attribute)
    return parsed.text[parsed.attribute[0] : parsed.attribute[1]]


def _pieces(tokenizer: Any, template: _Template, word: str) -> list[int]:
    """The target's token ids as it reads at the mask (a leading space matters to byte-level BPE)."""
    spaced = template.mask[0] > 0 and template.text[template.mask[0] - 1].isspace()
    ids = tokenizer.convert_tokens_to_ids(tokenizer.tokenize((" " if spaced else "") + word))
    if not ids or tokenizer.unk_token_id in ids:
        raise UserError(f"Unknown target word {word!r}: this model's vocabulary cannot spell it.")
    return ids


def template_probe(
    model: Any,
    tokenizer: Any,
    template: str,
    targets: dict[str, list[str]] | list[str],
    *,
    attribute: str | None = None,
    state: TaskState | None = None,
) -> list[TargetProbe]:
    """P(target) at the mask, with and without the attribute, for every target (see the module docstring);
    targets as a list (each its own group) or {group: [words]}."""
    state = ensure_state(state)
    require_masked(model, tokenizer, "template probes")
    if not getattr(tokenizer, "is_fast", False):
        raise UserError("Template probes need a fast tokenizer (to find the attribute's pieces).")
    groups = {t: [t] for t in targets} if isinstance(targets, list) else targets
    if not any(groups.values()):
        raise UserError("No target words: give them comma-separated, e.g. he,she.")
    parsed = parse_template(template, tokenizer.mask_token, attribute)
    enc = tokenizer(parsed.text, return_offsets_mapping=True, return_special_tokens_mask=True)
    ids, mask_id = list(enc["input_ids"]), tokenizer.mask_token_id
    at = ids.index(mask_id)
    start, end = parsed.attribute
    attr = [
        i
        for i, ((a, b), s) in enumerate(zip(enc["offset_mapping"], enc["special_tokens_mask"], strict=True))
        if not s and i != at and a < end and b > start
    ]
    words = [(w, g) for g, listed in groups.items() for w in listed]
    plans = [(w, g, _pieces(tokenizer, parsed, w)) for w, g in words]
    rows: list[list[int]] = []
    asks: list[int] = []
    truth: list[int] = []
    for _, _, pieces in plans:
        for prior in (False, True):
            for i, piece in enumerate(pieces):
                row = ids[:at] + pieces[:i] + [mask_id] * (len(pieces) - i) + ids[at + 1 :]
                if prior:
                    for q in attr:
                        row[q if q < at else q + len(pieces) - 1] = mask_id
                rows.append(row)
                asks.append(at + i)
                truth.append(piece)
    masked = MaskedLogProbs(model, tokenizer)
    values: list[float] = []
    for first in range(0, len(rows), BATCH):
        state.raise_if_stopped()
        log_probs = masked(rows[first : first + BATCH], asks[first : first + BATCH])
        values += [float(row[t]) for row, t in zip(log_probs, truth[first : first + BATCH], strict=True)]
    out, k = [], 0
    for word, group, pieces in plans:
        n = len(pieces)
        with_attr, without = sum(values[k : k + n]), sum(values[k + n : k + 2 * n])
        k += 2 * n
        out.append(TargetProbe(word, group, math.exp(with_attr), math.exp(without), with_attr - without))
    return out
