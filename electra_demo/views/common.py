"""What every view shares: the one palette, the figure layout, rounding for small payloads, safe labels.

One meaning per colour in the whole app: on a diverging scale (hidden states, attribution, cosine)
red = positive value, blue = negative, white = 0; padding is grey; classes get a qualitative palette
with neither red nor blue, so "red" never means a class. Figures are transparent and follow the page's
light or dark theme (text colour from plotly's neutral grey works on both).
"""
import html
import re

import numpy as np
import plotly.graph_objects as go

DIVERGING = "RdBu_r"  # -1 blue .. 0 white .. +1 red
SEQUENTIAL = "Viridis"  # norms, probabilities, counts
POSITIVE, NEGATIVE, PAD_GREY = "#d6604d", "#4393c3", "#9e9e9e"  # the ends of DIVERGING, and padding
CLASS_COLOURS = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666"]  # Dark2
LINE_COLOURS = CLASS_COLOURS + ["#17becf", "#bcbd22", "#8c564b", "#393b79"]  # one per pooling in line plots
TEXT_GREY = "#888888"  # readable on white and on Gradio's dark background


def class_colour(k: int) -> str:
    return CLASS_COLOURS[k % len(CLASS_COLOURS)]


def signed_colour(v: float, is_pad: bool = False) -> str:
    return PAD_GREY if is_pad else (POSITIVE if v >= 0 else NEGATIVE)


def prob_text(p: float) -> str:
    """THE rounding rule for a probability shown in a table, a label or a summary: two decimals, always written
    (0.97, 1.00, 0.50). JSON keeps 4 significant digits; the prediction box shows Gradio's percentages."""
    return f"{float(p):.2f}"


TITLE_CHARS = 42  # characters per title line: a phone's figure (~350 px at 14 px text) holds about this many
WIDE_CHARS = 96  # ... and a figure at least WIDE_PX wide (a laptop, a projector) this many
WIDE_PX = 760
LINE_PX = 18  # height of one more title line


def wrap(text: str, width: int) -> str:
    """`text` broken at spaces into lines of at most `width` characters (plotly never wraps a title itself, so on a
    phone a long one runs out of the figure and over its neighbours)."""
    lines, line = [], ""
    for word in str(text).split(" "):
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return "<br>".join(lines + [line])


def fitted(title: str, subtitles: dict[int, str], columns: int, height: int, top: int, chars: int, reserve: int = 0) -> dict:
    """The Plotly.relayout update that fits a figure's title in lines of `chars` characters, its subplot titles (12 px,
    by annotation index) in their column's share, and grows the top margin and the figure by the lines added, keeping
    `reserve` px free between the title and the plot (for buttons there)."""
    title = wrap(title, chars)
    subs = {i: wrap(t, max(14, (chars + 6) // columns)) for i, t in subtitles.items()}
    sub = max((t.count("<br>") for t in subs.values()), default=0)  # lines added to the top row's subplot titles
    # plotly puts the title's first baseline at the middle of the top margin, its other lines below it, and the top
    # row's subplot titles grow up from the plot: the margin holds both
    lines = LINE_PX * title.count("<br>")
    need = 2 * (lines + 8 + reserve + ((15 * (sub + 1) + 4) if subtitles else 0))
    extra = max(lines + 15 * sub, need - top)
    return {"title.text": title, "height": height + extra, "margin.t": top + extra,
            **{f"annotations[{i}].text": t for i, t in subs.items()}}


def layout(fig: go.Figure, title: str, height: int, top: int = 50, reserve: int = 0) -> go.Figure:
    """Title, height, transparent background (follows the page theme), room for tick labels, no 8 kB template.
    Readable from a phone to a projector: the title and the subplot titles wrapped to a phone's width (the figure
    grows by the lines added), the legend below the x-axis titles; `layout.meta.fit` holds the same for a wide figure,
    which the page applies to every figure at least WIDE_PX wide (app/page.py, electraFit)."""
    columns = len({tuple(fig.layout[k].domain or (0, 1)) for k in fig.layout if k.startswith("xaxis")}) or 1
    subtitles = {i: a.text for i, a in enumerate(fig.layout.annotations or ())
                 if a.text and a.yanchor == "bottom" and a.xref == "paper"}
    narrow, wide = (fitted(title, subtitles, columns, height, top, chars, reserve) for chars in (TITLE_CHARS, WIDE_CHARS))
    for i in subtitles:
        fig.layout.annotations[i].update(text=narrow[f"annotations[{i}].text"], font_size=12)
    plot = max(height - top - 10, 100)
    titled = any(fig.layout[k].title.text for k in fig.layout if k.startswith("xaxis"))
    fig.update_layout(title=dict(text=narrow["title.text"], x=0, font=dict(size=14)), height=narrow["height"],
                      margin=dict(l=10, r=10, t=narrow["margin.t"], b=10), template="none", paper_bgcolor="rgba(0,0,0,0)",
                      plot_bgcolor="rgba(0,0,0,0)", font=dict(color=TEXT_GREY),
                      legend=dict(orientation="h", yanchor="top", y=-min(0.5, max(0.15, (110 if titled else 60) / plot))),
                      meta=dict(fit=dict(px=WIDE_PX, narrow=narrow, wide=wide)))
    fig.update_xaxes(automargin=True, gridcolor="rgba(128,128,128,0.2)")
    fig.update_yaxes(automargin=True, gridcolor="rgba(128,128,128,0.2)")
    return fig


with np.errstate(over="ignore"):
    _POW10 = 10.0 ** np.arange(400)  # the same numbers as 10.0 ** k elementwise (inf from k = 309 on)


def round_array(a, digits=3) -> np.ndarray:
    """float64 array of `a` with `digits` significant digits (an int, or an array of them per element; vectorised, in
    few numpy calls: right after a forward pass each call costs ~10 us, whatever the array's size)."""
    a = np.asarray(a, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        k = digits - 1 - np.floor(np.log10(np.abs(a)))  # decimal places that keep `digits` significant digits
    k = np.where(np.isfinite(k), k, 0).astype(np.int64)
    p = _POW10[np.minimum(np.abs(k), len(_POW10) - 1)]  # 10.0 ** |k|, looked up (pow per element is most of the cost)
    if k.min(initial=0) >= 0:  # the usual case (every |a| < 10 ** digits): one branch
        return np.round(a * p) / p
    return np.where(k >= 0, np.round(a * p) / p, np.round(a / p) * p)


def rounded(a, digits: int = 3):
    """Nested lists of floats with `digits` significant digits (vectorised): small JSON and figure payloads."""
    return round_array(a, digits).tolist()


def rounded_many(arrays: list, digits=3) -> list:
    """[rounded(a, d) for a, d in zip(arrays, digits)] (digits: one int for all, or one per array), with one
    vectorised rounding over all of them (same numbers)."""
    arrays = [np.asarray(a, dtype=np.float64) for a in arrays]
    sizes = [a.size for a in arrays]
    if not isinstance(digits, int):
        digits = np.repeat(np.asarray(digits, dtype=np.int64), sizes)  # per element
    flat = round_array(np.concatenate([a.ravel() for a in arrays]), digits)
    return [part.reshape(a.shape).tolist() for part, a in zip(np.split(flat, np.cumsum(sizes)[:-1]), arrays)]


def sig(x: float, digits: int = 3) -> float:
    return rounded(float(x), digits)


def zmax(z) -> float:
    """Symmetric colour-scale bound for z (1.0 when z is all zeros)."""
    m = float(np.abs(np.asarray(z)).max()) if np.size(z) else 0.0
    return sig(m) or 1.0


def escape(tokens) -> list[str]:
    """Tokens and sentences as plotly labels: plotly renders a subset of HTML, so escape it."""
    return [html.escape(str(t)) for t in tokens]


MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>])")


def md_text(value, limit: int = 200) -> str:
    """Anything a checkpoint says (labels, training_info), as plain text inside markdown: cut to `limit` characters,
    HTML escaped and every markdown character backslash-escaped, so `<img src=...>` or `![p](url)` shows as typed and
    the browser fetches nothing."""
    text = str(value)
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return MARKDOWN_SPECIALS.sub(r"\\\1", html.escape(" ".join(text.split())))


def label_of(labels: list[str], k, missing: str = "-") -> str:
    """labels[k], or `missing` for k < 0 (no prediction)."""
    return labels[int(k)] if k >= 0 else missing


def token_axis(tokens: list[str], max_labels: int = 128) -> dict:
    """Tick text for tokens on a numeric axis (repeated tokens keep their own rows); every token up to max_labels."""
    T = len(tokens)
    step = max(1, -(-T // max_labels))
    return dict(tickmode="array", tickvals=list(range(0, T, step)), ticktext=escape(tokens)[::step])
