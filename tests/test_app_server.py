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


def test_endpoints_are_named(client):
    names = set(client.view_api(print_info=False, return_format="dict")["named_endpoints"])
    assert {"/explore", "/code", "/predict", "/explain", "/shapes", "/pooling"} <= names
    assert not names & {"/echo", "/layer", "/dataset_method"}  # no benchmark echo, nothing that needs a browser session


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


def test_page_run(client):
    out = client.predict("a really good film", 0, api_name="/explore")
    label, note, shapes = out[0], out[1], out[2]
    assert label["label"] in ("negative", "positive") and "tokens" in note
    assert "pooler_output" in [row[0] for row in shapes["data"]]
    assert "h[:, 0]" in client.predict("cls", api_name="/code")


@pytest.mark.parametrize("text, message", [("", "empty"), ("   \n ", "empty"), ("x" * 1_000_000, "too long")])
def test_bad_inputs_get_a_clear_message_and_server_keeps_serving(client, text, message):
    t = time.perf_counter()
    with pytest.raises(Exception, match=message):
        client.predict(text, api_name="/explain")
    assert time.perf_counter() - t < 5  # a megabyte is rejected before tokenizing
    assert "h[:, 0]" in client.predict("cls", api_name="/code")
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
    monkeypatch.setenv("GRADIO_SERVER_NAME", "0.0.0.0")
    monkeypatch.setenv("GRADIO_SERVER_PORT", "7999")
    a = app.parse_args([])
    assert (a.host, a.port) == ("0.0.0.0", 7999)
    assert app.parse_args(["--host", "::1", "--port", "1234", "--share"]).share
