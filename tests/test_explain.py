"""explain(): one forward pass, shapes, pooled vectors and head predictions equal the model's own, input checks, JSON size."""
import json

import numpy as np
import pytest
import torch

from electra_demo.checkpoint import LoadedModel
from electra_demo.data import tokenize
from electra_demo.errors import InputError
from electra_demo.lab.explain import MAX_CHARS, explain
from electra_demo.pooling import NAIVE_POOLERS
from electra_demo.views import explain as plots
from electra_demo.views.common import round_array
from electra_demo.views.explain import NO_HEAD, to_json
from tests.conftest import tiny_classifier

TEXT = "the movie was really good"


@pytest.fixture(scope="module")
def expl(tiny_loaded):
    return explain(tiny_loaded, TEXT)


def _ids(clf, text):
    ids = torch.tensor(tokenize(clf.tokenizer, [text], clf.max_length))  # (1, T)
    return ids, torch.ones_like(ids)


def test_shapes_and_hidden_states(tiny_loaded, expl):
    cfg = tiny_loaded.model.config
    L, H, T = cfg.num_hidden_layers, cfg.hidden_size, len(expl.tokens)
    assert expl.tokens[0] == "[CLS]" and expl.tokens[-1] == "[SEP]" and len(expl.input_ids) == T
    assert expl.hidden_states.shape == (L + 1, T, H)
    assert expl.token_norms.shape == expl.cls_cosine.shape == (L + 1, T)
    assert expl.cls_cosine[-1, 0] == pytest.approx(1.0, abs=1e-5)  # final [CLS] vs itself
    rows = {r.name: r for r in expl.shapes}
    assert rows["input_ids"].shape == rows["attention_mask"].shape == f"(1, {T})"
    assert rows["embeddings"].shape == f"(1, {T}, {cfg.embedding_size})"
    assert rows["hidden_states"].shape == f"{L + 1} x (1, {T}, {H})"
    assert rows["last_hidden_state"].shape == f"(1, {T}, {H})"
    assert rows["pooler_output"].shape == "absent" and "AttributeError" in rows["pooler_output"].note
    assert rows["logits"].shape == rows["probabilities"].shape == f"(1, {len(tiny_loaded.labels)})"
    for p in expl.pooled:
        assert rows[f"pooled[{p}]"].shape == f"(1, {H})" and rows[f"pooled[{p}]"].note  # the code line
    names = [r.name for r in expl.shapes]
    assert names.index("input_ids") < names.index("embeddings") < names.index("hidden_states") < names.index("logits")


def test_hidden_states_and_pooled_match_the_model(tiny_loaded, expl):
    model = tiny_loaded.model
    ids, mask = _ids(tiny_loaded, TEXT)
    with torch.no_grad():
        out = model.encode(ids, mask, output_hidden_states=True)
        for i, h in enumerate(out.hidden_states):
            np.testing.assert_allclose(expl.hidden_states[i], h[0].numpy(), atol=1e-5)
        h = out.last_hidden_state
        assert set(expl.pooled) == set(model.available_poolings()) | set(NAIVE_POOLERS)
        for p in model.available_poolings():
            np.testing.assert_allclose(expl.pooled[p], model.pool(p, h, mask)[0].numpy(), atol=1e-5)
        for p, fn in NAIVE_POOLERS.items():
            np.testing.assert_allclose(expl.pooled[p], fn(h, mask)[0].numpy(), atol=1e-5)


def test_head_predictions_match_model_forward(tiny_loaded, expl):
    model = tiny_loaded.model
    ids, mask = _ids(tiny_loaded, TEXT)
    with torch.no_grad():
        logits = model(ids, mask)  # {pooling: (1, C)}
    for p, lg in logits.items():
        pr = lg.softmax(-1)[0]
        assert expl.heads[p].label == model.labels[int(pr.argmax())]
        np.testing.assert_allclose(expl.heads[p].probs, pr.numpy(), atol=1e-5)
    main = model.main_pooling
    np.testing.assert_allclose(expl.logits, logits[main][0].numpy(), atol=1e-5)
    np.testing.assert_allclose(expl.probs, logits[main].softmax(-1)[0].numpy(), atol=1e-5)
    assert expl.label == expl.heads[main].label and expl.probs.sum() == pytest.approx(1.0, abs=1e-5)
    head = model.head(main)
    with torch.no_grad():
        inter = head.activation(head.dense(torch.from_numpy(expl.pooled[main])[None]))  # (1, H)
    np.testing.assert_allclose(expl.head_intermediate, inter[0].numpy(), atol=1e-5)
    assert all(expl.heads[p] is None for p in NAIVE_POOLERS)


def test_one_forward_pass(tiny_loaded):
    calls = []
    handle = tiny_loaded.model.electra.encoder.register_forward_hook(lambda *a: calls.append(1))
    try:
        explain(tiny_loaded, TEXT)
    finally:
        handle.remove()
    assert len(calls) == 1


def test_pooling_without_a_head_says_so(tiny_tokenizer):
    clf = LoadedModel(tiny_classifier(tiny_tokenizer, poolings=["cls", "attention"]), tiny_tokenizer)
    e = explain(clf, TEXT)
    assert "attention" in e.pooled and "proj_max" not in e.pooled  # learned poolers exist only when trained
    assert e.heads["mean"] is None and e.heads["cls"] is not None
    assert to_json(e)["poolings"]["mean"]["head_note"] == NO_HEAD


def test_embedding_projection_row(tiny_tokenizer):
    clf = LoadedModel(tiny_classifier(tiny_tokenizer, ["cls"], embedding_size=16), tiny_tokenizer)
    rows = {r.name: r for r in explain(clf, TEXT).shapes}
    T = int(rows["input_ids"].shape.split(", ")[1].rstrip(")"))
    assert rows["embeddings"].shape == f"(1, {T}, 16)" and rows["embeddings_project"].shape == f"(1, {T}, 32)"


@pytest.mark.parametrize("text", ["", "   ", "\n\t "])
def test_empty_text_is_rejected(tiny_loaded, text):
    with pytest.raises(InputError, match="empty"):
        explain(tiny_loaded, text)


def test_oversized_text_rejected_before_tokenizing(tiny_loaded, monkeypatch):
    monkeypatch.setattr("electra_demo.lab.explain.tokenize", lambda *a: pytest.fail("tokenized an oversized text"))
    with pytest.raises(InputError, match="too long"):
        explain(tiny_loaded, "x" * (MAX_CHARS + 1))


def test_truncation_note(tiny_loaded):
    e = explain(tiny_loaded, "good movie " * 100)
    M = tiny_loaded.max_length
    assert len(e.tokens) == M and e.tokens[-1] == "[SEP]" and e.n_tokens == 202
    assert e.truncation_note == f"truncated from 202 to {M} tokens"
    assert to_json(e)["truncated"] and explain(tiny_loaded, TEXT).truncation_note == ""


def test_special_token_strings_are_text(tiny_loaded):
    e = explain(tiny_loaded, "good [SEP] bad [PAD] [CLS]")
    assert e.tokens.count("[SEP]") == 1 and e.tokens.count("[CLS]") == 1 and "[PAD]" not in e.tokens
    assert "sep" in e.tokens and "pad" in e.tokens


def test_json_is_complete_and_small(tiny_loaded):
    e = explain(tiny_loaded, "good movie " * 100)  # maximum input length
    j = json.loads(json.dumps(to_json(e)))
    assert j["tokens"] == e.tokens and j["label"] in e.labels and set(j["probs"]) == set(e.labels)
    assert any(r["name"] == "pooler_output" and r["shape"] == "absent" for r in j["shapes"])
    for p, info in j["poolings"].items():
        assert len(info["vector"]) == e.hidden_states.shape[2] and info["shape"] == [1, e.hidden_states.shape[2]]
        np.testing.assert_allclose(info["vector"], e.pooled[p], rtol=6e-3, atol=1e-6)  # 3 significant digits
    assert len(json.dumps(j)) < 100_000


def test_rounding_is_decimal_significant_digits():
    """round_array (every float of the JSON and the figures) equals formatting each number with `digits` significant
    digits, over 24 orders of magnitude; digits may differ per element; zero and non-finite values pass through."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal(5000) * 10.0 ** rng.integers(-12, 12, 5000)
    for d in (3, 4):
        assert round_array(a, d).tolist() == [float(f"{x:.{d}g}") for x in a]
    assert round_array([1.23456, 1.23456], np.array([3, 4])).tolist() == [1.23, 1.235]
    assert round_array([0.0, 123456.0, -0.000123456, np.inf], 3).tolist() == [0.0, 123000.0, -0.000123, np.inf]
    assert np.isnan(round_array([np.nan])[0])


def test_figures_share_scale_and_escape_tokens(tiny_loaded):
    e = explain(tiny_loaded, "good <b>movie</b>")
    fig = plots.pooled_vectors(e)
    shown = [t for t in fig.data if t.visible is not False]  # one shared colour scale shown (per row: a button away)
    assert len(shown) == 1 and shown[0].zmin == -shown[0].zmax
    heat = plots.hidden_heatmap(e, 0)
    assert len(heat.data[0].z) == len(e.tokens) and all("<" not in t for t in heat.layout.yaxis.ticktext)
    assert np.asarray(plots.similarity_matrix(e).data[0].z).shape == (len(e.pooled),) * 2
    assert len(plots.token_trajectories(e).data) == 2


def test_what_a_checkpoint_says_reaches_the_card_as_text(tiny_tokenizer):
    """A training_info holding HTML and labels holding markdown images render as the characters typed: no tag, no
    image, nothing the browser would fetch."""
    from electra_demo.checkpoint import LoadedModel
    from electra_demo.model import build_classifier, preset_config
    from electra_demo.views.explain import model_card

    cfg = preset_config("tiny", len(tiny_tokenizer), 128, pad_token_id=tiny_tokenizer.pad_token_id)
    model = build_classifier(cfg, ["cls"], ["![p](http://example.com/p.png)", "<img src=http://example.com/q>"])
    model.config.training_info = {"backbone": "<img src=http://example.com/r>", "val_file": "[x](http://example.com)",
                                  "val_accuracy": {"cls": 0.5}, "n_val": "<b>9</b>"}
    card = model_card(LoadedModel(model, tiny_tokenizer, "<script>"))
    assert "<img" not in card and "<b>" not in card and "<script>" not in card and "](" not in card
    assert "\\!\\[p\\]" in card and "&lt;img src=http://example\\.com/r&gt;" in card
