"""`lmstudio-app explain`: which tokens and words made the model say this (IG, gradient x input, rollout):
a classifier's class, a masked-LM's word at the mask, a causal LM's / encoder-decoder's next token, a word
tagger's tag of one word or a QA model's answer (explain_tasks.py)."""

from __future__ import annotations

import argparse

from lmstudio_app.commands import explain_tasks as tasks
from lmstudio_app.commands._common import add_model_arguments, print_json, stderr_progress

NAME = "explain"
HELP = (
    "token and word attributions for a classifier's class, a masked-LM's candidate, an LM's next token, "
    "a word tagger's tag or a QA model's answer"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_model_arguments(
        parser,
        None,
        "classifier, masked-LM, causal-LM, encoder-decoder, word tagger or question-answering model",
    )
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
    parser.add_argument(
        "--target",
        metavar="TOKEN",
        help="causal LM or encoder-decoder: explain this next token (default: the predicted one)",
    )
    parser.add_argument(
        "--versus", metavar="WORD", help="why --candidate (or the next token) rather than this word or token"
    )
    tasks.add_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "text",
        nargs="?",
        help="the text (with one [MASK] for --candidate; a prompt or an encoder-decoder's source; a "
        "tagger's sentence); a question-answering model takes --question and --context instead",
    )


def _check_target_arguments(args: argparse.Namespace, loaded: object) -> bool:
    """Whether the model predicts the next token; the arguments that do not fit it are one line."""
    from lmstudio_app.core.errors import UserError
    from lmstudio_app.core.models.family import adapter_for

    next_token = adapter_for(loaded.model, loaded.tokenizer).can_generate  # type: ignore[attr-defined]
    name = loaded.name  # type: ignore[attr-defined]
    if next_token and (args.candidate or args.label):
        option = "--candidate" if args.candidate else "--label"
        raise UserError(f"{name} predicts the next token: name it with --target TOKEN, not {option}.")
    if not next_token and args.target:
        raise UserError(
            f"{name} does not predict a next token: --target is for causal LMs and encoder-decoders "
            "(for a masked-LM use --candidate WORD and a text with one [MASK])."
        )
    if not next_token and args.versus and not args.candidate:
        raise UserError("--versus needs --candidate WORD (why the candidate rather than the other word).")
    return next_token


def run(args: argparse.Namespace) -> int:
    import sys

    from lmstudio_app.commands._common import load_model_from_args
    from lmstudio_app.core.errors import UserError
    from lmstudio_app.core.explain.attribution import ExplainOptions, explain
    from lmstudio_app.core.explain.methods import METHOD_NAMES

    if not args.model:
        raise UserError("Give the model to explain: -m FOLDER, hub id or embedded name.")
    if args.text is not None and not args.text.strip():
        raise UserError("Type a text to explain.")
    loaded = load_model_from_args(args)
    kind = tasks.kind_of(loaded)
    tasks.check_fit(args, kind, loaded.name)
    next_token = kind == tasks.OTHER and _check_target_arguments(args, loaded)
    options = ExplainOptions(
        method=args.method,
        steps=args.steps,
        baseline=args.baseline,
        internal_batch_size=args.internal_batch_size,
        label=args.tag if kind == tasks.TAGGER else args.label,
        candidate=args.target if next_token else args.candidate,
        versus=args.versus,
    )
    if kind == tasks.OTHER:
        result = explain(loaded, args.text, options, state=stderr_progress())
    else:
        result = tasks.explain_task(args, loaded, kind, options)
    warning = result.delta_warning()
    if warning:
        print(f"warning: {warning}", file=sys.stderr)
    if args.json:
        print_json(result.to_json())
        return 0
    if kind == tasks.OTHER:
        what = "next token " if next_token else ""
        print(f"{loaded.name}: predicted {what}{result.predicted_label} ({result.predicted_score:.3f})")
    else:
        tasks.print_heading(result, loaded.name)
    at = f" at the {result.layer}" if result.layer else ""
    print(
        f"{METHOD_NAMES[result.method]} for {result.target!r}{at} ({result.quantity} = {result.output:+.4f})"
    )
    if result.delta is not None:
        print(f"convergence delta {result.delta:+.3g} over {result.steps} steps")
    tasks.print_words(result)
    return 0
