"""Attention of decoders: causal self-attention with its mask, and an encoder-decoder's three attentions,
each compared with the model's own `output_attentions` on tiny random GPT-2, Llama, BERT-as-decoder, T5
and BART models."""

from __future__ import annotations

import base64
import json
import re

import numpy as np
import pytest
import torch

from lmstudio_app.core.attention import bertviz as bv
from lmstudio_app.core.attention.analysis import (
    AttentionAnalysis,
    analyse,
    head_statistics,
    mask_later,
    neuron_view,
)
from lmstudio_app.core.attention.extract import extract_attention
from lmstudio_app.core.attention.seq2seq import GREEDY_NEW_TOKENS, Seq2SeqAttention
from lmstudio_app.core.errors import UserError
from lmstudio_app.core.models.attention_weights import eager_attention
from lmstudio_app.core.models.registry import ModelRegistry

TEXT = "the cat sat on the mat"
CAUSAL = ["gpt2", "llama", "bert-clm"]
SEQ2SEQ = ["t5", "bart"]


@pytest.fixture(scope="module")
def load(tiny_decoder):
    registry = ModelRegistry()
    return lambda kind: registry.load(str(tiny_decoder(kind)), duplicate="reuse")


def _own_attentions(model, **inputs):
    with eager_attention(model), torch.inference_mode():
        return model(**inputs, output_attentions=True)


@pytest.mark.parametrize("kind", CAUSAL)
def test_causal_attention_is_the_models_own_and_nothing_lies_above_the_diagonal(load, kind):
    loaded = load(kind)
    result = extract_attention(loaded, TEXT)
    tokenizer = loaded.tokenizer
    ids = [tokenizer.bos_token_id, *tokenizer(TEXT, add_special_tokens=False)["input_ids"]]
    assert result.tokens == tokenizer.convert_ids_to_tokens(ids) and result.tokens[0] == "<s>"
    assert result.causal and result.sentence_b_start is None
    out = _own_attentions(loaded.model, input_ids=torch.tensor([ids]))
    own = torch.stack([a[0] for a in out.attentions]).numpy()
    np.testing.assert_allclose(result.attentions, own, atol=1e-6)
    n = len(ids)
    assert result.attentions.shape[2:] == (n, n)
    assert np.all(np.triu(result.attentions, 1) == 0.0)  # exactly zero, not just small
    np.testing.assert_allclose(result.attentions.sum(-1), 1.0, atol=1e-5)
    data = result.to_json()
    assert data["causal"] is True and data["tokens"] == result.tokens


@pytest.mark.parametrize("kind", CAUSAL)
def test_views_get_nan_exactly_where_a_token_would_look_ahead(load, kind):
    result = extract_attention(load(kind), TEXT)
    n = result.n_tokens
    shown = mask_later(result.attentions, np.arange(n), np.arange(n))
    assert np.array_equal(np.isnan(shown[0, 0]), np.triu(np.ones((n, n), bool), 1))
    np.testing.assert_array_equal(np.nan_to_num(shown), result.attentions)
    # a window keeps the mask aligned: tokens 2..5 still see only themselves and earlier ones
    part = result.window(2, 6)
    assert part.causal and np.array_equal(part.allowed(), np.tril(np.ones((4, 4), bool)))


def test_head_statistics_count_only_the_keys_a_query_may_see(load):
    result = extract_attention(load("gpt2"), TEXT)
    stats = head_statistics(result)
    att, n = result.attentions.astype(np.float64), result.n_tokens
    for layer in range(result.n_layers):
        for head in range(result.n_heads):
            entropy = distance = 0.0
            for q in range(n):
                row = att[layer, head, q, : q + 1]  # keys 0..q only
                entropy -= float(np.sum(row[row > 0] * np.log(row[row > 0])))
                distance += float(np.sum(row * (q - np.arange(q + 1))))
            assert stats.entropy[layer, head] == pytest.approx(entropy / n, abs=1e-5)
            assert stats.distance[layer, head] == pytest.approx(distance / n, abs=1e-5)


def test_grouped_query_keys_are_repeated_per_head_and_the_neuron_softmax_is_masked(load):
    llama = extract_attention(load("llama"), TEXT)  # 4 query heads share 2 key/value heads
    assert llama.queries.shape == llama.keys.shape == (2, 4, 7, 8)
    np.testing.assert_array_equal(llama.keys[:, 0], llama.keys[:, 1])
    bert = extract_attention(load("bert-clm"), TEXT)  # absolute positions: softmax(q.k) is the attention
    for token in (0, 3, 6):
        nv = neuron_view(bert, 1, 1, token)
        assert np.all(nv.softmax[token + 1 :] == 0)
        np.testing.assert_allclose(nv.softmax, nv.attention, atol=1e-5)


def test_causal_models_refuse_a_sentence_pair_and_a_target_in_one_line(load):
    with pytest.raises(UserError, match="is a causal LM: it reads one text") as info:
        extract_attention(load("gpt2"), TEXT, "a dog ran")
    assert "\n" not in str(info.value)
    with pytest.raises(UserError, match="a target is for encoder-decoders"):
        extract_attention(load("gpt2"), TEXT, target="a dog ran")


@pytest.mark.parametrize("kind", SEQ2SEQ)
def test_encoder_decoder_attentions_equal_the_models_own(load, kind):
    loaded = load(kind)
    result = extract_attention(loaded, TEXT, target="a dog ran")
    assert isinstance(result, Seq2SeqAttention) and result.target_from == "typed"
    tokenizer, model = loaded.tokenizer, loaded.model
    source = tokenizer(TEXT, return_tensors="pt")
    start = model.generation_config.decoder_start_token_id or model.config.decoder_start_token_id
    decoder_ids = [start, *tokenizer(text_target="a dog ran")["input_ids"]]
    assert result.decoder.tokens == tokenizer.convert_ids_to_tokens(decoder_ids)
    assert result.encoder.tokens == tokenizer.convert_ids_to_tokens(source["input_ids"][0])
    out = _own_attentions(model, **source, decoder_input_ids=torch.tensor([decoder_ids]))
    m, n = len(decoder_ids), source["input_ids"].shape[1]
    for part, own, shape in (
        (result.encoder, out.encoder_attentions, (n, n)),
        (result.decoder, out.decoder_attentions, (m, m)),
        (result.cross, out.cross_attentions, (m, n)),  # decoder rows x encoder columns
    ):
        assert part.attentions.shape[2:] == shape
        np.testing.assert_allclose(part.attentions, torch.stack([a[0] for a in own]).numpy(), atol=1e-6)
    assert result.decoder.causal and not result.encoder.causal and not result.cross.causal
    assert np.all(np.triu(result.decoder.attentions, 1) == 0.0)
    assert result.cross.columns == result.encoder.tokens and result.cross.tokens == result.decoder.tokens
    assert result.cross.window(1, 3).attentions.shape[2:] == (2, n)  # the range picks decoder rows only
    data = result.to_json()
    assert np.array(data["cross_attentions"]).shape == result.cross.attentions.shape
    assert data["encoder_tokens"] == result.encoder.tokens and data["decoder_tokens"] == result.decoder.tokens


def test_default_target_is_the_models_greedy_output(load):
    loaded = load("t5")
    result = extract_attention(loaded, TEXT)
    source = loaded.tokenizer(TEXT, return_tensors="pt")
    with torch.inference_mode():
        greedy = loaded.model.generate(
            **source, max_new_tokens=GREEDY_NEW_TOKENS, do_sample=False, num_beams=1
        )
    assert result.target_from == "greedy"
    assert result.decoder.tokens == loaded.tokenizer.convert_ids_to_tokens(greedy[0])
    assert result.cross.attentions.shape[2:] == (greedy.shape[1], source["input_ids"].shape[1])


def test_encoder_decoder_analysis_and_refusals(load):
    loaded = load("bart")
    analysis = analyse(loaded, TEXT, target="a dog")
    cross, decoder = analysis.parts["cross"], analysis.parts["decoder"]
    assert cross.rollout is None and np.isnan(cross.stats.distance).all()
    assert decoder.rollout is not None and np.all(np.triu(decoder.rollout, 1) == 0)
    assert isinstance(decoder, AttentionAnalysis) and np.isfinite(decoder.stats.distance).all()
    with pytest.raises(UserError, match="is an encoder-decoder: it reads a source and a target"):
        extract_attention(loaded, TEXT, "a dog ran")
    with pytest.raises(UserError, match="Unknown attention"):
        analysis.attention.part("self")


@pytest.mark.skipif(bool(bv.missing_assets()), reason="run packaging/dev.sh to fetch resources/js")
def test_encoder_decoder_bertviz_page_has_the_three_attentions_offline(load):
    result = extract_attention(load("t5"), TEXT, target="a dog ran")
    page = bv.seq2seq_bertviz_html(result)
    assert "<script src" not in page.lower() and "cdnjs" not in page
    assert not re.search(r"""src\s*=\s*["']?(https?:)?//""", page, re.I)
    assert 'Attention: <select id="filter"><option value="0">Encoder</option>' in page
    assert "Decoder</option>" in page and "Cross</option>" in page
    data = json.loads(re.search(r"window\.lmAttentionData = (\{.*?\});\n", page).group(1))
    assert [data[k]["name"] for k in ("encoder", "decoder", "cross")] == ["Encoder", "Decoder", "Cross"]
    for key in ("encoder", "decoder", "cross"):
        part = result.part(key)
        decoded = np.frombuffer(base64.b64decode(data[key]["b64"]), dtype="<f4").reshape(data[key]["shape"])
        np.testing.assert_array_equal(decoded, part.attentions)
        assert len(data[key]["left"]) == part.n_tokens and len(data[key]["right"]) == len(part.columns)
    assert 'window.lmAttention(["encoder", "decoder", "cross"])' in page
