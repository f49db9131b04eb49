"""Explanation -> plotly Figures. No gradio here; the UI only places these figures.

Numbers are sent with 3 significant digits (explain.rounded) and tokens are HTML-escaped, since
plotly renders a subset of HTML in labels. Tokens sit on numeric axes with tick text, so repeated
tokens ("the" twice) keep their own rows.
"""
import html

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .explain import Explanation, rounded

DIVERGING = "RdBu_r"


def token_labels(expl: Explanation) -> list[str]:
    return [html.escape(t) for t in expl.tokens]


def _layout(fig: go.Figure, title: str, height: int) -> go.Figure:
    fig.update_layout(title=dict(text=title, x=0, font=dict(size=14)), height=height,
                      margin=dict(l=10, r=10, t=40, b=10), template="none",  # "none": no 8 KB theme per figure
                      paper_bgcolor="white", plot_bgcolor="white")
    fig.update_xaxes(automargin=True)  # room for token / pooling tick labels
    fig.update_yaxes(automargin=True)
    return fig


def _token_axis(expl: Explanation) -> dict:
    T = len(expl.tokens)
    step = max(1, T // 40)  # at most ~40 labels on a long sentence
    return dict(tickmode="array", tickvals=list(range(0, T, step)), ticktext=token_labels(expl)[::step])


def layer_name(layer: int, num_layers: int) -> str:
    return "embeddings (hidden_states[0])" if layer == 0 else f"layer {layer} of {num_layers} (hidden_states[{layer}])"


def hidden_heatmap(expl: Explanation, layer: int) -> go.Figure:
    """Per-token hidden states of one layer: tokens down, hidden dimensions across."""
    layer = int(min(max(layer, 0), expl.num_layers))
    z = expl.hidden_states[layer]  # (T, H)
    zmax = float(f"{float(np.abs(z).max()):.3g}") or 1.0
    fig = go.Figure(go.Heatmap(z=rounded(z), zmin=-zmax, zmax=zmax, colorscale=DIVERGING,
                               hovertemplate="token %{y}<br>dim %{x}<br>%{z}<extra></extra>"))
    fig.update_yaxes(autorange="reversed", **_token_axis(expl))
    fig.update_xaxes(title="hidden dimension")
    T = len(expl.tokens)
    return _layout(fig, f"Hidden states, {layer_name(layer, expl.num_layers)}: (T, H) = {z.shape}", 160 + 14 * min(T, 60))


def token_trajectories(expl: Explanation) -> go.Figure:
    """Each token's vector across layers: its L2 norm, and its cosine similarity to the final [CLS]."""
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.12,
                        subplot_titles=("norm of each token's vector", "cosine to the final [CLS]"))
    ticks = [layer_name(i, expl.num_layers).split(" (")[0] for i in range(expl.num_layers + 1)]
    for col, (z, scale, kw) in enumerate([(expl.token_norms, "Viridis", {}),
                                          (expl.cls_cosine, DIVERGING, dict(zmin=-1, zmax=1))], start=1):
        fig.add_trace(go.Heatmap(z=rounded(z), colorscale=scale, colorbar=dict(x=0.44 if col == 1 else 1.0, len=0.9), **kw,
                                 hovertemplate="layer %{y}<br>token %{x}<br>%{z}<extra></extra>"), row=1, col=col)
        fig.update_xaxes(row=1, col=col, tickangle=-60, **_token_axis(expl))
        fig.update_yaxes(row=1, col=col, tickmode="array", tickvals=list(range(len(ticks))), ticktext=ticks)
    return _layout(fig, "How each token's vector changes across layers", 360)


def pooled_label(expl: Explanation, name: str) -> str:
    hp = expl.heads.get(name)
    return f"{name}: {hp.label} {hp.prob:.2f}" if hp else f"{name}: no head trained"


def pooled_vectors(expl: Explanation) -> go.Figure:
    """Every pooled sentence vector as one row, all on ONE shared colour scale; row labels show each head's prediction."""
    names = list(expl.pooled)
    z = np.stack([expl.pooled[p] for p in names])  # (P, H)
    zmax = float(f"{float(np.abs(z).max()):.3g}") or 1.0
    fig = go.Figure(go.Heatmap(z=rounded(z), zmin=-zmax, zmax=zmax, colorscale=DIVERGING,
                               hovertemplate="%{y}<br>dim %{x}<br>%{z}<extra></extra>"))
    fig.update_yaxes(autorange="reversed", tickmode="array", tickvals=list(range(len(names))),
                     ticktext=[pooled_label(expl, p) for p in names])
    fig.update_xaxes(title="hidden dimension")
    return _layout(fig, f"Sentence vectors (1, H) per pooling, one shared colour scale [-{zmax:.2g}, {zmax:.2g}]",
                   120 + 26 * len(names))


def similarity_matrix(expl: Explanation) -> go.Figure:
    """Cosine similarity between the pooled vectors of every method."""
    names = list(expl.pooled)
    z = rounded(expl.similarity, 2)
    fig = go.Figure(go.Heatmap(z=z, x=names, y=names, zmin=-1, zmax=1, colorscale=DIVERGING,
                               texttemplate="%{z:.2f}", hovertemplate="%{y} vs %{x}: %{z}<extra></extra>"))
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, "Cosine similarity between pooling methods", 140 + 32 * len(names))
