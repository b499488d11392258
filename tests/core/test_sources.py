"""Model sources: embedded names, folders and hub ids resolve, and bad input says what to do."""

import json
import shutil
from pathlib import Path

import pytest

from lmstudio_app.core.errors import ModelSourceError, OfflineError
from lmstudio_app.core.models.sources import DEFAULT_ENCODER, embedded_models, resolve, search_hub


def test_embedded_encoder_is_listed_and_resolves(minilm_dir: Path) -> None:
    names = [m.name for m in embedded_models()]
    assert names[0] == DEFAULT_ENCODER
    resolved = resolve(DEFAULT_ENCODER.upper())
    assert resolved.kind == "embedded" and resolved.path == minilm_dir


def test_local_folder_resolves(tiny_model) -> None:
    folder = tiny_model("mlm")
    resolved = resolve(str(folder))
    assert resolved.kind == "folder" and resolved.path == folder.resolve()


def test_missing_folder_is_explained(tmp_path: Path) -> None:
    with pytest.raises(ModelSourceError, match="Folder not found"):
        resolve(str(tmp_path / "nope"))


def test_folder_without_config_is_explained(tmp_path: Path) -> None:
    with pytest.raises(ModelSourceError, match="no config.json"):
        resolve(str(tmp_path))


def test_a_file_is_not_a_folder(tmp_path: Path) -> None:
    file = tmp_path / "model.safetensors"
    file.write_bytes(b"x")
    with pytest.raises(ModelSourceError, match="is a file"):
        resolve(str(file))


def test_remote_code_is_refused_unless_trusted(tiny_model, tmp_path: Path) -> None:
    folder = tmp_path / "remote"
    shutil.copytree(tiny_model("mlm"), folder)
    config = json.loads((folder / "config.json").read_text())
    config["auto_map"] = {"AutoModel": "modeling_custom.CustomModel"}
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelSourceError, match="Trust remote code"):
        resolve(str(folder))
    assert resolve(str(folder), trust_remote_code=True).path == folder.resolve()


def test_pickle_only_weights_are_refused(tiny_model, tmp_path: Path) -> None:
    folder = tmp_path / "pickled"
    shutil.copytree(tiny_model("mlm"), folder)
    (folder / "model.safetensors").rename(folder / "pytorch_model.bin")
    with pytest.raises(ModelSourceError, match="pickle weights"):
        resolve(str(folder))


def test_uncached_hub_id_offline_says_how_to_get_it(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    with pytest.raises(OfflineError, match="Go online once"):
        resolve("bert-base-uncased")


def test_hub_search_offline_answers_at_once() -> None:
    with pytest.raises(OfflineError, match="Offline"):
        search_hub("bert", "fill-mask")


def test_embedded_models_say_their_task_from_their_family(
    tiny_model, tiny_decoder, tmp_path: Path, monkeypatch, capsys
) -> None:
    """Every folder under resources/models is listed (the masked LM first) with the hub task of its
    family; `models --json` reports it."""
    from lmstudio_app import cli
    from lmstudio_app.core.models import sources

    shutil.copytree(tiny_decoder("bert-clm"), tmp_path / "models" / "minilm-clm")
    shutil.copytree(tiny_model("pretraining"), tmp_path / "models" / "minilm-mlm")
    shutil.copytree(tiny_decoder("t5"), tmp_path / "models" / "tiny-t5")
    (tmp_path / "models" / "half-written").mkdir()  # no weights yet: not listed
    monkeypatch.setattr(sources, "resources_dir", lambda: tmp_path)
    tasks = {m.name: m.task for m in embedded_models()}
    assert list(tasks) == [DEFAULT_ENCODER, "minilm-mlm", "minilm-clm", "tiny-t5"]
    assert tasks == {
        DEFAULT_ENCODER: "feature-extraction",
        "minilm-mlm": "fill-mask",
        "minilm-clm": "text-generation",
        "tiny-t5": "text2text-generation",
    }
    assert resolve("minilm-clm").path == tmp_path / "models" / "minilm-clm"
    assert cli.main(["models", "--json"]) == 0
    listed = {m["name"]: m["task"] for m in json.loads(capsys.readouterr().out)["embedded"]}
    assert listed == tasks
