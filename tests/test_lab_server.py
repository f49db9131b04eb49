"""The lab tabs on the real explorer server (`python app.py`), driven with gradio_client."""
import pytest
from gradio_client import Client, handle_file

from electra_demo.lab.padding import padding_lab
from electra_demo.views.padding import padding_json
from tests.conftest import make_rows, write_tsv

pytestmark = pytest.mark.slow  # a real server process

TEXT = "the movie was really good"
ENDPOINTS = {"/padding_lab", "/pooler_output", "/attribution", "/layer_grid", "/dataset"}


@pytest.fixture(scope="module")
def tsv(tmp_path_factory):
    return write_tsv(tmp_path_factory.mktemp("labdata") / "small.tsv", make_rows(60, 3))


@pytest.fixture(scope="module")
def client(app_url):
    return Client(app_url, verbose=False)


def test_endpoints_are_named(client):
    names = set(client.view_api(print_info=False, return_format="dict")["named_endpoints"])
    assert ENDPOINTS | {"/predict"} <= names and "/explore" not in names  # the page's own run is private


def test_padding_lab(client, tiny_loaded):
    raw = client.predict(TEXT, 32, "", "left", api_name="/padding_lab")
    local = padding_json(padding_lab(tiny_loaded, TEXT, 32))
    assert raw["n_pads"] == local["n_pads"] == [0, 1, 2, 4, 8, 16, 32]
    for p in tiny_loaded.model.available_poolings():
        assert raw["sides"]["left"][p]["max_distance"] < 1e-5 and not raw["sides"]["left"][p]["flipped"]
    assert raw["sides"]["left"]["naive_mean"]["max_distance"] > 0.1
    assert raw["sides"]["right"]["naive_mean"]["pred"] == local["sides"]["right"]["naive_mean"]["pred"]
    assert raw == local  # the API serves exactly the lab's numbers


def test_pooler_output(client):
    raw = client.predict("attention", api_name="/pooler_output")
    code = raw["lightning_module"]
    assert "class LitElectraClassifier(pl.LightningModule)" in code and "self.score = nn.Linear(H, 1)" in code
    assert raw["error"].startswith("AttributeError") and "pooler_output" in raw["error"]
    assert "pooler_output" in raw["bert"]["keys"] and "pooler_output" not in raw["electra"]["keys"]


def test_attribution(client):
    raw = client.predict(TEXT, "attention", "weight", 4, "left", api_name="/attribution")
    assert raw["weight_on_padding"] == 0 and raw["is_pad"][:4] == [True] * 4 and abs(sum(raw["weight"]) - 1) < 1e-3
    assert raw["tokens"][4] == "[CLS]"
    naive = client.predict(TEXT, "naive_mean", "weight", 4, "right", api_name="/attribution")
    assert naive["weight_on_padding"] > 0


def test_layer_grid(client, tiny_loaded):
    raw = client.predict(TEXT, api_name="/layer_grid")
    L = tiny_loaded.model.config.num_hidden_layers
    assert raw["shape"] == [L + 1, len(tiny_loaded.model.available_poolings())] and "exploratory" in raw["probe_note"]
    assert raw["layers"][0].startswith("embeddings") and len(raw["similarity"]) == L + 1


def test_dataset_upload_pick_and_method(client, tsv):
    out = client.predict(handle_file(tsv), None, "sentence", "label", "cls", api_name="/dataset")
    summary, acc, scatter, conf, wrong, raw, upload = out
    assert raw["n"] == 60 and raw["n_test"] == 15 and "held-out" in summary and scatter["type"] == "plotly"
    cls = raw["methods"]["cls"]
    assert sum(map(sum, cls["confusion"])) == 60 and 0 <= cls["probe_test_acc"] <= 1
    assert len(wrong["data"]) == 60 - sum(cls["confusion"][i][i] for i in range(2))
    picked = out[-1]
    assert picked is None  # the upload is read once, then deleted (the component is cleared)
    picked = client.predict(None, "reviews.tsv", "sentence", "label", "mean", api_name="/dataset")[-2]
    assert picked["name"] == "reviews.tsv" and picked["pooling"] == "mean" and picked["n"] == 40


def test_bad_inputs_get_clear_messages(client, tmp_path):
    with pytest.raises(Exception, match="empty"):
        client.predict("  ", 8, "", "right", api_name="/padding_lab")
    with pytest.raises(Exception, match="n_pads must be a whole number"):
        client.predict(TEXT, 100_000, "", "right", api_name="/padding_lab")
    with pytest.raises(Exception, match="unknown pooling 'nope'"):
        client.predict(TEXT, "nope", "weight", 4, "right", api_name="/attribution")
    (tmp_path / "notes.txt").write_text("hello\n")
    with pytest.raises(Exception, match="415 Unsupported Media Type"):  # the upload route refuses it (RequestGuard)
        client.predict(handle_file(str(tmp_path / "notes.txt")), None, "sentence", "label", "cls", api_name="/dataset")
    bad = write_tsv(tmp_path / "bad.tsv", [("good", 1), ("bad", 9)] * 5)
    with pytest.raises(Exception, match="label '9' is not in the label set"):
        client.predict(handle_file(bad), None, "sentence", "label", "cls", api_name="/dataset")
    with pytest.raises(Exception, match="no file given; upload a labelled"):
        client.predict(None, None, "sentence", "label", "cls", api_name="/dataset")
    assert client.predict("mean", api_name="/pooler_output")["lightning_module"]  # still serving


def test_one_model_limit_across_every_endpoint(tiny_loaded):
    """Every event that runs the model, public or the page's own, shares ONE concurrency group (2 at once in all);
    the runs over a set of sentences (dataset, similarity, mismatch) are the HEAVY group, one at a time."""
    from electra_demo.app.common import CONCURRENCY, HEAVY
    from electra_demo.app.page import build_demo

    demo = build_demo(tiny_loaded)
    light = {"code_for", "snippet", "code", "pooler_output", "change_method", "send", "opening", "lambda", "lambda_1",
             "lambda_2", "checked"}  # no model call: formatting, a cached dataset view, copying text, checking the text
    heavy = set()
    for fn in demo.fns.values():
        if fn.fn is None or fn.api_name in light or fn.name == "checked":  # checked, checked_1, ...: one per Explain path
            continue
        if fn.concurrency_id == HEAVY["concurrency_id"]:  # the public three, the two tabs' own controls (fill_N)
            # and their typed sets (run_typed_N: Shift+Enter in the typed box)
            assert fn.concurrency_limit == 1 and fn.api_name.startswith(("dataset", "similarity", "mismatch", "fill",
                                                                         "run_typed"))
            heavy.add(fn.api_name)
        else:
            assert (fn.concurrency_id, fn.concurrency_limit) == ("model", CONCURRENCY), fn.api_name
    assert len(heavy) == 7 and {"dataset", "similarity", "mismatch"} <= heavy, heavy


def test_lesson_endpoints(client, tiny_loaded):
    """The pooling lessons over plain REST-style calls: similarity vs probe, mismatch, attention heads, any encoder."""
    rows = make_rows(24, 9)
    texts, gold = [t for t, _ in rows], [y for _, y in rows]
    sim = client.predict(TEXT, texts, gold, api_name="/similarity")
    assert set(sim["names"]) == set(tiny_loaded.model.available_poolings()) and sim["n"] == 24
    assert all(0 <= a <= 1 for a in sim["probe_acc"]) and len(sim["neighbours"]["mean"]) == 5
    mm = client.predict(TEXT, texts, gold, api_name="/mismatch")
    assert mm["heads"] == tiny_loaded.model.poolings and len(mm["accuracy"]) == len(mm["heads"])
    att = client.predict(TEXT, 1, 2, "left", api_name="/attention")
    assert att["padding_mass"] == 0 and att["is_pad"][:2] == [True, True] and att["layer"] == 1
    bert = client.predict(TEXT, "tiny random bert (built here)", api_name="/encoder_trace")
    electra = client.predict(TEXT, "tiny random electra (built here)", api_name="/encoder_trace")
    assert bert["has_pooler_output"] and "pooler_output" in bert["output_keys"]
    assert not electra["has_pooler_output"] and "pooler_output" not in electra["output_keys"]
    with pytest.raises(Exception, match="needs 8 to"):
        client.predict(TEXT, ["one", "two"], None, api_name="/similarity")
    with pytest.raises(Exception, match="unknown encoder"):
        client.predict(TEXT, "/etc", api_name="/encoder_trace")
