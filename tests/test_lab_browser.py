"""The lab tabs in headless chromium: padding lab summary, attribution with [PAD]s, and a misclassified row's click-through."""
import time

import pytest

from tests.conftest import browser_marks
from tests.harness import browser_page

pytestmark = browser_marks()


@pytest.fixture(scope="module")
def page(app_url):
    pytest.importorskip("playwright.sync_api")
    with browser_page(app_url) as pg:
        yield pg


def test_lab_tabs_in_the_browser(page):
    page.locator("#input-text textarea").fill("the movie was really good")
    page.get_by_role("tab", name="Padding lab").click()
    page.locator("#run-padding").click()
    page.locator("#padding-summary").get_by_text("identical").wait_for()

    page.get_by_role("tab", name="Pooling attribution").click()
    page.locator("#run-attribution").click()
    tokens = page.locator("#attribution-text")
    tokens.get_by_text("[PAD]").first.wait_for()
    assert tokens.get_by_text("[PAD]").count() == 4 and tokens.get_by_text("[CLS]").count() == 1

    page.get_by_role("tab", name="Dataset").click()  # the bundled reviews.tsv is picked already
    page.locator("#run-dataset").click()
    cell = page.locator('#misclassified [data-testid="cell-0-1"]')  # first misclassified sentence
    cell.wait_for()
    sentence = cell.inner_text().strip().rstrip("…")
    cell.click()
    box = page.locator("#input-text textarea")
    for _ in range(100):
        if box.input_value().startswith(sentence):
            break
        time.sleep(0.1)
    assert box.input_value().startswith(sentence)  # the row (in full) went to the sentence box
