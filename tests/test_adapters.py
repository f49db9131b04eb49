"""Each library internal we read lives in one adapter; these tests fail loudly, naming the library and its version,
when an upgrade moves one."""
import pytorch_lightning as pl
import torch

from electra_demo.torch_adapter import tensor_version
from electra_demo.training.lightning_adapter import batches_trained_this_epoch


def test_torch_tensor_version_counts_in_place_writes():
    t = torch.zeros(3)
    before = tensor_version(t)
    t.add_(1)
    assert tensor_version(t) == before + 1, f"torch {torch.__version__}: Tensor._version no longer counts in-place writes"


class _Tiny(pl.LightningModule):
    def __init__(self):
        super().__init__()
        self.layer = torch.nn.Linear(2, 1)
        self.seen = []

    def training_step(self, batch, batch_idx):
        self.seen.append((batch_idx, batches_trained_this_epoch(self.trainer)))
        return self.layer(batch[0]).sum()

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def test_lightning_batches_trained_this_epoch(tmp_path):
    data = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.randn(8, 2)), batch_size=2)
    model = _Tiny()
    pl.Trainer(max_epochs=1, logger=False, enable_checkpointing=False, enable_progress_bar=False,
               enable_model_summary=False, default_root_dir=tmp_path).fit(model, data)
    assert model.seen == [(i, i) for i in range(4)], f"pytorch_lightning {pl.__version__}: {model.seen}"


def test_gradio_rest_routes_events_and_upload_names():
    """Gradio's URL scheme, its event table and the multipart names, as gradio_adapter reads them."""
    import gradio as gr
    from gradio.routes import App

    from electra_demo.app import gradio_adapter as ga

    with gr.Blocks() as demo:
        box = gr.Textbox()
        out = gr.Textbox()
        def echo(text: str) -> str:
            return text

        gr.api(echo, api_name="echo", concurrency_id="model")
        box.submit(lambda t: t, box, out, api_visibility="private", concurrency_id="model")
    where = f"gradio {ga.VERSION}"
    def paths(routes, prefix=""):
        for r in routes:
            yield prefix + getattr(r, "path", "")
            inner = getattr(r, "routes", None) or getattr(getattr(r, "original_router", None), "routes", [])  # mounts, routers
            yield from paths(inner, prefix + getattr(r, "path", ""))

    routes = set(paths(App.create_app(demo).routes))
    for kind in ga.CALL_ROUTES:
        assert f"/gradio_api/{kind}/{{api_name}}" in routes, f"{where}: no /gradio_api/{kind}/{{api_name}} route"
    assert "/gradio_api/call/{api_name}/" in routes, f"{where}: the trailing-slash spelling is no longer the same endpoint"
    m = ga.call_pattern("/api").fullmatch("/gradio_api/call/echo/")  # a trailing slash is the same endpoint
    assert m and m.group(3) == "echo" and m.group(4) is None, where
    assert ga.call_pattern("/api").fullmatch("/api/gradio_api/call/echo/abc123").group(4) == "/abc123"
    assert ga.endpoints_of(demo) == {"echo": ["text"]}, where
    ga.wrap_events(demo, "model", lambda fn: type("W", (), {"__call__": staticmethod(fn), "marked": True})(), "marked")
    assert all(getattr(f.fn, "marked", False) for f in demo.fns.values()), f"{where}: Blocks.fns[...].fn moved"
    body = b'--B\r\nContent-Disposition: form-data; name="files"; filename="rows.tsv"\r\n\r\nx\r\n--B--\r\n'
    assert ga.upload_filenames(b"multipart/form-data; boundary=B", body) == ["rows.tsv"]
    for header in (b'content-disposition: form-data; name=files; filename=a.exe',  # the spellings that got past a regex
                   b'CONTENT-DISPOSITION: form-data; name="files"; FILENAME="a.exe"',
                   b'Content-Disposition : form-data; filename = "a.exe"'):
        odd = b"--B\r\n" + header + b"\r\n\r\nx\r\n--B--\r\n"
        assert ga.upload_filenames(b'multipart/form-data; boundary="B"', odd) == ["a.exe"], header


def test_gradio_sessions_and_running_events():
    """What gradio_adapter.client_gone and forget_sessions read: the current event (LocalContext), the queue's running
    jobs and each Event's flags, the state holder's sessions."""
    import inspect

    import gradio as gr
    from gradio.context import LocalContext
    from gradio.queueing import Event
    from gradio.routes import App

    from electra_demo.app import gradio_adapter as ga

    where = f"gradio {ga.VERSION}"
    with gr.Blocks() as demo:
        gr.Textbox()
    App.create_app(demo)
    assert hasattr(LocalContext, "blocks") and hasattr(LocalContext, "event_id"), f"{where}: LocalContext moved"
    assert isinstance(demo._queue.active_jobs, list), f"{where}: the queue's active_jobs moved"
    init = inspect.getsource(Event.__init__)
    for attr in ("self._id", "self.session_hash", "self.alive", "self.enqueue_time"):
        assert attr in init, f"{where}: Event has no {attr}"
    holder = demo.state_holder
    holder["s"]
    assert holder.session_data["s"].is_closed is False and "s" in holder.time_last_used, where
    holder.session_data["s"].is_closed = True
    assert ga.forget_sessions(demo, 3600) == 1 and "s" not in holder.session_data, where
