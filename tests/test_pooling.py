"""Every pooling against hand-computed values, padding invariance (right and left), purity."""
import pytest
import torch

from electra_demo import pooling
from electra_demo.errors import InputError, UserError
from electra_demo.pooling import LEARNED_POOLERS, NAIVE_POOLERS, POOLERS, REGISTRY, TRAINABLE, parse_poolings

ALL_POOLINGS = TRAINABLE

H = torch.tensor([[[1.0, 2.0], [3.0, -1.0], [5.0, 0.0], [100.0, 100.0]]])  # (1, 4, 2); last position is padding
M = torch.tensor([[1, 1, 1, 0]])

EXPECTED = {  # by hand, over the 3 real tokens (sentence-transformers' definitions)
    "cls": [1.0, 2.0],
    "mean": [3.0, 1.0 / 3],
    "max": [5.0, 2.0],
    "mean_sqrt_len": [9.0 / 3**0.5, 1.0 / 3**0.5],
    "weighted_mean": [(1 * 1 + 2 * 3 + 3 * 5) / 6, (1 * 2 + 2 * -1 + 3 * 0) / 6],
    "last_token": [5.0, 0.0],
}


@pytest.mark.parametrize("name", list(POOLERS))
def test_hand_computed(name):
    torch.testing.assert_close(POOLERS[name](H, M), torch.tensor([EXPECTED[name]]))


def test_registry_covers_expected_names():
    assert list(POOLERS) == ["cls", "mean", "max", "mean_sqrt_len", "weighted_mean", "last_token"]
    assert set(ALL_POOLINGS) == set(POOLERS) | set(LEARNED_POOLERS)
    assert list(NAIVE_POOLERS) == ["naive_cls", "naive_mean", "naive_max"]
    for name, rec in REGISTRY.items():  # one complete record per pooling
        assert rec.name == name and rec.kind in ("parameter-free", "learned", "naive") and rec.description
        assert rec.forward_code.strip().startswith(("vec", "m ", "m=", "last", "a ", "p ", "first")) and "vec =" in rec.forward_code
        assert (rec.fn is None) == (rec.kind == "learned") and (rec.module is None) == (rec.kind != "learned")
        assert (rec.coefficients is None) != (rec.max_over is None), name  # attribution knows how to read it
        assert bool(rec.init_code) == (rec.kind == "learned") and rec.masked == (rec.kind != "naive")


def _pad(hidden, mask, n, side):
    """Add n padding positions filled with large garbage, on the right or the left."""
    B, T, D = hidden.shape
    junk = torch.randn(B, n, D) * 50 + 7
    zeros = torch.zeros(B, n, dtype=mask.dtype)
    if side == "right":
        return torch.cat([hidden, junk], 1), torch.cat([mask, zeros], 1)
    return torch.cat([junk, hidden], 1), torch.cat([zeros, mask], 1)


def _all_poolers(D):
    torch.manual_seed(0)
    fns = dict(POOLERS)
    fns.update({n: cls(D).eval() for n, cls in LEARNED_POOLERS.items()})
    return fns


@pytest.mark.parametrize("side", ["right", "left"])
@pytest.mark.parametrize("name", ALL_POOLINGS)
def test_padding_invariance(name, side):
    torch.manual_seed(1)
    h, m = torch.randn(1, 5, 8), torch.ones(1, 5, dtype=torch.long)
    fn = _all_poolers(8)[name]
    alone = fn(h, m)
    for n in (1, 7, 50):
        hp, mp = _pad(h, m, n, side)
        torch.testing.assert_close(fn(hp, mp), alone, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", list(NAIVE_POOLERS))
def test_naive_baselines_are_corrupted_by_padding(name):
    torch.manual_seed(1)
    h, m = torch.randn(1, 5, 8), torch.ones(1, 5, dtype=torch.long)
    hp, mp = _pad(h, m, 10, "left" if name == "naive_cls" else "right")  # h[:, 0] breaks under left padding
    assert not torch.allclose(NAIVE_POOLERS[name](hp, mp), NAIVE_POOLERS[name](h, m), atol=1e-3)


@pytest.mark.parametrize("name", ALL_POOLINGS)
def test_inputs_unchanged(name):
    torch.manual_seed(2)
    h, m = _pad(torch.randn(2, 4, 8), torch.ones(2, 4, dtype=torch.long), 3, "right")
    h0, m0 = h.clone(), m.clone()
    fn = _all_poolers(8)[name]
    fn(h, m)
    fn(h, m)  # a second call sees the same inputs
    assert torch.equal(h, h0) and torch.equal(m, m0)


def test_attention_weights_zero_on_padding():
    pool = LEARNED_POOLERS["attention"](8)
    h, m = _pad(torch.randn(1, 4, 8), torch.ones(1, 4, dtype=torch.long), 3, "left")
    w = pool.weights(h, m)
    assert torch.all(w[0, :3] == 0) and torch.isclose(w.sum(), torch.tensor(1.0))


def test_unknown_names_list_valid_ones():
    with pytest.raises(InputError, match="trainable poolings: cls, mean, max"):
        parse_poolings("cls,avg")
    with pytest.raises(UserError, match="untrainable pooling 'naive_mean'"):
        parse_poolings("naive_mean")
    with pytest.raises(InputError, match="unknown pooling 'attn'; valid names: cls, mean"):
        pooling.get("attn")
    with pytest.raises(InputError, match="learned and this model has no trained 'attention' pooler"):
        pooling.pool("attention", H, M)
    assert parse_poolings("all") == ALL_POOLINGS
    assert parse_poolings("mean, cls,mean") == ["mean", "cls"]


@pytest.mark.parametrize("name", list(POOLERS) + list(NAIVE_POOLERS))
def test_one_dispatch_for_every_pooling(name):
    torch.testing.assert_close(pooling.pool(name, H, M), REGISTRY[name].fn(H, M))





@pytest.mark.parametrize("ours, theirs", [("cls", "cls"), ("mean", "mean"), ("max", "max"),
                                          ("mean_sqrt_len", "mean_sqrt_len_tokens"), ("weighted_mean", "weightedmean"),
                                          ("last_token", "lasttoken")])
def test_parameter_free_poolings_match_sentence_transformers(ours, theirs):
    """The README's claim: same numbers as sentence-transformers' Pooling modes on right-padded input."""
    st_models = pytest.importorskip("sentence_transformers.models")
    torch.manual_seed(3)
    h, m = _pad(torch.randn(3, 6, 8), torch.ones(3, 6, dtype=torch.long), 4, "right")
    m[1, 4:6] = 0  # rows of different lengths (right padding inside the real part too)
    m[2, 2:6] = 0
    pool = st_models.Pooling(8, pooling_mode=theirs)
    expected = pool({"token_embeddings": h.clone(), "attention_mask": m.clone()})["sentence_embedding"]
    torch.testing.assert_close(POOLERS[ours](h, m), expected, atol=1e-5, rtol=1e-5)
