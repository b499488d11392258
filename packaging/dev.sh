#!/usr/bin/env bash
# One entry point for the README's two commands:
#   bash packaging/dev.sh run   -> set up .venv and start the app on the embedded default model
#   bash packaging/dev.sh test  -> set up .venv (plus test-only system packages) and run the whole pytest suite
# Re-running is quick: each step is skipped when its inputs have not changed.
# GPU users: set LMSTUDIO_TORCH_SPEC (e.g. "torch==2.13.0 --index-url https://download.pytorch.org/whl/cu126")
# before the first run to choose their torch build; the default is the CPU wheel.
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-run}"; shift || true
PY="${PYTHON:-python3}"
VENV=.venv
TORCH_SPEC="${LMSTUDIO_TORCH_SPEC:-torch==2.13.0}"

need_apt=()
apt_missing() { for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || need_apt+=("$p"); done; }
# Qt's xcb/offscreen platforms and QtWebEngine need these shared libraries; Xvfb runs the real-window tests.
apt_missing libegl1 libgl1 libfontconfig1 libxkbcommon0 libdbus-1-3 libglib2.0-0 \
  libnss3 libasound2 libxcomposite1 libxdamage1 libxrandr2 libxtst6 libxkbfile1 libxshmfence1 libgbm1
if [ "$mode" = test ]; then
  apt_missing xvfb xauth libxcb-icccm4 libxcb-keysyms1 libxcb-cursor0 libxcb-image0 libxcb-render-util0 \
    libxcb-shape0 libxkbcommon-x11-0 libxcb-xinerama0 libxcb-randr0 libxcb-xfixes0
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "[setup] apt-get install ${need_apt[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  else
    echo "[setup] missing system packages (install them with sudo apt-get install): ${need_apt[*]}" >&2
  fi
fi

[ -x "$VENV/bin/python" ] || { echo "[setup] creating $VENV"; "$PY" -m venv "$VENV"; }
stamp="$VENV/.lmstudio-installed"
want="$(cat pyproject.toml | sha1sum | cut -c1-12) $TORCH_SPEC"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "[setup] installing $TORCH_SPEC, then the app and its test tools into $VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip
  # torch first, pinned, so that no multi-GB CUDA build is pulled in by the range in pyproject.toml.
  # shellcheck disable=SC2086
  "$VENV/bin/python" -m pip install -q $TORCH_SPEC
  "$VENV/bin/python" -m pip install -q -e ".[test]"
  echo "$want" > "$stamp"
fi

# bertviz's JavaScript (require.js, d3 5.7, jQuery 2) comes from npm, never from a CDN at run time.
JS=resources/js
if [ ! -f "$JS/require.js" ] || [ ! -f "$JS/d3.min.js" ] || [ ! -f "$JS/jquery.min.js" ]; then
  if command -v npm >/dev/null; then
    echo "[setup] fetching bertviz's JavaScript from npm into $JS"
    tmp="build/npm"; mkdir -p "$tmp" "$JS"
    npm install --silent --no-audit --no-fund --prefix "$tmp" d3@5.7.0 jquery@2.2.4 requirejs@2.3.6 >/dev/null
    cp "$tmp/node_modules/requirejs/require.js" "$JS/require.js"
    cp "$tmp/node_modules/d3/dist/d3.min.js" "$JS/d3.min.js"
    cp "$tmp/node_modules/jquery/dist/jquery.min.js" "$JS/jquery.min.js"
  else
    echo "[setup] npm not found: the bertviz views stay off (native attention views still work)" >&2
  fi
fi

export QTWEBENGINE_DISABLE_SANDBOX="${QTWEBENGINE_DISABLE_SANDBOX:-$([ "$(id -u)" = 0 ] && echo 1 || echo 0)}"
case "$mode" in
  run)
    if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ] && [ -z "${QT_QPA_PLATFORM:-}" ]; then
      echo "[run] no display found: starting offscreen (set DISPLAY to see the window)" >&2
      export QT_QPA_PLATFORM=offscreen
    fi
    exec "$VENV/bin/lmstudio-app" "$@"
    ;;
  test)
    export QT_QPA_PLATFORM="${QT_QPA_PLATFORM:-offscreen}" HF_HUB_OFFLINE=1
    exec "$VENV/bin/python" -m pytest "$@"
    ;;
  *) echo "usage: bash packaging/dev.sh run|test [args...]" >&2; exit 2 ;;
esac
