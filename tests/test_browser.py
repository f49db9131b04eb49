"""The page in headless Debian chromium (Playwright): type, run, and see the prediction, shape table and plots.

Set ELECTRA_DEMO_SCREENSHOT=docs/screenshot.png to also copy the screenshot there (for the README).
"""
import os
import shutil

import pytest

from tests.conftest import browser_marks
from tests.harness import browser_page

pytestmark = browser_marks()


@pytest.fixture(scope="module")
def page(app_url):
    pytest.importorskip("playwright.sync_api")
    with browser_page(app_url) as pg:
        yield pg


def _plot_rendered(page, elem_id):
    plot = page.locator(f"#{elem_id} .js-plotly-plot").first
    plot.wait_for(state="visible")
    assert plot.locator(".main-svg").count() > 0  # plotly drew its SVG layers
    box = plot.bounding_box()
    assert box and box["width"] > 100 and box["height"] > 100


def test_type_run_and_see_everything(page, tmp_path):
    page.locator("#input-text textarea").fill("the acting was really good <b>bold</b> [SEP]")
    page.locator("#run").click()
    table = page.locator("#shape-table")
    table.get_by_text("pooler_output", exact=True).wait_for()
    assert table.get_by_text("absent", exact=True).count() >= 1 and table.get_by_text("last_hidden_state", exact=True).count() >= 1
    prediction = page.locator("#prediction")
    assert any(name in prediction.inner_text() for name in ("negative", "positive"))
    assert page.locator("#prediction b, #note b").filter(has_text="bold").count() == 0  # user text is never HTML
    page.screenshot(path=str(tmp_path / "shapes.png"), full_page=True)

    page.get_by_role("tab", name="Hidden states").click()
    _plot_rendered(page, "hidden-heatmap")
    _plot_rendered(page, "token-layers")
    assert "layer 2 of 2" in page.locator("#hidden-heatmap").inner_text()

    page.get_by_role("tab", name="Pooling side by side").click()
    _plot_rendered(page, "pooled-vectors")
    _plot_rendered(page, "pooling-cosine")
    assert page.locator("#pooling-table").get_by_text("naive_mean").count() >= 1
    shot = tmp_path / "explorer.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    if os.environ.get("ELECTRA_DEMO_SCREENSHOT"):
        shutil.copy(shot, os.environ["ELECTRA_DEMO_SCREENSHOT"])


def test_slider_redraws_heatmap(page):
    page.get_by_role("tab", name="Hidden states").click()
    slider = page.locator("#layer-slider input[type=range]")
    slider.fill("0")  # sets the value and fires input/change
    page.locator("#hidden-heatmap").get_by_text("embeddings (hidden_states[0])").wait_for()


def test_empty_text_shows_friendly_message(page):
    page.locator("#input-text textarea").fill("   ")
    page.locator("#run").click()
    page.get_by_text("please type a sentence").first.wait_for()
