"""`lmstudio-app generate`: continue a prompt with a causal LM (or answer a source with an encoder-decoder),
streamed to stdout, or as JSON with every token's probabilities."""

from __future__ import annotations

import argparse
import sys

from lmstudio_app.commands._common import MAX_SEED, add_model_arguments, print_json, real_number, whole_number

NAME = "generate"
HELP = "generate text with a causal LM or an encoder-decoder (greedy, sampling or beam search)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from lmstudio_app.core.generate.settings import STRATEGIES

    add_model_arguments(parser, None, "causal LM or encoder-decoder (default: the embedded minilm-clm)")
    parser.add_argument("--strategy", choices=STRATEGIES, default="greedy", help="default: greedy")
    parser.add_argument("--max-new-tokens", type=whole_number(0), default=40, help="default: 40")
    parser.add_argument("--min-new-tokens", type=whole_number(0), default=0, help="default: 0")
    parser.add_argument("--temperature", type=real_number(0), default=1.0, help="sampling only (default: 1)")
    parser.add_argument(
        "--top-k", type=whole_number(0), default=50, help="sampling only, 0 = off (default: 50)"
    )
    parser.add_argument(
        "--top-p", type=real_number(0, 1, low_open=True), default=1.0, help="sampling only (default: 1 = off)"
    )
    parser.add_argument("--num-beams", type=whole_number(2), default=4, help="beam search only (default: 4)")
    parser.add_argument(
        "--repetition-penalty", type=real_number(0, low_open=True), default=1.0, help="default: 1 (none)"
    )
    parser.add_argument("--seed", type=whole_number(0, MAX_SEED), help="makes sampling repeatable")
    parser.add_argument(
        "--chat", action="store_true", help="wrap the prompt in the tokenizer's chat template"
    )
    parser.add_argument("--prefix", help="encoder-decoders: the start of the output (PROMPT is the source)")
    parser.add_argument("--json", action="store_true", help="print one JSON object with every token")
    parser.add_argument(
        "prompt", metavar="PROMPT", help="the text to continue (encoder-decoders: the source)"
    )


def _default_model() -> str:
    from lmstudio_app.core.errors import UserError
    from lmstudio_app.core.models.sources import DEFAULT_CAUSAL_LM, find_embedded

    if find_embedded(DEFAULT_CAUSAL_LM) is None:
        raise UserError(
            f"The embedded causal LM {DEFAULT_CAUSAL_LM} is not installed: pass -m MODEL (a causal LM or "
            "encoder-decoder folder, hub id or embedded name)."
        )
    return DEFAULT_CAUSAL_LM


def run(args: argparse.Namespace) -> int:
    from lmstudio_app.commands._common import load_model_from_args
    from lmstudio_app.core.errors import UserError
    from lmstudio_app.core.generate.settings import GenerateSettings
    from lmstudio_app.core.generate.stream import generate
    from lmstudio_app.core.models.family import SEQ2SEQ

    settings = GenerateSettings(
        strategy=args.strategy,
        max_new_tokens=args.max_new_tokens,
        min_new_tokens=args.min_new_tokens,
        temperature=args.temperature,
        top_k=args.top_k,
        top_p=args.top_p,
        num_beams=args.num_beams,
        repetition_penalty=args.repetition_penalty,
        seed=args.seed,
        chat=args.chat,
    )
    settings.validate()  # bad settings are exit 2 before a model loads
    if not args.prompt.strip():
        raise UserError("The prompt is empty: give the text to continue.")
    args.model = args.model or _default_model()
    loaded = load_model_from_args(args)
    seq2seq = loaded.family == SEQ2SEQ
    if args.prefix is not None and not seq2seq:
        raise UserError("--prefix is for encoder-decoders; for a causal LM, put it in the prompt.")
    prompt, source = (args.prefix or "", args.prompt) if seq2seq else (args.prompt, None)

    def show(token) -> None:
        sys.stdout.write(token.text)
        sys.stdout.flush()

    if not args.json:
        sys.stdout.write(prompt)
    result = generate(
        loaded.model, loaded.tokenizer, prompt, settings, source=source, on_token=None if args.json else show
    )
    if not args.json:
        sys.stdout.write("\n")
        return 0
    data = result.to_json(loaded.name)
    if seq2seq:
        data["prompt"] = args.prompt
        data["prefix"] = prompt
    print_json(data)
    return 0
