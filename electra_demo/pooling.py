"""Pooling: turn per-token hidden states (B, T, H) into one sentence vector (B, H).

ElectraModel has no `pooler_output`; these are the ways to get a sentence vector instead.

* POOLERS: parameter-free, pure, mask-aware functions `(hidden, attention_mask) -> (B, H)`.
  Same numbers as sentence-transformers' Pooling modes on right-padded input, but they never
  write into their inputs and give the same result for right or left padding.
* LEARNED_POOLERS: small nn.Modules with weights, trained together with their heads.
* NAIVE_POOLERS: the unmasked mean / max often written by hand. Teaching baselines only:
  padding changes their result. Never used for training.
"""
import torch
import torch.nn.functional as F
from torch import nn


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


POOLERS = {
    "cls": cls_pool,
    "mean": mean_pool,
    "max": max_pool,
    "mean_sqrt_len": mean_sqrt_len_pool,
    "weighted_mean": weighted_mean_pool,
    "last_token": last_token_pool,
}


def naive_mean_pool(hidden, attention_mask=None):
    return hidden.mean(dim=1)  # (B, H) WRONG on padded batches: averages the [PAD] positions too


def naive_max_pool(hidden, attention_mask=None):
    return hidden.max(dim=1).values  # (B, H) WRONG on padded batches: a [PAD] position can win


NAIVE_POOLERS = {"naive_mean": naive_mean_pool, "naive_max": naive_max_pool}


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

    def forward(self, hidden, attention_mask):
        return max_pool(F.gelu(self.proj(hidden)), attention_mask)  # (B, H)


LEARNED_POOLERS = {"attention": AttentionPooling, "bert_pooler": BertPooler, "proj_max": ProjectedMaxPooling}

ALL_POOLINGS = list(POOLERS) + list(LEARNED_POOLERS)

DESCRIPTIONS = {
    "cls": "hidden state of the first token, [CLS]; the input of ElectraForSequenceClassification's head",
    "mean": "average of the real tokens' hidden states",
    "max": "per dimension, the largest value over the real tokens",
    "mean_sqrt_len": "sum over real tokens divided by sqrt(number of tokens)",
    "weighted_mean": "average weighted by position (1, 2, ..., n): later tokens count more",
    "last_token": "hidden state of the last real token, [SEP]",
    "attention": "learned score per token, softmax over real tokens, weighted sum (learned)",
    "bert_pooler": "dense + tanh on [CLS]: BERT's pooler_output, which ElectraModel lacks (learned)",
    "proj_max": "linear projection + GELU, then masked max over tokens (learned)",
    "naive_mean": "UNMASKED mean over all positions, padding included (bug demo)",
    "naive_max": "UNMASKED max over all positions, padding included (bug demo)",
}

# The PyTorch line that makes each vector inside a LightningModule's forward, given
# `out = self.electra(input_ids, attention_mask=mask)`, `h = out.last_hidden_state  # (B, T, H)`.
CODE = {
    "cls": "vec = h[:, 0]  # (B, H); right padding. Any padding: h[torch.arange(len(h)), mask.argmax(1)]",
    "mean": "m = mask.unsqueeze(-1).to(h.dtype)\nvec = (h * m).sum(1) / m.sum(1).clamp(min=1e-9)  # (B, H)",
    "max": "vec = h.masked_fill(~mask.bool().unsqueeze(-1), torch.finfo(h.dtype).min).max(1).values  # (B, H)",
    "mean_sqrt_len": "m = mask.unsqueeze(-1).to(h.dtype)\nvec = (h * m).sum(1) / m.sum(1).clamp(min=1e-9).sqrt()  # (B, H)",
    "weighted_mean": "m = mask.to(h.dtype)\nw = (m.cumsum(1) * m).unsqueeze(-1)  # (B, T, 1)\n"
    "vec = (h * w).sum(1) / w.sum(1).clamp(min=1e-9)  # (B, H)",
    "last_token": "last = mask.shape[1] - 1 - mask.long().flip(1).argmax(1)  # (B,)\n"
    "vec = h[torch.arange(len(h)), last]  # (B, H)",
    "attention": "# __init__: self.score = nn.Linear(H, 1)\n"
    "a = self.score(h).squeeze(-1).masked_fill(~mask.bool(), float('-inf')).softmax(-1)  # (B, T)\n"
    "vec = (a.unsqueeze(-1) * h).sum(1)  # (B, H)",
    "bert_pooler": "# __init__: self.dense = nn.Linear(H, H)\nvec = torch.tanh(self.dense(h[:, 0]))  # (B, H)",
    "proj_max": "# __init__: self.proj = nn.Linear(H, H)\np = F.gelu(self.proj(h))  # (B, T, H)\n"
    "vec = p.masked_fill(~mask.bool().unsqueeze(-1), torch.finfo(p.dtype).min).max(1).values  # (B, H)",
    "naive_mean": "vec = h.mean(1)  # (B, H)  BUG: includes padding",
    "naive_max": "vec = h.max(1).values  # (B, H)  BUG: includes padding",
}


def check_pooling(name: str) -> str:
    if name not in ALL_POOLINGS:
        raise ValueError(f"unknown pooling {name!r}; valid names: {', '.join(ALL_POOLINGS)} (or 'all')")
    return name


def parse_poolings(spec: str) -> list[str]:
    """'all' -> every pooling; 'cls,mean' -> ['cls', 'mean']; unknown names raise ValueError."""
    if spec.strip() == "all":
        return list(ALL_POOLINGS)
    names = [check_pooling(n.strip()) for n in spec.split(",") if n.strip()]
    if not names:
        raise ValueError(f"no pooling given; valid names: {', '.join(ALL_POOLINGS)} (or 'all')")
    return list(dict.fromkeys(names))


def get_pooler(name: str):
    """The parameter-free pooling function for `name` (learned poolers live in the model)."""
    fn = POOLERS.get(name) or NAIVE_POOLERS.get(name)
    if fn is None:
        raise ValueError(f"unknown parameter-free pooling {name!r}; valid names: {', '.join(list(POOLERS) + list(NAIVE_POOLERS))}")
    return fn
