"""Two Explanations side by side -> the compare table, a cosine-per-pooling figure and JSON. No gradio here.

The cosine is between the two sentences' vectors of the same pooling: how much that pooling's sentence vector
moves when the sentence changes (e.g. "not bad at all" vs "bad").
"""
import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ..lab.explain import Explanation
from .common import escape, layout, prob_text, sig, signed_colour
from .explain import named_shape

COMPARE_HEADERS = ["pooling", "cosine A vs B", "head on A", "head on B"]
CONTEXT_HEADER = "percentile among the set's pairs"
SHAPE_COMPARE_HEADERS = ["tensor", "shape for A", "shape for B"]
TEACHING_PAIR = ("not bad at all", "bad")


def cosines(a: Explanation, b: Explanation) -> dict[str, float]:
    """{pooling: cosine between sentence A's and sentence B's vector of that pooling}."""
    out = {}
    for p in a.pooled:
        u, v = a.pooled[p], b.pooled[p]  # (H,), (H,)
        out[p] = float(u @ v / max(np.linalg.norm(u) * np.linalg.norm(v), 1e-12))
    return out


def _head(e: Explanation, p: str) -> str:
    hp = e.heads[p]
    return f"{hp.label} {prob_text(hp.prob)}" if hp else "no head"


def compare_table(a: Explanation, b: Explanation, percentile: dict[str, float] | None = None) -> pd.DataFrame:
    """One row per pooling; with `percentile` ({pooling: 0..100}: where the A-B cosine falls among the pairwise
    cosines of a reference set of sentences), a column that says whether this cosine is high *for this pooling*."""
    cos = cosines(a, b)
    rows = [[p, round(c, 3), _head(a, p), _head(b, p)]
            + ([round(percentile[p]) if p in percentile else None] if percentile else []) for p, c in cos.items()]
    return pd.DataFrame(rows, columns=COMPARE_HEADERS + ([CONTEXT_HEADER] if percentile else []))


def compare_shapes(a: Explanation, b: Explanation) -> pd.DataFrame:
    """The shape trace of both sentences, row by row (the same tensors; T differs)."""
    return pd.DataFrame([[ra.name, named_shape(ra.name, ra.shape), named_shape(rb.name, rb.shape)]
                         for ra, rb in zip(a.shapes, b.shapes)], columns=SHAPE_COMPARE_HEADERS)


def compare_figure(a: Explanation, b: Explanation) -> go.Figure:
    cos = cosines(a, b)
    names = list(cos)
    fig = go.Figure(go.Bar(x=[sig(cos[p]) for p in names], y=names, orientation="h",
                           marker_color=[signed_colour(cos[p]) for p in names],  # the one palette: negative = blue
                           customdata=[[_head(a, p), _head(b, p)] for p in names],
                           hovertemplate="%{y}: cosine %{x}<br>A: %{customdata[0]}<br>B: %{customdata[1]}<extra></extra>"))
    fig.update_yaxes(autorange="reversed")
    lo = max(-1.0, min(cos.values()) - 0.05)  # zoomed to the values: close cosines stay distinguishable
    cut = lo > 0  # the bars do not start at 0: said on the axis, so a short bar is not read as a small cosine
    fig.update_xaxes(range=[lo, 1.0], title="cosine between A and B" + (f"<br>(axis starts at {lo:.2f}, not 0)" if cut else ""))
    return layout(fig, "Each pooling: how close the two sentence vectors are" + (" (zoomed axis)" if cut else ""),
                  140 + 26 * len(names))


def compare_summary(a: Explanation, b: Explanation) -> str:
    return (f"**A** ({len(a.tokens)} tokens): {escape([a.label])[0]} {prob_text(max(a.probs))} · "
            f"**B** ({len(b.tokens)} tokens): {escape([b.label])[0]} {prob_text(max(b.probs))} (main head: "
            f"{a.main_pooling}).")


def compare_json(a: Explanation, b: Explanation) -> dict:
    cos = cosines(a, b)
    return {"a": {"text": a.text, "tokens": a.tokens, "label": a.label},
            "b": {"text": b.text, "tokens": b.tokens, "label": b.label},
            "poolings": {p: {"cosine": sig(c, 4), "head_a": _head(a, p), "head_b": _head(b, p)} for p, c in cos.items()},
            "shapes": [[ra.name, ra.shape, rb.shape] for ra, rb in zip(a.shapes, b.shapes)]}
