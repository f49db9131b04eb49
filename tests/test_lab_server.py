"""The lab tabs on a real server: the explorer page (ui.build_demo) plus lab_tabs, driven with gradio_client."""
import sys

import pytest
from gradio_client import Client, handle_file

from electra_demo.lab_json import padding_json
from electra_demo.launch import free_port, serve, stop_app
from electra_demo.padding_lab import padding_lab
from tests.conftest import make_rows, write_tsv

TEXT = "the movie was really good"
ENDPOINTS = {"/padding_lab", "/pooler_output", "/attribution", "/layer_grid", "/layer_similarity", "/dataset", "/dataset_method"}

# The explorer page with the lab tabs, wired to the page's own sentence box (appended here unless ui.py already has them;
# then the "pick a file" test needs dataset_files there too).
LAUNCHER = """
import sys
import gradio as gr
from electra_demo.checkpoint import load_classifier
from electra_demo.ui import build_demo
from electra_demo.ui_lab import lab_tabs

checkpoint, port, data = sys.argv[1], int(sys.argv[2]), sys.argv[3]
classifier = load_classifier(checkpoint)
demo = build_demo(classifier)
ids = {getattr(b, "elem_id", None): b for b in demo.blocks.values()}
if "run-padding" not in ids:  # ui.py does not wire the lab tabs (yet): append them
    with demo:
        with gr.Tabs():
            lab_tabs(classifier, ids["input-text"], [data])
demo.launch(server_name="127.0.0.1", server_port=port)
"""


@pytest.fixture(scope="module")
def tsv(tmp_path_factory):
    return write_tsv(tmp_path_factory.mktemp("labdata") / "small.tsv", make_rows(60, 3))


@pytest.fixture(scope="module")
def client(tiny_checkpoint, tsv, tmp_path_factory):
    port = free_port()
    log_path = tmp_path_factory.mktemp("labserver") / "app.log"
    proc, url, _ = serve([sys.executable, "-c", LAUNCHER, tiny_checkpoint, str(port), tsv], port, str(log_path))
    try:
        yield Client(url, verbose=False)
    finally:
        stop_app(proc)


def test_endpoints_are_named(client):
    names = set(client.view_api(print_info=False, return_format="dict")["named_endpoints"])
    assert ENDPOINTS | {"/explore", "/predict"} <= names


def test_padding_lab(client, tiny_loaded):
    summary, curves, vectors, preds, batched, raw = client.predict(TEXT, 32, "", "left", api_name="/padding_lab")
    local = padding_json(padding_lab(tiny_loaded, TEXT, 32))
    assert raw["n_pads"] == local["n_pads"] == [0, 1, 2, 4, 8, 16, 32] and "identical" in summary
    for p in tiny_loaded.model.available_poolings():
        assert raw["sides"]["left"][p]["max_distance"] < 1e-5 and not raw["sides"]["left"][p]["flipped"]
    assert raw["sides"]["left"]["naive_mean"]["max_distance"] > 0.1
    assert raw["sides"]["right"]["naive_mean"]["pred"] == local["sides"]["right"]["naive_mean"]["pred"]
    assert curves["type"] == vectors["type"] == "plotly" and len(preds["data"]) == len(raw["names"])
    assert batched["data"][0][0] == "cls"


def test_pooler_output(client):
    code, raw = client.predict("attention", api_name="/pooler_output")
    assert "class ElectraClassifier(pl.LightningModule)" in code and "self.score = nn.Linear(H, 1)" in code
    assert raw["error"].startswith("AttributeError") and "pooler_output" in raw["error"]
    assert "pooler_output" in raw["bert"]["keys"] and "pooler_output" not in raw["electra"]["keys"]


def test_attribution(client):
    tokens, note, bars, raw = client.predict(TEXT, "attention", "weight", 4, "left", api_name="/attribution")
    assert raw["weight_on_padding"] == 0 and raw["is_pad"][:4] == [True] * 4 and abs(sum(raw["weight"]) - 1) < 1e-3
    assert [t["token"].strip() for t in tokens] == raw["tokens"] and bars["type"] == "plotly"
    _, _, _, naive = client.predict(TEXT, "naive_mean", "weight", 4, "right", api_name="/attribution")
    assert naive["weight_on_padding"] > 0


def test_layer_grid(client, tiny_loaded):
    drift, sim, probe, raw = client.predict(TEXT, 1, api_name="/layer_grid")
    L = tiny_loaded.model.config.num_hidden_layers
    assert raw["shape"] == [L + 1, len(tiny_loaded.model.available_poolings())] and "exploratory" in raw["probe_note"]
    assert "layer 1" in sim["plot"] and "EXPLORATORY" in probe["plot"]
    assert "embeddings" in client.predict(TEXT, 0, api_name="/layer_similarity")["plot"]


def test_dataset_upload_pick_and_method(client, tsv):
    out = client.predict(handle_file(tsv), None, "sentence", "label", "cls", api_name="/dataset")
    summary, acc, scatter, conf, wrong, raw = out
    assert raw["n"] == 60 and raw["n_test"] == 15 and "held-out" in summary and scatter["type"] == "plotly"
    cls = raw["methods"]["cls"]
    assert sum(map(sum, cls["confusion"])) == 60 and 0 <= cls["probe_test_acc"] <= 1
    assert len(wrong["data"]) == 60 - sum(cls["confusion"][i][i] for i in range(2))
    _, wrong_mean, raw_mean = client.predict("mean", api_name="/dataset_method")  # same session: no re-run
    assert raw_mean["pooling"] == "mean" and raw_mean["n"] == 60
    api = client.view_api(print_info=False, return_format="dict")["named_endpoints"]["/dataset"]["parameters"]
    if "small.tsv" in str(api[1]):  # the "pick a file" choices: only where the launcher passed dataset_files
        picked = client.predict(None, "small.tsv", "sentence", "label", "mean", api_name="/dataset")[-1]
        assert picked["methods"] == raw["methods"]


def test_bad_inputs_get_clear_messages(client, tmp_path):
    with pytest.raises(Exception, match="empty"):
        client.predict("  ", 8, "", "right", api_name="/padding_lab")
    (tmp_path / "notes.txt").write_text("hello\n")
    with pytest.raises(Exception, match=r"\.tsv.*\.csv"):  # gradio checks file_types itself
        client.predict(handle_file(str(tmp_path / "notes.txt")), None, "sentence", "label", "cls", api_name="/dataset")
    bad = write_tsv(tmp_path / "bad.tsv", [("good", 1), ("bad", 9)] * 5)
    with pytest.raises(Exception, match="label '9' is not in the label set"):
        client.predict(handle_file(bad), None, "sentence", "label", "cls", api_name="/dataset")
    with pytest.raises(Exception, match="upload a labelled"):
        client.predict(None, None, "sentence", "label", "cls", api_name="/dataset")
    assert client.predict("mean", api_name="/pooler_output")[0]  # still serving
