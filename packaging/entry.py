"""PyInstaller's entry script: the bundle behaves exactly like the `lmstudio-app` command."""

from lmstudio_app.cli import main

raise SystemExit(main())
