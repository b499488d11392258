"""Question + context to token windows: long contexts split with a stride, answers mapped to token spans.

Each window is [CLS] question [SEP] part of the context [SEP]; consecutive windows of one context overlap
by `stride` tokens so that an answer cut by one window is whole in the next. Character offsets are kept
for the context's tokens only (None elsewhere), which is what both training targets and span decoding
read: an answer's start and end tokens while training, the answer's characters when predicting.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from lmstudio_app.core.errors import UserError
from lmstudio_app.core.qa.data import QAExample
from lmstudio_app.core.tasks import TaskState, ensure_state

Offsets = list[tuple[int, int] | None]
_CHUNK = 500


@dataclass
class Windows:
    """Token windows over examples; `example[i]` is the example window i comes from."""

    input_ids: list[list[int]] = field(default_factory=list)
    token_type_ids: list[list[int]] | None = None
    offsets: list[Offsets] = field(default_factory=list)
    example: list[int] = field(default_factory=list)
    cls_index: list[int] = field(default_factory=list)
    starts: list[int] = field(default_factory=list)  # training targets: the answer's first token ...
    ends: list[int] = field(default_factory=list)  # ... and last token, or the CLS index for none

    def __len__(self) -> int:
        return len(self.input_ids)

    def __getitem__(self, i: int) -> dict:
        item: dict[str, Any] = {"input_ids": self.input_ids[i]}
        if self.token_type_ids is not None:
            item["token_type_ids"] = self.token_type_ids[i]
        if self.starts:
            item["start_positions"], item["end_positions"] = self.starts[i], self.ends[i]
        return item


def answer_tokens(offsets: Offsets, start: int, end: int, cls_index: int) -> tuple[int, int]:
    """The first and last token of the characters [start, end) in a window, or (cls, cls) when the
    window does not hold all of them."""
    context = [i for i, o in enumerate(offsets) if o is not None]
    if not context or offsets[context[0]][0] > start or offsets[context[-1]][1] < end:
        return cls_index, cls_index
    first = max(i for i in context if offsets[i][0] <= start)
    last = min(i for i in context if offsets[i][1] >= end)
    return first, last


def check_tokenizer(tokenizer: Any) -> None:
    if not getattr(tokenizer, "is_fast", False):
        raise UserError(
            "Question answering needs a fast tokenizer (it maps tokens back to characters); this model has "
            "only a slow one: pick a model with a tokenizer.json."
        )


def make_windows(
    tokenizer: Any,
    examples: Sequence[QAExample],
    max_length: int,
    stride: int,
    state: TaskState | None = None,
) -> Windows:
    """Tokenize every (question, context) into overlapping windows; targets when every example has answers."""
    check_tokenizer(tokenizer)
    state = ensure_state(state)
    _check_room(tokenizer, examples, max_length, stride)
    targets = all(e.answers is not None for e in examples)
    out = Windows(token_type_ids=[] if "token_type_ids" in tokenizer.model_input_names else None)
    for begin in range(0, len(examples), _CHUNK):
        state.raise_if_stopped()
        state.progress(begin / max(1, len(examples)), f"Tokenizing questions: {begin:,} of {len(examples):,}")
        chunk = examples[begin : begin + _CHUNK]
        enc = tokenizer(
            [e.question for e in chunk],
            [e.context for e in chunk],
            truncation="only_second",
            max_length=max_length,
            stride=stride,
            return_overflowing_tokens=True,
            return_offsets_mapping=True,
            return_attention_mask=False,
            return_token_type_ids=out.token_type_ids is not None,
        )
        for i, ids in enumerate(enc["input_ids"]):
            row = begin + enc["overflow_to_sample_mapping"][i]
            sequence = enc.sequence_ids(i)
            offsets = [
                tuple(o) if s == 1 else None for o, s in zip(enc["offset_mapping"][i], sequence, strict=True)
            ]
            cls = ids.index(tokenizer.cls_token_id) if tokenizer.cls_token_id in ids else 0
            out.input_ids.append(ids)
            if out.token_type_ids is not None:
                out.token_type_ids.append(enc["token_type_ids"][i])
            out.offsets.append(offsets)
            out.example.append(row)
            out.cls_index.append(cls)
            if targets:
                answers = examples[row].answers
                first = answers[0] if answers else None
                s, e = answer_tokens(offsets, first.start, first.end, cls) if first else (cls, cls)
                out.starts.append(s)
                out.ends.append(e)
    return out


def _check_room(tokenizer: Any, examples: Sequence[QAExample], max_length: int, stride: int) -> None:
    """Refuse, naming the row, a question that leaves no room for its context beyond the stride."""
    specials = tokenizer.num_special_tokens_to_add(pair=True)
    lengths = tokenizer([e.question for e in examples], add_special_tokens=False)["input_ids"]
    for example, ids in zip(examples, lengths, strict=True):
        room = max_length - specials - len(ids)
        if room <= stride:
            raise UserError(
                f"{example.where or example.id}: the question is {len(ids)} tokens, which leaves {max(0, room)} "
                f"for its context with max length {max_length}; the stride ({stride}) needs more: shorten the "
                "question, lower the stride or raise the max length."
            )
