"""`lmstudio-app fill-mask`: predict the masked words of a sentence (independent or joint), as text or JSON."""

from __future__ import annotations

import argparse

from lmstudio_app.commands._common import add_model_arguments, print_json, whole_number

NAME = "fill-mask"
HELP = "predict the [MASK] words of a sentence"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from lmstudio_app.core.fillmask.predict import MAX_TOP_K
    from lmstudio_app.core.models.sources import DEFAULT_MASKED_LM

    add_model_arguments(parser, DEFAULT_MASKED_LM, "masked-LM model")
    parser.add_argument(
        "-k", "--top-k", type=whole_number(1, MAX_TOP_K), default=5, help="candidates per mask (default: 5)"
    )
    parser.add_argument(
        "--mode",
        choices=["independent", "joint"],
        default="independent",
        help="independent: each mask alone; joint: also the best complete sentences (default: independent)",
    )
    parser.add_argument("--whole-words", action="store_true", help="hide word pieces such as ##ing")
    parser.add_argument(
        "--target",
        action="append",
        default=[],
        metavar="WORD",
        help="score this word at each mask (repeatable)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "text", help="the sentence, with [MASK] (or <mask>) where words are missing; [MASK]x2 = two pieces"
    )


def _check_default_model(spec: str) -> None:
    """The embedded masked-LM may not ship yet: say what to use instead of a 'folder not found'."""
    from lmstudio_app.core.errors import UserError
    from lmstudio_app.core.models.sources import DEFAULT_MASKED_LM, cached_models, find_embedded

    if spec.strip().lower() != DEFAULT_MASKED_LM or find_embedded(DEFAULT_MASKED_LM) is not None:
        return
    cached = [m.repo_id for m in cached_models() if _is_masked_lm(m.path)]
    instead = f"one from your Hugging Face cache ({', '.join(cached[:3])})" if cached else "bert-base-uncased"
    raise UserError(
        f"The embedded {DEFAULT_MASKED_LM} model is not installed in this build; pass -m with a masked-LM "
        f"model instead: {instead}, or a local folder."
    )


def _is_masked_lm(path: object) -> bool:
    from lmstudio_app.core.errors import UserError
    from lmstudio_app.core.models.registry import HEAD_MLM, detect_heads

    try:
        return HEAD_MLM in detect_heads(path)[1]  # type: ignore[arg-type]
    except (OSError, ValueError, UserError):  # a damaged cached model is simply not offered
        return False


def _load(args: argparse.Namespace) -> tuple[object, object, str]:
    """(model, tokenizer, name): an optimized folder (`optimize -o DIR`) runs with ONNX Runtime."""
    from pathlib import Path

    from lmstudio_app.commands._common import load_model_from_args
    from lmstudio_app.core.errors import UserError
    from lmstudio_app.core.models.onnx_runtime import is_onnx_folder, load_masked_lm

    if is_onnx_folder(args.model):
        if args.device != "cpu":
            raise UserError(
                f"{args.model} is an optimized ONNX model: it runs on the CPU; leave out --device."
            )
        model, tokenizer = load_masked_lm(Path(args.model))
        return model, tokenizer, Path(args.model).name
    loaded = load_model_from_args(args)
    return loaded.model, loaded.tokenizer, loaded.name


def run(args: argparse.Namespace) -> int:
    from lmstudio_app.core.fillmask.predict import fill_mask
    from lmstudio_app.core.fillmask.text import require_masks

    require_masks(args.text)  # before loading anything: empty text or no mask is exit 2 at once
    _check_default_model(args.model)
    model, tokenizer, name = _load(args)
    result = fill_mask(
        model,
        tokenizer,
        args.text,
        top_k=args.top_k,
        mode=args.mode,
        whole_words=args.whole_words,
        targets=args.target,
        name=name,
    )
    if args.json:
        print_json(result.to_json(name))
        return 0
    for mask in result.masks:
        print(f"mask {mask.index + 1}:")
        for c in mask.candidates:
            print(f"  {c.token:<20} {c.score:8.4f}")
    if result.sentences:
        print("best sentences (joint probability):")
        for s in result.sentences:
            print(f"  {s.score:.3g}  {s.text}")
    for t in result.targets:
        shown = t.note if t.score is None else f"{t.score:.4g} (rank {t.rank})"
        print(f"target {t.word!r} at mask {t.mask + 1} [{' '.join(t.pieces)}]: {shown}")
    return 0
