"""similarity_view(classifier, text, sentences, labels) -> SimilarityView: the same vectors under cosine and under a probe.

A pooling can look useless for similarity and fine for classification (SBERT, Reimers & Gurevych 2019: raw BERT
[CLS] vectors score 16.5 Spearman on STS-B under cosine, mean pooling 46.4, yet both reach ~84% on SST with a
linear probe). Per pooling, over a set of sentences:
* the nearest neighbours of the explained sentence by cosine, with their labels;
* nn_agreement: how often a sentence's nearest neighbour (leave-one-out) has its label;
* knn_acc vs probe_acc on the same fixed split (lab.dataset.split): cosine 5-NN vote vs a ridge probe;
* anisotropy: the mean pairwise cosine of the set's sentences (high = every vector points the same way, so a
  cosine of 0.93 may mean nothing), and the quantiles of that pairwise distribution, to read a cosine against.
"""
from dataclasses import dataclass

import numpy as np

from ..checkpoint import LoadedModel
from ..errors import InputError
from .dataset import MAX_SENTENCES, MIN_SENTENCES, check_gold, ridge_probe, split, with_sentence
from .explain import check_text

K_NEIGHBOURS = 5
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


@dataclass
class SimilarityView:
    text: str  # the explained sentence
    sentences: list[str]  # (N,) the set searched
    labels: list[str]  # (C,) class names
    gold: np.ndarray | None  # (N,) gold class index, None for an unlabelled set
    names: list[str]  # (P,) poolings, model.available_poolings() order
    neighbours: np.ndarray  # (P, K) indices into `sentences` of the explained sentence's nearest neighbours
    neighbour_cosine: np.ndarray  # (P, K) their cosine to the explained sentence
    nn_agreement: np.ndarray  # (P,) leave-one-out: share of sentences whose nearest neighbour has their label (NaN: no labels)
    knn_acc: np.ndarray  # (P,) cosine 5-NN vote accuracy on the held-out rows (NaN: no labels)
    probe_acc: np.ndarray  # (P,) ridge probe accuracy on the same held-out rows (NaN: no labels)
    anisotropy: np.ndarray  # (P,) mean pairwise cosine between different sentences of the set
    cosine_quantiles: np.ndarray  # (P, 5) the 5/25/50/75/95th percentiles of those pairwise cosines


def _unit(x):
    return x / np.linalg.norm(x, axis=-1, keepdims=True).clip(min=1e-12)


def percentile_of(view: SimilarityView, pooling: str, cosine: float) -> float:
    """Where `cosine` falls among the set's pairwise cosines for `pooling`, 0..100 (by the stored quantiles)."""
    q = view.cosine_quantiles[view.names.index(pooling)]
    return float(np.interp(cosine, q, np.array(QUANTILES) * 100, left=0.0, right=100.0))


def similarity_view(classifier: LoadedModel, text: str, sentences: list[str], gold: list[int] | None = None,
                    k: int = K_NEIGHBOURS, progress=None) -> SimilarityView:
    """`gold`: one label per sentence (class index or name), checked against the model's labels. `progress`: as in
    pooled_dataset (called after every batch; what it raises stops the run)."""
    text = check_text(text)
    if not MIN_SENTENCES <= len(sentences) <= MAX_SENTENCES:
        raise InputError(f"{len(sentences)} sentences given; the similarity view needs {MIN_SENTENCES} to {MAX_SENTENCES}")
    sentences = [check_text(s) for s in sentences]
    gold = check_gold(gold, len(sentences), list(classifier.labels))
    vecs = with_sentence(classifier, text, sentences, progress)  # {pooling: (1 + N, H)}, the explained sentence first
    names = list(vecs)
    N, K = len(sentences), min(k, len(sentences))
    g = None if gold is None else np.asarray(gold)
    is_test = split(N)
    nb, nb_cos = np.zeros((len(names), K), dtype=int), np.zeros((len(names), K))
    agree, knn, probe = (np.full(len(names), np.nan) for _ in range(3))
    aniso, quant = np.zeros(len(names)), np.zeros((len(names), len(QUANTILES)))
    off = ~np.eye(N, dtype=bool)  # (N, N)
    for i, p in enumerate(names):
        v = vecs[p].numpy().astype(np.float64)  # (1 + N, H)
        u = _unit(v)
        q, s = u[0], u[1:]  # (H,), (N, H)
        cos_q = s @ q  # (N,)
        nb[i] = np.argsort(-cos_q, kind="stable")[:K]
        nb_cos[i] = cos_q[nb[i]]
        sim = s @ s.T  # (N, N)
        aniso[i] = sim[off].mean()
        quant[i] = np.quantile(sim[off], QUANTILES)
        if g is None:
            continue
        loo = np.where(off, sim, -np.inf)  # leave-one-out
        agree[i] = (g[loo.argmax(1)] == g).mean()
        tr, te = ~is_test, is_test
        top = np.argsort(-sim[np.ix_(te, tr)], axis=1, kind="stable")[:, :K]  # (n_test, K) neighbours among train rows
        votes = g[tr][top]  # (n_test, K)
        knn_pred = np.array([np.bincount(row, minlength=len(classifier.labels)).argmax() for row in votes])
        knn[i] = (knn_pred == g[te]).mean()
        probe[i] = (ridge_probe(v[1:][tr], g[tr], v[1:][te], len(classifier.labels))[1] == g[te]).mean()
    return SimilarityView(text, sentences, list(classifier.labels), g, names, nb, nb_cos, agree, knn, probe, aniso, quant)
