"""The formulas above each step of the Self-attention view, written for the layer's own form.

BERT's encoder (post-norm), a decoder's masked self-attention (GPT-2 and Llama are pre-norm, Llama with
RMSNorm, rotary positions, grouped K/V heads and a gated feed-forward block; BERT-as-decoder post-norm)
and an encoder-decoder's cross-attention share the nine steps; only the words and symbols change.
"""

from __future__ import annotations

import numpy as np

from lmstudio_app.core.inside.step_types import AttentionSteps

KINDS = {"self": "self-attention", "masked": "masked self-attention", "cross": "cross-attention"}


def _shape(pair: tuple[int, int]) -> str:
    return f"{pair[0]}×{pair[1]}"


def header(s: AttentionSteps) -> str:
    """The layer's equations in one line."""
    f = s.form
    if f.kind == "cross":
        att = "Attention(Q, K, V) = softmax(QK<sup>T</sup>/√d<sub>k</sub>)·V with Q from the decoder, K, V from the encoder's X<sub>L</sub>"
    elif f.kind == "masked":
        att = "Attention(Q, K, V) = softmax(QK<sup>T</sup>/√d<sub>k</sub> + M)·V, M<sub>ij</sub> = −∞ for j &gt; i"
    else:
        att = "Attention(Q, K, V) = softmax(QK<sup>T</sup>/√d<sub>k</sub>)·V"
    n = f.norm
    if f.pre_norm:
        layer = f"Z = X + MultiHead({n}<sub>1</sub>(X)) &nbsp;&nbsp; X′ = Z + FFN({n}<sub>2</sub>(Z))"
    else:
        layer = f"Z = {n}(X + MultiHead(X)) &nbsp;&nbsp; X′ = {n}(Z + FFN(Z))"
    named = f"{f.layout}, {KINDS[f.kind]}: &nbsp; " if f.layout else ""
    return f"{named}{att} &nbsp;&nbsp; {layer}"


def texts(s: AttentionSteps) -> dict[str, str]:
    """The text of each step, by the view's step key."""
    f, c, tok = s.form, s.choice, s.tokens[s.choice.token]
    d, dk, h, sh = s.x.shape[0], s.head_dim, s.n_heads, s.shapes
    a = f"{f.norm}<sub>1</sub>(x)" if f.pre_norm else "x"
    kv_head = c.head // (h // f.n_kv_heads) if f.n_kv_heads else c.head
    source = "x<sub>L,j</sub> (the encoder's last layer)" if f.kind == "cross" else "x<sub>j</sub>"
    x_text = {
        "cross": f"① The decoder's state for “{tok}” after layer {c.layer}'s masked self-attention: <b>x</b> = Z<sub>1</sub>[{c.token}], d = {d}",
        "masked": f"① Input of layer {c.layer} for the query token “{tok}” (it may read itself and the tokens before it): <b>x</b> = X[{c.token}], d = {d}",
    }.get(f.kind, f"① Input of layer {c.layer} for the query token “{tok}”: <b>x</b> = X[{c.token}], d = {d}")  # fmt: skip
    weights = f"W<sup>Q</sup>, W<sup>K</sup>, W<sup>V</sup>: {_shape(sh['W^Q'])}"
    if sh["W^K"] != sh["W^Q"]:
        weights = f"W<sup>Q</sup>: {_shape(sh['W^Q'])}, W<sup>K</sup>, W<sup>V</sup>: {_shape(sh['W^K'])}"
    qkv = (
        f"② <b>q</b> = {a}·W<sup>Q</sup><sub>{c.head}</sub>, <b>k</b><sub>j</sub> = {source}·"
        f"W<sup>K</sup><sub>{kv_head}</sub>, <b>v</b><sub>j</sub> = {source}·W<sup>V</sup><sub>{kv_head}</sub>"
        f" &nbsp; ({weights}; head {c.head} uses columns {c.head * dk}–{(c.head + 1) * dk - 1}; d<sub>k</sub> = {dk})"
    )
    if f.n_kv_heads:
        qkv += (
            f"; {h} query heads share {f.n_kv_heads} key/value heads: head {c.head} reads K/V head {kv_head}"
        )
    if f.rotary:
        qkv += "; q and every k<sub>j</sub> are rotated by their position (rotary embedding)"
    scale = f.scale if f.scale is not None else 1 / np.sqrt(dk)
    divide = "q·k<sub>j</sub> (T5 folds 1/√d<sub>k</sub> into W<sup>Q</sup>)" if scale == 1 else (
        f"q·k<sub>j</sub> / √d<sub>k</sub> = q·k<sub>j</sub> / {1 / scale:.3g}"
    )  # fmt: skip
    out_words = (
        f"the layer's output for “{tok}”. The model's own output of the layer differs by at most "
        f"<b>{s.max_error:.1e}</b>: these formulas are what the model computes."
    )
    if f.pre_norm:
        z = "⑦ Z = x + MultiHead &nbsp; (the residual connection; the norm came first, in ②)"
        ffn_in, out = f"{f.norm}<sub>2</sub>(Z)", f"⑨ X′ = Z + FFN({f.norm}<sub>2</sub>(Z)) = {out_words}"
    else:
        z = f"⑦ Z = {f.norm}(x + MultiHead) &nbsp; (first residual connection)"
        ffn_in, out = "Z", f"⑨ X′ = {f.norm}(Z + FFN(Z)) = {out_words}"
    if f.gated:
        ffn = (
            f"⑧ FFN = (act({ffn_in}·W<sub>gate</sub>) ⊙ {ffn_in}·W<sub>1</sub>)·W<sub>2</sub> &nbsp; "
            f"(W<sub>gate</sub>, W<sub>1</sub>: {_shape(sh['W_1'])}, W<sub>2</sub>: {_shape(sh['W_2'])})"
        )
    else:
        ffn = (
            f"⑧ FFN = act({ffn_in}·W<sub>1</sub> + b<sub>1</sub>)·W<sub>2</sub> + b<sub>2</sub> &nbsp; "
            f"(W<sub>1</sub>: {_shape(sh['W_1'])}, W<sub>2</sub>: {_shape(sh['W_2'])})"
        )
    hidden = int(np.isneginf(s.scores).sum())
    keys_after = "the key" if hidden == 1 else f"the {hidden} keys"
    mask = (
        f"③′ The causal mask M: {keys_after} after “{tok}” {'gets' if hidden == 1 else 'get'} −∞, weight e<sup>−∞</sup> = 0; "
        "every query's row of this head's scores, −∞ shown as empty cells"
        if f.kind == "masked"
        else f"③′ Every decoder token's scores against every source token (head {c.head}); nothing is masked"
    )
    return {
        "x": x_text,
        "qkv": qkv,
        "scores": f"③ score<sub>j</sub> = {divide}",
        "mask": mask,
        "softmax": "④ w<sub>j</sub> = softmax(score)<sub>j</sub> = e<sup>score<sub>j</sub></sup> / "
        f"Σ<sub>m</sub> e<sup>score<sub>m</sub></sup> &nbsp; = row {c.token} of head {c.head}'s attention map (right)",
        "head": f"⑤ head<sub>{c.head}</sub> = Σ<sub>j</sub> w<sub>j</sub>·v<sub>j</sub> &nbsp; ({dk} numbers)",
        "multi": f"⑥ MultiHead = Concat(head<sub>0</sub>, …, head<sub>{h - 1}</sub>)·W<sup>O</sup> + b<sup>O</sup> "
        f"&nbsp; (Concat: {h}×{dk} = {h * dk} numbers; W<sup>O</sup>: {_shape(sh['W^O'])})",
        "z": z,
        "ffn": ffn,
        "out": out,
    }
