#!/usr/bin/env bash
# Rebuild the embedded causal LM (resources/models/minilm-clm): the masked-LM corpus (packaging/mlm), then
# the shipped minilm-mlm warm-started as a left-to-right decoder, in two stages as the shipped weights were
# made (stage 2 continues stage 1 with a fresh warm-up). CPU only; see README.md here for the figures.
# Usage: packaging/clm/make_clm.sh [STAGE1_MIN] [STAGE2_MIN]
set -euo pipefail
cd "$(dirname "$0")/../.."
PY="${PYTHON:-.venv/bin/python}"
mkdir -p build/mlm build/clm
[ -s build/mlm/corpus.txt ] || "$PY" packaging/mlm/build_corpus.py --out build/mlm
nice -n 5 "$PY" packaging/clm/train_clm.py --minutes "${1:-25}" --out build/clm/stage1
nice -n 5 "$PY" packaging/clm/train_clm.py --base build/clm/stage1 --minutes "${2:-40}" --lr 1.5e-4 \
    --out build/clm/model
echo "build/clm/model: copy it to resources/models/minilm-clm if its held-out bits/char beat the bigram's"
