"""The model in checkpoints/: what `python app.py` and `predict` load when given nothing."""
import os

import pytest
import torch
from transformers import AutoModelForSequenceClassification

from electra_demo.checkpoint import DEFAULT_CHECKPOINT, load_classifier
from electra_demo.data import read_labelled
from electra_demo.training.predict import evaluate, predict_probs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FOLDER = os.path.join(ROOT, DEFAULT_CHECKPOINT)
SST2_DEV = os.path.join(ROOT, "..", "shared", "data", "sst2", "dev.tsv")  # only on the project's machines


@pytest.fixture(scope="module")
def shipped():
    clf = load_classifier(FOLDER)
    predict_probs(clf.model, clf.tokenizer, ["a first prediction"], clf.max_length)
    return clf, None


def test_folder_is_small_and_safetensors_only():
    files = os.listdir(FOLDER)
    assert not any(f.endswith((".bin", ".pt", ".pth", ".ckpt", ".pkl")) for f in files), files
    assert {"model.safetensors", "config.json", "manifest.json", "README.md"} <= set(files)
    assert sum(os.path.getsize(os.path.join(FOLDER, f)) for f in files) <= 30e6


def test_loads_with_its_description(shipped):  # the load time lives in scripts/bench_load.py, not in a test
    clf, _ = shipped
    assert clf.model.main_pooling in clf.model.poolings and clf.labels == ["negative", "positive"]


def test_sentiment_on_our_own_sentences(shipped):
    clf, _ = shipped
    probs = predict_probs(clf.model, clf.tokenizer, ["a wonderful , moving film with superb acting .",
                                                      "a dull , boring mess that wastes its cast ."], clf.max_length)
    main = probs[clf.model.main_pooling]  # (2, 2)
    assert main[0].argmax() == 1 and main[1].argmax() == 0, main
    texts, labels, _ = read_labelled(os.path.join(ROOT, "examples", "reviews.tsv"), label_names=clf.labels)
    assert evaluate(clf.model, clf.tokenizer, texts, labels, clf.max_length)["accuracy"] >= 0.85


def test_plain_transformers_gives_the_cls_head(shipped):
    clf, _ = shipped
    if clf.model.main_pooling != "cls":
        pytest.skip("main head is not cls: plain transformers gets the backbone only")
    hf = AutoModelForSequenceClassification.from_pretrained(FOLDER).eval()
    enc = clf.tokenizer(["the plot is thin but the cast is great"], return_tensors="pt")
    with torch.no_grad():
        ours = clf.model(enc["input_ids"], enc["attention_mask"])["cls"]
        theirs = hf(**enc).logits
    torch.testing.assert_close(ours, theirs)


@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists(SST2_DEV), reason="SST-2 dev set not here (../shared/data is not in a clone)")
def test_dev_accuracy_matches_the_card(shipped):
    clf, _ = shipped
    texts, labels, _ = read_labelled(SST2_DEV, label_names=clf.labels)
    assert evaluate(clf.model, clf.tokenizer, texts, labels, clf.max_length)["per_head"] == clf.info["val_accuracy"]
