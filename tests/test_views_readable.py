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
