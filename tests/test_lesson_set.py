"""examples/lessons.tsv, the similarity lesson's own set: several hundred varied labelled sentences on which the
shipped model's poolings differ, and cosine neighbours trail a linear probe (the lesson the tab teaches)."""
import os

import numpy as np
import pytest

from electra_demo.checkpoint import DEFAULT_CHECKPOINT, load_classifier
from electra_demo.data import load_label_names, read_labelled
from electra_demo.lab.similarity import similarity_view

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LESSONS = os.path.join(ROOT, "examples", "lessons.tsv")


def test_the_set_is_large_varied_and_balanced():
    texts, gold, _ = read_labelled(LESSONS, label_names=["negative", "positive"], name="lessons.tsv")
    assert load_label_names(LESSONS) == ["negative", "positive"]
    assert len(texts) >= 300 and len(set(texts)) == len(texts)
    assert 0.4 < np.mean(gold) < 0.6
    for form in (", but ", "Although ", " not ", ", and honestly "):
        assert sum(form in t for t in texts) >= 20, form


@pytest.mark.slow
def test_poolings_differ_and_the_probe_beats_cosine_neighbours():
    c = load_classifier(os.path.join(ROOT, DEFAULT_CHECKPOINT))
    texts, gold, _ = read_labelled(LESSONS, label_names=list(c.labels), name="lessons.tsv")
    v = similarity_view(c, "a fine film", list(texts), list(gold))
    assert v.knn_acc.max() - v.knn_acc.min() >= 0.03  # not every pooling at 1.0: the poolings differ
    assert v.probe_acc.max() - v.probe_acc.min() >= 0.03
    assert (v.probe_acc > v.knn_acc).mean() >= 0.8  # the lesson: a probe reads what cosine neighbours miss
