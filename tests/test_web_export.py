"""The static page (electra-demo export-web): the ONNX graph against PyTorch, tokenizer.js against the Rust tokenizer,
the site's files, and the acceptance check: the page in Debian chromium, served by `python -m http.server` from the
export folder, gives the ids and every number of explain() and padding_lab() within 1e-4 on 50 sentences."""
import contextlib
import json
import os
import shutil
import subprocess
import sys
import time

import httpx
import numpy as np
import pytest
import torch
from transformers import AutoTokenizer

from electra_demo.app.web.export import FORMAT, NODE_MODULES, ROOT, export_web, main, shape_template
from electra_demo.app.web.graph import export_graph
from electra_demo.app.web.tokenizer import tokenizer_json, unicode_tables
from electra_demo.errors import InputError
from electra_demo.lab.explain import explain, token_ids
from electra_demo.lab.padding import padding_lab
from electra_demo.views.explain import to_json
from tests.conftest import browser_marks, tiny_classifier
from tests.harness import free_port

TOLERANCE = 1e-4  # fp32: every number the page shows, against PyTorch
N_PADS = 16  # the padding lab's N in the browser test: sweep 0, 1, 2, 4, 8, 16
# 50 sentences: short, long (past the model's maximum: truncated), punctuation, unicode, [UNK]-heavy, typed specials
SENTENCES = [
    "good", "bad", "the movie was really good", "the plot was dull and the acting was even worse",
    "a", ".", "!!!", "?!?! ... ,,, ;;; :: -- ''", "the film (really) was [good], {great} & <fine>",
    "it's the movie's plot -- isn't it?", "\"quoted\" 'single' `back` «guillemets» „low“",
    "wow!!! such a great, great, GREAT film...", "The MOVIE Was REALLY Good", "$100 + 50% = #1 @home ~ ^_^ | \\ /",
    "Not bad at all [SEP] though the ending drags.", "[CLS] [SEP] [PAD] [MASK] [UNK] typed as text",
    "[sep] lower case [Sep] mixed", "a[SEP]b[CLS]c",
    "café naïve résumé façade jalapeño", "Ångström Øresund ŁÓDŹ straße İstanbul ΣΊΣΥΦΟΣ ὀδυσσεύς",
    "日本語の映画はとても良かった", "这部电影很好看 한국어 영화 좋아요", "Привет, фильм был отличный",
    "مرحبا الفيلم كان رائعا", "हिंदी फ़िल्म बहुत अच्छी थी", "emoji 😀 🎬 👍🏽 ❤️ 🫠 🥲 🧑‍🤝‍🧑 end",
    "zero\u200bwidth\u200djoiner\ufeffbom\u00adsoft hyphen", "tabs\tand\nnew\r\nlines\u2028sep\u3000ideographic",
    "non\u00a0breaking\u2009thin\u202fnarrow spaces", "control\x00nul\x07bell\x1bescape\x7fdel\u0085nel",
    "combining e\u0301 a\u0308 o\u0302 n\u0303 stacked a\u0301\u0323\u0302", "ﬁ ligature ① circled ｆｕｌｌ width ™ ½",
    "𝓯𝓪𝓷𝓬𝔂 𝕞𝕒𝕥𝕙 letters", "private \ue000 use \U000f0000 and unassigned \U000e0fff \u0378",
    "replacement \ufffd char", "qwxz jjjj zzzz vvvvv kkkk xxxxx", "supercalifragilisticexpialidocious antidisestablishmentarianism",
    "x" * 120, "unknownwords everywhere: floccinaucinihilipilification pneumonoultramicroscopic",
    "xyzzy plugh frobnicate quux grault garply waldo fred plugh thud",
    " ".join(["good"] * 200), " ".join(["the movie was really good and the plot"] * 20),
    " ".join(f"w{i}" for i in range(300)), "a " * 60 + "finally bad",
    "The plot was dull [SEP] " * 10, "   leading and trailing spaces   ", "\tindented\n",
    "good bad good bad good bad", "really really really really boring", "1 2 3 4 5 6 7 8 9 10 3.14159 1,000,000",
]
assert len(SENTENCES) == 50


def node_tokenizer(config: dict, tables: dict, truncation_side: str, texts: list[str], max_length: int) -> list[dict]:
    """tokenizer.js under Node: {ids, tokens, n_tokens} for each text."""
    script = ("const {WordPieceTokenizer} = require(process.argv[1]); let s = '';"
              "process.stdin.on('data', d => s += d).on('end', () => { const a = JSON.parse(s);"
              "const t = new WordPieceTokenizer(a.config, a.tables, {truncation_side: a.side});"
              "process.stdout.write(JSON.stringify(a.texts.map(x => t.encode(x, a.max))));});")
    js = os.path.join(ROOT, "electra_demo", "app", "web", "tokenizer.js")
    payload = json.dumps({"config": config, "tables": tables, "side": truncation_side, "texts": texts, "max": max_length})
    out = subprocess.run(["node", "-e", script, js], input=payload, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout)


@pytest.fixture(scope="session")
def tables():
    return unicode_tables()


def fuzz_texts(n: int, seed: int = 0) -> list[str]:
    """Random strings over every kind of character the normalizer and pre-tokenizer treat differently."""
    rng = np.random.default_rng(seed)
    pools = [range(0x20, 0x7F), range(0x00, 0x20), range(0xA0, 0x250), range(0x300, 0x370), range(0x370, 0x530),
             range(0x600, 0x700), range(0x900, 0x980), range(0x2000, 0x2070), range(0x3000, 0x3100), range(0x4E00, 0x4E80),
             range(0xAC00, 0xAC80), range(0xFE00, 0xFF00), range(0x1F300, 0x1FB00), range(0xE0000, 0xE0100)]
    out = []
    for _ in range(n):
        picks = [pools[k] for k in rng.integers(len(pools), size=int(rng.integers(1, 40)))]
        chars = [chr(pool.start + int(rng.integers(len(pool)))) for pool in picks]
        out.append("".join(chars))
    return out


needs_node = pytest.mark.skipif(shutil.which("node") is None and os.environ.get("REQUIRE_BROWSER") != "1",
                                reason="node missing (Node 20): CI has it, and fails instead of skipping")


@needs_node
@pytest.mark.slow
@pytest.mark.parametrize("which", ["tiny", "shipped"])
def test_tokenizer_js_gives_the_rust_ids(which, tiny_tokenizer, tables):
    """tokenizer.js (Node) against lab.explain.token_ids on the 50 sentences and 600 random strings: same ids, same
    untruncated count. `shipped`: every tokenizer under checkpoints/ (BERT's uncased vocabulary for the default)."""
    if which == "tiny":
        toks = [(tiny_tokenizer, 64)]
    else:
        folders = sorted(os.path.join(ROOT, "checkpoints", d) for d in os.listdir(os.path.join(ROOT, "checkpoints")))
        toks = [(AutoTokenizer.from_pretrained(f), 128) for f in folders]
        assert toks, "no checkpoint under checkpoints/"
    texts = SENTENCES + fuzz_texts(600)
    for tok, max_length in toks:
        got = node_tokenizer(tokenizer_json(tok), tables, tok.truncation_side, texts, max_length)
        for text, g in zip(texts, got):
            ids, n = token_ids(tok, text, max_length)
            assert (g["ids"], g["n_tokens"]) == (ids, n), repr(text)
            assert g["tokens"] == tok.convert_ids_to_tokens(ids)


def reference(model, ids, mask) -> dict[str, np.ndarray]:
    """The graph's outputs computed with the model's own methods, by name."""
    with torch.no_grad():
        out = model.encode(ids, mask, output_hidden_states=True)
        ref = {f"hidden_states[{l}]": h for l, h in enumerate(out.hidden_states)}
        for p in model.available_poolings() + ["naive_cls", "naive_mean", "naive_max"]:
            ref[f"pooled[{p}]"] = model.pool(p, out.last_hidden_state, mask)
        head = model.head(model.main_pooling)
        vec = ref[f"pooled[{model.main_pooling}]"]
        ref["head_intermediate"] = head.activation(head.dense(vec))
        return {k: v.numpy() for k, v in ref.items()}


def batches(vocab: int, pad: int):
    """(input_ids, attention_mask) batches the graph was not traced with: other sizes, lengths and paddings."""
    g = torch.Generator().manual_seed(0)
    for B, T in [(1, 3), (1, 64), (3, 17), (2, 40)]:
        ids = torch.randint(5, vocab, (B, T), generator=g)
        mask = torch.ones(B, T, dtype=torch.long)
        if B > 1:
            mask[0, T // 2:] = 0  # right padding
            mask[1, : T // 3] = 0  # left padding
        yield ids.masked_fill(mask == 0, pad), mask


@pytest.mark.slow
@pytest.mark.parametrize("half", [False, True], ids=["float32", "float16-exact weights"])
def test_graph_matches_pytorch(half, tiny_loaded, tmp_path):
    """onnxruntime (Python) runs model.onnx at batch sizes, lengths and paddings it was not traced with: every output
    equals the model's own encode / pool / classify. Weights that equal their float16 rounding are stored as float16
    (half the bytes) and give the same numbers."""
    ort = pytest.importorskip("onnxruntime")
    model = tiny_loaded.model
    if half:
        model = tiny_classifier(tiny_loaded.tokenizer)
        with torch.no_grad():
            emb = model.electra.embeddings.word_embeddings.weight
            emb.copy_(emb.half().float())
    path = str(tmp_path / "model.onnx")
    desc = export_graph(model, path, tiny_loaded.tokenizer.pad_token_id)
    names = [o["name"] for o in desc["outputs"]]
    assert desc["float16_storage"] == (["electra.embeddings.word_embeddings.weight"] if half else [])
    if half:
        onnx = pytest.importorskip("onnx")
        stored = {i.name: i for i in onnx.load(path).graph.initializer}
        emb = stored["model.electra.embeddings.word_embeddings.parametrizations.weight.original0"]
        assert emb.data_type == onnx.TensorProto.FLOAT16 and len(emb.raw_data) == 2 * model.config.vocab_size * 32
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    assert [o.name for o in session.get_outputs()] == names
    for ids, mask in batches(model.config.vocab_size, tiny_loaded.tokenizer.pad_token_id):
        got = dict(zip(names, session.run(None, {"input_ids": ids.numpy(), "attention_mask": mask.numpy()})))
        ref = reference(model, ids, mask)
        with torch.no_grad():
            for p, head in desc["applied"].items():
                logits = model.classify(head, torch.from_numpy(ref[f"pooled[{p}]"]))
                ref[f"logits[{p}]"], ref[f"probs[{p}]"] = logits.numpy(), logits.softmax(-1).numpy()
        assert set(ref) == set(names)
        for name in names:
            np.testing.assert_allclose(got[name], ref[name], atol=1e-5, rtol=0, err_msg=f"{name} at {tuple(ids.shape)}")


def test_shape_template_names_the_token_axis(tiny_loaded):
    """T is found by axis name: with T equal to another dimension only the T axis becomes {T}."""
    expl = explain(tiny_loaded, "the movie was good")
    rows = {r["name"]: r["shape"] for r in shape_template(expl)}
    T = len(expl.tokens)
    assert rows["tokens"] == "({T},)" and rows["input_ids"] == "(1, {T})"
    assert rows["hidden_states"] == f"{expl.num_layers + 1} x (1, {{T}}, 32)" and rows["pooler_output"] == "absent"
    assert rows["logits"] == "(1, 2)" and rows["pooled[mean]"] == "(1, 32)"
    assert [r["shape"].replace("{T}", str(T)) for r in shape_template(expl)] == [r.shape for r in expl.shapes]


needs_npm = pytest.mark.skipif(not os.path.isdir(NODE_MODULES) and os.environ.get("REQUIRE_BROWSER") != "1",
                               reason="node_modules/ missing: run `npm ci` (CI does, and fails instead of skipping)")


@pytest.fixture(scope="module")
def site(tiny_loaded, tmp_path_factory):
    out = str(tmp_path_factory.mktemp("web") / "site")
    export_web(tiny_loaded, out)
    return out


@needs_npm
@pytest.mark.slow
def test_export_writes_a_static_site(site, tiny_loaded, tmp_path):
    files = {os.path.relpath(os.path.join(d, f), site) for d, _, fs in os.walk(site) for f in fs}
    assert {"index.html", "app.js", "tokenizer.js", "model.onnx", "model.json", "tokenizer.json", "unicode.json",
            "vendor/ort.wasm.min.js", "vendor/ort-wasm-simd-threaded.mjs", "vendor/ort-wasm-simd-threaded.wasm",
            "vendor/plotly.min.js"} <= files
    m = json.load(open(os.path.join(site, "model.json")))
    assert m["format"] == FORMAT and m["model"]["labels"] == tiny_loaded.labels
    lock = json.load(open(os.path.join(ROOT, "package-lock.json")))["packages"]
    assert m["vendor"]["ort.wasm.min.js"] == f"onnxruntime-web@{lock['node_modules/onnxruntime-web']['version']}"
    assert m["vendor"]["plotly.min.js"] == f"plotly.js-dist-min@{lock['node_modules/plotly.js-dist-min']['version']}"
    html = open(os.path.join(site, "index.html")).read()
    assert "http://" not in html and "https://" not in html  # nothing from a CDN
    with pytest.raises(InputError, match="not empty"):
        export_web(tiny_loaded, site)
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    with pytest.raises(InputError, match="not a folder export-web wrote"):
        export_web(tiny_loaded, str(other), overwrite=True)
    assert (other / "notes.txt").read_text() == "keep me"


@needs_npm
@pytest.mark.slow
def test_cli_exports_and_overwrites(tiny_checkpoint, tmp_path, capsys):
    out = str(tmp_path / "site")
    main([out, "--checkpoint", tiny_checkpoint])
    main([out, "--checkpoint", tiny_checkpoint, "--overwrite"])
    assert "http.server" in capsys.readouterr().out
    assert not [f for f in os.listdir(tmp_path) if ".partial-" in f]


def test_examples_are_the_pages():
    pytest.importorskip("gradio")
    from electra_demo.app.page import EXAMPLES

    js = open(os.path.join(ROOT, "electra_demo", "app", "web", "app.js"), encoding="utf-8").read()
    block = js.split("const EXAMPLES = [", 1)[1].split("];", 1)[0]
    assert [json.loads(line.strip().rstrip(",")) for line in block.strip().splitlines()[1:]] == EXAMPLES


@contextlib.contextmanager
def static_server(folder: str):
    """`python -m http.server` in `folder`: a plain static server, nothing of ours running."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "-d", folder],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(200):
            try:
                if httpx.get(url, timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def wait_runs(page, n: int):
    page.wait_for_function("n => Number(document.body.dataset.runs) >= n && document.body.dataset.state === 'ready'", arg=n)


def close(a, b, what):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape, f"{what}: shape {a.shape} vs {b.shape}"
    np.testing.assert_allclose(a, b, atol=TOLERANCE, rtol=0, err_msg=what)


def same_layout(a, b, where=""):
    """The same keys, list lengths, strings, ints and bools; floats equal up to one unit of their last rounded digit (both
    sides round to 3 or 4 significant digits, and may round a last digit differently)."""
    if isinstance(b, dict):
        assert isinstance(a, dict) and list(a) == list(b), f"{where}: keys {list(a)} vs {list(b)}"
        for k in b:
            same_layout(a[k], b[k], f"{where}.{k}")
    elif isinstance(b, list):
        assert isinstance(a, list) and len(a) == len(b), f"{where}: length"
        for i, (x, y) in enumerate(zip(a, b)):
            same_layout(x, y, f"{where}[{i}]")
    elif isinstance(b, float) and not isinstance(a, bool):
        assert isinstance(a, (int, float)) and abs(a - b) <= 0.0101 * abs(b) + TOLERANCE, f"{where}: {a} vs {b}"
    else:
        assert a == b and type(a) is type(b), f"{where}: {a!r} vs {b!r}"


def check_sentence(page, loaded, text):
    raw = page.evaluate("() => window.explanationRaw")
    assert raw["text"] == text
    expl = explain(loaded, text)
    assert raw["input_ids"] == expl.input_ids and raw["tokens"] == expl.tokens, repr(text)
    assert raw["n_tokens"] == expl.n_tokens and raw["truncation_note"] == expl.truncation_note
    close(raw["hidden_states"], expl.hidden_states, f"hidden_states of {text!r}")
    for p in expl.pooled:
        close(raw["pooled"][p], expl.pooled[p], f"pooled[{p}] of {text!r}")
        hp = expl.heads[p]
        assert (raw["heads"][p] is None) == (hp is None)
        if hp:
            close(raw["heads"][p]["probs"], hp.probs, f"head {p} of {text!r}")
            assert raw["heads"][p]["label"] == hp.label
    for name in ("probs", "logits", "head_intermediate", "token_norms", "cls_cosine", "similarity"):
        close(raw[name], getattr(expl, name), f"{name} of {text!r}")
    assert raw["label"] == expl.label
    same_layout(json.loads(json.dumps(page.evaluate("() => window.explanation"))), json.loads(json.dumps(to_json(expl))),
                "explanation")
    lab, got = padding_lab(loaded, text, N_PADS), raw["padding"]
    assert got["n_pads"] == lab.n_pads and got["names"] == lab.names and got["heads"] == lab.heads
    for side, sweep in lab.sides.items():
        close(got["sides"][side]["vectors"], sweep.vectors, f"{side} padding vectors of {text!r}")
        close(got["sides"][side]["distance"], sweep.distance, f"{side} padding distance of {text!r}")
        close(got["sides"][side]["cosine"], sweep.cosine, f"{side} padding cosine of {text!r}")
        assert got["sides"][side]["pred"] == sweep.pred.tolist() and got["sides"][side]["flipped"] == sweep.flipped.tolist()
    assert got["batched"]["pads"] == lab.batched.pads
    close(got["batched"]["distance"], lab.batched.distance, f"batched distance of {text!r}")
    assert got["batched"]["pred_batched"] == lab.batched.pred_batched.tolist()


@needs_npm
@pytest.mark.slow
@pytest.mark.parametrize("_", [pytest.param(None, marks=browser_marks(), id="chromium")])
def test_page_in_chromium_matches_pytorch(_, site, tiny_loaded):
    """The acceptance check: the export served by a plain static server, opened in Debian chromium; every sentence's
    ids equal ours and every number the page shows is within 1e-4 of explain() / padding_lab(); window.explanation has
    the /explain JSON's keys and shapes; no request leaves the folder's origin and the console stays clean."""
    from urllib.parse import quote

    from tests.harness import browser_page

    with static_server(site) as url, browser_page("about:blank", width=1280) as page:
        requests = []
        page.on("request", lambda r: requests.append(r.url))
        page.goto(f"{url}?sentence={quote(SENTENCES[2])}")
        wait_runs(page, 1)
        assert "runs the model in your browser" in page.locator("#runs-here").inner_text()
        assert os.path.basename(tiny_loaded.source) in page.locator("#model-card").inner_text()
        page.locator("#n-pads").fill(str(N_PADS))
        page.locator("#n-pads").dispatch_event("change")  # re-runs the sentence with N = 16
        wait_runs(page, 2)
        check_sentence(page, tiny_loaded, SENTENCES[2])
        assert "pooler_output" in page.locator("#shape-table").inner_text()
        assert "absent" in page.locator("#shape-table").inner_text()
        page.locator("#sentence").fill(SENTENCES[3])  # typed, then Explain clicked: the UI path
        page.locator("#explain").click()
        wait_runs(page, 3)
        check_sentence(page, tiny_loaded, SENTENCES[3])
        assert page.evaluate("() => new URL(location.href).searchParams.get('sentence')") == SENTENCES[3]
        for text in SENTENCES[:2] + SENTENCES[4:]:  # exact strings (a textarea would turn \r\n into \n): the button's function
            page.evaluate("t => window.electraDemo.run(t)", text)
            check_sentence(page, tiny_loaded, text)
        page.evaluate("() => window.electraDemo.run('   ')")
        assert "please type a sentence" in page.locator("#error").inner_text()
        assert not page.console_errors, page.console_errors
        outside = [r for r in requests if not r.startswith((url, "data:", "blob:"))]
        assert not outside, outside
