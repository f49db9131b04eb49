"""SimilarityView -> neighbours table, cosine-kNN vs probe bars, anisotropy, and JSON. No gradio here."""
import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ..lab.similarity import QUANTILES, SimilarityView
from .common import class_colour, layout, rounded

MAX_CELL = 200


def _short(text: str, n: int = MAX_CELL) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def neighbours_table(view: SimilarityView) -> pd.DataFrame:
    """One row per (pooling, rank): the explained sentence's nearest neighbours by cosine, side by side."""
    rows = []
    for i, p in enumerate(view.names):
        for r, (j, c) in enumerate(zip(view.neighbours[i], view.neighbour_cosine[i]), start=1):
            label = view.labels[view.gold[j]] if view.gold is not None else ""
            rows.append([p, r, round(float(c), 3), label, _short(view.sentences[j])])
    return pd.DataFrame(rows, columns=["pooling", "rank", "cosine", "label", "sentence"])


def scores_table(view: SimilarityView) -> pd.DataFrame:
    q = {f"cos p{int(x * 100)}": view.cosine_quantiles[:, k] for k, x in enumerate(QUANTILES) if x in (0.05, 0.5, 0.95)}
    cols = {"pooling": view.names, "nn same label": view.nn_agreement, "cosine 5-NN acc": view.knn_acc,
            "linear probe acc": view.probe_acc, "anisotropy (mean cosine)": view.anisotropy, **q}
    return pd.DataFrame({k: (v if k == "pooling" else np.round(v, 3)) for k, v in cols.items()})


def scores_figure(view: SimilarityView) -> go.Figure:
    """Per pooling: cosine kNN vs linear probe accuracy, and anisotropy. Same vectors, two very different readings."""
    bars = [("cosine 5-NN accuracy", view.knn_acc), ("linear probe accuracy", view.probe_acc),
            ("anisotropy: mean pairwise cosine", view.anisotropy)]
    fig = go.Figure([go.Bar(x=view.names, y=[None if np.isnan(v) else round(float(v), 4) for v in ys], name=name,
                            marker_color=class_colour(k + 2)) for k, (name, ys) in enumerate(bars)])
    fig.update_layout(barmode="group")
    fig.update_yaxes(range=[0, 1])
    return layout(fig, f"Cosine neighbours vs a linear probe, over {len(view.sentences)} sentences", 360)


def similarity_json(view: SimilarityView) -> dict:
    nan = lambda a: [None if np.isnan(x) else round(float(x), 4) for x in a]  # noqa: E731
    return {"names": view.names, "n": len(view.sentences), "labels": view.labels,
            "neighbours": {p: [{"index": int(j), "cosine": round(float(c), 4), "sentence": _short(view.sentences[j]),
                                "label": None if view.gold is None else view.labels[view.gold[j]]}
                               for j, c in zip(view.neighbours[i], view.neighbour_cosine[i])] for i, p in enumerate(view.names)},
            "nn_agreement": nan(view.nn_agreement), "knn_acc": nan(view.knn_acc), "probe_acc": nan(view.probe_acc),
            "anisotropy": rounded(view.anisotropy, 4), "cosine_quantiles": rounded(view.cosine_quantiles, 4),
            "quantiles": list(QUANTILES)}
