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


def test_misclassified_row_is_explained_everywhere_at_once(page, tiny_tokenizer):
    _tab(page, "Dataset")  # filled on load with the bundled reviews.tsv
    cell = page.locator('#misclassified [data-testid="cell-0-1"]')
    cell.wait_for()
    sentence = cell.inner_text().strip().rstrip("…")
    cell.click()
    expect(page.locator("#shown-text textarea")).to_have_value(sentence)  # explained, not only copied to the box
    assert page.locator("#input-text textarea").input_value() == sentence
    _tab(page, "Pooling attribution")
    # the row's wordpieces in the served tokenizer (which row comes first, and whether a word is one piece or several,
    # changes from session to session: the tiny tokenizer's training is not deterministic)
    pieces = " ".join(["[CLS]", *tiny_tokenizer.tokenize(sentence), "[SEP]"])
    expect(page.locator("#attribution-text")).to_contain_text(pieces)
    assert page.locator(".toast-body").count() == 0


def test_lesson_tabs_follow_the_explained_sentence(page):
    page.locator("#input-text textarea").fill("a gripping film that stays with you")
    page.locator("#run").click()
    expect(page.locator("#shown-text textarea")).to_have_value("a gripping film that stays with you")
    _tab(page, "Similarity vs probe")
    page.locator("#similarity-note").get_by_text("Over 380 sentences").wait_for()  # the bundled lessons.tsv
    plot = page.locator("#similarity-scores .js-plotly-plot").first
    plot.wait_for(state="visible")
    assert plot.bounding_box()["width"] > 600  # drawn at the container's width after the tab switch
    _tab(page, "Pooling mismatch")
    page.locator("#mismatch-matrix .js-plotly-plot").first.wait_for(state="visible")
    assert page.locator("#mismatch-flips").inner_text().strip()
    _tab(page, "Attention heads")
    page.locator("#attention-heads-plot").get_by_text("Layer 2").first.wait_for()
    _tab(page, "Any encoder")
    trace = page.locator("#encoder-trace")
    trace.get_by_text("BertModel").first.wait_for()  # the first menu entry: a tiny random BERT
    assert "has pooler_output" in trace.inner_text().replace("`", "")
    page.locator("#encoder-choice input").click()
    page.get_by_role("option", name="tiny random electra (built here)").click()
    trace.get_by_text("ElectraModel").first.wait_for()
    assert "has no pooler_output" in trace.inner_text().replace("`", "")
