"""The Qt-free core: everything the CLI and the GUI share. Nothing here may import Qt (a test enforces it)."""
