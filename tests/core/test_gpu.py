"""GPU paths (run by benchmarks/gpu_check.sh on a CUDA machine; skipped elsewhere) and the check script's syntax."""

import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def test_gpu_check_script_parses_on_cpu() -> None:
    script = REPO / "benchmarks" / "gpu_check.sh"
    subprocess.run(["bash", "-n", str(script)], check=True)
    blocks = re.findall(r"<<'PY'\n(.*?)\nPY\n", script.read_text(), flags=re.S)
    assert len(blocks) == 3
    for block in blocks:
        compile(block, "gpu_check.sh", "exec")


@pytest.mark.gpu
@pytest.mark.skipif(not _cuda(), reason="needs a CUDA device")
@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_load_fill_mask_and_unload_on_gpu(tiny_model, dtype: str) -> None:
    import torch

    from lmstudio_app.core.fillmask.predict import fill_mask
    from lmstudio_app.core.models.registry import ModelRegistry

    registry = ModelRegistry()
    before = torch.cuda.memory_allocated()
    loaded = registry.load(str(tiny_model("mlm")), "cuda:0", dtype)
    assert next(loaded.model.parameters()).device.type == "cuda"
    result = fill_mask(loaded.model, loaded.tokenizer, "the cat sat on the [MASK].", top_k=3)
    assert len(result.masks[0].candidates) == 3
    registry.unload(loaded.key)
    assert torch.cuda.memory_allocated() <= before


@pytest.mark.gpu
@pytest.mark.skipif(not _cuda(), reason="needs a CUDA device")
def test_attention_on_gpu(tiny_model) -> None:
    from lmstudio_app.core.attention.extract import extract_attention
    from lmstudio_app.core.models.registry import ModelRegistry

    loaded = ModelRegistry().load(str(tiny_model("encoder")), "cuda:0", "float32")
    result = extract_attention(loaded, "the cat sat on the mat")
    assert result.attentions.shape[:2] == (2, 2)
