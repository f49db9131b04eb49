"""How the page is served: the light JSON API (its own Blocks at API_PATH), one process-wide limit on model work across
both Blocks, and launch()'s keyword arguments (the request guard, the mounted API)."""
import functools
import os
import shutil
import tempfile
import threading
import time

import gradio as gr

from .common import (
    ABANDON_GRACE,
    API_PATH,
    CONCURRENCY,
    DELETE_CACHE,
    EXPORT_PREFIX,
    EXPORT_TTL,
    FILE_TTL,
    HEAVY,
    MAX_TEMP_BYTES,
    MAX_UPLOAD_BYTES,
    MODEL,
    QUEUE_SIZE,
    SESSION_CAPACITY,
    SESSION_IDLE,
    SWEEP_EVERY,
    UPLOAD_DIR,
    user_errors,
)
from .gradio_adapter import client_gone, endpoints_of, forget_sessions, wrap_events
from .guard import RequestGuard


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
_heavy_slot = threading.BoundedSemaphore(HEAVY["concurrency_limit"])


def share_model_slots(*blocks: gr.Blocks):
    """One limit on model work for the whole server: every event of the `MODEL` group, in any of these Blocks (each
    has its own queue, so its own group), runs holding one of CONCURRENCY process-wide slots; every event of the
    `HEAVY` group first takes the one heavy slot, then a model slot, and gives memory back when it ends."""
    for b in blocks:
        wrap_events(b, MODEL["concurrency_id"], _holding_slot, "_holds_slot")
        wrap_events(b, HEAVY["concurrency_id"], _heavy, "_holds_slot")


def _heavy(fn):
    @functools.wraps(fn)
    def wrapped(*args, **kwargs):
        with _heavy_slot, _model_slots:
            if client_gone(ABANDON_GRACE):  # it waited its turn, and nobody waits for its answer any more
                raise gr.Error("stopped: nobody is waiting for this answer any more", print_exception=False)
            try:
                return fn(*args, **kwargs)
            finally:
                trim_memory()

    wrapped._holds_slot = True
    return wrapped


def steady_malloc():
    """glibc's malloc, set before the first request so freed model memory goes back to the system: every block of
    1 MB or more is its own mapping (returned on free; by default the threshold grows with each large block freed,
    and later tensors then come from the heap, which only shrinks from its top), and at most CONCURRENCY arenas
    (one per model slot: each worker thread would otherwise get an arena of its own that keeps its peak). A no-op
    without glibc."""
    import ctypes

    M_MMAP_THRESHOLD, M_ARENA_MAX = -3, -8
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(M_MMAP_THRESHOLD, 1 << 20)
        libc.mallopt(M_ARENA_MAX, CONCURRENCY)
    except (OSError, AttributeError):
        pass


def trim_memory():
    """Hand freed heap memory back to the system (glibc's malloc_trim): after a run over a large set the allocator
    otherwise keeps much of its peak for the life of the process (scripts/attack_server.py --only heavy measures
    RSS a minute after). A no-op without glibc."""
    import ctypes

    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _holding_slot(fn):
    @functools.wraps(fn)  # keeps the signature: gradio finds gr.Progress / gr.Request parameters through it
    def wrapped(*args, **kwargs):
        with _model_slots:
            return fn(*args, **kwargs)

    wrapped._holds_slot = True
    return wrapped


def sweep_temp_files(now: float | None = None, cache: str = UPLOAD_DIR, exports: str | None = None) -> int:
    """Delete temporary files past their lifetime; returns the bytes freed. In Gradio's cache (`cache`: uploads and
    every file handed to the page, one folder per content hash): files older than FILE_TTL, then the oldest while it
    holds over MAX_TEMP_BYTES // 2, then the folders left empty. In `exports` (the system's temp dir): the page's export
    folders (EXPORT_PREFIX) older than EXPORT_TTL (Gradio serves its own copy of each export from the cache)."""
    now = time.time() if now is None else now
    freed, files = 0, []
    for root, _, names in os.walk(cache):
        for n in names:
            try:
                st = os.stat(os.path.join(root, n))
            except OSError:
                continue
            files.append((st.st_ctime, st.st_size, os.path.join(root, n)))
    files.sort()  # oldest first
    total = sum(f[1] for f in files)
    for ctime, size, path in files:
        if now - ctime <= FILE_TTL and total <= MAX_TEMP_BYTES // 2:
            break
        try:
            os.remove(path)
            freed, total = freed + size, total - size
        except OSError:
            pass
    for root, dirs, _ in os.walk(cache, topdown=False):
        for d in dirs:
            try:  # only empty ones, and not a folder the upload route has just made for a file on its way
                if now - os.stat(os.path.join(root, d)).st_mtime > SWEEP_EVERY:
                    os.rmdir(os.path.join(root, d))
            except OSError:
                pass
    exports = tempfile.gettempdir() if exports is None else exports
    for n in os.listdir(exports):
        path = os.path.join(exports, n)
        try:
            if n.startswith(EXPORT_PREFIX) and now - os.stat(path).st_ctime > EXPORT_TTL:
                freed += sum(os.path.getsize(os.path.join(path, f)) for f in os.listdir(path))
                shutil.rmtree(path)
        except OSError:
            pass
    return freed


_sweeping = threading.Event()


def start_sweeping(*blocks: gr.Blocks):
    """Every SWEEP_EVERY seconds, in a daemon thread (once per process): sweep the temporary files, and drop the
    session state of the closed or idle sessions of `blocks` (then hand the memory back)."""
    if _sweeping.is_set():
        return
    _sweeping.set()

    def loop():
        while True:
            time.sleep(SWEEP_EVERY)
            try:
                sweep_temp_files()
                if sum(forget_sessions(b, SESSION_IDLE) for b in blocks):
                    trim_memory()
            except Exception as e:  # a sweep that fails must not end the sweeping; say it in one line
                print(f"sweep failed: {e!r}", flush=True)

    threading.Thread(target=loop, name="sweep-temp-files", daemon=True).start()


def launch_kwargs(demo: gr.Blocks, api: gr.Blocks | None = None, css: str = "", head: str = "") -> dict:
    """demo.launch(**these): the server limits, and the light JSON API `api` (if any) mounted at API_PATH."""
    import contextlib

    from fastapi import FastAPI
    from starlette.middleware import Middleware
    from starlette.routing import Mount

    steady_malloc()
    start_sweeping(*[b for b in (demo, api) if b is not None])
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


