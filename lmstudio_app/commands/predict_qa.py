"""`lmstudio-app predict -m QA_MODEL --question Q --context C [--json]` or `--data FILE -o OUT.jsonl`.

Part of the `predict` subcommand: taken when a question, a context or --data is given, or the model folder
is a question-answering model.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lmstudio_app.core.qa.spans import Span


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--question", help="a question-answering model: the question to answer from --context"
    )
    parser.add_argument("--context", help="the passage the answer to --question is taken from")
    parser.add_argument(
        "--data", help="a question-answering model: answer every question of this SQuAD JSON/JSONL or table"
    )


def wanted(args: argparse.Namespace) -> bool:
    from lmstudio_app.core.qa.predict import is_qa_model

    return args.question is not None or args.context is not None or bool(args.data) or is_qa_model(args.model)


def _span(span: Span) -> dict:
    return {"answer": span.text, "start": span.start, "end": span.end, "score": span.score}


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from lmstudio_app.commands._common import print_json, stderr_progress
    from lmstudio_app.core.errors import UserError
    from lmstudio_app.core.outputs import check_output_file
    from lmstudio_app.core.qa.predict import answer_question, load_qa_model, predict_file

    model = Path(args.model)
    if args.csv or args.texts:
        raise UserError(
            "A question needs --question Q --context C (or --data FILE -o OUT.jsonl), not texts or --csv."
        )
    if args.data:
        if args.question is not None or args.context is not None:
            raise UserError("Give either --question and --context, or --data, not both.")
        if not args.output:
            raise UserError("--data needs -o OUT.jsonl (one answer a line).")
        out = check_output_file(args.output, (".jsonl",))  # before any work
        done = predict_file(model, Path(args.data), out, device=args.device, state=stderr_progress())
        for problem in done.problems:
            print(f"note: {Path(args.data).name}: {problem}", file=sys.stderr)
        scored = ""
        if done.metrics:
            scored = f"; exact match {done.metrics['exact_match']:.4f}, F1 {done.metrics['f1']:.4f}"
        print(f"{done.rows} answers written to {out}{scored}")
        return 0
    if args.question is None or args.context is None:
        load_qa_model(model, args.device)  # another task's folder is named as such first
        raise UserError(
            f"{model} answers questions: give --question Q --context C, or --data FILE -o OUT.jsonl."
        )
    if args.output:
        raise UserError("-o goes with --data; one answer is printed (--json for JSON).")
    decoded = answer_question(model, args.question, args.context, device=args.device)
    if args.json:
        print_json(
            {
                **_span(decoded.best),
                "no_answer": decoded.no_answer,
                "alternatives": [_span(s) for s in decoded.alternatives],
            }
        )
        return 0
    print("(no answer)" if decoded.no_answer else decoded.best.text, f"\t{decoded.best.score:.3f}", sep="")
    for span in decoded.alternatives:
        print(f"  {span.text}\t{span.score:.3f}")
    return 0
