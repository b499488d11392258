"""`lmstudio-app explain -m TAGGER TEXT --word N|WORD [--tag T]` and `explain -m QA_MODEL --question Q
--context C [--end]`.

Part of the `explain` subcommand: taken when the loaded model is a word tagger or an extractive-QA model.
The options of the other kinds are refused in one line, and theirs on the other kinds.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

TAGGER, QA, OTHER = "tagger", "qa", "other"
_OPTIONS = {  # the options that belong to one kind of model only, as the user typed them
    "word": "--word",
    "tag": "--tag",
    "question": "--question",
    "context": "--context",
    "end": "--end",
    "label": "--label",
    "candidate": "--candidate",
    "target": "--target",
    "versus": "--versus",
}
_FITS = {
    TAGGER: {"word", "tag"},
    QA: {"question", "context", "end"},
    OTHER: {"label", "candidate", "target", "versus"},
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--word",
        help="a word tagger: the word whose tag is explained, by number (1 = the first) or as written",
    )
    parser.add_argument("--tag", help="a word tagger: the tag to explain (default: the predicted one)")
    parser.add_argument("--question", help="a question-answering model: the question")
    parser.add_argument("--context", help="a question-answering model: the passage the answer is taken from")
    parser.add_argument(
        "--end",
        action="store_true",
        help="a question-answering model: explain the answer's end, not its start",
    )


def kind_of(loaded: Any) -> str:
    from lmstudio_app.core.models.registry import HEAD_QA, HEAD_TOKENS

    if loaded.has_head(HEAD_TOKENS):
        return TAGGER
    return QA if loaded.has_head(HEAD_QA) else OTHER


def check_fit(args: argparse.Namespace, kind: str, name: str) -> None:
    """The first option given that does not fit the model's kind is one line; so is a missing one."""
    from lmstudio_app.core.errors import UserError

    what = {
        TAGGER: "a word tagger",
        QA: "a question-answering model",
        OTHER: "not a word tagger or a QA model",
    }
    for key, option in _OPTIONS.items():
        if getattr(args, key) and key not in _FITS[kind]:
            owner = next(k for k, keys in _FITS.items() if key in keys)
            usage = {
                TAGGER: "--word and --tag go with a word tagger",
                QA: f"{option} goes with a question-answering model",
                OTHER: f"{option} goes with a classifier, a masked-LM or a next-token model",
            }[owner]
            raise UserError(f"{name} is {what[kind]}: {usage}.")
    if kind == TAGGER and not args.word:
        raise UserError(
            f"{name} is a word tagger: name the word whose tag to explain with --word N or --word WORD."
        )
    if kind == QA and (not args.question or not args.context or args.text):
        raise UserError(
            f"{name} is a question-answering model: give --question Q and --context C (no other text)."
        )
    if kind != QA and not (args.text or "").strip():
        raise UserError("Type a text to explain.")


def explain_task(args: argparse.Namespace, loaded: Any, kind: str, options: Any) -> Any:
    """The tag or the answer explained, with progress on stderr."""
    from lmstudio_app.commands._common import stderr_progress

    if kind == TAGGER:
        from lmstudio_app.core.explain.tagger import explain_tag, find_word

        return explain_tag(
            loaded, args.text, find_word(args.text, args.word), options, state=stderr_progress()
        )
    from lmstudio_app.core.explain.answer import explain_answer

    return explain_answer(loaded, args.question, args.context, options, end=args.end, state=stderr_progress())


def print_heading(result: Any, name: str) -> None:
    """The prediction above the scores: the word's tag, or the answer with its characters."""
    if result.kind == "tag":
        word = result.details["word"]
        print(
            f"{name}: word {word['number']} ({word['text']}) is tagged {result.predicted_label} "
            f"({result.predicted_score:.3f})"
        )
        return
    answer = result.details["answer"]
    if answer["no_answer"]:
        print(f"{name}: no answer in the context ({answer['score']:.3f})")
    else:
        print(
            f"{name}: answer {answer['text']!r} ({answer['score']:.3f}), characters "
            f"{answer['start']}-{answer['end']} of the context"
        )


def print_words(result: Any) -> None:
    """One scored word a line; a QA model's question words and context words under their own heading."""
    for i, (word, score) in enumerate(zip(result.words.words, result.words.scores, strict=True)):
        if result.question_words and i in (0, result.question_words):
            print("question:" if i == 0 else "context:", file=sys.stdout)
        print(f"  {score:+9.4f}  {word}")
