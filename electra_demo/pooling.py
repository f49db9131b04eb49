"""Pooling: turn per-token hidden states (B, T, H) into one sentence vector (B, H).

ElectraModel has no `pooler_output`; these are the ways to get a sentence vector instead. Each pooling
is ONE record in `REGISTRY`: its function or module, its kind, the code lines the explorer shows, its
description and how attribution reads its token weights. Everything else (the model, the explorer's
views, the Code tab, the LightningModule snippet) reads these records.

* parameter-free: pure, mask-aware functions `(hidden, attention_mask) -> (B, H)`. Same numbers as
  sentence-transformers' Pooling modes on right-padded input, but they never write into their inputs
  and give the same result for right or left padding.
* learned: small nn.Modules with weights, trained together with their heads.
* naive: the unmasked mean / max / h[:, 0] often written by hand. Teaching baselines only: padding
  changes their result. Never trained.
"""
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .errors import InputError


def _mask(hidden, attention_mask):
    return attention_mask.to(hidden.dtype).unsqueeze(-1)  # (B, T, 1)


def first_token_index(attention_mask):
    return attention_mask.long().argmax(dim=1)  # (B,) first unmasked position ([CLS]), any padding side


def last_token_index(attention_mask):
    T = attention_mask.shape[1]
    return T - 1 - attention_mask.long().flip(1).argmax(dim=1)  # (B,) last unmasked position ([SEP])


def _gather(hidden, index):
    return hidden[torch.arange(hidden.shape[0], device=hidden.device), index]  # (B, H)


def cls_pool(hidden, attention_mask):
    return _gather(hidden, first_token_index(attention_mask))  # (B, H)


def mean_pool(hidden, attention_mask):
    m = _mask(hidden, attention_mask)
    return (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)  # (B, H)


def max_pool(hidden, attention_mask):
    pad = ~attention_mask.bool().unsqueeze(-1)  # (B, T, 1)
    return hidden.masked_fill(pad, torch.finfo(hidden.dtype).min).max(dim=1).values  # (B, H); copy, input untouched


def mean_sqrt_len_pool(hidden, attention_mask):
    m = _mask(hidden, attention_mask)
    return (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9).sqrt()  # (B, H)


def weighted_mean_pool(hidden, attention_mask):
    m = attention_mask.to(hidden.dtype)
    w = (m.cumsum(1) * m).unsqueeze(-1)  # (B, T, 1) weights 1..n over the real tokens, 0 on padding
    return (hidden * w).sum(1) / w.sum(1).clamp(min=1e-9)  # (B, H)


def last_token_pool(hidden, attention_mask):
    return _gather(hidden, last_token_index(attention_mask))  # (B, H)


def naive_cls_pool(hidden, attention_mask=None):
    return hidden[:, 0]  # (B, H) WRONG with left padding: position 0 is a [PAD]


def naive_mean_pool(hidden, attention_mask=None):
    return hidden.mean(dim=1)  # (B, H) WRONG on padded batches: averages the [PAD] positions too


def naive_max_pool(hidden, attention_mask=None):
    return hidden.max(dim=1).values  # (B, H) WRONG on padded batches: a [PAD] position can win


class AttentionPooling(nn.Module):
    """Token-attention pooling: a learned score per token, softmax over the real tokens."""

    def __init__(self, hidden_size: int):
        super().__init__()
        self.score = nn.Linear(hidden_size, 1)

    def weights(self, hidden, attention_mask):
        s = self.score(hidden).squeeze(-1)  # (B, T)
        s = s.masked_fill(~attention_mask.bool(), float("-inf"))
        return s.softmax(dim=-1)  # (B, T), exactly 0 on padding

    def forward(self, hidden, attention_mask):
        return (self.weights(hidden, attention_mask).unsqueeze(-1) * hidden).sum(1)  # (B, H)


class BertPooler(nn.Module):
    """What `pooler_output` would be if ELECTRA had BERT's pooler: dense + tanh on [CLS]."""

    def __init__(self, hidden_size: int):
        super().__init__()
        self.dense = nn.Linear(hidden_size, hidden_size)

    def forward(self, hidden, attention_mask):
        return torch.tanh(self.dense(cls_pool(hidden, attention_mask)))  # (B, H)


class ProjectedMaxPooling(nn.Module):
    """The usual hand-written "custom pooling": a linear projection, then masked max over tokens."""

    def __init__(self, hidden_size: int):
        super().__init__()
        self.proj = nn.Linear(hidden_size, hidden_size)

    def features(self, hidden):
        return F.gelu(self.proj(hidden))  # (B, T, H): what the max runs over

    def forward(self, hidden, attention_mask):
        return max_pool(self.features(hidden), attention_mask)  # (B, H)


# ---- how attribution reads each pooling: coefficients a (B, T) with vec = sum_t a_t h_t, or a max ----

def _one_hot(index_fn):
    return lambda h, m, module: F.one_hot(index_fn(m), m.shape[1]).to(h.dtype)  # (B, T)


def _mean_coef(h, m, module):
    m = m.to(h.dtype)
    return m / m.sum(1, keepdim=True).clamp(min=1e-9)  # (B, T)


def _sqrt_len_coef(h, m, module):
    m = m.to(h.dtype)
    return m / m.sum(1, keepdim=True).clamp(min=1e-9).sqrt()  # (B, T)


def _position_coef(h, m, module):
    m = m.to(h.dtype)
    w = m.cumsum(1) * m
    return w / w.sum(1, keepdim=True).clamp(min=1e-9)  # (B, T)


def _naive_mean_coef(h, m, module):
    return torch.full(m.shape, 1.0 / m.shape[1], dtype=h.dtype)  # (B, T): padding included


@dataclass(frozen=True)
class Pooling:
    name: str
    kind: str  # "parameter-free", "learned" or "naive"
    description: str
    forward_code: str  # the lines inside forward, given h = out.last_hidden_state (B, T, H) and mask (B, T)
    init_code: str = ""  # the lines inside __init__ (learned poolings only), given H = config.hidden_size
    fn: Callable | None = None  # (hidden, mask) -> (B, H) for parameter-free and naive poolings
    module: type[nn.Module] | None = None  # built with (hidden_size,) for learned poolings
    coefficients: Callable | None = None  # (h, mask, module) -> (B, T) weights a, vec = sum_t a_t h_t ...
    max_over: Callable | None = None  # ... or (h, module) -> (B, T, H) features a max runs over
    masked: bool = True  # False for the naive baselines (padding takes part)
    imitates: str = ""  # naive only: the masked pooling the hand-written code meant to compute


MASKED_MAX = "h.masked_fill(~mask.bool().unsqueeze(-1), torch.finfo(h.dtype).min).max(1).values"
REGISTRY: dict[str, Pooling] = {p.name: p for p in [
    Pooling("cls", "parameter-free", "hidden state of the first token, [CLS]; the input of "
            "ElectraForSequenceClassification's head",
            "first = mask.argmax(1)  # (B,) the first real token, [CLS]: 0 under right padding, after the pads under left\n"
            "vec = h[torch.arange(len(h)), first]  # (B, H)",
            fn=cls_pool, coefficients=_one_hot(first_token_index)),
    Pooling("mean", "parameter-free", "average of the real tokens' hidden states",
            "m = mask.unsqueeze(-1).to(h.dtype)  # (B, T, 1)\nvec = (h * m).sum(1) / m.sum(1).clamp(min=1e-9)  # (B, H)",
            fn=mean_pool, coefficients=_mean_coef),
    Pooling("max", "parameter-free", "per dimension, the largest value over the real tokens",
            f"vec = {MASKED_MAX}  # (B, H)", fn=max_pool, max_over=lambda h, module: h),
    Pooling("mean_sqrt_len", "parameter-free", "sum over real tokens divided by sqrt(number of tokens)",
            "m = mask.unsqueeze(-1).to(h.dtype)  # (B, T, 1)\nvec = (h * m).sum(1) / m.sum(1).clamp(min=1e-9).sqrt()  # (B, H)",
            fn=mean_sqrt_len_pool, coefficients=_sqrt_len_coef),
    Pooling("weighted_mean", "parameter-free", "average weighted by position (1, 2, ..., n): later tokens count more",
            "m = mask.to(h.dtype)  # (B, T)\nw = (m.cumsum(1) * m).unsqueeze(-1)  # (B, T, 1)\n"
            "vec = (h * w).sum(1) / w.sum(1).clamp(min=1e-9)  # (B, H)",
            fn=weighted_mean_pool, coefficients=_position_coef),
    Pooling("last_token", "parameter-free", "hidden state of the last real token, [SEP]",
            "last = mask.shape[1] - 1 - mask.long().flip(1).argmax(1)  # (B,)\nvec = h[torch.arange(len(h)), last]  # (B, H)",
            fn=last_token_pool, coefficients=_one_hot(last_token_index)),
    Pooling("attention", "learned", "learned score per token, softmax over real tokens, weighted sum",
            "a = self.score(h).squeeze(-1).masked_fill(~mask.bool(), float('-inf')).softmax(-1)  # (B, T)\n"
            "vec = (a.unsqueeze(-1) * h).sum(1)  # (B, H)",
            init_code="self.score = nn.Linear(H, 1)", module=AttentionPooling,
            coefficients=lambda h, m, module: module.weights(h, m)),
    Pooling("bert_pooler", "learned", "dense + tanh on [CLS]: BERT's pooler_output, which ElectraModel lacks",
            "first = mask.argmax(1)  # (B,) the first real token, [CLS], under any padding\n"
            "vec = torch.tanh(self.dense(h[torch.arange(len(h)), first]))  # (B, H)", init_code="self.dense = nn.Linear(H, H)",
            module=BertPooler, coefficients=_one_hot(first_token_index)),
    Pooling("proj_max", "learned", "linear projection + GELU, then masked max over tokens",
            "p = F.gelu(self.proj(h))  # (B, T, H)\n"
            "vec = p.masked_fill(~mask.bool().unsqueeze(-1), torch.finfo(p.dtype).min).max(1).values  # (B, H)",
            init_code="self.proj = nn.Linear(H, H)", module=ProjectedMaxPooling,
            max_over=lambda h, module: module.features(h)),
    Pooling("naive_cls", "naive", "position 0 taken as [CLS], whatever the mask says: a [PAD] under left padding",
            "vec = h[:, 0]  # (B, H)  BUG with left padding: position 0 is a [PAD]", fn=naive_cls_pool,
            coefficients=lambda h, m, module: F.one_hot(torch.zeros(len(m), dtype=torch.long), m.shape[1]).to(h.dtype),
            masked=False, imitates="cls"),
    Pooling("naive_mean", "naive", "UNMASKED mean over all positions, padding included (bug demo)",
            "vec = h.mean(1)  # (B, H)  BUG: includes padding", fn=naive_mean_pool, coefficients=_naive_mean_coef,
            masked=False, imitates="mean"),
    Pooling("naive_max", "naive", "UNMASKED max over all positions, padding included (bug demo)",
            "vec = h.max(1).values  # (B, H)  BUG: includes padding", fn=naive_max_pool,
            max_over=lambda h, module: h, masked=False, imitates="max"),
]}

POOLERS = {n: p.fn for n, p in REGISTRY.items() if p.kind == "parameter-free"}  # name -> pure function
LEARNED_POOLERS = {n: p.module for n, p in REGISTRY.items() if p.kind == "learned"}  # name -> nn.Module class
NAIVE_POOLERS = {n: p.fn for n, p in REGISTRY.items() if p.kind == "naive"}  # name -> unmasked function
TRAINABLE = list(POOLERS) + list(LEARNED_POOLERS)  # every pooling a head can be trained on


def get(name: str) -> Pooling:
    """The record for `name`; InputError listing the valid names otherwise."""
    if name not in REGISTRY:
        raise InputError(f"unknown pooling {name!r}; valid names: {', '.join(REGISTRY)}")
    return REGISTRY[name]


def pool(name: str, hidden, attention_mask, modules=None):
    """THE dispatch: pooling `name` of hidden (B, T, H) under attention_mask (B, T) -> (B, H).

    Learned poolings take their trained module from `modules` (a dict or nn.ModuleDict, e.g. model.poolers).
    """
    p = get(name)
    if p.fn is not None:
        return p.fn(hidden, attention_mask)  # (B, H)
    if modules is None or name not in modules:
        raise InputError(f"pooling {name!r} is learned and this model has no trained {name!r} pooler")
    return modules[name](hidden, attention_mask)  # (B, H)


def parse_poolings(spec: str) -> list[str]:
    """'all' -> every trainable pooling; 'cls,mean' -> ['cls', 'mean']; unknown or naive names raise InputError."""
    if spec.strip() == "all":
        return list(TRAINABLE)
    names = [n.strip() for n in spec.split(",") if n.strip()]
    bad = [n for n in names if n not in TRAINABLE]
    if bad or not names:
        what = f"unknown or untrainable pooling {bad[0]!r}" if bad else "no pooling given"
        raise InputError(f"{what}; trainable poolings: {', '.join(TRAINABLE)} (or 'all')")
    return list(dict.fromkeys(names))
