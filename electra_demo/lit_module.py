"""The LightningModule training system around ElectraClassifier: joint loss over heads, accuracy, AdamW."""
import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torchmetrics.classification import MulticlassAccuracy

from .model import ElectraClassifier


def drop_tokens(input_ids, attention_mask, p: float, drop_id: int, keep_ids: list[int], generator=None):
    """Word dropout: replace a random fraction p of the real, non-special tokens by drop_id. (B, T) -> (B, T)."""
    u = torch.rand(input_ids.shape, generator=generator, device=input_ids.device)
    droppable = attention_mask.bool() & ~torch.isin(input_ids, torch.tensor(keep_ids, device=input_ids.device))
    return torch.where((u < p) & droppable, torch.full_like(input_ids, drop_id), input_ids)


class ClassifierSystem(pl.LightningModule):
    """Trains every head of `model` jointly: loss = mean over heads of cross-entropy."""

    def __init__(self, model: ElectraClassifier, lr: float = 1e-4, weight_decay: float = 0.01, warmup_ratio: float = 0.1,
                 max_length: int = 128, tokenizer_files: dict | None = None, token_dropout: float = 0.0,
                 drop_id: int = 0, keep_ids: list[int] | None = None):
        super().__init__()
        self.model = model
        self.tokenizer_files = tokenizer_files or {}
        self.save_hyperparameters(ignore=["model", "tokenizer_files"])  # plain values only
        C = len(model.labels)
        self.val_acc = torch.nn.ModuleDict({p: MulticlassAccuracy(num_classes=C, average="micro") for p in model.poolings})

    def forward(self, input_ids, attention_mask):
        return self.model(input_ids, attention_mask)  # {pooling: (B, C)}

    def _losses(self, batch):
        logits = self(batch["input_ids"], batch["attention_mask"])
        return logits, torch.stack([F.cross_entropy(l, batch["labels"]) for l in logits.values()]).mean()

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
        B = len(batch["labels"])
        self.log("val_loss", loss, sync_dist=True, batch_size=B)
        for p, l in logits.items():
            self.val_acc[p].update(l.argmax(-1), batch["labels"])

    def on_validation_epoch_end(self):
        for p, metric in self.val_acc.items():
            self.log(f"val_acc/{p}", metric.compute(), sync_dist=False)
            if p == self.model.default_pooling:
                self.log("val_acc", metric.compute(), prog_bar=True)
            metric.reset()

    def configure_optimizers(self):
        decay = [p for n, p in self.named_parameters() if p.ndim >= 2]
        no_decay = [p for n, p in self.named_parameters() if p.ndim < 2]
        opt = torch.optim.AdamW([{"params": decay, "weight_decay": self.hparams.weight_decay},
                                 {"params": no_decay, "weight_decay": 0.0}], lr=self.hparams.lr)
        total = max(1, int(self.trainer.estimated_stepping_batches))
        warmup = int(self.hparams.warmup_ratio * total)

        def schedule(step):  # linear warmup, then linear decay to 0
            return (step + 1) / max(1, warmup) if step < warmup else max(0.0, (total - step) / max(1, total - warmup))

        return {"optimizer": opt, "lr_scheduler": {"scheduler": torch.optim.lr_scheduler.LambdaLR(opt, schedule), "interval": "step"}}

    def on_save_checkpoint(self, checkpoint):
        """Make the .ckpt self-describing with plain types only, so weights_only=True loading works."""
        m = self.model
        checkpoint["electra_demo"] = {
            "config": m.config.to_dict(), "poolings": m.poolings, "labels": m.labels, "default_pooling": m.default_pooling,
            "max_length": self.hparams.max_length, "tokenizer_files": self.tokenizer_files,
        }
