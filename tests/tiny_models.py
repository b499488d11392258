"""Tiny random BERT models saved as real Hugging Face folders, for fast tests of the real code paths."""

from __future__ import annotations

from pathlib import Path

WORDS = (
    "the a an of to and in is was it that he she they we you i on for with as at by from his her their "
    "cat dog sat mat floor bed house door window table chair car road city paris france london england "
    "capital river sea sun moon day night good bad happy sad big small red blue green old new man woman "
    "child boy girl book movie film great terrible love hate like not very movie was this play played "
    "playing cup tea coffee milk water drink drank eat ate food opened open close closed run ran walk"
).split()
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
PIECES = [f"##{s}" for s in ("s", "ing", "ed", "er", "ly", "es", "y")] + list(
    "abcdefghijklmnopqrstuvwxyz.,!?'"
)
KINDS = ("pretraining", "mlm", "encoder", "classifier")


def vocab() -> list[str]:
    return SPECIALS + list(dict.fromkeys(WORDS)) + PIECES


def build_tiny_model(folder: Path, kind: str, num_labels: int = 2, seed: int = 0) -> Path:
    """Save a 2-layer, 2-head, hidden-32 BERT of `kind` (see KINDS) with a tokenizer into `folder`."""
    import torch
    import transformers
    from transformers import BertConfig, BertTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    vocab_file = folder / "vocab.txt"
    vocab_file.write_text("\n".join(vocab()) + "\n", encoding="utf-8")
    tokenizer = BertTokenizerFast(vocab=str(vocab_file), do_lower_case=True)  # v5: `vocab`, not `vocab_file`
    config = BertConfig(
        vocab_size=len(vocab()),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
        num_labels=num_labels,
    )
    if kind == "classifier":
        config.id2label = {i: f"label_{i}" for i in range(num_labels)}
        config.label2id = {v: k for k, v in config.id2label.items()}
    cls = {
        "pretraining": transformers.BertForPreTraining,
        "mlm": transformers.BertForMaskedLM,
        "encoder": transformers.BertModel,
        "classifier": transformers.BertForSequenceClassification,
    }[kind]
    torch.manual_seed(seed)
    model = cls(config)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def tiny_gpt2(bos: bool = True, seed: int = 0):
    """(GPT2LMHeadModel, fast tokenizer) in memory: 2 layers, hidden 32, a word-level vocabulary of WORDS;
    `bos=False` gives a tokenizer without a beginning-of-sequence token."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    names = ["[PAD]", "[UNK]", "<s>", *dict.fromkeys(WORDS), *".,!?'"]
    backend = Tokenizer(models.WordLevel({w: i for i, w in enumerate(names)}, unk_token="[UNK]"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, unk_token="[UNK]", pad_token="[PAD]", bos_token="<s>" if bos else None
    )
    config = GPT2Config(
        vocab_size=len(names), n_positions=64, n_embd=32, n_layer=2, n_head=2, bos_token_id=2, eos_token_id=2
    )
    torch.manual_seed(seed)
    return GPT2LMHeadModel(config).eval(), tokenizer


DECODER_KINDS = ("gpt2", "llama", "t5", "bart", "bert-clm")


def decoder_tokenizer(kind: str = "gpt2"):
    """A word-level fast tokenizer over WORDS with <s>/</s>; T5 and BART's add </s> (BART's <s> too) to
    each text as theirs do, the causal ones add nothing (the adapter puts <s> first)."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    names = ["[PAD]", "[UNK]", "<s>", "</s>", *dict.fromkeys(WORDS), *".,!?'"]
    backend = Tokenizer(models.WordLevel({w: i for i, w in enumerate(names)}, unk_token="[UNK]"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    template = {"t5": "$A </s>", "bart": "<s> $A </s>"}.get(kind)
    if template:
        backend.post_processor = processors.TemplateProcessing(
            single=template, special_tokens=[("<s>", 2), ("</s>", 3)]
        )
    return PreTrainedTokenizerFast(
        tokenizer_object=backend, unk_token="[UNK]", pad_token="[PAD]", bos_token="<s>", eos_token="</s>"
    )


def build_tiny_decoder(folder: Path, kind: str = "gpt2", seed: int = 0) -> Path:
    """Save a 2-layer, hidden-32 random decoder of `kind` (see DECODER_KINDS) with its tokenizer into
    `folder`: GPT-2, a Llama-like (RMSNorm, rotary, gated MLP), T5, BART, or BERT as a causal LM."""
    import torch
    import transformers as T

    tokenizer = decoder_tokenizer(kind)
    ids = {"vocab_size": len(tokenizer), "pad_token_id": 0, "bos_token_id": 2, "eos_token_id": 3}
    if kind == "gpt2":
        config = T.GPT2Config(n_positions=64, n_embd=32, n_layer=2, n_head=2, **ids)
        cls = T.GPT2LMHeadModel
    elif kind == "llama":
        config = T.LlamaConfig(
            hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
            num_key_value_heads=2, max_position_embeddings=64, **ids,
        )  # fmt: skip
        cls = T.LlamaForCausalLM
    elif kind == "t5":
        config = T.T5Config(
            d_model=32, d_kv=8, d_ff=64, num_layers=2, num_heads=4, decoder_start_token_id=0, **ids
        )
        cls = T.T5ForConditionalGeneration
    elif kind == "bart":
        config = T.BartConfig(
            d_model=32, encoder_layers=2, decoder_layers=2, encoder_attention_heads=2,
            decoder_attention_heads=2, encoder_ffn_dim=64, decoder_ffn_dim=64, max_position_embeddings=64,
            decoder_start_token_id=3, forced_bos_token_id=None, forced_eos_token_id=None, **ids,
        )  # fmt: skip
        cls = T.BartForConditionalGeneration
    elif kind == "bert-clm":
        config = T.BertConfig(
            hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
            max_position_embeddings=64, is_decoder=True, **ids,
        )  # fmt: skip
        cls = T.BertLMHeadModel
    else:
        raise ValueError(f"unknown decoder kind {kind!r}")
    torch.manual_seed(seed)
    model = cls(config).eval()
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
