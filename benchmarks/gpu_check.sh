#!/usr/bin/env bash
# GPU check for a CUDA machine (under 10 minutes): embedded models on the GPU in fp32 and bf16, fill-mask and
# attention there, a fixed-step bf16 fine-tune of MiniLM with samples/s and peak GPU memory, the same run on
# 2 GPUs beside 1 (--processes 2, NCCL) when there are two, the embedded masked-LM recipe with NSP for more
# steps than shipped (its probes beside the shipped model's), then the GPU-marked tests (the wizard's bf16
# and fp16 path among them). Usage on the GPU machine, from the repository root:
#   LMSTUDIO_TORCH_SPEC="torch==2.13.0" bash benchmarks/gpu_check.sh [OUT_DIR]
# (set LMSTUDIO_TORCH_SPEC to a CUDA build of torch where the machine's default wheel is CPU-only;
# MLM_STEPS sets the recipe's steps, default 1500; build/mlm/corpus.txt is its text when present).
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
OUT="$out" $py - <<'PY'
"""A fixed-step bf16 fine-tune of the embedded MiniLM on generated data: samples/s and peak GPU memory."""
import os, random, tempfile, time
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
Path(os.environ["OUT"], "reviews.csv").write_text(  # the same data for the command-line runs below
    "text,label\n" + "".join(f"{t},{l}\n" for t, l in zip(texts, labels)), encoding="utf-8")
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
if [ "$($py -c 'import torch; print(torch.cuda.device_count())')" -ge 2 ]; then
  for n in 1 2; do  # the same global batch of 64: 2 GPUs take 32 rows each
    timeout 300 $app finetune -m all-MiniLM-L6-v2 --csv "$out/reviews.csv" --text-column text --label-column label \
      -o "$out/gpus$n" --device cuda --precision bf16 --batch-size 64 --max-length 128 --max-steps 150 \
      --patience 0 --seed 0 --processes $n > "$out/gpus$n.txt" 2> "$out/gpus$n.log" || { tail -5 "$out/gpus$n.log"; exit 1; }
  done
else
  echo "one GPU: the 2-GPU run is skipped"
fi
corpus=build/mlm/corpus.txt
if [ ! -f "$corpus" ]; then  # the recipe's own text needs the registries; a manual's prose stands in
  corpus="$out/manual.txt"
  $py -c "import sys; sys.path.insert(0, 'tests'); from pretrain_helpers import manual_lines
open(sys.argv[1], 'w').write('\n'.join(manual_lines(20000)) + '\n')" "$corpus"
fi
probes=("The cat sat on the [MASK]." "Paris is the capital of [MASK]." "She drank a cup of [MASK].")
timeout 420 $app pretrain --text "$corpus" -m all-MiniLM-L6-v2 -o "$out/mlm_nsp" --nsp --device cuda \
  --max-steps "${MLM_STEPS:-1500}" --batch-size 32 --max-length 128 --lr 3e-4 --warmup-ratio 0.1 \
  --held-out 0.02 --eval-steps 500 --seed 13 --precision auto "${probes[@]/#/--probe=}" \
  > "$out/mlm_nsp.txt" 2> "$out/mlm_nsp.log" || { tail -5 "$out/mlm_nsp.log"; exit 1; }
for model in minilm-mlm "$out/mlm_nsp"; do
  for i in "${!probes[@]}"; do
    $app fill-mask -m "$model" -k 5 --json "${probes[$i]}" > "$out/probe_$(basename "$model")_$i.json"
  done
done
OUT="$out" $py - <<'PY'
"""What the runs above measured: 1 GPU against 2, and the recipe with NSP against the shipped masked-LM."""
import json, os
from pathlib import Path

out = Path(os.environ["OUT"])
for n in (1, 2):
    run = out / f"gpus{n}"
    if (run / "metrics.json").is_file():
        m = json.loads((run / "metrics.json").read_text())
        first = next(json.loads(l) for l in (run / "history.jsonl").read_text().splitlines() if '"log"' in l)
        print(f"{n} GPU(s): {m['train_samples_per_second']:.0f} samples/s, first loss {first['loss']:.4f}, "
              f"accuracy {m['eval_accuracy']:.3f}")
shipped = json.loads(Path("resources/models/minilm-mlm/training.json").read_text())["nsp_stage"]["heldout_after"]
for name, m in (("shipped (MLM on CPU, then 150 NSP steps)", shipped),
                ("recipe with NSP on this GPU", json.loads((out / "mlm_nsp" / "metrics.json").read_text()))):
    print(f"{name}: held-out top-1 {m['eval_mlm_top1']:.3f}, top-5 {m['eval_mlm_top5']:.3f}, "
          f"NSP accuracy {m.get('eval_nsp_accuracy', float('nan')):.3f}")
for probe in sorted(out.glob("probe_minilm-mlm_*.json")):
    words = [[p["token"] for p in json.loads(f.read_text())["masks"][0]["predictions"]]
             for f in (probe, out / probe.name.replace("minilm-mlm", "mlm_nsp"))]
    print(f"probe {probe.stem[-1]}: shipped {words[0]} | recipe with NSP {words[1]}")
PY
$py -m pytest -m gpu -q -ra 2>&1 | tail -5
