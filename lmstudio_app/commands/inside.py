"""`lmstudio-app inside`: the Inside tab's numbers from the command line (steps, lens, positions, objectives)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from lmstudio_app.commands._common import (
    MAX_SEED,
    add_model_arguments,
    load_model_from_args,
    print_json,
    real_number,
    stderr_progress,
    whole_number,
)
from lmstudio_app.core.errors import UserError

NAME = "inside"
HELP = "inside the model: self-attention step by step (masked and cross for decoders), layer lens, positions, loss"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from lmstudio_app.core.inside.lens import MAX_TOP_K as LENS_TOP_K
    from lmstudio_app.core.models.sources import DEFAULT_ENCODER, DEFAULT_MASKED_LM

    sub = parser.add_subparsers(dest="view", metavar="VIEW", required=True)
    steps = sub.add_parser("steps", help="one layer's self-attention, step by step, for one head and token")
    add_model_arguments(steps, DEFAULT_ENCODER)
    steps.add_argument("--layer", type=whole_number(0), default=0, help="layer, from 0 (default: 0)")
    steps.add_argument("--head", type=whole_number(0), default=0, help="head, from 0 (default: 0)")
    steps.add_argument(
        "--token", type=whole_number(0), default=0, help="query token index, [CLS] = 0 (default: 0)"
    )
    steps.add_argument("--pair", metavar="TEXT_B", help="a second sentence")
    steps.add_argument(
        "--target", metavar="TEXT", help="encoder-decoders: the decoder's text, whose tokens query the source"
    )

    lens = sub.add_parser(
        "lens", help="the model's head after every layer: at a mask (masked LM) or the next token (causal LM)"
    )
    add_model_arguments(lens, DEFAULT_MASKED_LM, "masked-LM or causal-LM model")
    lens.add_argument(
        "-k",
        "--top-k",
        type=whole_number(1, LENS_TOP_K),
        default=5,
        help="final top words followed (default: 5)",
    )
    lens.add_argument(
        "--mask", type=whole_number(0), default=0, help="masked LMs: which mask, from 0 (default: 0)"
    )

    positions = sub.add_parser("positions", help="position embeddings beside the sine/cosine encoding")
    add_model_arguments(positions, DEFAULT_ENCODER)
    positions.add_argument(
        "-n", "--positions", type=whole_number(2), default=128, help="positions shown (default: 128)"
    )
    positions.add_argument("-o", "--output", required=True, help="output file: .png or .json")

    objectives = sub.add_parser("objectives", help="BERT's masking and L = α·L_MLM + β·L_NSP")
    add_model_arguments(objectives, DEFAULT_MASKED_LM, "masked-LM or pre-training model")
    objectives.add_argument("--pair", metavar="TEXT_B", help="sentence B, for next-sentence prediction")
    objectives.add_argument("--alpha", type=real_number(0), default=1.0, help="weight of L_MLM (default: 1)")
    objectives.add_argument("--beta", type=real_number(0), default=1.0, help="weight of L_NSP (default: 1)")
    objectives.add_argument(
        "--seed", type=whole_number(0, MAX_SEED), default=0, help="seed of the masking draw (default: 0)"
    )
    objectives.add_argument("--not-next", action="store_true", help="B does not follow A (NSP label NotNext)")

    for p in (steps, lens, objectives):
        p.add_argument("--json", action="store_true", help="print one JSON object")
        p.add_argument(
            "text",
            help="the sentence ([MASK] where a word is missing, for a masked LM's lens; the source of an "
            "encoder-decoder)",
        )


def _check(args: argparse.Namespace) -> None:
    """What can be refused before a model is loaded (a mask for the lens depends on the model's family)."""
    text = getattr(args, "text", None)
    if text is not None and not text.strip():
        raise UserError("The text is empty: give a sentence.")
    if args.view == "steps" and args.pair and args.target is not None:
        raise UserError("--pair is sentence B of an encoder, --target the text of a decoder: give one.")
    if args.view == "objectives" and min(args.alpha, args.beta) < 0:
        raise UserError(f"alpha and beta must be numbers >= 0, not {args.alpha} and {args.beta}.")
    if args.view == "positions":
        from lmstudio_app.core.outputs import check_output_file

        check_output_file(args.output, (".png", ".json"))


def run(args: argparse.Namespace) -> int:
    _check(args)
    loaded = load_model_from_args(args)
    state = stderr_progress()
    if args.view == "steps":
        from lmstudio_app.core.inside.steps import Choice, attention_steps

        text_b = args.target if args.target is not None else args.pair
        result: Any = attention_steps(
            loaded, args.text, Choice(args.layer, args.head, args.token), text_b, state=state
        )
        _print(args, result, _steps_text)
    elif args.view == "lens":
        from lmstudio_app.core.inside.lens import layer_lens

        result = layer_lens(loaded, args.text, top_k=args.top_k, mask=args.mask, state=state)
        _print(args, result, _lens_text)
    elif args.view == "objectives":
        from lmstudio_app.core.inside.objectives import Weights, objectives

        weights = Weights(args.alpha, args.beta, args.seed, not args.not_next)
        result = objectives(loaded, args.text, args.pair, weights, state=state)
        _print(args, result, _objectives_text)
    else:
        _positions(loaded, args)
    return 0


def _print(args: argparse.Namespace, result: Any, text: Any) -> None:
    if args.json:
        print_json(result.to_json())
    else:
        print("\n".join(text(result)))


def _vec(values: Any, shown: int = 6) -> str:
    head = ", ".join(f"{float(v):+.3f}" for v in values[:shown])
    return f"[{head}{', …' if len(values) > shown else ''}] ({len(values)})"


def _steps_text(s: Any) -> list[str]:
    c, f = s.choice, s.form
    token = s.tokens[c.token]
    what = {"masked": "masked self-attention", "cross": "cross-attention"}.get(f.kind, "self-attention")
    kind = f"{f.layout}, {what}" if f.layout else what
    lines = [f"{s.model} ({kind}): layer {c.layer}, head {c.head}, query token {c.token} {token!r}"]
    lines += [f"  {name} {shape[0]}x{shape[1]}" for name, shape in s.shapes.items()]
    a = f"{f.norm}1(x)" if f.pre_norm else "x"
    lines += [f"x = {_vec(s.x)}", f"q = {a}·W^Q_{c.head} = {_vec(s.q)}", "scores q·k_j/√d_k -> softmax w_j:"]
    lines += [
        f"  {t:<14} {sc:+8.3f} {w:7.4f}{'  (masked: after the query)' if sc == float('-inf') else ''}"
        for t, sc, w in zip(s.keys_read, s.scores, s.weights, strict=True)
    ]
    z, out = ("x + MultiHead", f"Z + FFN({f.norm}2(Z))") if f.pre_norm else (
        f"{f.norm}(x + MultiHead)", f"{f.norm}(Z + FFN(Z))"
    )  # fmt: skip
    lines += [
        f"Σ w_j v_j = {_vec(s.head_output)}",
        f"Concat(heads)·W^O = {_vec(s.multi_head)}",
        f"Z = {z} = {_vec(s.z)}",
        f"FFN = {_vec(s.ffn)}",
        f"X' = {out} = {_vec(s.output)}",
        f"model's own hidden state = {_vec(s.model_output)} (max difference {s.max_error:.2e})",
    ]
    return lines


def _lens_text(lens: Any) -> list[str]:
    width = max(12, *(len(w) + 2 for w in lens.words))
    where = "mask at" if lens.follows == "mask" else "next token after"
    lines = [f"{lens.model}: {where} token {lens.position}; probability (rank) of the final top words"]
    lines.append(f"{'after':<12}" + "".join(f"{w:>{width + 8}}" for w in lens.words) + "   best here")
    for name, probs, ranks, best in zip(lens.layer_names, lens.probs, lens.ranks, lens.best, strict=True):
        cells = "".join(f"{p:>{width}.4f} ({r:>5})" for p, r in zip(probs, ranks, strict=True))
        lines.append(f"{name:<12}{cells}   {best[0]} {best[1]:.3f}")
    return lines


def _objectives_text(o: Any) -> list[str]:
    lines = [f"{o.model}, seed {o.weights.seed}: " + " ".join(o.shown)]
    for m in o.masked:
        lines.append(
            f"  {m.position:>3} {m.original:<12} {m.action:<6} shown {m.shown:<12} loss {m.loss:.4f}"
        )
    lines.append(f"L_MLM = {o.l_mlm:.4f}")
    if o.l_nsp is not None:
        lines.append(f"L_NSP = {o.l_nsp:.4f} (P(IsNext) = {o.p_is_next:.3f})")
    nsp = f" + {o.weights.beta:g}·{o.l_nsp:.4f}" if o.l_nsp is not None else ""
    lines.append(f"L = {o.weights.alpha:g}·{o.l_mlm:.4f}{nsp} = {o.total:.4f}")
    if o.note:
        lines.append(f"note: {o.note}")
    return lines


def _positions(loaded: Any, args: argparse.Namespace) -> None:
    from lmstudio_app.core.inside.positions import positions
    from lmstudio_app.core.jsonio import write_json

    result = positions(loaded, args.positions)
    out = Path(args.output)
    if out.suffix.lower() == ".json":
        write_json(out, result.to_json())
    else:
        if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
            os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        from PySide6.QtCore import QSize

        from lmstudio_app.ui.app import make_application
        from lmstudio_app.ui.inside.common import save_png
        from lmstudio_app.ui.inside.positions_view import PositionsFigure

        make_application()
        figure = PositionsFigure()
        figure.set_positions(result)
        save_png(figure, out, QSize(1400, 800))
    print(f"wrote {out} ({args.positions} positions)", file=sys.stderr)
