"""Loading, listing and unloading real (tiny and embedded) models."""

import pytest

from lmstudio_app.core.errors import DeviceError, DuplicateModelError
from lmstudio_app.core.models.devices import check_device_dtype, list_devices
from lmstudio_app.core.models.family import CAUSAL, ENCODER, MASKED, SEQ2SEQ
from lmstudio_app.core.models.footprint import estimate_bytes
from lmstudio_app.core.models.registry import (
    HEAD_CAUSAL_LM,
    HEAD_CLS,
    HEAD_ENCODER,
    HEAD_MLM,
    HEAD_NSP,
    HEAD_SEQ2SEQ_LM,
    ModelRegistry,
)
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


@pytest.mark.parametrize(
    ("kind", "arch", "heads", "family"),
    [
        ("gpt2", "GPT2LMHeadModel", (HEAD_CAUSAL_LM,), CAUSAL),
        ("llama", "LlamaForCausalLM", (HEAD_CAUSAL_LM,), CAUSAL),
        ("bert-clm", "BertLMHeadModel", (HEAD_CAUSAL_LM,), CAUSAL),
        ("t5", "T5ForConditionalGeneration", (HEAD_SEQ2SEQ_LM,), SEQ2SEQ),
        ("bart", "BartForConditionalGeneration", (HEAD_SEQ2SEQ_LM,), SEQ2SEQ),
    ],
)
def test_decoders_load_with_their_head_and_family(tiny_decoder, kind, arch, heads, family) -> None:
    loaded = ModelRegistry().load(str(tiny_decoder(kind)))
    assert (loaded.architecture, loaded.heads, loaded.family) == (arch, heads, family)
    assert loaded.param_count == sum(p.numel() for p in loaded.model.parameters())


def test_masked_and_encoder_models_say_their_family(tiny_model) -> None:
    registry = ModelRegistry()
    assert registry.load(str(tiny_model("mlm"))).family == MASKED
    assert registry.load(str(tiny_model("encoder"))).family == ENCODER


@pytest.mark.parametrize("kind", ["gpt2", "t5", "mlm"])
def test_memory_estimate_before_loading_matches_the_loaded_weights(tiny_model, tiny_decoder, kind) -> None:
    folder = tiny_model(kind) if kind == "mlm" else tiny_decoder(kind)
    for dtype in ("float32", "bfloat16"):
        loaded = ModelRegistry().load(str(folder), "cpu", dtype)
        params = sum(p.numel() * p.element_size() for p in loaded.model.parameters())
        assert estimate_bytes(folder, dtype) == params


def test_a_causal_lm_generates_in_bfloat16_on_cpu(tiny_decoder) -> None:
    import torch

    from lmstudio_app.core.generate.settings import GenerateSettings
    from lmstudio_app.core.generate.stream import generate

    loaded = ModelRegistry().load(str(tiny_decoder("gpt2")), "cpu", "bfloat16")
    assert next(loaded.model.parameters()).dtype == torch.bfloat16
    out = generate(loaded.model, loaded.tokenizer, "the cat", GenerateSettings(max_new_tokens=5))
    expected = loaded.model.generate(
        **loaded.tokenizer("<s> the cat", return_tensors="pt"), do_sample=False, max_new_tokens=5
    )
    assert [t.id for t in out.tokens] == expected[0, 3:].tolist()
    assert all(0 < t.prob <= 1 for t in out.tokens)
