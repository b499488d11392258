"""The Qt face of the app: one module per panel, all working through `AppState` and `Worker`."""
