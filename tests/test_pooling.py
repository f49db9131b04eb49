"""Every pooling against hand-computed values, padding invariance (right and left), purity."""
import pytest
import torch

from electra_demo.pooling import (ALL_POOLINGS, LEARNED_POOLERS, NAIVE_POOLERS, POOLERS, get_pooler, parse_poolings)

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
    hp, mp = _pad(h, m, 10, "right")
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
    with pytest.raises(ValueError, match="valid names: cls, mean, max"):
        parse_poolings("cls,avg")
    with pytest.raises(ValueError, match="unknown parameter-free pooling 'attn'"):
        get_pooler("attn")
    assert parse_poolings("all") == ALL_POOLINGS
    assert parse_poolings("mean, cls,mean") == ["mean", "cls"]
