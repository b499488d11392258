"""Masked-word prediction: every mask at once, joint filling, whole words, multi-piece words, targets.

Faster than transformers' fill-mask pipeline because the masked-LM head (a projection onto the whole
vocabulary) runs on the mask positions only, under inference mode, on an already loaded model. Better
because several masks can be filled jointly (most confident first, re-run, beam of complete sentences with
their joint probability), a word can span several pieces (`[MASK]x2`), and target words of several
pieces are scored by the chain rule instead of by their first piece.

torch is imported inside functions: the GUI imports this module at start-up for its types.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from lmstudio_app.core.errors import UserError
from lmstudio_app.core.fillmask.text import MaskSpan, fill_text, model_text, require_masks
from lmstudio_app.core.fillmask.vocab import Vocab, piece_text, token_text, vocab_of
from lmstudio_app.core.models.family import MASKED, family_of
from lmstudio_app.core.models.heads import split_masked_lm
from lmstudio_app.core.models.onnx_runtime import OnnxMaskedLM
from lmstudio_app.core.tasks import TaskState, ensure_state

MODES = ("independent", "joint")
MAX_TOP_K = 100
MAX_JOINT_PIECES = 12


@dataclass(frozen=True)
class Candidate:
    """A word (or word piece) for one mask with its probability."""

    token: str
    score: float
    token_ids: tuple[int, ...]
    subword: bool = False


@dataclass(frozen=True)
class MaskPrediction:
    """The candidates for one mask of the user's text (index counts masks in text order)."""

    index: int
    span: MaskSpan
    candidates: list[Candidate]


@dataclass(frozen=True)
class Sentence:
    """A complete filling from joint mode; score is the product of `steps`, one per piece filled."""

    text: str
    score: float
    words: tuple[str, ...]
    steps: tuple[float, ...]
    order: tuple[int, ...]  # which mask piece (0-based, text order) each step filled
    token_ids: tuple[int, ...]  # the chosen id for each mask piece, text order


@dataclass(frozen=True)
class TargetScore:
    """How likely a word the user typed is at one mask; several pieces are scored by the chain rule."""

    word: str
    mask: int
    pieces: tuple[str, ...]
    score: float | None
    rank: int | None  # place it would take in that mask's one-piece candidate list
    note: str = ""


@dataclass
class FillMaskResult:
    text: str
    mode: str
    masks: list[MaskPrediction]
    sentences: list[Sentence] = field(default_factory=list)
    targets: list[TargetScore] = field(default_factory=list)

    def to_json(self, model_name: str) -> dict[str, Any]:
        """The CLI's JSON shape: model, masks (index, predictions), and sentences in joint mode."""
        out: dict[str, Any] = {
            "model": model_name,
            "masks": [
                {
                    "index": m.index,
                    "predictions": [{"token": c.token, "score": c.score} for c in m.candidates],
                }
                for m in self.masks
            ],
        }
        if self.mode == "joint":
            out["sentences"] = [{"text": s.text, "score": s.score} for s in self.sentences]
        if self.targets:
            out["targets"] = [
                {"word": t.word, "mask": t.mask, "pieces": list(t.pieces), "score": t.score, "rank": t.rank}
                for t in self.targets
            ]
        return out


# ---- the model ---------------------------------------------------------------------------------------


def has_masked_lm_head(model: Any) -> bool:
    """A masked-LM head by the model's family: a causal LM (e.g. BERT as a decoder) has an LM head and
    often a [MASK] token too, but predicts the next token, not a masked one."""
    return model is not None and model.get_output_embeddings() is not None and family_of(model) == MASKED


def check_masked_lm(model: Any, tokenizer: Any, name: str = "This model", exported: bool = False) -> None:
    """A UserError unless the model has a masked-LM head (an `exported` one was checked at export) and
    its tokenizer a mask token."""
    if not exported and not has_masked_lm_head(model):
        raise UserError(
            f"{name} has no masked-LM head, so it cannot fill masks: load a masked LM such as the embedded "
            "minilm-mlm or bert-base-uncased, or pick one that has the head."
        )
    if tokenizer.mask_token_id is None:
        raise UserError(f"{name}'s tokenizer has no mask token, so it cannot fill masks.")


class _Scorer:
    """Batched forward passes that return logits at the requested positions only."""

    def __init__(self, model: Any, tokenizer: Any) -> None:
        self.model = model
        self.config = model.config
        self.device = next(model.parameters()).device
        self.pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        self.split = split_masked_lm(model)
        config = model.config
        self.last_layer_at_masks = (
            self.split is not None
            and config.model_type == "bert"
            and not config.is_decoder
            and getattr(config, "position_embedding_type", "absolute") == "absolute"
        )

    def logits(self, rows: list[list[int]], positions: list[list[int]]) -> list[Any]:
        """For each row, float32 logits (len(positions[i]), vocab) on the CPU."""
        import torch

        width = max(len(r) for r in rows)
        ids = torch.full((len(rows), width), self.pad, dtype=torch.long)
        attention = torch.zeros((len(rows), width), dtype=torch.long)
        for i, row in enumerate(rows):
            ids[i, : len(row)] = torch.tensor(row)
            attention[i, : len(row)] = 1
        which_row = torch.tensor([i for i, p in enumerate(positions) for _ in p], device=self.device)
        which_pos = torch.tensor([q for p in positions for q in p], device=self.device)
        with torch.inference_mode():
            ids, attention = ids.to(self.device), attention.to(self.device)
            if self.split is not None:
                base, head = self.split
                if self.last_layer_at_masks:
                    hidden = _bert_hidden_at(base, ids, attention, which_row, which_pos)
                else:
                    hidden = base(input_ids=ids, attention_mask=attention)[0][which_row, which_pos]
                out = head(hidden)
            else:
                out = self.model(input_ids=ids, attention_mask=attention).logits[which_row, which_pos]
            out = out.float().cpu()
        return list(out.split([len(p) for p in positions]))


def _bert_hidden_at(base: Any, ids: Any, attention: Any, which_row: Any, which_pos: Any) -> Any:
    """BERT's last hidden states at the asked positions only: the last layer runs its queries, output
    projection and feed-forward on those positions (keys and values still see the whole text)."""
    import torch

    hidden = base.embeddings(input_ids=ids)
    additive = None
    if not bool(attention.all()):
        additive = (1.0 - attention[:, None, None, :].to(hidden.dtype)) * torch.finfo(hidden.dtype).min
    *early, last = base.encoder.layer
    for layer in early:
        hidden = layer(hidden, additive)
    attn = last.attention.self
    heads, size = attn.num_attention_heads, attn.attention_head_size
    picked = hidden[which_row, which_pos]  # (n, hidden)
    query = attn.query(picked).view(-1, heads, 1, size)
    key = attn.key(hidden)[which_row].view(len(which_row), -1, heads, size).transpose(1, 2)
    value = attn.value(hidden)[which_row].view(len(which_row), -1, heads, size).transpose(1, 2)
    mask = None if additive is None else additive[which_row]
    context = torch.nn.functional.scaled_dot_product_attention(
        query, key, value, attn_mask=mask, scale=attn.scaling
    )
    attended = last.attention.output(context.reshape(len(which_row), heads * size), picked)
    return last.output(last.intermediate(attended), attended)


# ---- search ------------------------------------------------------------------------------------------


@dataclass
class _Beam:
    ids: list[int]
    filled: dict[int, int]  # position -> token id
    score: float
    steps: tuple[float, ...]
    order: tuple[int, ...]  # positions in the order they were filled


def _top(probs: Any, allowed: Any | None, k: int) -> list[tuple[float, int]]:
    """The k most probable ids among the allowed ones, with their true (unrenormalised) probability."""
    masked = probs if allowed is None else probs.masked_fill(~allowed, -1.0)
    values, ids = masked.topk(min(k, masked.shape[-1]))
    return [(v, i) for v, i in zip(values.tolist(), ids.tolist(), strict=True) if v >= 0]


def _beam_fill(
    scorer: _Scorer,
    ids: list[int],
    positions: list[int],
    allowed: dict[int, Any | None],
    width: int,
    state: TaskState,
) -> list[_Beam]:
    """Fill `positions` one at a time, the most confident first, keeping the `width` best partial fillings.

    Each step re-runs the model on every beam (one batch), so later fills see earlier ones; a filling's
    score is the product of the probabilities of its steps.
    """
    beams = [_Beam(list(ids), {}, 1.0, (), ())]
    for _ in positions:
        state.raise_if_stopped()
        remaining = [[p for p in positions if p not in b.filled] for b in beams]
        logits = scorer.logits([b.ids for b in beams], remaining)
        grown: dict[tuple[int, ...], _Beam] = {}
        for beam, rest, rows in zip(beams, remaining, logits, strict=True):
            probs = rows.softmax(-1)
            tops = [_top(probs[j], allowed.get(p), width) for j, p in enumerate(rest)]
            j = max(range(len(rest)), key=lambda r: tops[r][0][0] if tops[r] else -1.0)
            position = rest[j]
            for p, token in tops[j]:
                new = _Beam(
                    beam.ids.copy(),
                    {**beam.filled, position: token},
                    beam.score * p,
                    (*beam.steps, p),
                    (*beam.order, position),
                )
                new.ids[position] = token
                key = tuple(new.ids[q] if q in new.filled else -1 for q in positions)
                if key not in grown or grown[key].score < new.score:
                    grown[key] = new
        if not grown:
            break
        beams = sorted(grown.values(), key=lambda b: b.score, reverse=True)[:width]
    return [b for b in beams if len(b.filled) == len(positions)]


# ---- the public entry point --------------------------------------------------------------------------


def fill_mask(
    model: Any,
    tokenizer: Any,
    text: str,
    *,
    top_k: int = 5,
    mode: str = "independent",
    whole_words: bool = False,
    targets: list[str] | tuple[str, ...] = (),
    sentences: int = 5,
    name: str = "This model",
    state: TaskState | None = None,
) -> FillMaskResult:
    """Predict every mask in `text` (see the module docstring for what the options do).

    independent: one forward pass, each mask scored alone (the pipeline's numbers); a mask of several
    pieces is decoded as one word. joint: the same per-mask candidates plus the `sentences` best
    complete fillings, found by filling the most confident piece first and re-running.
    `model` may be an OnnxMaskedLM (an optimized folder, or the Fill-mask tab's fast runtime): ONNX
    Runtime then runs the forward passes, with the same searches around them.
    """
    state = ensure_state(state)
    if mode not in MODES:
        raise UserError(f"Unknown mode {mode!r}: use {' or '.join(MODES)}.")
    if not 1 <= top_k <= MAX_TOP_K:
        raise UserError(f"top-k must be between 1 and {MAX_TOP_K}, not {top_k}.")
    if not 1 <= sentences <= 20:
        raise UserError(f"The number of sentences must be between 1 and 20, not {sentences}.")
    onnx = isinstance(model, OnnxMaskedLM)
    check_masked_lm(None if onnx else model, tokenizer, name, onnx)
    spans = require_masks(text, tokenizer.mask_token)
    ids, groups = _encode(model, tokenizer, text, spans)
    scorer = model if onnx else _Scorer(model, tokenizer)
    vocab = vocab_of(
        tokenizer, model.config.vocab_size if onnx else model.get_output_embeddings().weight.shape[0]
    )
    state.raise_if_stopped()

    single = [g[0] for g in groups if len(g) == 1]
    first = dict(zip(single, scorer.logits([ids], [single])[0], strict=True)) if single else {}
    masks = []
    for index, (span, group) in enumerate(zip(spans, groups, strict=True)):
        state.raise_if_stopped()
        if len(group) == 1:
            probs = first[group[0]].softmax(-1)
            found = _top(probs, vocab.word_start if whole_words else None, top_k)
            candidates = [
                Candidate(token_text(tokenizer, vocab, t), p, (t,), bool(vocab.continuation[t]))
                for p, t in found
            ]
        else:
            beams = _beam_fill(scorer, ids, group, _word_constraints(group, vocab), top_k, state)
            candidates = [
                Candidate(
                    piece_text(tokenizer, [vocab.tokens[b.filled[q]] for q in group]),
                    b.score,
                    tuple(b.filled[q] for q in group),
                )
                for b in beams
            ]
        masks.append(MaskPrediction(index, span, candidates))

    result = FillMaskResult(text, mode, masks)
    encoded = _Encoded(scorer, tokenizer, vocab, text, spans, ids, groups)
    if mode == "joint":
        result.sentences = _joint(encoded, whole_words, sentences, state)
    if targets:
        result.targets = _score_targets(encoded, targets, whole_words)
    return result


@dataclass
class _Encoded:
    """The text as the model reads it, with everything the searches need."""

    scorer: _Scorer
    tokenizer: Any
    vocab: Vocab
    text: str
    spans: list[MaskSpan]
    ids: list[int]
    groups: list[list[int]]  # per mask, the positions of its pieces


def _encode(
    model: Any, tokenizer: Any, text: str, spans: list[MaskSpan]
) -> tuple[list[int], list[list[int]]]:
    """Token ids of the text and, per mask, the positions of its pieces."""
    ids = tokenizer(model_text(text, spans, tokenizer.mask_token))["input_ids"]
    limit = getattr(model.config, "max_position_embeddings", None) or 512
    if 0 < tokenizer.model_max_length < limit:
        limit = tokenizer.model_max_length
    if len(ids) > limit:
        raise UserError(f"The text is {len(ids)} tokens long; this model reads at most {limit}. Shorten it.")
    positions = [i for i, t in enumerate(ids) if t == tokenizer.mask_token_id]
    wanted = sum(s.pieces for s in spans)
    if len(positions) != wanted:
        raise UserError(
            f"The tokenizer turned the text's masks into {len(positions)} mask tokens instead of {wanted}; "
            "write each mask as its own word."
        )
    groups, at = [], 0
    for span in spans:
        groups.append(positions[at : at + span.pieces])
        at += span.pieces
    return ids, groups


def _word_constraints(group: list[int], vocab: Vocab) -> dict[int, Any]:
    """A multi-piece mask is one word: a word-start piece followed by continuation pieces."""
    if vocab.scheme == "unknown":
        return dict.fromkeys(group, ~vocab.special)
    return {q: vocab.word_start if i == 0 else vocab.continuation for i, q in enumerate(group)}


def _joint(encoded: _Encoded, whole_words: bool, width: int, state: TaskState) -> list[Sentence]:
    scorer, tokenizer, vocab, text = encoded.scorer, encoded.tokenizer, encoded.vocab, encoded.text
    spans, ids, groups = encoded.spans, encoded.ids, encoded.groups
    positions = [q for g in groups for q in g]
    if len(positions) > MAX_JOINT_PIECES:
        raise UserError(
            f"Joint mode fills at most {MAX_JOINT_PIECES} mask pieces ({len(positions)} here); "
            "use independent mode or fewer masks."
        )
    allowed: dict[int, Any] = {}
    for group in groups:
        if len(group) > 1:
            allowed.update(_word_constraints(group, vocab))
        else:  # special tokens are never a sensible fill for a sentence
            allowed[group[0]] = vocab.word_start if whole_words else ~vocab.special
    out = []
    for beam in _beam_fill(scorer, ids, positions, allowed, width, state):
        words = tuple(piece_text(tokenizer, [vocab.tokens[beam.filled[q]] for q in g]) for g in groups)
        out.append(
            Sentence(
                fill_text(text, spans, dict(enumerate(words))),
                beam.score,
                words,
                beam.steps,
                tuple(positions.index(q) for q in beam.order),
                tuple(beam.filled[q] for q in positions),
            )
        )
    return out


def _target_pieces(tokenizer: Any, vocab: Vocab, text: str, span: MaskSpan, word: str) -> list[int]:
    spaced = vocab.scheme == "bpe" and span.start > 0 and text[span.start - 1].isspace()
    return tokenizer.convert_tokens_to_ids(tokenizer.tokenize((" " if spaced else "") + word))


def _score_targets(
    encoded: _Encoded, targets: list[str] | tuple[str, ...], whole_words: bool
) -> list[TargetScore]:
    """P(word) at each mask by the chain rule over its pieces, left to right, in one batched pass.

    The mask is widened (or narrowed) to as many pieces as the word has; row i of the batch has the
    first i pieces filled in and asks for piece i + 1. One extra row per mask, with the mask as a single
    piece, gives the candidate list the rank is measured against.
    """
    scorer, tokenizer, vocab, text = encoded.scorer, encoded.tokenizer, encoded.vocab, encoded.text
    spans, ids, groups = encoded.spans, encoded.ids, encoded.groups
    words = [w.strip() for w in targets if w.strip()]
    mask_id = tokenizer.mask_token_id
    rows: list[list[int]] = []
    asks: list[list[int]] = []

    def widened(index: int, pieces: list[int]) -> tuple[list[int], int]:
        group = groups[index]
        start = group[0]
        return ids[:start] + pieces + ids[group[-1] + 1 :], start

    for index in range(len(spans)):  # reference rows: one-piece mask
        row, start = widened(index, [mask_id])
        rows.append(row)
        asks.append([start])
    plans = []
    for word in words:
        for index, span in enumerate(spans):
            pieces = _target_pieces(tokenizer, vocab, text, span, word)
            plan = (word, index, pieces, len(rows))
            plans.append(plan)
            if not pieces or tokenizer.unk_token_id in pieces:
                continue
            for i in range(len(pieces)):
                row, start = widened(index, pieces[:i] + [mask_id] * (len(pieces) - i))
                rows.append(row)
                asks.append([start + i])
    limit = getattr(scorer.config, "max_position_embeddings", 512)
    if max(len(r) for r in rows) > limit:
        raise UserError("A target word makes the text longer than the model reads; shorten the text.")
    logits = scorer.logits(rows, asks)
    reference = [logits[i][0].softmax(-1) for i in range(len(spans))]
    allowed = vocab.word_start if whole_words else None
    out = []
    for word, index, pieces, first_row in plans:
        names = tuple(vocab.tokens[t] if t < len(vocab.tokens) else "?" for t in pieces)
        if not pieces or tokenizer.unk_token_id in pieces:
            out.append(TargetScore(word, index, names, None, None, "not in the vocabulary"))
            continue
        score = math.prod(logits[first_row + i][0].softmax(-1)[t].item() for i, t in enumerate(pieces))
        ref = reference[index] if allowed is None else reference[index].masked_fill(~allowed, -1.0)
        rank = 1 + int((ref > score).sum())
        out.append(TargetScore(word, index, names, score, rank))
    return out
