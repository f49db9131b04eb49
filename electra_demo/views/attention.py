"""AttentionView -> per-head attention heatmaps of one layer, the [CLS] row of every layer and head, the learned
attention POOLING's weights beside them, and JSON. No gradio here."""
import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..lab.attention import AttentionView
from .common import PAD_GREY, SEQUENTIAL, escape, layout, rounded, signed_colour, token_axis


def head_grid(view: AttentionView, layer: int) -> go.Figure:
    """Every head of one layer: rows = query tokens, columns = key tokens; [PAD] columns are exactly 0."""
    layer = int(min(max(layer, 1), view.num_layers))
    A = view.num_heads
    cols = min(A, 2)
    rows = -(-A // cols)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=[f"head {a + 1}" for a in range(A)],
                        horizontal_spacing=0.12, vertical_spacing=0.12 / max(rows - 1, 1) + 0.05)
    axis = token_axis(view.tokens, 40)
    for a in range(A):
        fig.add_trace(go.Heatmap(z=rounded(view.attentions[layer - 1, a], 2), zmin=0, zmax=1, colorscale=SEQUENTIAL,
                                 showscale=a == 0, hovertemplate="query %{y}<br>key %{x}<br>%{z}<extra></extra>"),
                      row=a // cols + 1, col=a % cols + 1)
    fig.update_yaxes(autorange="reversed", **axis)
    fig.update_xaxes(tickangle=-60, **axis)
    T = len(view.tokens)
    return layout(fig, f"Layer {layer}: attention of each head (rows: query, columns: key), T={T}",
                  120 + rows * (120 + 9 * min(T, 40)))


def cls_rows(view: AttentionView) -> go.Figure:
    """What [CLS] reads: its attention row for every layer and head (the input `cls` pooling's vector mixes)."""
    L, A, T = view.cls_row.shape
    z = view.cls_row.reshape(L * A, T)  # (L*A, T)
    fig = go.Figure(go.Heatmap(z=rounded(z, 2), zmin=0, zmax=1, colorscale=SEQUENTIAL,
                               hovertemplate="%{y}<br>key %{x}<br>%{z}<extra></extra>"))
    fig.update_yaxes(autorange="reversed", tickmode="array", tickvals=list(range(L * A)),
                     ticktext=[f"layer {l + 1} head {a + 1}" for l in range(L) for a in range(A)])
    fig.update_xaxes(tickangle=-60, **token_axis(view.tokens, 60))
    return layout(fig, "The [CLS] row: what [CLS] attends to at every layer and head", 140 + 16 * L * A)


def pooling_vs_attention(view: AttentionView) -> go.Figure:
    """The learned `attention` pooling's weights next to the last layer's [CLS] attention averaged over heads:
    two different things (a pooling after the encoder vs self-attention inside it)."""
    x = list(range(len(view.tokens)))
    fig = go.Figure()
    fig.add_trace(go.Bar(x=x, y=rounded(view.cls_row[-1].mean(0), 3), name="last layer: [CLS] self-attention, mean of heads",
                         marker_color=[PAD_GREY if p else signed_colour(1.0) for p in view.is_pad]))
    if view.pooling_weights is not None:
        fig.add_trace(go.Bar(x=x, y=rounded(view.pooling_weights, 3), name="learned `attention` pooling weights",
                             marker_color=[PAD_GREY if p else "#1b9e77" for p in view.is_pad]))
    fig.update_xaxes(tickmode="array", tickvals=x, ticktext=escape(view.tokens), tickangle=-60)
    fig.update_yaxes(title="weight", range=[0, 1])
    title = ("Self-attention is not the attention pooling" if view.pooling_weights is not None
             else "[CLS] self-attention (this model has no learned attention pooling)")
    layout(fig, title, 360, top=80)
    fig.update_layout(barmode="group", legend=dict(orientation="h", y=1.02, yanchor="bottom", x=0))  # above: ticks below
    return fig


MAX_MATRIX_NUMBERS = 65_536  # full matrices of one layer up to this many numbers (~600 kB of JSON); beyond, the top-k
TOP_K = 8  # per query row and head, when the full matrices would not fit


def attention_json(view: AttentionView, layer: int | None = None) -> dict:
    """Shapes, the [CLS] rows, the pooling weights, the padding mass, and one layer's matrices, bounded so the answer
    stays under 1 MB whatever the model: the full (A, T, T) matrices while they hold at most MAX_MATRIX_NUMBERS numbers
    (`matrices: "full"`), else each query row's TOP_K largest weights per head as indices and values (`"top-k"`; 12 heads
    at 128 tokens would be 1.8 MB in full)."""
    layer = view.num_layers if layer is None else int(min(max(layer, 1), view.num_layers))
    att = view.attentions[layer - 1]  # (A, T, T)
    out = {"tokens": view.tokens, "is_pad": view.is_pad.tolist(), "side": view.side,
           "shape": list(view.attentions.shape), "layer": layer, "cls_row": rounded(view.cls_row, 3),
           "pooling_weights": None if view.pooling_weights is None else rounded(view.pooling_weights, 3),
           "padding_mass": float(np.float32(view.padding_mass))}
    if att.size <= MAX_MATRIX_NUMBERS:
        return {**out, "matrices": "full", "attentions": rounded(att, 3)}
    k = min(TOP_K, att.shape[-1])
    index = np.argsort(-att, axis=-1, kind="stable")[..., :k]  # (A, T, k) largest first
    return {**out, "matrices": "top-k", "attentions": None,
            "top_k": {"k": k, "index": index.tolist(), "value": rounded(np.take_along_axis(att, index, -1), 3)}}
