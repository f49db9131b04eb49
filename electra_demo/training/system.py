"""The Lightning training system around ElectraPoolingClassifier: joint loss over heads, accuracy, AdamW."""
import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torchmetrics import MeanMetric
from torchmetrics.classification import MulticlassAccuracy
from transformers import get_linear_schedule_with_warmup

from ..model import ElectraPoolingClassifier


def drop_tokens(input_ids, attention_mask, p: float, drop_id: int, keep_ids: list[int], generator=None):
    """Word dropout: replace a random fraction p of the real, non-special tokens by drop_id. (B, T) -> (B, T)."""
    u = torch.rand(input_ids.shape, generator=generator, device=input_ids.device)
    droppable = attention_mask.bool() & ~torch.isin(input_ids, torch.tensor(keep_ids, device=input_ids.device))
    return torch.where((u < p) & droppable, torch.full_like(input_ids, drop_id), input_ids)


class ClassifierSystem(pl.LightningModule):
    """Trains every head of `model` jointly: loss = mean over heads of cross-entropy.

    Logged: val_acc/<pooling> per head, val_acc (the main head) and val_acc_heads_mean (mean over heads).
    """

    def __init__(self, model: ElectraPoolingClassifier, lr: float = 1e-4, weight_decay: float = 0.01,
                 warmup_ratio: float = 0.1, tokenizer_files: dict | None = None, token_dropout: float = 0.0,
                 drop_id: int = 0, keep_ids: list[int] | None = None):
        super().__init__()
        self.model = model
        self.tokenizer_files = tokenizer_files or {}
        self.save_hyperparameters(ignore=["model", "tokenizer_files"])  # plain values only
        C = model.config.num_labels
        self.val_acc = torch.nn.ModuleDict({p: MulticlassAccuracy(num_classes=C, average="micro") for p in model.poolings})
        self.val_acc_heads_mean = MeanMetric()

    def forward(self, input_ids, attention_mask):
        return self.model(input_ids, attention_mask)  # {pooling: (B, C)}

    def _losses(self, batch):
        logits = self(batch["input_ids"], batch["attention_mask"])
        return logits, torch.stack([F.cross_entropy(x, batch["labels"]) for x in logits.values()]).mean()

    def training_step(self, batch, batch_idx):
        if self.hparams.token_dropout > 0:
            ids = drop_tokens(batch["input_ids"], batch["attention_mask"], self.hparams.token_dropout,
                              self.hparams.drop_id, self.hparams.keep_ids or [])
            batch = {**batch, "input_ids": ids}
        _, loss = self._losses(batch)
        self.log("train_loss", loss, prog_bar=True, batch_size=len(batch["labels"]))
        return loss

    def validation_step(self, batch, batch_idx):
        logits, loss = self._losses(batch)
        y = batch["labels"]
        self.log("val_loss", loss, sync_dist=True, batch_size=len(y))
        for p, x in logits.items():
            self.val_acc[p].update(x.argmax(-1), y)
            self.log(f"val_acc/{p}", self.val_acc[p], on_epoch=True, batch_size=len(y))
        self.log("val_acc", self.val_acc[self.model.main_pooling], on_epoch=True, prog_bar=True, batch_size=len(y))
        correct = torch.stack([x.argmax(-1) == y for x in logits.values()]).float()  # (P, B)
        self.val_acc_heads_mean.update(correct.mean(0))
        self.log("val_acc_heads_mean", self.val_acc_heads_mean, on_epoch=True, batch_size=len(y))

    def configure_optimizers(self):
        decay = [p for n, p in self.named_parameters() if p.ndim >= 2]
        no_decay = [p for n, p in self.named_parameters() if p.ndim < 2]
        opt = torch.optim.AdamW([{"params": decay, "weight_decay": self.hparams.weight_decay},
                                 {"params": no_decay, "weight_decay": 0.0}], lr=self.hparams.lr)
        total = max(1, int(self.trainer.estimated_stepping_batches))
        schedule = get_linear_schedule_with_warmup(opt, int(self.hparams.warmup_ratio * total), total)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}

    def on_save_checkpoint(self, checkpoint):
        """Make the .ckpt self-describing with plain types only, so weights_only=True loading works."""
        checkpoint["electra_demo"] = {"config": self.model.config.to_dict(), "tokenizer_files": self.tokenizer_files}
