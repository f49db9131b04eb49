"""electra-demo train: fine-tune an ELECTRA classifier with Lightning and export a checkpoint folder.

Example (from scratch, every pooling head on one shared backbone):
  electra-demo train --train data/train.tsv --val data/dev.tsv --output checkpoints/my-model
With the hub: --backbone google/electra-small-discriminator
"""
import argparse
import os
import shlex
import sys
import tempfile
import time

import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import EarlyStopping, ModelCheckpoint, WeightAveraging
from transformers import AutoTokenizer, ElectraModel

from ..checkpoint import save_checkpoint
from ..data import load_label_names, read_labelled
from ..errors import CheckpointError, InputError, run_cli
from ..model import PRESETS, build_classifier, preset_config
from ..pooling import parse_poolings
from ..tokenizer import train_wordpiece
from .datamodule import TextDataModule
from .predict import evaluate
from .system import ClassifierSystem


def build_parser():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    d = p.add_argument_group("data")
    d.add_argument("--train", required=True, help="TSV/CSV training file")
    d.add_argument("--val", required=True, help="TSV/CSV validation file (model selection)")
    d.add_argument("--text-column", default="sentence")
    d.add_argument("--label-column", default="label")
    d.add_argument("--labels", default=None, help="labels.json (default: the one beside --train, else from the data)")
    d.add_argument("--max-length", type=int, default=128)
    d.add_argument("--batch-size", type=int, default=32)
    m = p.add_argument_group("model")
    src = m.add_mutually_exclusive_group()
    src.add_argument("--backbone", help="hub id or local folder of a pretrained ELECTRA (discriminator)")
    src.add_argument("--preset", choices=list(PRESETS), default=None, help="train from scratch with this size")
    m.add_argument("--tokenizer", default=None, help="tokenizer folder for --preset (default: train WordPiece on --train)")
    m.add_argument("--vocab-size", type=int, default=8000)
    m.add_argument("--pooling", default="all", help="'all', or comma-separated names, e.g. cls,mean")
    m.add_argument("--main-pooling", default=None, help="the main head (default: cls if trained)")
    m.add_argument("--dropout", type=float, default=0.1)
    o = p.add_argument_group("optimisation")
    o.add_argument("--lr", type=float, default=1e-4)
    o.add_argument("--weight-decay", type=float, default=0.01)
    o.add_argument("--warmup-ratio", type=float, default=0.1)
    o.add_argument("--token-dropout", type=float, default=0.0,
                   help="word dropout: replace this fraction of training tokens by [MASK] (e.g. 0.1)")
    o.add_argument("--ema", type=float, default=0.0,
                   help="exponential moving average of the weights with this decay (e.g. 0.999); validated and exported")
    o.add_argument("--patience", type=int, default=3, help="early stopping on val_acc (validations without gain)")
    t = p.add_argument_group("trainer (passed to pl.Trainer)")
    t.add_argument("--accelerator", default="auto")
    t.add_argument("--devices", default="auto")
    t.add_argument("--num-nodes", type=int, default=1)
    t.add_argument("--strategy", default="auto")
    t.add_argument("--precision", default="32-true")
    t.add_argument("--max-epochs", type=int, default=3)
    t.add_argument("--max-steps", type=int, default=-1)
    t.add_argument("--max-time", default=None, help="DD:HH:MM:SS")
    t.add_argument("--val-check-interval", type=float, default=1.0)
    t.add_argument("--accumulate-grad-batches", type=int, default=1)
    t.add_argument("--limit-train-batches", type=float, default=1.0)
    t.add_argument("--fast-dev-run", action="store_true")
    t.add_argument("--seed", type=int, default=42)
    p.add_argument("--output", required=True, help="checkpoint folder to export")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --output folder")
    p.add_argument("--log-dir", default="runs", help="Lightning logs and .ckpt files")
    return p


def _devices(value):
    return int(value) if str(value).isdigit() else value


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


def build_backbone(args, train_texts):
    if args.backbone:
        try:
            tok = AutoTokenizer.from_pretrained(args.backbone, trust_remote_code=False)
            backbone = ElectraModel.from_pretrained(args.backbone, hidden_dropout_prob=args.dropout, dtype=torch.float32,
                                                    trust_remote_code=False)
            backbone.train()  # from_pretrained returns eval mode: dropout would stay off during fine-tuning
        except OSError as e:
            raise CheckpointError(f"cannot load backbone {args.backbone!r} ({str(e).splitlines()[0]})",
                                  cli="give a local folder, a reachable hub id, or --preset to train from scratch") from e
        return backbone, tok
    tok = AutoTokenizer.from_pretrained(args.tokenizer) if args.tokenizer else train_wordpiece(train_texts, args.vocab_size)
    config = preset_config(args.preset or "mini", len(tok), max(512, args.max_length), hidden_dropout_prob=args.dropout,
                           pad_token_id=tok.pad_token_id)
    return ElectraModel(config), tok


def tokenizer_files(tok) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        tok.save_pretrained(tmp)
        return {n: open(os.path.join(tmp, n), encoding="utf-8").read() for n in os.listdir(tmp)}


def check_args(args):
    """Every flag checked before anything is read or built."""
    for flag, value in (("--token-dropout", args.token_dropout), ("--ema", args.ema)):
        if not 0.0 <= value < 1.0:
            raise InputError(f"{flag} {value}: must be in [0, 1), e.g. --token-dropout 0.1 or --ema 0.999")
    if os.path.isdir(args.output) and os.listdir(args.output) and not args.overwrite:
        raise CheckpointError(f"{args.output} already exists and is not empty",
                              cli="pass --overwrite to replace it, or choose another --output")
    return parse_poolings(args.pooling)


def main(argv=None):
    args = build_parser().parse_args(argv)
    poolings = check_args(args)
    pl.seed_everything(args.seed, workers=True)
    names = load_label_names(args.train, args.labels)
    train_texts, train_labels, labels = read_labelled(args.train, args.text_column, args.label_column, names)
    val_texts, val_labels, _ = read_labelled(args.val, args.text_column, args.label_column, labels)
    backbone, tok = build_backbone(args, train_texts)
    model = build_classifier(backbone, poolings, labels, args.main_pooling, args.max_length)
    drop_id = tok.mask_token_id if tok.mask_token_id is not None else tok.unk_token_id
    if args.token_dropout and drop_id is None:
        raise InputError("--token-dropout needs a [MASK] or [UNK] token and this tokenizer has neither; drop the flag")
    system = ClassifierSystem(model, args.lr, args.weight_decay, args.warmup_ratio, tokenizer_files(tok),
                              args.token_dropout, drop_id, list(tok.all_special_ids))
    dm = TextDataModule(tok, (train_texts, train_labels), (val_texts, val_labels), args.batch_size, args.max_length, args.seed)
    ckpt_cb = ModelCheckpoint(dirpath=None, monitor="val_acc", mode="max", save_top_k=1, save_last=False, filename="best-{step}")
    callbacks = [ckpt_cb, EarlyStopping(monitor="val_acc", mode="max", patience=args.patience, strict=False)]
    if args.ema:  # validation, the saved .ckpt and the export all see the averaged weights
        callbacks.append(WeightAveraging(use_buffers=False, avg_fn=ema_avg_fn(args.ema)))
    loggers = [pl.loggers.CSVLogger(args.log_dir, name="train")]
    try:
        import tensorboard  # noqa: F401
        loggers.append(pl.loggers.TensorBoardLogger(args.log_dir, name="train"))
    except ImportError:
        pass
    trainer = pl.Trainer(
        accelerator=args.accelerator, devices=_devices(args.devices), num_nodes=args.num_nodes, strategy=args.strategy,
        precision=args.precision, max_epochs=args.max_epochs, max_steps=args.max_steps, max_time=args.max_time,
        val_check_interval=args.val_check_interval, accumulate_grad_batches=args.accumulate_grad_batches,
        limit_train_batches=args.limit_train_batches, fast_dev_run=args.fast_dev_run, callbacks=callbacks,
        logger=loggers, use_distributed_sampler=False, default_root_dir=args.log_dir, log_every_n_steps=20,
    )
    t0 = time.time()
    trainer.fit(system, datamodule=dm)
    if not trainer.is_global_zero:
        return None
    best = ckpt_cb.best_model_path
    if best:  # the best step's weights (the averaged ones under --ema) into the model we already have
        state = torch.load(best, map_location="cpu", weights_only=True)["state_dict"]
        model.load_state_dict({k[len("model."):]: v for k, v in state.items() if k.startswith("model.")})
    model.eval()
    metrics = evaluate(model, tok, val_texts, val_labels, args.max_length)
    model.config.training_info = {
        "train_file": args.train, "val_file": args.val,
        "command": "electra-demo train " + shlex.join(sys.argv[1:] if argv is None else argv),
        "val_accuracy": metrics["per_head"], "n_val": metrics["n"], "best_ckpt": best, "global_step": trainer.global_step,
        "train_seconds": round(time.time() - t0, 1), "backbone": args.backbone or f"scratch:{args.preset or 'mini'}",
        "n_parameters": sum(p.numel() for p in model.parameters()), "torch": torch.__version__,
        "smoke_run": bool(args.fast_dev_run),
    }
    save_checkpoint(model, tok, args.output, overwrite=args.overwrite)
    print(f"exported {args.output}; val accuracy per head: {metrics['per_head']}")
    return metrics


def cli_main(argv=None):
    return run_cli(main, argv)


if __name__ == "__main__":
    cli_main()
