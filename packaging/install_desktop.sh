#!/usr/bin/env bash
# Install the desktop entry and icon for this user, pointing at this checkout's .venv (or $1: the command).
set -euo pipefail
cd "$(dirname "$0")/.."
cmd="${1:-$(pwd)/.venv/bin/lmstudio-app}"
data="${XDG_DATA_HOME:-$HOME/.local/share}"
mkdir -p "$data/applications" "$data/icons/hicolor/scalable/apps"
cp resources/icons/lmstudio_app.svg "$data/icons/hicolor/scalable/apps/lmstudio-app.svg"
sed "s|^Exec=lmstudio-app|Exec=$cmd|" packaging/lmstudio-app.desktop > "$data/applications/lmstudio-app.desktop"
command -v update-desktop-database >/dev/null && update-desktop-database -q "$data/applications" || true
echo "installed $data/applications/lmstudio-app.desktop (Exec=$cmd)"
