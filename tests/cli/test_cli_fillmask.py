"""`lmstudio-app fill-mask`: JSON shape, joint sentences, plain text, and one-line errors with exit code 2."""

from __future__ import annotations

import json

import pytest

from lmstudio_app.cli import main
from lmstudio_app.core.models.sources import DEFAULT_MASKED_LM, find_embedded


def _json(capsys, *args: str) -> dict:
    assert main(["fill-mask", *args]) == 0
    return json.loads(capsys.readouterr().out)


def test_json_has_one_entry_per_mask_with_sorted_probabilities(capsys, tiny_model) -> None:
    data = _json(capsys, "-m", str(tiny_model("mlm")), "-k", "3", "--json", "The [MASK] sat on the [MASK].")
    assert set(data) == {"model", "masks"} and data["model"] == tiny_model("mlm").name
    assert [m["index"] for m in data["masks"]] == [0, 1]
    for mask in data["masks"]:
        scores = [p["score"] for p in mask["predictions"]]
        assert len(scores) == 3 and scores == sorted(scores, reverse=True)
        assert all(0.0 <= s <= 1.0 for s in scores)
        assert all(isinstance(p["token"], str) and p["token"] for p in mask["predictions"])


def test_joint_mode_adds_sentences(capsys, tiny_model) -> None:
    data = _json(
        capsys,
        "-m",
        str(tiny_model("pretraining")),
        "--mode",
        "joint",
        "--json",
        "the [MASK] sat on the <mask>.",
    )
    sentences = data["sentences"]
    assert sentences and all("[MASK]" not in s["text"] and "<mask>" not in s["text"] for s in sentences)
    assert [s["score"] for s in sentences] == sorted((s["score"] for s in sentences), reverse=True)


def test_plain_text_output_with_targets(capsys, tiny_model) -> None:
    assert (
        main(["fill-mask", "-m", str(tiny_model("mlm")), "--target", "dogs", "the cat sat on the [MASK]."])
        == 0
    )
    out = capsys.readouterr().out
    assert out.startswith("mask 1:") and "target 'dogs' at mask 1 [dog ##s]" in out


@pytest.mark.parametrize(("text", "message"), [("", "empty"), ("no mask here", "No mask")])
def test_bad_text_is_exit_2_with_one_line(capsys, text: str, message: str) -> None:
    assert main(["fill-mask", text]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lmstudio-app: error:") and message in err and err.count("\n") == 1


def test_model_without_masked_lm_head_is_exit_2(capsys, tiny_model) -> None:
    assert main(["fill-mask", "-m", str(tiny_model("encoder")), "the [MASK]."]) == 2
    assert "has no masked-LM head" in capsys.readouterr().err


def test_default_model_or_a_clear_pointer_to_others(capsys) -> None:
    code = main(["fill-mask", "--json", "the cat sat on the [MASK]."])
    captured = capsys.readouterr()
    if find_embedded(DEFAULT_MASKED_LM) is None:
        assert code == 2 and captured.err.count("\n") == 1
        assert f"{DEFAULT_MASKED_LM} model is not installed" in captured.err and "-m" in captured.err
    else:
        assert code == 0 and json.loads(captured.out)["model"] == DEFAULT_MASKED_LM
