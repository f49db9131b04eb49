"""The training run's callbacks and helpers: the bias-corrected EMA, plain progress lines for logs, early stopping
counted in epochs, the interruption handler (SIGINT/SIGTERM), and the sentence that says why a run stopped."""
import sys
import time

import pytorch_lightning as pl
from pytorch_lightning.callbacks import EarlyStopping, Timer
from pytorch_lightning.utilities.exceptions import SIGTERMException


def ema_avg_fn(decay: float):
    """Bias-corrected EMA (as Adam's moments): after n updates, step k has weight decay**(n-k) * (1-decay) / (1-decay**n).

    No weight is left on the initialisation, and the window is ~1/(1-decay) steps from the start.
    AveragedModel copies the weights on the first update and calls this from the second on (num_averaged = 1, 2, ...).
    """
    def avg_fn(averaged, current, num_averaged):
        n = float(num_averaged) + 1.0  # this update is the n-th sample
        rate = (1.0 - decay) / (1.0 - decay ** n)
        return averaged + (current - averaged) * rate
    return avg_fn


def _fmt_seconds(s: float) -> str:
    s = int(max(0, s))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


class PlainProgress(pl.Callback):
    """One line every `every` seconds (and after each validation) for logs: step, epoch, loss, val acc, ETA."""

    def __init__(self, every: float, monitor: str, max_seconds: float | None = None, stream=None):
        self.every, self.monitor, self.max_seconds, self.stream = every, monitor, max_seconds, stream
        self.t0 = self.last = 0.0
        self.step0 = 0

    def on_train_start(self, trainer, module):
        self.t0 = self.last = time.time()
        self.step0 = trainer.global_step

    def line(self, trainer) -> str:
        m = trainer.callback_metrics
        step, total = trainer.global_step, max(1, int(trainer.estimated_stepping_batches))
        elapsed = time.time() - self.t0
        done = step - self.step0
        eta = (total - step) * elapsed / done if done else float("nan")
        if self.max_seconds is not None:
            eta = min(eta, self.max_seconds - elapsed) if done else self.max_seconds - elapsed
        parts = [f"step {step}/{total}", f"epoch {trainer.current_epoch + 1}/{trainer.max_epochs}"]
        if "train_loss" in m:
            parts.append(f"loss {float(m['train_loss']):.4f}")
        for key in dict.fromkeys(("val_acc", self.monitor)):
            if key in m:
                parts.append(f"{key} {float(m[key]):.4f}")
        parts += [f"elapsed {_fmt_seconds(elapsed)}", f"eta {_fmt_seconds(eta) if eta == eta else '?'}"]
        return "progress: " + " ".join(parts)

    def _print(self, trainer):
        self.last = time.time()
        print(self.line(trainer), file=self.stream or sys.stdout, flush=True)

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
        if time.time() - self.last >= self.every:
            self._print(trainer)

    def on_validation_end(self, trainer, module):
        if not trainer.sanity_checking:
            self._print(trainer)


class EpochPatience(EarlyStopping):
    """Early stopping with patience in epochs: converted to validation checks once Lightning knows how many run per
    epoch (--val-check-interval 0.25 on 15 batches validates every 3 batches: 5 checks an epoch)."""

    def __init__(self, epochs: int, **kwargs):
        super().__init__(patience=epochs, **kwargs)
        self.epochs, self.checks_per_epoch = epochs, 1

    def on_train_start(self, trainer, module):
        every = trainer.val_check_batch
        if isinstance(every, int | float) and 0 < every < float("inf"):
            self.checks_per_epoch = max(1, int(trainer.num_training_batches // every))
        self.patience = self.epochs * self.checks_per_epoch


class Interruption(pl.Callback):
    """Records a SIGINT/SIGTERM that Lightning turned into an exception, and saves the resumable last.ckpt then."""

    def __init__(self, last_path: str):
        self.last_path, self.signal = last_path, None

    def on_exception(self, trainer, module, exception):
        if isinstance(exception, KeyboardInterrupt):
            self.signal = "SIGINT"
        elif isinstance(exception, SIGTERMException):
            self.signal = "SIGTERM"
        if self.signal and not trainer.fast_dev_run and trainer.global_step > 0:
            trainer.save_checkpoint(self.last_path)  # the full training state (optimizer too), for --resume


def stop_reason(trainer, early: EpochPatience, args) -> str:
    """Why fit returned, in words."""
    if args.fast_dev_run:
        return "--fast-dev-run: one batch of training and validation (a smoke run, not a model)"
    if early.stopped_epoch or early.wait_count >= early.patience:
        return (f"early stopping: {early.monitor} did not improve for {args.patience} epoch(s) "
                f"({early.wait_count} validations at {early.checks_per_epoch} per epoch); best {float(early.best_score):.4f}")
    timer = next((c for c in trainer.callbacks if isinstance(c, Timer)), None)
    if args.max_seconds is not None and timer is not None and timer.time_remaining("train") <= 0:
        return f"--max-time {args.max_time} reached"
    if args.max_steps > 0 and trainer.global_step >= args.max_steps:
        return f"--max-steps {args.max_steps} reached"
    return f"--max-epochs {args.max_epochs} completed"
