"""A page a teacher can project and share (issue 23), in headless Debian chromium: every view reachable by a link,
bad links ignored, tabs that stay in place, bad input that keeps the page."""
import io
import urllib.parse

import pytest
from playwright.sync_api import expect

from tests.conftest import browser_marks
from tests.harness import browser_page

pytestmark = browser_marks()

TYPED = "sentences typed below"
LINES = "\n".join(f"{w} film number {i}" for i, w in enumerate(["good", "bad", "great", "awful"] * 3))


@pytest.fixture(scope="module")
def page(app_url):
    with browser_page(app_url, width=1400, height=900) as pg:
        _explained(pg)
        yield pg


def _explained(page, text=None):
    page.wait_for_function("""(t) => { const b = document.querySelector('#shown-text textarea');
        return b && b.value && (t === null || b.value === t); }""", arg=text)


def _tab(page, tab_id):
    page.locator(f'#tabs [role=tab][data-tab-id="{tab_id}"]').click()
    expect(page.locator(f'#tabs [role=tab][data-tab-id="{tab_id}"]')).to_have_attribute("aria-selected", "true")


def _number(page, elem_id, value):
    box = page.locator(f"#{elem_id} input[type=number]")
    box.fill(str(value))
    box.press("Enter")


def _radio(page, elem_id, value):
    page.locator(f"#{elem_id} label").filter(has_text=value).click()


def _menu(page, elem_id, value):
    page.locator(f"#{elem_id} input").click()
    page.get_by_role("option", name=value, exact=True).click()


def _text(page, elem_id, value):
    box = page.locator(f"#{elem_id} textarea").first
    box.fill(value)
    box.press("Shift+Enter" if "\n" in value else "Enter")  # a box of several lines: Shift+Enter runs it


def _value(page, elem_id):
    """A control's value as the page shows it: a slider's number, a radio's checked value, a menu's or a box's text."""
    return page.evaluate("""(id) => { const e = document.getElementById(id);
        const n = e.querySelector('input[type=number]'); if (n) return n.value;
        const r = e.querySelector('input[type=radio]:checked'); if (r) return r.value;
        const t = e.querySelector('textarea, input'); return t ? t.value : null; }""", elem_id)


# tab id -> [(control elem_id, how to change it, new value, URL key[, its value in the URL when not the shown one])]
CHANGES = {
    "hidden-states": [("layer-slider", _number, "1", "layer")],
    "compare": [("compare-text", _text, "a poor film", "b")],
    "code": [("code-pooling", _menu, "mean", "code_pooling")],
    "padding-lab": [("pad-slider", _number, "200", "pads"), ("pad-side", _radio, "left", "pad_side"),
                    ("pad-other", _text, "a longer sentence than this one to batch with", "pad_b")],
    "where-is-my-pooler-output": [("snippet-pooling", _menu, "mean", "snippet")],
    "pooling-attribution": [("attr-pooling", _menu, "mean", "attr_pooling"),
                            ("attr-show", _radio, "contribution", "attr_show"), ("attr-pads", _number, "7", "attr_pads"),
                            ("attr-side", _radio, "left", "attr_side")],
    "layer-x-pooling": [("grid-layer", _number, "1", "grid_layer")],
    "similarity": [("sim-set", _menu, TYPED, "sim_set"), ("sim-typed", _text, LINES, "sim_typed")],
    "mismatch": [("mm-set", _menu, TYPED, "mm_set"), ("mm-typed", _text, LINES, "mm_typed")],
    "attention-heads": [("attention-layer", _number, "1", "att_layer"), ("attention-pads", _number, "3", "att_pads"),
                        ("attention-side", _radio, "left", "att_side"),
                        ("attention-scale", _radio, "fixed 0 to 1", "att_scale", "fixed"),
                        ("attention-head", _menu, "head 2", "att_head", "2")],
    "any-encoder": [("encoder-choice", _menu, "tiny random roberta (built here)", "encoder")],
}


@pytest.mark.parametrize("tab_id", list(CHANGES))
def test_every_tab_and_control_reopens_from_its_link(page, app_url, tab_id):
    page.goto(app_url + "?" + urllib.parse.urlencode({"sentence": "a fine film"}))
    _explained(page, "a fine film")
    _tab(page, tab_id)
    page.wait_for_function("(t) => new URL(location.href).searchParams.get('tab') === t", arg=tab_id)
    for elem_id, change, value, key, *in_url in CHANGES[tab_id]:
        change(page, elem_id, value)
        page.wait_for_function("([k, v]) => new URL(location.href).searchParams.get(k) === v", arg=[key, (in_url or [value])[0]])
    link = page.url
    assert urllib.parse.parse_qs(urllib.parse.urlparse(link).query)["tab"] == [tab_id]
    context = page.context.browser.new_context(viewport={"width": 1400, "height": 900})  # a fresh context: no
    try:                                                                                     # state shared
        fresh = context.new_page()
        fresh.goto(link)
        _explained(fresh, "a fine film")
        expect(fresh.locator(f'#tabs [role=tab][data-tab-id="{tab_id}"]')).to_have_attribute("aria-selected", "true")
        for elem_id, _, value, _, *in_url in CHANGES[tab_id]:
            assert _value(fresh, elem_id) in (value, *in_url), (elem_id, link)
        assert fresh.locator(".toast-body").count() == 0
    finally:
        context.close()


def test_bad_link_values_are_ignored(page, app_url):
    bad = {"sentence": "a fine film", "tab": "attention-heads", "pads": "²", "layer": "9" * 5000, "att_layer": "-3",
           "att_side": "middle", "attr_pooling": "<b>x</b>", "attr_pads": "1e3", "encoder": "nope", "model": "../x"}
    page.goto(app_url + "?" + urllib.parse.urlencode(bad))
    page.console_errors.clear()  # requests the previous page left in flight abort on navigation: not this page's
    _explained(page, "a fine film")
    expect(page.locator('#tabs [role=tab][data-tab-id="attention-heads"]')).to_have_attribute("aria-selected", "true")
    assert _value(page, "attention-side") == "right" and _value(page, "attention-layer") == "2"  # defaults kept
    _tab(page, "padding-lab")
    assert _value(page, "pad-slider") == "64"
    _tab(page, "hidden-states")
    assert _value(page, "layer-slider") == "2"
    assert page.locator(".toast-body").count() == 0 and page.console_errors == []


PLACES = """() => [...document.querySelectorAll('#tabs [role=tab]')].map(b => {
    const r = b.getBoundingClientRect(); return [b.dataset.tabId, Math.round(r.x + scrollX), Math.round(r.y + scrollY)]; })"""


def test_tabs_stay_in_place_when_clicked(page, app_url):
    """A tab on the second row stays where it was when clicked (nothing moves under the cursor); every tab is a tab."""
    for width, height in ((1400, 900), (1024, 768), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.goto(app_url)
        _explained(page)
        tabs = page.locator("#tabs [role=tab]")
        assert tabs.count() == 14 and page.locator("#tabs [aria-label='More tabs']").count() == 0
        before = page.evaluate(PLACES)
        for tab_id, _, _ in before[::-1]:  # last first: those most likely on a later row
            page.locator(f'#tabs [role=tab][data-tab-id="{tab_id}"]').click()
            after = page.evaluate(PLACES)
            assert after == before, (width, tab_id)
    page.set_viewport_size({"width": 1400, "height": 900})


def test_empty_sentence_gives_one_message_and_keeps_every_view(page, app_url):
    page.goto(app_url + "?sentence=a+fine+film")
    _explained(page, "a fine film")
    before = {k: page.locator(k).inner_text() for k in ("#prediction", "#note", "#shape-table")}
    for typed, key in (("   ", "Enter"), ("", "Enter")):
        box = page.locator("#input-text textarea")
        box.fill(typed)
        box.press(key)
        page.locator(".toast-body").first.wait_for()
        assert page.locator(".toast-body").count() == 1 and "type a sentence" in page.locator(".toast-body").inner_text()
        page.locator(".toast-body").first.wait_for(state="detached", timeout=30_000)  # gone by itself
        assert page.get_by_text("Error", exact=True).count() == 0  # no view became an error badge
        assert {k: page.locator(k).inner_text() for k in before} == before
        assert page.locator("#shown-text textarea").input_value() == "a fine film"


def test_guided_tour_walks_the_tabs_in_lesson_order(page, app_url):
    from electra_demo.app.tour import LESSON

    page.goto(app_url + "?sentence=a+fine+film")
    _explained(page, "a fine film")
    ids = page.evaluate("() => [...document.querySelectorAll('#tabs [role=tab]')].map(b => b.dataset.tabId)")
    assert ids == [t for _, t, _ in LESSON]  # the tabs stand in lesson order
    expect(page.locator("#tour-step")).to_contain_text("Step 1 of 14")
    for i, (_, tab_id, why) in enumerate(LESSON[1:4], start=2):
        page.locator("#tour-next").click()
        expect(page.locator(f'#tabs [role=tab][data-tab-id="{tab_id}"]')).to_have_attribute("aria-selected", "true")
        expect(page.locator("#tour-step")).to_contain_text(f"Step {i} of 14")
        expect(page.locator("#tour-step")).to_contain_text(why[:30])
        page.wait_for_function("(t) => new URL(location.href).searchParams.get('tab') === t", arg=tab_id)
    page.locator("#tour-prev").click()
    expect(page.locator(f'#tabs [role=tab][data-tab-id="{LESSON[2][1]}"]')).to_have_attribute("aria-selected", "true")
    _tab(page, "dataset")  # a clicked tab moves the tour too
    expect(page.locator("#tour-step")).to_contain_text("Step 14 of 14")


def test_similarity_opens_on_its_lesson_set_and_typed_sentences_run_as_the_box_says(page, app_url):
    page.goto(app_url + "?sentence=a+fine+film&tab=similarity")
    _explained(page, "a fine film")
    expect(page.locator("#similarity-note")).to_contain_text("Over 380 sentences")  # examples/lessons.tsv, labelled
    assert _value(page, "sim-set") == "lessons.tsv"
    label = page.locator("#sim-typed").inner_text()
    assert "Shift+Enter runs" in label
    box = page.locator("#sim-typed textarea")
    box.fill(LINES)
    box.press("Shift+Enter")  # as the box says: the typed sentences run, the menu follows
    expect(page.locator("#similarity-note")).to_contain_text("Over 12 sentences (unlabelled")
    assert _value(page, "sim-set") == TYPED and box.input_value() == LINES  # no newline added


def test_attention_heads_readable(page, app_url):
    """Row-wise colours by default, the [CLS] row outlined and first in the top-tokens table (readable at any length)."""
    page.goto(app_url + "?sentence=a+fine+film+with+a+good+story&tab=attention-heads")
    _explained(page, "a fine film with a good story")
    plot = page.locator("#attention-heads-plot")
    expect(plot).to_contain_text("weight / row max")  # the colour bar says the scale (the title wraps)
    expect(plot).to_contain_text("outlined")
    assert page.locator("#attention-heads-plot .shapelayer path").count() >= 1  # the outline is drawn
    first = page.locator('#attention-top [data-testid="cell-0-0"]')
    expect(first).to_contain_text("[CLS]")
    _radio(page, "attention-scale", "fixed 0 to 1")
    expect(plot).not_to_contain_text("row max")


def _colours(locator) -> int:
    """How many distinct colours the element shows on screen (a drawn colour bar: dozens; a blank one: 1 or 2)."""
    from PIL import Image

    return len(Image.open(io.BytesIO(locator.screenshot())).convert("RGB").getcolors(1 << 24))


def test_pooled_vectors_per_row_draws_its_colour_bar(page, app_url):
    """The figure's "per row" button restyles its one heatmap: the colour bar then reads -1..1 and is drawn, on a phone
    too (it drew blank once the page's link had changed; every size is checked for stale references below)."""
    page.set_viewport_size({"width": 390, "height": 844})
    try:
        page.goto(app_url + "?sentence=not+bad+at+all&tab=pooling-side-by-side")
        _explained(page, "not bad at all")
        plot = page.locator("#pooled-vectors")
        ticks = """(el) => [...el.querySelectorAll('.colorbar text')].map(t => t.textContent.replace('\\u2212', '-'))
                   .filter(t => /^-?[0-9.]+$/.test(t))"""  # the tick labels, not the colour bar's title
        page.wait_for_function(f"() => ({ticks})(document.getElementById('pooled-vectors')).length > 0")
        assert max(float(t) for t in plot.evaluate(ticks)) > 1  # one shared scale first: mean_sqrt_len reaches past 1
        plot.get_by_text("per row", exact=True).click()
        expect(plot).to_contain_text("row max")  # the colour bar names the scale
        page.wait_for_function(f"() => ({ticks})(document.getElementById('pooled-vectors')).includes('-1')")
        assert {"-1", "0", "1"} <= set(plot.evaluate(ticks)), plot.evaluate(ticks)
        bar = plot.locator(".colorbar .cbfills").first
        bar.scroll_into_view_if_needed()
        assert _colours(bar) > 20  # the gradient is drawn
        assert page.evaluate(OVERLAPS) == []
    finally:
        page.set_viewport_size({"width": 1400, "height": 900})


OVERLAPS = """() => {  // pairs of figure texts (titles, axis titles, legends, colour bars, subplot titles, buttons) that
  const out = [];  // overlap, and any of them outside its figure's box
  for (const plot of document.querySelectorAll('.js-plotly-plot')) {
    if (!plot.offsetParent) continue;
    const id = (plot.closest('[id]') || {}).id, items = [];
    const add = (el, kind) => { const r = el.getBoundingClientRect();
      if (r.width > 0 && r.height > 0) items.push([kind + ': ' + (el.textContent || '').trim().slice(0, 30), r]); };
    plot.querySelectorAll('.gtitle').forEach(e => add(e, 'title'));
    plot.querySelectorAll('.g-xtitle text, .g-ytitle text, [class*="g-x"][class*="title"] text, [class*="g-y"][class*="title"] text')
      .forEach(e => add(e, 'axis title'));
    plot.querySelectorAll('.legend .bg').forEach(e => add(e, 'legend'));
    plot.querySelectorAll('.colorbar .cbbg, .colorbar .cbfills').forEach(e => add(e, 'colorbar'));
    plot.querySelectorAll('.annotation-text').forEach(e => add(e, 'subplot title'));
    plot.querySelectorAll('.updatemenu-container .updatemenu-button').forEach(e => add(e, 'button'));
    for (let i = 0; i < items.length; i++) for (let j = i + 1; j < items.length; j++) {
      const [a, ra] = items[i], [b, rb] = items[j];
      if (a.startsWith('colorbar') && b.startsWith('colorbar')) continue;  // a colour bar's own parts
      const w = Math.min(ra.right, rb.right) - Math.max(ra.left, rb.left);
      const h = Math.min(ra.bottom, rb.bottom) - Math.max(ra.top, rb.top);
      if (w > 2 && h > 2) out.push([id, a, b]);
    }
    const box = plot.getBoundingClientRect();
    for (const [a, r] of items) if (r.left < box.left - 2 || r.right > box.right + 2) out.push([id, a, 'outside the figure']);
  }
  return out;
}"""


# Plotly's url(...#id) references (colour-bar gradients, clip paths) that name another URL than the page's: drawn blank
STALE_URLS = """() => { const base = location.href.split('#')[0], out = [];
  document.querySelectorAll('.js-plotly-plot [style*="url("], .js-plotly-plot [clip-path]').forEach(e => {
    const v = (e.getAttribute('style') || '') + ' ' + (e.getAttribute('clip-path') || '');
    for (const m of v.matchAll(/url\\(['"]?([^'")#]*)#/g)) if (m[1] && m[1] !== base) out.push(m[1]);
  });
  return out; }"""


# true once every shown figure's title is the fit views.common.layout made for its width (app/page.py, electraFit)
UNFITTED = """() => [...document.querySelectorAll('.js-plotly-plot')].filter(gd => gd.offsetParent).every(gd => {
  const fit = gd.layout && gd.layout.meta && gd.layout.meta.fit;
  return !fit || gd.layout.title.text === (gd.clientWidth >= fit.px ? fit.wide : fit.narrow)['title.text']; })"""


@pytest.mark.parametrize("width,height", [(390, 844), (1024, 768), (1400, 900)])
def test_no_overlapping_text_in_any_figure(page, app_url, width, height):
    from electra_demo.app.tour import TAB_IDS

    page.set_viewport_size({"width": width, "height": height})
    try:
        page.goto(app_url + "?sentence=not+bad+at+all&b=bad")
        _explained(page, "not bad at all")
        for tab_id in TAB_IDS:
            _tab(page, tab_id)
            plots = page.locator('#tabs [role=tabpanel]:visible .js-plotly-plot, .js-plotly-plot:visible')
            if tab_id not in ("shape-trace", "where-is-my-pooler-output", "any-encoder", "code"):
                plots.first.wait_for()  # a tab with figures: drawn
            page.wait_for_function("() => !document.querySelector('.js-plotly-plot:not(:has(.main-svg))')")
            page.evaluate("() => new Promise(r => setTimeout(r, 600))")  # the resize after a tab switch (electraResize)
            page.wait_for_function(UNFITTED)  # every title wrapped for its figure's width (phone: 42, else 96 characters)
            found = page.evaluate(OVERLAPS)
            assert found == [], (width, tab_id, found)
            assert page.evaluate(STALE_URLS) == [], (width, tab_id)  # colour bars and clip paths still drawn
    finally:
        page.set_viewport_size({"width": 1400, "height": 900})


def test_prediction_in_view_after_enter_on_a_phone(page, app_url):
    page.set_viewport_size({"width": 390, "height": 844})
    try:
        page.goto(app_url)
        _explained(page)
        box = page.locator("#input-text textarea")
        box.fill("a dull and tired film")
        box.press("Enter")
        _explained(page, "a dull and tired film")
        page.wait_for_function("""() => { const r = document.getElementById('prediction').getBoundingClientRect();
            return r.top >= 0 && r.bottom <= window.innerHeight; }""")
    finally:
        page.set_viewport_size({"width": 1400, "height": 900})
