"""The checkpoints the page offers, and a small bounded cache of the loaded ones.

Offered: every folder under checkpoints/ that holds a config.json, plus each --checkpoint given, each under a unique
menu name (the folder's name, with its parent folders when two share one: `run-a/best`, `run-b/best`) and a label
that says what it is (architecture, size, labels), read from its config.json without loading it. The model the
server started with is always loaded; at most MAX_LOADED others stay in memory (least recently used dropped), keyed
by the folder's real path, so two names for one folder share one loaded model.
"""
import json
import os
import threading
from collections import OrderedDict

from ..checkpoint import DEFAULT_CHECKPOINT, MAX_JSON_BYTES, LoadedModel, load_classifier
from ..errors import InputError

MAX_LOADED = 2  # checkpoints kept loaded besides the one the server started with
CHECKPOINTS_DIR = os.path.dirname(DEFAULT_CHECKPOINT)


def unique_names(sources: list[str]) -> dict[str, str]:
    """{menu name: source}: each source's folder name, with as many parent folders as it takes to tell it apart from
    the others (a repeated source is offered once)."""
    first = {}
    for s in sources:
        first.setdefault(os.path.normpath(s), s)  # "a/" and "a" are one
    sources = list(first.values())
    parts = {s: os.path.normpath(s).split(os.sep) for s in sources}
    depth = {s: 1 for s in sources}
    while True:
        names = {s: "/".join(parts[s][-depth[s]:]) for s in sources}
        clash = [s for s in sources if list(names.values()).count(names[s]) > 1 and depth[s] < len(parts[s])]
        if not clash:
            return {names[s]: s for s in sources}
        for s in clash:
            depth[s] += 1


def describe(source: str) -> str:
    """What a checkpoint is, from its config.json alone: "electra, 6 x 384, 2 labels"; "" when it cannot be read."""
    path = os.path.join(source, "config.json")
    try:
        if os.path.getsize(path) > MAX_JSON_BYTES:
            return ""
        with open(path, encoding="utf-8") as f:
            cfg = json.load(f)
        kind = str(cfg.get("model_type", "electra"))[:20]
        layers, hidden = cfg.get("num_hidden_layers", cfg.get("n_layers")), cfg.get("hidden_size", cfg.get("dim"))
        labels = len(cfg.get("id2label") or {}) or cfg.get("num_labels", 2)
        size = f", {int(layers)} x {int(hidden)}" if isinstance(layers, int) and isinstance(hidden, int) else ""
        return f"{kind}{size}, {int(labels)} labels"
    except (OSError, ValueError, TypeError, AttributeError):
        return ""


def find_checkpoints(root: str = CHECKPOINTS_DIR) -> dict[str, str]:
    """{folder name: path} of the checkpoint folders under `root` (those with a config.json), sorted by name."""
    if not os.path.isdir(root):
        return {}
    return {d: os.path.join(root, d) for d in sorted(os.listdir(root))
            if os.path.isfile(os.path.join(root, d, "config.json"))}


class Models:
    """name -> LoadedModel; `first` (the server's own model) is pinned, the others cached up to MAX_LOADED."""

    def __init__(self, first: LoadedModel, sources: list[str] | dict[str, str] | None = None, capacity: int = MAX_LOADED):
        first_key = _key(first.source)
        sources = list(sources.values()) if isinstance(sources, dict) else list(sources or [])
        more = [s for s in sources if _key(s) != first_key]
        named = unique_names([first.source or "model", *more])
        self.first_name = next(iter(named))
        self.sources = named
        self.first, self.capacity = first, capacity
        self.loaded: OrderedDict[str, LoadedModel] = OrderedDict()
        self.lock = threading.Lock()

    @property
    def names(self) -> list[str]:
        return list(self.sources)

    @property
    def choices(self) -> list[tuple[str, str]]:
        """[(menu label, name)]: the name and what the model is."""
        return [(f"{name} ({what})" if (what := describe(src)) else name, name) for name, src in self.sources.items()]

    def get(self, name: str | None) -> LoadedModel:
        if name in (None, "", self.first_name):
            return self.first
        if name not in self.sources:
            raise InputError(f"unknown model {name!r}; offered: {', '.join(self.sources)}")
        key = _key(self.sources[name])
        with self.lock:  # one load at a time; a loaded model moves to the end (most recently used)
            if key not in self.loaded:
                self.loaded[key] = load_classifier(self.sources[name])
                while len(self.loaded) > self.capacity:
                    self.loaded.popitem(last=False)
            self.loaded.move_to_end(key)
            return self.loaded[key]


def _key(source: str) -> str:
    """A model's identity in the cache: its folder's real path (a hub id as it is)."""
    return os.path.realpath(source) if source and os.path.exists(source) else (source or "")
