"""What every tab shares: the one definition of the server limits, user errors as plain text, the explained-sentence
cache. The request guard is in guard.py, serving (light API, model slots, launch) in server.py, Gradio's internals in
gradio_adapter.py.

Server limits (one place, used by the explorer and the standalone lab page alike):
- every event that runs the model shares ONE concurrency slot group (`MODEL`), across all endpoints: at most
  CONCURRENCY model calls at once for the whole server (the page and the light JSON API together: `share_model_slots`),
  the rest wait in the queue (QUEUE_SIZE, then a clean 503);
- the text -> JSON endpoints are served twice from the same functions: on the page (for gradio_client, whose session
  is built once per Client) and by a small Blocks of their own at API_PATH; a plain REST call (`POST
  /gradio_api/call/NAME`, no session) to one of them is answered there, so it does not build a session state over
  the page's ~200 blocks (Gradio does that for every call without a session: ~9 ms here);
- request bodies over MAX_BODY_BYTES are refused with 413 before anything is parsed (uploads: MAX_UPLOAD_BYTES);
- uploads take only the types the dataset view reads, the upload folder is capped at MAX_TEMP_BYTES; temporary files
  (uploads, exports, every file handed to the page) live FILE_TTL seconds, and the sweep keeps Gradio's cache under
  half of MAX_TEMP_BYTES, oldest first (server.sweep_temp_files), so uploads keep working under a flood of exports;
- a run over a set of sentences is bounded in tokens before it starts (lab.dataset.MAX_TOKENS), runs in batches
  (HEAVY) and stops between batches when nobody waits for its answer;
- per-session state is the explained sentence only (at most MAX_CHARS characters), for SESSION_CAPACITY sessions;
  a session's state (Gradio keeps ~1 MB per page session) is dropped at the next sweep once its page closed or after
  SESSION_IDLE seconds without an event.
"""
import functools
import html
import os
import re
import tempfile
import threading
import weakref
from collections import OrderedDict

import gradio as gr

from ..errors import InputError, UserError
from ..lab.dataset import MAX_BYTES
from ..lab.explain import Explanation, check_text, explain
from .gradio_adapter import client_gone

QUEUE_SIZE = 32  # requests waiting; more get a clean "queue is full" answer
CONCURRENCY = 2  # model calls running at once, for the whole page (one per core here)
MODEL = dict(concurrency_id="model", concurrency_limit=CONCURRENCY)  # every event that runs the model shares this
# the lessons over a set of sentences (similarity, mismatch, dataset): one at a time for the whole server, holding one
# of the model slots, so at least one slot is always left for the single-sentence views (a /predict never waits
# behind a queue of heavy runs); each runs in batches and stops when nobody waits for it (stop_if_gone)
HEAVY = dict(concurrency_id="heavy", concurrency_limit=1)
ABANDON_GRACE = 2.0  # seconds a REST client has to open the result stream of a heavy call before the run stops
MAX_UPLOAD_BYTES = MAX_BYTES  # the dataset view's file limit is the server's upload limit
UPLOAD_TYPES = (".tsv", ".csv")  # what the dataset view reads; the upload route refuses anything else
MAX_BODY_BYTES = 1_000_000  # any other request body (JSON) over this is refused with 413 before parsing
MAX_JSON_DEPTH = 64  # a JSON body nested deeper is refused with 400 (the endpoints take lists of texts: depth 3)
MAX_URL_CHARS = 60_000  # a longer URL (path and query) is refused with 414 (a permalink's two 20k-character texts fit)
MAX_TEMP_BYTES = 200_000_000  # uploads waiting in the server's folder, all sessions together
API_PATH = "/api"  # the light JSON API's own Blocks is mounted here
SESSION_CAPACITY = 200  # sessions whose state the server keeps (least recently used dropped first)
STATE_TTL = 3600  # seconds a session's state lives
SESSION_IDLE = 1800  # seconds without an event after which a session's state is dropped (a closed page's at once)
FILE_TTL = 600  # seconds a temporary file (an upload, an export) lives
SWEEP_EVERY = 5  # seconds between two sweeps of the temporary files (2,000 files: ~0.3 s on a busy 2-core machine)
DELETE_CACHE = (60, FILE_TTL)  # Gradio's own schedule for the files it tracks: every minute, those past FILE_TTL
EXPORT_PREFIX = "electra-export-"  # the page's export folders in the system's temp dir: Gradio serves its own copy
EXPORT_TTL = 10  # seconds an export folder lives (Gradio copies it into its cache as the event ends)
UPLOAD_DIR = os.environ.get("GRADIO_TEMP_DIR") or os.path.join(tempfile.gettempdir(), "gradio")
_PATH = re.compile(r"(?:/[\w.\-]+)*/([\w.\- ]+)")  # an absolute path; group 1: its last part


def sentence(text) -> str:
    """The text a handler may use: a str, not empty, within the limit, valid Unicode (no lone surrogates)."""
    text = check_text(text)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        raise InputError(f"the text has invalid Unicode at character {e.start + 1} (a lone surrogate "
                         f"{text[e.start]!a}): send UTF-8 text") from None
    return text


def sentences(items, what: str = "sentences") -> list[str]:
    """Each item of a list checked like a single text (sentence()); InputError naming the first bad item."""
    if not isinstance(items, list):
        raise InputError(f"{what} must be a list of texts")
    out = []
    for i, item in enumerate(items):
        try:
            out.append(sentence(item))
        except InputError as e:
            raise InputError(f"{what}, item {i + 1}: {e}") from None
    return out


def stop_if_gone(*_progress):
    """A progress callback for heavy work (called between batches): stops the run when nobody waits for its answer
    any more (the page closed, the result stream closed, or a REST result never asked for: gradio_adapter)."""
    if client_gone(ABANDON_GRACE):
        raise InputError("stopped: nobody is waiting for this answer any more")


def without_paths(message: str) -> str:
    """A message for the page: server paths (temp uploads, checkpoints) shortened to the file's own name."""
    return _PATH.sub(lambda m: m.group(1) if m.group(0).count("/") > 1 else m.group(0), message)


def user_errors(fn):
    """Run fn; a UserError becomes a gr.Error with its message (and the UI's advice), shown as text, never as HTML."""
    @functools.wraps(fn)  # keeps the signature: gradio finds gr.Progress / gr.SelectData parameters through it
    def wrapped(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except UserError as e:
            message = html.escape(without_paths(e.for_surface("ui")), quote=False)
            raise gr.Error(message, title="Please check the input", print_exception=False) from e

    return wrapped


class Lab:
    """What a lab tab hands the page: fill(sentence, *controls) -> {component: value}, its control inputs, its outputs.

    The page runs every lab's fill on the explained sentence after each Explain (one source of truth); a tab's
    own controls re-run only that tab, on the same sentence.
    """

    def __init__(self, fill, inputs: list, outputs: list, api: list | None = None):
        self.fill, self.inputs, self.outputs = fill, inputs, outputs
        self.api = api or []  # [(fn, api_name, event kwargs)]: registered by the page, outside the tabs


def numbers(value=None, **kwargs) -> gr.JSON:
    """A tab's numbers as JSON, folded away under its figures (the same dict its endpoint returns)."""
    with gr.Accordion("numbers (JSON)", open=False):
        return gr.JSON(value, **kwargs)


def when_explained(fn):
    """For events fired by a tab's own controls: nothing to redraw (and no error) before a sentence was explained."""
    @functools.wraps(fn)
    def wrapped(text, *args):
        if not isinstance(text, str) or not text.strip():
            return gr.skip()
        return fn(text, *args)

    return wrapped


EXPLAINED_CACHE = 32  # explanations kept (each at most ~0.7 MB: the (L+1, T, H) hidden states at 128 tokens)
_explained: OrderedDict = OrderedDict()
_explained_lock = threading.Lock()


def explained(models, model: str, text: str) -> Explanation:
    """explain() of `text` with the menu's `model`, shared by the views that need the same sentence again (the
    slider, Compare's sentence A, export): one forward pass per (model, sentence), kept in a small LRU cache.
    Served models are frozen, so the same key always means the same numbers."""
    classifier = models.get(model)
    key = (weakref.ref(classifier.model), sentence(text))  # the model's identity, not its menu name
    with _explained_lock:
        if key in _explained:
            _explained.move_to_end(key)
            return _explained[key]
    expl = explain(classifier, key[1])
    with _explained_lock:
        _explained[key] = expl
        while len(_explained) > EXPLAINED_CACHE:
            _explained.popitem(last=False)
    return expl
