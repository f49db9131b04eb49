"""ModelPair -> the two-model summary, head table, shape table, neighbour table and JSON. No gradio here."""
import pandas as pd

from ..lab.model_pair import ModelPair
from .common import md_text, sig
from .explain import named_shape

HEAD_HEADERS = ["pooling", "head of A", "head of B"]
SHAPE_HEADERS = ["tensor", "model A", "model B"]
NEIGHBOUR_HEADERS = ["pooling", "neighbours shared (of K)", "rank correlation", "A's nearest", "B's nearest"]


def _head(e, p: str) -> str:
    hp = e.heads.get(p)
    return f"{hp.label} {hp.prob:.2f}" if hp else "no head"


def pair_summary(v: ModelPair, name_a: str, name_b: str) -> str:
    a, b = v.a, v.b
    H = (a.hidden_states.shape[-1], b.hidden_states.shape[-1])
    best = max(range(len(v.poolings)), key=lambda i: v.shared[i]) if v.poolings else None
    where = (f" Most alike: **{v.poolings[best]}** ({v.shared[best]} of {v.neighbours_a.shape[1]} neighbours shared)."
             if best is not None else "")
    return (f"**A: {md_text(name_a)}** says **{md_text(a.label)}** ({a.probs.max():.2f}, {a.main_pooling} head; "
            f"H = {H[0]}, {a.num_layers} layers); **B: {md_text(name_b)}** says **{md_text(b.label)}** "
            f"({b.probs.max():.2f}, {b.main_pooling} head; H = {H[1]}, {b.num_layers} layers). Below: every head of both, "
            f"both shape traces, and per pooling the sentence's nearest neighbours among {len(v.sentences)} sentences "
            f"under each model.{where}")


def pair_heads(v: ModelPair) -> pd.DataFrame:
    names = list(dict.fromkeys([*v.a.pooled, *v.b.pooled]))
    return pd.DataFrame([[p, _head(v.a, p) if p in v.a.pooled else "-", _head(v.b, p) if p in v.b.pooled else "-"]
                         for p in names], columns=HEAD_HEADERS)


def pair_shapes(v: ModelPair) -> pd.DataFrame:
    """Both shape traces, matched by tensor name (a row one model lacks shows '-')."""
    a = {r.name: named_shape(r.name, r.shape) for r in v.a.shapes}
    b = {r.name: named_shape(r.name, r.shape) for r in v.b.shapes}
    return pd.DataFrame([[n, a.get(n, "-"), b.get(n, "-")] for n in dict.fromkeys([*a, *b])], columns=SHAPE_HEADERS)


def pair_neighbours(v: ModelPair) -> pd.DataFrame:
    k = v.neighbours_a.shape[1]
    short = lambda i: v.sentences[i] if len(v.sentences[i]) <= 60 else v.sentences[i][:59] + "…"  # noqa: E731
    return pd.DataFrame([[p, f"{v.shared[i]} / {k}", sig(v.rank_corr[i]),
                          " | ".join(short(j) for j in v.neighbours_a[i]), " | ".join(short(j) for j in v.neighbours_b[i])]
                         for i, p in enumerate(v.poolings)], columns=NEIGHBOUR_HEADERS)


def pair_json(v: ModelPair, name_a: str, name_b: str) -> dict:
    return {"text": v.text, "models": [name_a, name_b],
            "labels": [v.a.label, v.b.label], "probs": [dict(zip(v.a.labels, map(sig, v.a.probs))),
                                                       dict(zip(v.b.labels, map(sig, v.b.probs)))],
            "poolings": {p: {"shared": int(v.shared[i]),
                             "rank_correlation": None if v.rank_corr[i] != v.rank_corr[i] else sig(v.rank_corr[i]),
                             "neighbours_a": v.neighbours_a[i].tolist(), "neighbours_b": v.neighbours_b[i].tolist()}
                         for i, p in enumerate(v.poolings)}}
