"""Two models, one sentence: our ELECTRA beside a BERT classifier (another architecture, another label set, another
hidden size): both explanations, both shape traces matched by tensor name, and each pooling's neighbours under both."""
import json

import numpy as np
import pytest
import torch
from transformers import AutoModelForSequenceClassification

from electra_demo.checkpoint import LoadedModel
from electra_demo.encoders import AutoPoolingClassifier
from electra_demo.errors import InputError
from electra_demo.lab.any_encoder import tiny_config
from electra_demo.lab.model_pair import model_pair
from electra_demo.views import model_pair as views

from .conftest import make_rows, tiny_classifier


@pytest.fixture(scope="module")
def pair(tiny_tokenizer):
    ours = LoadedModel(tiny_classifier(tiny_tokenizer, seed=3), tiny_tokenizer, "ours")
    torch.manual_seed(4)
    cfg = tiny_config("bert", len(tiny_tokenizer), ["a", "b", "c"])
    cfg.hidden_size, cfg.intermediate_size = 48, 64
    bert = LoadedModel(AutoPoolingClassifier(AutoModelForSequenceClassification.from_config(cfg)).eval(), tiny_tokenizer,
                       "bert")
    sentences = [s for s, _ in make_rows(30, 7)]
    return ours, bert, sentences, model_pair(ours, bert, "a good film", sentences)


def test_both_models_and_the_neighbours(pair):
    ours, bert, sentences, v = pair
    assert v.a.hidden_states.shape[-1] == 32 and v.b.hidden_states.shape[-1] == 48
    assert v.poolings and set(v.poolings) <= set(v.a.pooled) & set(v.b.pooled)
    assert v.neighbours_a.shape == v.neighbours_b.shape == (len(v.poolings), 5)
    assert ((0 <= v.shared) & (v.shared <= 5)).all()
    same = model_pair(ours, ours, "a good film", sentences)  # a model beside itself shares every neighbour
    assert (same.shared == 5).all() and np.allclose(same.rank_corr, 1.0)


def test_the_views_show_both(pair):
    _, _, _, v = pair
    shapes = views.pair_shapes(v)
    row = shapes[shapes["tensor"] == "pooler_output"].iloc[0]
    assert row["model A"] == "absent" and row["model B"] != "absent"  # ELECTRA has no pooler; BERT has one
    heads = views.pair_heads(v)
    assert set(heads.columns) == set(views.HEAD_HEADERS) and (heads["head of B"] == "no head").any()
    assert len(views.pair_neighbours(v)) == len(v.poolings)
    assert "**A: ours**" in views.pair_summary(v, "ours", "bert")
    json.dumps(views.pair_json(v, "ours", "bert"))


def test_too_few_sentences_is_one_message(pair):
    ours, bert, _, _ = pair
    with pytest.raises(InputError, match="at least 6"):
        model_pair(ours, bert, "a good film", ["one", "two"])
