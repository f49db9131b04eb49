"""Figures that read right (issue 23): attention scaled per row or head, its top tokens at any length, [CLS] first."""
import numpy as np

from electra_demo.lab.attention import attention_view
from electra_demo.views import attention as views


def test_attention_scales_and_top_tokens_at_full_length(tiny_loaded):
    text = " ".join(["the film was good"] * 40)  # cut at the model's length
    v = attention_view(tiny_loaded, text, 0, "right")
    att = v.attentions[-1]  # (A, T, T)
    assert np.allclose(views.scaled(att, "row").max(-1), 1) and np.allclose(views.scaled(att, "head").max((-2, -1)), 1)
    assert np.array_equal(views.scaled(att, "fixed"), att)
    table = views.top_keys(v, v.num_layers)
    assert len(table) == len(v.tokens) and table.iloc[0, 0] == "0: [CLS]"  # one row per token, [CLS] first
    fig = views.head_grid(v, v.num_layers)
    assert len(fig.layout.shapes) == v.num_heads and "[CLS] row outlined" in fig.layout.title.text


def test_cls_row_outline_follows_left_padding(tiny_loaded):
    v = attention_view(tiny_loaded, "a good film", 3, "left")
    assert views.cls_position(v) == 3 and v.tokens[3] == "[CLS]"
    assert views.top_keys(v, 1, head=1).iloc[0, 0] == "3: [CLS]"


def test_one_palette_truncated_axes_said_one_rounding_rule(tiny_loaded):
    import re

    from electra_demo.lab.explain import explain
    from electra_demo.views import common, compare
    from electra_demo.views import explain as ev

    a, b = explain(tiny_loaded, "the film was good"), explain(tiny_loaded, "a terrible boring plot")
    cos = compare.cosines(a, b)
    fig = compare.compare_figure(a, b)
    colours = fig.data[0].marker.color
    assert all(c == (common.POSITIVE if cos[p] >= 0 else common.NEGATIVE) for c, p in zip(colours, cos))  # negative = blue
    lo = fig.layout.xaxis.range[0]
    assert (f"axis starts at {lo:.2f}, not 0" in fig.layout.xaxis.title.text) == (lo > 0)
    same = compare.compare_figure(a, a)  # all cosines 1: a zoomed axis, said on the figure
    assert "not 0" in same.layout.xaxis.title.text and "zoomed" in same.layout.title.text
    probs = ev.pooling_table(a)["prob"].dropna().tolist() + [c for c in ev.pooled_label(a, "cls").split()[-1:]]
    assert probs and all(re.fullmatch(r"[01]\.\d\d", str(p)) for p in probs), probs  # one rule: two decimals
    assert "LayerNorm" in ev.token_trajectories(a).layout.annotations[0].text


def test_pooled_vectors_offer_per_row_scaling(tiny_loaded):
    from electra_demo.lab.explain import explain
    from electra_demo.views import explain as ev

    fig = ev.pooled_vectors(explain(tiny_loaded, "the film was good"))
    (heat,) = fig.data  # one trace the buttons restyle (a hidden second trace drew a blank colour bar when shown)
    one, per_row = [b.args[0] for b in fig.layout.updatemenus[0].buttons]
    assert [b.label for b in fig.layout.updatemenus[0].buttons] == ["one scale", "per row"]
    assert np.array_equal(np.asarray(one["z"][0]), np.asarray(heat.z)) and one["zmax"] == [heat.zmax] > [1]  # sizes
    assert np.allclose(np.abs(np.asarray(per_row["z"][0])).max(1), 1, atol=1e-3) and per_row["zmax"] == [1]


def test_titles_carry_a_phone_fit_and_a_wide_fit():
    """layout() wraps for a phone and keeps the wide fit (the page applies it from WIDE_PX): fewer lines, a smaller
    figure, subplot titles wrapped per column in both."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    from electra_demo.views.common import TITLE_CHARS, WIDE_CHARS, WIDE_PX, layout

    title = "Masked poolings stay put (flat at 0 and 1); naive ones (dashed) drift as N grows, on both sides"
    fig = make_subplots(rows=1, cols=2, subplot_titles=["right: L2 distance to N = 0 over the whole sweep", "left"])
    fig.add_trace(go.Scatter(y=[0, 1]), 1, 1)
    fit = layout(fig, title, 400).layout.meta["fit"]
    narrow, wide = fit["narrow"], fit["wide"]
    assert fit["px"] == WIDE_PX and fig.layout.title.text == narrow["title.text"] and fig.layout.height == narrow["height"]
    assert all(len(line) <= TITLE_CHARS for line in narrow["title.text"].split("<br>"))
    assert all(len(line) <= WIDE_CHARS for line in wide["title.text"].split("<br>"))
    assert wide["title.text"].count("<br>") < narrow["title.text"].count("<br>") and wide["height"] < narrow["height"]
    assert fig.layout.annotations[0].text == narrow["annotations[0].text"] != wide["annotations[0].text"]
    assert wide["margin.t"] < narrow["margin.t"]
