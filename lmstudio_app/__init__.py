"""lmstudio_app: a Qt desktop workbench for exploring BERT-like transformer models."""

__version__ = "0.1.0"
APP_NAME = "lmstudio-app"
APP_DISPLAY_NAME = "LM Studio App"
ORG_NAME = "lmstudio_app"
