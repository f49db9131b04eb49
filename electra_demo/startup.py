"""startup(): the cyclic garbage collector off while a command starts, then its objects frozen.

Importing torch, transformers and gradio, loading a model and building the page make about 900,000 objects that
live as long as the process. The collector, triggered by allocation counts, walks all of them again and again while
they are made: measured here, 9 full collections take 1.0 s of the app's 4.8 s start (0.56 s of the 2.5 s the
predict CLI spends importing). Inside `with startup():` it is off; on the way out the objects made so far move to
the permanent generation (gc.freeze: later collections skip them, so request-time pauses stay short too) and the
collector is on again. Nested uses are fine: only the outermost turns it back on.
"""
import contextlib
import gc


@contextlib.contextmanager
def startup():
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.freeze()
            gc.enable()
