"""Loading, listing and unloading real (tiny and embedded) models."""

import pytest

from lmstudio_app.core.errors import DeviceError, DuplicateModelError
from lmstudio_app.core.models.devices import check_device_dtype, list_devices
from lmstudio_app.core.models.registry import HEAD_CLS, HEAD_ENCODER, HEAD_MLM, HEAD_NSP, ModelRegistry
from lmstudio_app.core.models.sources import DEFAULT_ENCODER
from lmstudio_app.core.tasks import Cancelled, TaskState


@pytest.mark.parametrize(
    ("kind", "arch", "heads"),
    [
        ("pretraining", "BertForPreTraining", (HEAD_MLM, HEAD_NSP)),
        ("mlm", "BertForMaskedLM", (HEAD_MLM,)),
        ("classifier", "BertForSequenceClassification", (HEAD_CLS,)),
        ("encoder", "BertModel", (HEAD_ENCODER,)),
    ],
)
def test_heads_and_architecture_are_detected(tiny_model, kind: str, arch: str, heads: tuple) -> None:
    loaded = ModelRegistry().load(str(tiny_model(kind)))
    assert loaded.architecture == arch
    assert loaded.heads == heads
    assert loaded.param_count == sum(p.numel() for p in loaded.model.parameters())
    assert loaded.bytes >= loaded.param_count * 4
    assert not loaded.model.training


def test_embedded_minilm_loads_with_real_size() -> None:
    registry = ModelRegistry()
    progress: list[str] = []
    loaded = registry.load(DEFAULT_ENCODER, state=TaskState(lambda f, m: progress.append(m)))
    assert loaded.architecture == "BertModel"
    assert loaded.model.config.num_hidden_layers == 6 and loaded.model.config.num_attention_heads == 12
    assert 22_000_000 < loaded.param_count < 23_500_000
    assert progress[-1] == "Loaded"


def test_same_model_twice_asks_then_reuses_or_copies(tiny_model) -> None:
    registry = ModelRegistry()
    first = registry.load(str(tiny_model("mlm")))
    with pytest.raises(DuplicateModelError, match="already loaded") as info:
        registry.load(str(tiny_model("mlm")))
    assert info.value.existing_key == first.key
    assert registry.load(str(tiny_model("mlm")), duplicate="reuse") is first
    copy = registry.load(str(tiny_model("mlm")), duplicate="copy")
    assert copy.key != first.key and len(registry.models()) == 2


def test_unload_forgets_the_model(tiny_model) -> None:
    registry = ModelRegistry()
    loaded = registry.load(str(tiny_model("encoder")))
    registry.unload(loaded.key)
    assert registry.models() == []


def test_bfloat16_on_cpu_loads_in_that_dtype(tiny_model) -> None:
    import torch

    loaded = ModelRegistry().load(str(tiny_model("mlm")), "cpu", "bfloat16")
    assert next(loaded.model.parameters()).dtype == torch.bfloat16


def test_float16_on_cpu_is_refused_with_alternatives(tiny_model) -> None:
    with pytest.raises(DeviceError, match="float16 is not supported on cpu.*float32 or bfloat16"):
        ModelRegistry().load(str(tiny_model("mlm")), "cpu", "float16")


def test_absent_cuda_device_is_refused() -> None:
    if any(d.id.startswith("cuda") for d in list_devices()):
        pytest.skip("this machine has a GPU")
    with pytest.raises(DeviceError, match="cuda:0 is not present.*cpu"):
        check_device_dtype("cuda", "float32")


def test_cancel_before_weights_stops_the_load(tiny_model) -> None:
    state = TaskState()
    state.request_stop()
    with pytest.raises(Cancelled):
        ModelRegistry().load(str(tiny_model("mlm")), state=state)
