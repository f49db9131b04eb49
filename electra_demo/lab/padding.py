"""padding_lab(classifier, text, n_pads) -> PaddingLab: what padding does to every pooling.

The sentence is run with N pad tokens appended (right padding) or prepended (left padding),
for a sweep of N up to `n_pads`, and alone versus batched with a longer sentence. Every
mask-aware pooling gives the same vector whatever N is; the naive, unmasked ones (mean and
max over all positions, and `h[:, 0]` as "[CLS]") drift, and a trained head applied to them
can change its prediction: the bug behind "my classifier behaves differently in batches".

Each N is its own forward pass of a (2, n + N) batch (right- and left-padded rows), so a
point really is "the sentence with N pads": a rectangular batch of several N would pad every
row to the longest and hide the difference from the naive poolers. Pad positions get
attention_mask 0 and (ElectraPoolingClassifier.encode) position ids counted over real tokens only.
"""
from dataclasses import dataclass

import numpy as np
import torch

from .. import pooling
from ..checkpoint import LoadedModel
from ..data import tokenize
from ..errors import InputError
from .explain import check_text, sentence_states

# Pads per tab, each limit defined here once: the padding lab sweeps up to MAX_PADS (one forward pass per count);
# attribution draws one bar per token (64 pads keep its chart readable); the attention view draws T x T maps per head
# (32 pads keep them readable and the eager pass small).
MAX_PADS = 512
ATTRIBUTION_MAX_PADS = 64
ATTENTION_MAX_PADS = 32
SIDES = ("right", "left")
DEFAULT_OTHER = ("a long , slow and wandering film whose lovely acting and great score cannot quite rescue "
                 "a dull plot that is really far too long for its own good")


@dataclass
class SideSweep:
    side: str  # "right" (pads after [SEP]) or "left" (pads before [CLS])
    vectors: np.ndarray  # (P, S, H) each pooling's sentence vector with n_pads[s] pads
    distance: np.ndarray  # (P, S) L2 distance to the same pooling's vector at N = 0 (exactly 0 = unaffected)
    cosine: np.ndarray  # (P, S) cosine similarity to the same pooling's vector at N = 0
    pred: np.ndarray  # (P, S) class index from the row's head (heads[p]); -1 where no head applies
    flipped: np.ndarray  # (P,) bool, the prediction differs from N = 0 for some N


@dataclass
class BatchCheck:
    other: str  # the longer sentence batched with ours
    pads: int  # pads our sentence gets in that batch (0 when `other` is not longer)
    distance: np.ndarray  # (2, P) per side: L2 distance of our vector in the batch to it alone
    cosine: np.ndarray  # (2, P) per side: cosine similarity in the batch vs alone
    pred_alone: np.ndarray  # (P,) class index predicted alone (-1: no head)
    pred_batched: np.ndarray  # (2, P) per side: class index predicted inside the batch


@dataclass
class PaddingLab:
    text: str  # the sentence
    tokens: list[str]  # (n,) its wordpieces, [CLS] ... [SEP]
    labels: list[str]  # (C,) class names
    n_pads: list[int]  # (S,) the pad counts swept, 0 first, the chosen N last
    names: list[str]  # (P,) masked poolings (every available one), then the naive baselines
    naive: list[bool]  # (P,) True for the naive (unmasked) baselines
    heads: list[str | None]  # (P,) the trained head applied to each row's vector (None: no head)
    sides: dict[str, SideSweep]  # {"right": ..., "left": ...}
    batched: BatchCheck  # the sentence alone vs batched with a longer one

    @property
    def n(self) -> int:
        return len(self.tokens)


def pad_sweep(n_pads: int) -> list[int]:
    """0, 1, 2, 4, ... below n_pads, then n_pads itself: [0, 1, 2, 4, 8, 16, 32, 50] for 50."""
    n_pads = int(n_pads)
    if not 0 <= n_pads <= MAX_PADS:
        raise InputError(f"n_pads must be between 0 and {MAX_PADS}, got {n_pads}")
    sweep = [0] + [2 ** k for k in range(10) if 2 ** k < n_pads]
    return sweep + ([n_pads] if n_pads else [])


def pad_ids(ids: list[int], n: int, tokenizer, side: str):
    """(input_ids, attention_mask), each (n_tokens + n,): `ids` with n pads on `side`, by the tokenizer's own padding."""
    enc = tokenizer.pad({"input_ids": [ids]}, padding="max_length", max_length=len(ids) + n, padding_side=side,
                        return_attention_mask=True, return_tensors="pt")
    return enc["input_ids"][0], enc["attention_mask"][0]


def head_for(model, name):
    """The trained head applied to pooling `name`'s vector: its own; for a naive pooling the head of the masked pooling
    it imitates (the "hand-written naive classifier"), else the main head; None when no head applies."""
    p = pooling.get(name)
    if p.kind == "naive":
        return p.imitates if p.imitates in model.poolings else model.main_pooling
    return name if name in model.poolings else None


@torch.no_grad()
def pooled_all(model, input_ids, mask, names, h=None) -> torch.Tensor:
    """(P, B, H): every pooling in `names` (masked ones through the model, naive ones as written by hand), on `h`
    (B, T, H) when the hidden states are already known."""
    h = model.encode(input_ids, mask).last_hidden_state if h is None else h  # (B, T, H)
    return torch.stack([model.pool(p, h, mask) for p in names]).float()


@torch.no_grad()
def predict_heads(model, vecs, heads) -> torch.Tensor:
    """(P, B, C) probabilities of heads[p] on vecs[p]; NaN rows where heads[p] is None."""
    P, B, _ = vecs.shape
    out = torch.full((P, B, len(model.labels)), float("nan"))
    for i, head in enumerate(heads):
        if head is not None:
            out[i] = model.classify(head, vecs[i]).float().softmax(-1)  # (B, C)
    return out


def _cos(a, b):
    return torch.nn.functional.cosine_similarity(a, b, dim=-1, eps=1e-12)


def _pred(probs):
    return torch.where(probs[..., 0].isnan(), -1, probs.nan_to_num(-1.0).argmax(-1))


@torch.no_grad()
def padding_lab(classifier: LoadedModel, text: str, n_pads: int = 64, other: str | None = None) -> PaddingLab:
    """The sweep over N = pad_sweep(n_pads) pads on both sides, plus the batched-with-`other` check."""
    text = check_text(text)
    other = check_text(other) if other and other.strip() else DEFAULT_OTHER
    model, tok = classifier.model, classifier.tokenizer
    sweep = pad_sweep(n_pads)
    ids = tokenize(tok, [text], classifier.max_length)[0]
    names = model.available_poolings() + list(pooling.NAIVE_POOLERS)
    heads = [head_for(model, p) for p in names]

    per_n = []  # S x (P, 2, H): for each N, every pooling on the right- and left-padded rows
    for n in sweep:
        rows = [pad_ids(ids, n, tok, side) for side in SIDES]
        h = sentence_states(classifier, ids)[-1].expand(2, -1, -1) if n == 0 else None  # no pads: explain's own pass
        per_n.append(pooled_all(model, torch.stack([r[0] for r in rows]), torch.stack([r[1] for r in rows]), names, h))
    vecs = torch.stack(per_n, dim=2)  # (P, 2, S, H)
    ref = vecs[:, :1, :1]  # (P, 1, 1, H) the N = 0 vector (both sides equal: no pads)
    P, _, S, H = vecs.shape
    probs = predict_heads(model, vecs.reshape(P, 2 * S, H), heads).reshape(P, 2, S, -1)  # (P, 2, S, C)
    pred = _pred(probs)  # (P, 2, S)
    distance = (vecs - ref).norm(dim=-1)  # (P, 2, S)
    cosine = _cos(vecs, ref.expand_as(vecs))  # (P, 2, S)
    sides = {side: SideSweep(side, vecs[:, j].numpy(), distance[:, j].numpy(), cosine[:, j].numpy(), pred[:, j].numpy(),
                             (pred[:, j] != pred[:, j, :1]).any(-1).numpy())
             for j, side in enumerate(SIDES)}

    batched = _batch_check(model, tok, ids, other, classifier.max_length, names, heads, ref[:, 0, 0], pred[:, 0, 0])
    return PaddingLab(text, tok.convert_ids_to_tokens(ids), list(model.labels), sweep, names,
                      [p in pooling.NAIVE_POOLERS for p in names], heads, sides, batched)


def _batch_check(model, tok, ids, other, max_length, names, heads, alone, pred_alone) -> BatchCheck:
    """Our sentence in a batch with `other`, padded right and left: rows [ours_right, other_right, ours_left, other_left]."""
    other_ids = tokenize(tok, [other], max_length)[0]
    pads = max(0, len(other_ids) - len(ids))
    T = max(len(ids), len(other_ids))
    rows = [pad_ids(x, T - len(x), tok, side) for side in SIDES for x in (ids, other_ids)]
    vecs = pooled_all(model, torch.stack([r[0] for r in rows]), torch.stack([r[1] for r in rows]), names)[:, ::2]  # (P, 2, H)
    probs = predict_heads(model, vecs, heads)  # (P, 2, C)
    return BatchCheck(other, pads, (vecs - alone[:, None]).norm(dim=-1).T.numpy(),
                      _cos(vecs, alone[:, None].expand_as(vecs)).T.numpy(), pred_alone.numpy(), _pred(probs).T.numpy())
