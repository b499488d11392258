"""The model-family adapter: families from transformers' mappings, inputs, next-token logits, LM head."""

from __future__ import annotations

import json

import pytest
import torch
import transformers as T

from lmstudio_app.core.errors import UserError
from lmstudio_app.core.models.family import CAUSAL, ENCODER, MASKED, SEQ2SEQ, adapter_for, family_of

DECODERS = {"gpt2": CAUSAL, "llama": CAUSAL, "bert-clm": CAUSAL, "t5": SEQ2SEQ, "bart": SEQ2SEQ}


@pytest.fixture(scope="module")
def loaded(tiny_decoder):
    """loaded(kind) -> (model, tokenizer) of a tiny decoder folder, loaded the way transformers does."""

    def load(kind: str):
        folder = tiny_decoder(kind)
        auto = T.AutoModelForSeq2SeqLM if DECODERS[kind] == SEQ2SEQ else T.AutoModelForCausalLM
        return auto.from_pretrained(folder).eval(), T.AutoTokenizer.from_pretrained(folder)

    return load


def _bert(cls, **extra):
    config = T.BertConfig(
        vocab_size=50,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        **extra,
    )
    return cls(config)


@pytest.mark.parametrize("kind", list(DECODERS))
def test_family_of_folder_config_and_model(tiny_decoder, loaded, kind: str) -> None:
    config = json.loads((tiny_decoder(kind) / "config.json").read_text())
    model, _ = loaded(kind)
    assert family_of(config) == family_of(model.config) == family_of(model) == DECODERS[kind]


def test_bert_classes_decide_the_family() -> None:
    assert family_of(_bert(T.BertLMHeadModel, is_decoder=True)) == CAUSAL
    assert family_of(_bert(T.BertForMaskedLM)) == MASKED
    assert family_of(_bert(T.BertForPreTraining)) == MASKED
    assert family_of(_bert(T.BertModel)) == ENCODER
    assert family_of(_bert(T.BertForSequenceClassification)) == ENCODER


@pytest.mark.parametrize(
    ("config", "family"),
    [
        ({"model_type": "gpt2"}, CAUSAL),
        ({"model_type": "bert"}, MASKED),
        ({"model_type": "bert", "is_decoder": True}, CAUSAL),
        ({"model_type": "t5", "is_encoder_decoder": True}, SEQ2SEQ),
        ({"model_type": "bart", "is_encoder_decoder": True}, SEQ2SEQ),
        ({"architectures": ["GPT2ForSequenceClassification"], "model_type": "gpt2"}, ENCODER),
        ({"architectures": ["BertLMHeadModel"], "model_type": "bert", "is_decoder": True}, CAUSAL),
    ],
)
def test_family_of_a_config_dict(config: dict, family: str) -> None:
    assert family_of(config) == family


@pytest.mark.parametrize("kind", list(DECODERS))
def test_next_token_logits_are_the_models_last_position(loaded, kind: str) -> None:
    model, tokenizer = loaded(kind)
    adapter = adapter_for(model, tokenizer)
    inputs = adapter.encode("the cat sat on", source="the dog ran" if adapter.family == SEQ2SEQ else None)
    with torch.no_grad():
        expected = model(**inputs).logits[0, -1]
    torch.testing.assert_close(adapter.next_token_logits(inputs), expected, rtol=0, atol=0)
    assert adapter.can_generate and adapter.causal_mask and adapter.mask_token is None


@pytest.mark.parametrize("kind", ["gpt2", "llama", "bert-clm"])
def test_causal_inputs_start_with_bos_and_do_not_end_with_eos(loaded, kind: str) -> None:
    model, tokenizer = loaded(kind)
    adapter = adapter_for(model, tokenizer)
    ids = adapter.encode("the cat")["input_ids"][0].tolist()
    assert ids == [tokenizer.bos_token_id, *tokenizer("the cat", add_special_tokens=False)["input_ids"]]
    assert adapter.attention_kinds == ("self",)


@pytest.mark.parametrize("kind", ["t5", "bart"])
def test_seq2seq_inputs_are_the_source_and_a_decoder_prefix(loaded, kind: str) -> None:
    model, tokenizer = loaded(kind)
    adapter = adapter_for(model, tokenizer)
    inputs = adapter.encode("the cat", source="the dog ran")
    assert inputs["input_ids"][0].tolist() == tokenizer("the dog ran")["input_ids"]
    prefix = tokenizer("the cat", add_special_tokens=False)["input_ids"]
    assert inputs["decoder_input_ids"][0].tolist() == [model.config.decoder_start_token_id, *prefix]
    without = adapter.encode("the dog ran")  # no source: the text is the source, the decoder starts empty
    assert without["input_ids"].tolist() == inputs["input_ids"].tolist()
    assert without["decoder_input_ids"][0].tolist() == [model.config.decoder_start_token_id]
    assert adapter.attention_kinds == ("encoder", "decoder", "cross")


@pytest.mark.parametrize("kind", ["gpt2", "llama", "bert-clm"])
def test_final_norm_and_lm_head_reproduce_the_logits(loaded, kind: str) -> None:
    """The lens's building blocks: head(norm(last layer's output)) is the model's own output."""
    model, tokenizer = loaded(kind)
    adapter = adapter_for(model, tokenizer)
    inputs = adapter.encode("the cat sat")
    with torch.no_grad():
        out = model(**inputs, output_hidden_states=True)
        last = out.hidden_states[-1]  # after the final norm for GPT-2 and Llama; BERT has none
        norm = adapter.final_norm()
        assert (norm is None) == (kind == "bert-clm")
        if norm is not None:  # the norm is idempotent up to eps only, so check it on the pre-norm stream
            hooked: list[torch.Tensor] = []
            handle = norm.register_forward_hook(lambda m, a, o: hooked.append(a[0]))
            model(**inputs)
            handle.remove()
            torch.testing.assert_close(norm(hooked[0]), last)
        torch.testing.assert_close(adapter.lm_head()(last), out.logits)


def test_masked_and_encoder_models_refuse_to_generate_in_one_line() -> None:
    tokenizer = T.BertTokenizerFast(vocab={"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "[MASK]": 4})
    masked = adapter_for(_bert(T.BertForMaskedLM), tokenizer)
    assert masked.family == MASKED and not masked.can_generate and masked.mask_token == "[MASK]"
    with pytest.raises(UserError, match=r"is a masked LM, so it cannot .* load a causal LM") as info:
        masked.next_token_logits({})
    assert "\n" not in str(info.value)
    encoder = adapter_for(_bert(T.BertModel), tokenizer)
    with pytest.raises(UserError, match="is an encoder"):
        encoder.check_can_generate()
    assert encoder.lm_head() is None and encoder.mask_token is None


def test_features_without_decoder_support_refuse_it_in_one_line(tiny_decoder) -> None:
    """Masked words, Inside and Attention (a sentence pair to an encoder-decoder) say what to do instead of
    failing."""
    from lmstudio_app.core.attention.extract import extract_attention
    from lmstudio_app.core.fillmask.predict import check_masked_lm
    from lmstudio_app.core.inside.anatomy import encode
    from lmstudio_app.core.models.registry import ModelRegistry

    registry = ModelRegistry()
    bert_clm = registry.load(str(tiny_decoder("bert-clm")))  # an LM head, but a causal one
    t5 = registry.load(str(tiny_decoder("t5")))
    with pytest.raises(
        UserError, match="has no masked-LM head, so it cannot fill masks: load a masked LM such as"
    ):
        check_masked_lm(bert_clm.model, bert_clm.tokenizer, bert_clm.name)
    with pytest.raises(UserError, match="is a causal LM; this view follows an encoder.* Layer lens"):
        encode(bert_clm, "the cat")
    with pytest.raises(UserError, match="is an encoder-decoder; this view follows an encoder"):
        encode(t5, "the cat")
    with pytest.raises(UserError, match="is an encoder-decoder: it reads a source and a target"):
        extract_attention(t5, "the cat", "a sentence pair")  # (tests/core/test_attention_decoders.py)
    result = extract_attention(bert_clm, "the cat sat")  # a causal LM's self-attention is shown
    assert len(result.tokens) >= 3
