"""Issue 11, class 4: broken or incomplete model folders are refused before loading, saying what to do."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from bad_places import one_error_line
from processes import cli_env, run_cli

from lmstudio_app.core.errors import ModelSourceError
from lmstudio_app.core.finetune.predict import load_classifier
from lmstudio_app.core.models.registry import ModelRegistry
from lmstudio_app.core.models.sources import resolve

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json")


def _copy(tiny_model, kind: str, folder: Path) -> Path:
    shutil.copytree(tiny_model(kind), folder)
    return folder


def _truncate(file: Path) -> None:
    data = file.read_bytes()
    file.write_bytes(data[: len(data) * 2 // 3])  # a download or copy cut off


def test_truncated_weights_are_named_damaged(tiny_model, tmp_path: Path) -> None:
    folder = _copy(tiny_model, "mlm", tmp_path / "cut")
    _truncate(folder / "model.safetensors")
    with pytest.raises(ModelSourceError) as caught:
        ModelRegistry().load(str(folder))
    message = str(caught.value)
    assert "model.safetensors is damaged (truncated: " in message
    assert f"Download or save the model into {folder} again." in message and "\n" not in message


def test_corrupt_weights_are_named_damaged(tiny_model, tmp_path: Path) -> None:
    folder = _copy(tiny_model, "mlm", tmp_path / "corrupt")
    (folder / "model.safetensors").write_bytes(b"<html>503 Service Unavailable</html>" * 100)
    with pytest.raises(ModelSourceError, match="model.safetensors is damaged \\(not a safetensors file"):
        resolve(str(folder))


def test_damaged_cached_hub_model_names_the_cache_folder_to_delete(
    tiny_model, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Hugging Face cache layout (refs/main -> snapshots/<commit>/), as snapshot_download leaves it."""
    from huggingface_hub import constants

    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "hub" / "models--tiny--mlm"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    snapshot = _copy(tiny_model, "mlm", repo / "snapshots" / commit)
    _truncate(snapshot / "model.safetensors")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    with pytest.raises(ModelSourceError) as caught:
        resolve("tiny/mlm")
    assert str(caught.value).startswith("tiny/mlm: the weights file model.safetensors is damaged (truncated")
    assert f"Delete the cache folder {repo} and load tiny/mlm again online" in str(caught.value)


@pytest.mark.parametrize(
    ("bpe_vocab", "named"),
    [
        (False, "tokenizer.json (or vocab.txt, vocab.json with merges.txt, or a SentencePiece .model)"),
        (True, "merges.txt (vocab.json is there)"),
    ],
)
def test_a_folder_without_tokenizer_files_is_refused(tiny_model, tmp_path: Path, bpe_vocab, named) -> None:
    folder = _copy(tiny_model, "mlm", tmp_path / "no-tokenizer")
    for name in TOKENIZER_FILES:
        (folder / name).unlink(missing_ok=True)
    if bpe_vocab:  # a BPE vocabulary without its merges
        (folder / "vocab.json").write_text("{}")
    with pytest.raises(ModelSourceError, match=re.escape(f"has no tokenizer: {named} is missing")):
        resolve(str(folder))


def test_a_classifier_without_tokenizer_is_refused_by_predict(tiny_model, tmp_path: Path) -> None:
    folder = _copy(tiny_model, "classifier", tmp_path / "classifier")
    for name in TOKENIZER_FILES:
        (folder / name).unlink(missing_ok=True)
    with pytest.raises(ModelSourceError, match="has no tokenizer: tokenizer.json"):
        load_classifier(folder, "cpu")


@pytest.mark.parametrize(
    ("kind", "auto_class"),
    [("mlm", "AutoModelForMaskedLM"), ("classifier", "AutoModelForSequenceClassification")],
)
def test_pickle_advice_keeps_the_head(tiny_model, tmp_path: Path, kind: str, auto_class: str) -> None:
    folder = _copy(tiny_model, kind, tmp_path / f"pickled-{kind}")
    (folder / "model.safetensors").rename(folder / "pytorch_model.bin")
    with pytest.raises(ModelSourceError) as caught:
        resolve(str(folder))
    assert f"{auto_class}.from_pretrained(folder).save_pretrained(folder)" in str(caught.value)
    assert "AutoModel.from_pretrained" not in str(caught.value)


def test_cli_says_the_weights_are_damaged_in_one_line(tiny_model, tmp_path: Path) -> None:
    folder = _copy(tiny_model, "mlm", tmp_path / "cut")
    _truncate(folder / "model.safetensors")
    config = json.loads((folder / "config.json").read_text())
    assert "BertForMaskedLM" in config["architectures"]
    result = run_cli("fill-mask", "-m", folder, "the [MASK] sat", env=cli_env(tmp_path / "home"))
    assert result.returncode == 2
    one_error_line(result.stderr, "model.safetensors is damaged (truncated", "again")
