"""electra-demo export-web OUT [--checkpoint PATH] [--overwrite]: the explorer as a static site, no server needed.

Writes OUT/ (plain static files: any web server serves them, e.g. `python -m http.server -d OUT`):
  index.html app.js tokenizer.js  the page (templates from this folder)
  model.onnx                      the classifier as one ONNX graph (graph.py: hidden states, every pooling, every head)
  model.json                      what the page needs besides: the graph's output names and order, labels, poolings,
                                  the shape-trace rows, the model card, the palette, the padding lab's settings
  tokenizer.json unicode.json     the tokenizer (the Rust backend's JSON) and its character tables (tokenizer.py)
  vendor/                         onnxruntime-web (wasm, single-threaded) and plotly.js, copied from node_modules/
                                  (`npm ci` at the repository root installs the versions package-lock.json pins)
The page runs the model with ONNX Runtime Web (WebAssembly) and sends nothing anywhere.
"""
import argparse
import importlib.util
import json
import os
import re
import shutil
import tempfile
import time

import plotly.colors

from ... import pooling
from ...checkpoint import load_classifier
from ...errors import InputError, UserError, cli
from ...lab.explain import MAX_CHARS, explain
from ...lab.padding import DEFAULT_OTHER, MAX_PADS, SIDES
from ...views import common
from ...views import explain as views
from .graph import export_graph
from .tokenizer import tokenizer_json, unicode_tables

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
NODE_MODULES = os.path.join(ROOT, "node_modules")
PAGE = ["index.html", "app.js", "tokenizer.js"]
FORMAT = "electra-demo-web/1"  # model.json's "format": the mark of a folder this command wrote
# what the page loads, from node_modules/: (package, file in the package, name under vendor/)
VENDOR = [
    ("onnxruntime-web", "dist/ort.wasm.min.js", "ort.wasm.min.js"),  # the wasm-only build: no WebGPU / WebGL code
    ("onnxruntime-web", "dist/ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.mjs"),  # the runtime's loader ...
    ("onnxruntime-web", "dist/ort-wasm-simd-threaded.wasm", "ort-wasm-simd-threaded.wasm"),  # ... and its binary
    ("plotly.js-dist-min", "plotly.min.js", "plotly.min.js"),
    ("plotly.js-dist-min", "LICENSE", "LICENSE.plotly.js.txt"),
]
PROBE = "a probe sentence for the shape trace"
N_PADS = 64  # the padding lab's default N, as on the server's page


def check_onnx():
    """UserError unless the onnx package is installed: torch's exporter writes the file with it."""
    if importlib.util.find_spec("onnx") is None:
        raise UserError("the ONNX export needs the onnx package, which is not installed",
                        cli=f"pip install -r {os.path.join(ROOT, 'requirements-web.txt')}")


def vendor_files(node_modules: str) -> dict[str, tuple[str, str, str]]:
    """{name under vendor/: (source path, package@version, its license)}; UserError naming a missing file."""
    out = {}
    for package, rel, name in VENDOR:
        path = os.path.join(node_modules, package, rel)
        if not os.path.isfile(path):
            raise UserError(f"{path} is missing: the static page vendors {package} from node_modules/",
                            cli=f"run `npm ci` in {ROOT} first (Node 20; package-lock.json pins the versions), "
                                "or pass --node-modules")
        with open(os.path.join(node_modules, package, "package.json"), encoding="utf-8") as f:
            meta = json.load(f)
        out[name] = (path, f"{package}@{meta['version']}", str(meta.get("license", "see the package")))
    return out


def notice(vendor: dict) -> str:
    """vendor/NOTICE.txt: what each vendored file is, its version and license."""
    lines = ["Files in this folder, copied unchanged from npm packages by `electra-demo export-web`:", ""]
    lines += [f"{name}: {version}, license {license}" for name, (_, version, license) in vendor.items()]
    return "\n".join(lines) + "\n"


def shape_template(expl) -> list[dict]:
    """The shape trace of one sentence with its token count T written as "{T}" (the page fills in its own T). Dimensions
    are found by name (views.explain.AXES), never by value: T may equal H."""
    T, rows = len(expl.tokens), []
    for r in expl.shapes:
        shape = r.shape
        axes = views.AXES.get(r.name) or ("BH" if r.name.startswith(("pooled[", "heads[")) else None)
        m = re.fullmatch(r"(\d+ x )?\(([\d, ]*)\)", shape)
        if m and axes:
            dims = [d for d in m[2].replace(" ", "").split(",") if d]
            if len(dims) != len(axes) or any(a == "T" and int(d) != T for a, d in zip(axes, dims)):
                raise RuntimeError(f"shape row {r.name} {shape} does not have the axes {axes} with T = {T}")
            parts = ["{T}" if a == "T" else d for a, d in zip(axes, dims)]
            shape = (m[1] or "") + "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"
        rows.append({"name": r.name, "shape": shape, "dtype": r.dtype, "note": r.note})
    return rows


def manifest(classifier, graph: dict, vendor: dict, probe) -> dict:
    """model.json: everything app.js needs besides the graph and the tokenizer."""
    model, tok = classifier.model, classifier.tokenizer
    cfg = model.config
    names = graph["names"]
    return {
        "format": FORMAT,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "electra_demo_version": views.VERSION,
        "model": {"name": os.path.basename(os.path.normpath(classifier.source)) or "model", "card": views.model_card(classifier),
                  "labels": classifier.labels, "main_pooling": classifier.main_pooling, "heads": model.poolings,
                  "max_length": classifier.max_length, "num_layers": cfg.num_hidden_layers, "hidden_size": cfg.hidden_size,
                  "n_parameters": sum(p.numel() for p in model.parameters())},
        "graph": {"file": "model.onnx", **graph},
        "poolings": {p: {"kind": pooling.get(p).kind, "description": pooling.get(p).description,
                         "code": pooling.get(p).forward_code, "masked": pooling.get(p).masked} for p in names},
        "tokenizer": {"file": "tokenizer.json", "tables": "unicode.json", "truncation_side": tok.truncation_side,
                      "pad_id": tok.pad_token_id, "max_chars": MAX_CHARS},
        "shapes": shape_template(probe),
        "padding": {"n_pads": N_PADS, "max_pads": MAX_PADS, "sides": list(SIDES), "other": DEFAULT_OTHER},
        "views": {"dimensions": views.DIMENSIONS, "axes": views.AXES, "shape_headers": views.SHAPE_HEADERS,
                  "pool_headers": views.POOL_HEADERS, "no_head": views.NO_HEAD, "unk_warning": views.UNK_WARNING,
                  "diverging": plotly.colors.get_colorscale(common.DIVERGING), "sequential": common.SEQUENTIAL,
                  "line_colours": common.LINE_COLOURS, "class_colours": common.CLASS_COLOURS},
        "vendor": {name: version for name, (_, version, _) in vendor.items()},
    }


def _is_export(folder: str) -> bool:
    try:
        with open(os.path.join(folder, "model.json"), encoding="utf-8") as f:
            return json.load(f).get("format") == FORMAT
    except (OSError, ValueError, AttributeError):
        return False


def check_ready(out: str, node_modules: str, overwrite: bool) -> str:
    """The absolute path of `out` once it may be written and the tools are there; UserError otherwise (before any slow
    step: a missing package, `npm ci` or --overwrite fails at once)."""
    out = os.path.abspath(out)
    if os.path.exists(out) and (not os.path.isdir(out) or os.listdir(out)):
        if not overwrite:
            raise InputError(f"{out} exists and is not empty", cli="pass --overwrite to replace an earlier export")
        if not _is_export(out):
            raise InputError(f"{out} is not a folder export-web wrote (no model.json of format {FORMAT}); not replacing it")
    check_onnx()
    vendor_files(node_modules)
    return out


def export_web(classifier, out: str, node_modules: str = NODE_MODULES, overwrite: bool = False) -> dict:
    """Write the static site for `classifier` (a LoadedModel) into `out`; returns {file: bytes}. The folder is built
    beside `out` and moved into place whole; an existing `out` is replaced only with `overwrite` and only when this
    command wrote it (its model.json says so)."""
    kind = classifier.model.architecture
    if kind != "electra":  # the ONNX graph is ElectraPoolingClassifier's (graph.py)
        raise InputError(f"export-web exports ELECTRA classifiers (ours or ElectraForSequenceClassification); this one is "
                         f"a {kind} model: explore it with `python app.py --checkpoint ...` instead")
    out = check_ready(out, node_modules, overwrite)
    vendor = vendor_files(node_modules)
    parent = os.path.dirname(out)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=os.path.basename(out) + ".partial-", dir=parent)
    try:
        graph = export_graph(classifier.model, os.path.join(tmp, "model.onnx"), classifier.tokenizer.pad_token_id)
        with open(os.path.join(tmp, "tokenizer.json"), "w", encoding="utf-8") as f:
            json.dump(tokenizer_json(classifier.tokenizer), f, ensure_ascii=False)
        with open(os.path.join(tmp, "unicode.json"), "w", encoding="utf-8") as f:
            json.dump(unicode_tables(), f, separators=(",", ":"))
        with open(os.path.join(tmp, "model.json"), "w", encoding="utf-8") as f:
            json.dump(manifest(classifier, graph, vendor, explain(classifier, PROBE)), f, indent=1, ensure_ascii=False)
        for name in PAGE:
            shutil.copyfile(os.path.join(HERE, name), os.path.join(tmp, name))
        os.makedirs(os.path.join(tmp, "vendor"))
        for name, (path, _, _) in vendor.items():
            shutil.copyfile(path, os.path.join(tmp, "vendor", name))
        with open(os.path.join(tmp, "vendor", "NOTICE.txt"), "w", encoding="utf-8") as f:
            f.write(notice(vendor))
        if os.path.isdir(out):
            shutil.rmtree(out)
        os.chmod(tmp, 0o755)  # mkdtemp makes it private; a static site is read by a web server
        os.rename(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return {os.path.relpath(os.path.join(d, f), out): os.path.getsize(os.path.join(d, f))
            for d, _, files in os.walk(out) for f in files}


def main(argv=None):
    p = argparse.ArgumentParser(prog="electra-demo export-web", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out", help="folder to write the site into (new or empty; an earlier export with --overwrite)")
    p.add_argument("--checkpoint", default=None, help="checkpoint to carry (default: the shipped checkpoints/electra-sst2)")
    p.add_argument("--overwrite", action="store_true", help="replace OUT when it is an earlier export")
    p.add_argument("--node-modules", default=NODE_MODULES, help=f"where `npm ci` installed the page's packages "
                                                                 f"(default: {NODE_MODULES})")
    args = p.parse_args(argv)
    check_ready(args.out, args.node_modules, args.overwrite)  # before the model loads
    classifier = load_classifier(args.checkpoint)
    sizes = export_web(classifier, args.out, args.node_modules, args.overwrite)
    total = sum(sizes.values())
    print(f"wrote {args.out}: {len(sizes)} files, {total / 1e6:.1f} MB")
    for name, size in sorted(sizes.items(), key=lambda kv: -kv[1])[:4]:
        print(f"  {name}: {size / 1e6:.1f} MB")
    print(f"open it: python -m http.server -d {args.out} 8000, then http://127.0.0.1:8000/ (any static server will do)")
    return sizes


cli_main = cli(main)
