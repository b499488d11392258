"""`lmstudio-app explain`: which tokens and words made the model say this (IG, gradient x input, rollout)."""

from __future__ import annotations

import argparse

from lmstudio_app.commands._common import add_model_arguments, print_json, stderr_progress

NAME = "explain"
HELP = "token and word attributions for a classifier's prediction or a masked-LM's candidate"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_model_arguments(parser, None, "classifier or masked-LM model")
    parser.add_argument(
        "--method",
        choices=["ig", "gradxinput", "rollout"],
        default="ig",
        help="ig: Integrated Gradients; gradxinput: gradient x input; rollout: attention rollout (default: ig)",
    )
    parser.add_argument("--label", help="class to explain, by name or index (default: the predicted class)")
    parser.add_argument("--steps", type=int, default=32, help="Integrated Gradients steps (default: 32)")
    parser.add_argument(
        "--baseline", choices=["pad", "mask"], default="pad", help="IG baseline token (default: pad)"
    )
    parser.add_argument(
        "--internal-batch-size",
        type=int,
        default=32,
        help="IG steps computed at once; lower it to use less memory (default: 32)",
    )
    parser.add_argument("--candidate", metavar="WORD", help="masked-LM: explain this word at the one [MASK]")
    parser.add_argument("--versus", metavar="WORD", help="masked-LM: why --candidate rather than this word")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("text", help="the text (with one [MASK] for --candidate)")


def run(args: argparse.Namespace) -> int:
    import sys

    from lmstudio_app.commands._common import load_model_from_args
    from lmstudio_app.core.errors import UserError
    from lmstudio_app.core.explain.attribution import METHOD_NAMES, ExplainOptions, explain

    if not args.model:
        raise UserError("Give the model to explain: -m FOLDER, hub id or embedded name.")
    if args.versus and not args.candidate:
        raise UserError("--versus needs --candidate WORD (why the candidate rather than the other word).")
    if not args.text.strip():
        raise UserError("Type a text to explain.")
    loaded = load_model_from_args(args)
    options = ExplainOptions(
        method=args.method,
        steps=args.steps,
        baseline=args.baseline,
        internal_batch_size=args.internal_batch_size,
        label=args.label,
        candidate=args.candidate,
        versus=args.versus,
    )
    result = explain(loaded, args.text, options, state=stderr_progress())
    warning = result.delta_warning()
    if warning:
        print(f"warning: {warning}", file=sys.stderr)
    if args.json:
        print_json(result.to_json())
        return 0
    print(f"{loaded.name}: predicted {result.predicted_label} ({result.predicted_score:.3f})")
    at = f" at the {result.layer}" if result.layer else ""
    print(f"{METHOD_NAMES[result.method]} for {result.target!r}{at} (output {result.output:+.4f})")
    if result.delta is not None:
        print(f"convergence delta {result.delta:+.3g} over {result.steps} steps")
    for word, score in zip(result.words.words, result.words.scores, strict=True):
        print(f"  {score:+9.4f}  {word}")
    return 0
