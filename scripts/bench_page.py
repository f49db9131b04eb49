"""The page and the server, measured: python scripts/bench_page.py [--checkpoint PATH] [--reps 5] [--calls 2000]

On the shipped model by default, with `python app.py` started by tests.harness (one process, its own torch threads):

page (headless Debian chromium through Playwright, 1400 x 900, a fresh page per repetition)
  load -> first filled view   page.goto until the prediction and the shape table are filled (the page opens ready)
  example click -> every tab   click an example until the chain explore -> every lab tab -> URL sync has finished
                              (the URL's sentence is the example: the last step of that chain)
server (plain HTTP, the REST API: POST /gradio_api/call/NAME then GET its event stream; no gradio_client polling)
  first requests after start: GET / and one /explain
  round trip of the lightest endpoint (/code) vs a minimal Gradio app with one gr.api (str -> str), interleaved A/B
  RSS of the app process over --calls /explain calls (at call 200 and at the end), then over --calls calls of the
      page's own /explain through gradio_client (one session, the page's queue)
  throughput of /explain with 1 client vs 8 concurrent clients (same number of calls each way, --rounds interleaved
      rounds), with the server's and the client's CPU time per call
  what a session costs: RSS growth over 200 fresh sessions (each REST call without a session is a new session)

Prints medians with the spread (min-max); no assertions. Say whether the machine was busy: `uptime` is printed.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor

import httpx

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tests.harness import browser_page, free_port, serve, start_app, stop_app  # noqa: E402

MINIMAL_APP = textwrap.dedent('''
    import sys
    import gradio as gr

    def code(name: str) -> str:
        """The baseline: a str -> str endpoint."""
        return "h[:, 0]" if name == "cls" else name

    with gr.Blocks(analytics_enabled=False) as demo:
        gr.api(code, api_name="code")
    demo.queue().launch(server_port=int(sys.argv[1]))
''')


def call(client: httpx.Client, base: str, name: str, data: list) -> float:
    t = time.perf_counter()
    r = client.post(f"{base}gradio_api/call/{name}", json={"data": data})
    r.raise_for_status()
    body = client.get(f"{base}gradio_api/call/{name}/{r.json()['event_id']}").text
    if "event: complete" not in body:
        raise RuntimeError(f"/{name} failed: {body[-300:]}")
    return time.perf_counter() - t


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS")) / 1024


def spread(xs, unit="ms", scale=1000.0) -> str:
    xs = [x * scale for x in xs]
    return f"median {statistics.median(xs):.1f} {unit} (min {min(xs):.1f}, max {max(xs):.1f}, n={len(xs)})"


def page_timings(url: str, reps: int):
    from playwright.sync_api import expect  # noqa: F401  (playwright is a script dependency)

    loads, clicks = [], []
    example = "The plot was dull and the acting was even worse."
    for _ in range(reps):
        with browser_page("about:blank", width=1400) as page:
            t = time.perf_counter()
            page.goto(url)
            page.locator("#shape-table").get_by_text("pooler_output", exact=True).wait_for()
            page.locator("#prediction").get_by_text("%").first.wait_for()
            loads.append(time.perf_counter() - t)
            page.wait_for_function("() => new URL(location.href).searchParams.get('sentence')")  # opening chain done
            t = time.perf_counter()
            page.locator("#examples").get_by_text(example[:20]).click()
            page.wait_for_function("(s) => new URL(location.href).searchParams.get('sentence') === s", arg=example,
                                   polling=20)
            clicks.append(time.perf_counter() - t)
    return loads, clicks


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system) the process `pid` has used so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def throughput(url: str, pid: int, rounds: int, n: int = 160):
    """/explain with 1 client vs 8 concurrent clients (threads of this process, one HTTP connection each), `rounds`
    interleaved rounds of `n` calls each way; with the server's and this client's CPU time per call."""
    texts = [f"sentence number {i} was good" for i in range(n)]

    def run(k: int):
        clients = [httpx.Client(timeout=120) for _ in range(k)]
        c0, m0, t = cpu_s(pid), time.process_time(), time.perf_counter()
        with ThreadPoolExecutor(k) as pool:
            list(pool.map(lambda i: call(clients[i % k], url, "explain", [texts[i]]), range(n)))
        wall = time.perf_counter() - t
        for c in clients:
            c.close()
        return n / wall, (cpu_s(pid) - c0) / n, (time.process_time() - m0) / n

    runs = {1: [], 8: []}
    for r in range(rounds):
        for k in (1, 8) if r % 2 == 0 else (8, 1):
            runs[k].append(run(k))
    ratios = [b[0] / a[0] for a, b in zip(runs[1], runs[8])]
    for k, rs in runs.items():
        print(f"/explain, {k} client{'s' * (k > 1)}: {statistics.median(r[0] for r in rs):.1f} calls/s "
              f"(min {min(r[0] for r in rs):.1f}, max {max(r[0] for r in rs):.1f}); CPU per call: server "
              f"{statistics.median(r[1] for r in rs) * 1000:.1f} ms, client {statistics.median(r[2] for r in rs) * 1000:.1f} ms")
    print(f"8 clients vs 1: median {statistics.median(ratios):.2f}x (min {min(ratios):.2f}, max {max(ratios):.2f}, "
          f"{rounds} interleaved rounds of {n} calls; no errors: a failed call raises)")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", default=None, help="default: the shipped checkpoints/electra-sst2")
    p.add_argument("--reps", type=int, default=5, help="page repetitions (default 5)")
    p.add_argument("--calls", type=int, default=2000, help="/explain calls for the RSS curve (default 2000)")
    p.add_argument("--round-trips", type=int, default=200, help="A/B round trips of the lightest endpoint (default 200)")
    p.add_argument("--rounds", type=int, default=10, help="interleaved rounds of 1 vs 8 clients (default 10)")
    args = p.parse_args(argv)
    print("uptime:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    work = tempfile.mkdtemp(prefix="bench-page-")
    proc, url, startup = start_app(args.checkpoint, free_port(), os.path.join(work, "app.log"))
    minimal_py = os.path.join(work, "minimal.py")
    with open(minimal_py, "w") as f:
        f.write(MINIMAL_APP)
    port = free_port()
    mproc, murl, _ = serve([sys.executable, minimal_py, str(port)], port, os.path.join(work, "minimal.log"))
    try:
        print(f"app serving {url} after {startup:.1f} s (pid {proc.pid})")
        with httpx.Client(timeout=60) as c:
            t = time.perf_counter()
            c.get(url).raise_for_status()
            page = time.perf_counter() - t
            first = call(c, url, "explain", ["the first sentence after start"])
        print(f"first requests after start: the page {page * 1000:.0f} ms, /explain {first * 1000:.0f} ms")
        loads, clicks = page_timings(url, args.reps)
        print(f"page load -> first filled view:          {spread(loads)}")
        print(f"example click -> every tab updated:      {spread(clicks)}")

        with httpx.Client(timeout=60) as c:
            for _ in range(20):  # warm-up
                call(c, url, "code", ["cls"]), call(c, murl, "code", ["cls"])
            a, b = [], []
            for _ in range(args.round_trips):  # interleaved A/B
                a.append(call(c, url, "code", ["cls"]))
                b.append(call(c, murl, "code", ["cls"]))
            print(f"REST round trip /code, the app:           {spread(a)} (answered by the light API at /api)")
            print(f"REST round trip /code, a minimal app:     {spread(b)}")
            print(f"ratio of medians: {statistics.median(a) / statistics.median(b):.2f}x")

            before = rss_mb(proc.pid)
            for _ in range(200):
                call(c, url, "code", ["mean"])  # a fresh session each (no session hash)
            print(f"200 fresh sessions: RSS {before:.0f} -> {rss_mb(proc.pid):.0f} MB "
                  f"({(rss_mb(proc.pid) - before) * 1024 / 200:.0f} KB per session, gradio's own session state)")

            sentences = ["a gripping , beautifully acted film", "the plot was dull", "not bad at all", "bad"]
            rss = {}
            for i in range(1, args.calls + 1):
                call(c, url, "explain", [sentences[i % 4] + f" {i % 50}"])
                if i in (1, 200, args.calls // 2, args.calls):
                    rss[i] = rss_mb(proc.pid)
            print("RSS over /explain calls: " + ", ".join(f"call {k}: {v:.0f} MB" for k, v in rss.items())
                  + f"; growth from call 200 to {args.calls}: {rss[args.calls] - rss[200]:+.1f} MB")

        from gradio_client import Client

        page_client = Client(url, verbose=False)  # one session on the page: its own /explain event (queue/join)
        rss = {}
        for i in range(1, args.calls + 1):
            page_client.predict(sentences[i % 4] + f" {i % 50}", api_name="/explain")
            if i in (1, 200, args.calls // 2, args.calls):
                rss[i] = rss_mb(proc.pid)
        print("RSS over the page's own /explain (gradio_client, one session): "
              + ", ".join(f"call {k}: {v:.0f} MB" for k, v in rss.items())
              + f"; growth from call 200 to {args.calls}: {rss[args.calls] - rss[200]:+.1f} MB")

        throughput(url, proc.pid, args.rounds)
    finally:
        stop_app(mproc)
        stop_app(proc)


if __name__ == "__main__":
    main()
