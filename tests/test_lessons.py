"""The pooling lessons: attention heads (eager copy, [CLS] row, masked padding), similarity vs probe, train/eval mismatch."""
import json

import numpy as np
import pytest
import torch

from electra_demo.errors import InputError
from electra_demo.lab.attention import attention_view, eager_model
from electra_demo.lab.explain import explain
from electra_demo.lab.mismatch import mismatch_view
from electra_demo.lab.similarity import percentile_of, similarity_view
from electra_demo.training.predict import predict_probs
from electra_demo.views import attention as attention_views
from electra_demo.views import mismatch as mismatch_views
from electra_demo.views import similarity as similarity_views
from tests.conftest import make_rows

TEXT = "the movie was really good"


@pytest.fixture(scope="module")
def rows():
    return make_rows(48, 11)


@pytest.mark.parametrize("side", ["right", "left"])
def test_attention_rows_sum_to_one_and_padding_gets_none(tiny_loaded, side):
    v = attention_view(tiny_loaded, TEXT, n_pad=3, side=side)
    L, A = tiny_loaded.model.config.num_hidden_layers, tiny_loaded.model.config.num_attention_heads
    T = len(v.tokens)
    assert v.attentions.shape == (L, A, T, T) and v.cls_row.shape == (L, A, T) and v.is_pad.sum() == 3
    real = ~v.is_pad
    np.testing.assert_allclose(v.attentions[:, :, real].sum(-1), 1, atol=1e-5)  # every real query's row is a distribution
    assert v.padding_mass == 0 and (v.attentions[:, :, real][..., v.is_pad] == 0).all()  # the mask at work
    cls_pos = int(np.flatnonzero(real)[0])
    assert v.tokens[cls_pos] == "[CLS]"
    np.testing.assert_allclose(v.cls_row, v.attentions[:, :, cls_pos], atol=0)
    w = v.pooling_weights  # the learned attention POOLING: a different distribution, also 0 on padding
    assert w is not None and abs(w.sum() - 1) < 1e-5 and (w[v.is_pad] == 0).all()


def test_eager_copy_computes_what_the_served_model_computes(tiny_loaded):
    model = tiny_loaded.model
    ids = torch.tensor([tiny_loaded.tokenizer(TEXT)["input_ids"]])
    mask = torch.ones_like(ids)
    with torch.no_grad():
        served = model.encode(ids, mask).last_hidden_state
        eager = eager_model(model).encode(ids, mask).last_hidden_state
    torch.testing.assert_close(eager, served, atol=1e-5, rtol=1e-5)
    assert model.backbone.config._attn_implementation != "eager"  # the served model keeps its fast attention
    assert eager_model(model).backbone.config._attn_implementation == "eager"
    assert model is not eager_model(model) and eager_model(model) is eager_model(model)  # built once


def test_attention_rejects_bad_options(tiny_loaded):
    with pytest.raises(InputError, match="side"):
        attention_view(tiny_loaded, TEXT, 2, "middle")
    with pytest.raises(InputError, match="between 0 and"):
        attention_view(tiny_loaded, TEXT, 1000)


def test_attention_views_and_payload(tiny_loaded):
    v = attention_view(tiny_loaded, "good movie " * 60)  # the longest input
    assert len(attention_views.head_grid(v, 99).data) == v.num_heads
    assert len(attention_views.cls_rows(v).data) == 1 and len(attention_views.pooling_vs_attention(v).data) == 2
    assert len(json.dumps(attention_views.attention_json(v))) < 1_000_000


def test_attention_payload_stays_under_1mb_with_many_heads(tiny_loaded):
    """12 heads at 128 tokens (the shipped model's shape) would be 1.8 MB of full matrices: the top-k form instead."""
    import dataclasses

    v = attention_view(tiny_loaded, "good movie " * 60)
    L, T = v.num_layers, 128
    rng = np.random.default_rng(0)
    att = rng.random((L, 12, T, T)).astype(np.float32)
    att /= att.sum(-1, keepdims=True)
    big = dataclasses.replace(v, tokens=["x"] * T, is_pad=np.zeros(T, bool), attentions=att, cls_row=att[:, :, 0])
    j = attention_views.attention_json(big)
    assert len(json.dumps(j)) < 1_000_000 and j["matrices"] == "top-k" and j["attentions"] is None
    index, value = np.array(j["top_k"]["index"]), np.array(j["top_k"]["value"])  # (A, T, k)
    assert index.shape == value.shape == (12, T, 8) and (np.diff(value, axis=-1) <= 1e-3).all()  # largest first
    np.testing.assert_allclose(value[3, 5, 0], att[-1, 3, 5].max(), atol=1e-3)
    assert attention_views.attention_json(v)["matrices"] == "full"  # the tiny model's matrices fit


def test_similarity_neighbours_scores_and_anisotropy(tiny_loaded, rows):
    texts, gold = [t for t, _ in rows], [y for _, y in rows]
    v = similarity_view(tiny_loaded, texts[0], texts, gold)  # the explained sentence is in the set
    P = len(tiny_loaded.model.available_poolings())
    assert v.names == tiny_loaded.model.available_poolings() and v.neighbours.shape == (P, 5)
    assert (np.diff(v.neighbour_cosine, axis=1) <= 1e-12).all()  # most similar first
    np.testing.assert_allclose(v.neighbour_cosine[:, 0], 1, atol=1e-5)  # it finds itself first
    assert ((-1 <= v.anisotropy) & (v.anisotropy <= 1)).all()
    for a in (v.nn_agreement, v.knn_acc, v.probe_acc):
        assert ((0 <= a) & (a <= 1)).all()
    vecs = {p: explain(tiny_loaded, t).pooled["mean"] for p, t in [("a", texts[1]), ("b", texts[2])]}
    u = [x / np.linalg.norm(x) for x in vecs.values()]
    assert 0 <= percentile_of(v, "mean", float(u[0] @ u[1])) <= 100
    j = json.loads(json.dumps(similarity_views.similarity_json(v)))
    assert set(j["neighbours"]) == set(v.names) and len(similarity_views.neighbours_table(v)) == 5 * P
    assert len(similarity_views.scores_figure(v).data) == 3 and len(similarity_views.scores_table(v)) == P


def test_similarity_needs_enough_sentences(tiny_loaded):
    with pytest.raises(InputError, match="needs 8 to"):
        similarity_view(tiny_loaded, TEXT, ["a", "b"])


def test_mismatch_diagonal_is_each_heads_own_accuracy(tiny_loaded, rows):
    texts, gold = [t for t, _ in rows], [y for _, y in rows]
    v = mismatch_view(tiny_loaded, TEXT, texts, gold)
    model = tiny_loaded.model
    assert v.heads == model.poolings and v.poolings == model.available_poolings()
    probs = predict_probs(model, tiny_loaded.tokenizer, texts, tiny_loaded.max_length)
    e = explain(tiny_loaded, TEXT)
    for r, h in enumerate(v.heads):
        c = v.poolings.index(h)
        assert v.accuracy[r, c] == pytest.approx((probs[h].argmax(-1) == torch.tensor(gold)).float().mean().item())
        assert v.labels[v.sentence_pred[r, c]] == e.heads[h].label  # the diagonal is the honest prediction
    own = {h: v.sentence_pred[r, v.poolings.index(h)] for r, h in enumerate(v.heads)}
    assert {(h, p) for h, p in v.flips} == {(h, p) for r, h in enumerate(v.heads) for c, p in enumerate(v.poolings)
                                            if v.sentence_pred[r, c] != own[h]}
    j = json.loads(json.dumps(mismatch_views.mismatch_json(v)))
    assert len(j["accuracy"]) == len(v.heads) and len(mismatch_views.sentence_table(v)) == len(v.heads)
    assert mismatch_views.flips_markdown(v) and len(mismatch_views.accuracy_matrix(v).data) == 1


def test_mismatch_without_a_set_still_explains_the_sentence(tiny_loaded):
    v = mismatch_view(tiny_loaded, TEXT)
    assert v.n == 0 and np.isnan(v.accuracy).all() and v.sentence_pred.shape == (len(v.heads), len(v.poolings))


def test_compare_reads_a_cosine_against_the_pooling_own_distribution(tiny_loaded):
    """Is 0.93 high for this pooling? The compare table places each A-B cosine among the bundled sentences' pairs."""
    from electra_demo.app.explain import cosine_context
    from electra_demo.views import compare

    a, b = explain(tiny_loaded, "not bad at all"), explain(tiny_loaded, "bad")
    ctx, note = cosine_context(tiny_loaded, compare.cosines(a, b))
    assert set(ctx) == set(tiny_loaded.model.available_poolings()) and all(0 <= v <= 100 for v in ctx.values())
    table = compare.compare_table(a, b, ctx)
    assert compare.CONTEXT_HEADER in table.columns and "780 pairs" in note
    assert table.set_index("pooling")[compare.CONTEXT_HEADER].isna()["naive_mean"]  # no context for the bug demos


def test_the_page_explains_a_sentence_once(tiny_loaded):
    """The slider, Compare's sentence A and export reuse the page's explanation: one forward pass per sentence."""
    from electra_demo.app.common import explained
    from electra_demo.app.models import Models

    models, calls = Models(tiny_loaded), []
    handle = tiny_loaded.model.electra.register_forward_hook(lambda *a: calls.append(1))
    try:
        first = explained(models, models.first_name, "a sentence seen once")
        again = explained(models, models.first_name, "a sentence seen once")
        other = explained(models, models.first_name, "another sentence")
    finally:
        handle.remove()
    assert again is first and len(calls) == 2 and other.text == "another sentence"
