"""`python -m lmstudio_app` behaves exactly like the `lmstudio-app` command."""

from lmstudio_app.cli import main

raise SystemExit(main())
