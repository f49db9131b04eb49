"""Plotly figures for the lab tabs (padding lab, attribution, layer grid, dataset view). No gradio here.

Numbers go out with 3 significant digits (explain.rounded); tokens and sentences are HTML-escaped,
since plotly renders a subset of HTML in labels and hover text.
"""
import html

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .attribution import Attribution
from .dataset_view import DatasetView
from .explain import rounded
from .layer_grid import LayerGrid
from .padding_lab import SIDES, PaddingLab

DIVERGING = "RdBu_r"
PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
           "#393b79", "#637939"]


def _layout(fig: go.Figure, title: str, height: int) -> go.Figure:
    fig.update_layout(title=dict(text=title, x=0, font=dict(size=14)), height=height, template="none",
                      margin=dict(l=10, r=10, t=50, b=10), paper_bgcolor="white", plot_bgcolor="white")
    fig.update_xaxes(automargin=True)
    fig.update_yaxes(automargin=True)
    return fig


def _zmax(z) -> float:
    return float(f"{float(np.abs(z).max()):.3g}") or 1.0


# ---- padding lab ----

def padding_curves(lab: PaddingLab) -> go.Figure:
    """Distance and cosine to the N = 0 vector as N grows, right and left padding; naive baselines dashed."""
    fig = make_subplots(rows=2, cols=2, shared_xaxes=True, vertical_spacing=0.12, horizontal_spacing=0.1,
                        subplot_titles=[f"{side} padding: {what}" for side in SIDES
                                        for what in ("L2 distance to the N = 0 vector", "cosine to the N = 0 vector")])
    x = list(range(len(lab.n_pads)))
    for r, side in enumerate(SIDES, start=1):
        sweep = lab.sides[side]
        for c, z in enumerate((sweep.distance, sweep.cosine), start=1):
            for i, name in enumerate(lab.names):
                naive = lab.naive[i]
                fig.add_trace(go.Scatter(
                    x=x, y=rounded(z[i], 4), name=name, legendgroup=name, showlegend=(r, c) == (1, 1),
                    mode="lines+markers", line=dict(color=PALETTE[i % len(PALETTE)], dash="dash" if naive else "solid",
                                                    width=3 if naive else 1.5),
                    customdata=lab.n_pads, hovertemplate=f"{name}<br>N = %{{customdata}}<br>%{{y}}<extra></extra>"),
                    row=r, col=c)
    fig.update_xaxes(tickmode="array", tickvals=x, ticktext=[str(n) for n in lab.n_pads])
    fig.update_xaxes(title="N pad tokens", row=2)
    return _layout(fig, "Masked poolings stay put (flat at 0 and 1); naive ones (dashed) drift as N grows", 560)


def padding_vectors(lab: PaddingLab, side: str = "right") -> go.Figure:
    """At the largest N: every pooling's vector, and its change from N = 0 (zero rows = unaffected by padding)."""
    sweep = lab.sides[side]
    now = sweep.vectors[:, -1]  # (P, H) at the chosen N
    diff = now - sweep.vectors[:, 0]  # (P, H)
    ticks = [f"{n} (naive)" if nv else n for n, nv in zip(lab.names, lab.naive)]
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.08,
                        subplot_titles=(f"vector with N = {lab.n_pads[-1]} pads", "minus the vector with N = 0"))
    for c, z in enumerate((now, diff), start=1):
        zmax = _zmax(z) if np.abs(z).max() > 0 else 1.0
        fig.add_trace(go.Heatmap(z=rounded(z), zmin=-zmax, zmax=zmax, colorscale=DIVERGING,
                                 colorbar=dict(x=0.45 if c == 1 else 1.0, len=0.9),
                                 hovertemplate="%{y}<br>dim %{x}<br>%{z}<extra></extra>"), row=1, col=c)
        fig.update_yaxes(row=1, col=c, autorange="reversed", tickmode="array", tickvals=list(range(len(ticks))),
                         ticktext=ticks if c == 1 else [""] * len(ticks))
        fig.update_xaxes(row=1, col=c, title="hidden dimension")
    return _layout(fig, f"{side} padding: masked rows unchanged, naive rows shifted", 140 + 24 * len(ticks))


# ---- attribution ----

def attribution_bars(attr: Attribution, quantity: str = "weight") -> go.Figure:
    """One bar per position of the padded row; [PAD] positions grey (exactly 0 for every masked pooling)."""
    z = attr.weight if quantity == "weight" else attr.contribution
    x = list(range(len(attr.tokens)))
    colors = ["#bbbbbb" if p else ("#d62728" if v < 0 else "#1f77b4") for p, v in zip(attr.is_pad, z)]
    text = None if attr.dims_won is None or quantity != "weight" else [str(d) for d in attr.dims_won]
    fig = go.Figure(go.Bar(x=x, y=rounded(z, 4), marker_color=colors, text=text,
                           customdata=[html.escape(t) for t in attr.tokens],
                           hovertemplate="%{customdata}<br>%{y}<extra></extra>"))
    fig.update_xaxes(tickmode="array", tickvals=x, ticktext=[html.escape(t) for t in attr.tokens], tickangle=-60)
    fig.update_yaxes(title=quantity)
    return _layout(fig, f"{attr.pooling}: {quantity} per token ({attr.side} padding; grey = [PAD])", 340)


# ---- layer x pooling grid ----

def layer_drift(grid: LayerGrid) -> go.Figure:
    """Cosine of each pooling's vector to its own last-layer vector, and mean pairwise cosine per layer."""
    fig = make_subplots(rows=1, cols=2, column_widths=[0.65, 0.35], horizontal_spacing=0.12,
                        subplot_titles=("cosine to its own last-layer vector", "mean pairwise cosine between poolings"))
    fig.add_trace(go.Heatmap(z=rounded(grid.drift), x=grid.names, y=grid.layers, zmin=-1, zmax=1, colorscale=DIVERGING,
                             texttemplate="%{z:.2f}", colorbar=dict(x=0.59, len=0.9, thickness=12),
                             hovertemplate="%{x} at %{y}: %{z}<extra></extra>"), row=1, col=1)
    fig.add_trace(go.Scatter(x=rounded(grid.mean_pairwise), y=grid.layers, mode="lines+markers", showlegend=False,
                             hovertemplate="%{y}: %{x}<extra></extra>"), row=1, col=2)
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(title="cosine", row=1, col=2)  # y rows are the heatmap's layers
    return _layout(fig, "How each pooled vector changes across layers", max(320, 200 + 36 * len(grid.layers)))


def layer_similarity(grid: LayerGrid, layer: int) -> go.Figure:
    layer = int(min(max(layer, 0), grid.num_layers))
    z = rounded(grid.similarity[layer], 2)
    fig = go.Figure(go.Heatmap(z=z, x=grid.names, y=grid.names, zmin=-1, zmax=1, colorscale=DIVERGING,
                               texttemplate="%{z:.2f}", hovertemplate="%{y} vs %{x}: %{z}<extra></extra>"))
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, f"Cosine between poolings at {grid.layers[layer]}", 140 + 32 * len(grid.names))


def layer_probe(grid: LayerGrid) -> go.Figure:
    """Each trained head applied to every layer: probability of its predicted class, label as text. EXPLORATORY."""
    probs = grid.probe_probs  # (L+1, P, C)
    has = ~np.isnan(probs[..., 0])  # (L+1, P)
    k = np.nan_to_num(probs, nan=-1).argmax(-1)  # (L+1, P)
    z = np.where(has, np.nan_to_num(probs, nan=0).max(-1), np.nan)  # (L+1, P)
    text = [[grid.labels[k[l, p]] if has[l, p] else "no head" for p in range(len(grid.names))] for l in range(len(grid.layers))]
    fig = go.Figure(go.Heatmap(z=[[None if np.isnan(v) else float(f"{v:.3g}") for v in row] for row in z],
                               x=grid.names, y=grid.layers, zmin=0, zmax=1, colorscale="Viridis", text=text,
                               texttemplate="%{text}<br>%{z:.2f}", hovertemplate="%{x} head at %{y}: %{text} %{z}<extra></extra>"))
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, "EXPLORATORY PROBE: trained heads (trained on the last layer) applied to every layer",
                   160 + 36 * len(grid.layers))


# ---- dataset view ----

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
                x=rounded(xy[idx, 0]), y=rounded(xy[idx, 1]), mode="markers", name=html.escape(label), legendgroup=label,
                showlegend=i == 0, marker=dict(size=4, color=PALETTE[c % len(PALETTE)], opacity=0.7),
                customdata=idx.tolist(), hovertemplate=f"row %{{customdata}}<br>gold {html.escape(label)}<extra>{p}</extra>"),
                row=i // cols + 1, col=i % cols + 1)
    fig.update_xaxes(showticklabels=False)
    fig.update_yaxes(showticklabels=False)
    return _layout(fig, f"{html.escape(view.name)}: pooled vectors in 2-D (PCA per pooling), coloured by gold label",
                   60 + 260 * rows)


def dataset_accuracy(view: DatasetView) -> go.Figure:
    names = list(view.methods)
    ms = [view.methods[p] for p in names]
    bars = [("linear probe, held-out", [m.probe_test_acc for m in ms]),
            ("trained head, held-out", [m.head_test_acc for m in ms]),
            ("trained head, all rows", [m.head_acc for m in ms])]
    fig = go.Figure([go.Bar(x=names, y=[None if v is None else round(v, 4) for v in ys], name=label,
                            marker_color=PALETTE[i]) for i, (label, ys) in enumerate(bars)])
    fig.update_layout(barmode="group")
    fig.update_yaxes(range=[0, 1], title="accuracy")
    return _layout(fig, f"Accuracy per pooling ({int(view.is_test.sum())} held-out rows of {view.n})", 340)


def confusion_figure(view: DatasetView, pooling: str) -> go.Figure:
    m = view.methods[pooling]
    labels = [html.escape(x) for x in view.labels]
    fig = go.Figure(go.Heatmap(z=m.confusion.tolist(), x=labels, y=labels, colorscale="Blues", texttemplate="%{z}",
                               hovertemplate="gold %{y}, predicted %{x}: %{z}<extra></extra>"))
    fig.update_yaxes(autorange="reversed", title="gold")
    fig.update_xaxes(title="predicted")
    rows = "all rows" if m.source == "head" else "held-out rows (no trained head: probe)"
    return _layout(fig, f"{pooling}: confusion matrix of the {m.source}, {rows}", 160 + 40 * len(labels))
