"""electra-demo app (or python app.py): serve the explorer. [--checkpoint PATH_OR_HUB_ID] [--host H] [--port P] [--share]

Serves http://127.0.0.1:7860 with the shipped model by default. GRADIO_SERVER_NAME and GRADIO_SERVER_PORT set the
defaults of --host and --port (as on a Hugging Face Space, which runs app.py unchanged). No share link unless
--share; no files served beyond the page's own. The text -> JSON endpoints are also served at /api (a small Blocks
of their own: REST calls there do not pay for the page's session state).
"""
import argparse
import os

from ..errors import InputError, cli


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", default=None, action="append",
                   help="our checkpoint folder, a Hugging Face ELECTRA classifier folder or hub id, or a Lightning .ckpt "
                        "(default: the shipped checkpoints/electra-sst2). Repeat it to offer more models in the page's "
                        "model menu (the first is served first); the folders under checkpoints/ are always offered")
    p.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME") or "127.0.0.1",
                   help="interface to bind (default: $GRADIO_SERVER_NAME or 127.0.0.1)")
    p.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT") or 7860),
                   help="port (default: $GRADIO_SERVER_PORT or 7860)")
    p.add_argument("--share", action="store_true", help="also open a public gradio.live share link (off by default)")
    return p.parse_args(argv)


def port_is_free(host: str, port: int) -> bool:
    """Whether a server could listen on host:port now. SO_REUSEADDR, as uvicorn binds: a port whose last server just
    stopped (connections left in TIME_WAIT for ~60 s) is free; one with a listener is not. Not on Windows, where the
    flag would let a second listener share the port."""
    import socket

    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        if os.name != "nt":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def main(argv=None):
    args = parse_args(argv)

    if not 0 < args.port < 65536:
        raise InputError(f"--port {args.port}: must be between 1 and 65535")
    if not port_is_free(args.host, args.port):  # checked before the slow imports and the model load
        raise InputError(f"port {args.port} on {args.host} is already in use (another server is running there?)",
                         cli=f"stop it, or pass another --port, e.g. --port {args.port + 1}")
    gradio_defaults()
    from ..startup import startup

    with startup():  # imports, model, page: ~900k long-lived objects, made without collector passes over them
        demo, api = build(args)
        from .page import CSS, HEAD
        from .server import launch_kwargs

        served = launch_kwargs(demo, api, CSS, HEAD)
    demo.launch(server_name=args.host, server_port=args.port, share=args.share, **served)


def gradio_defaults():
    """Gradio recomputes its monitoring summary (a pandas DataFrame over up to 10,000 past events) after EVERY event
    by default: 3 ms per call at 100 events, 6 ms at 10,000; measured here, 14% of the /explain throughput was lost
    after 3,000 calls. The monitoring page is off in this app: recompute it every 1,000 events, over at most 1,000.
    Both stay settable from the environment; read when a Blocks is made."""
    os.environ.setdefault("GRADIO_ANALYTICS_CACHE_FREQUENCY", "1000")
    os.environ.setdefault("GRADIO_ANALYTICS_MAX_EVENTS", "1000")


def build(args):
    """(page, light JSON API) for the parsed flags: the model loaded once and shared by every request."""
    import torch

    from ..checkpoint import load_classifier  # imported here so --help is instant
    from .common import CONCURRENCY
    from .models import Models, find_checkpoints
    from .page import build_demo
    from .server import light_api

    # CONCURRENCY model calls run at once; each gets its share of the cores (2 cores, 2 calls: one thread each),
    # so concurrent requests never oversubscribe the CPU; Gradio's event loop needs little besides.
    torch.set_num_threads(max(1, (os.cpu_count() or 1) // CONCURRENCY))
    first, *more = args.checkpoint or [None]
    classifier = load_classifier(first)
    offered = [*find_checkpoints().values(), *more]  # others load on first use (bounded cache)
    demo = build_demo(classifier, models=Models(classifier, offered))
    print(f"loaded {classifier.source}: poolings {', '.join(classifier.model.poolings)}", flush=True)
    return demo, light_api(demo.json_api)  # the same JSON endpoints without the page's session state, at /api


cli_main = cli(main)
