"""What every tab shares: the one definition of the server limits, the request guard, and user errors as plain text.

Server limits (one place, used by the explorer and the standalone lab page alike):
- every event that runs the model shares ONE concurrency slot group (`MODEL`), across all endpoints: at most
  CONCURRENCY model calls at once for the whole server (the page and the light JSON API together: `share_model_slots`),
  the rest wait in the queue (QUEUE_SIZE, then a clean 503);
- the text -> JSON endpoints are served twice from the same functions: on the page (for gradio_client, whose session
  is built once per Client) and by a small Blocks of their own at API_PATH; a plain REST call (`POST
  /gradio_api/call/NAME`, no session) to one of them is answered there, so it does not build a session state over
  the page's ~200 blocks (Gradio does that for every call without a session: ~9 ms here);
- request bodies over MAX_BODY_BYTES are refused with 413 before anything is parsed (uploads: MAX_UPLOAD_BYTES);
- uploads take only the types the dataset view reads, the upload folder is capped at MAX_TEMP_BYTES, and uploaded
  files are deleted after use and on a schedule (DELETE_CACHE);
- per-session state is the explained sentence only (at most MAX_CHARS characters), for SESSION_CAPACITY sessions.
"""
import functools
import html
import inspect
import json
import os
import re
import tempfile
import threading
from collections import OrderedDict

import gradio as gr

from ..errors import InputError, UserError
from ..lab.dataset import MAX_BYTES
from ..lab.explain import Explanation, check_text, explain

QUEUE_SIZE = 32  # requests waiting; more get a clean "queue is full" answer
CONCURRENCY = 2  # model calls running at once, for the whole page (one per core here)
MODEL = dict(concurrency_id="model", concurrency_limit=CONCURRENCY)  # every event that runs the model shares this
MAX_UPLOAD_BYTES = MAX_BYTES  # the dataset view's file limit is the server's upload limit
UPLOAD_TYPES = (".tsv", ".csv")  # what the dataset view reads; the upload route refuses anything else
MAX_BODY_BYTES = 1_000_000  # any other request body (JSON) over this is refused with 413 before parsing
MAX_TEMP_BYTES = 200_000_000  # uploads waiting in the server's folder, all sessions together
API_PATH = "/api"  # the light JSON API's own Blocks is mounted here
SESSION_CAPACITY = 200  # sessions whose state the server keeps (least recently used dropped first)
STATE_TTL = 3600  # seconds a session's state lives
DELETE_CACHE = (600, 1800)  # every 10 minutes, delete uploaded files older than 30 minutes
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


def _folder_bytes(path: str) -> int:
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            try:
                total += os.path.getsize(os.path.join(root, f))
            except OSError:
                pass
    return total


class RequestGuard:
    """ASGI middleware in front of the Gradio app: body limits before parsing, upload types and space, 404s.

    - Content-Length over the limit -> 413, before Gradio reads the body; a chunked body (no Content-Length) is read
      here up to the limit (small: 1 MB), refused with 413 past it, else handed on whole;
    - /gradio_api/upload: only UPLOAD_TYPES, and 503 while the upload folder holds over MAX_TEMP_BYTES;
    - /gradio_api/call/NAME, /gradio_api/run/NAME for a NAME the app does not serve -> 404 (Gradio says 500);
    - POST /gradio_api/call/NAME with a `data` list of the wrong length -> 422 naming the inputs (Gradio answers
      `error: null` or a message with object addresses, and silently drops extra values);
    - /gradio_api/call/NAME[/EVENT] for a NAME the light API serves -> answered by the light API (API_PATH).
    """

    def __init__(self, app, endpoints=None, light=None):
        self.app = app
        self.endpoints = endpoints  # {name: input names} of the page's callable endpoints (None: no checks)
        self.light = light or {}  # the same for the light API, served at API_PATH

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope.get("path", "")
        is_upload = path.rstrip("/").endswith("/gradio_api/upload")
        limit = MAX_UPLOAD_BYTES + 64_000 if is_upload else MAX_BODY_BYTES
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            return await _too_large(send, limit)
        m = _CALL.fullmatch(path)  # (API_PATH or "", call|run, NAME, /EVENT or None)
        if m and (m.group(1) or self.endpoints is not None):
            name, served = m.group(3), self.light if m.group(1) else self.endpoints
            if name not in served:
                return await _answer(send, 404, f"no endpoint named /{name}")
            if not m.group(1) and m.group(2) == "call" and name in self.light:  # same function, no page session
                scope = dict(scope, path=API_PATH + path, raw_path=(API_PATH + path).encode())
            if m.group(2) == "call" and not m.group(4) and scope.get("method") == "POST":
                body = await _read(receive, limit)
                if body is None:
                    return await _too_large(send, limit)
                problem = _wrong_inputs(body, name, served[name])
                if problem:
                    return await _answer(send, 422, problem)
                return await self.app(scope, _replay(body), send)
        if is_upload and scope.get("method") == "POST":
            if _folder_bytes(UPLOAD_DIR) > MAX_TEMP_BYTES:
                return await _answer(send, 503, "the server's upload space is full; try again in a few minutes")
            body = await _read(receive, limit)
            if body is None:
                return await _too_large(send, limit, "upload")
            bad = [n for n in _filenames(headers.get(b"content-type", b""), body) if not n.lower().endswith(UPLOAD_TYPES)]
            if bad:
                return await _answer(send, 415, f"{bad[0]!r}: only {', '.join(UPLOAD_TYPES)} files are accepted")
            return await self.app(scope, _replay(body), send)
        if length is None and scope.get("method") in ("POST", "PUT", "PATCH"):  # chunked: read it here, bounded
            body = await _read(receive, limit)
            if body is None:
                return await _too_large(send, limit)
            return await self.app(scope, _replay(body), send)
        return await self.app(scope, receive, send)


_CALL = re.compile(rf"({re.escape(API_PATH)})?/gradio_api/(call|run)/([^/]+)(/.*)?")


def _too_large(send, limit: int, what: str = "request body"):
    return _answer(send, 413, f"{what} too large: the limit is {limit:,} bytes")


def _wrong_inputs(body: bytes, name: str, names: list[str]) -> str | None:
    """What is wrong with a REST call's `data` for endpoint /name taking the inputs `names`, or None (also for a body
    that is not JSON: Gradio answers that itself)."""
    try:
        data = json.loads(body).get("data")
    except (ValueError, AttributeError):
        return None
    want = f'{{"data": [{", ".join(names)}]}}'
    if not isinstance(data, list):
        return f"/{name}: send a JSON object {want}"
    if len(data) == len(names):
        return None
    return f"/{name} takes {len(names)} input{'s' * (len(names) != 1)} ({', '.join(names)}); got {len(data)}. Send {want}"


async def _answer(send, status: int, text: str):
    body = text.encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


async def _read(receive, limit: int) -> bytes | None:
    """The whole body, or None as soon as it passes `limit` bytes."""
    chunks, size = [], 0
    while True:
        msg = await receive()
        chunks.append(msg.get("body", b""))
        size += len(chunks[-1])
        if size > limit:
            return None
        if not msg.get("more_body"):
            return b"".join(chunks)


def _replay(body: bytes):
    sent = False

    async def receive():
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


def _filenames(content_type: bytes, body: bytes) -> list[str]:
    """The filename of each part of a multipart body (read from the part headers only, never from file content)."""
    m = re.search(rb'boundary="?([^";]+)"?', content_type)
    if not m:
        return []
    names = []
    for part in body.split(b"--" + m.group(1))[1:]:
        head = part.split(b"\r\n\r\n", 1)[0]
        f = re.search(rb'filename="([^"]*)"', head)
        if f:
            names.append(f.group(1).decode("utf-8", "replace"))
    return names


def endpoints_of(blocks: gr.Blocks) -> dict[str, list[str]]:
    """{api_name: input names} of every endpoint of `blocks` a client may call (not the private page events): the
    function's own parameter names when they match its inputs one to one, else the components' labels. A REST call
    must send every input (Gradio fills no defaults; gradio_client does)."""
    out = {}
    for fn in blocks.fns.values():
        if not fn.api_name or fn.api_visibility == "private":
            continue
        params = [p.name for p in inspect.signature(fn.fn).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)] if fn.fn else []
        if len(params) != len(fn.inputs):  # special parameters (gr.Progress, ...) beside the inputs
            params = [getattr(c, "label", None) or f"input {i + 1}" for i, c in enumerate(fn.inputs)]
        out[fn.api_name] = params
    return out


def add_endpoints(endpoints: list):
    """Register `endpoints` [(fn, api_name, event kwargs)] as named JSON endpoints of the Blocks being built."""
    for fn, name, kwargs in endpoints:
        gr.api(user_errors(fn), api_name=name, **kwargs)


def light_api(endpoints: list) -> gr.Blocks:
    """The light JSON API: a Blocks holding only `endpoints`, served at API_PATH."""
    with gr.Blocks(title="ELECTRA explorer API", analytics_enabled=False, delete_cache=DELETE_CACHE) as api:
        gr.Markdown("# ELECTRA explorer: JSON API\nThe explorer's text -> JSON endpoints, for scripts: "
                    "`gradio_client.Client(\"<this address>\")` or `POST gradio_api/call/NAME`. \"Use via API\" "
                    "below lists them; the explorer page itself is one level up, at `/`.")
        add_endpoints(endpoints)
    api.queue(max_size=QUEUE_SIZE)
    # Gradio keeps each session's last inputs and outputs, and every sessionless REST call is a new session: the API
    # needs none of it, so it keeps only as many as can be in flight (at most QUEUE_SIZE answers of <= 1 MB)
    api.state_session_capacity = QUEUE_SIZE
    return api


_model_slots = threading.BoundedSemaphore(CONCURRENCY)


def share_model_slots(*blocks: gr.Blocks):
    """One limit on model work for the whole server: every event of the `MODEL` group, in any of these Blocks (each
    has its own queue, so its own group), runs holding one of CONCURRENCY process-wide slots."""
    for b in blocks:
        for block_fn in b.fns.values():
            if block_fn.concurrency_id == MODEL["concurrency_id"] and not getattr(block_fn.fn, "_holds_slot", False):
                block_fn.fn = _holding_slot(block_fn.fn)


def _holding_slot(fn):
    @functools.wraps(fn)  # keeps the signature: gradio finds gr.Progress / gr.Request parameters through it
    def wrapped(*args, **kwargs):
        with _model_slots:
            return fn(*args, **kwargs)

    wrapped._holds_slot = True
    return wrapped


def launch_kwargs(demo: gr.Blocks, api: gr.Blocks | None = None, css: str = "", head: str = "") -> dict:
    """demo.launch(**these): the server limits, and the light JSON API `api` (if any) mounted at API_PATH."""
    import contextlib

    from fastapi import FastAPI
    from starlette.middleware import Middleware
    from starlette.routing import Mount

    guard = dict(endpoints=endpoints_of(demo), light=None if api is None else endpoints_of(api))
    app_kwargs = {"middleware": [Middleware(RequestGuard, **guard)]}
    if api is not None:
        share_model_slots(demo, api)
        sub = gr.mount_gradio_app(FastAPI(), api, "/", max_file_size=MAX_UPLOAD_BYTES, footer_links=["api"],
                                  show_error=False)  # as on the page: UserErrors are shown, internals are not

        @contextlib.asynccontextmanager
        async def lifespan(_app):  # a mounted app's lifespan (its queue) does not start by itself
            async with sub.router.lifespan_context(sub):
                yield

        app_kwargs.update(routes=[Mount(API_PATH, app=sub)], lifespan=lifespan)
    return dict(state_session_capacity=SESSION_CAPACITY, max_file_size=MAX_UPLOAD_BYTES, css=css, head=head,
                app_kwargs=app_kwargs)


class Lab:
    """What a lab tab hands the page: fill(sentence, *controls) -> {component: value}, its control inputs, its outputs.

    The page runs every lab's fill on the explained sentence after each Explain (one source of truth); a tab's
    own controls re-run only that tab, on the same sentence.
    """

    def __init__(self, fill, inputs: list, outputs: list, api: list | None = None):
        self.fill, self.inputs, self.outputs = fill, inputs, outputs
        self.api = api or []  # [(fn, api_name, event kwargs)]: registered by the page, outside the tabs


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
    key = (model, sentence(text))
    with _explained_lock:
        if key in _explained:
            _explained.move_to_end(key)
            return _explained[key]
    expl = explain(models.get(model), key[1])
    with _explained_lock:
        _explained[key] = expl
        while len(_explained) > EXPLAINED_CACHE:
            _explained.popitem(last=False)
    return expl
