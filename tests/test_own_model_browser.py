"""Your own model in the page: a classifier with another label set (3 question types, no bundled file matches them)
opens in every tab without an error toast or an error badge, and its labels reach the prediction."""

import pytest
from playwright.sync_api import expect

from electra_demo.checkpoint import save_checkpoint
from electra_demo.model import build_classifier, preset_config
from electra_demo.pooling import TRAINABLE
from tests.conftest import browser_marks
from tests.harness import browser_page, free_port, start_app, stop_app

pytestmark = browser_marks() + [pytest.mark.slow]
TABS = ["Shape trace", "Hidden states", "Pooling side by side", "Compare", "Code", "Padding lab",
        "Where is my pooler_output?", "Pooling attribution", "Layer x pooling", "Dataset", "Similarity vs probe",
        "Pooling mismatch", "Attention heads", "Any encoder"]


@pytest.fixture(scope="module")
def three_label_url(tmp_path_factory):
    """A model trained with `electra-demo train` on a 3-label file (question types: no bundled file matches them)."""
    from electra_demo.training import predict, train
    from tests.conftest import make_rows, write_tsv

    d = tmp_path_factory.mktemp("trec-data")
    kinds = ["ABBR", "DESC", "HUM"]
    for name, n, seed in (("train.tsv", 150, 0), ("dev.tsv", 30, 1)):
        write_tsv(d / name, [(s, kinds[i % 3]) for i, (s, _) in enumerate(make_rows(n, seed))])
    folder = str(tmp_path_factory.mktemp("own") / "my-trec")
    train.main(["--train", str(d / "train.tsv"), "--val", str(d / "dev.tsv"), "--preset", "tiny", "--vocab-size", "200",
                "--output", folder, "--log-dir", folder + "-runs", "--accelerator", "cpu", "--batch-size", "16",
                "--max-epochs", "1", "--ema", "0", "--token-dropout", "0", "--pooling", "all"])
    summary = predict.main(["--checkpoint", folder, "--input", str(d / "dev.tsv")])
    assert summary["n"] == 30 and set(summary["per_head"]) == set(TRAINABLE)
    proc, url, _ = start_app(folder, free_port(), str(tmp_path_factory.mktemp("own-log") / "app.log"))
    yield url
    stop_app(proc)


def test_every_tab_opens_without_an_error(three_label_url):
    with browser_page(three_label_url, width=1400) as page:
        page.locator("#shape-table").get_by_text("pooler_output", exact=True).wait_for()
        expect(page.locator("#prediction")).to_contain_text("HUM")  # one of its own labels, whichever wins
        page.locator("#tabs [role=tab], #tabs .overflow-dropdown button").filter(has_text="Dataset").first.click()
        expect(page.get_by_text("No bundled file has this model's labels")).to_be_visible()
        for name in TABS:
            page.locator("#tabs [role=tab], #tabs .overflow-dropdown button").filter(has_text=name).first.click()
            page.wait_for_function("() => !document.querySelector('.pending, .generating, .eta-bar')")  # nothing running
            assert page.locator(".toast-body").count() == 0, (name, page.locator(".toast-body").all_inner_texts())
            badges = [t for t in page.locator(".error").all_inner_texts() if t.strip()]
            assert not badges, (name, badges)
        assert page.console_errors == [], page.console_errors


@pytest.fixture(scope="module")
def bert_then_ours_url(tmp_path_factory, tiny_tokenizer):
    """A plain transformers BERT sequence classifier (3 labels, save_pretrained) served first, ours offered beside."""
    import sys

    import torch
    from transformers import AutoModelForSequenceClassification

    from electra_demo.lab.any_encoder import tiny_config
    from tests.harness import ROOT, serve

    torch.manual_seed(2)
    root = tmp_path_factory.mktemp("bert-run")
    bert = AutoModelForSequenceClassification.from_config(tiny_config("bert", len(tiny_tokenizer), ["ABBR", "DESC", "HUM"]))
    bert.save_pretrained(root / "bert" / "best")
    tiny_tokenizer.save_pretrained(root / "bert" / "best")
    cfg = preset_config("tiny", len(tiny_tokenizer), 128, pad_token_id=tiny_tokenizer.pad_token_id)
    ours = build_classifier(cfg, list(TRAINABLE), ["neg", "pos"], max_input_length=64).eval()
    save_checkpoint(ours, tiny_tokenizer, str(root / "ours" / "best"))
    port = free_port()
    argv = [sys.executable, f"{ROOT}/app.py", "--port", str(port), "--checkpoint", str(root / "bert" / "best"),
            "--checkpoint", str(root / "ours" / "best")]
    proc, url, _ = serve(argv, port, str(root / "app.log"))
    yield url
    stop_app(proc)


def _every_tab_clean(page, where):
    for name in TABS:
        page.locator("#tabs [role=tab], #tabs .overflow-dropdown button").filter(has_text=name).first.click()
        page.wait_for_function("() => !document.querySelector('.pending, .generating, .eta-bar')")
        assert page.locator(".toast-body").count() == 0, (where, name, page.locator(".toast-body").all_inner_texts())
        badges = [t for t in page.locator(".error").all_inner_texts() if t.strip()]
        assert not badges, (where, name, badges)


def _choose(page, label: str):
    page.locator("#model-choice input").click()
    page.get_by_role("option", name=label, exact=True).click()


def test_a_bert_classifier_in_every_tab_and_back_and_forth(bert_then_ours_url):
    with browser_page(bert_then_ours_url, width=1400) as page:
        table = page.locator("#shape-table")
        table.get_by_text("BertPooler", exact=False).first.wait_for()  # its own head's path in the shape trace
        expect(page.locator("#prediction")).to_contain_text("DESC")
        assert "present: BertModel has a pooler" in table.inner_text()
        _every_tab_clean(page, "bert")
        _choose(page, "ours/best (electra, 2 x 32, 2 labels)")  # two .../best folders: told apart by their parents
        page.wait_for_function("() => new URL(location.href).searchParams.get('model') === 'ours/best'")
        expect(page.locator("#model-card")).to_contain_text("ours/best", timeout=30_000)  # its source path
        _every_tab_clean(page, "ours")
        _choose(page, "bert/best (bert, 2 x 32, 3 labels)")
        expect(page.locator("#model-card")).to_contain_text("bert/best", timeout=30_000)
        expect(page.locator("#model-card")).to_contain_text("Its own head (bert): pooler_output")
        expect(page.locator("#prediction")).to_contain_text("DESC")
        _every_tab_clean(page, "bert again")
        assert page.console_errors == [], page.console_errors
