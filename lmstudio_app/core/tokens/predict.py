"""Use a trained word tagger: tags and scores per word, entities with character offsets, CoNLL files.

Sentences go through the same windows as in training (core/tokens/align.py), so a long text is tagged
whole, each word by the window that saw it with context on both sides.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lmstudio_app.core.errors import ModelSourceError, UserError
from lmstudio_app.core.jsonio import read_json
from lmstudio_app.core.models.quiet import quiet_transformers
from lmstudio_app.core.models.sources import check_folder
from lmstudio_app.core.models.word_input import load_word_tokenizer
from lmstudio_app.core.outputs import check_output_file
from lmstudio_app.core.tasks import TaskState, ensure_state
from lmstudio_app.core.tokens.align import EncodeOptions, encode_sentences, gather_words
from lmstudio_app.core.tokens.conll import read_conll_words, write_conll
from lmstudio_app.core.tokens.scheme import entities, entity_scheme, words_of
from lmstudio_app.core.tokens.settings import TOKENS_FILE

_cache_lock = threading.Lock()
_cache: dict[tuple[str, str], tuple[float, Any, Any, int]] = {}


def architectures(model_dir: Path | str) -> list[str]:
    return list(read_json(Path(model_dir) / "config.json").get("architectures") or [])


def is_token_model(model_dir: Path | str) -> bool:
    """True for a folder whose model tags words (a token-classification head)."""
    return any("ForTokenClassification" in a for a in architectures(model_dir))


def load_tagger(model_dir: Path, device: str) -> tuple[Any, Any, int]:
    """(model, tokenizer, max_length) of a trained tagger folder; the last one stays cached."""
    import torch
    import transformers

    model_dir = Path(model_dir)
    config_file = model_dir / "config.json"
    if not config_file.is_file():
        raise ModelSourceError(
            f"{model_dir} is not a model folder (no config.json): pick a trained tagger folder."
        )
    if not is_token_model(model_dir):
        kind = ", ".join(architectures(model_dir)) or "no task head"
        raise ModelSourceError(
            f"{model_dir} is not a word tagger ({kind}): train one with finetune --task tokens."
        )
    check_folder(model_dir)
    key, stamp = (str(model_dir.resolve()), device), config_file.stat().st_mtime
    with _cache_lock:
        hit = _cache.get(key)
        if hit is not None and hit[0] == stamp:
            return hit[1], hit[2], hit[3]
        tokenizer = load_word_tokenizer(model_dir)
        with quiet_transformers():
            try:
                model = transformers.AutoModelForTokenClassification.from_pretrained(
                    model_dir, local_files_only=True, use_safetensors=True, dtype=torch.float32
                )
            except (OSError, ValueError) as exc:
                raise ModelSourceError(f"Could not load {model_dir}: {str(exc).splitlines()[0]}") from exc
        model.to(device).eval()
        limit = min(512, getattr(model.config, "max_position_embeddings", 512))
        max_length = int(read_json(model_dir / TOKENS_FILE).get("max_length") or limit)
        _cache.clear()
        _cache[key] = (stamp, model, tokenizer, max_length)
        return model, tokenizer, max_length


def tag_sentences(
    model_dir: Path,
    sentences: list[list[str]],
    *,
    device: str = "cpu",
    batch_size: int = 32,
    state: TaskState | None = None,
) -> list[list[tuple[str, float]]]:
    """(tag, probability) for every word of every sentence."""
    import torch

    state = ensure_state(state)
    model, tokenizer, max_length = load_tagger(Path(model_dir), device)
    dataset = encode_sentences(tokenizer, sentences, None, EncodeOptions(max_length))
    order = sorted(range(len(dataset)), key=lambda k: len(dataset.ids[k]))
    values: list[Any] = [None] * len(dataset)
    for first in range(0, len(order), batch_size):
        state.raise_if_stopped()
        batch = order[first : first + batch_size]
        enc = tokenizer.pad({"input_ids": [dataset.ids[k].tolist() for k in batch]}, return_tensors="pt").to(
            device
        )
        with torch.inference_mode():
            probs = torch.softmax(model(**enc).logits.float(), dim=-1)
        score, best = probs.max(dim=-1)
        for j, k in enumerate(batch):
            values[k] = list(zip(best[j].tolist(), score[j].tolist(), strict=True))
        state.progress(
            min(1.0, (first + len(batch)) / len(order)),
            f"Tagged {first + len(batch):,} of {len(order):,} windows",
        )
    id2label = model.config.id2label
    fallback = ("O", 0.0)
    words = gather_words(dataset, values, [len(s) for s in sentences])
    return [[(str(id2label[v[0]]), float(v[1])) if v is not None else fallback for v in row] for row in words]


@dataclass
class TaggedText:
    """A text's words with their tags and scores, and the entities they form."""

    tokens: list[dict]  # {"word", "tag", "score", "start", "end"}
    entities: list[dict]  # {"text", "label", "start", "end", "score"}

    def to_dict(self) -> dict:
        return {
            "tokens": [{k: t[k] for k in ("word", "tag", "score")} for t in self.tokens],
            "entities": self.entities,
        }


def tag_text(model_dir: Path, text: str, device: str = "cpu") -> TaggedText:
    """Tag a typed text: its words (split as span files are), and entities when the tags are BIO/BIOES.
    An entity's score is the mean of its words' scores; its offsets index `text`."""
    words = words_of(text)
    if not words:
        return TaggedText([], [])
    tagged = tag_sentences(Path(model_dir), [[w for w, _, _ in words]], device=device)[0]
    tokens = [
        {"word": w, "tag": tag, "score": score, "start": s, "end": e}
        for (w, s, e), (tag, score) in zip(words, tagged, strict=True)
    ]
    model, _, _ = load_tagger(Path(model_dir), device)
    found = []
    if entity_scheme(str(t) for t in model.config.id2label.values()) is not None:
        for label, first, last in entities([t["tag"] for t in tokens]):
            start, end = tokens[first]["start"], tokens[last - 1]["end"]
            score = sum(t["score"] for t in tokens[first:last]) / (last - first)
            found.append(
                {"text": text[start:end], "label": label, "start": start, "end": end, "score": score}
            )
    return TaggedText(tokens, found)


def predict_conll(
    model_dir: Path, conll_in: Path, out: Path, *, device: str = "cpu", state: TaskState | None = None
) -> tuple[int, int]:
    """Tag the first column of a CoNLL file into `out` (token<TAB>tag, sentences kept apart); returns
    (sentences, words). The output path is checked before any work."""
    conll_in, out = Path(conll_in), Path(out)
    check_output_file(out)
    if out.resolve() == conll_in.resolve():
        raise UserError("The output file must differ from the input file (the input is never overwritten).")
    sentences = read_conll_words(conll_in)
    load_tagger(Path(model_dir), device)  # a folder of another task is refused before tokenizing
    tagged = tag_sentences(Path(model_dir), sentences, device=device, state=state)
    write_conll(out, sentences, [[tag for tag, _ in row] for row in tagged])
    return len(sentences), sum(len(s) for s in sentences)
