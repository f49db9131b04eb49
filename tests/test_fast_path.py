"""The fast paths give today's numbers: explain() against the straightforward computation (tokenize, model.encode,
model.pool and model.classify per pooling), token_ids against data.tokenize, the stacked-head cache against changed
weights; predict's --precision (fp32 exact, bf16, int8, auto = bf16 with fp32 near ties, the CPU check)."""
import numpy as np
import pytest
import torch

from electra_demo.checkpoint import LoadedModel
from electra_demo.data import tokenize
from electra_demo.errors import InputError
from electra_demo.lab.explain import explain, token_ids
from electra_demo.pooling import NAIVE_POOLERS, TRAINABLE
from electra_demo.training import predict
from tests.conftest import make_rows, tiny_classifier

TEXTS = ["the movie was really good", "bad", "good [SEP] bad [PAD] [CLS] ☃ unknownword", "good movie " * 40,
         "  plot   acting\tstory\nfilm  "]
TOL = dict(rtol=1e-6, atol=1e-6)


def reference(clf: LoadedModel, text: str) -> dict:
    """The straightforward computation explain() replaces: tokenize with truncation, encode with a mask, every
    pooling through pooling.pool, every head through its own ElectraClassificationHead."""
    model = clf.model
    ids = torch.tensor(tokenize(clf.tokenizer, [text], clf.max_length))  # (1, T)
    mask = torch.ones_like(ids)
    with torch.no_grad():
        out = model.encode(ids, mask, output_hidden_states=True)
        h = out.last_hidden_state
        pooled = {p: model.pool(p, h, mask) for p in model.available_poolings()}
        pooled.update({p: fn(h, mask) for p, fn in NAIVE_POOLERS.items()})
        logits = {p: model.classify(p, pooled[p]) for p in model.poolings}
        head = model.head(model.main_pooling)
        inter = head.activation(head.dense(pooled[model.main_pooling]))
    return {"ids": ids[0].tolist(), "hidden": torch.stack(out.hidden_states)[:, 0], "pooled": pooled, "logits": logits,
            "inter": inter[0]}


@pytest.fixture(scope="module", params=["all heads", "two heads, projected embeddings"])
def clf(request, tiny_tokenizer):
    if request.param == "all heads":
        return LoadedModel(tiny_classifier(tiny_tokenizer, seed=3), tiny_tokenizer)
    return LoadedModel(tiny_classifier(tiny_tokenizer, ["mean", "attention"], seed=4, embedding_size=16), tiny_tokenizer)


@pytest.mark.parametrize("text", TEXTS)
def test_explain_equals_the_straightforward_computation(clf, text):
    e, ref = explain(clf, text), reference(clf, text)
    assert e.input_ids == ref["ids"] and list(e.pooled) == list(ref["pooled"])
    np.testing.assert_allclose(e.hidden_states, ref["hidden"].numpy(), **TOL)
    for p, v in ref["pooled"].items():
        np.testing.assert_allclose(e.pooled[p], v[0].numpy(), **TOL, err_msg=p)
    for p in e.pooled:
        if p in ref["logits"]:
            pr = ref["logits"][p].softmax(-1)[0]
            np.testing.assert_allclose(e.heads[p].probs, pr.numpy(), **TOL, err_msg=p)
            assert e.heads[p].label == clf.labels[int(pr.argmax())] and e.heads[p].prob == pytest.approx(float(pr.max()), abs=1e-6)
        else:
            assert e.heads[p] is None
    main = clf.main_pooling
    np.testing.assert_allclose(e.logits, ref["logits"][main][0].numpy(), **TOL)
    np.testing.assert_allclose(e.probs, ref["logits"][main].softmax(-1)[0].numpy(), **TOL)
    np.testing.assert_allclose(e.head_intermediate, ref["inter"].numpy(), **TOL)
    hs = ref["hidden"]
    np.testing.assert_allclose(e.token_norms, hs.norm(dim=-1).numpy(), **TOL)
    cos = torch.nn.functional.cosine_similarity(hs, hs[-1, 0], dim=-1)  # (L+1, T)
    np.testing.assert_allclose(e.cls_cosine, cos.numpy(), rtol=1e-5, atol=1e-6)
    P = torch.cat([v for v in ref["pooled"].values()])
    np.testing.assert_allclose(e.similarity, torch.nn.functional.cosine_similarity(P[:, None], P[None], dim=-1).numpy(),
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("max_length", [2, 3, 5, 8, 64])
@pytest.mark.parametrize("side", ["right", "left"])
def test_token_ids_match_the_tokenizers_own_truncation(tiny_tokenizer, max_length, side):
    tiny_tokenizer.truncation_side = side
    try:
        for text in TEXTS + [s for s, _ in make_rows(30, 7)]:
            ids, n = token_ids(tiny_tokenizer, text, max_length)
            assert ids == tokenize(tiny_tokenizer, [text], max_length)[0], text
            assert n == len(tokenize(tiny_tokenizer, [text], 100_000)[0])
    finally:
        tiny_tokenizer.truncation_side = "right"


def test_token_ids_follow_tokens_added_later(tiny_tokenizer):
    """token_ids runs a copy of the Rust backend, made again when the tokenizer gains tokens."""
    import copy

    tok = copy.deepcopy(tiny_tokenizer)
    text = "a zzzfilm qqqword"
    assert token_ids(tok, text, 64)[0] == tokenize(tok, [text], 64)[0]
    tok.add_tokens(["zzzfilm", "qqqword"])
    ids = token_ids(tok, text, 64)[0]
    assert ids == tokenize(tok, [text], 64)[0] and tok.convert_tokens_to_ids("zzzfilm") in ids


def test_stacked_heads_follow_weight_changes(tiny_tokenizer):
    clf = LoadedModel(tiny_classifier(tiny_tokenizer, seed=5), tiny_tokenizer)
    before = explain(clf, TEXTS[0])
    with torch.no_grad():
        clf.model.head("mean").out_proj.bias[0] += 1.0  # in place, as an optimizer step would
    after, ref = explain(clf, TEXTS[0]), reference(clf, TEXTS[0])
    assert after.heads["mean"].probs != before.heads["mean"].probs
    np.testing.assert_allclose(after.heads["mean"].probs, ref["logits"]["mean"].softmax(-1)[0].numpy(), **TOL)
    clf.model.load_state_dict(tiny_classifier(tiny_tokenizer, seed=6).state_dict())
    np.testing.assert_allclose(explain(clf, TEXTS[0]).heads["cls"].probs,
                               reference(clf, TEXTS[0])["logits"]["cls"].softmax(-1)[0].numpy(), **TOL)
    clf.model.heads["mean"] = tiny_classifier(tiny_tokenizer, seed=7).heads["mean"]  # a swapped module
    np.testing.assert_allclose(explain(clf, TEXTS[0]).heads["mean"].probs,
                               reference(clf, TEXTS[0])["logits"]["mean"].softmax(-1)[0].numpy(), **TOL)


def test_explain_leaves_no_grad_state_behind(clf):
    explain(clf, TEXTS[0])
    assert torch.is_grad_enabled() and not torch.is_inference_mode_enabled()
    assert all(not p.is_inference() for p in clf.model.parameters())


# ---- predict --precision ----

@pytest.fixture(scope="module")
def texts():
    return [s for s, _ in make_rows(50, 11)]


def test_fp32_predictions_equal_the_models_forward(tiny_loaded, texts):
    probs = predict.predict_probs(tiny_loaded.model, tiny_loaded.tokenizer, texts, tiny_loaded.max_length, batch_size=7)
    for i in (0, 13, 49):
        ids = torch.tensor(tokenize(tiny_loaded.tokenizer, [texts[i]], tiny_loaded.max_length))
        with torch.no_grad():
            logits = tiny_loaded.model(ids, torch.ones_like(ids))
        for p, lg in logits.items():
            np.testing.assert_allclose(probs[p][i].numpy(), lg.softmax(-1)[0].numpy(), atol=1e-6)


def test_heads_selects_what_runs(tiny_loaded, texts):
    probs = predict.predict_probs(tiny_loaded.model, tiny_loaded.tokenizer, texts, heads=["mean"])
    assert list(probs) == ["mean"] and probs["mean"].shape == (len(texts), 2)
    with pytest.raises(InputError, match="no head"):
        predict.predict_probs(tiny_loaded.model, tiny_loaded.tokenizer, texts, heads=["naive_mean"])


@pytest.mark.parametrize("precision", ["bf16", "auto"])
def test_bf16_and_auto_stay_close_to_fp32(tiny_loaded, texts, precision, monkeypatch):
    monkeypatch.setattr(predict, "native_bf16", lambda: True)  # run the bf16 path whatever this CPU is
    args = (tiny_loaded.model, tiny_loaded.tokenizer, texts, tiny_loaded.max_length)
    fp32, low = predict.predict_probs(*args), predict.predict_probs(*args, precision=precision)
    for p in fp32:
        assert low[p].dtype == torch.float32
        assert (low[p] - fp32[p]).abs().max() < 0.05
        if precision == "auto":  # near ties were computed again in fp32: the labels are fp32's
            assert torch.equal(low[p].argmax(-1), fp32[p].argmax(-1))


def test_auto_recomputes_near_ties_in_fp32(tiny_loaded, texts, monkeypatch):
    monkeypatch.setattr(predict, "native_bf16", lambda: True)
    monkeypatch.setattr(predict, "TIE_MARGIN", 2.0)  # every row is a near tie: auto must equal fp32 exactly
    args = (tiny_loaded.model, tiny_loaded.tokenizer, texts, tiny_loaded.max_length)
    fp32, auto = predict.predict_probs(*args), predict.predict_probs(*args, precision="auto")
    assert all(torch.equal(auto[p], fp32[p]) for p in fp32)


def test_auto_is_fp32_without_native_bf16(monkeypatch):
    monkeypatch.setattr(predict, "native_bf16", lambda: False)
    assert predict.resolve_precision("auto") == "fp32" and predict.resolve_precision("bf16") == "bf16"
    with pytest.raises(InputError, match="precision"):
        predict.resolve_precision("fp8")


def test_native_bf16_reads_the_cpu_flags(monkeypatch):
    monkeypatch.setattr(torch.cpu, "get_capabilities", lambda: {"avx512_bf16": False, "amx_bf16": True})
    assert predict.native_bf16()
    monkeypatch.setattr(torch.cpu, "get_capabilities", lambda: {"avx512_f": True})
    assert not predict.native_bf16()


def test_int8_quantizes_a_copy(tiny_loaded, texts):
    q = predict.quantized(tiny_loaded.model)
    assert type(tiny_loaded.model.classifier.dense) is torch.nn.Linear  # the original is untouched
    assert type(q.classifier.dense) is not torch.nn.Linear
    fp32 = predict.predict_probs(tiny_loaded.model, tiny_loaded.tokenizer, texts)
    int8 = predict.predict_probs(q, tiny_loaded.tokenizer, texts)
    assert all((int8[p] - fp32[p]).abs().max() < 0.1 for p in fp32)


@pytest.mark.parametrize("precision", ["fp32", "int8", "auto"])
def test_cli_precision_flag(tiny_checkpoint, tiny_data, precision, capsys):
    summary = predict.main(["--checkpoint", tiny_checkpoint, "--input", str(tiny_data / "dev.tsv"), "--precision", precision])
    assert summary["precision"] in (precision, "fp32") and set(summary["per_head"]) == set(TRAINABLE)
    assert 0 <= summary["accuracy"] <= 1


def test_cli_runs_only_the_main_head_without_labels(tiny_checkpoint, tmp_path, monkeypatch, capsys):
    (tmp_path / "s.txt").write_text("good movie\nbad plot\n")
    seen = []
    real = predict.predict_probs
    monkeypatch.setattr(predict, "predict_probs", lambda *a, **k: seen.append(a[5]) or real(*a, **k))
    summary = predict.main(["--checkpoint", tiny_checkpoint, "--input", str(tmp_path / "s.txt"), "--precision", "fp32"])
    assert seen == [[summary["head"]]] and "per_head" not in summary


def test_stacked_plan_is_per_model(tiny_tokenizer):
    a = LoadedModel(tiny_classifier(tiny_tokenizer, ["cls"], seed=1), tiny_tokenizer)
    b = LoadedModel(tiny_classifier(tiny_tokenizer, ["cls"], seed=2), tiny_tokenizer)
    assert explain(a, TEXTS[0]).probs.tolist() != explain(b, TEXTS[0]).probs.tolist()
    assert a.model._stacked()[0] is not b.model._stacked()[0]


def test_concurrent_requests_agree(tiny_tokenizer):
    from concurrent.futures import ThreadPoolExecutor

    want = {t: explain(LoadedModel(tiny_classifier(tiny_tokenizer, seed=8), tiny_tokenizer), t).heads for t in TEXTS}
    fresh = LoadedModel(tiny_classifier(tiny_tokenizer, seed=8), tiny_tokenizer)  # its plan is built under concurrency
    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(lambda t: (t, explain(fresh, t).heads), TEXTS * 4))
    assert all(heads == want[t] for t, heads in got)
