"""RequestGuard: the ASGI middleware in front of the Gradio app (body limits before parsing, upload types and space,
404 and 422 for REST calls Gradio would answer badly). The limits are defined in common.py."""
import json
import os

from .common import API_PATH, MAX_BODY_BYTES, MAX_JSON_DEPTH, MAX_TEMP_BYTES, MAX_UPLOAD_BYTES, MAX_URL_CHARS, UPLOAD_DIR, UPLOAD_TYPES
from .gradio_adapter import call_pattern, note_listener, upload_filenames

_CALL = call_pattern(API_PATH)


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

    - a URL (path and query) over MAX_URL_CHARS -> 414, before Gradio parses it;
    - Content-Length over the limit -> 413, before Gradio reads the body; a chunked body (no Content-Length) is read
      here up to the limit (small: 1 MB), refused with 413 past it, else handed on whole;
    - a JSON body nested deeper than MAX_JSON_DEPTH -> 400 (Gradio's parser would hit Python's recursion limit: 500);
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
        url_chars = len(scope.get("raw_path") or path) + len(scope.get("query_string") or b"")
        if url_chars > MAX_URL_CHARS:
            return await _answer(send, 414, f"URL too long: {url_chars:,} characters; the limit is {MAX_URL_CHARS:,}")
        is_upload = path.rstrip("/").endswith("/gradio_api/upload")
        limit = MAX_UPLOAD_BYTES + 64_000 if is_upload else MAX_BODY_BYTES
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            return await _too_large(send, limit)
        m = _CALL.fullmatch(path)  # (API_PATH or "", call|run, NAME, /EVENT or None)
        if m and m.group(2) == "call" and m.group(4) and scope.get("method") == "GET":
            note_listener(m.group(4).strip("/"))  # someone waits for this event's result (gradio_adapter.client_gone)
        if m and (m.group(1) or self.endpoints is not None):
            name, served = m.group(3), self.light if m.group(1) else self.endpoints
            if name not in served:
                return await _answer(send, 404, f"no endpoint named /{name}")
            if not m.group(1) and m.group(2) == "call" and name in self.light:  # same function, no page session
                scope = dict(scope, path=API_PATH + path, raw_path=(API_PATH + path).encode())
            if m.group(2) == "call" and not m.group(4) and scope.get("method") == "POST":
                body = await _checked_body(receive, send, limit)
                if body is None:
                    return None  # answered: too large or too deep
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
            bad = [n for n in upload_filenames(headers.get(b"content-type", b""), body) if not n.lower().endswith(UPLOAD_TYPES)]
            if bad:
                return await _answer(send, 415, f"{bad[0]!r}: only {', '.join(UPLOAD_TYPES)} files are accepted")
            return await self.app(scope, _replay(body), send)
        is_json = b"json" in headers.get(b"content-type", b"").lower()
        if scope.get("method") in ("POST", "PUT", "PATCH") and (length is None or is_json):  # read here, bounded
            body = await _checked_body(receive, send, limit)
            return None if body is None else await self.app(scope, _replay(body), send)
        return await self.app(scope, receive, send)




async def _checked_body(receive, send, limit: int) -> bytes | None:
    """The request body read within `limit` bytes and checked for deep nesting; None once 413 or 400 is answered."""
    body = await _read(receive, limit)
    if body is None:
        await _too_large(send, limit)
        return None
    problem = _too_deep(body)
    if problem:
        await _answer(send, 400, problem)
        return None
    return body


def _too_large(send, limit: int, what: str = "request body"):
    return _answer(send, 413, f"{what} too large: the limit is {limit:,} bytes")


def _too_deep(body: bytes) -> str | None:
    """What is wrong with a JSON body nested deeper than MAX_JSON_DEPTH, or None (also for one that is not JSON).
    Counting brackets is a bound from above (brackets inside strings count too), so most bodies are never parsed."""
    if body.count(b"[") + body.count(b"{") <= MAX_JSON_DEPTH:
        return None
    try:
        stack, depth = [(json.loads(body), 1)], 0
    except RecursionError:
        return f"JSON nested too deeply: the limit is {MAX_JSON_DEPTH} levels"
    except ValueError:
        return None
    while stack:  # iterative: a walk that recursed would meet the same limit
        value, d = stack.pop()
        depth = max(depth, d)
        if depth > MAX_JSON_DEPTH:
            return f"JSON nested too deeply: the limit is {MAX_JSON_DEPTH} levels"
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
        stack.extend((c, d + 1) for c in children if isinstance(c, (dict, list)))
    return None


def _wrong_inputs(body: bytes, name: str, names: list[str]) -> str | None:
    """What is wrong with a REST call's `data` for endpoint /name taking the inputs `names`, or None (also for a body
    that is not JSON: Gradio answers that itself)."""
    try:
        data = json.loads(body).get("data")
    except (ValueError, AttributeError, RecursionError):
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


