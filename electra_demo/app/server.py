"""How the page is served: the light JSON API (its own Blocks at API_PATH), one process-wide limit on model work across
both Blocks, and launch()'s keyword arguments (the request guard, the mounted API)."""
import functools
import threading

import gradio as gr

from .common import API_PATH, CONCURRENCY, DELETE_CACHE, MAX_UPLOAD_BYTES, MODEL, QUEUE_SIZE, SESSION_CAPACITY, user_errors
from .gradio_adapter import endpoints_of, wrap_events
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


def share_model_slots(*blocks: gr.Blocks):
    """One limit on model work for the whole server: every event of the `MODEL` group, in any of these Blocks (each
    has its own queue, so its own group), runs holding one of CONCURRENCY process-wide slots."""
    for b in blocks:
        wrap_events(b, MODEL["concurrency_id"], _holding_slot, "_holds_slot")


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


