"""The `lmstudio-app` command: a bare call opens the GUI; subcommands run the same core headless."""

from __future__ import annotations

import argparse
import importlib
import sys
from types import ModuleType

from lmstudio_app import APP_NAME, __version__

COMMANDS = ["models", "gui", "inspect_csv", "finetune", "predict", "attention", "fillmask", "explain", "embed_map"]


def _command_modules() -> list[ModuleType]:
    return [importlib.import_module(f"lmstudio_app.commands.{name}") for name in COMMANDS]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=APP_NAME,
        description="Explore BERT-like models: fill masks, see attention, fine-tune classifiers.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--smoke-test", action="store_true", help="open the window with the default model, paint once, exit"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in _command_modules():
        p = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse, run, and turn user errors into one line on stderr with exit code 2."""
    from lmstudio_app.core.errors import UserError

    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:  # bare `lmstudio-app` (maybe with --smoke-test) opens the GUI
        args = parser.parse_args([*argv, "gui"])
    try:
        return int(args._run(args) or 0)
    except UserError as exc:
        print(f"{APP_NAME}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{APP_NAME}: interrupted", file=sys.stderr)
        return 130
