"""attribution(classifier, text, pooling) -> Attribution: which tokens make the pooled vector.

Computed on a padded batch (the sentence padded right or left with `n_pad` pads), so the pad
positions are there to be seen: every masked pooling gives them exactly 0; the naive baselines
do not. Two numbers per token, both summing to 1 over the row:

* weight: the pooling's own mixing coefficient, normalised to sum 1. Weighted sums
  vec = sum_t a_t h_t: cls / last_token / bert_pooler one-hot, mean and mean_sqrt_len 1/n,
  weighted_mean t / sum(1..n), attention the learned softmax (AttentionPooling.weights).
  Max poolings (max, proj_max): the share of the H dimensions each token wins.
* contribution: each token's share of the squared norm of the pooled vector.
  Weighted sums: a_t <h_t, vec> / |vec|^2 (signed: a token pointing away from the sentence
  vector counts negative). Max poolings: the sum of vec_d^2 over the dimensions token t wins,
  / |vec|^2 (non-negative). bert_pooler: all on [CLS], the only token it reads.
"""
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .. import pooling
from ..checkpoint import LoadedModel
from ..data import tokenize
from ..errors import InputError
from .explain import check_text, sentence_states
from .padding import ATTRIBUTION_MAX_PADS, SIDES, pad_ids


@dataclass
class Attribution:
    text: str  # the sentence
    pooling: str  # the pooling explained
    side: str  # "right" or "left": where the pads are
    tokens: list[str]  # (T,) wordpieces of the padded row, "[PAD]" included
    is_pad: np.ndarray  # (T,) bool, attention_mask == 0
    weight: np.ndarray  # (T,) the pooling's mixing weight or share of dimensions won; sums to 1
    contribution: np.ndarray  # (T,) share of |vec|^2; sums to 1; exactly 0 on padding for masked poolings
    dims_won: np.ndarray | None  # (T,) int, dimensions won per token (max poolings), else None
    vector_max_diff: float  # max |vec rebuilt from these weights - model.pool(...)|: the weights are the real ones
    unpadded_max_diff: float  # max |weight on the real tokens - weight for the sentence run with no padding|
    note: str  # what weight and contribution mean for this pooling


def _max_attribution(model, name, h, mask):
    """(dims_won (B, T), contribution (B, T), vec (B, H)) for max over tokens (masked unless naive)."""
    p = pooling.get(name)
    x = p.max_over(h, model.poolers[name] if name in model.poolers else None)  # (B, T, H)
    if p.masked:
        x = x.masked_fill(~mask.bool().unsqueeze(-1), torch.finfo(x.dtype).min)  # copy; pads never win
    vec, idx = x.max(dim=1)  # (B, H), (B, H) winning token per dimension
    won = F.one_hot(idx, x.shape[1]).to(x.dtype)  # (B, H, T)
    share = (won * vec.pow(2).unsqueeze(-1)).sum(1) / vec.pow(2).sum(-1, keepdim=True).clamp(min=1e-12)  # (B, T)
    return won.sum(1), share, vec


def attribution_poolings(model) -> list[str]:
    return model.available_poolings() + list(pooling.NAIVE_POOLERS)


def _weights(model, name, h, mask):
    """(weight (1, T), contribution (1, T), dims_won (1, T) or None, rebuilt vector (1, H))."""
    p = pooling.get(name)
    if p.max_over is not None:
        won, contribution, rebuilt = _max_attribution(model, name, h, mask)
        return won / won.sum(-1, keepdim=True), contribution, won, rebuilt
    a = p.coefficients(h, mask, model.poolers[name] if name in model.poolers else None)  # (1, T)
    rebuilt = (a.unsqueeze(-1) * h).sum(1)  # (1, H)
    weight = a / a.sum(-1, keepdim=True)
    if name == "bert_pooler":  # reads [CLS] only, then dense + tanh
        return weight, weight, None, torch.tanh(model.poolers["bert_pooler"].dense(rebuilt))
    contribution = a * (h @ rebuilt.unsqueeze(-1)).squeeze(-1) / rebuilt.pow(2).sum().clamp(min=1e-12)  # (1, T)
    return weight, contribution, None, rebuilt


@torch.no_grad()
def attribution(classifier: LoadedModel, text: str, name: str, n_pad: int = 4, side: str = "right") -> Attribution:
    """Token weights inside pooling `name` for `text` padded with `n_pad` pads on `side`."""
    text = check_text(text)
    model, tok = classifier.model, classifier.tokenizer
    if name not in attribution_poolings(model):
        raise InputError(f"unknown pooling {name!r}; valid: {', '.join(attribution_poolings(model))}")
    if side not in SIDES:
        raise InputError(f"side must be one of {', '.join(SIDES)}, got {side!r}")
    if not 0 <= int(n_pad) <= ATTRIBUTION_MAX_PADS:
        raise InputError(f"n_pad must be between 0 and {ATTRIBUTION_MAX_PADS}, got {n_pad}")
    ids = tokenize(tok, [text], classifier.max_length)[0]
    input_ids, mask = pad_ids(ids, int(n_pad), tok, side)  # (T,), (T,)
    input_ids, mask = input_ids[None], mask[None]  # (1, T)
    h = model.encode(input_ids, mask).last_hidden_state.float()  # (1, T, H)
    vec = model.pool(name, h, mask)  # (1, H) what the model itself computes
    weight, contribution, won, rebuilt = _weights(model, name, h, mask)
    alone = sentence_states(classifier, ids)[-1][None]  # (1, n, H) the same sentence, no padding: explain's own pass
    w_alone = _weights(model, name, alone, torch.ones(alone.shape[:2], dtype=torch.long))[0]  # (1, n)
    unpadded_diff = (weight[mask.bool()] - w_alone[0]).abs().max().item()
    if pooling.get(name).max_over is not None:
        note = ("weight = share of the H dimensions each token wins; contribution = share of |vec|^2 "
                "from the dimensions it wins")
    elif name == "bert_pooler":
        note = "bert_pooler = tanh(dense(h[CLS])): all weight on [CLS]"
    else:
        note = ("weight = the pooling's coefficient a_t in vec = sum_t a_t h_t (normalised to sum 1); "
                "contribution = a_t <h_t, vec> / |vec|^2, signed")
    if not pooling.get(name).masked:
        note += ". NAIVE: computed over all positions, so [PAD] gets weight too (the bug)"
    return Attribution(
        text=text, pooling=name, side=side, tokens=tok.convert_ids_to_tokens(input_ids[0].tolist()),
        is_pad=~mask[0].bool().numpy(), weight=weight[0].numpy(), contribution=contribution[0].numpy(),
        dims_won=None if won is None else won[0].long().numpy(), vector_max_diff=(rebuilt - vec).abs().max().item(),
        unpadded_max_diff=unpadded_diff, note=note,
    )
