"""What an attacker tried and the server now withstands: bodies nested too deep, overlong URLs, bad list items and
labels, temporary files and uploads with a lifetime, per-session uploads, abandoned heavy work, session memory."""
import json

import pytest


@pytest.fixture
def guarded():
    """The request guard alone, in front of a stand-in app that echoes the body's length."""
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route
    from starlette.testclient import TestClient

    from electra_demo.app.guard import RequestGuard

    async def echo(request):
        return PlainTextResponse(str(len(await request.body())))

    app = Starlette(routes=[Route("/gradio_api/call/explain", echo, methods=["POST"]),
                            Route("/gradio_api/queue/join", echo, methods=["POST"]), Route("/", echo)])
    return TestClient(RequestGuard(app, endpoints={"explain": ["text"]}), raise_server_exceptions=False)


@pytest.mark.parametrize("path", ["/gradio_api/call/explain", "/gradio_api/call/explain/", "/gradio_api/queue/join"])
def test_json_nested_too_deep_is_400_in_one_line(guarded, path):
    for depth in (200_000, 65):  # past Python's recursion limit (Gradio answered 500), and just past ours
        body = b"[" * depth + b"]" * depth
        r = guarded.post(path, content=body, headers={"content-type": "application/json"})
        assert r.status_code == 400 and r.text == "JSON nested too deeply: the limit is 64 levels", (depth, r.text)
    deep_ok = json.dumps({"data": [[[["x"] * 3] * 3] * 3]}).encode()
    r = guarded.post("/gradio_api/queue/join", content=deep_ok, headers={"content-type": "application/json"})
    assert r.status_code == 200 and r.text == str(len(deep_ok))  # handed on whole
    brackets_in_a_string = json.dumps({"data": ["[" * 5000]}).encode()
    assert guarded.post("/gradio_api/call/explain", content=brackets_in_a_string).status_code == 200


def test_overlong_url_is_414_before_gradio_parses_it(guarded):
    """Past 65,536 characters Gradio's own URL handling (httpx) raised: 500 and a traceback. httpx refuses to send
    such a URL, so the request is handed to the guard as the server would (an ASGI scope)."""
    import asyncio

    from electra_demo.app.guard import RequestGuard

    async def app(scope, receive, send):
        raise AssertionError("the app must not see it")

    async def call(query: bytes):
        sent = []

        async def receive():
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message):
            sent.append(message)

        scope = {"type": "http", "method": "GET", "path": "/", "raw_path": b"/", "query_string": query, "headers": []}
        await RequestGuard(app)(scope, receive, send)
        return sent[0]["status"], sent[1]["body"].decode()

    for n in (66_000, 500_000):
        status, text = asyncio.run(call(b"sentence=" + b"a" * n))
        assert status == 414 and text == f"URL too long: {n + 10:,} characters; the limit is 60,000", text
    assert guarded.get("/?sentence=" + "a" * 40_000).status_code == 200  # a permalink with a long sentence
