"""Model size from the config, before any weights are read: the meta-device parameter count against the
real models' numel, and the activation estimate against the tensors autograd really keeps."""

from __future__ import annotations

import pytest

from lmstudio_app.core.models.footprint import Shape, activation_bytes, config_parameters, model_footprint
from lmstudio_app.core.models.registry import ModelRegistry


@pytest.mark.parametrize(
    ("kind", "builder"), [("pretraining", "bert"), ("classifier", "bert"), ("gpt2", "decoder")]
)
def test_meta_count_equals_the_loaded_model(tiny_model, tiny_decoder, kind: str, builder: str) -> None:
    folder = tiny_model(kind) if builder == "bert" else tiny_decoder(kind)
    counted = model_footprint(folder).parameters  # the class the registry loads, on the meta device
    loaded = ModelRegistry().load(str(folder))
    assert counted == sum(p.numel() for p in loaded.model.parameters()) == loaded.param_count


def test_meta_count_of_configs_without_a_folder() -> None:
    import transformers

    bert = transformers.BertConfig(
        vocab_size=500, hidden_size=48, num_hidden_layers=3, num_attention_heads=4, intermediate_size=96
    )
    gpt2 = transformers.GPT2Config(vocab_size=300, n_positions=64, n_embd=32, n_layer=2, n_head=2)
    for config, auto in [(bert, "AutoModelForSequenceClassification"), (gpt2, "AutoModelForCausalLM")]:
        real = getattr(transformers, auto).from_config(config)
        assert config_parameters(config, auto) == sum(p.numel() for p in real.parameters())
    assert Shape.of(gpt2) == Shape(layers=2, hidden=32, heads=2, intermediate=128)  # n_inner None: 4 h


def _kept_bytes(model, batch: int, length: int) -> int:
    """Bytes of the tensors autograd saves for backward in one training forward pass (weights excluded,
    each storage once): what the activation estimate stands for."""
    import torch

    weights = {p.untyped_storage().data_ptr() for p in model.parameters()}
    kept: dict[int, int] = {}

    def pack(tensor):
        storage = tensor.untyped_storage()
        kept[storage.data_ptr()] = storage.nbytes()
        return tensor

    torch.manual_seed(0)
    ids = torch.randint(5, model.config.vocab_size, (batch, length))
    model.train()
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        model(input_ids=ids, attention_mask=torch.ones_like(ids), labels=torch.zeros(batch, dtype=torch.long))
    return sum(n for ptr, n in kept.items() if ptr not in weights)


@pytest.mark.parametrize(("batch", "length"), [(4, 32), (8, 64)])
def test_activation_estimate_matches_what_autograd_keeps(minilm_dir, batch: int, length: int) -> None:
    import transformers

    config = transformers.AutoConfig.from_pretrained(minilm_dir)  # MiniLM's shape, random weights
    transformers.set_seed(0)
    model = transformers.AutoModelForSequenceClassification.from_config(config)
    measured = _kept_bytes(model, batch, length)
    estimate = activation_bytes(Shape.of(config), batch, length, "fp32")
    assert estimate == pytest.approx(measured, rel=0.1), (estimate, measured)


def test_training_bytes_add_weights_gradients_and_adam(tiny_model) -> None:
    footprint = model_footprint(tiny_model("classifier"))
    activations = activation_bytes(footprint.shape, 16, 128, "fp32")
    assert footprint.training_bytes(16, 128) == 16 * footprint.parameters + activations
    assert activation_bytes(footprint.shape, 16, 128, "bf16") < activations
