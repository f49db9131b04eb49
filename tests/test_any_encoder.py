"""Any encoder classifier through the Auto classes: tiny local BERT, RoBERTa, DistilBERT, DeBERTa-v2, ALBERT and ELECTRA
folders saved with save_pretrained; pooler_output present exactly where the architecture has a pooler."""
import json

import numpy as np
import pytest
import torch
from transformers import (
    AutoModelForSequenceClassification,
)

from electra_demo.errors import CheckpointError
from electra_demo.lab.any_encoder import encoder_trace, load_encoder, tiny_config, tiny_encoder
from electra_demo.pooling import POOLERS
from electra_demo.views.any_encoder import trace_json, trace_markdown

HAS_POOLER = {"bert": True, "albert": True, "roberta": False, "distilbert": False, "deberta-v2": False, "electra": False}


@pytest.fixture(scope="module", params=list(HAS_POOLER))
def folder(request, tmp_path_factory, tiny_tokenizer):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp(request.param)
    config = tiny_config(request.param, len(tiny_tokenizer), ["negative", "positive"])
    AutoModelForSequenceClassification.from_config(config).save_pretrained(path)
    tiny_tokenizer.save_pretrained(path)
    return request.param, str(path)


def test_trace_of_every_architecture(folder):
    kind, path = folder
    enc = load_encoder(path)
    assert enc.model.architecture == kind and enc.labels == ["negative", "positive"]
    t = encoder_trace(enc, "the movie was really good")
    assert t.has_pooler_output == HAS_POOLER[kind], (kind, t.output_keys)
    assert ("pooler_output" in t.output_keys) == HAS_POOLER[kind] and "last_hidden_state" in t.output_keys
    assert set(t.pooled) == set(POOLERS) and all(v.shape == (32,) for v in t.pooled.values())
    with torch.no_grad():  # the head shown is the checkpoint's own
        batch = enc.tokenizer(["the movie was really good"], return_tensors="pt")
        plain = AutoModelForSequenceClassification.from_pretrained(path).eval()
        np.testing.assert_allclose(t.logits, plain(**batch).logits[0].numpy(), atol=1e-5)
    assert ("has `pooler_output`" in trace_markdown(t)) == HAS_POOLER[kind]
    assert json.loads(json.dumps(trace_json(t)))["has_pooler_output"] == HAS_POOLER[kind]


def test_unsupported_or_missing_is_refused(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        load_encoder(str(tmp_path / "missing"))
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "gpt2"}))
    with pytest.raises(CheckpointError, match="'gpt2' model; supported: bert"):
        load_encoder(str(tmp_path))


def test_tiny_random_encoders_built_here(tiny_tokenizer):
    for kind, has in HAS_POOLER.items():
        t = encoder_trace(tiny_encoder(kind, tiny_tokenizer, ["a", "b", "c"]), "good film")
        assert t.has_pooler_output == has and t.probs.shape == (3,)


def test_the_any_encoder_tab_loads_through_the_one_door(folder, tmp_path):
    """A folder the Any encoder tab offers gets the model menu's checks: a 10,000-layer config is refused in one line
    before anything is allocated, a folder without weights too."""
    import shutil

    kind, path = folder
    bad = tmp_path / "bad"
    shutil.copytree(path, bad)
    cfg = json.loads((bad / "config.json").read_text())
    layers = "n_layers" if kind == "distilbert" else "num_hidden_layers"
    (bad / "config.json").write_text(json.dumps({**cfg, layers: 10_000}))
    with pytest.raises(CheckpointError, match=f"config {layers} = 10000 is outside the supported range"):
        load_encoder(str(bad))
