"""The `lmstudio-app` command: a bare call opens the GUI; subcommands run the same core headless."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from types import ModuleType
from typing import NoReturn

from lmstudio_app import APP_NAME, __version__

COMMANDS = [
    "models",
    "gui",
    "inspect_csv",
    "finetune",
    "distill",
    "pretrain",
    "export_launch",
    "predict",
    "attention",
    "fillmask",
    "inside",
    "explain",
    "embed_map",
    "score",
    "bias",
    "generate",
    "optimize",
    "choose",
]


def _command_modules() -> list[ModuleType]:
    return [importlib.import_module(f"lmstudio_app.commands.{name}") for name in COMMANDS]


class _Parser(argparse.ArgumentParser):
    """Usage errors (a bad number, a missing option) on one line, like every other error; subcommand
    parsers are of this class too (argparse makes them with the parent's class)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{APP_NAME}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=APP_NAME,
        description="Explore BERT-like models: fill masks, see attention, pre-train on your text, fine-tune classifiers.",
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
    """Parse, run, and turn user errors into one line on stderr with exit code 2.

    A closed stdout (`lmstudio-app fill-mask --json ... | head`) ends quietly with status 141, the status
    a shell reports for a process stopped by SIGPIPE.
    """
    try:
        try:
            return _run(sys.argv[1:] if argv is None else argv)
        finally:  # also after --help/--version, which print and exit from inside argparse
            if sys.stdout is not None:
                sys.stdout.flush()  # a reader that left early shows up here, not in Python's exit
    except BrokenPipeError:
        # The reader stopped reading: the output was cut on purpose, so no traceback. Point stdout at devnull
        # so that Python's own flush at exit does not fail again, and exit as if stopped by SIGPIPE.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # 128 + SIGPIPE (13); signal.SIGPIPE does not exist on Windows


def _run(argv: list[str]) -> int:
    from lmstudio_app.core.errors import UserError

    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:  # bare `lmstudio-app` (maybe with --smoke-test) opens the GUI
        args = parser.parse_args([*argv, "gui"])
    args.command_argv = list(argv)  # --processes N runs the same line again as N ranks; runs record it
    try:
        return int(args._run(args) or 0)
    except UserError as exc:
        print(f"{APP_NAME}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        raise  # main() ends quietly
    except OSError as exc:  # an I/O error that no core function put into words: still one line
        where = f"cannot use {exc.filename}: " if exc.filename else ""
        print(f"{APP_NAME}: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{APP_NAME}: interrupted", file=sys.stderr)
        return 130
