"""The server side of issue 14's figures: python scripts/attack_server.py [--checkpoint PATH] [--uploads 100]

Starts `python app.py` (the shipped model by default) and, over plain HTTP:
  * sends a 400 MiB JSON body to /gradio_api/call/explain (streamed) and times the 413 refusal, RSS before/after;
  * uploads --uploads files of 1.9 MB (.tsv, the limit is 2 MB) and one .exe, with RSS after (peak and steady);
  * calls an unknown endpoint (404) and sends a lone surrogate (a sentence, not an error: null);
  * takes the largest response of /explain at the maximum input.
Prints one markdown table. Load average is printed: a busy machine makes every time longer.
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import httpx  # noqa: E402

from tests.harness import free_port, start_app, stop_app  # noqa: E402


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS")) / 1024


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", default=None)
    p.add_argument("--uploads", type=int, default=100)
    a = p.parse_args()
    proc, url, started = start_app(a.checkpoint, free_port(), "/tmp/attack_server_app.log")
    rows = [("load average (1 min) at start", f"{os.getloadavg()[0]:.2f}"), ("`python app.py` to serving", f"{started:.1f} s")]
    try:
        http = httpx.Client(base_url=url, timeout=120)
        http.post("/gradio_api/call/explain", json={"data": ["warm up"]})
        base = rss_mb(proc.pid)
        rows.append(("RSS after start and one request", f"{base:.0f} MB"))

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
        r = http.post("/gradio_api/call/explain", content=b'{"data": ["a \\ud800 b"]}', headers={"content-type": "application/json"})
        event = r.json().get("event_id") if r.status_code == 200 else None
        answer = http.get(f"/gradio_api/call/explain/{event}").text if event else r.text
        rows.append(("a lone surrogate", " ".join(answer.split())[:140]))
        r = http.post("/gradio_api/call/explain", json={"data": ["good movie " * 200]})
        answer = http.get(f"/gradio_api/call/explain/{r.json()['event_id']}")
        rows.append(("/explain at the maximum input (128 tokens)", f"{len(answer.content):,} bytes"))
    finally:
        stop_app(proc)
    print("| what | result |\n| --- | --- |")
    for k, v in rows:
        print(f"| {k} | {v} |")


if __name__ == "__main__":
    main()
