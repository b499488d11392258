"""Shared by the word-tags and question-answering GUI tests: data a tiny BERT learns in seconds (the rules of
tests/tagging_helpers.py and of tests/core/test_qa_train.py), and the wizard's paths driven like a user."""

from __future__ import annotations

import json
import random
from pathlib import Path

from PySide6.QtCore import Qt
from tagging_helpers import rule_sentence
from wizard_helpers import click_next

NOUNS = "cat dog car house book cup door table chair bed".split()
COLOURS = "red blue green big small old new good bad happy sad".split()
FILLER = "the a on mat floor road city sun moon day night".split()


def write_rule_conll(
    path: Path, sentences: int = 200, seed: int = 0, long_at: int | None = None
) -> int | None:
    """A CoNLL file of the tagging rule (token TAB tag); with `long_at`, sentence number `long_at` has 150
    words. Returns the line that long sentence starts on."""
    rng = random.Random(seed)
    lines: list[str] = []
    long_line = None
    for i in range(sentences):
        words, tags = rule_sentence(rng, 150 if i == long_at else rng.randint(3, 9))
        if i == long_at:
            long_line = len(lines) + 1
        lines += [f"{w}\t{t}" for w, t in zip(words, tags, strict=True)]
        lines.append("")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return long_line


def qa_rows(n: int, seed: int, unanswerable: float = 0.2) -> list[dict]:
    """ "the X" asks what the X is: the answer is the word after "is"; without an "is", there is none
    (JSON Lines in the Hugging Face layout)."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        noun, colour = rng.choice(NOUNS), rng.choice(COLOURS)
        left = " ".join(rng.choices(FILLER, k=rng.randint(0, 6)))
        right = " ".join(rng.choices(FILLER, k=rng.randint(0, 6)))
        if rng.random() < unanswerable:
            context = f"{left} the {noun} {right}".strip()
            answers = {"text": [], "answer_start": []}
        else:
            head = f"{left} the {noun} is ".lstrip()
            context = f"{head}{colour} {right}".strip()
            answers = {"text": [colour], "answer_start": [len(head)]}
        rows.append({"id": f"q{seed}-{i}", "question": f"the {noun}", "context": context, "answers": answers})
    return rows


def write_qa_jsonl(path: Path, n: int = 400, seed: int = 0) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in qa_rows(n, seed)), encoding="utf-8")
    return path


def choose_task(qtbot, wizard, task: str) -> None:
    """Click the task's radio button on the first page shown, as a user does."""
    choice = wizard.choices[wizard.task]
    qtbot.mouseClick(choice.buttons[task], Qt.MouseButton.LeftButton)
    assert wizard.task == task and wizard.currentPage() is getattr(wizard, task).data_page


def to_settings(qtbot, wizard, path, data: Path) -> None:
    """Open `data` on the path's data page, then Split, then the Settings page."""
    path.data_page.open_file(data)
    qtbot.waitUntil(lambda: not path.data_page.loading, timeout=60_000)
    assert path.data_page.isComplete(), path.data_page.problems.toPlainText()
    click_next(qtbot, wizard)
    qtbot.waitUntil(path.split_page.isComplete, timeout=30_000)
    click_next(qtbot, wizard)
    assert wizard.currentPage() is path.settings_page


def quick(qtbot, page, model: Path, **values) -> None:
    """The settings page set for a seconds-long run on `model` (measured again with its tokenizer)."""
    page.model_combo.setCurrentText(str(model))
    page.model_combo.lineEdit().editingFinished.emit()  # as when the user leaves the box
    qtbot.waitUntil(lambda: not page.measuring, timeout=60_000)
    assert not page.error, page.message.text()
    for name, value in values.items():
        widget = getattr(page, name)
        if name == "lr":
            widget.setCurrentText(str(value))
        elif name == "precision":
            widget.setCurrentIndex(widget.findData(value))
        else:
            widget.setValue(value)
