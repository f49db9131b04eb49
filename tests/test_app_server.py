"""The real server: `python app.py --checkpoint <tiny> --port <free>` in a subprocess, driven with gradio_client."""
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from gradio_client import Client

from electra_demo.lab.explain import explain
from electra_demo.views.explain import to_json
from tests.harness import ROOT, app_env

pytestmark = pytest.mark.slow  # a real server process

SENTENCES = ["a really good film", "the plot was dull and bad", "lovely acting [SEP] poor story",
             "fine", "the movie is boring", "superb superb superb", "not great, not terrible", "a story"]


@pytest.fixture(scope="module")
def server(app_url):
    return app_url


@pytest.fixture(scope="module")
def client(server):
    return Client(server, verbose=False)


PUBLIC = {"/predict", "/explain", "/shapes", "/pooling", "/compare", "/code", "/padding_lab", "/pooler_output",
          "/attribution", "/layer_grid", "/dataset", "/similarity", "/mismatch", "/attention", "/encoder_trace"}


def test_endpoints_are_named(client):
    api = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert set(api) == PUBLIC  # the page's own events are private; no benchmark echo
    for name, info in api.items():
        for p in info["parameters"]:
            assert p["parameter_name"] and not p["parameter_name"].startswith("param_"), (name, p)
        for r in info["returns"]:
            assert not r["label"].startswith("value_"), (name, r)  # no value_11 names


def test_prediction_matches_in_process(client, tiny_loaded):
    probs = client.predict("a really good film", api_name="/predict")
    local = explain(tiny_loaded, "a really good film")
    assert set(probs) == set(tiny_loaded.labels)
    for name, p in zip(local.labels, local.probs):
        assert probs[name] == pytest.approx(float(p), abs=1e-5)


def test_explain_json(client, tiny_loaded):
    j = client.predict("lovely acting [SEP] poor story", api_name="/explain")
    local = to_json(explain(tiny_loaded, "lovely acting [SEP] poor story"))
    assert j["tokens"] == local["tokens"] and j["tokens"].count("[SEP]") == 1
    assert j["label"] == local["label"] and j["probs"] == local["probs"]
    rows = {r["name"]: r for r in j["shapes"]}
    assert rows["pooler_output"]["shape"] == "absent" and "AttributeError" in rows["pooler_output"]["note"]
    assert set(j["poolings"]) == set(tiny_loaded.model.available_poolings()) | {"naive_cls", "naive_mean", "naive_max"}
    for p in tiny_loaded.model.poolings:
        assert j["poolings"][p]["head"] == local["poolings"][p]["head"]
    assert j["poolings"]["naive_mean"]["head"] is None and j["poolings"]["naive_mean"]["head_note"]


def test_shapes_and_compare(client):
    rows = client.predict("a really good film", api_name="/shapes")
    named = {r["name"]: r["named"] for r in rows}
    assert named["input_ids"].startswith("(B=1, T=") and named["logits"] == "(B=1, C=2)"
    j = client.predict("not bad at all", "bad", api_name="/compare")
    assert j["a"]["tokens"][0] == "[CLS]" and set(j["poolings"]) >= {"cls", "mean", "naive_mean"}
    assert all(-1.0001 <= p["cosine"] <= 1.0001 for p in j["poolings"].values())
    assert "mask.argmax(1)" in client.predict("cls", api_name="/code")  # [CLS] under any padding


@pytest.mark.parametrize("text, message", [("", "empty"), ("   \n ", "empty"), ("x" * 30_000, "too long"),
                                           ("x" * 1_000_000, "413 Request Entity Too Large")])
def test_bad_inputs_get_a_clear_message_and_server_keeps_serving(client, text, message):
    t = time.perf_counter()
    with pytest.raises(Exception, match=message):
        client.predict(text, api_name="/explain")
    assert time.perf_counter() - t < 5  # a megabyte is rejected before tokenizing
    assert "mask.argmax(1)" in client.predict("cls", api_name="/code")  # [CLS] under any padding
    assert client.predict("good", api_name="/predict")


def test_concurrent_requests_equal_sequential(server):
    clients = [Client(server, verbose=False) for _ in range(4)]
    seq = {s: clients[0].predict(s, api_name="/explain") for s in SENTENCES}
    with ThreadPoolExecutor(8) as pool:
        conc = list(pool.map(lambda i: clients[i % 4].predict(SENTENCES[i % 8], api_name="/explain"), range(16)))
    for i, got in enumerate(conc):
        want = seq[SENTENCES[i % 8]]
        assert got["tokens"] == want["tokens"] and got["label"] == want["label"]
        assert got["probs"] == pytest.approx(want["probs"], abs=1e-3)
        assert got["poolings"]["mean"]["vector"] == pytest.approx(want["poolings"]["mean"]["vector"], rel=1e-2, abs=1e-3)


def test_bad_checkpoint_exits_2_with_one_line(tmp_path):
    r = subprocess.run([sys.executable, "app.py", "--checkpoint", str(tmp_path / "missing")], cwd=ROOT,
                       env=app_env(), capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    assert r.stderr.strip().startswith("error:") and len(r.stderr.strip().splitlines()) == 1 and "not found" in r.stderr


def test_host_port_defaults_and_env(monkeypatch):
    import app

    monkeypatch.delenv("GRADIO_SERVER_NAME", raising=False)
    monkeypatch.delenv("GRADIO_SERVER_PORT", raising=False)
    a = app.parse_args([])
    assert (a.host, a.port, a.share, a.checkpoint) == ("127.0.0.1", 7860, False, None)
    assert app.parse_args(["--checkpoint", "a", "--checkpoint", "b"]).checkpoint == ["a", "b"]
    monkeypatch.setenv("GRADIO_SERVER_NAME", "0.0.0.0")
    monkeypatch.setenv("GRADIO_SERVER_PORT", "7999")
    a = app.parse_args([])
    assert (a.host, a.port) == ("0.0.0.0", 7999)
    assert app.parse_args(["--host", "::1", "--port", "1234", "--share"]).share


def _call(base, endpoint, data, timeout=30):
    """A REST call without gradio_client or a browser session: (status of the POST, the event stream's last line)."""
    import json

    import httpx

    r = httpx.post(f"{base}gradio_api/call/{endpoint}", content=json.dumps({"data": data}),  # \ud800 stays escaped
                   headers={"content-type": "application/json"}, timeout=timeout)
    if r.status_code != 200:
        return r.status_code, r.text
    return 200, httpx.get(f"{base}gradio_api/call/{endpoint}/{r.json()['event_id']}", timeout=timeout).text.strip()


@pytest.mark.parametrize("endpoint, rest", [("explain", []), ("predict", []), ("compare", ["bad"]),
                                            ("padding_lab", [8, "", "right"]), ("layer_grid", []),
                                            ("attribution", ["attention", "weight", 4, "right"])])
def test_every_text_endpoint_refuses_non_text_and_lone_surrogates(server, endpoint, rest):
    for bad, message in [(5, "expected text, got int"), ([1, 2], "expected text, got list"),
                         ("ok \ud800 no", "invalid Unicode at character 4")]:
        status, body = _call(server, endpoint, [bad, *rest])
        assert status == 200 and "event: error" in body and message in body, (bad, body)
    status, body = _call(server, endpoint, ["a good film", *rest])
    assert "event: complete" in body


def test_request_guard(server):
    import httpx

    r = httpx.post(f"{server}gradio_api/call/explain", content=b'{"data": ["' + b"x" * 3_000_000 + b'"]}',
                   headers={"content-type": "application/json"})
    assert r.status_code == 413  # refused before parsing
    assert httpx.post(f"{server}gradio_api/call/no_such_endpoint", json={"data": ["x"]}).status_code == 404
    r = httpx.post(f"{server}gradio_api/upload", files={"files": ("page.html", b"<img src=x>")})
    assert r.status_code == 415 and ".tsv" in r.text
    r = httpx.post(f"{server}gradio_api/upload", files={"files": ("rows.tsv", b"sentence\tlabel\ngood\t1\n")})
    assert r.status_code == 200 and r.json()[0].endswith("rows.tsv")
    assert set(Client(server, verbose=False).predict("good", api_name="/predict")) == {"negative", "positive"}


def test_errors_name_no_server_path(server, tmp_path):
    from gradio_client import handle_file

    bad = tmp_path / "my reviews.tsv"
    bad.write_text("sentence\tlabel\ngood\t1\nbad\t9\n")
    with pytest.raises(Exception) as e:
        Client(server, verbose=False).predict(handle_file(str(bad)), None, "sentence", "label", "cls", api_name="/dataset")
    assert "my reviews.tsv" in str(e.value) and "/tmp" not in str(e.value) and "gradio" not in str(e.value)


def test_analytics_off_and_page_config(server):
    import httpx

    config = httpx.get(f"{server}config").json()
    assert config.get("analytics_enabled") is False
    assert config.get("max_file_size") == 2_000_000


def test_responses_stay_under_a_megabyte(server, tmp_path):
    """16 rows of 120,000-character sentences (the file is under the 2 MB upload limit): every answer stays <= 1 MB."""
    import httpx

    long = tmp_path / "long.tsv"
    long.write_text("sentence\tlabel\n" + "".join(f"{'bad film ' * 13_000}\t{i % 2}\n" for i in range(16)))
    up = httpx.post(f"{server}gradio_api/upload", files={"files": ("long.tsv", long.read_bytes())}).json()[0]
    status, body = _call(server, "dataset", [{"path": up, "meta": {"_type": "gradio.FileData"}}, None, "sentence",
                                            "label", "cls", None], timeout=120)
    assert "event: complete" in body and len(body.encode()) <= 1_000_000, len(body.encode())
    status, body = _call(server, "explain", ["good " * 3_900])
    assert "event: complete" in body and len(body.encode()) <= 1_000_000


def test_model_cache_is_bounded_and_the_served_model_pinned(tiny_loaded, tiny_checkpoint, tmp_path):
    import shutil

    from electra_demo.app.models import Models, find_checkpoints
    from electra_demo.errors import InputError

    for name in ("a", "b"):
        shutil.copytree(tiny_checkpoint, tmp_path / name)
    (tmp_path / "not-a-checkpoint").mkdir()
    offered = find_checkpoints(str(tmp_path))
    assert list(offered) == ["a", "b"]
    models = Models(tiny_loaded, offered, capacity=1)
    assert models.names == ["tiny", "a", "b"] and models.get("tiny") is tiny_loaded and models.get(None) is tiny_loaded
    a = models.get("a")
    assert models.get("a") is a and list(models.loaded) == [str(tmp_path / "a")]  # keyed by the folder's real path
    models.get("b")
    assert list(models.loaded) == [str(tmp_path / "b")] and models.get("tiny") is tiny_loaded  # "a" dropped
    with pytest.raises(InputError, match="unknown model 'c'; offered: tiny, a, b"):
        models.get("c")
    assert [label for label, _ in models.choices][1] == "a (electra, 2 x 32, 2 labels)"


def test_menu_names_are_unique_and_one_folder_loads_once(tmp_path, tiny_checkpoint, tiny_loaded):
    import shutil

    from electra_demo.app.models import Models

    for run in ("run-a", "run-b"):
        shutil.copytree(tiny_checkpoint, tmp_path / run / "best")
    models = Models(tiny_loaded, [str(tmp_path / "run-a" / "best"), str(tmp_path / "run-b" / "best"),
                                  str(tmp_path / "run-a" / "best") + "/", tiny_checkpoint])
    assert models.names == ["tiny", "run-a/best", "run-b/best"]  # three .../best folders no longer collapse into one
    assert models.get("run-a/best") is not models.get("run-b/best")


def test_request_guard_bounds_the_upload_folder_and_streamed_bodies(tmp_path, monkeypatch):
    """The guard alone, in front of a stand-in app: a full upload folder answers 503; a chunked body over the limit
    (no Content-Length) never reaches the app whole."""
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route
    from starlette.testclient import TestClient

    from electra_demo.app import guard

    async def echo(request):
        return PlainTextResponse(str(len(await request.body())))

    app = Starlette(routes=[Route("/gradio_api/upload", echo, methods=["POST"]),
                            Route("/gradio_api/call/explain", echo, methods=["POST"])])
    client = TestClient(guard.RequestGuard(app, endpoints={"explain": ["text"]}), raise_server_exceptions=False)
    (tmp_path / "old.tsv").write_bytes(b"x" * 5000)
    monkeypatch.setattr(guard, "UPLOAD_DIR", str(tmp_path))
    monkeypatch.setattr(guard, "MAX_TEMP_BYTES", 1000)
    r = client.post("/gradio_api/upload", files={"files": ("rows.tsv", b"sentence\tlabel\n")})
    assert r.status_code == 503 and "upload space is full" in r.text
    monkeypatch.setattr(guard, "MAX_TEMP_BYTES", 10_000)
    assert client.post("/gradio_api/upload", files={"files": ("rows.tsv", b"a\tb\n")}).status_code == 200

    def chunks():
        for _ in range(30):
            yield b"x" * 50_000  # 1.5 MB in all, sent without a Content-Length

    r = client.post("/gradio_api/call/explain", content=chunks())
    assert r.status_code == 413 and "too large" in r.text  # cut off at the limit, never read whole
    assert client.post("/gradio_api/call/explain", content=b'{"data": ["x"]}').text == "15"  # handed on whole
    assert client.post("/gradio_api/call/explain", content=b"not json").text == "8"  # Gradio answers that itself


def test_rest_calls_with_the_wrong_number_of_inputs_are_told_which(server):
    """Too few or too many values in `data`: 422 naming the inputs (Gradio said `error: null`, printed object
    addresses, or silently dropped the extra value), on the page's address and on /api alike."""
    import httpx

    for base in (server, f"{server}api/"):
        for data in ([], ["only one"], ["a", "b", "c"]):
            r = httpx.post(f"{base}gradio_api/call/compare", json={"data": data})
            assert r.status_code == 422 and r.text == (f"/compare takes 2 inputs (text, other); got {len(data)}. "
                                                       'Send {"data": [text, other]}'), r.text
        r = httpx.post(f"{base}gradio_api/call/compare", json={"text": "a"})
        assert r.status_code == 422 and "send a JSON object" in r.text
    r = httpx.post(f"{server}gradio_api/call/dataset", json={"data": []})
    assert r.status_code == 422 and "/dataset takes 6 inputs" in r.text, r.text
    r = httpx.post(f"{server}gradio_api/call/pooler_output", json={"data": []})  # REST fills no defaults
    assert r.status_code == 422 and r.text.startswith("/pooler_output takes 1 input (pooling); got 0"), r.text
    assert _call(server, "pooler_output", ["mean"])[1].startswith("event: complete")


def test_busy_port_is_one_line(tmp_path):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        r = subprocess.run([sys.executable, "app.py", "--port", str(port)], cwd=ROOT, env=app_env(), capture_output=True,
                           text=True, timeout=120)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines() == [r.stderr.strip()] and f"port {port} on 127.0.0.1 is already in use" in r.stderr


def test_light_api_serves_the_json_endpoints_without_page_sessions(server, client, tiny_loaded):
    """The text -> JSON endpoints also live in a small Blocks at /api; a plain REST call on the page's address is
    answered there (same numbers), gradio_client on the page keeps working, /dataset stays on the page only."""
    import httpx

    light = Client(f"{server}api/", verbose=False)
    assert set(light.view_api(print_info=False, return_format="dict")["named_endpoints"]) == PUBLIC - {"/dataset"}
    want = to_json(explain(tiny_loaded, "a really good film"))
    assert light.predict("a really good film", api_name="/explain") == want
    assert client.predict("a really good film", api_name="/explain") == want  # the page's own endpoint
    for base in (server, f"{server}api/"):
        status, body = _call(base, "explain", ["a really good film"])
        assert status == 200 and "event: complete" in body, body
    r = httpx.post(f"{server}api/gradio_api/call/dataset", json={"data": [None, None, "sentence", "label", "cls", None]})
    assert r.status_code == 404 and "no endpoint named /dataset" in r.text


def test_rest_calls_keep_no_page_state_and_few_api_sessions(tiny_loaded):
    """Every sessionless REST call is a new Gradio session that keeps its last inputs and outputs: on the page that
    meant a state over all ~200 blocks per call; now the page keeps none and the API at most QUEUE_SIZE."""
    import httpx

    from electra_demo.app.common import QUEUE_SIZE
    from electra_demo.app.page import build_demo
    from electra_demo.app.server import launch_kwargs, light_api
    from tests.harness import free_port

    demo = build_demo(tiny_loaded)
    api = light_api(demo.json_api)
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, **launch_kwargs(demo, api))
    try:
        base = f"http://127.0.0.1:{port}/"
        for i in range(QUEUE_SIZE + 8):
            status, body = _call(base, "explain" if i % 2 else "code", [f"film {i}" if i % 2 else "mean"])
            assert "event: complete" in body, body
        assert len(demo.state_holder.session_data) == 0
        assert 0 < len(api.state_holder.session_data) <= QUEUE_SIZE
        assert httpx.post(f"{base}gradio_api/call/nope", json={"data": ["x"]}).status_code == 404
    finally:
        demo.close()


def test_model_slots_are_shared_by_the_page_and_the_api(tiny_loaded):
    """One limit on model work for the whole server: every MODEL event of both Blocks holds one of CONCURRENCY slots."""
    import threading

    from electra_demo.app import common, server
    from electra_demo.app.page import build_demo

    demo = build_demo(tiny_loaded)
    api = server.light_api(demo.json_api)
    server.share_model_slots(demo, api)
    model_fns = [f for b in (demo, api) for f in b.fns.values() if f.concurrency_id == "model"]
    assert len(model_fns) > 20 and all(f.fn._holds_slot for f in model_fns)
    running, peak, lock = [0], [0], threading.Lock()

    def work():
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.05)
        with lock:
            running[0] -= 1

    held = server._holding_slot(work)
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda _: held(), range(16)))
    assert peak[0] == common.CONCURRENCY


def test_gradio_monitoring_summary_is_not_recomputed_per_event(monkeypatch):
    """The app sets Gradio's analytics knobs (unless the environment already does) before any Blocks is made."""
    import gradio as gr

    from electra_demo.app.main import gradio_defaults

    monkeypatch.setenv("GRADIO_ANALYTICS_CACHE_FREQUENCY", "1")  # recorded, so the teardown restores it
    monkeypatch.delenv("GRADIO_ANALYTICS_CACHE_FREQUENCY")
    monkeypatch.setenv("GRADIO_ANALYTICS_MAX_EVENTS", "50")  # the user's own value wins
    gradio_defaults()
    with gr.Blocks() as demo:
        gr.Markdown("x")
    assert demo._queue.ANAYLTICS_CACHE_FREQUENCY == 1000 and demo._queue.ANALYTICS_MAX_EVENTS == 50


def test_a_port_left_in_time_wait_is_free_and_a_listening_one_is_not():
    """After a server with clients stops, its port keeps connections in TIME_WAIT for ~60 s: app.py must still start
    there at once (SO_REUSEADDR, as uvicorn binds), and still refuse a port where something listens."""
    import socket

    from electra_demo.app.main import port_is_free

    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    assert not port_is_free("127.0.0.1", port)
    client = socket.create_connection(("127.0.0.1", port))
    conn, _ = server.accept()
    conn.close()  # the server side closes first: its end of the connection goes to TIME_WAIT
    assert client.recv(1) == b""
    client.close()
    server.close()
    time.sleep(0.2)  # the last ACK: the server's socket reaches TIME_WAIT
    plain = socket.socket()  # what the old check did: a bind without SO_REUSEADDR fails here
    with pytest.raises(OSError), plain:
        plain.bind(("127.0.0.1", port))
    assert port_is_free("127.0.0.1", port)
