"""Benchmark the explorer server: python scripts/bench_app.py [--checkpoint PATH] [--repeats 30]

Starts `python app.py` in a subprocess and reports:
  * startup: seconds from starting `python app.py` to the first HTTP 200 (target < 10 s);
  * round trip: median of /explain for a 32-token sentence vs /echo of the same text, through
    gradio_client, on the same server, calls interleaved (ratio, target <= 1.5). gradio_client
    polls for results every 50 ms (utils.stream_sse_v1plus), so its round trips come in 50 ms
    steps; the same pair is also timed over the plain REST API (POST + result stream, httpx),
    which shows the server's own cost;
  * payload: the bytes each endpoint sends back (the REST API's result line) at the maximum input
    length, for /explain, the page's own handlers, and the lab tabs at their largest settings
    (padding lab at its most pads, a 2,000-row dataset upload) (target <= 1 MB).
Prints a table, then one JSON line.
"""
import argparse
import json
import os
import statistics
import sys
import tempfile
import time

import httpx
from gradio_client import Client

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from electra_demo.lab.attribution import MAX_PAD  # noqa: E402
from electra_demo.lab.dataset import MAX_ROWS  # noqa: E402
from electra_demo.lab.padding import MAX_PADS  # noqa: E402
from tests.harness import free_port, start_app, stop_app  # noqa: E402

WORDS = ("the film was a really good story with fine acting and a lovely plot but the ending felt dull and "
         "the music was boring though the cast did a superb job overall").split()
MB = 1_000_000


def sentence_with_tokens(client: Client, n: int) -> tuple[str, int]:
    """A sentence of n tokens ([CLS] and [SEP] included): the longest prefix of WORDS (cycled) that fits,
    topped up with "." (one token each); the count comes from the server's own tokenizer."""
    count = lambda text: client.predict(text, api_name="/explain")["n_tokens"]  # noqa: E731
    text = WORDS[0]
    for k in range(2, 4 * n):
        longer = " ".join(WORDS[i % len(WORDS)] for i in range(k))
        if count(longer) > n:
            break
        text = longer
    got = count(text)
    while got < n and count(text + " .") > got:
        text, got = text + " .", count(text + " .")
    return text, got


def rest_call(http: httpx.Client, url: str, api_name: str, data: list) -> str:
    """One call over the REST API: POST the input, read the result stream; returns the stream's text."""
    event = http.post(f"{url}gradio_api/call/{api_name}", json={"data": data}, timeout=60).json()["event_id"]
    body = http.get(f"{url}gradio_api/call/{api_name}/{event}", timeout=120).text
    if "event: complete" not in body:
        raise RuntimeError(f"/{api_name} failed: {body[:300]}")
    return body


def interleaved_medians(calls: dict, repeats: int) -> dict:
    """{name: median ms}, calling each in turn `repeats` times so load changes hit all alike."""
    times = {name: [] for name in calls}
    for _ in range(repeats):
        for name, call in calls.items():
            t = time.perf_counter()
            call()
            times[name].append(time.perf_counter() - t)
    return {name: 1000 * statistics.median(ts) for name, ts in times.items()}


def payload_bytes(http: httpx.Client, url: str, api_name: str, data: list) -> int:
    """Bytes of the result line the REST API streams back for one call."""
    lines = [ln for ln in rest_call(http, url, api_name, data).splitlines() if ln.startswith("data:")]
    return max(len(ln.encode()) - len("data: ") for ln in lines)


def uploaded_dataset(http: httpx.Client, url: str, rows: int) -> dict:
    """A labelled TSV of `rows` sentences built from WORDS, uploaded; returns the FileData the REST API takes."""
    lines = ["sentence\tlabel"] + [" ".join(WORDS[(i + j) % len(WORDS)] for j in range(12)) + f"\t{i % 2}" for i in range(rows)]
    files = {"files": ("bench.tsv", ("\n".join(lines) + "\n").encode(), "text/tab-separated-values")}
    path = http.post(f"{url}gradio_api/upload", files=files, timeout=60).json()[0]
    return {"path": path, "meta": {"_type": "gradio.FileData"}}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", default=None, help="checkpoint for app.py (default: the shipped model)")
    p.add_argument("--repeats", type=int, default=30, help="timed calls per endpoint (median reported)")
    p.add_argument("--port", type=int, default=None, help="port for the server (default: a free one)")
    args = p.parse_args(argv)

    log = os.path.join(tempfile.mkdtemp(prefix="bench_app_"), "app.log")
    proc, url, startup = start_app(args.checkpoint, args.port or free_port(), log, timeout=180)
    try:
        client, http = Client(url, verbose=False), httpx.Client()
        text, n = sentence_with_tokens(client, 32)
        calls = {
            "explain": lambda: client.predict(text, api_name="/explain"),
            "echo": lambda: client.predict(text, api_name="/echo"),
            "rest_explain": lambda: rest_call(http, url, "explain", [text]),
            "rest_echo": lambda: rest_call(http, url, "echo", [text]),
        }
        interleaved_medians(calls, 3)  # warm-up
        ms = interleaved_medians(calls, args.repeats)
        first = client.predict("x", api_name="/explain")
        max_len, L = first["max_length"], first["hidden_states_shape"][0] - 1
        long_text = " ".join(WORDS[i % len(WORDS)] for i in range(2 * max_len))  # truncated to max_length tokens
        long_info = client.predict(long_text, api_name="/explain")
        payloads = {
            "/explain": payload_bytes(http, url, "explain", [long_text]),
            "/explore": payload_bytes(http, url, "explore", [long_text, L]),
            "/pooling": payload_bytes(http, url, "pooling", [long_text]),
            "/shapes": payload_bytes(http, url, "shapes", [long_text]),
            "/padding_lab": payload_bytes(http, url, "padding_lab", [long_text, MAX_PADS, "", "right"]),
            "/attribution": payload_bytes(http, url, "attribution", [long_text, "attention", "weight", MAX_PAD, "right"]),
            "/layer_grid": payload_bytes(http, url, "layer_grid", [long_text, L]),
            "/dataset": payload_bytes(http, url, "dataset", [uploaded_dataset(http, url, MAX_ROWS), None, "sentence", "label", "cls"]),
        }
    finally:
        stop_app(proc)

    ratio, rest_ratio = ms["explain"] / ms["echo"], ms["rest_explain"] / ms["rest_echo"]
    largest = max(payloads.values())
    rows = [
        ("startup: python app.py -> serving", f"{startup:.2f} s", "< 10 s", startup < 10),
        (f"/explain median, {n}-token sentence (client)", f"{ms['explain']:.1f} ms", "", None),
        ("/echo median, same text (client)", f"{ms['echo']:.1f} ms", "", None),
        ("ratio /explain : /echo (gradio_client)", f"{ratio:.2f}", "<= 1.5", ratio <= 1.5),
        ("/explain median (REST, httpx)", f"{ms['rest_explain']:.1f} ms", "", None),
        ("/echo median (REST, httpx)", f"{ms['rest_echo']:.1f} ms", "", None),
        ("ratio /explain : /echo (REST)", f"{rest_ratio:.2f}", "", None),
    ] + [(f"payload {k}, " + (f"{MAX_ROWS} rows" if k == "/dataset" else f"{len(long_info['tokens'])} tokens (max)"),
          f"{v / 1000:.1f} kB", "<= 1 MB", v <= MB) for k, v in payloads.items()]
    print(f"checkpoint: {args.checkpoint or 'shipped default'}; {args.repeats} calls per endpoint; python {sys.version.split()[0]}")
    print(f"{'measure':<46} {'value':>12} {'target':>8}  ok")
    for name, value, target, ok in rows:
        print(f"{name:<46} {value:>12} {target:>8}  {'' if ok is None else ('yes' if ok else 'NO')}")
    summary = {"checkpoint": args.checkpoint or "default", "startup_s": round(startup, 2), "tokens": n,
               "explain_median_ms": round(ms["explain"], 1), "echo_median_ms": round(ms["echo"], 1), "ratio": round(ratio, 2),
               "rest_explain_median_ms": round(ms["rest_explain"], 1), "rest_echo_median_ms": round(ms["rest_echo"], 1),
               "rest_ratio": round(rest_ratio, 2),
               "max_input_tokens": len(long_info["tokens"]), "payload_bytes": payloads, "largest_payload_bytes": largest,
               "targets_met": {"startup": startup < 10, "ratio": ratio <= 1.5, "payload": largest <= MB}}
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()
