"""Start `python app.py` in a subprocess and wait until it serves, and open it in Debian's chromium: shared by the
server and browser tests, scripts/bench_app.py and scripts/screenshots.py."""
import contextlib
import os
import socket
import subprocess
import sys
import time

import httpx

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Debian's chromium, driven by Playwright (its own browser download does not work offline); the flags keep
# it from reaching for the network and let it run as root without a sandbox.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def app_env() -> dict:
    """This environment, offline, without analytics, and without GRADIO_SERVER_* overriding --host/--port."""
    env = dict(os.environ, GRADIO_ANALYTICS_ENABLED="False", HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1")
    env.pop("GRADIO_SERVER_NAME", None)
    env.pop("GRADIO_SERVER_PORT", None)
    return env


def serve(argv: list[str], port: int, log_path: str, timeout: float = 90.0):
    """Run `argv` (a Gradio server on `port`); (Popen, url, seconds to the first HTTP 200). RuntimeError with the log otherwise."""
    log = open(log_path, "w")
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=ROOT, env=app_env(), stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    while time.perf_counter() - t0 < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"{argv[1]} exited with {proc.returncode}:\n{open(log_path).read()}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return proc, url, time.perf_counter() - t0
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    stop_app(proc)
    raise RuntimeError(f"{argv[1]} did not serve within {timeout:.0f} s:\n{open(log_path).read()}")


def start_app(checkpoint: str | None, port: int, log_path: str, timeout: float = 90.0):
    """`python app.py` on `port`: (Popen, url, seconds from start to the first HTTP 200)."""
    args = [sys.executable, os.path.join(ROOT, "app.py"), "--port", str(port)]
    args += ["--checkpoint", checkpoint] if checkpoint else []
    return serve(args, port, log_path, timeout)


def stop_app(proc):
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextlib.contextmanager
def browser_page(url: str, width: int = 1280, timeout_s: float = 30.0, height: int = 900):
    """A Playwright page in Debian's chromium, opened at `url` (Playwright is a test/script dependency: imported here)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.set_default_timeout(timeout_s * 1000)
            page.console_errors = []  # the page's own console errors, for the tests to check
            page.on("console", lambda m: page.console_errors.append(m.text) if m.type == "error" else None)
            page.goto(url)
            yield page
        finally:
            browser.close()
