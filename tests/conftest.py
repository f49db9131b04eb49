"""Shared fixtures: tiny labelled data, a tiny tokenizer and tiny random ELECTRA classifiers, built once per session."""
import json
import os
import random

import pytest
import torch

from electra_demo.checkpoint import load_classifier, save_checkpoint
from electra_demo.model import build_classifier, preset_config
from electra_demo.pooling import TRAINABLE
from electra_demo.tokenizer import train_wordpiece

POS = "good great wonderful lovely superb fine".split()
NEG = "bad awful terrible boring poor dull".split()
FILLER = "the movie film was is a very really plot acting story".split()


def make_rows(n, seed=0):
    r = random.Random(seed)
    rows = []
    for _ in range(n):
        y = r.randint(0, 1)
        words = [r.choice(FILLER) for _ in range(r.randint(2, 12))]
        words.insert(r.randint(0, len(words)), r.choice(POS if y else NEG))
        rows.append((" ".join(words), y))
    return rows


def write_tsv(path, rows, header=("sentence", "label")):
    with open(path, "w", encoding="utf-8") as f:
        f.write("\t".join(header) + "\n" + "".join(f"{s}\t{y}\n" for s, y in rows))
    return str(path)


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory):
    d = tmp_path_factory.mktemp("data")
    write_tsv(d / "train.tsv", make_rows(240, 0))
    write_tsv(d / "dev.tsv", make_rows(60, 1))
    (d / "labels.json").write_text(json.dumps({"0": "negative", "1": "positive"}))
    return d


@pytest.fixture(scope="session")
def tiny_tokenizer():
    texts = [s for s, _ in make_rows(300, 2)] + ["[SEP] [PAD] [CLS] unknown words here"]
    return train_wordpiece(texts, vocab_size=200, min_frequency=1)


def tiny_classifier(tokenizer, poolings=TRAINABLE, seed=0, max_input_length=64, **overrides):
    """A tiny random ElectraPoolingClassifier (hidden 32, 2 layers) in eval mode."""
    torch.manual_seed(seed)
    cfg = preset_config("tiny", len(tokenizer), 128, pad_token_id=tokenizer.pad_token_id, **overrides)
    return build_classifier(cfg, list(poolings), ["negative", "positive"], max_input_length=max_input_length).eval()


@pytest.fixture(scope="session")
def tiny_model(tiny_tokenizer):
    return tiny_classifier(tiny_tokenizer)


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory, tiny_model, tiny_tokenizer):
    """Path of an exported checkpoint folder (random tiny weights, every pooling head)."""
    folder = str(tmp_path_factory.mktemp("ckpt") / "tiny")
    tiny_model.config.training_info = {"note": "tiny random test model"}
    save_checkpoint(tiny_model, tiny_tokenizer, folder)
    return folder


@pytest.fixture(scope="session")
def tiny_loaded(tiny_checkpoint):
    return load_classifier(tiny_checkpoint)


@pytest.fixture(autouse=True, scope="session")
def _offline():
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


def browser_marks():
    """Marks for the Playwright tests: skipped without Debian chromium, except in CI (REQUIRE_BROWSER=1), where that fails."""
    from tests.harness import CHROMIUM

    if not os.path.exists(CHROMIUM) and os.environ.get("REQUIRE_BROWSER") == "1":
        raise RuntimeError(f"{CHROMIUM} missing but REQUIRE_BROWSER=1: apt-get install -y chromium")
    return [pytest.mark.browser,
            pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} missing: apt-get install -y chromium")]


@pytest.fixture(scope="session")
def app_url(tiny_checkpoint, tmp_path_factory):
    """`python app.py --checkpoint <tiny> --port <free>` in a subprocess, shared by the server tests."""
    from tests.harness import free_port, start_app, stop_app

    proc, url, _ = start_app(tiny_checkpoint, free_port(), str(tmp_path_factory.mktemp("server") / "app.log"))
    yield url
    stop_app(proc)
