"""The lab tabs in headless chromium: padding lab summary, attribution with [PAD]s, and a misclassified row's click-through."""
import sys
import time

import pytest

from electra_demo.launch import browser_page, free_port, serve, stop_app
from tests.conftest import browser_marks, make_rows, write_tsv


pytestmark = browser_marks()


@pytest.fixture(scope="module")
def page(tiny_checkpoint, tmp_path_factory):
    pytest.importorskip("playwright.sync_api")
    d = tmp_path_factory.mktemp("labbrowser")
    data = write_tsv(d / "small.tsv", make_rows(40, 5))
    port = free_port()
    proc, url, _ = serve([sys.executable, "-m", "electra_demo.ui_lab", "--checkpoint", tiny_checkpoint, "--port", str(port),
                          "--data", data], port, str(d / "app.log"))
    try:
        with browser_page(url) as pg:
            yield pg
    finally:
        stop_app(proc)


def test_lab_tabs_in_the_browser(page):
    page.locator("#run-padding").click()
    page.locator("#padding-summary").get_by_text("identical").wait_for()

    page.get_by_role("tab", name="Pooling attribution").click()
    page.locator("#run-attribution").click()
    tokens = page.locator("#attribution-text")
    tokens.get_by_text("[PAD]").first.wait_for()
    assert tokens.get_by_text("[PAD]").count() == 4 and tokens.get_by_text("[CLS]").count() == 1

    page.get_by_role("tab", name="Dataset").click()
    page.get_by_label("or pick a file").click()
    page.get_by_role("option", name="small.tsv").click()
    page.locator("#run-dataset").click()
    cell = page.locator('#misclassified [data-testid="cell-0-1"]')  # first misclassified sentence
    cell.wait_for()
    sentence = cell.inner_text().strip()
    cell.click()
    box = page.locator("#input-text textarea")
    for _ in range(100):
        if box.input_value() == sentence:
            break
        time.sleep(0.1)
    assert box.input_value() == sentence  # the row went to the sentence box
