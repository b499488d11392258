"""Is a model folder whole? Intact safetensors files and a tokenizer, checked before anything is loaded.

A truncated or corrupt weights file otherwise surfaces as a safetensors traceback, and a folder without
tokenizer files loads with a stand-in tokenizer that turns every prediction into garbage. Both are found
here from file sizes and headers only (milliseconds, nothing is read into memory), and the message says
how to get the files again: which Hugging Face cache folder to delete, or what to copy where.
"""

from __future__ import annotations

import json
from pathlib import Path

from lmstudio_app.core.errors import ModelSourceError

# The loading class that keeps a checkpoint's head, by the suffix of its architecture name.
_AUTO_CLASSES = (
    ("ForPreTraining", "AutoModelForPreTraining"),
    ("ForMaskedLM", "AutoModelForMaskedLM"),
    ("ForNextSentencePrediction", "AutoModelForNextSentencePrediction"),
    ("ForSequenceClassification", "AutoModelForSequenceClassification"),
    ("ForTokenClassification", "AutoModelForTokenClassification"),
    ("ForQuestionAnswering", "AutoModelForQuestionAnswering"),
    ("ForMultipleChoice", "AutoModelForMultipleChoice"),
    ("ForCausalLM", "AutoModelForCausalLM"),
    ("LMHeadModel", "AutoModelForCausalLM"),
    ("ForConditionalGeneration", "AutoModelForSeq2SeqLM"),
)
# Tokenizers that need no vocabulary file (they work on characters or bytes).
_VOCAB_FREE = {"canine", "byt5", "perceiver"}
_MAX_HEADER = 100 * 1024 * 1024  # the safetensors format's own limit on the JSON header


def auto_class(config: dict) -> str:
    """The transformers Auto class that loads this config's checkpoint with its head."""
    archs = " ".join(config.get("architectures") or [])
    return next((auto for suffix, auto in _AUTO_CLASSES if suffix in archs), "AutoModel")


def pickle_advice(config: dict) -> str:
    """How to convert pickle weights to safetensors without losing the model's head."""
    cls = auto_class(config)
    advice = (
        f"Convert once in Python: from transformers import {cls}; "
        f"{cls}.from_pretrained(folder).save_pretrained(folder) writes model.safetensors"
    )
    if cls == "AutoModelForMaskedLM" and config.get("model_type") == "bert":
        advice += " (AutoModelForPreTraining instead also keeps BERT's next-sentence head, if it has one)"
    return advice + "."


def safetensors_problem(file: Path) -> str | None:
    """What is wrong with a safetensors file (truncated, not safetensors at all), or None if it looks whole.

    The format is an 8-byte header length, a JSON header giving each tensor's byte range, then the data:
    the file must be exactly as long as the header says.
    """
    try:
        size = file.stat().st_size
        with open(file, "rb") as f:
            n = int.from_bytes(f.read(8), "little")
            if size < 8 or not 2 <= n <= min(_MAX_HEADER, size - 8):
                return f"not a safetensors file, or cut off in its header ({size:,} bytes)"
            header = json.loads(f.read(n))
    except FileNotFoundError:
        return "the file is missing (a broken link?)"
    except OSError as exc:
        return f"cannot be read: {exc.strerror or exc}"
    except ValueError:
        return "its header is not valid JSON"
    if not isinstance(header, dict):
        return "its header is not a table of tensors"
    try:
        end = max((int(v["data_offsets"][1]) for k, v in header.items() if k != "__metadata__"), default=0)
    except (TypeError, KeyError, IndexError, ValueError):
        return "its header is not a table of tensors"
    expected = 8 + n + end
    if size < expected:
        return f"truncated: {size:,} of {expected:,} bytes"
    if size > expected:
        return f"{size - expected:,} bytes more than its header describes"
    return None


def _cache_repo(folder: Path) -> Path | None:
    """The Hugging Face cache folder (models--org--name) that a snapshot folder belongs to, if it is one."""
    snapshots = folder.parent
    if snapshots.name == "snapshots" and snapshots.parent.name.startswith("models--"):
        return snapshots.parent
    return None


def folder_label(folder: Path) -> str:
    """How to name a model folder in a message: its hub id for a cached snapshot, else the folder."""
    repo = _cache_repo(folder)
    return repo.name.removeprefix("models--").replace("--", "/") if repo else str(folder)


def refetch_advice(folder: Path, label: str) -> str:
    """How to get a damaged model's files again: for the Hugging Face cache, the folder to delete."""
    repo = _cache_repo(folder)
    if repo is not None:
        return f"Delete the cache folder {repo} and load {label} again online to download it again."
    return f"Download or save the model into {folder} again."


def check_weights(folder: Path, label: str) -> None:
    """Refuse a folder whose safetensors files are truncated or corrupt, saying how to get them again."""
    for file in sorted(folder.glob("*.safetensors")):
        problem = safetensors_problem(file)
        if problem:
            raise ModelSourceError(
                f"{label}: the weights file {file.name} is damaged ({problem}). {refetch_advice(folder, label)}"
            )


def missing_tokenizer(folder: Path, config: dict) -> str | None:
    """The tokenizer files a folder lacks, in words, or None when it has a tokenizer."""
    if config.get("model_type") in _VOCAB_FREE:
        return None
    names = {p.name for p in folder.iterdir()}
    if names & {"tokenizer.json", "vocab.txt"} or any(n.endswith((".model", ".tiktoken")) for n in names):
        return None
    if "vocab.json" in names:
        return None if "merges.txt" in names else "merges.txt (vocab.json is there)"
    return "tokenizer.json (or vocab.txt, vocab.json with merges.txt, or a SentencePiece .model)"


def check_tokenizer(folder: Path, label: str, config: dict) -> None:
    """Refuse a folder with weights but no tokenizer, naming the files it lacks."""
    missing = missing_tokenizer(folder, config)
    if missing:
        raise ModelSourceError(
            f"{label} has no tokenizer: {missing} is missing, so its text would be read wrongly. Copy the "
            "tokenizer files of the model it was trained from into the folder "
            "(AutoTokenizer.from_pretrained(base).save_pretrained(folder))."
        )
