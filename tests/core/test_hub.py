"""The online code path, run for real against a hub on 127.0.0.1 (tests/hub_server.py): download with
progress, cancel, resume, search, and the errors a user sees.

The test session starts with HF_HUB_OFFLINE=1 and huggingface_hub reads HF_ENDPOINT, HF_HOME and
HF_HUB_OFFLINE once, when it is imported. `online_hub` therefore sets the same module constants that
importing it with HF_HUB_OFFLINE=0, HF_ENDPOINT=<server> and a fresh cache would have set; one test runs
the CLI as a new process with only those environment variables, to show that the real set-up works.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hub_server import COMMIT, Behaviour, FakeHub, HubRepo
from huggingface_hub import constants, snapshot_download
from huggingface_hub.errors import IncompleteSnapshotError
from processes import cli_env, run_cli

from lmstudio_app.core.errors import ModelSourceError, OfflineError
from lmstudio_app.core.models import sources
from lmstudio_app.core.models.registry import ModelRegistry
from lmstudio_app.core.tasks import Cancelled, TaskState

WEIGHTS = "model.safetensors"


@pytest.fixture(scope="module")
def repos(tiny_model, tiny_decoder) -> list[HubRepo]:
    return [
        HubRepo.from_folder("tiny/mlm", tiny_model("mlm"), downloads=10),
        HubRepo.from_folder(
            "tiny/classifier", tiny_model("classifier"), pipeline_tag="text-classification", downloads=3
        ),
        HubRepo.from_folder("tiny/gpt2", tiny_decoder("gpt2"), pipeline_tag="text-generation", downloads=1),
    ]


@pytest.fixture
def online_hub(repos, tmp_path, monkeypatch) -> Iterator[Callable[..., FakeHub]]:
    """online_hub(behaviour) -> a started FakeHub that huggingface_hub downloads from, into tmp_path/hub."""
    started: list[FakeHub] = []

    def start(behaviour: Behaviour | None = None) -> FakeHub:
        hub = FakeHub(repos, behaviour or Behaviour()).start()
        started.append(hub)
        monkeypatch.setenv("HF_HUB_OFFLINE", "0")
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        template = constants.HUGGINGFACE_CO_URL_TEMPLATE.replace(constants.ENDPOINT, hub.url, 1)
        monkeypatch.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE", template)
        monkeypatch.setattr(constants, "ENDPOINT", hub.url)
        monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
        monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
        monkeypatch.setattr(sources, "_offline_cache", {})
        # Progress and resume points come per received chunk: 10 MB by default, here 4 KB, so that the
        # 100 KB weights behave like a real model's file.
        monkeypatch.setattr(constants, "DOWNLOAD_CHUNK_SIZE", 4096)
        return hub

    yield start
    for hub in started:
        hub.stop()


def _go_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)


def test_download_reports_progress_and_lands_a_loadable_model(online_hub, repos, monkeypatch) -> None:
    hub = online_hub()
    seen: list[tuple[float, str]] = []
    resolved = sources.resolve("tiny/mlm", state=TaskState(lambda f, m: seen.append((f, m))))
    assert resolved.kind == "hub" and resolved.name == "tiny/mlm"
    fractions = [f for f, _ in seen]
    assert fractions and fractions == sorted(fractions) and fractions[-1] == 1.0
    assert all(m.startswith("Downloading tiny/mlm") for _, m in seen)
    for name, content in repos[0].files.items():
        assert len(hub.gets(name)) == 1 and (resolved.path / name).read_bytes() == content
    assert [m.repo_id for m in sources.cached_models()] == ["tiny/mlm"]

    _go_offline(monkeypatch)  # from now on the cache alone must do
    before = len(hub.requests)
    loaded = ModelRegistry().load("tiny/mlm")
    assert loaded.source.path == resolved.path and "masked-lm" in loaded.heads
    assert len(hub.requests) == before


def test_progress_never_reads_100_percent_while_the_weights_are_still_to_come(online_hub) -> None:
    """The download's byte total grows as each file starts: small files done before the weights begin
    once read as 100 % (and a cancel at a third then saw nothing below it)."""
    online_hub(Behaviour(late_file=WEIGHTS, slow_file=WEIGHTS, slow_delay_s=0.01))
    fractions: list[float] = []
    sources.resolve("tiny/mlm", state=TaskState(lambda f, _m: fractions.append(f)))
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert all(f < 0.99 for f in fractions[:-1]), fractions


def test_cancel_mid_download_keeps_no_broken_model_and_the_retry_fetches_the_rest(
    online_hub, repos, monkeypatch
) -> None:
    hub = online_hub(Behaviour(slow_file=WEIGHTS, slow_delay_s=0.02))
    fractions: list[float] = []

    def cancel_at_a_third(fraction: float, _: str) -> None:
        fractions.append(fraction)
        if fraction >= 0.3:
            state.request_stop()

    state = TaskState(cancel_at_a_third)
    with pytest.raises(Cancelled):
        sources.resolve("tiny/mlm", state=state)
    assert 0.3 <= max(fractions) < 1.0
    weights = repos[0].files[WEIGHTS]
    cache = Path(constants.HF_HUB_CACHE)
    assert not list(cache.rglob("*.incomplete"))  # no half-written file left behind
    kept = {p.name for p in (cache / "models--tiny--mlm" / "snapshots" / COMMIT).iterdir()}
    assert WEIGHTS not in kept
    assert sources.cached_models() == []  # the half-filled snapshot is not offered as a model
    with pytest.raises(IncompleteSnapshotError):
        snapshot_download("tiny/mlm", local_files_only=True, allow_patterns=["*.safetensors"])
    with monkeypatch.context() as offline:
        _go_offline(offline)
        with pytest.raises(OfflineError, match="tiny/mlm is only partly downloaded"):
            sources.resolve("tiny/mlm")

    hub.behaviour = Behaviour()
    resolved = sources.resolve("tiny/mlm")
    assert (resolved.path / WEIGHTS).read_bytes() == weights
    assert len(hub.gets(WEIGHTS)) == 2
    assert all(len(hub.gets(name)) == 1 for name in kept)  # what the cancelled run finished is kept
    assert [m.repo_id for m in sources.cached_models()] == ["tiny/mlm"]


def test_a_dropped_connection_resumes_with_a_range_request(online_hub, repos) -> None:
    hub = online_hub(Behaviour(cut_file=WEIGHTS, cut_after=16_384))
    resolved = sources.resolve("tiny/mlm")
    assert [r.range for r in hub.gets(WEIGHTS)] == [None, "bytes=16384-"]
    assert (resolved.path / WEIGHTS).read_bytes() == repos[0].files[WEIGHTS]


def test_search_returns_the_served_models_most_downloaded_first(online_hub) -> None:
    hub = online_hub()
    assert [h.repo_id for h in sources.search_hub("TINY")] == ["tiny/mlm", "tiny/classifier", "tiny/gpt2"]
    hits = sources.search_hub("tiny", task="text-classification")
    assert [(h.repo_id, h.task, h.downloads) for h in hits] == [("tiny/classifier", "text-classification", 3)]
    assert any(r.path == "/api/models" for r in hub.requests)


def test_a_causal_lm_from_the_hub_loads_and_generates(online_hub, tiny_decoder) -> None:
    import transformers

    from lmstudio_app.core.generate.settings import GenerateSettings
    from lmstudio_app.core.generate.stream import generate

    online_hub()
    assert [h.repo_id for h in sources.search_hub("tiny", task="text-generation")] == ["tiny/gpt2"]
    loaded = ModelRegistry().load("tiny/gpt2")
    assert (loaded.source.kind, loaded.family, loaded.heads) == ("hub", "causal", ("causal-lm",))
    reference = transformers.AutoModelForCausalLM.from_pretrained(tiny_decoder("gpt2"))
    ids = loaded.tokenizer("<s> the cat", return_tensors="pt")
    expected = reference.generate(**ids, do_sample=False, max_new_tokens=6)[0, 3:].tolist()
    out = generate(loaded.model, loaded.tokenizer, "the cat", GenerateSettings(max_new_tokens=6))
    assert [t.id for t in out.tokens] == expected


def test_unknown_repo_is_one_clear_error(online_hub) -> None:
    online_hub()
    with pytest.raises(ModelSourceError, match="No model called tiny/nothing on the Hugging Face hub"):
        sources.resolve("tiny/nothing")


def test_is_offline_asks_the_configured_hub(online_hub, monkeypatch) -> None:
    hub = online_hub()
    assert not sources.is_offline()
    hub.stop()
    monkeypatch.setattr(sources, "_offline_cache", {})
    assert sources.is_offline()
    with pytest.raises(OfflineError, match="tiny/mlm is not in the local Hugging Face cache"):
        sources.resolve("tiny/mlm")
    with pytest.raises(OfflineError, match="Offline: searching the hub"):
        sources.search_hub("tiny")


def test_the_cli_downloads_through_hf_endpoint(repos, tmp_path) -> None:
    """A new process configured only by environment variables, as a user on a hub mirror would be."""
    with FakeHub(repos) as hub:
        env = cli_env(
            tmp_path / "home", HF_HUB_OFFLINE="0", HF_ENDPOINT=hub.url, HF_HOME=str(tmp_path / "hf")
        )
        result = run_cli("fill-mask", "-m", "tiny/mlm", "--json", "the [MASK] sat.", env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["model"] == "tiny/mlm"
    assert "Downloading tiny/mlm" in result.stderr
    assert len(hub.gets(WEIGHTS)) == 1
    assert (tmp_path / "hf" / "hub" / "models--tiny--mlm").is_dir()
