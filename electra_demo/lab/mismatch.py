"""mismatch_view(classifier, text, sentences, gold) -> MismatchView: a head fed another pooling's vectors.

Using a head trained on one pooling with the vectors of another is a common silent bug (SimCSE issue 33 reports
results ~18 points apart; sentence-transformers 1593 and FlagEmbedding 406 say: keep the pooling you trained
with). This model has one trained head per pooling, so the lesson is exact: an (Ph, Pv) matrix of accuracies
(row: the head, column: the pooling whose vectors it receives; the diagonal is the honest one), and for the
explained sentence each head's prediction on every pooling's vector, with the pairs that flip it named.
"""
from dataclasses import dataclass

import numpy as np
import torch

from ..checkpoint import LoadedModel
from ..errors import InputError
from .dataset import MAX_SENTENCES, MIN_SENTENCES, check_gold, with_sentence
from .explain import check_text


@dataclass
class MismatchView:
    text: str  # the explained sentence
    labels: list[str]  # (C,) class names
    heads: list[str]  # (Ph,) poolings with a trained head (rows)
    poolings: list[str]  # (Pv,) poolings whose vectors are fed (columns)
    accuracy: np.ndarray  # (Ph, Pv) accuracy of head r on pooling c's vectors over the set (NaN: no labelled set)
    n: int  # sentences in the set (0: none given)
    sentence_pred: np.ndarray  # (Ph, Pv) class index head r predicts for the explained sentence from pooling c's vector
    sentence_prob: np.ndarray  # (Ph, Pv) its probability
    flips: list[tuple[str, str]]  # (head, pooling) pairs whose prediction differs from the head on its own pooling


@torch.no_grad()
def _head_probs(model, vecs: dict, heads: list[str], poolings: list[str]) -> torch.Tensor:
    """(Ph, Pv, N, C) probabilities of every head on every pooling's vectors."""
    return torch.stack([torch.stack([model.classify(h, vecs[p]).float().softmax(-1) for p in poolings]) for h in heads])


def mismatch_view(classifier: LoadedModel, text: str, sentences: list[str] | None = None,
                  gold: list[int] | None = None, progress=None) -> MismatchView:
    """`gold`: one label per sentence (class index or name), checked against the model's labels. `progress`: as in
    pooled_dataset (called after every batch; what it raises stops the run)."""
    text = check_text(text)
    sentences = sentences or []
    if sentences and not MIN_SENTENCES <= len(sentences) <= MAX_SENTENCES:
        raise InputError(f"{len(sentences)} sentences given; the mismatch matrix needs {MIN_SENTENCES} to {MAX_SENTENCES}")
    sentences = [check_text(s) for s in sentences]
    gold = check_gold(gold, len(sentences), list(classifier.labels)) if sentences or gold else None
    model = classifier.model
    heads, poolings = list(model.poolings), model.available_poolings()
    vecs = with_sentence(classifier, text, sentences, progress)  # {pooling: (1 + N, H)}, the explained sentence first
    probs = _head_probs(model, vecs, heads, poolings)  # (Ph, Pv, 1 + N, C)
    conf, pred = probs[:, :, 0].max(-1)  # (Ph, Pv) for the explained sentence
    acc = np.full((len(heads), len(poolings)), np.nan)
    if sentences and gold is not None:
        acc = (probs[:, :, 1:].argmax(-1) == torch.tensor(gold)).float().mean(-1).numpy()  # (Ph, Pv)
    own = {h: pred[r, poolings.index(h)].item() for r, h in enumerate(heads)}
    flips = [(h, p) for r, h in enumerate(heads) for c, p in enumerate(poolings) if pred[r, c].item() != own[h]]
    return MismatchView(text, list(classifier.labels), heads, poolings, acc, len(sentences), pred.numpy(), conf.numpy(), flips)
