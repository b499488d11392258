"""`lmstudio-app explain` on a word tagger (--word, --tag) and a QA model (--question, --context, --end):
JSON as a real process, the text output, and the one-line refusals of options that do not fit the model."""

from __future__ import annotations

import json

import pytest
from explain_tasks_helpers import trained_qa, trained_tagger
from processes import cli_env, run_cli

from lmstudio_app.cli import main

SENTENCE = "the dog sat in house and the cat"


@pytest.fixture(scope="module")
def folders(tmp_path_factory, tiny_model) -> dict:
    base = tiny_model("encoder")
    return {
        "tagger": str(trained_tagger(tmp_path_factory, base)),
        "qa": str(trained_qa(tmp_path_factory, base)),
        "classifier": str(tiny_model("classifier")),
        "env": cli_env(tmp_path_factory.mktemp("cli_home")),
    }


def test_a_taggers_word_as_json_from_a_real_process(folders):
    done = run_cli(
        "explain", "-m", folders["tagger"], "--word", "house", "--json", SENTENCE, env=folders["env"]
    )
    assert done.returncode == 0, done.stderr[-2000:]
    data = json.loads(done.stdout)
    assert set(data) >= {
        "model",
        "predicted",
        "label",
        "kind",
        "method",
        "tokens",
        "words",
        "delta",
        "output",
    }
    assert (data["kind"], data["label"], data["method"]) == ("tag", "B-LOC", "ig")
    assert data["predicted"]["label"] == "B-LOC" and data["word"] == {
        "number": 5,
        "text": "house",
        "start": 15,
        "end": 20,
    }
    assert [w["word"] for w in data["words"]] == SENTENCE.split()
    assert max(data["words"], key=lambda w: w["score"])["word"] == "in"
    total = sum(t["score"] for t in data["tokens"])
    assert abs(total - (data["output"] - data["baseline_output"])) <= abs(data["delta"]) + 1e-5
    assert [t["tag"] for t in data["tags"]] == ["O", "O", "O", "O", "B-LOC", "O", "O", "O"]


def test_a_qa_answer_as_json_from_a_real_process(folders):
    context = "on the road the man drank tea sat in London day"
    done = run_cli(
        "explain", "-m", folders["qa"], "--question", "the city", "--context", context, "--end",
        "--method", "gradxinput", "--json", env=folders["env"],
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    data = json.loads(done.stdout)
    answer = data["answer"]
    assert answer["text"] == context[answer["start"] : answer["end"]] == "London"
    assert data["kind"] == "answer-end" and data["label"] == "London" and data["method"] == "gradxinput"
    assert [w["word"] for w in data["words"] if w["part"] == "question"] == ["the", "city"]
    assert [w["word"] for w in data["words"] if w["part"] == "context"] == context.split()


def test_text_output_names_the_tag_and_the_words(folders, capsys):
    assert main(["explain", "-m", folders["tagger"], "--word", "5", "--method", "rollout", SENTENCE]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "model: word 5 (house) is tagged B-LOC (" + lines[0].split("(")[-1]
    assert lines[1].startswith("Attention rollout for 'B-LOC' (logit of B-LOC at word 5 (house) = ")
    assert [line.split()[-1] for line in lines[2:]] == SENTENCE.split()


def test_qa_text_output_puts_the_question_apart(folders, capsys):
    args = [
        "explain",
        "-m",
        folders["qa"],
        "--question",
        "the drink",
        "--context",
        "the man drank tea in Paris",
    ]
    assert main([*args, "--steps", "8"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("model: answer 'tea' (") and lines[0].endswith(
        "characters 14-17 of the context"
    )
    assert lines[3:6] == ["question:", lines[4], lines[5]] and lines[6] == "context:"
    assert [line.split()[-1] for line in lines[7:]] == "the man drank tea in Paris".split()


@pytest.mark.parametrize(
    ("model", "args", "message"),
    [
        (
            "classifier",
            ["--word", "1", "the cat"],
            "is not a word tagger or a QA model: --word and --tag go with",
        ),
        (
            "tagger",
            ["--label", "O", "--word", "1", "the cat"],
            "is a word tagger: --label goes with a classifier",
        ),
        (
            "tagger",
            ["--question", "q", "the cat"],
            "is a word tagger: --question goes with a question-answering",
        ),
        ("tagger", ["the cat"], "name the word whose tag to explain with --word N or --word WORD"),
        ("tagger", ["--word", "9", "the cat"], "Word 9 is out of range: the sentence has 2 words"),
        (
            "tagger",
            ["--word", "1", "--tag", "LOC", "the cat"],
            "Unknown tag 'LOC': this model's tags are O, B-LOC",
        ),
        ("qa", ["--word", "1", "--question", "q", "--context", "c"], "is a question-answering model: --word"),
        ("qa", ["--question", "the city"], "give --question Q and --context C (no other text)"),
        ("qa", ["--question", "q", "--context", "c", "text"], "give --question Q and --context C"),
        ("classifier", ["--end", "the cat"], "--end goes with a question-answering model"),
    ],
)
def test_options_that_do_not_fit_the_model_are_one_line(folders, capsys, model, args, message):
    assert main(["explain", "-m", folders[model], *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert message in err[-1] and err[-1].startswith("lmstudio-app: error: ")
