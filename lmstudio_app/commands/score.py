"""`lmstudio-app score`: how probable each sentence is (pll, pll-word or chain), or minimal pairs' accuracy."""

from __future__ import annotations

import argparse
from pathlib import Path

from lmstudio_app.commands._common import add_model_arguments, print_json, whole_number

NAME = "score"
HELP = "score sentences by their (pseudo-)log-likelihood, or a list of minimal pairs"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from lmstudio_app.core.models.sources import DEFAULT_MASKED_LM
    from lmstudio_app.core.score.sentences import MAX_TOP_K, METHODS

    add_model_arguments(parser, DEFAULT_MASKED_LM, "masked-LM, causal-LM or encoder-decoder model")
    parser.add_argument(
        "--method",
        choices=METHODS,
        help="pll: mask each token in turn; pll-word: also the later pieces of its word; chain: causal "
        "LMs; conditional: encoder-decoders, log P(sentence | source) (default: the model's family's)",
    )
    parser.add_argument(
        "--source",
        default="",
        help="encoder-decoders: the text the encoder reads; each sentence is scored as its target",
    )
    parser.add_argument(
        "-k",
        "--top-k",
        type=whole_number(0, MAX_TOP_K),
        default=5,
        help="alternatives per token (default: 5)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--file", type=Path, help="a UTF-8 text file, one sentence per line")
    source.add_argument(
        "--pairs", type=Path, metavar="FILE.tsv", help="minimal pairs: acceptable<TAB>unacceptable per line"
    )
    source.add_argument(
        "--example-pairs", action="store_true", help="the shipped list of minimal pairs (our own writing)"
    )
    parser.add_argument("sentences", nargs="*", metavar="SENTENCE", help="sentences to score")


def _sentences(args: argparse.Namespace) -> list[str]:
    from lmstudio_app.core.errors import UserError
    from lmstudio_app.core.score.sentences import check_texts

    if args.sentences and args.file:
        raise UserError("Give sentences or --file, not both.")
    if args.file is None:
        texts = list(args.sentences)
    else:
        try:
            texts = [line.strip() for line in args.file.read_text(encoding="utf-8-sig").splitlines()]
        except UnicodeDecodeError:
            raise UserError(
                f"{args.file} is not UTF-8 text: save it as UTF-8, one sentence per line."
            ) from None
        texts = [t for t in texts if t]
    check_texts(texts)
    return texts


def run(args: argparse.Namespace) -> int:
    from lmstudio_app.commands._common import load_model_from_args, stderr_progress
    from lmstudio_app.core.errors import UserError
    from lmstudio_app.core.score.pairs import example_pairs_path, read_pairs, score_pairs
    from lmstudio_app.core.score.sentences import score_sentences

    pairs_file = example_pairs_path() if args.example_pairs else args.pairs
    if pairs_file is not None:  # input checks first: bad input is exit 2 before a model loads
        if args.sentences:
            raise UserError("Give sentences or a pairs file, not both.")
        pairs = read_pairs(pairs_file)
    else:
        texts = _sentences(args)
    loaded = load_model_from_args(args)
    if pairs_file is not None:
        result = score_pairs(
            loaded.model, loaded.tokenizer, pairs, args.method, source=args.source, state=stderr_progress()
        )
        if args.json:
            print_json({"model": loaded.name, "method": result.method, **result.to_json()})
            return 0
        print(
            f"{result.preferred_first} of {result.pairs} pairs scored the acceptable sentence higher "
            f"({100 * result.accuracy:.1f} %, {result.method})"
        )
        for row in result.wrong():
            print(f"  {row.margin:8.2f}  {row.acceptable}  |  {row.unacceptable}")
        return 0
    scores = score_sentences(
        loaded.model,
        loaded.tokenizer,
        texts,
        args.method,
        top_k=args.top_k,
        source=args.source,
        state=stderr_progress(),
    )
    if args.json:
        method = scores[0].method
        print_json({"model": loaded.name, "method": method, "sentences": [s.to_json() for s in scores]})
        return 0
    for s in scores:
        print(
            f"{s.text}\n  log-prob {s.log_prob:.4f}  mean {s.mean_log_prob:.4f}  "
            f"{'pseudo-' if s.method.startswith('pll') else ''}perplexity {s.perplexity:.2f}  ({s.method})"
        )
        print(f"  {'token':<16} {'log-prob':>9} {'bits':>7} {'rank':>6}  top")
        for t in s.tokens:
            top = ", ".join(f"{w} {p:.3f}" for w, p in t.top)
            print(f"  {t.token:<16} {t.log_prob:9.4f} {t.surprisal_bits:7.2f} {t.rank:6d}  {top}")
    return 0
