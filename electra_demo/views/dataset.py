"""DatasetView -> PCA scatter, accuracy bars, confusion matrix, misclassified table and JSON. No gradio here.

Classes take the qualitative class colours (never red/blue, which mean signed values elsewhere); hovering a point
shows its sentence.
"""
import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..lab.dataset import DatasetView, misclassified
from .common import SEQUENTIAL, class_colour, escape, layout, rounded

WRONG_HEADERS = ["row", "sentence", "gold", "predicted", "confidence"]
MAX_CELL = 300  # characters of a sentence shown in a table cell or a hover label


def dataset_scatter(view: DatasetView) -> go.Figure:
    """PCA of every pooling's vectors, one panel each, coloured by gold label."""
    names = list(view.methods)
    cols = 3
    rows = -(-len(names) // cols)
    titles = [f"{p} (PC1 {view.methods[p].explained[0]:.0%}, PC2 {view.methods[p].explained[1]:.0%})" for p in names]
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=titles, horizontal_spacing=0.05, vertical_spacing=0.3 / rows)
    for i, p in enumerate(names):
        xy = view.methods[p].coords  # (N, 2)
        for c, label in enumerate(view.labels):
            idx = np.flatnonzero(view.gold == c)
            fig.add_trace(go.Scattergl(
                x=rounded(xy[idx, 0]), y=rounded(xy[idx, 1]), mode="markers", name=escape([label])[0], legendgroup=label,
                showlegend=i == 0, marker=dict(size=4, color=class_colour(c), opacity=0.7),
                text=escape(_short(view.texts[k], 80) for k in idx),
                hovertemplate=f"%{{text}}<br>gold {escape([label])[0]}<extra>{p}</extra>"),
                row=i // cols + 1, col=i % cols + 1)
    fig.update_xaxes(showticklabels=False)
    fig.update_yaxes(showticklabels=False)
    return layout(fig, f"{escape([view.name])[0]}: pooled vectors in 2-D (PCA per pooling), coloured by gold label",
                   60 + 260 * rows)


def dataset_accuracy(view: DatasetView) -> go.Figure:
    names = list(view.methods)
    ms = [view.methods[p] for p in names]
    bars = [("linear probe, held-out", [m.probe_test_acc for m in ms]),
            ("trained head, held-out", [m.head_test_acc for m in ms]),
            ("trained head, all rows", [m.head_acc for m in ms])]
    fig = go.Figure([go.Bar(x=names, y=[None if v is None else round(v, 4) for v in ys], name=label,
                            marker_color=class_colour(i + 3)) for i, (label, ys) in enumerate(bars)])
    fig.update_layout(barmode="group")
    fig.update_yaxes(range=[0, 1], title="accuracy")
    return layout(fig, f"Accuracy per pooling ({int(view.is_test.sum())} held-out rows of {view.n})", 340)


def confusion_figure(view: DatasetView, pooling: str) -> go.Figure:
    m = view.methods[pooling]
    labels = escape(view.labels)
    fig = go.Figure(go.Heatmap(z=m.confusion.tolist(), x=labels, y=labels, colorscale=SEQUENTIAL, texttemplate="%{z}",
                               hovertemplate="gold %{y}, predicted %{x}: %{z}<extra></extra>"))
    fig.update_yaxes(autorange="reversed", title="gold")
    fig.update_xaxes(title="predicted")
    rows = "all rows" if m.source == "head" else "held-out rows (no trained head: probe)"
    return layout(fig, f"{pooling}: confusion matrix of the {m.source}, {rows}", 160 + 40 * len(labels))

def _short(text: str, n: int = MAX_CELL) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def misclassified_table(view: DatasetView, pooling: str, limit: int = 200) -> pd.DataFrame:
    """The rows `pooling` gets wrong, most confident first; long sentences cut to MAX_CELL characters."""
    rows = [[i, _short(t), g, k, None if np.isnan(c) else round(c, 3)] for i, t, g, k, c in misclassified(view, pooling, limit)]
    return pd.DataFrame(rows, columns=WRONG_HEADERS)


def dataset_json(v: DatasetView, pooling: str | None = None, limit: int = 20) -> dict:
    pooling = pooling or v.main_pooling
    methods = {p: {"probe_train_acc": round(m.probe_train_acc, 4), "probe_test_acc": round(m.probe_test_acc, 4),
                   "head_test_acc": None if m.head_test_acc is None else round(m.head_test_acc, 4),
                   "head_acc": None if m.head_acc is None else round(m.head_acc, 4), "source": m.source,
                   "explained": rounded(m.explained), "confusion": m.confusion.tolist()}
               for p, m in v.methods.items()}
    wrong = [{"row": i, "sentence": _short(t), "gold": g, "predicted": k, "confidence": None if np.isnan(c) else round(c, 4)}
             for i, t, g, k, c in misclassified(v, pooling, limit)]
    return {"name": v.name, "n": v.n, "n_test": int(v.is_test.sum()), "labels": v.labels,
            "split": "fixed random 75% train / 25% held-out (seed 0); probe = ridge on standardised frozen vectors",
            "methods": methods, "pooling": pooling, "misclassified": wrong}
