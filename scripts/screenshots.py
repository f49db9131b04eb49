"""Screenshots of every view: python scripts/screenshots.py [--checkpoint PATH] [--out docs] [--text SENTENCE]

Starts `python app.py` (tests.harness.start_app; default: the shipped checkpoint), opens the
page in headless Debian chromium through Playwright (viewport 1400 wide), types the sentence, presses
Enter (every tab, main and lab, then shows it), and saves one PNG per view once its results have rendered
(plotly SVG drawn, tables filled):

  <out>/screenshot.png                      the whole page with the Shape trace tab (the README's picture)
  <out>/screenshot-phone.png                the same page at phone size (390 x 844), its first screens
  <out>/tab-hidden-states.png               Hidden states
  <out>/tab-pooling-side-by-side.png        Pooling side by side
  <out>/tab-compare.png                     Compare, with the teaching pair "not bad at all" vs "bad"
  <out>/tab-code.png                        Code
  <out>/tab-padding-lab.png                 Padding lab, run with --pads (default 200) pad tokens
  <out>/tab-where-is-my-pooler-output.png   Where is my pooler_output?
  <out>/tab-pooling-attribution.png         Pooling attribution
  <out>/tab-layer-x-pooling.png             Layer x pooling grid
  <out>/tab-dataset.png                     Dataset view on examples/reviews.tsv (picked from the dropdown)
  <out>/tab-similarity-vs-probe.png         Similarity vs probe over examples/reviews.tsv
  <out>/tab-pooling-mismatch.png            Pooling mismatch over examples/reviews.tsv
  <out>/tab-attention-heads.png             Attention heads of the last layer
  <out>/tab-any-encoder.png                 Any encoder: a tiny random BERT (it has pooler_output)

Tab views are shots of the tab strip plus the open tab, taken with the viewport as tall as the page
(code boxes only draw their visible lines). A PNG over --max-kb (default 400) is re-saved optimised,
then cut to its top part (between two blocks where possible) until it fits. Prints each file written. The app is
stopped at the end, also on error; on error the page as it was is saved next to the app log.
Needs /usr/bin/chromium (apt-get install -y chromium) and the playwright package (not its browsers).
"""
import argparse
import io
import os
import re
import shutil
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tests.harness import CHROMIUM, browser_page, free_port, start_app, stop_app  # noqa: E402

MAX_HEIGHT = 6000  # px: the tallest viewport used for a shot
DEFAULT_TEXT = "a gripping , beautifully acted film with a dull ending"
DATASET_FILE = "reviews.tsv"  # examples/reviews.tsv, offered in the Dataset tab's "or pick a file" dropdown

# JS helpers: the open tab's panel, and how many plotly figures in it have drawn their SVG
OPEN_PANEL = "[...document.querySelectorAll('[role=tabpanel]')].find(e => e.offsetParent !== null)"
DRAWN_PLOTS = f"""(root) => {{
  root = root ? document.querySelector(root) : {OPEN_PANEL};
  if (!root) return 0;
  return [...root.querySelectorAll('.js-plotly-plot')].filter(p => p.querySelector('.main-svg') && p.offsetParent !== null
      && p.getBoundingClientRect().width > 100 && p.getBoundingClientRect().height > 100).length;
}}"""


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", default=None, help="checkpoint for app.py (default: the shipped checkpoints/electra-sst2)")
    p.add_argument("--out", default="docs", help="folder for the PNGs (default: docs)")
    p.add_argument("--text", default=DEFAULT_TEXT, help=f"sentence to explain (default: {DEFAULT_TEXT!r})")
    p.add_argument("--pads", type=int, default=200, help="N pad tokens for the Padding lab (default: 200)")
    p.add_argument("--width", type=int, default=1400, help="viewport width (default: 1400)")
    p.add_argument("--phone", default="390x844", help="phone viewport for screenshot-phone.png (default: 390x844)")
    p.add_argument("--max-kb", type=int, default=400, help="largest PNG in KB before it is cut to fit (default: 400)")
    p.add_argument("--timeout", type=float, default=180.0, help="seconds to wait for each view's results (default: 180)")
    return p.parse_args(argv)


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


class Shooter:
    def __init__(self, page, out: str, max_kb: int, timeout: float):
        self.page, self.out, self.max_bytes, self.timeout = page, out, max_kb * 1000, timeout
        self.written = []

    # ---- waiting ----
    def wait_until(self, what: str, check):
        """Poll check() until true; fail early with the text of a gradio error toast, or after the timeout."""
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < self.timeout:
            if check():
                return
            toast = self.page.locator('[data-testid="toast-body"].error')
            if toast.count() and toast.first.is_visible():
                raise RuntimeError(f"the page showed an error while waiting for {what}: {toast.first.inner_text().strip()!r}")
            time.sleep(0.2)
        raise TimeoutError(f"{what} did not appear within {self.timeout:.0f} s")

    def wait_plots(self, n: int, root: str | None = None):
        """Wait until n plotly figures (in `root`, default the open tab) have drawn their SVG."""
        self.wait_until(f"{n} plot(s) in {root or 'the open tab'}", lambda: self.page.evaluate(DRAWN_PLOTS, root) >= n)

    def wait_text(self, selector: str, text: str):
        loc = self.page.locator(selector).first
        self.wait_until(f"{text!r} in {selector}", lambda: loc.count() > 0 and text in loc.inner_text())

    def settle(self):
        """No progress bar / spinner left, fonts loaded, then two animation frames so the last paint is done."""
        self.wait_until("the page to settle", lambda: self.page.evaluate(
            "() => ![...document.querySelectorAll('.eta-bar, .progress-text, .progress-bar')].some(e => e.offsetParent !== null)"))
        self.page.evaluate("() => document.fonts.ready.then(() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r))))")
        time.sleep(0.3)  # gradio fades freshly filled outputs in

    def open_tab(self, name: str):
        self.page.locator("#tabs").get_by_role("tab", name=name, exact=True).click()  # "Code" is inside "Any encoder"
        self.wait_until(f"tab {name!r} to open", lambda: self.page.evaluate(
            f"(name) => {{ const t = [...document.querySelectorAll('[role=tab]')].find(b => b.innerText.trim() === name);"
            f" return !!t && t.getAttribute('aria-selected') === 'true' && !!({OPEN_PANEL}); }}", name))

    def panel(self):
        return self.page.locator("[role=tabpanel]:visible").first

    # ---- shooting ----
    def save(self, filename: str, png: bytes, cuts: list[int]):
        path = os.path.join(self.out, filename)
        png, note = fit(png, self.max_bytes, cuts)
        with open(path, "wb") as f:
            f.write(png)
        self.written.append(path)
        print(f"wrote {path} ({len(png) / 1000:.0f} KB{note})", flush=True)

    def tall_viewport(self):
        """Make the viewport as tall as the page: code boxes (CodeMirror) only draw the lines inside the viewport."""
        size = self.page.viewport_size
        for _ in range(3):  # the page may reflow once it is taller
            height = min(MAX_HEIGHT, max(size["height"], self.page.evaluate("() => document.documentElement.scrollHeight")))
            if height == self.page.viewport_size["height"]:
                break
            self.page.set_viewport_size({"width": size["width"], "height": height})
            self.settle()
        return size

    def shoot(self, filename: str, locator=None):
        self.settle()
        size = self.tall_viewport()
        try:
            kw = dict(animations="disabled", caret="hide")
            if locator is None:
                png, cuts = self.page.screenshot(full_page=True, **kw), self.page.evaluate(CLEAN_CUTS, None)
            else:
                png, cuts = locator.screenshot(**kw), locator.evaluate(CLEAN_CUTS)
            self.save(filename, png, cuts)
        finally:
            self.page.set_viewport_size(size)

    def shoot_page(self, filename: str):
        self.shoot(filename)

    def shoot_tab(self, name: str):
        """The tab strip and the open tab (the gr.Tabs block)."""
        self.shoot(f"tab-{slug(name)}.png", self.page.locator("#tabs"))


def fit(png: bytes, max_bytes: int, cuts: list[int]) -> tuple[bytes, str]:
    """The PNG as is if small enough; else re-saved optimised; else its top part, cut at the lowest of `cuts`
    (y offsets between blocks) that fits, or at any height if none does. No palette reduction: it shifts plot colours."""
    if len(png) <= max_bytes:
        return png, ""
    from PIL import Image  # gradio's own dependency

    img = Image.open(io.BytesIO(png))
    img.load()

    def encode(im):
        buf = io.BytesIO()
        im.save(buf, "PNG", optimize=True)
        return buf.getvalue()

    small = encode(img)
    if len(small) <= max_bytes:
        return small, ", optimised"
    w, h = img.size
    cut = h
    for y in sorted((c for c in cuts if 200 < c < h), reverse=True):  # whole blocks first
        cut, small = y, encode(img.crop((0, 0, w, y)))
        if len(small) <= max_bytes:
            break
    while len(small) > max_bytes and cut > 200:  # no block boundary fits: any height
        cut = int(cut * min(0.9, max_bytes / len(small)))
        small = encode(img.crop((0, 0, w, cut)))
    return small, f", cut to the top {cut} of {h} px to stay under {max_bytes // 1000} KB"


# y offsets (from the element's top, in px) where a horizontal cut crosses no gradio block
CLEAN_CUTS = """(root) => {
  root = root || document.body;
  const top = root.getBoundingClientRect().top;
  const boxes = [...root.querySelectorAll('.block')].map(e => e.getBoundingClientRect())
      .filter(r => r.height > 0);
  const ys = boxes.map(r => Math.ceil(r.bottom - top) + 4);
  return [...new Set(ys)].filter(y => !boxes.some(r => r.top - top < y && r.bottom - top > y));
}"""


def run(args) -> list[str]:
    if not os.path.exists(CHROMIUM):
        raise SystemExit(f"{CHROMIUM} missing: apt-get install -y chromium")
    os.makedirs(args.out, exist_ok=True)
    work = tempfile.mkdtemp(prefix="electra-screenshots-")
    log = os.path.join(work, "app.log")
    proc, url, startup = start_app(args.checkpoint, free_port(), log)
    print(f"app serving {url} after {startup:.1f} s", flush=True)
    try:
        with browser_page(url, args.width, args.timeout) as page:
            try:
                s = Shooter(page, args.out, args.max_kb, args.timeout)
                shoot_all(s, page, args)
                shutil.rmtree(work, ignore_errors=True)  # kept only on error
                return s.written
            except BaseException:
                try:
                    page.screenshot(path=os.path.join(work, "error.png"), full_page=True)
                    print(f"page at the error: {os.path.join(work, 'error.png')}", file=sys.stderr)
                except Exception:  # noqa: BLE001 - best effort only
                    pass
                raise
    except BaseException:
        print(f"app log: {log}\n{open(log).read()[-3000:]}", file=sys.stderr)
        raise
    finally:
        stop_app(proc)


def shoot_all(s: Shooter, page, args):
    # the page opens ready (an example explained); type our sentence and press Enter: every tab follows
    page.locator("#shape-table").get_by_text("pooler_output", exact=True).wait_for()
    page.locator("#input-text textarea").fill(args.text)
    page.locator("#input-text textarea").press("Enter")
    s.wait_until("the explained sentence", lambda: page.locator("#shown-text textarea").input_value() == args.text)
    s.wait_text("#note", "Main head")
    s.wait_text("#shape-table", "last_hidden_state")
    s.wait_until("the prediction", lambda: page.locator("#prediction").inner_text().strip() != "")
    s.shoot_page("screenshot.png")

    s.open_tab("Hidden states")
    s.wait_plots(1, "#hidden-heatmap")
    s.wait_plots(1, "#token-layers")
    s.shoot_tab("Hidden states")

    s.open_tab("Pooling side by side")
    s.wait_plots(1, "#pooled-vectors")
    s.wait_plots(1, "#pooling-cosine")
    s.wait_text("#pooling-table", "naive_mean")
    s.shoot_tab("Pooling side by side")

    s.open_tab("Code")
    s.wait_until("the code", lambda: "self.electra" in s.panel().locator(".cm-content").first.inner_text())
    s.shoot_tab("Code")

    s.open_tab("Padding lab")
    pads = page.locator("#pad-slider input[type=range]")
    pads.fill(str(args.pads))  # sets the value and fires input/change (the number box follows; the tab re-runs)
    s.wait_until(f"the pad slider at {args.pads}",
                 lambda: page.locator("#pad-slider input[type=number]").input_value() == str(args.pads))
    s.wait_text("#padding-summary", "identical")
    s.wait_text("#padding-summary", str(args.pads))
    s.wait_plots(2)
    s.shoot_tab("Padding lab")

    s.open_tab("Where is my pooler_output?")
    s.wait_until("the pooler_output tab", lambda: s.panel().locator(".cm-content").count() >= 3
                 and "pooler_output" in s.panel().inner_text())
    s.shoot_tab("Where is my pooler_output?")

    s.open_tab("Pooling attribution")
    s.wait_until("the [PAD] tokens", lambda: page.locator("#attribution-text").get_by_text("[PAD]").count() > 0)
    s.wait_plots(1)
    s.shoot_tab("Pooling attribution")

    s.open_tab("Layer x pooling")
    s.wait_plots(3)
    s.shoot_tab("Layer x pooling")

    s.open_tab("Dataset")  # filled on load with the bundled file
    s.wait_plots(3)
    s.wait_until("the misclassified table", lambda: page.locator("#misclassified").is_visible())
    page.mouse.move(0, 0)  # no hover label over a plot
    s.shoot_tab("Dataset")

    s.open_tab("Similarity vs probe")
    s.wait_text("#similarity-note", "Over")
    s.wait_plots(1, "#similarity-scores")
    s.shoot_tab("Similarity vs probe")

    s.open_tab("Pooling mismatch")
    s.wait_plots(1, "#mismatch-matrix")
    s.shoot_tab("Pooling mismatch")

    s.open_tab("Attention heads")
    s.wait_plots(3)
    s.shoot_tab("Attention heads")

    s.open_tab("Any encoder")
    s.wait_text("#encoder-trace", "BertModel")
    s.shoot_tab("Any encoder")

    s.open_tab("Compare")
    page.locator("#teaching-pair").click()
    s.wait_until("the teaching pair", lambda: page.locator("#shown-text textarea").input_value() == "not bad at all")
    s.wait_text("#compare-summary", "tokens")
    s.wait_plots(1, "#compare-figure")
    s.shoot_tab("Compare")

    # the phone: the same link (sentence and tab in the URL) at phone size, its first screens
    w, h = (int(x) for x in args.phone.split("x"))
    page.set_viewport_size({"width": w, "height": h})
    page.goto(page.url.split("?")[0] + "?" + urllib.parse.urlencode({"sentence": args.text, "tab": "shape-trace"}))
    s.wait_until("the phone page", lambda: page.locator("#shown-text textarea").input_value() == args.text)
    s.wait_text("#shape-table", "last_hidden_state")
    s.settle()
    s.save("screenshot-phone.png", page.screenshot(full_page=True), page.evaluate(CLEAN_CUTS, None))


def main(argv=None):
    args = parse_args(argv)
    written = run(args)
    print(f"{len(written)} screenshots:")
    for path in written:
        print(f"  {path}")


if __name__ == "__main__":
    main()
