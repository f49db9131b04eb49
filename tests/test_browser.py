"""The explorer in headless Debian chromium (Playwright), desktop 1400x900 and phone 390x844: one sentence drives
every tab, the page opens ready, Enter submits, links restore the view, compare, export, phone layout.

Set ELECTRA_DEMO_SCREENSHOT=docs/screenshot.png to also copy the screenshot there (for the README).
"""
import csv
import io
import json
import os
import re
import shutil
import urllib.parse

import httpx
import pytest
from playwright.sync_api import expect

from tests.conftest import browser_marks
from tests.harness import browser_page

pytestmark = browser_marks()


def _open(url, width=1400, height=900):
    pytest.importorskip("playwright.sync_api")
    return browser_page(url, width=width, height=height)


@pytest.fixture(scope="module")
def page(app_url):
    with _open(app_url) as pg:
        _ready(pg)
        yield pg


def _ready(page):
    """Wait until the page has explained its opening sentence (the shape table is filled)."""
    page.locator("#shape-table").get_by_text("pooler_output", exact=True).wait_for()


def _shown(page) -> str:
    return page.locator("#shown-text textarea").input_value()


def _wait_shown(page, text):
    expect(page.locator("#shown-text textarea")).to_have_value(text)


def _tab(page, name):
    page.locator("#tabs [role=tab], #tabs .overflow-dropdown button").filter(has_text=name).first.click()


def _errors(page) -> list[str]:
    return [t.inner_text() for t in page.locator(".toast-body").all()]


def _title_has(page, elem_id, text):
    """Wait until the figure's title holds `text` (a title wraps onto lines to fit its width: read them as one)."""
    page.wait_for_function("""([id, text]) => { const t = document.querySelector(`#${id} .gtitle`);
        return t && [...t.querySelectorAll('.line')].map(l => l.textContent).join(' ').replace(/\\s+/g, ' ')
            .includes(text) || (t && t.textContent.includes(text)); }""", arg=[elem_id, text])


def _plot_rendered(page, elem_id):
    plot = page.locator(f"#{elem_id} .js-plotly-plot").first
    plot.wait_for(state="visible")
    assert plot.locator(".main-svg").count() > 0  # plotly drew its SVG layers
    box = plot.bounding_box()
    assert box and box["width"] > 100 and box["height"] > 100


def test_opens_ready_with_every_tab_filled_and_no_error(app_url):
    with _open(app_url) as page:
        _ready(page)
        assert "A gripping" in _shown(page)
        assert any(k in page.locator("#prediction").inner_text() for k in ("negative", "positive"))
        assert "(B=1, T=" in page.locator("#shape-table").inner_text()  # dimension names, with the legend above
        assert "**" not in page.locator("#dimensions").inner_text() and "H hidden size" in page.locator("#dimensions").inner_text()
        assert page.locator("#token-table").get_by_text("[CLS]", exact=True).count() >= 1  # tokens and their ids
        _tab(page, "Padding lab")
        page.locator("#padding-summary").get_by_text("identical").wait_for()
        _tab(page, "Pooling attribution")
        page.locator("#attribution-text").get_by_text("[PAD]").first.wait_for()
        _tab(page, "Layer x pooling")
        _plot_rendered(page, "layer-drift")
        _tab(page, "Compare")
        page.locator("#compare-summary").get_by_text("B", exact=False).first.wait_for()
        _tab(page, "Dataset")
        page.locator('#misclassified [data-testid="cell-0-1"]').wait_for()
        assert _errors(page) == []  # no error toast before (or after) the first run
        assert page.console_errors == []


def test_enter_submits_and_every_tab_shows_that_sentence(page):
    box = page.locator("#input-text textarea")
    box.fill("the movie is boring")
    page.locator("#stale").get_by_text("Press Enter").wait_for()  # edited, not yet explained: marked stale
    box.press("Enter")
    _wait_shown(page, "the movie is boring")
    assert page.locator("#stale").inner_text().strip() == ""
    assert box.input_value() == "the movie is boring"  # Enter submitted; it added no newline
    _tab(page, "Pooling attribution")
    page.locator("#attribution-text").get_by_text("boring").first.wait_for()  # the lab tab shows the same sentence
    _tab(page, "Compare")
    page.locator("#compare-summary").get_by_text("tokens").first.wait_for()
    assert "sentence=the+movie+is+boring" in page.url  # the link carries it


def test_example_click_runs_at_once(page):
    page.locator("#examples").get_by_text("The plot was dull").click()
    _wait_shown(page, "The plot was dull and the acting was even worse.")
    _tab(page, "Pooling attribution")
    page.locator("#attribution-text").get_by_text("dull").first.wait_for()


def test_plot_width_follows_its_box_after_tab_switches(page):
    _tab(page, "Hidden states")
    _plot_rendered(page, "hidden-heatmap")
    _tab(page, "Pooling side by side")
    _plot_rendered(page, "pooled-vectors")
    for elem_id in ("pooled-vectors",):  # drawn in a hidden tab, still full width once the resize has run
        page.wait_for_function("""(id) => {
            const plot = document.querySelector(`#${id} .js-plotly-plot`), box = document.getElementById(id);
            return plot && box && Math.abs(plot.getBoundingClientRect().width - box.getBoundingClientRect().width) < 40;
        }""", arg=elem_id)


def test_layer_slider_number_box_redraws(page):
    _tab(page, "Layer x pooling")
    number = page.locator("#grid-layer input[type=number]")
    number.fill("1")
    number.press("Enter")
    _title_has(page, "layer-similarity", "at layer 1")
    _tab(page, "Hidden states")
    page.locator("#layer-slider input[type=range]").fill("0")
    _title_has(page, "hidden-heatmap", "embeddings (hidden_states[0])")


def test_export_files_parse(page, app_url):
    page.locator("#export").click()
    links = page.locator("#export-files a")
    links.first.wait_for()
    hrefs = {os.path.basename(urllib.parse.urlparse(a.get_attribute("href")).path): a.get_attribute("href") for a in links.all()}
    shown = page.locator("#shown-text textarea, #shown-text input").first.input_value()
    json_name, csv_name = sorted(hrefs)  # explanation-<slug>-<model>.json, pooled_vectors-<slug>-<model>.csv
    slug = re.sub(r"[^a-z0-9]+", "-", shown.lower()).strip("-")[:40].strip("-")
    assert json_name == f"explanation-{slug}-tiny.json" and csv_name == f"pooled_vectors-{slug}-tiny.csv", hrefs
    j = httpx.get(urllib.parse.urljoin(app_url, hrefs[json_name])).json()
    rows = list(csv.reader(io.StringIO(httpx.get(urllib.parse.urljoin(app_url, hrefs[csv_name])).text)))
    assert j["export"]["sentence"] == shown and j["export"]["model"] == "tiny" and j["export"]["created"].endswith("+00:00")
    assert "/" not in j["export"]["source"] and j["export"]["electra_demo_version"]
    assert all(r["named"].startswith(("(", "L+1", "absent")) for r in j["shapes"]) and j["tokens"][0] == "[CLS]"
    assert rows[0][:6] == ["sentence", "model", "pooling", "shape", "head_label", "head_prob"]
    assert {r[0] for r in rows[1:]} == {shown} and {r[1] for r in rows[1:]} == {"tiny"}
    assert [r[2] for r in rows[1:]] == list(j["poolings"]) and len(rows[1]) == 6 + len(j["poolings"]["cls"]["vector"])


def test_permalink_restores_the_view(page, app_url):
    q = urllib.parse.urlencode({"sentence": "a superb story", "tab": "compare", "b": "a poor story", "layer": 1})
    page.goto(app_url + "?" + q)
    if True:  # the same browser page, reopened at the link
        _wait_shown(page, "a superb story")
        page.locator("#compare-summary").get_by_text("tokens").first.wait_for()  # the compare tab is open and filled
        assert page.locator("#compare-text textarea").input_value() == "a poor story"
        assert "tab=compare" in page.url and _errors(page) == []
        _tab(page, "Hidden states")
        assert page.locator("#layer-slider input[type=number]").input_value() == "1"
        assert "tab=hidden-states" in page.url  # switching tabs updates the link


def test_compare_teaching_pair_is_one_click(page):
    _tab(page, "Compare")
    page.locator("#teaching-pair").click()
    _wait_shown(page, "not bad at all")
    assert page.locator("#compare-text textarea").input_value() == "bad"
    table = page.locator("#compare-table")
    table.get_by_text("naive_mean").wait_for()
    assert page.locator("#compare-shapes").get_by_text("(B=1, H=").count() >= 1  # both shape traces, named


def test_user_text_is_never_html_and_empty_text_is_a_sentence(page):
    page.locator("#input-text textarea").fill("the acting was really good <b>bold</b> [SEP]")
    page.locator("#run").click()
    _wait_shown(page, "the acting was really good <b>bold</b> [SEP]")
    assert page.locator("#prediction b, #note b, #shown-text b").filter(has_text="bold").count() == 0
    page.locator("#input-text textarea").fill("   ")
    page.locator("#run").click()
    page.get_by_text("please type a sentence").first.wait_for()


def test_phone_layout(page, app_url, tmp_path):
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(app_url)
    page.console_errors.clear()  # requests the previous page left in flight abort on navigation: not this page's errors
    if True:  # the same browser page at phone size
        _ready(page)
        line = 24  # px: a text line in a table cell
        tall = page.evaluate("""() => [...document.querySelectorAll('#shape-table td')]
            .filter(td => td.textContent.trim().length <= 8 && td.offsetParent)
            .map(td => [td.textContent.trim(), td.getBoundingClientRect().height])""")
        assert tall and all(h <= 4 * line for _, h in tall), tall  # no one-letter-per-line cells
        for name in ("Shape trace", "Compare", "Padding lab", "Layer x pooling", "Dataset"):
            tab = page.locator("#tabs [role=tab], #tabs .overflow-dropdown button").filter(has_text=name).first
            assert tab.is_visible()  # every tab reachable without an overflow menu
        _tab(page, "Layer x pooling")
        _plot_rendered(page, "layer-drift")
        page.screenshot(path=str(tmp_path / "phone.png"), full_page=True)
        assert page.console_errors == []
    page.set_viewport_size({"width": 1400, "height": 900})
    page.goto(app_url)
    _ready(page)


def test_screenshot(page, tmp_path):
    _tab(page, "Pooling side by side")
    _plot_rendered(page, "pooling-cosine")
    assert page.locator("#pooling-table").get_by_text("naive_mean").count() >= 1
    shot = tmp_path / "explorer.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    if os.environ.get("ELECTRA_DEMO_SCREENSHOT"):
        shutil.copy(shot, os.environ["ELECTRA_DEMO_SCREENSHOT"])


def test_api_json_is_plain(app_url):
    from gradio_client import Client

    c = Client(app_url, verbose=False)
    assert json.dumps(c.predict("good", api_name="/predict"))


def test_figures_follow_the_dark_theme(page, app_url):
    page.goto(app_url + "?__theme=dark&tab=hidden-states")
    _plot_rendered(page, "hidden-heatmap")
    backgrounds = page.evaluate("""() => [...document.querySelectorAll('#hidden-heatmap .main-svg')]
        .map(svg => getComputedStyle(svg).backgroundColor)""")
    assert backgrounds and all(b in ("rgba(0, 0, 0, 0)", "transparent") for b in backgrounds), backgrounds
    assert page.evaluate("() => document.body.classList.contains('dark') || "
                         "document.querySelector('.gradio-container').closest('.dark') !== null")
    page.goto(app_url)
    _ready(page)


def test_model_menu_switches_every_view(page, app_url):
    """The tiny test model is served; checkpoints/ offers the shipped one too: choosing it re-explains with it."""
    import re

    assert "Model: tiny" in page.locator("#model-card").inner_text()
    page.locator("#model-choice input").click()
    page.get_by_role("option", name=re.compile(r"^electra-sst2-scratch \(electra, 4 x 256, 2 labels\)$")).click()
    page.locator("#model-card").get_by_text("Model: electra-sst2-scratch").wait_for()
    page.wait_for_function("() => new URL(location.href).searchParams.get('model') === 'electra-sst2-scratch'")
    assert re.search(r"dev accuracy \d+\.\d%", page.locator("#model-card").inner_text())  # from its card
    _tab(page, "Hidden states")
    _title_has(page, "hidden-heatmap", "of 4 (hidden_states")  # 4 layers, not the tiny 2
    _tab(page, "Where is my pooler_output?")  # the tab that describes the model follows it too: its backbone's row
    page.get_by_text("(1, 4, 256)").first.wait_for()  # "good film" through electra-sst2-scratch's H = 256
    page.goto(app_url + "?model=electra-sst2-scratch&sentence=a+fine+film")  # the link carries the model too
    _wait_shown(page, "a fine film")
    page.locator("#model-card").get_by_text("Model: electra-sst2-scratch").wait_for()
    page.goto(app_url)
    _ready(page)


def test_copy_link_shows_the_link_of_this_view(page):
    page.locator("#run").click()  # an explained view: its sentence and tab go into the URL
    page.wait_for_function("() => location.search.includes('sentence=') && location.search.includes('tab=')")
    page.locator("#copy-link").click()
    link = page.locator("#share-link textarea")
    link.wait_for()
    expect(link).to_have_value(page.url)
    assert "sentence=" in link.input_value() and "tab=" in link.input_value()


def test_page_links_the_json_api(page):
    """The header points scripts to the light JSON API, which opens as its own small page."""
    link = page.get_by_role("link", name="JSON API")
    assert link.get_attribute("href") == "api/"
    with page.context.expect_page() as opened:
        link.click()
    api = opened.value
    api.get_by_text("ELECTRA explorer: JSON API").wait_for()
    assert api.url.endswith("/api/")
    api.close()
