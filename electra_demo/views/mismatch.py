"""MismatchView -> the head x pooling accuracy matrix, the explained sentence's predictions, flips, JSON. No gradio."""
import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ..lab.mismatch import MismatchView
from .common import SEQUENTIAL, layout, prob_text, rounded


def accuracy_matrix(view: MismatchView) -> go.Figure:
    """Rows: the head; columns: the pooling whose vectors it is fed. The diagonal is the honest one."""
    z = [[None if np.isnan(v) else round(float(v), 3) for v in row] for row in view.accuracy]
    fig = go.Figure(go.Heatmap(z=z, x=view.poolings, y=view.heads, zmin=0, zmax=1, colorscale=SEQUENTIAL,
                               texttemplate="%{z:.2f}", hovertemplate="head %{y} on %{x} vectors: %{z}<extra></extra>"))
    fig.update_yaxes(autorange="reversed", title="head (trained on)")
    fig.update_xaxes(title="vectors of pooling", tickangle=-45)
    return layout(fig, f"Train/eval pooling mismatch: accuracy over {view.n} sentences (diagonal = matched)",
                  180 + 34 * len(view.heads))


def sentence_table(view: MismatchView) -> pd.DataFrame:
    """Each head's prediction for the explained sentence from every pooling's vector; FLIP where it changes."""
    rows = []
    for r, h in enumerate(view.heads):
        own = view.sentence_pred[r, view.poolings.index(h)]
        rows.append([h] + [f"{view.labels[k]} {prob_text(p)}" + (" FLIP" if k != own else "")
                           for k, p in zip(view.sentence_pred[r], view.sentence_prob[r])])
    return pd.DataFrame(rows, columns=["head \\ vectors"] + view.poolings)


def flips_markdown(view: MismatchView) -> str:
    if not view.flips:
        return "No head changes its prediction for this sentence when fed another pooling's vector."
    by_head = {}
    for h, p in view.flips:
        by_head.setdefault(h, []).append(p)
    return "Mismatches that flip this sentence's prediction: " + "; ".join(
        f"**{h}** head on {', '.join(ps)}" for h, ps in by_head.items()) + "."


def mismatch_json(view: MismatchView) -> dict:
    return {"heads": view.heads, "poolings": view.poolings, "n": view.n, "labels": view.labels,
            "accuracy": [[None if np.isnan(v) else round(float(v), 4) for v in row] for row in view.accuracy],
            "sentence_pred": [[view.labels[k] for k in row] for row in view.sentence_pred],
            "sentence_prob": rounded(view.sentence_prob, 4), "flips": [list(f) for f in view.flips]}
