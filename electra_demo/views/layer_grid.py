"""LayerGrid -> drift, similarity and probe figures, and JSON. No gradio here."""
import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..lab.layer_grid import LayerGrid
from .common import DIVERGING, SEQUENTIAL, layout, rounded


def layer_drift(grid: LayerGrid) -> go.Figure:
    """Cosine of each pooling's vector to its own last-layer vector, and mean pairwise cosine per layer."""
    # stacked, not side by side: the titles and labels stay apart on a phone too
    fig = make_subplots(rows=2, cols=1, row_heights=[0.65, 0.35], vertical_spacing=0.25,
                        subplot_titles=("cosine to its own last-layer vector", "mean pairwise cosine between poolings"))
    fig.add_trace(go.Heatmap(z=rounded(grid.drift), x=grid.names, y=grid.layers, zmin=-1, zmax=1, colorscale=DIVERGING,
                             texttemplate="%{z:.2f}", colorbar=dict(y=0.75, len=0.45, thickness=12),
                             hovertemplate="%{x} at %{y}: %{z}<extra></extra>"), row=1, col=1)
    fig.add_trace(go.Scatter(x=grid.layers, y=rounded(grid.mean_pairwise), mode="lines+markers", showlegend=False,
                             hovertemplate="%{x}: %{y}<extra></extra>"), row=2, col=1)
    fig.update_yaxes(autorange="reversed", row=1, col=1)
    fig.update_yaxes(title="cosine", row=2, col=1)
    return layout(fig, "How each pooled vector changes across layers", max(480, 330 + 40 * len(grid.layers)))


def layer_similarity(grid: LayerGrid, layer: int) -> go.Figure:
    layer = int(min(max(layer, 0), grid.num_layers))
    z = rounded(grid.similarity[layer], 2)
    fig = go.Figure(go.Heatmap(z=z, x=grid.names, y=grid.names, zmin=-1, zmax=1, colorscale=DIVERGING,
                               texttemplate="%{z:.2f}", hovertemplate="%{y} vs %{x}: %{z}<extra></extra>"))
    fig.update_yaxes(autorange="reversed")
    return layout(fig, f"Cosine between poolings at {grid.layers[layer]}", 140 + 32 * len(grid.names))


def layer_probe(grid: LayerGrid) -> go.Figure:
    """Each trained head applied to every layer: probability of its predicted class, label as text. EXPLORATORY."""
    probs = grid.probe_probs  # (L+1, P, C)
    has = ~np.isnan(probs[..., 0])  # (L+1, P)
    k = np.nan_to_num(probs, nan=-1).argmax(-1)  # (L+1, P)
    z = np.where(has, np.nan_to_num(probs, nan=0).max(-1), np.nan)  # (L+1, P)
    text = [[grid.labels[k[l, p]] if has[l, p] else "no head" for p in range(len(grid.names))] for l in range(len(grid.layers))]
    fig = go.Figure(go.Heatmap(z=[[None if np.isnan(v) else float(f"{v:.3g}") for v in row] for row in z],
                               x=grid.names, y=grid.layers, zmin=0, zmax=1, colorscale=SEQUENTIAL, text=text,
                               texttemplate="%{text}<br>%{z:.2f}", hovertemplate="%{x} head at %{y}: %{text} %{z}<extra></extra>"))
    fig.update_yaxes(autorange="reversed")
    return layout(fig, "EXPLORATORY PROBE: trained heads (trained on the last layer) applied to every layer",
                   160 + 36 * len(grid.layers))

def layer_grid_json(g: LayerGrid) -> dict:
    probe = {}
    for j, p in enumerate(g.names):
        pr = g.probe_probs[:, j]  # (L+1, C)
        probe[p] = None if np.isnan(pr).all() else [dict(zip(g.labels, rounded(row, 4))) for row in pr]
    return {"tokens": g.tokens, "layers": g.layers, "names": g.names, "shape": [len(g.layers), len(g.names)],
            "drift": rounded(g.drift), "norms": rounded(g.norms), "mean_pairwise": rounded(g.mean_pairwise),
            "similarity": rounded(g.similarity, 3), "probe": probe, "probe_note": g.probe_note}
