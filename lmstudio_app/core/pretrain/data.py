"""Corpus -> training examples: sentences tokenized once, packed into full sequences, NSP pairs, masking.

Packing: consecutive sentences fill each sequence up to the max length ([SEP] between documents), so
almost no compute goes to padding. NSP examples are BERT's: segment A, then its real next sentences
(label 0) or, half of the time, sentences from elsewhere (label 1). Masking is transformers'
DataCollatorForLanguageModeling's, drawn in the training step from the global torch RNG (restored
from a checkpoint, so a resumed run masks exactly as an uninterrupted one); the held-out set is masked once with its own seed, so every
evaluation, before and after training, scores the same masked tokens.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from lmstudio_app.core.pretrain.corpus import split_sentences
from lmstudio_app.core.pretrain.settings import PretrainSettings
from lmstudio_app.core.tasks import TaskState, ensure_state

Sentence = tuple[list[int], list[tuple[int, int]]]  # token ids and character offsets
Example = dict[str, Any]
_TOKENIZE_BATCH = 2000
_MASK_CHUNK = 64


def tokenize_documents(
    tokenizer: Any, docs: list[list[str]], state: TaskState | None = None, what: str = "text"
) -> list[list[Sentence]]:
    """Each document as its sentences' token ids and offsets (no special tokens)."""
    state = ensure_state(state)
    flat = [(d, s) for d, doc in enumerate(docs) for line in doc for s in split_sentences(line)]
    out: list[list[Sentence]] = [[] for _ in docs]
    for i in range(0, len(flat), _TOKENIZE_BATCH):
        state.raise_if_stopped()
        state.progress(i / max(1, len(flat)), f"Tokenizing the {what}: {i:,} of {len(flat):,} sentences")
        chunk = flat[i : i + _TOKENIZE_BATCH]
        enc = tokenizer(
            [s for _, s in chunk], add_special_tokens=False, return_offsets_mapping=True, verbose=False
        )
        for (d, _), ids, offsets in zip(chunk, enc["input_ids"], enc["offset_mapping"], strict=True):
            if ids:
                out[d].append((list(ids), [tuple(o) for o in offsets]))
    return [doc for doc in out if doc]


def count_tokens(docs: list[list[Sentence]]) -> int:
    return sum(len(ids) for doc in docs for ids, _ in doc)


class _Builder:
    """Accumulates sentences into one sequence: [CLS] a [SEP] (b [SEP]) with ids, offsets and masks."""

    def __init__(self, tokenizer: Any) -> None:
        self.cls, self.sep = tokenizer.cls_token_id, tokenizer.sep_token_id

    def example(
        self, a: list[Sentence], b: list[Sentence] | None = None, label: int | None = None
    ) -> Example:
        ids, offsets, special, types = [self.cls], [(0, 0)], [1], [0]
        for segment, type_id in ((a, 0), (b, 1)):
            if segment is None:
                continue
            base = 0
            for sentence_ids, sentence_offsets in segment:
                if sentence_ids == [self.sep]:  # a document boundary inside a packed sequence
                    ids.append(self.sep), offsets.append((0, 0)), special.append(1), types.append(type_id)
                    continue
                ids.extend(sentence_ids)
                offsets.extend((s + base, e + base) for s, e in sentence_offsets)
                special.extend([0] * len(sentence_ids))
                types.extend([type_id] * len(sentence_ids))
                base = offsets[-1][1] + 1  # a space after each sentence: pieces never glue across sentences
            ids.append(self.sep), offsets.append((0, 0)), special.append(1), types.append(type_id)
        example: Example = {
            "input_ids": ids,
            "special_tokens_mask": special,
            "offset_mapping": offsets,
            "token_type_ids": types,
        }
        if label is not None:
            example["next_sentence_label"] = label
        return example


def _pieces(sentence: Sentence, budget: int) -> list[Sentence]:
    """A sentence longer than a sequence, cut into pieces that fit."""
    ids, offsets = sentence
    return [(ids[i : i + budget], offsets[i : i + budget]) for i in range(0, len(ids), budget)]


def pack(tokenizer: Any, docs: list[list[Sentence]], max_length: int) -> list[Example]:
    """Consecutive sentences packed into sequences of up to `max_length` tokens ([SEP] between documents)."""
    builder, budget = _Builder(tokenizer), max_length - 2
    boundary: Sentence = ([builder.sep], [(0, 0)])
    examples: list[Example] = []
    current: list[Sentence] = []
    used = 0
    for doc in docs:
        if current and used + 1 < budget:
            current.append(boundary)
            used += 1
        for sentence in doc:
            for piece in _pieces(sentence, budget):
                if used + len(piece[0]) > budget:
                    examples.append(builder.example(current))
                    current, used = [], 0
                current.append(piece)
                used += len(piece[0])
    if current:
        examples.append(builder.example(current))
    for example in examples:  # a trailing boundary is just the final [SEP]
        if example["input_ids"][-2:] == [builder.sep, builder.sep]:
            for key in ("input_ids", "special_tokens_mask", "offset_mapping", "token_type_ids"):
                del example[key][-1]
    return examples


def nsp_pairs(tokenizer: Any, docs: list[list[Sentence]], max_length: int, seed: int) -> list[Example]:
    """BERT's next-sentence examples: A, then its real continuation (label 0) or a random one (label 1)."""
    rng = random.Random(seed)
    builder, budget = _Builder(tokenizer), max_length - 3
    sentences = [[p for s in doc for p in _pieces(s, budget // 2)] for doc in docs]
    examples: list[Example] = []
    for d, doc in enumerate(sentences):
        i = 0
        while i < len(doc):
            a, used = [doc[i]], len(doc[i][0])
            j = i + 1
            while j < len(doc) - 1 and used + len(doc[j][0]) <= budget // 2:
                a.append(doc[j])
                used += len(doc[j][0])
                j += 1
            if j < len(doc) and rng.random() < 0.5:
                b, label, i = _fill(doc, j, budget - used), 0, j + 1
            else:
                other = _random_document(rng, sentences, d)
                b, label, i = _fill(other, rng.randrange(len(other)), budget - used), 1, j
            examples.append(builder.example(a, b, label))
    return examples


def _fill(doc: list[Sentence], start: int, room: int) -> list[Sentence]:
    """Sentences from `start` while they fit in `room` tokens (the first one cut to fit)."""
    first_ids, first_offsets = doc[start]
    out = [(first_ids[:room], first_offsets[:room])]
    used = len(out[0][0])
    for sentence in doc[start + 1 :]:
        if used + len(sentence[0]) > room:
            break
        out.append(sentence)
        used += len(sentence[0])
    return out


def _random_document(rng: random.Random, docs: list[list[Sentence]], current: int) -> list[Sentence]:
    if len(docs) == 1:
        return docs[0]
    d = rng.randrange(len(docs) - 1)
    return docs[d + (d >= current)]


def build_examples(
    tokenizer: Any, docs: list[list[Sentence]], settings: PretrainSettings, seed: int
) -> list[Example]:
    examples = (
        nsp_pairs(tokenizer, docs, settings.max_length, seed)
        if settings.nsp
        else pack(tokenizer, docs, settings.max_length)
    )
    if not settings.whole_words:
        for example in examples:
            del example["offset_mapping"]  # only whole-word masking reads the offsets
    return examples


@dataclass
class PretrainCollator:
    """Pads batches; `mask` masks them with transformers' DataCollatorForLanguageModeling.

    Examples that already carry `labels` (the held-out set, masked once) are only padded.
    """

    tokenizer: Any
    settings: PretrainSettings
    seed: int | None = None  # None: the global torch RNG (checkpointed); an int: a fixed generator
    pad_to_multiple_of: int = 8

    def __post_init__(self) -> None:
        import warnings

        from transformers import DataCollatorForLanguageModeling

        s = self.settings
        with warnings.catch_warnings():  # whole words: transformers masks every piece; said in objective()
            warnings.simplefilter("ignore")
            self.masker = DataCollatorForLanguageModeling(
                self.tokenizer,
                mlm_probability=s.mlm_probability,
                whole_word_mask=s.whole_words,
                mask_replace_prob=s.mask_replace,
                random_replace_prob=s.random_replace,
                seed=self.seed,
                return_tensors="pt",
            )

    def pad(self, examples: list[Example]) -> dict[str, Any]:
        import torch

        longest = max(len(e["input_ids"]) for e in examples)
        m = self.pad_to_multiple_of
        length = -(-longest // m) * m if m else longest
        pad_id = self.tokenizer.pad_token_id or 0
        fill = {
            "input_ids": pad_id,
            "token_type_ids": 0,
            "special_tokens_mask": 1,
            "labels": -100,
            "offset_mapping": (0, 0),
        }
        batch: dict[str, Any] = {}
        for key, value in fill.items():
            if key in examples[0]:
                batch[key] = torch.tensor([e[key] + [value] * (length - len(e[key])) for e in examples])
        batch["attention_mask"] = torch.tensor(
            [[1] * len(e["input_ids"]) + [0] * (length - len(e["input_ids"])) for e in examples]
        )
        if "next_sentence_label" in examples[0]:
            batch["next_sentence_label"] = torch.tensor([e["next_sentence_label"] for e in examples])
        return batch

    def __call__(self, examples: list[Example]) -> dict[str, Any]:
        """Pad only: training batches are masked at the step itself (see `mask`)."""
        batch = self.pad(examples)
        if "labels" in batch:
            batch.pop("special_tokens_mask", None)
            batch.pop("offset_mapping", None)
        return batch

    def mask(self, batch: dict[str, Any]) -> dict[str, Any]:
        """Choose and replace the masked tokens of a padded batch (on the CPU, then back to its device).

        Called inside the training step, not while loading: the data loader fetches a batch ahead, so
        masks drawn there would come from a different point of the RNG stream after a resume.
        """
        special = batch.pop("special_tokens_mask")
        offsets = batch.pop("offset_mapping", None)
        ids = batch["input_ids"]
        if self.seed is not None and self.masker.generator is None:
            self.masker.create_rng("pt")
        masked, labels = self.masker.torch_mask_tokens(
            ids.cpu().clone(), special_tokens_mask=special.cpu(), offset_mapping=offsets
        )
        batch["input_ids"], batch["labels"] = masked.to(ids.device), labels.to(ids.device)
        return batch


def fixed_masks(tokenizer: Any, examples: list[Example], settings: PretrainSettings) -> list[Example]:
    """The held-out examples masked once with the evaluation seed: every evaluation scores the same tokens."""
    collator = PretrainCollator(tokenizer, settings, seed=settings.eval_seed, pad_to_multiple_of=0)
    masked: list[Example] = []
    for i in range(0, len(examples), _MASK_CHUNK):
        chunk = examples[i : i + _MASK_CHUNK]
        batch = collator.mask(collator.pad(chunk))
        for row, example in enumerate(chunk):
            n = len(example["input_ids"])
            item = {
                "input_ids": batch["input_ids"][row, :n].tolist(),
                "labels": batch["labels"][row, :n].tolist(),
            }
            if all(
                label == -100 for label in item["labels"]
            ):  # a short example the draw missed: mask its middle
                middle = [i for i, special in enumerate(example["special_tokens_mask"]) if not special]
                if middle:
                    i = middle[len(middle) // 2]
                    item["labels"][i], item["input_ids"][i] = item["input_ids"][i], tokenizer.mask_token_id
            if "token_type_ids" in example:
                item["token_type_ids"] = list(example["token_type_ids"])
            if "next_sentence_label" in example:
                item["next_sentence_label"] = example["next_sentence_label"]
            masked.append(item)
    return masked
