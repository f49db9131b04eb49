"""The one place that relies on Gradio's internals: its REST URL scheme, how its upload route names files, and its table
of events (`Blocks.fns`, whose functions we wrap). No public API gives these; tests/test_adapters.py fails loudly,
naming Gradio's version, when an upgrade moves one."""
import inspect
import re

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
                    names.append(options[b"filename"].decode("utf-8", "replace"))
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




def wrap_events(blocks: gr.Blocks, concurrency_id: str, wrapper, marker: str):
    """Replace the function of every event of `blocks` in the concurrency group `concurrency_id` by wrapper(fn), once
    (functions already carrying the attribute `marker` are left alone). Gradio has no public hook around an event's
    function; its Blocks keep them in `fns[...].fn`."""
    for block_fn in blocks.fns.values():
        if block_fn.concurrency_id == concurrency_id and not getattr(block_fn.fn, marker, False):
            block_fn.fn = wrapper(block_fn.fn)
