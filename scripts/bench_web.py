"""The static page, measured: python scripts/bench_web.py [--checkpoint PATH] [--site DIR] [--reps 5]

On the shipped model by default (docs/web.md's figures), on this machine, with headless Debian chromium:

  export          `electra-demo export-web` into a temporary folder (or --site: an export already made): its time
  size            the export's bytes: total, and each file over 100 kB (what dominates); also gzip -6 sizes
  parity          the 50 sentences of tests/test_web_export.py typed into the page (window.electraDemo.run, the Explain
                  button's function; padding lab at the page's N = 64) against explain() and padding_lab(): token ids
                  identical or not, and the largest absolute difference of each kind of number
  open            page.goto -> the first prediction shown (window.explanation set), a fresh browser (empty cache) per
                  repetition, served by `python -m http.server`; with the page's own performance.now() marks
  per sentence    browser: explainText in the page (tokenize + graph + the derived numbers: what /explain computes),
                  and the whole update (+ the figures, + the padding lab); server: `python app.py` with the same
                  checkpoint, POST /gradio_api/call/explain and its event stream. Interleaved sentence by sentence
                  (browser, server, server, browser, ...) over the 50 sentences, after 5 warm-up sentences each way

Prints medians with min and max; no assertions. `uptime` is printed first: say whether the machine was busy.
"""
import argparse
import gzip
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import httpx
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from electra_demo.app.web.export import export_web  # noqa: E402
from electra_demo.checkpoint import load_classifier  # noqa: E402
from electra_demo.lab.explain import explain  # noqa: E402
from electra_demo.lab.padding import padding_lab  # noqa: E402
from scripts.bench_page import call  # noqa: E402  (one REST call, as the server benchmark makes it)
from tests.harness import browser_page, free_port, start_app, stop_app  # noqa: E402
from tests.test_web_export import SENTENCES, static_server  # noqa: E402


def spread(xs, unit="ms") -> str:
    return f"median {statistics.median(xs):.1f} {unit} (min {min(xs):.1f}, max {max(xs):.1f}, n={len(xs)})"




def differences(raw: dict, expl, lab) -> dict[str, float]:
    """Largest |page - PyTorch| per kind of number of one sentence."""
    d = lambda a, b: float(np.max(np.abs(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64))))
    out = {"hidden_states": d(raw["hidden_states"], expl.hidden_states),
           "pooled vectors": max(d(raw["pooled"][p], v) for p, v in expl.pooled.items()),
           "head probabilities": max(d(raw["heads"][p]["probs"], h.probs) for p, h in expl.heads.items() if h),
           "main logits": d(raw["logits"], expl.logits), "head_intermediate": d(raw["head_intermediate"], expl.head_intermediate),
           "token norms, cosines, similarity": max(d(raw[k], getattr(expl, k)) for k in ("token_norms", "cls_cosine", "similarity"))}
    pad = raw["padding"]
    out["padding lab vectors"] = max(d(pad["sides"][s]["vectors"], lab.sides[s].vectors) for s in lab.sides)
    out["padding lab distance, cosine"] = max(d(pad["sides"][s][k], getattr(lab.sides[s], k)) for s in lab.sides
                                              for k in ("distance", "cosine"))
    return out


def parity(url: str, loaded) -> None:
    worst, same_ids, same_preds = {}, 0, 0
    with browser_page(url, width=1280, timeout_s=300) as page:
        page.wait_for_function("() => window.explanation")
        for text in SENTENCES:
            page.evaluate("t => window.electraDemo.run(t)", text)
            raw = page.evaluate("() => window.explanationRaw")
            expl, lab = explain(loaded, text), padding_lab(loaded, text, 64)
            same_ids += raw["input_ids"] == expl.input_ids and raw["n_tokens"] == expl.n_tokens
            same_preds += all(raw["padding"]["sides"][s]["pred"] == lab.sides[s].pred.tolist() for s in lab.sides)
            for k, v in differences(raw, expl, lab).items():
                worst[k] = max(worst.get(k, 0.0), v)
        errors = page.console_errors
    print(f"parity over {len(SENTENCES)} sentences: token ids identical for {same_ids}, padding-lab predictions identical "
          f"for {same_preds}; console errors: {len(errors)}")
    for k, v in worst.items():
        print(f"  largest |page - PyTorch|, {k}: {v:.2e}")


def opening(url: str, reps: int) -> None:
    wall, ready, first = [], [], []
    for _ in range(reps):
        with browser_page("about:blank", width=1280, timeout_s=300) as page:
            t = time.perf_counter()
            page.goto(url)
            page.wait_for_function("() => window.explanation", polling=10)
            wall.append((time.perf_counter() - t) * 1000)
            marks = page.evaluate("() => window.timings")
            ready.append(marks["session_ready_ms"])
            first.append(marks["first_prediction_ms"])
    print(f"open -> first prediction (goto to window.explanation, fresh browser): {spread(wall)}")
    print(f"  the page's own marks from navigation start: model loaded and session ready {spread(ready)}, "
          f"first prediction shown {spread(first)}")


def per_sentence(url: str, server: str) -> None:
    explain_ms, update_ms, render_ms, padding_ms, graph_ms, server_ms = [], [], [], [], [], []
    with browser_page(url, width=1280, timeout_s=300) as page, httpx.Client(timeout=120) as client:
        page.wait_for_function("() => window.explanation && document.body.dataset.state === 'ready'")

        def browser(text, record=True):
            t = page.evaluate("async t => { const t0 = performance.now(); const r = await window.electraDemo.explainText(t);"
                              " return [performance.now() - t0, r.timings.graph_ms]; }", text)
            u = page.evaluate("async t => { const t0 = performance.now(); await window.electraDemo.run(t);"
                              " return [performance.now() - t0, window.timings.last]; }", text)
            if record:
                explain_ms.append(t[0]), graph_ms.append(t[1]), update_ms.append(u[0])
                render_ms.append(u[1]["render_ms"]), padding_ms.append(u[1]["padding_ms"])

        def served(text, record=True):
            s = call(client, server, "explain", [text]) * 1000
            if record:
                server_ms.append(s)

        for text in SENTENCES[:5]:  # warm-up both
            browser(text, False), served(text, False)
        for i, text in enumerate(SENTENCES):
            for run in (browser, served) if i % 2 == 0 else (served, browser):
                run(text)
    print("per sentence, over the 50 sentences:")
    print(f"  browser, explainText (tokenize + graph + derived numbers):    {spread(explain_ms)}")
    print(f"    of which the graph (session.run):                            {spread(graph_ms)}")
    print(f"  browser, whole update (+ figures + padding lab, N = 64):      {spread(update_ms)}")
    print(f"    of which the figures and tables:                             {spread(render_ms)}")
    print(f"    of which the padding lab (8 values of N + batched, B=2/4):   {spread(padding_ms)}")
    print(f"  server, /explain round trip (REST call + event stream):       {spread(server_ms)}")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", default=None, help="default: the shipped checkpoints/electra-sst2")
    p.add_argument("--site", default=None, help="an export of the same checkpoint already made (default: export now)")
    p.add_argument("--reps", type=int, default=5, help="page openings (default 5)")
    p.add_argument("--skip", default="", help="comma-separated parts to skip: parity,open,speed")
    args = p.parse_args(argv)
    skip = set(filter(None, args.skip.split(",")))
    print("uptime:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    chromium = subprocess.run(["/usr/bin/chromium", "--version"], capture_output=True, text=True).stdout.strip()
    print(f"machine: {os.cpu_count()} CPU cores, no GPU used; {chromium}")
    loaded = load_classifier(args.checkpoint)
    work = tempfile.mkdtemp(prefix="bench-web-")
    site = args.site
    try:
        if site is None:
            site = os.path.join(work, "site")
            t = time.perf_counter()
            export_web(loaded, site)
            print(f"export: {time.perf_counter() - t:.1f} s")
        sizes = {os.path.relpath(os.path.join(d, f), site): os.path.getsize(os.path.join(d, f))
                 for d, _, fs in os.walk(site) for f in fs}
        packed = {name: len(gzip.compress(open(os.path.join(site, name), "rb").read(), 6)) for name in sizes}
        print(f"bundle: {sum(sizes.values()) / 1e6:.1f} MB in {len(sizes)} files ({sum(packed.values()) / 1e6:.1f} MB with "
              "gzip -6, as a static host that compresses sends it); over 100 kB:")
        for name, size in sorted(sizes.items(), key=lambda kv: -kv[1]):
            if size > 100_000:
                print(f"  {name}: {size / 1e6:.2f} MB (gzip -6: {packed[name] / 1e6:.2f} MB)")
        with open(os.path.join(site, "model.json"), encoding="utf-8") as f:
            half = json.load(f)["graph"]["float16_storage"]
        print(f"weights stored as float16 (exactly equal to their float32 values): {len(half)} tensors {half[:3]}")
        with static_server(site) as url:
            if "parity" not in skip:
                parity(url, loaded)
            if "open" not in skip:
                opening(url, args.reps)
            if "speed" not in skip:
                proc, server, _ = start_app(args.checkpoint, free_port(), os.path.join(work, "app.log"))
                try:
                    per_sentence(url, server)
                finally:
                    stop_app(proc)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
