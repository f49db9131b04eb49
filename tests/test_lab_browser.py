"""The lab tabs in headless chromium: they show the explained sentence (not the live box), their controls re-run
only their tab, and a misclassified row of the Dataset tab is explained in every tab at once."""
import pytest
from playwright.sync_api import expect

from tests.conftest import browser_marks
from tests.harness import browser_page

pytestmark = browser_marks()


@pytest.fixture(scope="module")
def page(app_url):
    pytest.importorskip("playwright.sync_api")
    with browser_page(app_url, width=1400) as pg:
        pg.locator("#shape-table").get_by_text("pooler_output", exact=True).wait_for()  # opened ready
        yield pg


def _tab(page, name):
    page.locator("#tabs [role=tab], #tabs .overflow-dropdown button").filter(has_text=name).first.click()


def test_labs_follow_the_explained_sentence_not_the_box(page):
    page.locator("#input-text textarea").fill("the movie was really good")
    page.locator("#run").click()
    expect(page.locator("#shown-text textarea")).to_have_value("the movie was really good")
    _tab(page, "Pooling attribution")
    tokens = page.locator("#attribution-text")
    tokens.get_by_text("really").first.wait_for()
    assert tokens.get_by_text("[PAD]").count() == 4 and tokens.get_by_text("[CLS]").count() == 1
    page.locator("#input-text textarea").fill("a dull pointless film")  # typed, not explained
    page.locator("#attr-pooling input").click()
    page.get_by_role("option", name="mean", exact=True).click()  # the tab's own control re-runs it...
    page.locator("#attribution-bars").get_by_text("mean: weight").wait_for()
    assert tokens.get_by_text("really").count() >= 1 and tokens.get_by_text("dull").count() == 0  # ...on the shown one
    _tab(page, "Padding lab")
    page.locator("#padding-summary").get_by_text("identical").wait_for()


def test_misclassified_row_is_explained_everywhere_at_once(page):
    _tab(page, "Dataset")  # filled on load with the bundled reviews.tsv
    cell = page.locator('#misclassified [data-testid="cell-0-1"]')
    cell.wait_for()
    sentence = cell.inner_text().strip().rstrip("…")
    cell.click()
    expect(page.locator("#shown-text textarea")).to_have_value(sentence)  # explained, not only copied to the box
    assert page.locator("#input-text textarea").input_value() == sentence
    _tab(page, "Pooling attribution")
    word = sentence.split()[0].lower()
    page.locator("#attribution-text").get_by_text(word).first.wait_for()
    assert page.locator(".toast-body").count() == 0
