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
