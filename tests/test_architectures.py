"""Any encoder's classifier in every view: tiny BERT, ALBERT, RoBERTa, DistilBERT, DeBERTa-v2 and ELECTRA sequence
classifiers saved with save_pretrained go through the one loader, `predict`, `explain` and every lab, each through
the checkpoint's own modules (its logits equal plain transformers')."""
import json

import numpy as np
import pytest
import torch
from transformers import AutoModelForSequenceClassification

from electra_demo import pooling
from electra_demo.checkpoint import load_classifier
from electra_demo.encoders import AutoPoolingClassifier
from electra_demo.errors import CheckpointError
from electra_demo.lab import explain as explain_lab
from electra_demo.lab.any_encoder import tiny_config
from electra_demo.lab.attention import attention_view
from electra_demo.lab.attribution import attribution, attribution_poolings
from electra_demo.lab.dataset import dataset_view
from electra_demo.lab.explain import explain
from electra_demo.lab.layer_grid import layer_grid
from electra_demo.lab.mismatch import mismatch_view
from electra_demo.lab.padding import padding_lab
from electra_demo.lab.pooler_output import explain_pooler, pooler_origin
from electra_demo.lab.similarity import similarity_view
from electra_demo.training import predict
from electra_demo.views import explain as views

from .conftest import make_rows, write_tsv

KINDS = ["bert", "albert", "roberta", "distilbert", "deberta-v2", "electra"]
LABELS = ["sad", "neutral", "happy"]
POOLER = {"bert": True, "albert": True}  # the base models whose output has pooler_output


@pytest.fixture(scope="module", params=KINDS)
def saved(request, tmp_path_factory, tiny_tokenizer):
    """(kind, folder, the plain transformers model): a tiny random classifier saved as save_pretrained writes it."""
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp(request.param)
    hf = AutoModelForSequenceClassification.from_config(tiny_config(request.param, len(tiny_tokenizer), LABELS)).eval()
    hf.save_pretrained(path)
    tiny_tokenizer.save_pretrained(path)
    return request.param, str(path), hf


@pytest.fixture(scope="module")
def loaded(saved):
    return load_classifier(saved[1])


def test_the_checkpoints_own_head_gives_plain_transformers_logits(saved, loaded):
    kind, _, hf = saved
    assert loaded.model.architecture == kind and loaded.labels == LABELS
    assert isinstance(loaded.model, AutoPoolingClassifier) == (kind != "electra")
    batch = loaded.tokenizer(["a good film here", "bad"], padding=True, return_tensors="pt")  # right padding
    with torch.no_grad():
        want = hf(**batch).logits
        got = loaded.model(batch["input_ids"], batch["attention_mask"])[loaded.main_pooling]
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)
    e = explain(loaded, "a good film here")
    np.testing.assert_allclose(e.logits, want[0].numpy(), atol=1e-5)


def test_the_shape_trace_follows_the_models_own_path(saved, loaded):
    kind = saved[0]
    rows = {r.name: r for r in explain(loaded, "a good film").shapes}
    po = rows["pooler_output"]
    assert (po.shape != "absent") == POOLER.get(kind, False), (kind, po)
    assert rows["logits"].shape == "(1, 3)" and rows["last_hidden_state"].shape.endswith(", 32)")
    what = rows[f"heads[{loaded.main_pooling}] intermediate"].note
    assert {"bert": "BertPooler", "albert": "AlbertModel.pooler", "roberta": "RobertaClassificationHead",
            "distilbert": "pre_classifier", "deberta-v2": "ContextPooler", "electra": "ElectraClassificationHead"}[kind] in what


def test_every_pooling_and_lab_runs(saved, loaded, tmp_path):
    kind = saved[0]
    e = explain(loaded, "a good film here")
    assert set(pooling.POOLERS) <= set(e.pooled) and e.heads[loaded.main_pooling] is not None
    if kind != "electra":  # the one head is the checkpoint's own; every other pooling says "no head trained"
        assert [p for p, h in e.heads.items() if h is not None] == ["cls"]
        assert views.pooling_table(e) is not None
    json.dumps(views.to_json(e))
    lab = padding_lab(loaded, "a good film here", n_pads=8)
    for p in pooling.POOLERS:  # masked poolings: padding-invariant on every architecture, either side
        i = lab.names.index(p)
        for side in lab.sides.values():
            assert side.distance[i].max() < 1e-4, (kind, p, side.side, side.distance[i])
    for p in attribution_poolings(loaded.model)[:3]:
        attribution(loaded, "a good film here", p)
    assert layer_grid(loaded, "a good film").probe_probs.shape[0] == len(e.hidden_states)
    att = attention_view(loaded, "a good film", n_pad=2, side="left")
    assert att.padding_mass < 1e-4 and att.attentions.shape[-1] == len(att.tokens)
    sentences = [s for s, _ in make_rows(12, 3)]
    similarity_view(loaded, "a good film", sentences, [i % 3 for i in range(12)])
    mismatch_view(loaded, "a good film", sentences)
    write_tsv(tmp_path / "d.tsv", [(s, LABELS[i % 3]) for i, s in enumerate(sentences * 2)])
    dataset_view(loaded, str(tmp_path / "d.tsv"))
    assert "checkpoint" in pooler_origin(loaded) and explain_pooler(loaded).yours is not None


def test_predict_cli_on_every_architecture(saved, tmp_path, capsys):
    rows = [(s, LABELS[i % 3]) for i, (s, _) in enumerate(make_rows(9, 4))]
    write_tsv(tmp_path / "in.tsv", rows)
    summary = predict.main(["--checkpoint", saved[1], "--input", str(tmp_path / "in.tsv"), "--output",
                            str(tmp_path / "out.tsv")])
    assert summary["n"] == 9 and 0 <= summary["accuracy"] <= 1 and list(summary["per_head"]) == ["cls"]
    assert len((tmp_path / "out.tsv").read_text().splitlines()) == 10


def test_explain_runs_the_encoder_once(loaded):
    before = explain_lab.ENCODER_CALLS[0]
    calls = []
    handle = loaded.model.backbone.register_forward_hook(lambda *a: calls.append(1))
    try:
        explain(loaded, "one more sentence")
    finally:
        handle.remove()
    assert len(calls) == 1 and explain_lab.ENCODER_CALLS[0] == before + 1


@pytest.mark.parametrize("kind", KINDS[:-1])  # ELECTRA folders go through our own loader's checks (test_safety)
def test_a_foreign_folder_is_checked_before_loading(kind, tmp_path, tiny_tokenizer):
    from safetensors.torch import save_file

    hf = AutoModelForSequenceClassification.from_config(tiny_config(kind, len(tiny_tokenizer), LABELS))
    hf.save_pretrained(tmp_path / "bad")
    tiny_tokenizer.save_pretrained(tmp_path / "bad")
    bad = tmp_path / "bad"
    state = {k: v for k, v in hf.state_dict().items() if "classifier" not in k and "pooler" not in k}
    save_file({k: v.contiguous() for k, v in state.items()}, str(bad / "model.safetensors"))
    with pytest.raises(CheckpointError, match="weights do not match its config.*missing"):
        load_classifier(str(bad))
    (bad / "model.safetensors").unlink()
    with pytest.raises(CheckpointError, match="safetensors weights only"):
        load_classifier(str(bad))
    cfg = json.loads((bad / "config.json").read_text())
    (bad / "config.json").write_text(json.dumps({**cfg, "model_type": "gpt2"}))
    with pytest.raises(CheckpointError, match="'gpt2' model; supported: bert"):
        load_classifier(str(bad))


def test_every_public_endpoint_answers_for_every_architecture(loaded, tmp_path):
    """The page built on the model: each endpoint a client may call, run in process with the sentence and every other
    input at its component's default; each answers with JSON, not an error."""
    import inspect

    from electra_demo.app.gradio_adapter import endpoints_of, event_functions
    from electra_demo.app.page import build_demo

    demo = build_demo(loaded)
    names = endpoints_of(demo)
    assert {"predict", "explain", "shapes", "pooling", "compare", "padding_lab", "attribution", "layer_grid",
            "similarity", "mismatch", "attention"} <= set(names)
    by_api = {fn.api_name: fn for fn in demo.fns.values() if fn.api_name in names}
    for api, block in by_api.items():
        (fn, inputs), = [(f, i) for f, i in event_functions(demo, block.name) if f is block.fn]
        defaults = [p.default for p in inspect.signature(fn).parameters.values()][: len(inputs)]
        args = [c.value if c.value is not None or d is inspect.Parameter.empty else d for c, d in zip(inputs, defaults)]
        args = [c.choices[0][1] if a is None and getattr(c, "choices", None) else a for c, a in zip(inputs, args)]
        given = {"text": "a good film here", "other": "a dull plot", "sentences": [s for s, _ in make_rows(10, 6)]}
        args = [given.get(n, "mean" if n == "name" and a is None else a) for n, a in zip(names[api], args)]
        if api == "dataset":  # a labelled file with the model's own labels
            write_tsv(tmp_path / "set.tsv", [(s, LABELS[i % 3]) for i, (s, _) in enumerate(make_rows(24, 5))])
            args[0] = str(tmp_path / "set.tsv")
        out = fn(*args)
        json.dumps({str(k): v for k, v in out.items()} if isinstance(out, dict) else out, default=str)
        assert out is not None, api
