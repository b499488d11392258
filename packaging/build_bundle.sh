#!/usr/bin/env bash
# Build the folder bundle dist/lmstudio-app/ with PyInstaller and check it with its own --smoke-test.
# Run after `bash packaging/dev.sh run|test` (which makes .venv and fetches bertviz's JS).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f resources/js/d3.min.js ] || { echo "resources/js is missing: run 'bash packaging/dev.sh test --co -q' first" >&2; exit 2; }
.venv/bin/python -m pip install -q "pyinstaller>=6.10"
start=$(date +%s)
.venv/bin/pyinstaller --noconfirm --log-level WARN --distpath dist --workpath build/pyinstaller packaging/lmstudio_app.spec
echo "[bundle] built dist/lmstudio-app in $(( $(date +%s) - start )) s, $(du -sh dist/lmstudio-app | cut -f1)"
QT_QPA_PLATFORM=offscreen HF_HUB_OFFLINE=1 dist/lmstudio-app/lmstudio-app --smoke-test
