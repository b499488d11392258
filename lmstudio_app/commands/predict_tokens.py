"""`lmstudio-app predict -m TAGGER --conll FILE -o OUT` or `predict -m TAGGER [--json] TEXT...`.

Part of the `predict` subcommand: taken when --conll is given or the model folder is a word tagger.
"""

from __future__ import annotations

import argparse
import sys


def wanted(args: argparse.Namespace) -> bool:
    from lmstudio_app.core.tokens.predict import is_token_model

    return bool(args.conll) or is_token_model(args.model)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from lmstudio_app.commands._common import print_json, stderr_progress
    from lmstudio_app.core.errors import UserError
    from lmstudio_app.core.outputs import check_output_file
    from lmstudio_app.core.tokens.predict import load_tagger, predict_conll, tag_text

    model = Path(args.model)
    if args.csv:
        raise UserError(
            f"{model} is a word tagger (a tag per word), not a text classifier: give --conll FILE -o OUT "
            "or texts instead of --csv."
        )
    if args.conll:
        if args.texts:
            raise UserError("Give either texts or --conll, not both.")
        if not args.output:
            raise UserError("--conll needs -o OUT (one token and its tag per line).")
        out = check_output_file(args.output)
        sentences, words = predict_conll(
            model, Path(args.conll), out, device=args.device, state=stderr_progress()
        )
        print(f"{words} tokens in {sentences} sentences tagged into {out}")
        return 0
    if not args.texts:
        raise UserError("Nothing to tag: give one or more texts, or --conll FILE -o OUT.")
    if args.output:
        raise UserError("-o goes with --conll; tagged texts are printed (--json for JSON).")
    load_tagger(model, args.device)
    tagged = [tag_text(model, text, args.device) for text in args.texts]
    if args.json:
        rows = [t.to_dict() for t in tagged]
        print_json(rows[0] if len(rows) == 1 else rows)
        return 0
    for i, t in enumerate(tagged):
        if i:
            print(file=sys.stdout)
        for token in t.tokens:
            print(f"{token['word']}\t{token['tag']}\t{token['score']:.3f}")
    return 0
