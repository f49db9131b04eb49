"""The checkpoints the page offers, and a small bounded cache of the loaded ones.

Offered: every folder under checkpoints/ that holds a config.json, plus each --checkpoint given. The model the
server started with is always loaded; at most MAX_LOADED others stay in memory (least recently used dropped).
"""
import os
import threading
from collections import OrderedDict

from ..checkpoint import DEFAULT_CHECKPOINT, LoadedModel, load_classifier
from ..errors import InputError

MAX_LOADED = 2  # checkpoints kept loaded besides the one the server started with
CHECKPOINTS_DIR = os.path.dirname(DEFAULT_CHECKPOINT)


def name_of(source: str) -> str:
    return os.path.basename(os.path.normpath(source)) or source


def find_checkpoints(root: str = CHECKPOINTS_DIR) -> dict[str, str]:
    """{folder name: path} of the checkpoint folders under `root` (those with a config.json), sorted by name."""
    if not os.path.isdir(root):
        return {}
    return {d: os.path.join(root, d) for d in sorted(os.listdir(root))
            if os.path.isfile(os.path.join(root, d, "config.json"))}


class Models:
    """name -> LoadedModel; `first` (the server's own model) is pinned, the others cached up to MAX_LOADED."""

    def __init__(self, first: LoadedModel, sources: dict[str, str] | None = None, capacity: int = MAX_LOADED):
        self.first_name = name_of(first.source) or "model"
        self.sources = {self.first_name: first.source, **{k: v for k, v in (sources or {}).items() if k != self.first_name}}
        self.first, self.capacity = first, capacity
        self.loaded: OrderedDict[str, LoadedModel] = OrderedDict()
        self.lock = threading.Lock()

    @property
    def names(self) -> list[str]:
        return list(self.sources)

    def get(self, name: str | None) -> LoadedModel:
        if name in (None, "", self.first_name):
            return self.first
        if name not in self.sources:
            raise InputError(f"unknown model {name!r}; offered: {', '.join(self.sources)}")
        with self.lock:  # one load at a time; a loaded model moves to the end (most recently used)
            if name not in self.loaded:
                self.loaded[name] = load_classifier(self.sources[name])
                while len(self.loaded) > self.capacity:
                    self.loaded.popitem(last=False)
            self.loaded.move_to_end(name)
            return self.loaded[name]
