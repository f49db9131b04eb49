"""The lab backends: padding lab, pooler_output explainer, pooling attribution, layer grid, dataset view, their figures."""
import copy
import json

import numpy as np
import pytest
import torch

from electra_demo.data import tokenize
from electra_demo.errors import DataError, InputError
from electra_demo.lab.attribution import attribution, attribution_poolings
from electra_demo.lab.dataset import MAX_BYTES, MAX_ROWS, dataset_view, misclassified, pca_2d, ridge_probe
from electra_demo.lab.layer_grid import layer_grid
from electra_demo.lab.padding import SIDES, pad_ids, pad_sweep, padding_lab
from electra_demo.lab.pooler_output import explain_pooler, lightning_snippet
from electra_demo.pooling import NAIVE_POOLERS as NAIVE
from electra_demo.pooling import POOLERS
from electra_demo.pooling import TRAINABLE as ALL_POOLINGS
from electra_demo.training.predict import predict_probs
from electra_demo.views.attribution import attribution_bars, attribution_json
from electra_demo.views.dataset import confusion_figure, dataset_accuracy, dataset_json, dataset_scatter
from electra_demo.views.layer_grid import layer_drift, layer_grid_json, layer_probe, layer_similarity
from electra_demo.views.padding import padding_curves, padding_json, padding_vectors
from electra_demo.views.pooler_output import pooler_json
from tests.conftest import make_rows, write_tsv

TEXT = "the movie was really good"


@pytest.fixture(scope="module")
def lab(tiny_loaded):
    return padding_lab(tiny_loaded, TEXT, 40)


# ---- padding lab ----

def test_pad_sweep():
    assert pad_sweep(0) == [0] and pad_sweep(1) == [0, 1] and pad_sweep(50) == [0, 1, 2, 4, 8, 16, 32, 50]
    with pytest.raises(InputError, match="between 0 and"):
        pad_sweep(100_000)


def test_masked_poolings_identical_under_padding(lab, tiny_loaded):
    names = tiny_loaded.model.available_poolings()
    assert lab.names[: len(names)] == names and lab.names[len(names):] == list(NAIVE)
    assert lab.n_pads == [0, 1, 2, 4, 8, 16, 32, 40]
    for side in SIDES:
        s = lab.sides[side]
        P, S, H = s.vectors.shape
        assert (P, S) == (len(lab.names), len(lab.n_pads)) == s.distance.shape == s.pred.shape
        for i, p in enumerate(names):
            np.testing.assert_allclose(s.vectors[i], np.broadcast_to(s.vectors[i, :1], (S, H)), atol=1e-5, err_msg=f"{p} {side}")
            assert s.cosine[i].min() > 1 - 1e-5 and not s.flipped[i]
            assert (s.pred[i] == s.pred[i, 0]).all() and (s.pred[i] >= 0).all()  # every trained head is stable


def test_naive_poolings_drift(lab):
    i = {p: k for k, p in enumerate(lab.names)}
    for side in SIDES:
        s = lab.sides[side]
        assert s.distance[i["naive_mean"], 0] == 0 and s.distance[i["naive_mean"], -1] > 0.1
        assert np.all(np.diff(s.distance[i["naive_mean"]]) > 0)  # grows with every N of the sweep
        assert s.distance[i["naive_max"], -1] > 1e-3
    assert lab.sides["left"].distance[i["naive_cls"], -1] > 0.1  # h[:, 0] is a [PAD] under left padding
    assert lab.sides["right"].distance[i["naive_cls"], -1] < 1e-5  # ... and fine under right padding
    assert lab.heads[i["naive_mean"]] == "mean" and lab.heads[i["naive_cls"]] == "cls"


def test_sweep_points_equal_a_plain_run(lab, tiny_loaded):
    """Each N is a real forward pass: naive_mean at N = 16 equals a hand-made (1, n + 16) left-padded run."""
    model, tok = tiny_loaded.model, tiny_loaded.tokenizer
    ids = tokenize(tok, [TEXT], tiny_loaded.max_length)[0]
    x, m = pad_ids(ids, 16, tok, "left")
    with torch.no_grad():
        h = model.encode(x[None], m[None]).last_hidden_state  # (1, n + 16, H)
    k = lab.n_pads.index(16)
    np.testing.assert_allclose(lab.sides["left"].vectors[lab.names.index("naive_mean"), k], h.mean(1)[0].numpy(), atol=1e-5)
    np.testing.assert_allclose(lab.sides["left"].vectors[lab.names.index("mean"), k], h[0, 16:].mean(0).numpy(), atol=1e-5)


def test_alone_vs_batched_with_a_longer_sentence(lab):
    b = lab.batched
    assert b.pads > 0 and b.distance.shape == (2, len(lab.names))
    for i, p in enumerate(lab.names):
        if lab.naive[i]:
            continue
        assert b.distance[:, i].max() < 1e-5, p
        assert (b.pred_batched[:, i] == b.pred_alone[i]).all()
    assert b.distance[:, lab.names.index("naive_mean")].min() > 0.1
    j = json.loads(json.dumps(padding_json(lab)))
    assert j["batched"]["poolings"]["mean"]["right"]["distance"] < 1e-5 and j["sides"]["left"]["naive_cls"]["max_distance"] > 0.1


def test_padding_lab_rejects_bad_input(tiny_loaded):
    with pytest.raises(InputError, match="empty"):
        padding_lab(tiny_loaded, "  ", 4)
    with pytest.raises(InputError, match="between 0 and"):
        padding_lab(tiny_loaded, TEXT, -1)


# ---- where is my pooler_output? ----

def test_pooler_explainer_live_objects(tiny_loaded):
    ex = explain_pooler(tiny_loaded)
    assert ex.error.startswith("AttributeError:") and "pooler_output" in ex.error
    assert "pooler_output" in ex.bert.keys and "pooler_output" not in ex.electra.keys
    assert ex.bert.output_class != ex.electra.output_class and ex.electra.pooler_module.startswith("none")
    assert ex.yours is not None and "pooler_output" not in ex.yours.keys
    assert ex.bert_pooler_max_diff < 1e-6 and ex.head_max_diff < 1e-6
    assert "tanh" in ex.bert_pooler_source.lower() and "out_proj" in ex.head_source
    assert [s for s, _ in ex.head_steps[1:]] == ["dropout", "dense", "activation", "dropout", "out_proj"]
    assert "IndexError" in ex.index_notes[1] and "hidden_states" in ex.index_notes[2]
    assert set(ex.snippets) == set(ALL_POOLINGS) and json.dumps(pooler_json(ex))


def test_class_source_is_inspects():
    """The fast class source (no whole-module parse) equals inspect.getsource, decorated classes included."""
    import inspect

    from transformers import BertModel
    from transformers.models.bert.modeling_bert import BertPooler
    from transformers.models.electra.modeling_electra import ElectraClassificationHead

    from electra_demo.lab.pooler_output import class_source

    for cls in (BertPooler, ElectraClassificationHead, BertModel):  # BertModel: under a multi-line decorator
        assert class_source(cls) == inspect.getsource(cls), cls


def test_pooler_explainer_error_is_the_real_one(tiny_model):
    ids = torch.tensor([[2, 5, 3]])
    with pytest.raises(AttributeError) as real:
        _ = tiny_model.electra(ids).pooler_output
    assert explain_pooler().error == f"AttributeError: {real.value}"  # same output class, same message


@pytest.mark.filterwarnings("ignore:You are trying to")
@pytest.mark.parametrize("pooling", ALL_POOLINGS)
def test_lightning_snippet_runs_and_is_padding_safe(pooling, tiny_model):
    """Exec the snippet with a tiny local backbone: (B, C) logits; a sentence alone == the same sentence right-padded."""
    ns = {}
    exec(compile(lightning_snippet(pooling), f"<snippet {pooling}>", "exec"), ns)

    class Local:  # stands in for the hub download
        @staticmethod
        def from_pretrained(name):
            return copy.deepcopy(tiny_model.electra)  # the snippet sets config.num_labels

    ns["ElectraModel"] = Local
    torch.manual_seed(0)
    module = ns["LitElectraClassifier"](num_labels=3).eval()
    alone = torch.tensor([[2, 10, 11, 12, 3]])  # (1, 5)
    batch = torch.tensor([[2, 10, 11, 12, 3, 0, 0], [2, 13, 14, 15, 16, 17, 3]])  # (2, 7) right padding
    mask = (batch != 0).long()
    with torch.no_grad():
        one = module(alone, torch.ones_like(alone))  # (1, 3)
        two = module(batch, mask)  # (2, 3)
        loss = module.training_step({"input_ids": batch, "attention_mask": mask, "labels": torch.tensor([0, 2])}, 0)
    assert two.shape == (2, 3) and torch.isfinite(loss)
    torch.testing.assert_close(one[0], two[0], atol=1e-5, rtol=0)
    left = torch.tensor([[0, 0, 2, 10, 11, 12, 3], [2, 13, 14, 15, 16, 17, 3]])  # (2, 7) left padding, as the lab pads
    with torch.no_grad():
        three = module(left, (left != 0).long())
    torch.testing.assert_close(one[0], three[0], atol=1e-5, rtol=0)  # the padding lab's claim, with the snippet's code
    if pooling in POOLERS:  # the snippet's vector is the registry's
        h = tiny_model.electra(batch, attention_mask=mask).last_hidden_state
        vec = POOLERS[pooling](h, mask)
        torch.testing.assert_close(two, module.head(vec[:, None, :]), atol=1e-5, rtol=0)
    with pytest.raises(InputError, match="valid poolings"):
        lightning_snippet("naive_mean")


# ---- attribution ----

@pytest.mark.parametrize("side", SIDES)
def test_attribution_sums_to_one_and_zero_on_padding(tiny_loaded, side):
    for p in attribution_poolings(tiny_loaded.model):
        a = attribution(tiny_loaded, TEXT, p, n_pad=5, side=side)
        assert a.is_pad.sum() == 5 and len(a.tokens) == len(a.weight) == len(a.contribution)
        assert set(np.array(a.tokens)[a.is_pad]) == {"[PAD]"}
        assert a.weight.sum() == pytest.approx(1, abs=1e-5) and a.contribution.sum() == pytest.approx(1, abs=1e-4), p
        assert a.vector_max_diff < 1e-5, p  # the weights rebuild the model's own pooled vector
        if p in NAIVE:
            if p != "naive_cls" or side == "left":  # h[:, 0] only goes wrong under left padding
                assert a.weight[a.is_pad].sum() > 0  # the bug, visible
            continue
        assert (a.weight[a.is_pad] == 0).all() and (a.contribution[a.is_pad] == 0).all(), p  # exactly zero
        assert a.unpadded_max_diff < 1e-5, p
    att = attribution(tiny_loaded, TEXT, "attention", 3, side)
    assert (att.weight >= 0).all()
    mx = attribution(tiny_loaded, TEXT, "max", 3, side)
    assert mx.dims_won.sum() == tiny_loaded.model.config.hidden_size and (mx.dims_won[mx.is_pad] == 0).all()
    cls = attribution(tiny_loaded, TEXT, "cls", 3, side)
    assert cls.tokens[int(cls.weight.argmax())] == "[CLS]" and cls.weight.max() == 1
    j = json.loads(json.dumps(attribution_json(att)))
    assert j["weight_on_padding"] == 0 and len(j["weight"]) == len(att.tokens)


def test_attribution_rejects_bad_options(tiny_loaded):
    with pytest.raises(InputError, match="unknown pooling"):
        attribution(tiny_loaded, TEXT, "nope")
    with pytest.raises(InputError, match="side"):
        attribution(tiny_loaded, TEXT, "mean", 2, "middle")


# ---- layer grid ----

def test_layer_grid_shapes(tiny_loaded):
    g = layer_grid(tiny_loaded, TEXT)
    L, P = tiny_loaded.model.config.num_hidden_layers, len(tiny_loaded.model.available_poolings())
    C = len(tiny_loaded.labels)
    assert g.drift.shape == g.norms.shape == (L + 1, P) and g.similarity.shape == (L + 1, P, P)
    assert g.probe_probs.shape == (L + 1, P, C) and g.mean_pairwise.shape == (L + 1,) and len(g.layers) == L + 1
    np.testing.assert_allclose(g.drift[-1], 1, atol=1e-5)  # the last layer vs itself
    np.testing.assert_allclose(np.diagonal(g.similarity, axis1=1, axis2=2), 1, atol=1e-5)
    np.testing.assert_allclose(g.probe_probs.sum(-1), 1, atol=1e-5)  # every pooling has a head in the tiny model
    with torch.no_grad():  # last-layer probe == the model's own prediction
        ids = torch.tensor(tokenize(tiny_loaded.tokenizer, [TEXT], 64))
        logits = tiny_loaded.model(ids, torch.ones_like(ids))
    for j, p in enumerate(g.names):
        np.testing.assert_allclose(g.probe_probs[-1, j], logits[p].softmax(-1)[0].numpy(), atol=1e-5)
    assert "exploratory" in g.probe_note and json.dumps(layer_grid_json(g))


# ---- dataset view ----

@pytest.fixture(scope="module")
def tsv(tmp_path_factory):
    return write_tsv(tmp_path_factory.mktemp("lab") / "small.tsv", make_rows(80, 7))


def test_dataset_view(tiny_loaded, tsv):
    steps = []
    v = dataset_view(tiny_loaded, tsv, progress=lambda f, d: steps.append(f))
    N, C = 80, len(tiny_loaded.labels)
    assert v.n == N and v.gold.shape == (N,) and v.is_test.sum() == 20 and steps[-1] == 1.0
    assert list(v.methods) == tiny_loaded.model.available_poolings()
    probs = predict_probs(tiny_loaded.model, tiny_loaded.tokenizer, v.texts, tiny_loaded.max_length)
    for p, m in v.methods.items():
        assert m.coords.shape == (N, 2) and 0 < m.explained.sum() <= 1 + 1e-6
        assert 0 <= m.probe_train_acc <= 1 and 0 <= m.probe_test_acc <= 1 and 0 <= m.head_acc <= 1
        assert m.confusion.shape == (C, C) and m.confusion.sum() == N and m.source == "head"
        np.testing.assert_array_equal(m.pred, probs[p].argmax(-1).numpy())  # same predictions as predict.py
        assert m.head_acc == pytest.approx(float(np.trace(m.confusion)) / N)
        wrong = misclassified(v, p)
        assert len(wrong) == N - np.trace(m.confusion) and all(r[2] != r[3] for r in wrong)
    j = json.loads(json.dumps(dataset_json(v, "mean")))
    assert j["n"] == N and j["pooling"] == "mean" and set(j["methods"]) == set(v.methods)


def test_pca_and_probe_on_separable_data():
    rng = np.random.default_rng(0)
    y = np.arange(200) % 2
    x = rng.normal(size=(200, 16)) + 3 * y[:, None]  # two shifted clouds
    coords, explained = pca_2d(x)
    assert coords.shape == (200, 2) and explained[0] > explained[1] > 0
    assert abs(np.corrcoef(coords[:, 0], y)[0, 1]) > 0.9  # PC1 separates the clouds
    u, s, vt = np.linalg.svd(x - x.mean(0), full_matrices=False)
    np.testing.assert_allclose(np.abs(coords), np.abs(u[:, :2] * s[:2]), atol=1e-3)  # = PCA by SVD, up to sign
    np.testing.assert_allclose(explained, s[:2] ** 2 / (s ** 2).sum(), rtol=1e-5)
    tr, te = ridge_probe(x[:150], y[:150], x[150:], 2)
    assert (te == y[150:]).mean() > 0.95 and (tr == y[:150]).mean() > 0.95


def test_dataset_view_errors(tiny_loaded, tmp_path):
    big = tmp_path / "big.tsv"
    big.write_text("sentence\tlabel\n" + "good film\t1\n" * (MAX_BYTES // 12 + 10))
    with pytest.raises(DataError, match="MB; the limit"):
        dataset_view(tiny_loaded, str(big))
    rows = write_tsv(tmp_path / "rows.tsv", [("ok", 1)] * (MAX_ROWS + 1))
    with pytest.raises(DataError, match="rows; the limit"):
        dataset_view(tiny_loaded, rows)
    with pytest.raises(DataError, match=".tsv or .csv"):
        dataset_view(tiny_loaded, str((tmp_path / "a.txt").write_text("x") and tmp_path / "a.txt"))
    bad = write_tsv(tmp_path / "bad.tsv", [("good", 1), ("bad", 7)] * 5)
    with pytest.raises(DataError, match="line 3: label '7' is not in the label set"):
        dataset_view(tiny_loaded, bad)
    with pytest.raises(DataError, match="no column 'text'"):
        dataset_view(tiny_loaded, write_tsv(tmp_path / "cols.tsv", make_rows(10)), text_column="text")
    (tmp_path / "latin.csv").write_bytes(b"sentence,label\ncaf\xe9,1\n")
    with pytest.raises(DataError, match="UTF-8"):
        dataset_view(tiny_loaded, str(tmp_path / "latin.csv"))
    with pytest.raises(DataError, match="at least"):
        dataset_view(tiny_loaded, write_tsv(tmp_path / "few.tsv", make_rows(3)))
    with pytest.raises(DataError, match="not found"):
        dataset_view(tiny_loaded, str(tmp_path / "missing.tsv"))


# ---- figures ----

def test_figures(lab, tiny_loaded, tsv):
    fig = padding_curves(lab)
    assert len(fig.data) == 4 * len(lab.names)
    assert len(padding_vectors(lab, "left").data) == 2
    a = attribution(tiny_loaded, "good <b>film</b>", "mean", 2)
    bars = attribution_bars(a, "contribution")
    assert len(bars.data[0].y) == len(a.tokens) and all("<b>" not in t for t in bars.layout.xaxis.ticktext)
    g = layer_grid(tiny_loaded, TEXT)
    assert len(layer_drift(g).data) == 2 and "EXPLORATORY" in layer_probe(g).layout.title.text
    assert np.asarray(layer_similarity(g, 99).data[0].z).shape == (len(g.names),) * 2
    v = dataset_view(tiny_loaded, tsv)
    assert len(dataset_scatter(v).data) == len(v.methods) * len(v.labels)
    assert len(dataset_accuracy(v).data) == 3
    assert np.asarray(confusion_figure(v, "cls").data[0].z).sum() == v.n
