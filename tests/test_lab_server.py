"""The lab tabs on the real explorer server (`python app.py`), driven with gradio_client."""
import pytest
from gradio_client import Client, handle_file

from electra_demo.lab.padding import padding_lab
from electra_demo.views.padding import padding_json
from tests.conftest import make_rows, write_tsv

pytestmark = pytest.mark.slow  # a real server process

TEXT = "the movie was really good"
ENDPOINTS = {"/padding_lab", "/pooler_output", "/attribution", "/layer_grid", "/layer_similarity", "/dataset"}


@pytest.fixture(scope="module")
def tsv(tmp_path_factory):
    return write_tsv(tmp_path_factory.mktemp("labdata") / "small.tsv", make_rows(60, 3))


@pytest.fixture(scope="module")
def client(app_url):
    return Client(app_url, verbose=False)


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
    assert "class LitElectraClassifier(pl.LightningModule)" in code and "self.score = nn.Linear(H, 1)" in code
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
    picked = client.predict(None, "reviews.tsv", "sentence", "label", "mean", api_name="/dataset")[-1]  # the bundled file
    assert picked["name"] == "reviews.tsv" and picked["pooling"] == "mean" and picked["n"] == 40


def test_bad_inputs_get_clear_messages(client, tmp_path):
    with pytest.raises(Exception, match="empty"):
        client.predict("  ", 8, "", "right", api_name="/padding_lab")
    (tmp_path / "notes.txt").write_text("hello\n")
    with pytest.raises(Exception, match=r"\.tsv.*\.csv"):  # gradio checks file_types itself
        client.predict(handle_file(str(tmp_path / "notes.txt")), None, "sentence", "label", "cls", api_name="/dataset")
    bad = write_tsv(tmp_path / "bad.tsv", [("good", 1), ("bad", 9)] * 5)
    with pytest.raises(Exception, match="label '9' is not in the label set"):
        client.predict(handle_file(bad), None, "sentence", "label", "cls", api_name="/dataset")
    with pytest.raises(Exception, match="no file given; upload a labelled"):
        client.predict(None, None, "sentence", "label", "cls", api_name="/dataset")
    assert client.predict("mean", api_name="/pooler_output")[0]  # still serving
