"""What an attacker tried and the server now withstands: bodies nested too deep, overlong URLs, bad list items and
labels, temporary files and uploads with a lifetime, per-session uploads, abandoned heavy work, session memory."""
import json

import pytest


@pytest.fixture
def guarded():
    """The request guard alone, in front of a stand-in app that echoes the body's length."""
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route
    from starlette.testclient import TestClient

    from electra_demo.app.guard import RequestGuard

    async def echo(request):
        return PlainTextResponse(str(len(await request.body())))

    app = Starlette(routes=[Route("/gradio_api/call/explain", echo, methods=["POST"]),
                            Route("/gradio_api/queue/join", echo, methods=["POST"]), Route("/", echo)])
    return TestClient(RequestGuard(app, endpoints={"explain": ["text"]}), raise_server_exceptions=False)


@pytest.mark.parametrize("path", ["/gradio_api/call/explain", "/gradio_api/call/explain/", "/gradio_api/queue/join"])
def test_json_nested_too_deep_is_400_in_one_line(guarded, path):
    for depth in (200_000, 65):  # past Python's recursion limit (Gradio answered 500), and just past ours
        body = b"[" * depth + b"]" * depth
        r = guarded.post(path, content=body, headers={"content-type": "application/json"})
        assert r.status_code == 400 and r.text == "JSON nested too deeply: the limit is 64 levels", (depth, r.text)
    deep_ok = json.dumps({"data": [[[["x"] * 3] * 3] * 3]}).encode()
    r = guarded.post("/gradio_api/queue/join", content=deep_ok, headers={"content-type": "application/json"})
    assert r.status_code == 200 and r.text == str(len(deep_ok))  # handed on whole
    brackets_in_a_string = json.dumps({"data": ["[" * 5000]}).encode()
    assert guarded.post("/gradio_api/call/explain", content=brackets_in_a_string).status_code == 200


def test_overlong_url_is_414_before_gradio_parses_it(guarded):
    """Past 65,536 characters Gradio's own URL handling (httpx) raised: 500 and a traceback. httpx refuses to send
    such a URL, so the request is handed to the guard as the server would (an ASGI scope)."""
    import asyncio

    from electra_demo.app.guard import RequestGuard

    async def app(scope, receive, send):
        raise AssertionError("the app must not see it")

    async def call(query: bytes):
        sent = []

        async def receive():
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message):
            sent.append(message)

        scope = {"type": "http", "method": "GET", "path": "/", "raw_path": b"/", "query_string": query, "headers": []}
        await RequestGuard(app)(scope, receive, send)
        return sent[0]["status"], sent[1]["body"].decode()

    for n in (66_000, 500_000):
        status, text = asyncio.run(call(b"sentence=" + b"a" * n))
        assert status == 414 and text == f"URL too long: {n + 10:,} characters; the limit is 60,000", text
    assert guarded.get("/?sentence=" + "a" * 40_000).status_code == 200  # a permalink with a long sentence


SET = ["a good film", "a bad film", "lovely", "dull plot", "fine acting", "poor story", "superb", "awful"]


@pytest.mark.parametrize("labels, message", [
    ([9] * 8, "label 1 is '9'"), ([0.5] * 8, "label 1 is '0.5'"), ([-1] + [0] * 7, "label 1 is '-1'"),
    (["x"] * 8, "label 1 is 'x'"), ([True] * 8, "label 1 is 'True'"), ([0] * 7, "got 7 labels"), ("01010101", "got str")])
@pytest.mark.parametrize("view", ["similarity", "mismatch"])
def test_labels_are_checked_against_the_models_labels(tiny_loaded, view, labels, message):
    """Out of range, fractional, negative, unknown names, booleans, the wrong count: one message, never a number."""
    from electra_demo.errors import InputError
    from electra_demo.lab.mismatch import mismatch_view
    from electra_demo.lab.similarity import similarity_view

    fn = similarity_view if view == "similarity" else mismatch_view
    with pytest.raises(InputError, match="expected 8 labels, one per sentence, each 0 .. 1 or a name") as e:
        fn(tiny_loaded, "a good film", SET, labels)
    assert message in str(e.value)
    v = fn(tiny_loaded, "a good film", SET, ["positive", "negative"] * 4)  # names of the model's labels are fine
    if view == "similarity":
        assert v.gold.tolist() == [1, 0] * 4 and 0 <= v.knn_acc[0] <= 1
    else:
        assert v.n == 8 and ((0 <= v.accuracy) & (v.accuracy <= 1)).all()


@pytest.mark.parametrize("item, message", [("ok \ud800 no", "sentences, item 3: the text has invalid Unicode"),
                                           ("", "sentences, item 3: please type a sentence"),
                                           (5, "sentences, item 3: expected text, got int")])
def test_every_list_item_is_checked_like_a_single_text(item, message):
    from electra_demo.app.common import sentences
    from electra_demo.errors import InputError

    with pytest.raises(InputError) as e:
        sentences(SET[:2] + [item] + SET[2:])
    assert str(e.value).startswith(message)
    assert sentences(SET) == SET


def test_a_set_is_bounded_in_tokens_before_it_runs(tiny_loaded, monkeypatch):
    """2,000 sentences at the maximum length cost ~30 s on the shipped model: refused before any forward pass."""
    from electra_demo.errors import InputError
    from electra_demo.lab import dataset
    from electra_demo.lab.similarity import similarity_view

    long = ["good film " * 40 + str(i) for i in range(2000)]  # the tiny model's 64 tokens each
    monkeypatch.setattr(dataset, "pad_batch", lambda *a: pytest.fail("a batch of the set ran"))
    with pytest.raises(InputError, match=r"2,000 sentences of 128,000 tokens in all; the limit is 65,536 tokens"):
        similarity_view(tiny_loaded, "a good film", long)
    assert dataset.MAX_TOKENS == 65_536


def test_progress_can_stop_a_run_between_batches(tiny_loaded):
    """What the server's progress callback raises (stop_if_gone) stops the run after that batch."""
    from electra_demo.lab.dataset import pooled_dataset

    calls = []

    def stop(fraction, text):
        calls.append(fraction)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        pooled_dataset(tiny_loaded.model, tiny_loaded.tokenizer, SET * 40, batch_size=8, progress=stop)
    assert len(calls) == 1


def test_stop_if_gone_outside_an_event_never_stops():
    from electra_demo.app.common import stop_if_gone

    stop_if_gone(0.5, "x")  # no event running in this thread: nothing to cancel


def test_temporary_files_have_a_lifetime_and_the_cache_a_bound(tmp_path, monkeypatch):
    """Files past FILE_TTL go, the cache is cut to half of MAX_TEMP_BYTES oldest first, empty folders and old export
    folders go; a fresh upload stays."""
    import os
    import time

    from electra_demo.app import server
    from electra_demo.app.common import EXPORT_PREFIX, EXPORT_TTL, FILE_TTL, SWEEP_EVERY

    cache, tmp = tmp_path / "gradio", tmp_path / "tmp"
    now = time.time()
    for i in range(10):  # ten 1 kB exported copies, one folder each (Gradio's cache is keyed by content)
        (cache / f"h{i}").mkdir(parents=True)
        (cache / f"h{i}" / "export.json").write_bytes(b"x" * 1000)
    (cache / "fresh").mkdir()
    (cache / "fresh" / "rows.tsv").write_bytes(b"sentence\tlabel\n")
    tmp.mkdir()
    (tmp / f"{EXPORT_PREFIX}old").mkdir()
    (tmp / f"{EXPORT_PREFIX}old" / "a.json").write_bytes(b"{}")
    (tmp / "someone-elses-folder").mkdir()
    monkeypatch.setattr(server, "MAX_TEMP_BYTES", 100_000)
    assert server.sweep_temp_files(now, str(cache), str(tmp)) == 0  # nothing old, under the bound
    monkeypatch.setattr(server, "MAX_TEMP_BYTES", 10_000)  # half of it: 5,000 bytes may stay
    freed = server.sweep_temp_files(now, str(cache), str(tmp))
    assert freed >= 5000 and sum(f.stat().st_size for f in cache.rglob("*") if f.is_file()) <= 5000
    assert len(list(cache.iterdir())) == 11  # emptied folders wait a sweep (the upload route may be filling one)
    server.sweep_temp_files(now + SWEEP_EVERY + 1, str(cache), str(tmp))
    assert (cache / "fresh" / "rows.tsv").exists() and len(list(cache.iterdir())) <= 6  # the emptied folders went
    later = now + max(FILE_TTL, EXPORT_TTL) + 1
    server.sweep_temp_files(later, str(cache), str(tmp))
    assert list(cache.iterdir()) == [] and os.listdir(tmp) == ["someone-elses-folder"]


def test_closed_and_idle_sessions_are_forgotten():
    import datetime

    import gradio as gr
    from gradio.state_holder import StateHolder

    from electra_demo.app.gradio_adapter import forget_sessions

    with gr.Blocks() as demo:
        gr.Textbox()
    holder = StateHolder()
    holder.set_blocks(demo)
    for sid in ("open", "closed", "idle"):
        holder[sid]
    holder.session_data["closed"].is_closed = True
    holder.time_last_used["idle"] -= datetime.timedelta(seconds=3600)
    assert forget_sessions(demo, 1800) == 2 and list(holder.session_data) == ["open"]


@pytest.fixture(scope="module")
def served(tiny_checkpoint, tmp_path_factory):
    """(url, log path) of `python app.py --checkpoint <tiny>` of this module's own (its log is read)."""
    from tests.harness import free_port, start_app, stop_app

    log = tmp_path_factory.mktemp("reliability") / "app.log"
    proc, url, _ = start_app(tiny_checkpoint, free_port(), str(log))
    yield url, log
    stop_app(proc)


def _call(url: str, endpoint: str, data: list) -> str:
    import httpx

    r = httpx.post(f"{url}gradio_api/call/{endpoint}", content=json.dumps({"data": data}),  # \ud800 escaped
                   headers={"content-type": "application/json"}, timeout=60)
    assert r.status_code == 200, r.text
    return httpx.get(f"{url}gradio_api/call/{endpoint}/{r.json()['event_id']}", timeout=120).text


@pytest.mark.slow
def test_same_upload_in_two_sessions_both_run(served):
    """Uploads are stored by content: two sessions sending the same bytes get the same path. A run used to delete
    its upload, so the second session's run failed with `error: null`."""
    import os

    import httpx

    from tests.conftest import make_rows

    url, _ = served
    rows = "sentence\tlabel\n" + "".join(f"{s}\t{y}\n" for s, y in make_rows(24, 3))
    paths = [httpx.post(f"{url}gradio_api/upload", files={"files": ("mine.tsv", rows.encode())}).json()[0]
             for _ in range(2)]
    assert paths[0] == paths[1]
    for path in paths:
        body = _call(url, "dataset", [{"path": path, "meta": {"_type": "gradio.FileData"}}, None, "sentence", "label",
                                      "cls", None])
        assert "event: complete" in body, body[:300]
    assert os.path.exists(paths[0])  # the sweep deletes it later (FILE_TTL), never a run


@pytest.mark.slow
def test_user_input_gets_4xx_or_a_message_never_null_or_a_traceback(served):
    import socket

    import httpx

    url, log = served
    deep = b'{"data": ' + b"[" * 200_000 + b"]" * 200_000 + b"}"
    for path in ("gradio_api/call/explain", "gradio_api/call/explain/", "gradio_api/queue/join"):
        r = httpx.post(f"{url}{path}", content=deep, headers={"content-type": "application/json"})
        assert r.status_code == 400 and r.text == "JSON nested too deeply: the limit is 64 levels", (path, r.text)
    host, port = url.split("//")[1].rstrip("/").split(":")
    for n in (66_000, 500_000):  # httpx refuses to send such a URL: a raw request
        with socket.create_connection((host, int(port)), timeout=30) as s:
            s.sendall(b"GET /?sentence=" + b"a" * n + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            answer = b""
            try:
                while chunk := s.recv(4096):
                    answer += chunk
            except ConnectionResetError:  # the server answered and closed with the rest of the URL unread
                pass
        ours = answer.startswith(b"HTTP/1.1 414 ") and answer.endswith(b"characters; the limit is 60,000")
        parser = answer.startswith(b"HTTP/1.1 400 ") and answer.endswith(b"Invalid HTTP request received.")  # h11's
        assert ours or parser, (n, answer)
        assert ours or n > 66_000
    for endpoint in ("similarity", "mismatch"):
        for labels, message in [([9] * 8, "label 1 is"), ([0.5] * 8, "label 1 is"), (["x"] * 8, "label 1 is"),
                                ([0] * 3, "got 3 labels")]:
            body = _call(url, endpoint, ["a good film", SET, labels])
            assert "event: error" in body and message in body and "null" not in body, body
        body = _call(url, endpoint, ["a good film", SET[:2] + ["a \ud800 b"] + SET[2:], None])
        assert "event: error" in body and "item 3: the text has invalid Unicode" in body, body
    assert "Traceback" not in log.read_text()


@pytest.mark.parametrize("sent, stored", [("rows.tsv", "rows.tsv"), ("rows.tsv. ", "rows.tsv"), ("a/b/page.html", "page.html"),
                                          ("x.html\x00.tsv", "x.html.tsv"), ("page.tsv/evil.html", "evil.html")])
def test_upload_type_is_read_from_the_name_the_server_stores(sent, stored):
    from electra_demo.app.gradio_adapter import stored_name

    assert stored_name(sent) == stored


def test_client_gone_reads_gradio_s_event_and_the_guard_notes_listeners(guarded):
    """The check between batches: Gradio's own `alive` flag (page or result stream closed), and for a REST call
    (its session is its own id) whether anyone opened the result stream within the grace time."""
    import time
    from types import SimpleNamespace

    from gradio.context import LocalContext

    from electra_demo.app import gradio_adapter

    old = time.monotonic() - 10
    rest = SimpleNamespace(_id="rest-1", session_hash="rest-1", alive=True, enqueue_time=old)
    page = SimpleNamespace(_id="page-1", session_hash="browser", alive=True, enqueue_time=old)
    blocks = SimpleNamespace(_queue=SimpleNamespace(active_jobs=[None, [rest, page]]))
    tokens = [LocalContext.blocks.set(blocks), LocalContext.event_id.set("rest-1")]
    try:
        assert gradio_adapter.client_gone(2.0)  # posted 10 s ago, its result never asked for
        assert not gradio_adapter.client_gone(20.0)  # still within the grace time
        guarded.get("/gradio_api/call/explain/rest-1")  # the guard sees the result stream opened
        assert not gradio_adapter.client_gone(2.0)
        rest.alive = False  # Gradio: the result stream closed
        assert gradio_adapter.client_gone(2.0)
        LocalContext.event_id.set("page-1")
        assert not gradio_adapter.client_gone(2.0)  # a page's event: only Gradio's flag counts
        page.alive = False
        assert gradio_adapter.client_gone(2.0)
    finally:
        LocalContext.event_id.reset(tokens[1])
        LocalContext.blocks.reset(tokens[0])
    assert not gradio_adapter.client_gone(2.0)  # outside an event
