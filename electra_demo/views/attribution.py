"""Attribution -> bars, highlighted text and JSON. No gradio here. Colours: red = positive, blue = negative, grey = [PAD]."""
import numpy as np
import plotly.graph_objects as go

from ..lab.attribution import Attribution
from .common import escape, layout, rounded, sig, signed_colour


def attribution_bars(attr: Attribution, quantity: str = "weight") -> go.Figure:
    """One bar per position of the padded row; [PAD] positions grey (exactly 0 for every masked pooling)."""
    z = attr.weight if quantity == "weight" else attr.contribution
    x = list(range(len(attr.tokens)))
    colors = [signed_colour(v, p) for p, v in zip(attr.is_pad, z)]  # red +, blue -, grey [PAD]: as everywhere
    text = None if attr.dims_won is None or quantity != "weight" else [str(d) for d in attr.dims_won]
    fig = go.Figure(go.Bar(x=x, y=rounded(z, 4), marker_color=colors, text=text,
                           customdata=escape(attr.tokens),
                           hovertemplate="%{customdata}<br>%{y}<extra></extra>"))
    fig.update_xaxes(tickmode="array", tickvals=x, ticktext=escape(attr.tokens), tickangle=-60)
    fig.update_yaxes(title=quantity)
    return layout(fig, f"{attr.pooling}: {quantity} per token ({attr.side} padding; grey = [PAD])", 340)

def highlighted(attr: Attribution, quantity: str) -> list[tuple[str, float]]:
    z = attr.weight if quantity == "weight" else attr.contribution
    scale = float(np.abs(z).max()) or 1.0
    return [(t + " ", round(float(v) / scale, 3)) for t, v in zip(attr.tokens, z)]

def attribution_json(a: Attribution) -> dict:
    return {"pooling": a.pooling, "side": a.side, "tokens": a.tokens, "is_pad": a.is_pad.tolist(),
            "weight": rounded(a.weight, 4), "contribution": rounded(a.contribution, 4),
            "weight_on_padding": float(np.abs(a.weight[a.is_pad]).sum()) if a.is_pad.any() else 0.0,
            "dims_won": None if a.dims_won is None else a.dims_won.tolist(),
            "vector_max_diff": sig(a.vector_max_diff), "unpadded_max_diff": sig(a.unpadded_max_diff),
            "note": a.note}
