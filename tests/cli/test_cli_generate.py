"""`lmstudio-app generate` as real processes: JSON against transformers' generate, streaming, exit code 2.

The tiny random decoders make each process cost little more than its imports; the decoding itself is
checked step by step in tests/core/test_generate.py.
"""

from __future__ import annotations

import json

import pytest
import torch
import transformers as T
from processes import cli_env, run_cli

from lmstudio_app import APP_NAME
from lmstudio_app.cli import main
from lmstudio_app.core.models.sources import DEFAULT_CAUSAL_LM


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return cli_env(tmp_path_factory.mktemp("cli_home"))


def _greedy(folder, text: str, n: int) -> list[int]:
    model = T.AutoModelForCausalLM.from_pretrained(folder).eval()
    tokenizer = T.AutoTokenizer.from_pretrained(folder)
    ids = torch.tensor([[tokenizer.bos_token_id, *tokenizer(text, add_special_tokens=False)["input_ids"]]])
    return model.generate(ids, attention_mask=torch.ones_like(ids), do_sample=False, max_new_tokens=n)[
        0, ids.shape[1] :
    ].tolist()


def test_generate_json_is_transformers_greedy(env, tiny_decoder) -> None:
    folder = tiny_decoder("gpt2")
    result = run_cli("generate", "-m", folder, "--max-new-tokens", "7", "--json", "the cat sat", env=env)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) == {"model", "prompt", "text", "tokens"} and data["prompt"] == "the cat sat"
    assert [t["id"] for t in data["tokens"]] == _greedy(folder, "the cat sat", 7)
    for token in data["tokens"]:
        assert set(token) == {"id", "token", "prob", "raw_prob", "top"}
        assert token["prob"] == pytest.approx(token["raw_prob"])  # greedy: no processor changes the scores
        assert token["top"][0]["id"] == token["id"]  # greedy picks the most probable token
    assert "Loaded" in result.stderr


def test_plain_output_streams_the_text_after_the_prompt(env, tiny_decoder) -> None:
    folder = tiny_decoder("bart")
    args = ("generate", "-m", folder, "--strategy", "beam", "--num-beams", "2", "--max-new-tokens", "4")
    plain = run_cli(*args, "--prefix", "the", "the dog ran", env=env)
    data = json.loads(run_cli(*args, "--prefix", "the", "--json", "the dog ran", env=env).stdout)
    assert plain.returncode == 0, plain.stderr
    assert plain.stdout == "the" + data["text"] + "\n"
    assert (data["prompt"], data["prefix"], len(data["tokens"])) == ("the dog ran", "the", 4)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-m", "MLM", "the cat"], "is a masked LM, so it cannot predict the next token"),
        (
            ["-m", "GPT2", "--strategy", "sample", "--temperature", "0", "the cat"],
            "Temperature must be above 0",
        ),
        (["-m", "GPT2", "--max-new-tokens", "-3", "the cat"], "-3 is out of range"),
        (["-m", "GPT2", "--min-new-tokens", "9", "--max-new-tokens", "5", "the cat"], "min new tokens (9)"),
        (["-m", "GPT2", "the cat " * 40], "this model reads at most 64"),
        (["-m", "GPT2", "--prefix", "a", "the cat"], "--prefix is for encoder-decoders"),
        (["-m", "GPT2", "--chat", "the cat"], "has no chat template"),
    ],
)
def test_bad_input_is_exit_2_with_one_line(
    capsys, tiny_model, tiny_decoder, args: list[str], message: str
) -> None:
    swap = {"MLM": str(tiny_model("mlm")), "GPT2": str(tiny_decoder("gpt2"))}
    try:
        code = main(["generate", *(swap.get(a, a) for a in args)])
    except SystemExit as exc:  # argparse's own refusals (a negative length) exit from inside it
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith(f"{APP_NAME}: error:") and message in err


def test_without_the_embedded_causal_lm_the_default_says_to_pass_m(capsys, monkeypatch, tmp_path) -> None:
    """An install without resources/models/minilm-clm (e.g. a trimmed bundle): one line, exit 2."""
    from lmstudio_app.core.models import sources

    (tmp_path / "models").mkdir()
    monkeypatch.setattr(sources, "resources_dir", lambda: tmp_path)
    assert sources.find_embedded(DEFAULT_CAUSAL_LM) is None
    assert main(["generate", "the cat"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "minilm-clm is not installed: pass -m MODEL" in err[0]
