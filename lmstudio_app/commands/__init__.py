"""CLI subcommands, one module each: NAME, HELP, add_arguments(parser), run(args) -> exit code.

Modules import torch/transformers/Qt inside `run` only, so `lmstudio-app --help` stays instant.
"""
