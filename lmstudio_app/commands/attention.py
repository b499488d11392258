"""`lmstudio-app attention`: a sentence's attention as JSON, an offline bertviz page, or the overview PNG.

Causal LMs record `"causal": true` (and their PNG hatches the masked cells); encoder-decoders read TEXT as
the source and `--target` (default: their greedy output) and write all three attentions.
"""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path

from lmstudio_app.commands._common import add_model_arguments, load_model_from_args, stderr_progress
from lmstudio_app.core.errors import UserError

NAME = "attention"
HELP = "save a sentence's attention weights (.json), bertviz views (.html) or the layer x head grid (.png)"
FORMATS = (".json", ".html", ".png")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from lmstudio_app.core.models.sources import DEFAULT_ENCODER

    add_model_arguments(parser, DEFAULT_ENCODER)
    parser.add_argument("text", help="the sentence (sentence A for pairs)")
    parser.add_argument("--pair", metavar="TEXT_B", help="a second sentence, for sentence-pair inputs")
    parser.add_argument(
        "--target",
        metavar="TEXT",
        help="encoder-decoders: the decoder's text (default: the model's greedy output for TEXT)",
    )
    parser.add_argument(
        "--part",
        choices=("encoder", "decoder", "cross"),
        help="encoder-decoders: which attention the .png grid shows (default: cross)",
    )
    parser.add_argument("-o", "--output", required=True, help="output file: .json, .html or .png")
    parser.add_argument("--size", default="1200x700", help="PNG size as WIDTHxHEIGHT (default: 1200x700)")


def _check(args: argparse.Namespace) -> tuple[Path, str, tuple[int, int]]:
    """Everything that can be checked before loading a model, so bad input fails at once."""
    from lmstudio_app.core.outputs import check_output_file

    out = check_output_file(args.output, FORMATS)
    kind = out.suffix.lower()
    if not args.text.strip():
        raise UserError(
            'The text is empty: give a sentence, e.g. lmstudio-app attention -o a.json "The cat sat."'
        )
    match = re.fullmatch(r"(\d+)x(\d+)", args.size.strip().lower())
    if not match or not (100 <= int(match[1]) <= 8000 and 100 <= int(match[2]) <= 8000):
        raise UserError(f"Bad --size {args.size!r}: use WIDTHxHEIGHT between 100 and 8000, e.g. 1600x900.")
    if kind == ".html":
        from lmstudio_app.core.attention.bertviz import (
            MissingAssetsError,
            assets_help,
            missing_assets,
        )

        if missing_assets():
            raise MissingAssetsError(assets_help())
    return out, kind, (int(match[1]), int(match[2]))


def _write_png(result, out: Path, size: tuple[int, int], what: str) -> None:
    """The layer x head grid of `result` (one AttentionResult), masked cells hatched; `what` names it."""
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import numpy as np
    from PySide6.QtCore import QSize

    from lmstudio_app.core.attention.analysis import mask_later
    from lmstudio_app.ui.app import make_application
    from lmstudio_app.ui.widgets.attention_grid import AttentionGrid
    from lmstudio_app.ui.widgets.heatmap import export_png

    make_application()
    grid = AttentionGrid()
    weights = result.attentions
    if result.causal:
        weights = mask_later(weights, np.arange(result.n_tokens), np.arange(len(result.columns)))
    grid.set_weights(weights, result.tokens, result.columns)
    masked = "; hatched: masked, a token cannot attend to later tokens" if result.causal else ""
    grid.plot.setTitle(
        f"{result.model}{what}: {result.n_layers} layers x {result.n_heads} heads, {result.n_tokens} tokens"
        f"{masked}"
    )
    export_png(grid, out, QSize(*size))


def run(args: argparse.Namespace) -> int:
    import sys

    from lmstudio_app.core.attention.export import write_bertviz_page, write_weights_json
    from lmstudio_app.core.attention.extract import extract_attention
    from lmstudio_app.core.attention.seq2seq import Seq2SeqAttention

    out, kind, size = _check(args)
    loaded = load_model_from_args(args)
    result = extract_attention(loaded, args.text, args.pair, target=args.target, state=stderr_progress())
    seq2seq = isinstance(result, Seq2SeqAttention)
    if args.part and not seq2seq:
        raise UserError(f"--part is for encoder-decoders; {loaded.name} has one self-attention.")
    shown = result.part(args.part or "cross") if seq2seq else result
    if kind == ".json":
        write_weights_json(result, out)
    elif kind == ".html":
        write_bertviz_page(result, out)
    else:
        _write_png(shown, out, size, f" {args.part or 'cross'}-attention" if seq2seq else "")
    note = " (input truncated)" if shown.truncated else ""
    tokens = (
        f"{result.encoder.n_tokens} source and {result.decoder.n_tokens} target tokens"
        if seq2seq
        else f"{shown.n_tokens} tokens"
    )
    print(
        f"wrote {out} ({tokens}, {shown.n_layers} layers x {shown.n_heads} heads){note}",
        file=sys.stderr,
    )
    return 0
