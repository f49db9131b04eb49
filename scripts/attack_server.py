"""The server's attack figures: python scripts/attack_server.py [--checkpoint PATH] [--only PART ...] [--check]

Starts `python app.py` (the shipped model by default; its own GRADIO_TEMP_DIR and TMPDIR) and, over plain HTTP:
  basic:    a 400 MiB JSON body to /gradio_api/call/explain (streamed), timed to its 413, RSS before/after; --uploads
            files of 1.9 MB (.tsv, the limit is 2 MB) and one .exe; an unknown endpoint (404); a lone surrogate (a
            sentence, not an error: null); the largest /explain answer; a JSON body nested 200,000 deep; a 70k URL;
  heavy:    (= budget abandoned fair) budget: /similarity with MAX_SENTENCES sentences of ~60 tokens, over the token
            budget (refused before it runs); abandoned: maximal /similarity calls (500 sentences of 128 tokens, just
            under the budget) abandoned by their clients (result stream closed, or never opened), the server's CPU
            seconds in the next 45 s; fair: a fresh /predict's latency while 8 maximal /similarity wait for their
            answers, then also with a busy loop on another core, and RSS a minute after, against the warm baseline;
  exports:  --exports exports in one page session (the page's private event, as the browser sends it), then the
            export folders and Gradio's cache, and an upload;
  sessions: --sessions page sessions (a heartbeat each, as a browser keeps, and one /predict), RSS; the pages closed,
            RSS a minute later.
Prints one markdown table; with --check, exits 1 when a target is missed. Load average is printed: a busy machine
makes every time longer.
"""

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import httpx  # noqa: E402

from tests.harness import free_port, start_app, stop_app  # noqa: E402

PARTS = ("basic", "budget", "abandoned", "fair", "exports", "sessions")  # "heavy": budget, abandoned and fair
LONG = "the film was good and the acting was superb but the plot was dull and the ending was a mess "  # ~20 tokens


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS")) / 1024


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of the process, all its threads."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def folder(path: str, prefix: str = "") -> tuple[int, float]:
    """(entries whose name starts with prefix, MB of the files under them) in `path`."""
    n, size = 0, 0
    for name in os.listdir(path) if os.path.isdir(path) else []:
        if not name.startswith(prefix):
            continue
        n += 1
        for root, _, files in os.walk(os.path.join(path, name)):
            size += sum(os.path.getsize(os.path.join(root, f)) for f in files if os.path.exists(os.path.join(root, f)))
    return n, size / 1e6


def call(http: httpx.Client, name: str, data: list, timeout: float = 600) -> tuple[float, str]:
    """A REST call (POST, then read the result stream): (seconds, the stream's text)."""
    t = time.perf_counter()
    r = http.post(f"/gradio_api/call/{name}", content=json.dumps({"data": data}), headers={"content-type": "application/json"})
    if r.status_code != 200:
        return time.perf_counter() - t, f"HTTP {r.status_code}: {r.text}"
    text = http.get(f"/gradio_api/call/{name}/{r.json()['event_id']}", timeout=timeout).text
    return time.perf_counter() - t, text


def maximal(tag: str, n: int) -> list[str]:
    """n different sentences of the maximum 128 tokens (each request its own: nothing served from a cache)."""
    return [f"{tag} {i} " + LONG * 7 for i in range(n)]


def basic(http, proc, a, rows, base):
    def body():  # 400 MiB, streamed: a JSON string that never ends early
        yield b'{"data": ["'
        chunk = b"x" * (1 << 20)
        for _ in range(400):
            yield chunk
        yield b'"]}'

    t = time.perf_counter()
    r = http.post("/gradio_api/call/explain", content=body(), headers={"content-type": "application/json"})
    rows.append(("400 MiB JSON body to /explain", f"HTTP {r.status_code} after {1000 * (time.perf_counter() - t):.0f} ms; "
                 f"RSS {rss_mb(proc.pid) - base:+.1f} MB"))
    payload = b"sentence\tlabel\n" + b"a fine film\t1\n" * (1_900_000 // 14)  # just under the 2 MB limit
    peak, codes = base, {}
    t = time.perf_counter()
    for i in range(a.uploads):
        r = http.post("/gradio_api/upload", files={"files": (f"f{i}.tsv", payload, "text/tab-separated-values")})
        codes[r.status_code] = codes.get(r.status_code, 0) + 1
        peak = max(peak, rss_mb(proc.pid))
    rows.append((f"{a.uploads} uploads of 1.9 MB .tsv", f"{dict(sorted(codes.items()))} in {time.perf_counter() - t:.1f} s; "
                 f"peak RSS {peak - base:+.1f} MB, steady {rss_mb(proc.pid) - base:+.1f} MB"))
    r = http.post("/gradio_api/upload", files={"files": ("tool.exe", b"MZ" + b"\0" * 100, "application/octet-stream")})
    rows.append(("an .exe upload", f"HTTP {r.status_code}"))
    r = http.post("/gradio_api/call/nope", json={"data": ["x"]})
    rows.append(("an unknown endpoint", f"HTTP {r.status_code}"))
    _, answer = call(http, "explain", ["a \ud800 b"])
    rows.append(("a lone surrogate", " ".join(answer.split())[:140]))
    _, answer = call(http, "explain", ["good movie " * 200])
    rows.append(("/explain at the maximum input (128 tokens)", f"{len(answer.encode()):,} bytes"))
    deep = b'{"data": ' + b"[" * 200_000 + b"]" * 200_000 + b"}"
    r = http.post("/gradio_api/queue/join", content=deep, headers={"content-type": "application/json"})
    rows.append(("a JSON body nested 200,000 deep", f"HTTP {r.status_code}: {r.text}"))
    import socket

    host, port = http.base_url.host, http.base_url.port
    with socket.create_connection((host, port), timeout=30) as sock:
        sock.sendall(b"GET /?sentence=" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        answer = b""
        try:
            while chunk := sock.recv(4096):
                answer += chunk
        except ConnectionResetError:  # answered and closed with the rest of the URL unread
            pass
    head, _, text = answer.decode(errors="replace").partition("\r\n\r\n")
    rows.append(("a URL of 70,000 characters", f"{head.splitlines()[0]}: {text}"))


def heavy(http, proc, a, rows, checks, url):
    from electra_demo.lab.dataset import MAX_SENTENCES

    n = 500  # 500 x 128 tokens = 64,000 (+ the sentence's own): the most a request may cost
    if "budget" in a.only:
        over = [f"over {i} " + LONG * 3 for i in range(MAX_SENTENCES)]  # ~60 tokens each: 0.6 MB, under the body limit
        t, answer = call(http, "similarity", ["a fine film", over, None])
        rows.append((f"/similarity with {MAX_SENTENCES:,} sentences of ~60 tokens", f"answered in {t:.2f} s: "
                     + " ".join(answer.split("data:", 1)[-1].split())[:150]))
    if not {"abandoned", "fair"} & set(a.only):
        return
    _, answer = call(http, "similarity", ["a fine film", maximal("warm", n), None])
    assert "event: complete" in answer, answer[:300]
    warm = rss_mb(proc.pid)
    rows.append(("RSS after one maximal /similarity (warm baseline)", f"{warm:.0f} MB"))
    for how in ("stream closed", "never read") if "abandoned" in a.only else ():
        for count in (4, 6):
            before = cpu_s(proc.pid)
            for i in range(count):
                r = http.post("/gradio_api/call/similarity", json={"data": ["a fine film", maximal(f"{how}{count}{i}", n), None]})
                if how == "stream closed":
                    with http.stream("GET", f"/gradio_api/call/similarity/{r.json()['event_id']}") as s:
                        s.close()  # the client leaves at once
            time.sleep(45)
            used = cpu_s(proc.pid) - before
            rows.append((f"{count} maximal /similarity abandoned ({how}): server CPU in the next 45 s", f"{used:.1f} s"))
            checks.append((f"abandoned ({how}, {count}) <= 10 s CPU", used <= 10))
    if "fair" not in a.only:
        return
    lat, lat_busy, stop = [], [], threading.Event()

    def hold(i):  # a client waiting for its maximal answer, until told to leave
        with httpx.Client(base_url=url, timeout=600) as c:
            r = c.post("/gradio_api/call/similarity", json={"data": ["a fine film", maximal(f"wait{i}", n), None]})
            with c.stream("GET", f"/gradio_api/call/similarity/{r.json()['event_id']}") as s:
                for _ in s.iter_lines():
                    if stop.is_set():
                        break

    holders = [threading.Thread(target=hold, args=(i,), daemon=True) for i in range(8)]
    for h in holders:
        h.start()
    time.sleep(3)
    for _ in range(5):
        lat.append(call(http, "predict", ["a fine film"])[0])
        time.sleep(0.5)
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        for _ in range(5):
            lat_busy.append(call(http, "predict", ["a fine film"])[0])
            time.sleep(0.5)
    finally:
        busy.kill()
    stop.set()
    rows.append(("a fresh /predict while 8 maximal /similarity wait (5 calls)",
                 f"median {statistics.median(lat):.2f} s, max {max(lat):.2f} s"))
    rows.append(("the same with a busy loop on another core", f"median {statistics.median(lat_busy):.2f} s, max {max(lat_busy):.2f} s"))
    checks.append(("fresh /predict <= 2 s beside 8 heavy", max(lat + lat_busy) <= 2))
    for h in holders:
        h.join(timeout=120)
    time.sleep(60)
    after = rss_mb(proc.pid)
    rows.append(("RSS a minute after the heavy work", f"{after:.0f} MB ({after - warm:+.0f} MB against the warm baseline)"))
    checks.append(("RSS within 100 MB of warm a minute after", after - warm <= 100))


def page_event(http: httpx.Client, session: str, fn_index: int, data: list, timeout: float = 120) -> dict:
    """One of the page's own events, as the browser sends it (queue/join, then the session's stream): its message."""
    r = http.post("/gradio_api/queue/join", json={"data": data, "fn_index": fn_index, "session_hash": session,
                                                  "event_data": None, "trigger_id": None})
    r.raise_for_status()
    with http.stream("GET", "/gradio_api/queue/data", params={"session_hash": session}, timeout=timeout) as s:
        for line in s.iter_lines():
            if line.startswith("data:"):
                msg = json.loads(line[5:])
                if msg.get("msg") == "process_completed":
                    return msg
    raise RuntimeError("no answer")


def fn_index(config: dict, elem_id: str) -> int:
    """The id of the page event whose outputs include the component with this elem_id."""
    comp = next(c["id"] for c in config["components"] if c.get("props", {}).get("elem_id") == elem_id)
    return next(d["id"] for d in config["dependencies"] if comp in d["outputs"] and d.get("backend_fn"))


def exports(http, proc, a, rows, checks, temp, cache):
    config = http.get("/config").json()
    export = fn_index(config, "export-files")
    session = uuid.uuid4().hex
    leaked, t = 0, time.perf_counter()
    peak_tmp, peak_cache = 0.0, 0.0
    for i in range(a.exports):
        msg = page_event(http, session, export, ["a fine film", None])
        text = json.dumps(msg)
        leaked += temp in text or cache in text
        if i % 250 == 0:
            peak_tmp, peak_cache = max(peak_tmp, folder(temp, "electra-export-")[1]), max(peak_cache, folder(cache)[1])
    took = time.perf_counter() - t
    n_tmp, mb_tmp = folder(temp, "electra-export-")
    _, mb_cache = folder(cache)
    r = http.post("/gradio_api/upload", files={"files": ("rows.tsv", b"sentence\tlabel\ngood\t1\n")})
    rows.append((f"{a.exports:,} exports in one session ({took:.0f} s)",
                 f"export folders left: {n_tmp} ({mb_tmp:.1f} MB; peak {peak_tmp:.1f} MB); Gradio's cache {mb_cache:.1f} MB "
                 f"(peak {peak_cache:.1f} MB); an upload then: HTTP {r.status_code}; answers naming a server temp path: {leaked}"))
    checks.append(("uploads work after the export soak", r.status_code == 200))
    checks.append(("export folders and cache bounded (<= 150 MB each)", max(peak_tmp, mb_tmp) <= 150 and max(peak_cache, mb_cache) <= 150))


def sessions(http, proc, a, rows, checks, url):
    config = http.get("/config").json()
    predict = next(d["id"] for d in config["dependencies"] if d.get("api_name") == "predict")
    base = rss_mb(proc.pid)

    async def run():
        async with httpx.AsyncClient(base_url=url, timeout=120, limits=httpx.Limits(max_connections=a.sessions * 2 + 10)) as c:
            ids = [uuid.uuid4().hex for _ in range(a.sessions)]
            beats = []
            for sid in ids:  # a heartbeat each, as an open page keeps
                beats.append(await c.send(c.build_request("GET", f"/gradio_api/heartbeat/{sid}"), stream=True))
            for sid in ids:
                await c.post("/gradio_api/queue/join", json={"data": ["a fine film"], "fn_index": predict, "session_hash": sid,
                                                             "event_data": None, "trigger_id": None})
                async with c.stream("GET", "/gradio_api/queue/data", params={"session_hash": sid}) as s:
                    async for line in s.aiter_lines():
                        if "process_completed" in line:
                            break
            opened = rss_mb(proc.pid)
            for b in beats:  # the pages close
                await b.aclose()
            return opened

    opened = asyncio.run(run())
    time.sleep(60)
    after = rss_mb(proc.pid)
    rows.append((f"{a.sessions} page sessions opened, then closed", f"RSS {base:.0f} -> {opened:.0f} MB open "
                 f"({opened - base:+.0f}), {after:.0f} MB a minute after they closed ({after - base:+.0f})"))
    checks.append(("RSS within 100 MB of the start a minute after the sessions closed", after - base <= 100))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", default=None)
    p.add_argument("--only", nargs="+", choices=PARTS + ("heavy",), default=list(PARTS))
    p.add_argument("--uploads", type=int, default=100)
    p.add_argument("--exports", type=int, default=5000)
    p.add_argument("--sessions", type=int, default=200)
    p.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    a = p.parse_args()
    a.only = [x for part in a.only for x in (("budget", "abandoned", "fair") if part == "heavy" else (part,))]
    temp = tempfile.mkdtemp(prefix="attack-tmp-")
    cache = os.path.join(temp, "gradio")
    os.environ.update(TMPDIR=temp, GRADIO_TEMP_DIR=cache)  # the server's own temp dirs, measured alone
    proc, url, started = start_app(a.checkpoint, free_port(), "/tmp/attack_server_app.log")
    rows = [("load average (1 min) at start", f"{os.getloadavg()[0]:.2f}"), ("`python app.py` to serving", f"{started:.1f} s")]
    checks = []
    try:
        http = httpx.Client(base_url=url, timeout=120)
        call(http, "explain", ["warm up"])
        base = rss_mb(proc.pid)
        rows.append(("RSS after start and one request", f"{base:.0f} MB"))
        if "basic" in a.only:
            basic(http, proc, a, rows, base)
        if {"budget", "abandoned", "fair"} & set(a.only):
            heavy(http, proc, a, rows, checks, url)
        if "exports" in a.only:
            exports(http, proc, a, rows, checks, temp, cache)
        if "sessions" in a.only:
            sessions(http, proc, a, rows, checks, url)
    finally:
        stop_app(proc)
        shutil.rmtree(temp, ignore_errors=True)
    log = open("/tmp/attack_server_app.log").read()
    rows.append(("tracebacks in the server's log", str(log.count("Traceback"))))
    rows.append(("load average (1 min) at the end", f"{os.getloadavg()[0]:.2f}"))
    print("| what | result |\n| --- | --- |")
    for k, v in rows:
        print(f"| {k} | {v} |")
    for what, ok in checks:
        print(f"{'PASS' if ok else 'MISS'}: {what}")
    if a.check and not all(ok for _, ok in checks):
        sys.exit(1)


if __name__ == "__main__":
    main()
