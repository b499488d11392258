#!/usr/bin/env bash
# GPU check for a CUDA machine (under 8 minutes): embedded models on the GPU in fp32 and bf16, fill-mask and
# attention there, a fixed-step bf16 fine-tune of MiniLM with samples/s and peak GPU memory, then the
# GPU-marked tests. Usage on the GPU machine, from the repository root:
#   LMSTUDIO_TORCH_SPEC="torch==2.13.0" bash benchmarks/gpu_check.sh [OUT_DIR]
# (set LMSTUDIO_TORCH_SPEC to a CUDA build of torch where the machine's default wheel is CPU-only).
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-${OUT:-build/gpu_check}}"; mkdir -p "$out"
export HF_HUB_OFFLINE=1 QT_QPA_PLATFORM=offscreen PYTHONUNBUFFERED=1
[ -x .venv/bin/lmstudio-app ] || bash packaging/dev.sh test --co -q >/dev/null
app=.venv/bin/lmstudio-app
py=.venv/bin/python
$py - <<'PY'
import torch
assert torch.cuda.is_available(), "no CUDA device: this check is for the GPU machine"
print("gpu:", torch.cuda.get_device_name(0), "| torch", torch.__version__, "| bf16:", torch.cuda.is_bf16_supported())
PY
$app models --json > "$out/models.json"
mlm=$($py -c "from lmstudio_app.core.models.sources import embedded_models as e; print(next((m.name for m in e() if m.task == 'fill-mask'), ''))")
for dtype in float32 bfloat16; do
  if [ -n "$mlm" ]; then
    /usr/bin/time -f "fill-mask $dtype: %e s wall (incl. load)" \
      $app fill-mask -m "$mlm" --device cuda --dtype $dtype --json "The cat sat on the [MASK]." > "$out/fill_$dtype.json"
  fi
  /usr/bin/time -f "attention $dtype: %e s wall (incl. load)" \
    $app attention -m all-MiniLM-L6-v2 --device cuda --dtype $dtype -o "$out/attention_$dtype.json" \
    "The quick brown fox jumps over the lazy dog because it wanted to see the attention heads."
done
$py - <<'PY'
"""A fixed-step bf16 fine-tune of the embedded MiniLM on generated data: samples/s and peak GPU memory."""
import random, tempfile, time
from pathlib import Path
import torch
from lmstudio_app.core.data.labeled import LabeledData, split
from lmstudio_app.core.finetune.settings import FineTuneSettings
from lmstudio_app.core.finetune.job import fine_tune

random.seed(0)
words = {"pos": "great lovely superb fine happy wonderful".split(), "neg": "awful bad poor sad boring terrible".split()}
texts, labels = [], []
for i in range(4000):
    label = random.choice(["pos", "neg"])
    texts.append(" ".join(random.choice(words[label]) + " movie" for _ in range(random.randint(3, 30))))
    labels.append(label)
data = LabeledData(texts=texts, pairs=None, labels=labels, label_names=["neg", "pos"], dropped_empty=0,
                   merged={}, variants={}, warnings=[])
train, val = split(data, 0.1, seed=0)
settings = FineTuneSettings(device="cuda", precision="bf16", batch_size=64, max_steps=200, eval_steps=100,
                            max_length=128)
torch.cuda.reset_peak_memory_stats()
start = time.perf_counter()
result = fine_tune(train, val, settings, Path(tempfile.mkdtemp()) / "run")
seconds = time.perf_counter() - start
print(f"fine-tune bf16: {200 * 64 / seconds:.0f} samples/s over 200 steps (batch 64), "
      f"peak GPU memory {torch.cuda.max_memory_allocated() / 2**20:.0f} MiB, "
      f"eval accuracy {result.metrics.get('eval_accuracy', float('nan')):.3f}")
PY
$py -m pytest -m gpu -q -ra 2>&1 | tail -5
