"""Generation against transformers' own generate: the same tokens, the same scores, streaming and stop."""

from __future__ import annotations

import copy

import pytest
import torch
import transformers as T

from lmstudio_app.core.errors import UserError
from lmstudio_app.core.generate.next_token import next_token_distribution, prompt_inputs
from lmstudio_app.core.generate.settings import GenerateSettings
from lmstudio_app.core.generate.stream import generate
from lmstudio_app.core.models.family import adapter_for
from lmstudio_app.core.tasks import TaskState

SEQ2SEQ_KINDS = ("t5", "bart")


@pytest.fixture(scope="module")
def loaded(tiny_decoder):
    cache: dict[str, tuple] = {}

    def load(kind: str):
        if kind not in cache:
            folder = tiny_decoder(kind)
            auto = T.AutoModelForSeq2SeqLM if kind in SEQ2SEQ_KINDS else T.AutoModelForCausalLM
            cache[kind] = (auto.from_pretrained(folder).eval(), T.AutoTokenizer.from_pretrained(folder))
        return cache[kind]

    return load


def _run(loaded, kind: str, settings: GenerateSettings, **kwargs):
    model, tokenizer = loaded(kind)
    source = "the dog ran to the house" if kind in SEQ2SEQ_KINDS else None
    return generate(model, tokenizer, "the cat", settings, source=source, **kwargs)


def _reference(loaded, kind: str, seed: int | None = None, **kwargs):
    """transformers' generate on the same inputs, called directly."""
    model, tokenizer = loaded(kind)
    adapter = adapter_for(model, tokenizer)
    inputs = adapter.encode("the cat", source="the dog ran to the house" if kind in SEQ2SEQ_KINDS else None)
    if seed is not None:
        torch.manual_seed(seed)
    out = model.generate(
        **inputs, output_scores=True, output_logits=True, return_dict_in_generate=True, **kwargs
    )
    start = inputs["decoder_input_ids" if kind in SEQ2SEQ_KINDS else "input_ids"].shape[1]
    return out, start


@pytest.mark.parametrize("kind", ["gpt2", "llama", "bert-clm", "t5", "bart"])
def test_greedy_is_transformers_generate_token_for_token(loaded, kind: str) -> None:
    ours = _run(loaded, kind, GenerateSettings(max_new_tokens=12))
    out, start = _reference(loaded, kind, do_sample=False, max_new_tokens=12)
    assert [t.id for t in ours.tokens] == out.sequences[0, start:].tolist()
    assert not ours.stopped and ours.text


@pytest.mark.parametrize("kind", ["gpt2", "t5"])
def test_probabilities_are_the_softmax_of_scores_and_of_raw_logits(loaded, kind: str) -> None:
    """With a repetition penalty and sampling warpers the two differ; each must match its own source."""
    settings = GenerateSettings(
        strategy="sample",
        max_new_tokens=10,
        temperature=0.7,
        top_k=20,
        top_p=0.9,
        repetition_penalty=1.5,
        seed=3,
    )
    ours = _run(loaded, kind, settings)
    out, start = _reference(
        loaded, kind, seed=3, do_sample=True, max_new_tokens=10, temperature=0.7, top_k=20, top_p=0.9,
        repetition_penalty=1.5,
    )  # fmt: skip
    assert [t.id for t in ours.tokens] == out.sequences[0, start:].tolist()
    for step, token in enumerate(ours.tokens):
        assert token.prob == pytest.approx(float(out.scores[step][0].softmax(-1)[token.id]), abs=1e-6)
        assert token.raw_prob == pytest.approx(float(out.logits[step][0].softmax(-1)[token.id]), abs=1e-6)
        assert token.top[0].prob >= token.prob and len(token.top) == 5
    assert any(abs(t.prob - t.raw_prob) > 1e-3 for t in ours.tokens)


def test_sampling_with_a_seed_repeats_and_other_seeds_differ(loaded) -> None:
    def sample(seed: int) -> list[int]:
        settings = GenerateSettings(strategy="sample", max_new_tokens=15, temperature=2.0, top_k=0, seed=seed)
        return [t.id for t in _run(loaded, "gpt2", settings).tokens]

    assert sample(1) == sample(1)
    assert len({tuple(sample(s)) for s in (1, 2, 3)}) == 3


@pytest.mark.parametrize("kind", ["gpt2", "bart"])
def test_beam_search_is_transformers_beam_search(loaded, kind: str) -> None:
    streamed: list[int] = []
    ours = _run(
        loaded, kind, GenerateSettings(strategy="beam", num_beams=3, max_new_tokens=8),
        on_token=lambda t: streamed.append(t.id),
    )  # fmt: skip
    out, start = _reference(loaded, kind, num_beams=3, do_sample=False, max_new_tokens=8)
    assert [t.id for t in ours.tokens] == out.sequences[0, start:].tolist() == streamed
    beams = out.beam_indices[0].tolist()
    for step, token in enumerate(ours.tokens):
        assert token.prob == pytest.approx(
            float(out.scores[step][beams[step]].softmax(-1)[token.id]), abs=1e-6
        )


def test_tokens_stream_in_order_and_spell_the_text(loaded) -> None:
    streamed = []
    ours = _run(loaded, "gpt2", GenerateSettings(max_new_tokens=10), on_token=streamed.append)
    assert streamed == ours.tokens
    assert "".join(t.text for t in streamed) == ours.text
    model, tokenizer = loaded("gpt2")
    assert ours.text == " " + tokenizer.decode([t.id for t in ours.tokens], skip_special_tokens=True)


def test_a_stop_request_ends_early_with_what_was_generated(loaded) -> None:
    state = TaskState()
    seen: list[int] = []

    def on_token(token) -> None:
        seen.append(token.id)
        if len(seen) == 3:
            state.request_stop()

    ours = _run(loaded, "llama", GenerateSettings(max_new_tokens=30), on_token=on_token, state=state)
    assert ours.stopped and [t.id for t in ours.tokens] == seen and len(seen) == 3
    full = _run(loaded, "llama", GenerateSettings(max_new_tokens=30))
    assert [t.id for t in full.tokens][:3] == seen and not full.stopped


def test_min_new_tokens_holds_back_the_end_token(loaded) -> None:
    """This tiny BERT decoder ends its greedy text with [SEP]-like </s> after 6 tokens; asking for at
    least 8 keeps the end token out until then, as transformers' own generate does."""
    eos = loaded("bert-clm")[0].generation_config.eos_token_id
    free = [t.id for t in _run(loaded, "bert-clm", GenerateSettings(max_new_tokens=12)).tokens]
    assert free[-1] == eos and len(free) < 8
    held = [
        t.id for t in _run(loaded, "bert-clm", GenerateSettings(max_new_tokens=12, min_new_tokens=8)).tokens
    ]
    out, start = _reference(loaded, "bert-clm", do_sample=False, max_new_tokens=12, min_new_tokens=8)
    assert held == out.sequences[0, start:].tolist() and len(held) >= 8 and eos not in held[:8]


def test_next_token_distribution_is_the_models_softmax(loaded) -> None:
    model, tokenizer = loaded("gpt2")
    top = next_token_distribution(model, tokenizer, "the cat sat", top_k=7)
    inputs = adapter_for(model, tokenizer).encode("the cat sat")
    with torch.no_grad():
        probs = model(**inputs).logits[0, -1].softmax(-1)
    values, ids = probs.topk(7)
    assert [c.id for c in top] == ids.tolist()
    assert [c.prob for c in top] == pytest.approx(values.tolist(), abs=1e-6)
    assert top[0].token == tokenizer.decode([top[0].id])


def test_chat_template_is_applied_when_asked(loaded) -> None:
    model, tokenizer = loaded("gpt2")
    adapter = adapter_for(model, tokenizer)
    with pytest.raises(UserError, match="has no chat template"):
        prompt_inputs(adapter, "the cat", chat=True)
    chat = copy.deepcopy(tokenizer)
    chat.chat_template = "{% for m in messages %}<s> {{ m['content'] }} </s>{% endfor %}{% if add_generation_prompt %} the{% endif %}"
    ids = prompt_inputs(adapter_for(model, chat), "cat sat", chat=True)["input_ids"][0].tolist()
    assert ids == chat("<s> cat sat </s> the", add_special_tokens=False)["input_ids"]


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (GenerateSettings(strategy="sample", temperature=0), "Temperature must be above 0"),
        (GenerateSettings(max_new_tokens=-1), "cannot be negative"),
        (GenerateSettings(min_new_tokens=-2), "cannot be negative"),
        (GenerateSettings(strategy="beam", num_beams=1), "at least 2 beams"),
        (GenerateSettings(max_new_tokens=62), "shorten the prompt or ask for fewer"),
        (GenerateSettings(max_new_tokens=100), "does not fit this model's context of 64"),
    ],
)
def test_bad_settings_are_one_line_user_errors(loaded, settings: GenerateSettings, message: str) -> None:
    with pytest.raises(UserError, match=message) as info:
        _run(loaded, "gpt2", settings)
    assert "\n" not in str(info.value)


def test_a_prompt_longer_than_the_context_is_refused(loaded) -> None:
    model, tokenizer = loaded("gpt2")
    with pytest.raises(UserError, match="The prompt is 81 tokens long; this model reads at most 64"):
        generate(model, tokenizer, "the cat " * 40, GenerateSettings())


def test_a_masked_lm_cannot_generate(tiny_model) -> None:
    folder = tiny_model("mlm")
    model, tokenizer = T.AutoModelForMaskedLM.from_pretrained(folder), T.AutoTokenizer.from_pretrained(folder)
    with pytest.raises(UserError, match="is a masked LM, so it cannot"):
        generate(model, tokenizer, "the cat", GenerateSettings())
