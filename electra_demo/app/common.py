"""What every tab shares: the one definition of the server limits, and user errors shown as plain text."""
import functools
import html

import gradio as gr

from ..errors import UserError
from ..lab.dataset import MAX_BYTES

QUEUE_SIZE = 32  # requests waiting; more get a clean "queue is full" answer
CONCURRENCY = 2  # model calls running at once, for the whole page (one per core here)
MODEL = dict(concurrency_id="model", concurrency_limit=CONCURRENCY)  # every event that runs the model shares this
MAX_UPLOAD_BYTES = MAX_BYTES  # the dataset view's file limit is the server's upload limit
SESSION_CAPACITY = 200  # sessions whose gr.State the server keeps (least recently used dropped first)
STATE_TTL = 3600  # seconds a session's cached explanation lives
DELETE_CACHE = (600, 1800)  # every 10 minutes, delete uploaded files older than 30 minutes


def user_errors(fn):
    """Run fn; a UserError becomes a gr.Error with its message (and the UI's advice), shown as text, never as HTML."""
    @functools.wraps(fn)  # keeps the signature: gradio finds gr.Progress / gr.SelectData parameters through it
    def wrapped(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except UserError as e:
            raise gr.Error(html.escape(e.for_surface("ui"), quote=False), title="Please check the input", print_exception=False) from e

    return wrapped


def launch_kwargs() -> dict:
    """The limits every page of this app launches with (the explorer and the standalone lab page alike)."""
    return dict(state_session_capacity=SESSION_CAPACITY, max_file_size=MAX_UPLOAD_BYTES)
