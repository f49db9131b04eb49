"""The one place that relies on Gradio's internals: its REST URL scheme, how its upload route names files, its table
of events (`Blocks.fns`, whose functions we wrap), the running event (is anyone still waiting for it?) and the
sessions' state (dropped when a page closes). No public API gives these; tests/test_adapters.py fails loudly,
naming Gradio's version, when an upgrade moves one."""
import inspect
import re
import threading
import time
from collections import OrderedDict

import gradio as gr

VERSION = gr.__version__
CALL_ROUTES = ("call", "run")  # POST /gradio_api/call/NAME (then GET .../call/NAME/EVENT_ID), POST /gradio_api/run/NAME


def call_pattern(prefix: str = "") -> re.Pattern:
    """Matches Gradio's REST paths under `prefix`: groups (prefix or None, call|run, NAME, /EVENT or None). A trailing
    slash after NAME is the same endpoint to Gradio, so it is matched as NAME with an empty event."""
    return re.compile(rf"({re.escape(prefix)})?/gradio_api/({'|'.join(CALL_ROUTES)})/([^/]+)(/.+)?/?")


def upload_filenames(content_type: bytes, body: bytes) -> list[str]:
    """The filename of each part of a multipart body, read the way the server reads it: python-multipart's
    parse_options_header (what Starlette and Gradio's upload route use) on each part's Content-Disposition header,
    found case-insensitively, so no spelling of the header (quotes or none, odd case, spaces) gets past the type
    check. Part headers only, never file content."""
    from python_multipart.multipart import parse_options_header

    _, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if not boundary:
        return []
    names = []
    for part in body.split(b"--" + boundary)[1:]:
        for line in part.split(b"\r\n\r\n", 1)[0].split(b"\r\n"):
            key, sep, value = line.partition(b":")
            if sep and key.strip().lower() == b"content-disposition":
                _, options = parse_options_header(value.strip())
                if b"filename" in options:  # (a filename*= part gets no name from this parser: the server stores no file)
                    names.append(stored_name(options[b"filename"].decode("utf-8", "replace")))
    return names


def stored_name(filename: str) -> str:
    """The name Gradio's upload route gives a file sent as `filename` (its last path part, dangerous characters and
    trailing dots and spaces stripped): the type check reads this name, not the one sent."""
    from pathlib import Path

    from gradio_client.utils import strip_invalid_filename_characters

    return strip_invalid_filename_characters(Path(filename).name)


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




def event_functions(blocks: gr.Blocks, name: str) -> list[tuple]:
    """[(function, input components)] of every event of `blocks` whose function is called `name` (page events
    included), in the order they were registered: what a test calls to run one click's work in process."""
    return [(fn.fn, list(fn.inputs)) for fn in blocks.fns.values() if fn.name == name and fn.fn is not None]


def wrap_events(blocks: gr.Blocks, concurrency_id: str, wrapper, marker: str):
    """Replace the function of every event of `blocks` in the concurrency group `concurrency_id` by wrapper(fn), once
    (functions already carrying the attribute `marker` are left alone). Gradio has no public hook around an event's
    function; its Blocks keep them in `fns[...].fn`."""
    for block_fn in blocks.fns.values():
        if block_fn.concurrency_id == concurrency_id and not getattr(block_fn.fn, marker, False):
            block_fn.fn = wrapper(block_fn.fn)


_listened: OrderedDict = OrderedDict()  # ids of events whose result stream a REST client opened (the last 10,000)
_listened_lock = threading.Lock()


def note_listener(event_id: str):
    """A REST client opened the result stream of `event_id` (GET /gradio_api/call/NAME/EVENT; the request guard
    sees it)."""
    with _listened_lock:
        _listened[event_id] = None
        while len(_listened) > 10_000:
            _listened.popitem(last=False)


def client_gone(grace: float) -> bool:
    """Whether nobody waits any more for the event running in this thread: Gradio marked it dead (the page's or the
    result's stream closed: Gradio sets `Event.alive` False then, and only skips events not yet started), or it is a
    REST call (session-less: its session is its own id) whose result stream was not opened within `grace` seconds of
    posting. False outside an event. Gradio keeps the running event in its queue's `active_jobs`; the current
    event's id and Blocks are in its `LocalContext`."""
    from gradio.context import LocalContext

    blocks, event_id = LocalContext.blocks.get(None), LocalContext.event_id.get(None)
    queue = getattr(blocks, "_queue", None)
    if queue is None or event_id is None:
        return False
    event = next((e for job in queue.active_jobs if job for e in job if e._id == event_id), None)
    if event is None:
        return False
    if not event.alive:
        return True
    with _listened_lock:
        listened = event_id in _listened
    return event.session_hash == event._id and not listened and time.monotonic() - event.enqueue_time > grace


def forget_sessions(blocks: gr.Blocks, idle_s: float) -> int:
    """Drop the session state (Gradio keeps ~1 MB per page session: a copy of every block's config) of each session
    whose page closed (its heartbeat ended: Gradio only marks it, and keeps it an hour) or that ran no event for
    `idle_s` seconds; returns how many were dropped. Gradio keeps sessions in `Blocks.state_holder` (`session_data`,
    `time_last_used`), and has no public call to drop one."""
    import datetime

    holder = getattr(blocks, "state_holder", None)
    if holder is None:
        return 0
    oldest = datetime.datetime.now() - datetime.timedelta(seconds=idle_s)
    with holder.lock:
        gone = [sid for sid, s in holder.session_data.items()
                if s.is_closed or holder.time_last_used.get(sid, oldest) <= oldest]
        for sid in gone:
            holder.session_data.pop(sid, None)
            holder.time_last_used.pop(sid, None)
    return len(gone)
