"""Held-out figures (masked-token top-1/top-5, perplexity, NSP accuracy) and the probe sentences' fill-ins."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from typing import Any

from lmstudio_app.core.pretrain.data import Example, PretrainCollator
from lmstudio_app.core.pretrain.model import head_outputs

MASK_SPELLINGS = ("[MASK]", "<mask>")
PROBE_TOP_K = 5


def held_out_metrics(
    model: Any,
    examples: list[Example],
    collator: PretrainCollator,
    *,
    alpha: float,
    beta: float,
    batch_size: int = 32,
    autocast: Callable[[], Any] = contextlib.nullcontext,
) -> dict[str, float]:
    """Scores on the fixed held-out masks: eval_loss is the training objective, the rest are per token."""
    import torch
    import torch.nn.functional as F

    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    n = top1 = top5 = nsp_right = nsp_n = 0
    nll = nsp_loss = 0.0
    with torch.no_grad():
        for i in range(0, len(examples), batch_size):
            batch = {k: v.to(device) for k, v in collator(examples[i : i + batch_size]).items()}
            with autocast():
                logits, gold, nsp_logits = head_outputs(model, batch)
            logits = logits.float()
            nll += F.cross_entropy(logits, gold, reduction="sum").item()
            top = logits.topk(min(5, logits.shape[-1]), dim=-1).indices
            top1 += (top[:, 0] == gold).sum().item()
            top5 += (top == gold[:, None]).any(dim=1).sum().item()
            n += gold.numel()
            if nsp_logits is not None and "next_sentence_label" in batch:
                target = batch["next_sentence_label"]
                nsp_loss += F.cross_entropy(nsp_logits.float(), target, reduction="sum").item()
                nsp_right += (nsp_logits.argmax(-1) == target).sum().item()
                nsp_n += target.numel()
    model.train(was_training)
    mlm_loss = nll / max(1, n)
    metrics = {
        "eval_mlm_loss": mlm_loss,
        "eval_mlm_top1": top1 / max(1, n),
        "eval_mlm_top5": top5 / max(1, n),
        "eval_perplexity": math.exp(min(mlm_loss, 50.0)),
        "eval_masked_tokens": float(n),
    }
    loss = alpha * mlm_loss
    if nsp_n:
        metrics["eval_nsp_loss"] = nsp_loss / nsp_n
        metrics["eval_nsp_accuracy"] = nsp_right / nsp_n
        loss += beta * metrics["eval_nsp_loss"]
    metrics["eval_loss"] = loss
    return metrics


def probe_masks(text: str, mask_token: str) -> str:
    for spelling in MASK_SPELLINGS:
        text = text.replace(spelling, mask_token)
    return text


def predict_probes(model: Any, tokenizer: Any, probes: list[str], k: int = PROBE_TOP_K) -> list[dict]:
    """For each probe sentence: its top-k fill-ins (word, probability) at every [MASK]."""
    import torch

    out: list[dict] = []
    if not probes:
        return out
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    with torch.no_grad():
        for text in probes:
            enc = tokenizer(probe_masks(text, tokenizer.mask_token), return_tensors="pt", truncation=True)
            positions = (enc["input_ids"][0] == tokenizer.mask_token_id).nonzero().flatten().tolist()
            if not positions:
                out.append({"text": text, "masks": []})
                continue
            labels = torch.full_like(enc["input_ids"], -100)
            labels[0, positions] = 0  # only marks the positions head_outputs scores
            batch = {**{key: v.to(device) for key, v in enc.items()}, "labels": labels.to(device)}
            logits, _, _ = head_outputs(model, batch)
            probs = logits.float().softmax(-1)
            masks = []
            for row in probs:
                p, ids = row.topk(k)
                words = [
                    w or f"#{i}"
                    for w, i in zip(tokenizer.convert_ids_to_tokens(ids.tolist()), ids.tolist(), strict=True)
                ]
                masks.append([[w, round(float(q), 4)] for w, q in zip(words, p.tolist(), strict=True)])
            out.append({"text": text, "masks": masks})
    model.train(was_training)
    return out


def check_probes(probes: list[str]) -> list[str]:
    """Probe sentences without a [MASK], in words (the wizard and the command refuse them)."""
    return [p for p in probes if not any(s in p for s in MASK_SPELLINGS)]


def top_words(probe: dict) -> str:
    """'floor, room, door' for a probe's first mask (for logs and tables)."""
    masks = probe.get("masks") or []
    return ", ".join(word for word, _ in masks[0]) if masks else "(no [MASK])"
