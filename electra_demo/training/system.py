"""The Lightning training system around ElectraPoolingClassifier: joint loss over heads, accuracy, AdamW with a
linear warmup/decay schedule whose horizon follows the bound in force (steps, epochs, or --max-time)."""
import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from pytorch_lightning.callbacks import Timer
from torchmetrics import MeanMetric
from torchmetrics.classification import MulticlassAccuracy

from ..model import ElectraPoolingClassifier


def drop_tokens(input_ids, attention_mask, p: float, drop_id: int, keep_ids: list[int], generator=None):
    """Word dropout: replace a random fraction p of the real, non-special tokens by drop_id. (B, T) -> (B, T)."""
    u = torch.rand(input_ids.shape, generator=generator, device=input_ids.device)
    droppable = attention_mask.bool() & ~torch.isin(input_ids, torch.tensor(keep_ids, device=input_ids.device))
    return torch.where((u < p) & droppable, torch.full_like(input_ids, drop_id), input_ids)


class ClassifierSystem(pl.LightningModule):
    """Trains every head of `model` jointly: loss = mean over heads of cross-entropy.

    Logged: val_acc/<pooling> per head, val_acc (the main head), val_acc_heads_mean (mean over heads) and
    val_acc_best_head (the best head's accuracy): the three things `train --monitor` can select on.
    The learning rate warms up linearly over warmup_ratio of `horizon` steps, then decays linearly to 0 at `horizon`
    (the same curve as transformers' get_linear_schedule_with_warmup). `horizon` starts as the step/epoch bound;
    under a time limit (max_time) it is re-estimated every RESCHEDULE_EVERY steps from the measured time per
    step, so a time-bounded run ends its decay when time runs out instead of stopping mid-schedule.
    """

    RESCHEDULE_EVERY = 10

    def __init__(self, model: ElectraPoolingClassifier, lr: float = 1e-4, weight_decay: float = 0.01,
                 warmup_ratio: float = 0.1, tokenizer_files: dict | None = None, token_dropout: float = 0.0,
                 drop_id: int = 0, keep_ids: list[int] | None = None, run: dict | None = None):
        super().__init__()
        self.model = model
        self.tokenizer_files = tokenizer_files or {}
        self.identity = dict(run or {})  # the run's identity (output, backbone, train file): --resume checks it
        self.save_hyperparameters(ignore=["model", "tokenizer_files", "run"])  # plain values only
        C = model.config.num_labels
        self.val_acc = torch.nn.ModuleDict({p: MulticlassAccuracy(num_classes=C, average="micro") for p in model.poolings})
        self.val_acc_heads_mean = MeanMetric()
        self.horizon = 1  # steps until the learning rate reaches 0; set in configure_optimizers

    def lr_factor(self, step: int) -> float:
        warmup = int(self.hparams.warmup_ratio * self.horizon)
        if step < warmup:
            return step / max(1, warmup)
        return max(0.0, (self.horizon - step) / max(1, self.horizon - warmup))

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

    def on_validation_epoch_end(self):
        accs = [self.val_acc[p].compute() for p in self.model.poolings if self.val_acc[p].update_count]
        if accs:
            self.log("val_acc_best_head", torch.stack(accs).max())

    def on_train_batch_end(self, outputs, batch, batch_idx):
        """Under max_time: horizon = steps done + the time left / measured seconds per step (never past the step bound)."""
        step = self.trainer.global_step
        timer = next((c for c in self.trainer.callbacks if isinstance(c, Timer)), None)
        if timer is None or timer.time_remaining("train") is None or step < self.RESCHEDULE_EVERY or step % self.RESCHEDULE_EVERY:
            return
        per_step = timer.time_elapsed("train") / step
        bound = max(1, int(self.trainer.estimated_stepping_batches))
        self.horizon = max(step + 1, min(bound, int(step + timer.time_remaining("train") / per_step)))

    def configure_optimizers(self):
        decay = [p for n, p in self.named_parameters() if p.ndim >= 2]
        no_decay = [p for n, p in self.named_parameters() if p.ndim < 2]
        opt = torch.optim.AdamW([{"params": decay, "weight_decay": self.hparams.weight_decay},
                                 {"params": no_decay, "weight_decay": 0.0}], lr=self.hparams.lr)
        self.horizon = max(1, int(self.trainer.estimated_stepping_batches))

        def factor(step):  # a plain function: LambdaLR's state_dict then stores nothing for it
            return self.lr_factor(step)

        schedule = torch.optim.lr_scheduler.LambdaLR(opt, factor)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}

    def on_save_checkpoint(self, checkpoint):
        """Make the .ckpt self-describing with plain types only, so weights_only=True loading works."""
        checkpoint["electra_demo"] = {"config": self.model.config.to_dict(), "tokenizer_files": self.tokenizer_files,
                                      "horizon": self.horizon, "run": self.identity}

    def on_load_checkpoint(self, checkpoint):
        self.horizon = int(checkpoint.get("electra_demo", {}).get("horizon", self.horizon))
