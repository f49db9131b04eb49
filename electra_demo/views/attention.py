"""AttentionView -> per-head attention heatmaps of one layer, the [CLS] row of every layer and head, the learned
attention POOLING's weights beside them, and JSON. No gradio here."""
import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..lab.attention import AttentionView
from .common import PAD_GREY, SEQUENTIAL, escape, layout, rounded, signed_colour, token_axis

# colour scales for attention: a row sums to 1 over T keys, so on a fixed 0..1 scale long rows look uniformly dark
SCALES = {"row": "each row to its largest", "head": "each head to its largest", "fixed": "fixed 0 to 1"}
CLS_OUTLINE = "#e7298a"  # the [CLS] query row's outline: no value colour (not red/blue, not on Viridis)


def scaled(att: np.ndarray, scale: str) -> np.ndarray:
    """Attention (..., T, T) for the colour scale: each query row or each head divided by its own largest weight
    (structure shows at any length), or as is."""
    if scale == "row":
        return att / att.max(-1, keepdims=True).clip(min=1e-12)
    if scale == "head":
        return att / att.max((-2, -1), keepdims=True).clip(min=1e-12)
    return att


def _scale_title(scale: str) -> str:
    return {"row": "weight / row max", "head": "weight / head max", "fixed": "weight"}[scale]


def cls_position(view: AttentionView) -> int:
    return int(np.argmax(~view.is_pad))  # the first real token (left padding puts pads before it)


def head_grid(view: AttentionView, layer: int, scale: str = "row") -> go.Figure:
    """Every head of one layer: rows = query tokens, columns = key tokens; [PAD] columns are exactly 0. `scale`: see
    SCALES (row-wise by default: a head's structure shows even at 128 tokens). The [CLS] row is outlined."""
    layer = int(min(max(layer, 1), view.num_layers))
    A = view.num_heads
    cols = min(A, 2)
    rows = -(-A // cols)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=[f"head {a + 1}" for a in range(A)],
                        horizontal_spacing=0.12, vertical_spacing=0.12 / max(rows - 1, 1) + 0.05)
    axis = token_axis(view.tokens, 40)
    T, c = len(view.tokens), cls_position(view)
    z = scaled(view.attentions[layer - 1], scale)  # (A, T, T)
    for a in range(A):
        fig.add_trace(go.Heatmap(z=rounded(z[a], 2), zmin=0, zmax=1, colorscale=SEQUENTIAL, showscale=a == 0,
                                 colorbar=dict(title=dict(text=_scale_title(scale), side="right"), thickness=12),
                                 hovertemplate=f"query %{{y}}<br>key %{{x}}<br>{_scale_title(scale)} %{{z}}<extra></extra>"),
                      row=a // cols + 1, col=a % cols + 1)
        fig.add_shape(type="rect", x0=-0.5, x1=T - 0.5, y0=c - 0.5, y1=c + 0.5, line=dict(color=CLS_OUTLINE, width=2),
                      row=a // cols + 1, col=a % cols + 1)
    fig.update_yaxes(autorange="reversed", **axis)
    fig.update_xaxes(tickangle=-60, **axis)
    return layout(fig, f"Layer {layer}: each head (rows: query, columns: key), T={T}; colour: {SCALES[scale]}; "
                       "[CLS] row outlined", 120 + rows * (120 + 9 * min(T, 40)))


def top_keys(view: AttentionView, layer: int, head: int | None = None, k: int = 3) -> pd.DataFrame:
    """Readable at any length: each query token's `k` most-attended key tokens with their weights, for one head
    (1-based) or the mean of the layer's heads (None). The [CLS] row comes first."""
    layer = int(min(max(layer, 1), view.num_layers))
    att = view.attentions[layer - 1]  # (A, T, T)
    a = att.mean(0) if head is None else att[int(head) - 1]  # (T, T)
    k = min(k, a.shape[-1])
    top = np.argsort(-a, axis=-1, kind="stable")[:, :k]  # (T, k)
    c = cls_position(view)
    order = [c] + [q for q in range(len(view.tokens)) if q != c and not view.is_pad[q]]
    rows = [[f"{q}: {view.tokens[q]}"] + [f"{view.tokens[j]} ({j}) {a[q, j]:.2f}" for j in top[q]] for q in order]
    return pd.DataFrame(rows, columns=["query"] + [f"top {i + 1}" for i in range(k)])


def cls_rows(view: AttentionView, scale: str = "row") -> go.Figure:
    """What [CLS] reads: its attention row for every layer and head (the input `cls` pooling's vector mixes); each row
    to its own largest weight unless `scale` is "fixed"."""
    L, A, T = view.cls_row.shape
    z = view.cls_row.reshape(L * A, T)  # (L*A, T)
    scale = "fixed" if scale == "fixed" else "row"  # one row per head here: head-wise is row-wise
    fig = go.Figure(go.Heatmap(z=rounded(scaled(z, scale), 2), zmin=0, zmax=1, colorscale=SEQUENTIAL,
                               colorbar=dict(title=dict(text=_scale_title(scale), side="right"), thickness=12),
                               hovertemplate=f"%{{y}}<br>key %{{x}}<br>{_scale_title(scale)} %{{z}}<extra></extra>"))
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
    layout(fig, title, 420, top=150)  # the legend above the plot: two rows of it on a phone
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
