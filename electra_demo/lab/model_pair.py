"""model_pair(a, b, text, sentences) -> ModelPair: ONE sentence through TWO loaded models, side by side.

Both explanations (every head's prediction, both shape traces: H = 384 beside H = 256, or a BERT beside our ELECTRA)
and, per pooling both models compute, where each model's vector places the sentence among the same neighbours: its
k nearest sentences of a shared set by cosine under model A and under model B, and how many they share. Two models
can agree on the label and still see different neighbours; that is a statement about the pooling and the encoder
together, which one model alone cannot show.
"""
from dataclasses import dataclass

import numpy as np

from ..checkpoint import LoadedModel
from ..errors import InputError
from .dataset import with_sentence
from .explain import Explanation, check_text, explain

K_NEIGHBOURS = 5


@dataclass
class ModelPair:
    text: str  # the sentence, through both models
    a: Explanation  # model A's explanation
    b: Explanation  # model B's explanation
    sentences: list[str]  # (N,) the shared set the neighbours come from
    poolings: list[str]  # (P,) poolings both models compute (parameter-free, and learned ones both have)
    neighbours_a: np.ndarray  # (P, K) indices into `sentences`: the sentence's nearest neighbours under A
    neighbours_b: np.ndarray  # (P, K) the same under B
    shared: np.ndarray  # (P,) how many of the K neighbours A and B share
    rank_corr: np.ndarray  # (P,) Spearman correlation of the two models' cosines to all N sentences


def _ranks(x: np.ndarray) -> np.ndarray:
    return np.argsort(np.argsort(x, kind="stable"), kind="stable").astype(np.float64)


def _cosines(v: np.ndarray) -> np.ndarray:
    """(N,) cosine of row 0 (the sentence) with rows 1..N (the set)."""
    u = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
    return u[1:] @ u[0]


def model_pair(a: LoadedModel, b: LoadedModel, text: str, sentences: list[str], k: int = K_NEIGHBOURS,
               explained=explain) -> ModelPair:
    """`explained(classifier, text)`: where the explanations come from (the page passes its cache, so model A's, the
    page's own, is not computed again)."""
    text = check_text(text)
    if len(sentences) < k + 1:
        raise InputError(f"{len(sentences)} sentences given; comparing neighbours needs at least {k + 1}")
    sentences = [check_text(s) for s in sentences]
    ea, eb = explained(a, text), explained(b, text)
    va, vb = with_sentence(a, text, sentences), with_sentence(b, text, sentences)  # {pooling: (1 + N, H_model)}
    poolings = [p for p in va if p in vb]
    na, nb, shared, corr = [], [], [], []
    for p in poolings:
        ca, cb = _cosines(va[p].numpy()), _cosines(vb[p].numpy())  # (N,), (N,)
        na.append(np.argsort(-ca, kind="stable")[:k])
        nb.append(np.argsort(-cb, kind="stable")[:k])
        shared.append(len(set(na[-1].tolist()) & set(nb[-1].tolist())))
        ra, rb = _ranks(ca), _ranks(cb)
        corr.append(float(np.corrcoef(ra, rb)[0, 1]) if ra.std() > 0 and rb.std() > 0 else float("nan"))
    return ModelPair(text, ea, eb, list(sentences), poolings, np.array(na), np.array(nb), np.array(shared),
                     np.array(corr))
