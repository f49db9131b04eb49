"""electra-demo train: fine-tune an ELECTRA classifier with Lightning and export a checkpoint folder.

Example (from scratch, every pooling head on one shared backbone):
  electra-demo train --train data/train.tsv --val data/dev.tsv --output checkpoints/my-model
No validation file? --val-fraction 0.1 holds out 10% of --train (stratified, seeded).
With the hub: --backbone google/electra-small-discriminator
Interrupted (Ctrl+C, SIGTERM)? The best weights so far are exported, marked interrupted; add --resume to continue.
"""
import argparse
import datetime
import hashlib
import json
import math
import os
import re
import shlex
import sys
import tempfile
import time

import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import ModelCheckpoint, WeightAveraging
from transformers import AutoConfig, AutoTokenizer, ElectraConfig, ElectraModel
from transformers.utils import logging as hf_logging

from ..backbone import INSTALL_HINT, PACKAGE, describe, package_folder, transplant
from ..checkpoint import LIMITS, load_classifier, looks_like_hub_id, read_ckpt, save_checkpoint
from ..data import labels_path, load_label_names, read_labelled, split_stratified
from ..errors import CheckpointError, InputError, cli
from ..model import MAX_LENGTH, MAX_POSITIONS, PRESETS, build_classifier, preset_config
from ..pooling import parse_poolings
from ..tokenizer import train_wordpiece
from .callbacks import EpochPatience, Interruption, PlainProgress, ema_avg_fn, stop_reason
from .datamodule import TextDataModule, resuming
from .predict import evaluate
from .system import ClassifierSystem

# Threads, measured on the 2-core dev machine (mini preset, every head, batch 32, steps/s):
#   other core idle (helper run, 01:38):    1 thread 4.6, 2 threads 8.0  -> 2 threads win
#   other core busy (bench_threads.py, load ~8): 1 thread 1.35, 2 threads 0.17 -> 1 thread wins by far
# Two threads only pay when the cores are free, so the default takes the cores nobody else is using right now: measured
# over half a second from /proc/stat (the 1-minute load average lags: right after another job ended it still counted it
# as running, and the next run took 1 thread on an idle machine).


def _cpu_times() -> tuple[int, int] | None:
    """(idle, total) jiffies over all cores from /proc/stat; None where there is no /proc/stat."""
    try:
        with open("/proc/stat") as f:
            values = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    return values[3] + values[4], sum(values)  # idle + iowait, all


def default_threads(window: float = 0.5) -> int:
    """The CPU cores idle right now (measured over `window` seconds), at least 1; the load average where /proc is absent."""
    cores = os.cpu_count() or 1
    before = _cpu_times()
    if before is not None:
        time.sleep(window)
        after = _cpu_times()
        idle, total = after[0] - before[0], after[1] - before[1]
        if total > 0:
            return max(1, min(cores, round(cores * idle / total)))
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = 0.0
    return max(1, min(cores, round(cores - load)))


# The default recipes, one per start, tuned on dev splits (SST-2 dev, SST-5 dev, a held-out part of MR's train), never
# per dataset and never on test. Every run takes about `target_steps` optimizer steps (at least one epoch): small sets
# get several epochs, large ones one; validation runs ~16 times over the run; selection and early stopping watch the
# mean over heads (--monitor mean). A flag given on the command line wins over its recipe value.
RECIPES = {
    # fine-tuning a pretrained encoder (the default when the pretrained package is installed): a small learning rate,
    # the encoder's own dropout, no word dropout or weight averaging (they slow fine-tuning down more than they help)
    "pretrained": dict(lr=1e-4, dropout=0.1, token_dropout=0.0, ema=0.0, target_steps=800),
    # from scratch: a large learning rate, strong regularisation (word dropout, EMA of the weights)
    "scratch": dict(lr=2e-4, dropout=0.2, token_dropout=0.2, ema=0.998, target_steps=2000),
}
RECIPE_FLAGS = ("lr", "dropout", "token_dropout", "ema")
VALIDATIONS_PER_RUN = 16
MONITORS = {"main": "val_acc", "mean": "val_acc_heads_mean", "best": "val_acc_best_head"}
PRECISIONS = ("32-true", "16-mixed", "bf16-mixed", "16-true", "bf16-true", "64-true")
EXIT_CODES = {"SIGINT": 130, "SIGTERM": 143}  # 128 + the signal number, as a shell reports it


class HelpFormatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """The module docstring as written, and every flag's default after its help."""


def recipe_flag(group, name: str, help: str):
    """A float flag whose default comes from the start's recipe; its help quotes RECIPES, so the two cannot differ."""
    values = ", ".join(f"{start} {recipe[name]:g}" for start, recipe in RECIPES.items())
    group.add_argument(f"--{name.replace('_', '-')}", type=float, default=None, help=f"{help} (recipe: {values})")


def build_parser():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    d = p.add_argument_group("data")
    d.add_argument("--train", required=True, help="TSV/CSV training file")
    d.add_argument("--val", default=None, help="TSV/CSV validation file (model selection); or use --val-fraction")
    d.add_argument("--val-fraction", type=float, default=None,
                   help="hold out this fraction of --train for validation instead of --val (stratified by label, "
                        "seeded by --seed, recorded in the export's training_info)")
    d.add_argument("--text-column", default="sentence", help="column holding the text")
    d.add_argument("--label-column", default="label", help="column holding the label (a name, or an id 0..n-1)")
    d.add_argument("--labels", default=None,
                   help="labels.json naming the ids ({\"0\": \"negative\", ...}); default: the one beside --train, "
                        "else the values found in the label column")
    d.add_argument("--max-length", type=int, default=MAX_LENGTH, help="tokens per input (longer inputs are truncated)")
    d.add_argument("--batch-size", type=int, default=32, help="examples per step")
    m = p.add_argument_group("model")
    src = m.add_mutually_exclusive_group()
    src.add_argument("--backbone", help="hub id or local folder of a pretrained ELECTRA discriminator, or one of our "
                                        "classifier folders (its encoder is reused, its heads dropped)")
    src.add_argument("--preset", choices=list(PRESETS), default=None, help="train from scratch with this size (mini if "
                                                                           "neither --backbone nor --preset)")
    m.add_argument("--tokenizer", default=None, help="tokenizer folder for --preset (default: train WordPiece on --train)")
    m.add_argument("--vocab-size", type=int, default=8000, help="WordPiece vocabulary trained from scratch")
    m.add_argument("--pooling", default="all", help="'all', or comma-separated names, e.g. cls,mean")
    m.add_argument("--main-pooling", default=None,
                   help="the head the app shows first (default: under --monitor mean/best, the head with the best "
                        "validation accuracy at the chosen step; under main, cls if trained)")
    recipe_flag(m, "dropout", "hidden dropout of the encoder")
    o = p.add_argument_group("optimisation")
    recipe_flag(o, "lr", "peak learning rate of AdamW")
    o.add_argument("--weight-decay", type=float, default=0.01, help="AdamW weight decay (not on biases, norms)")
    o.add_argument("--warmup-ratio", type=float, default=0.1,
                   help="linear warmup over this fraction of the schedule, then linear decay to 0 at the end of the "
                        "bound in force: --max-steps, --max-epochs, or --max-time (re-estimated from the measured "
                        "time per step, so a time-bounded run finishes its decay when time runs out)")
    recipe_flag(o, "token_dropout", "word dropout: replace this fraction of training tokens by [MASK]")
    recipe_flag(o, "ema", "exponential moving average of the weights with this decay, validated and exported; 0 = off")
    o.add_argument("--monitor", choices=list(MONITORS), default="mean",
                   help="which validation accuracy chooses the exported step and drives early stopping: the main "
                        "head's (main), the mean over heads (mean), or the best head's (best). 'mean' is the "
                        "default: on small data one head's accuracy is noisy from check to check and the cls head "
                        "often lags the averaging ones, so the mean picks a step that is good for every head; the "
                        "best head at that step then becomes the main head")
    o.add_argument("--patience", type=int, default=3,
                   help="early stopping: stop after this many epochs without a gain in the --monitor accuracy "
                        "(counted in epochs whatever --val-check-interval is)")
    t = p.add_argument_group("trainer (passed to pl.Trainer)")
    t.add_argument("--accelerator", default="auto", choices=["auto", "cpu", "gpu", "cuda", "mps", "tpu"],
                   help="where to train")
    t.add_argument("--devices", default="auto", help="'auto', a count, or a list like 0,1")
    t.add_argument("--num-nodes", type=int, default=1, help="machines (DDP)")
    t.add_argument("--strategy", default="auto", help="e.g. ddp")
    t.add_argument("--precision", default="32-true", choices=PRECISIONS, help="e.g. bf16-mixed on a GPU")
    t.add_argument("--threads", type=int, default=None,
                   help="CPU threads for torch (default: the cores idle at start, measured over half a second: "
                        "on the 2-core dev machine 2 threads ran 1.7x faster than 1 with the other core idle, "
                        "and 8x slower with it busy; scripts/bench_threads.py measures yours)")
    t.add_argument("--max-epochs", type=int, default=None,
                   help="epochs at most (default: as many as --max-steps needs)")
    t.add_argument("--max-steps", type=int, default=None,
                   help="optimizer steps (default: the recipe's max(target steps, one epoch) = max(800 pretrained or 2000 "
                        "from scratch, rows / batch); "
                        "-1: no step bound, --max-epochs decides)")
    t.add_argument("--max-time", default=None, help="wall-clock bound DD:HH:MM:SS, e.g. 00:00:10:00 for ten minutes")
    t.add_argument("--val-check-interval", type=float, default=None,
                   help="validate every this fraction of an epoch (default: about 16 validations over the run, at "
                        "least every 50 steps, at most once an epoch)")
    t.add_argument("--accumulate-grad-batches", type=int, default=1, help="batches per optimizer step")
    t.add_argument("--limit-train-batches", type=float, default=1.0, help="fraction of the training batches per epoch")
    t.add_argument("--fast-dev-run", action="store_true",
                   help="smoke test: one batch of training and validation; the export is marked smoke_run")
    t.add_argument("--seed", type=int, default=42, help="seed for weights, shuffling and --val-fraction")
    t.add_argument("--progress-every", type=float, default=30.0,
                   help="seconds between plain progress lines when stdout is not a terminal (a log file)")
    t.add_argument("--save-every", type=float, default=5.0,
                   help="minutes between saves of the resumable last.ckpt (also saved on SIGINT/SIGTERM)")
    p.add_argument("--output", required=True, help="checkpoint folder to export")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --output folder")
    p.add_argument("--resume", action="store_true",
                   help="continue the run for this --output from its last.ckpt (in --log-dir), with the model, "
                        "tokenizer and labels stored there; replaces an export marked interrupted")
    p.add_argument("--log-dir", default="runs", help="Lightning logs, the best .ckpt and the resumable last.ckpt")
    return p


def _devices(value):
    return int(value) if str(value).isdigit() else value


def _our_classifier(folder: str) -> bool:
    try:
        return bool(json.load(open(os.path.join(folder, "config.json"))).get("poolings"))
    except (OSError, ValueError, AttributeError):
        return False


def _model_type(source: str) -> str | None:
    """The model_type a --backbone names (a folder's config.json; a hub id's config, which needs the hub)."""
    if source == PACKAGE:
        return "bert"
    try:
        if os.path.isdir(source):
            return json.load(open(os.path.join(source, "config.json"), encoding="utf-8")).get("model_type")
        return AutoConfig.from_pretrained(source, trust_remote_code=False).model_type
    except (OSError, ValueError, AttributeError) as e:
        raise CheckpointError(f"cannot read the config of backbone {source!r} ({str(e).splitlines()[0][:160]})",
                              cli="give a local folder with config.json, a reachable hub id, or --preset to train from "
                                  "scratch") from e


def choose_start(args) -> str:
    """'pretrained' or 'scratch', filling args.backbone with the installed pretrained package when nothing is named."""
    if args.preset or args.tokenizer:
        return "scratch"
    if args.backbone:
        return "pretrained"
    if package_folder() is not None:
        args.backbone = PACKAGE
        return "pretrained"
    print(f"training from scratch (mini preset): {INSTALL_HINT} (about +8 points on SST-2)", flush=True)
    return "scratch"


def build_backbone(args, train_texts):
    """(ElectraModel in train mode, its tokenizer, BERT pooler weights for bert_pooler or {}, provenance dict)."""
    source = args.backbone
    if source and os.path.isdir(source) and _our_classifier(source):
        # One of our classifier folders: reuse its verified encoder, drop its heads (no "UNEXPECTED weights" report).
        loaded = load_classifier(source)
        config = ElectraConfig.from_dict({**loaded.model.electra.config.to_dict(), "hidden_dropout_prob": args.dropout})
        backbone = ElectraModel(config)
        backbone.load_state_dict(loaded.model.electra.state_dict())
        print(f"backbone: the encoder of the classifier {source} (its {len(loaded.model.poolings)} heads are "
              "not used; new heads are trained)", flush=True)
        return backbone.train(), loaded.tokenizer, {}, {"kind": "classifier", "name": source, **loaded.info.get("source", {})}
    if source and source != PACKAGE and not os.path.isdir(source) and not looks_like_hub_id(source):
        raise CheckpointError(f"backbone {source!r} not found (neither a folder, a hub id like owner/name, nor {PACKAGE})",
                              cli="give a local folder, a hub id, or --preset to train from scratch")
    if source and _model_type(source) == "bert" or source == PACKAGE:
        t = transplant(source, dropout=args.dropout)
        print(describe(t), flush=True)
        if args.max_length > t.backbone.config.max_position_embeddings:
            raise InputError(f"--max-length {args.max_length} exceeds the backbone's {t.backbone.config.max_position_embeddings} positions")
        return t.backbone, t.tokenizer, t.pooler, t.source
    if source:
        if _model_type(source) != "electra":
            raise CheckpointError(f"backbone {source!r} is a {_model_type(source)!r} model: only ELECTRA and BERT-architecture "
                                  "encoders map onto ElectraModel", cli="give an ELECTRA or BERT checkpoint, or --preset")
        verbosity = hf_logging.get_verbosity()
        hf_logging.set_verbosity_error()  # the load report is summarised in one line below
        try:
            tok = AutoTokenizer.from_pretrained(source, trust_remote_code=False)
            backbone, info = ElectraModel.from_pretrained(source, hidden_dropout_prob=args.dropout, dtype=torch.float32,
                                                          trust_remote_code=False, output_loading_info=True)
        except OSError as e:
            raise CheckpointError(f"cannot load backbone {source!r} ({str(e).splitlines()[0]})",
                                  cli="give a local folder, a reachable hub id, or --preset to train from scratch") from e
        finally:
            hf_logging.set_verbosity(verbosity)
        if info.get("missing_keys"):
            raise CheckpointError(f"backbone {source!r} lacks {len(info['missing_keys'])} encoder weights "
                                  f"(e.g. {sorted(info['missing_keys'])[0]}); is it an ELECTRA discriminator?")
        unused = sorted({k.split(".")[0] for k in info.get("unexpected_keys", [])})
        if unused:
            print(f"backbone: {source}'s encoder; its other weights ({', '.join(unused)}) are not used", flush=True)
        if args.max_length > backbone.config.max_position_embeddings:
            raise InputError(f"--max-length {args.max_length} exceeds the backbone's {backbone.config.max_position_embeddings} positions")
        # from_pretrained returns eval mode: dropout would stay off during fine-tuning
        return backbone.train(), tok, {}, {"kind": "folder" if os.path.isdir(source) else "hub", "name": source}
    tok = AutoTokenizer.from_pretrained(args.tokenizer) if args.tokenizer else train_wordpiece(train_texts, args.vocab_size)
    config = preset_config(args.preset or "mini", len(tok), max(MAX_POSITIONS, args.max_length), hidden_dropout_prob=args.dropout,
                           pad_token_id=tok.pad_token_id)
    return ElectraModel(config), tok, {}, {"kind": "scratch", "preset": args.preset or "mini"}


def tokenizer_files(tok) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        tok.save_pretrained(tmp)
        return {n: open(os.path.join(tmp, n), encoding="utf-8").read() for n in os.listdir(tmp)}


def parse_max_time(value: str | None) -> float | None:
    """Seconds of a DD:HH:MM:SS bound (None: no bound); anything else is an InputError."""
    if value is None:
        return None
    m = re.fullmatch(r"(\d{1,3}):(\d{1,2}):(\d{1,2}):(\d{1,2})", value.strip())
    if not m or int(m[3]) > 59 or int(m[4]) > 59 or int(m[2]) > 23:
        raise InputError(f"--max-time {value!r}: expected DD:HH:MM:SS, e.g. 00:00:10:00 for ten minutes")
    d, h, mi, s = (int(x) for x in m.groups())
    seconds = ((d * 24 + h) * 60 + mi) * 60 + s
    if seconds <= 0:
        raise InputError(f"--max-time {value!r} is zero; give a positive duration")
    return float(seconds)


def _range(flag, value, lo, hi, lo_open=False, hi_open=False, example=""):
    ok = (value > lo if lo_open else value >= lo) and (value < hi if hi_open else value <= hi)
    if not ok or (isinstance(value, float) and not math.isfinite(value)):
        interval = f"{'(' if lo_open else '['}{lo}, {hi}{')' if hi_open else ']'}"
        raise InputError(f"{flag} {value}: must be in {interval}" + (f", e.g. {flag} {example}" if example else ""))


def _exported_info(folder: str) -> dict | None:
    try:
        return json.load(open(os.path.join(folder, "config.json"))).get("training_info") or {}
    except (OSError, ValueError, AttributeError):
        return None


def check_args(args):
    """Every flag checked before anything is read or built: one line and exit 2 for a bad one."""
    if (args.val is None) == (args.val_fraction is None):
        raise InputError("give exactly one of --val FILE and --val-fraction F (e.g. --val-fraction 0.1)")
    if args.val_fraction is not None:
        _range("--val-fraction", args.val_fraction, 0.0, 0.5, lo_open=True, example="0.1")
    args.start = choose_start(args)
    recipe = RECIPES[args.start]
    for name in RECIPE_FLAGS:
        if getattr(args, name) is None:
            setattr(args, name, recipe[name])
    args.target_steps = recipe["target_steps"]
    for flag, value in (("--token-dropout", args.token_dropout), ("--ema", args.ema), ("--warmup-ratio", args.warmup_ratio),
                        ("--dropout", args.dropout)):
        _range(flag, value, 0.0, 1.0, hi_open=True, example="0.1")
    _range("--max-length", args.max_length, 2, LIMITS["max_position_embeddings"], example="128")
    _range("--batch-size", args.batch_size, 1, 65536, example="32")
    _range("--vocab-size", args.vocab_size, 100, LIMITS["vocab_size"], example="8000")
    _range("--lr", args.lr, 0.0, 1.0, lo_open=True, example="1e-4")
    _range("--weight-decay", args.weight_decay, 0.0, 1.0, example="0.01")
    _range("--patience", args.patience, 1, 10**6, example="3")
    if args.threads is None:
        args.threads = default_threads()
    _range("--threads", args.threads, 1, 1024, example="1")
    if args.max_epochs is not None:
        _range("--max-epochs", args.max_epochs, 1, 10**6, example="3")
    if args.max_steps not in (None, -1):
        _range("--max-steps", args.max_steps, 1, 10**9, example="1000")
    if args.val_check_interval is not None:
        _range("--val-check-interval", args.val_check_interval, 0.0, 1.0, lo_open=True, example="0.25")
    _range("--limit-train-batches", args.limit_train_batches, 0.0, 1.0, lo_open=True, example="0.5")
    _range("--accumulate-grad-batches", args.accumulate_grad_batches, 1, 10**6, example="1")
    _range("--num-nodes", args.num_nodes, 1, 10**4, example="1")
    _range("--progress-every", args.progress_every, 0.0, 10**6, example="30")
    _range("--save-every", args.save_every, 0.0, 10**6, lo_open=True, example="5")
    if not (str(args.devices) == "auto" or re.fullmatch(r"-?\d+|\d+(,\d+)*,?", str(args.devices))):
        raise InputError(f"--devices {args.devices!r}: expected 'auto', a count or a list like 0,1")
    args.max_seconds = parse_max_time(args.max_time)
    out = args.output
    if os.path.exists(out) and not os.path.isdir(out):
        raise InputError(f"--output {out} is a file; give a folder")
    if os.path.isdir(out) and os.listdir(out) and not args.overwrite:
        info = _exported_info(out)
        if not (args.resume and info and info.get("interrupted")):
            what = "holds a trained model; a --fast-dev-run smoke run would replace it" if (
                args.fast_dev_run and info is not None and not info.get("smoke_run")) else "already exists and is not empty"
            raise CheckpointError(f"{out} {what}", cli="pass --overwrite to replace it, or choose another --output")
    return parse_poolings(args.pooling)


def resume_path(args) -> str:
    """Where the resumable last.ckpt of the run exporting to --output lives: keyed by the whole absolute --output path
    (its last name, readable, + a hash of the path), so b/model never finds a/model's state."""
    out = os.path.abspath(args.output)
    name = re.sub(r"[^\w.-]", "_", os.path.basename(out))
    key = hashlib.sha256(os.fsencode(out)).hexdigest()[:12]
    return os.path.join(args.log_dir, "train", "resume", f"{name}-{key}", "last.ckpt")


def run_identity(args) -> dict:
    """What makes a run this run, stored in its .ckpt (plain values): --resume refuses another run's state."""
    train = os.path.abspath(args.train)
    return {"output": os.path.abspath(args.output), "backbone": args.backbone or f"scratch:{args.preset or 'mini'}",
            "train file": train, "train bytes": os.path.getsize(train) if os.path.isfile(train) else None}


def check_same_run(ckpt: dict, args, path: str):
    """InputError naming what differs when the .ckpt at `path` was saved by another run than the one `args` describe."""
    stored = (ckpt.get("electra_demo") or {}).get("run") if isinstance(ckpt.get("electra_demo"), dict) else None
    if not isinstance(stored, dict):
        raise InputError(f"{path} does not record which run saved it; refusing to resume from it",
                         cli="start the run again without --resume (or with another --output)")
    here = run_identity(args)
    differ = [f"{k} {stored.get(k)!r} there, {v!r} here" for k, v in here.items() if stored.get(k) != v]
    if differ:
        raise InputError(f"{path} is the state of another run ({'; '.join(differ)}); refusing to resume it",
                         cli="resume with the run's own flags and data, or start again without --resume")


def choose_main_head(per_head: dict, current: str) -> str:
    """The head with the best accuracy; ties keep `current`, then registry order."""
    best = max(per_head.values())
    return current if per_head.get(current) == best else next(p for p, a in per_head.items() if a == best)


def recipe_bounds(n_rows: int, batch_size: int, max_steps: int | None, max_epochs: int | None,
                  val_check_interval: float | None, target_steps: int = RECIPES["scratch"]["target_steps"]) -> tuple[int, int, float]:
    """(max_steps, max_epochs, val_check_interval) with the recipe filling what the user left unset.

    Steps: max(target_steps, one epoch) unless given; epochs: enough for those steps unless given; validation: about
    VALIDATIONS_PER_RUN checks over the run, at least 50 steps apart, at most once an epoch.
    """
    per_epoch = max(1, math.ceil(n_rows / batch_size))  # batches in one epoch
    if max_steps is None:
        max_steps = -1 if max_epochs is not None else max(target_steps, per_epoch)
    if max_epochs is None:
        max_epochs = math.ceil(max_steps / per_epoch) if max_steps > 0 else 3
    if val_check_interval is None:
        horizon = max_steps if max_steps > 0 else max_epochs * per_epoch
        val_check_interval = min(1.0, max(50, horizon // VALIDATIONS_PER_RUN) / per_epoch)
    return max_steps, max_epochs, val_check_interval


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    poolings = check_args(args)
    torch.set_num_threads(args.threads)
    print(f"threads: {args.threads} (--threads; default: the cores idle at start)", flush=True)
    pl.seed_everything(args.seed, workers=True, verbose=False)
    last_path = resume_path(args)
    resumed = None
    if args.resume:
        if not os.path.exists(last_path):
            raise InputError(f"nothing to resume: {last_path} does not exist (no earlier run exported to {args.output} "
                             f"with --log-dir {args.log_dir})")
        # refuses an unsafe or unreadable file, or another run's state, with one line before Lightning touches it
        check_same_run(read_ckpt(last_path), args, last_path)
        resumed = load_classifier(last_path)
        names, names_from = resumed.labels, f"the run being resumed ({last_path})"
    else:
        names = load_label_names(args.train, args.labels)
        names_from = (f"{labels_path(args.train, args.labels)}" if names else None)
    train_texts, train_labels, labels = read_labelled(args.train, args.text_column, args.label_column, names)
    if names_from is None:
        names_from = "the values in the label column"
        example = json.dumps({str(i): f"name{i}" for i in range(min(2, len(labels)))})[:-1] + ", ...}"
        print(f"labels: {', '.join(labels)} (from {names_from}; to name them, put a labels.json like {example} "
              "beside --train or pass --labels FILE)", flush=True)
    else:
        print(f"labels: {', '.join(labels)} (from {names_from})", flush=True)
    split = None
    if args.val_fraction is not None:
        keep, held = split_stratified(train_labels, args.val_fraction, args.seed)
        val_texts, val_labels = [train_texts[i] for i in held], [train_labels[i] for i in held]
        train_texts, train_labels = [train_texts[i] for i in keep], [train_labels[i] for i in keep]
        split = {"fraction": args.val_fraction, "seed": args.seed, "stratified": True, "n_train": len(keep), "n_val": len(held)}
        print(f"validation: {len(held)} rows held out of {args.train} (--val-fraction {args.val_fraction}, stratified, "
              f"seed {args.seed}); training on {len(keep)}", flush=True)
    else:
        val_texts, val_labels, _ = read_labelled(args.val, args.text_column, args.label_column, labels)
    if resumed is not None:
        model, tok = resumed.model.train(), resumed.tokenizer
        source = resumed.info.get("source") or {}
    else:
        backbone, tok, bert_pooler, source = build_backbone(args, train_texts)
        model = build_classifier(backbone, poolings, labels, args.main_pooling, args.max_length)
        if bert_pooler and "bert_pooler" in model.poolers:  # BERT's pretrained pooler: the weights ElectraModel has no place for
            model.poolers["bert_pooler"].dense.load_state_dict({k.removeprefix("dense."): v for k, v in bert_pooler.items()})
    drop_id = tok.mask_token_id if tok.mask_token_id is not None else tok.unk_token_id
    if args.token_dropout and drop_id is None:
        raise InputError("--token-dropout needs a [MASK] or [UNK] token and this tokenizer has neither; drop the flag")
    system = ClassifierSystem(model, args.lr, args.weight_decay, args.warmup_ratio, tokenizer_files(tok),
                              args.token_dropout, drop_id, list(tok.all_special_ids), run=run_identity(args))
    dm = TextDataModule(tok, (train_texts, train_labels), (val_texts, val_labels), args.batch_size, args.max_length, args.seed)
    args.max_steps, args.max_epochs, args.val_check_interval = recipe_bounds(
        len(train_texts), args.batch_size, args.max_steps, args.max_epochs, args.val_check_interval, args.target_steps)
    per_epoch = math.ceil(len(train_texts) / args.batch_size)
    steps = f"{args.max_steps} steps" if args.max_steps > 0 else f"{args.max_epochs * per_epoch} steps (the epoch bound)"
    print(f"schedule: {steps}, at most {args.max_epochs} epochs of {per_epoch} batches, validation every "
          f"{args.val_check_interval:.3g} epoch ({args.start} recipe: lr {args.lr}, dropout {args.dropout}, word dropout "
          f"{args.token_dropout}, EMA {args.ema or 'off'})", flush=True)
    monitor = MONITORS[args.monitor]
    ckpt_cb = ModelCheckpoint(dirpath=None, monitor=monitor, mode="max", save_top_k=1, save_last=False, filename="best-{step}",
                              save_on_train_epoch_end=False)  # right after each validation: a signal cannot come between
    last_cb = ModelCheckpoint(dirpath=os.path.dirname(last_path), save_top_k=0, save_last=True,
                              train_time_interval=datetime.timedelta(minutes=args.save_every))
    early = EpochPatience(args.patience, monitor=monitor, mode="max", strict=False)
    interruption = Interruption(last_path)
    callbacks = [ckpt_cb, last_cb, early, interruption]
    if args.ema:  # validation, the saved .ckpt and the export all see the averaged weights
        callbacks.append(WeightAveraging(use_buffers=False, avg_fn=ema_avg_fn(args.ema)))
    interactive = sys.stdout.isatty()
    if not interactive:
        callbacks.append(PlainProgress(args.progress_every, monitor, args.max_seconds))
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
        enable_progress_bar=interactive,
    )
    t0 = time.time()
    try:
        with resuming():
            trainer.fit(system, datamodule=dm, ckpt_path=last_path if args.resume else None, weights_only=True)
    except SystemExit:  # Lightning ends a SIGINT with sys.exit(1) and a SIGTERM with SIGTERMException
        if interruption.signal is None:
            raise
    if not trainer.is_global_zero:
        return None
    best, state = ckpt_cb.best_model_path, None
    if best:  # the best step's weights (the averaged ones under --ema) into the model we already have
        try:
            state = torch.load(best, map_location="cpu", weights_only=True)["state_dict"]
        except (OSError, RuntimeError, EOFError, KeyError):  # a signal arrived while ModelCheckpoint was writing it
            print(f"note: {best} was not written whole (interrupted while saving it); exporting the current weights",
                  flush=True)
            best = ""
    if state is not None:
        model.load_state_dict({k[len("model."):]: v for k, v in state.items() if k.startswith("model.")})
    model.eval()
    metrics = evaluate(model, tok, val_texts, val_labels, args.max_length)
    if args.monitor != "main" and not args.main_pooling:
        model.config.main_pooling = choose_main_head(metrics["per_head"], model.config.main_pooling)
    reason = f"interrupted by {interruption.signal}" if interruption.signal else stop_reason(trainer, early, args)
    info = {
        "train_file": args.train, "val_file": args.val if split is None else f"{args.train} (held out)",
        "command": "electra-demo train " + shlex.join(argv),
        "val_accuracy": metrics["per_head"], "n_val": metrics["n"], "best_ckpt": best, "global_step": trainer.global_step,
        "epochs": trainer.current_epoch, "stopped": reason,
        "monitor": monitor, "main_pooling": model.config.main_pooling,
        "train_seconds": round(time.time() - t0, 1),
        "backbone": args.backbone or (resumed.info.get("backbone") if resumed else None) or f"scratch:{args.preset or 'mini'}",
        "source": source, "recipe": {"start": args.start, **{k: getattr(args, k) for k in RECIPE_FLAGS}},
        "n_parameters": sum(p.numel() for p in model.parameters()), "torch": torch.__version__, "threads": args.threads,
        "smoke_run": bool(args.fast_dev_run), "labels_from": names_from,
    }
    if split:
        info["val_split"] = split
    if resumed is not None:
        info["resumed_from"] = last_path
    if interruption.signal:
        info["interrupted"] = interruption.signal
    model.config.training_info = info
    replace = args.overwrite or (args.resume and bool((_exported_info(args.output) or {}).get("interrupted")))
    save_checkpoint(model, tok, args.output, overwrite=replace)
    step_note = f"best step by {monitor}: {best}" if best else "no validation finished: the last weights"
    if interruption.signal:
        print(f"interrupted by {interruption.signal} at step {trainer.global_step} (epoch {trainer.current_epoch + 1}).\n"
              f"  exported the best weights so far to {args.output} (training_info.interrupted = "
              f"{interruption.signal!r}); {step_note}\n"
              f"  val accuracy per head: {metrics['per_head']}\n"
              f"  resumable state: {last_path if os.path.exists(last_path) else '(none: interrupted before the first step)'}; "
              f"logs: {trainer.log_dir}\n"
              f"  to continue: electra-demo train {shlex.join(argv)} --resume", flush=True)
        sys.exit(EXIT_CODES[interruption.signal])
    smoke = "SMOKE RUN (--fast-dev-run; training_info.smoke_run = true, not a usable model): " if args.fast_dev_run else ""
    print(f"stopped at step {trainer.global_step} (epoch {trainer.current_epoch}): {reason}\n"
          f"{smoke}exported {args.output}; main head {model.config.main_pooling}; {step_note}\n"
          f"val accuracy per head: {metrics['per_head']}", flush=True)
    return metrics


cli_main = cli(main)


if __name__ == "__main__":
    cli_main()
