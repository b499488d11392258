"""Pre-training on the user's text (core/pretrain): corpus reading, examples, the loss, learning, resume."""

from __future__ import annotations

import pytest
from pretrain_helpers import PAIRS, manual_lines, write_corpus

from lmstudio_app.core.data.table import DataError
from lmstudio_app.core.errors import UserError
from lmstudio_app.core.pretrain.corpus import TextSource, build_corpus, split_sentences
from lmstudio_app.core.pretrain.data import PretrainCollator, build_examples, fixed_masks, tokenize_documents
from lmstudio_app.core.pretrain.job import pretrain, resume_run
from lmstudio_app.core.pretrain.model import load_model, plan_model, pretraining_loss
from lmstudio_app.core.pretrain.settings import PretrainResult, PretrainSettings
from lmstudio_app.core.tasks import Cancelled, TaskState
from lmstudio_app.core.training import runs
from lmstudio_app.core.training.record import RunRecord


def tiny_settings(model, **overrides) -> PretrainSettings:
    values = dict(
        base_model=str(model),
        max_steps=12,
        eval_steps=6,
        batch_size=16,
        learning_rate=5e-3,
        warmup_ratio=0.0,
        max_length=64,
        held_out_fraction=0.05,
        precision="fp32",
        probes=["The cat sat on the [MASK]."],
    )
    values.update(overrides)
    return PretrainSettings(**values)


def corpus_of(path, settings: PretrainSettings):
    source = TextSource(paths=[str(path)])
    return build_corpus(source, settings.held_out_fraction, settings.seed), source


# ---- text ----------------------------------------------------------------------------------------------
def test_text_files_folders_and_tables_are_read_deduplicated_and_held_out(tmp_path):
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "a.txt").write_text(
        "First line here. Second sentence!\nSame line\nSame line\n", encoding="utf-8"
    )
    (folder / "b.md").write_bytes("Café au lait is served.\nSame line\n".encode("utf-16"))  # BOM: detected
    (folder / "ignored.bin").write_bytes(b"\x00\x01")
    corpus = build_corpus(TextSource(paths=[str(folder)]), 0.05, seed=1)
    assert (corpus.documents, corpus.lines, corpus.duplicates) == (2, 3, 2)
    assert corpus.sentences == 4
    every = [line for doc in corpus.train + corpus.held_out for line in doc]
    assert sorted(every) == sorted(
        ["First line here. Second sentence!", "Same line", "Café au lait is served."]
    )
    assert corpus.held_out_lines >= 1 and corpus.train

    table = tmp_path / "t.csv"
    table.write_text("id,body\n1,One text.\n2,\n3,Another text.\n", encoding="cp1252")
    from_table = build_corpus(TextSource(table=str(table), column="body"), 0.05)
    assert (from_table.documents, from_table.lines) == (2, 2)
    assert "1 empty cell skipped" in from_table.problems
    assert split_sentences("Dr. no. It works. 3 cats! ok") == ["Dr. no.", "It works.", "3 cats! ok"]


def test_held_out_lines_are_seeded_about_the_fraction_and_never_trained_on(tmp_path):
    path = write_corpus(tmp_path / "c.txt", 400)
    a = build_corpus(TextSource(paths=[str(path)]), 0.03, seed=7)
    b = build_corpus(TextSource(paths=[str(path)]), 0.03, seed=7)
    c = build_corpus(TextSource(paths=[str(path)]), 0.03, seed=8)
    assert a.held_out == b.held_out != c.held_out
    assert 12 <= a.held_out_lines <= 16
    held = {line for doc in a.held_out for line in doc}
    assert not held & {line for doc in a.train for line in doc}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "no text"),
        (b"\x89PNG\r\n\x1a\n" + bytes(200), "PNG image"),
        (b"just one line\n", "only one line"),
    ],
)
def test_empty_binary_or_too_short_text_is_one_clear_error(tmp_path, content, message):
    path = tmp_path / "x.txt"
    path.write_bytes(content)
    with pytest.raises(DataError, match=message):
        build_corpus(TextSource(paths=[str(path)]))


# ---- examples ------------------------------------------------------------------------------------------
def test_packing_fills_sequences_and_nsp_pairs_are_half_random(tmp_path, tiny_model):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model("mlm"))
    corpus, _ = corpus_of(write_corpus(tmp_path / "c.txt", 200), tiny_settings("x"))
    docs = tokenize_documents(tokenizer, corpus.train)
    packed = build_examples(tokenizer, docs, tiny_settings("x", max_length=64), seed=0)
    lengths = [len(e["input_ids"]) for e in packed]
    assert max(lengths) <= 64 and sum(lengths[:-1]) / len(lengths[:-1]) > 56  # full, apart from the last
    total = sum(len(ids) for doc in docs for ids, _ in doc)
    assert sum(e["special_tokens_mask"].count(0) for e in packed) == total  # every token, once

    pairs = build_examples(tokenizer, docs, tiny_settings("x", nsp=True), seed=0)
    labels = [e["next_sentence_label"] for e in pairs]
    assert 0.35 < sum(labels) / len(labels) < 0.65
    first = next(e for e in pairs if e["next_sentence_label"] == 0)
    sep = tokenizer.sep_token_id
    assert first["input_ids"].count(sep) == 2 and first["token_type_ids"][-1] == 1


def test_whole_word_masking_masks_every_piece_and_held_out_masks_are_fixed(tiny_model):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model("mlm"))
    docs = tokenize_documents(tokenizer, [["The catsing dogsly played. The housesed bedsing sat."] * 1] * 40)
    settings = tiny_settings("x", whole_words=True, mlm_probability=0.4)
    examples = build_examples(tokenizer, docs, settings, seed=0)
    collator = PretrainCollator(tokenizer, settings)
    batch = collator.mask(collator(examples))
    chosen = batch["labels"] != -100
    pieces = [tokenizer.convert_ids_to_tokens(int(i)).startswith("##") for i in batch["labels"][chosen]]
    assert any(pieces)
    ids = batch["labels"].clone()
    ids[~chosen] = 0
    for row in range(ids.shape[0]):  # a piece is masked exactly when the piece before it is
        tokens = tokenizer.convert_ids_to_tokens(collator.pad(examples)["input_ids"][row])
        for j, token in enumerate(tokens):
            if token.startswith("##"):
                assert chosen[row, j] == chosen[row, j - 1]
    assert fixed_masks(tokenizer, examples, settings) == fixed_masks(tokenizer, examples, settings)


# ---- model and loss ------------------------------------------------------------------------------------
def test_nsp_loss_and_alpha_beta_weighting_match_the_models_own_losses(tmp_path, tiny_model):
    import torch
    from transformers import AutoTokenizer

    path = tiny_model("pretraining")
    tokenizer = AutoTokenizer.from_pretrained(path)
    settings = tiny_settings(path, nsp=True)
    corpus, _ = corpus_of(write_corpus(tmp_path / "c.txt", 60), settings)
    examples = build_examples(tokenizer, tokenize_documents(tokenizer, corpus.train), settings, seed=0)
    collator = PretrainCollator(tokenizer, settings)
    batch = collator.mask(collator(examples[:8]))
    model = load_model(plan_model(path, "tiny", nsp=True)).eval()
    with torch.no_grad():
        own = model(**batch)  # BertForPreTraining's loss: MLM + NSP
        ours, parts = pretraining_loss(model, batch, 1.0, 1.0)
        weighted, _ = pretraining_loss(model, batch, 0.3, 2.0)
        mlm_only = model(
            **{k: v for k, v in batch.items() if k != "next_sentence_label"}, next_sentence_label=None
        )
    nsp = torch.nn.functional.cross_entropy(own.seq_relationship_logits, batch["next_sentence_label"]).item()
    assert ours.item() == pytest.approx(own.loss.item(), rel=1e-5)
    assert parts["nsp_loss"] == pytest.approx(nsp, rel=1e-5)
    assert parts["mlm_loss"] == pytest.approx(own.loss.item() - nsp, rel=1e-5)
    assert weighted.item() == pytest.approx(0.3 * parts["mlm_loss"] + 2.0 * nsp, rel=1e-5)
    assert mlm_only.loss is None  # the model's loss needs both labels: ours weighs what the user asked


def test_encoder_gets_a_tied_head_and_nsp_is_refused_where_impossible(tmp_path, tiny_model):
    from transformers import DistilBertConfig, DistilBertModel

    plan = plan_model(tiny_model("encoder"), "enc", nsp=False)
    assert plan.new_head and "decoder tied to the word embeddings" in plan.notes[0]
    model = load_model(plan)
    assert type(model).__name__ == "BertForMaskedLM"
    assert model.get_output_embeddings().weight.data_ptr() == model.get_input_embeddings().weight.data_ptr()
    assert plan_model(tiny_model("mlm"), "mlm", nsp=True).auto_class == "AutoModelForPreTraining"

    distil = tmp_path / "distil"
    DistilBertModel(
        DistilBertConfig(vocab_size=99, dim=32, n_layers=1, n_heads=2, hidden_dim=64)
    ).save_pretrained(distil)
    assert plan_model(distil, "distil", nsp=False).new_head
    with pytest.raises(UserError, match="cannot have a next-sentence head"):
        plan_model(distil, "distil", nsp=True)
    gpt = tmp_path / "gpt"
    gpt.mkdir()
    (gpt / "config.json").write_text('{"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"]}')
    with pytest.raises(UserError, match="no masked-LM head and no encoder"):
        plan_model(gpt, "gpt", nsp=False)


# ---- training ------------------------------------------------------------------------------------------
def test_a_tiny_model_learns_a_regularity_on_held_out_text(tmp_path, tiny_model):
    settings = tiny_settings(tiny_model("mlm"), max_steps=24, eval_steps=12)
    corpus, source = corpus_of(write_corpus(tmp_path / "c.txt", 300), settings)
    events: list[dict] = []
    result = pretrain(corpus, source, settings, tmp_path / "run", on_event=events.append)
    before, after = result.before, result.metrics
    assert before["eval_mlm_top1"] < 0.1
    assert after["eval_mlm_top1"] > before["eval_mlm_top1"] + 0.3
    assert after["eval_perplexity"] < before["eval_perplexity"] / 4
    assert before["eval_masked_tokens"] == after["eval_masked_tokens"] > 0  # the same fixed masks
    probes = [e for e in events if e["type"] == "probes"]
    assert [e["step"] for e in probes] == [12, 24]
    places = {place for _, place in PAIRS}
    assert result.probes_after[0]["masks"][0][0][0] in places | {"the", "."}
    assert (tmp_path / "run" / "model" / "metrics.json").is_file()
    info = runs.run_info(tmp_path / "run")
    assert (info.kind, info.status) == ("pretrain", "finished")
    reopened = PretrainResult.load(tmp_path / "run")
    assert reopened.before == before and reopened.probes_before == result.probes_before


def test_resume_after_cancel_ends_with_the_weights_of_an_uninterrupted_run(tmp_path, tiny_model):
    from safetensors.torch import load_file

    settings = tiny_settings(tiny_model("pretraining"), nsp=True, max_steps=6, eval_steps=6, whole_words=True)
    corpus, source = corpus_of(write_corpus(tmp_path / "c.txt", 120), settings)
    full = pretrain(corpus, source, settings, tmp_path / "full")

    state = TaskState()

    def cancel_at_2(event: dict) -> None:
        if event["type"] == "log" and event["step"] == 2:
            state.request_stop()

    with pytest.raises(Cancelled):
        pretrain(corpus, source, settings, tmp_path / "cut", state=state, on_event=cancel_at_2)
    (checkpoint,) = RunRecord(tmp_path / "cut").checkpoints()
    assert checkpoint.name == "checkpoint-3"
    resumed = resume_run(tmp_path / "cut")
    a = load_file(full.model_dir / "model.safetensors")
    b = load_file(resumed.model_dir / "model.safetensors")
    assert a.keys() == b.keys()
    for name in a:
        assert (a[name] - b[name]).abs().max().item() < 1e-5, name
    assert resumed.before == full.before
    assert resumed.metrics["eval_loss"] == pytest.approx(full.metrics["eval_loss"], abs=1e-5)


@pytest.mark.slow
def test_continuing_the_embedded_model_on_a_manual_lowers_its_held_out_perplexity(tmp_path):
    """Domain adaptation, not memorising: the held-out lines of numpy's manual are never trained on."""
    text = tmp_path / "manual.txt"
    text.write_text("\n".join(manual_lines()), encoding="utf-8")
    settings = PretrainSettings(
        base_model="minilm-mlm", max_steps=30, eval_steps=30, batch_size=8, learning_rate=1e-4, max_length=128
    )
    corpus, source = corpus_of(text, settings)
    held = {line for doc in corpus.held_out for line in doc}
    assert not held & {line for doc in corpus.train for line in doc}
    result = pretrain(corpus, source, settings, tmp_path / "run")
    assert result.metrics["eval_perplexity"] < 0.8 * result.before["eval_perplexity"]
    assert result.metrics["eval_mlm_top1"] > result.before["eval_mlm_top1"]
