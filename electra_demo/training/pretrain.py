"""electra-demo pretrain: ELECTRA replaced-token-detection pretraining with Lightning.

  electra-demo pretrain --corpus ../shared/data/corpus/train --extra-text ../shared/data/sst2/train.tsv \
      --preset mini --seq-len 64 --batch-size 32 --max-time 00:00:30:00 --output work/pretrained-mini

Text -> WordPiece tokenizer trained on the same text -> packed sequences [CLS] ... [SEP] (cached as .npy)
-> generator + discriminator (rtd.py) -> an ElectraForPreTraining folder that `train --backbone` loads.
Resumable: --resume continues from <log-dir>/pretrain/last.ckpt.
"""
import argparse
import glob
import gzip
import hashlib
import json
import math
import os
import time

import numpy as np
import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import ModelCheckpoint
from transformers import AutoTokenizer, ElectraConfig, get_linear_schedule_with_warmup

from ..checkpoint import new_folder, read_ckpt
from ..data import read_rows
from ..errors import CheckpointError, DataError, InputError, cli
from ..model import MAX_POSITIONS, PRESETS, preset_config
from ..tokenizer import train_wordpiece
from .datamodule import BucketBatchSampler, ResumableBatches, resuming
from .rtd import ElectraPretrainer
from .train import parse_max_time


def iter_text(corpus: str | None, extra: list[str], max_chars: int, extra_repeat: int = 1):
    """The extra files' sentences (extra_repeat times: in-domain text up-weighted), then paragraph lines of the
    corpus (a folder of *.txt.gz / *.txt, or one file) up to max_chars."""
    n = 0
    files = sorted(glob.glob(os.path.join(corpus, "*.txt*"))) if corpus and os.path.isdir(corpus) else ([corpus] if corpus else [])
    for path in extra:
        texts, _, _ = read_rows(path)
        for _ in range(extra_repeat):
            for t in texts:
                yield t.strip()
    for path in files:
        if not os.path.exists(path):
            raise DataError(f"corpus file {path} not found")
        opener = gzip.open if path.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if len(line) > 20:  # skip titles and fragments
                    yield line
                    n += len(line)
                    if n >= max_chars:
                        return


PACK_BATCH = 2000  # texts tokenized at a time
CACHE_KEY = "cache.json"  # in --cache-dir: the text's sha256 and the tokenizer settings the cache was built from


def pack(tokenizer, texts, seq_len: int) -> np.ndarray:
    """Concatenate token streams into rows [CLS] t1 .. t_{seq_len-2} [SEP]; returns (N, seq_len) uint16/int32."""
    body = seq_len - 2
    stream, rows = [], []
    batch = []

    def flush():
        # whole paragraphs, cut into rows below: no "longer than the maximum sequence length" warning (verbose=False)
        for ids in tokenizer(batch, add_special_tokens=False, split_special_tokens=True, verbose=False)["input_ids"]:
            stream.extend(ids)
        while len(stream) >= body:
            rows.append([tokenizer.cls_token_id] + stream[:body] + [tokenizer.sep_token_id])
            del stream[:body]
        batch.clear()

    for t in texts:
        batch.append(t)
        if len(batch) == PACK_BATCH:
            flush()
    if batch:  # a text of exactly k * PACK_BATCH rows has nothing left here (the tokenizer refuses an empty batch)
        flush()
    dtype = np.uint16 if len(tokenizer) < 65536 else np.int32
    return np.asarray(rows, dtype=dtype).reshape(len(rows), seq_len)


def unigram_entropy(arr: np.ndarray, vocab_size: int) -> float:
    """Entropy (nats) of the token distribution: the MLM loss of a generator that ignores context."""
    counts = np.bincount(arr[:, 1:-1].ravel().astype(np.int64), minlength=vocab_size).astype(np.float64)
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log(p)).sum())


class PackedDataset(torch.utils.data.Dataset):
    def __init__(self, arr):
        self.arr = arr

    def __len__(self):
        return len(self.arr)

    def __getitem__(self, i):
        return torch.from_numpy(self.arr[i].astype(np.int64))


class PackedBatches(ResumableBatches):
    """The packed sequences in random batches of batch_size (the last short one dropped: fixed shapes), a new order
    every epoch (seeded), sharded across DDP ranks; a resumed run continues the interrupted order."""

    def __init__(self, arr, batch_size: int, seed: int, num_workers: int = 0):
        super().__init__()
        self.arr, self.batch_size, self.seed, self.num_workers = arr, batch_size, seed, num_workers

    def train_loader(self):
        rank, world = (self.trainer.global_rank, self.trainer.world_size) if self.trainer else (0, 1)
        sampler = BucketBatchSampler([1] * len(self.arr), self.batch_size, True, self.seed, rank, world, drop_last=True)
        return torch.utils.data.DataLoader(PackedDataset(self.arr), batch_sampler=sampler, num_workers=self.num_workers)


class PretrainSystem(pl.LightningModule):
    def __init__(self, disc_config: dict, special_ids: list, mask_token_id: int, lr: float = 1e-3, warmup_steps: int = 500,
                 weight_decay: float = 0.01, gen_size_divisor: int = 4, disc_weight: float = 50.0, mask_prob: float = 0.15):
        super().__init__()
        self.save_hyperparameters()  # plain values only
        self.model = ElectraPretrainer(ElectraConfig.from_dict(disc_config), gen_size_divisor, disc_weight, mask_prob)

    def training_step(self, input_ids, batch_idx):
        mask = torch.ones_like(input_ids)  # packed rows have no padding
        loss, stats = self.model(input_ids, mask, self.hparams.special_ids, self.hparams.mask_token_id)
        self.log("loss", loss, prog_bar=True)
        self.log_dict({k: v for k, v in stats.items()}, prog_bar=False)
        bar = {"gen": stats["gen_loss"], "recall": stats["disc_recall"], "prec": stats["disc_precision"]}
        self.log_dict(bar, prog_bar=True, logger=False)
        return loss

    def configure_optimizers(self):
        params = list({id(p): p for p in self.parameters()}.values())  # shared embeddings once
        decay = [p for p in params if p.ndim >= 2]
        no_decay = [p for p in params if p.ndim < 2]
        opt = torch.optim.AdamW([{"params": decay, "weight_decay": self.hparams.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
                                lr=self.hparams.lr, betas=(0.9, 0.999), eps=1e-6, fused=self.device.type == "cuda")
        total = max(1, int(self.trainer.max_steps if self.trainer.max_steps > 0 else self.trainer.estimated_stepping_batches))
        schedule = get_linear_schedule_with_warmup(opt, self.hparams.warmup_steps, total)  # the paper's schedule
        return {"optimizer": opt, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}


def text_key(texts, vocab_size: int) -> dict:
    """What a cache depends on: the text (sha256 over its lines, in order) and the tokenizer settings."""
    h, n = hashlib.sha256(), 0
    for t in texts:
        h.update(t.encode("utf-8") + b"\n")
        n += 1
    return {"text_sha256": h.hexdigest(), "texts": n, "vocab_size": vocab_size, "tokenizer": "train_wordpiece"}


def _cached_key(cache_dir: str) -> dict | None:
    try:
        key = json.load(open(os.path.join(cache_dir, CACHE_KEY), encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return key if isinstance(key, dict) else None


def prepare_data(args):
    """Tokenizer + packed array, cached in --cache-dir so reruns (and the GPU machine) skip this. The cache records
    the text's hash and the tokenizer settings: given text that differs, it is rebuilt (said in one line); given no
    text (--cache-dir alone, as on the GPU machine), it is used as it is."""
    os.makedirs(args.cache_dir, exist_ok=True)
    arr_path = os.path.join(args.cache_dir, f"packed_{args.seq_len}.npy")
    has_tokenizer = os.path.exists(os.path.join(args.cache_dir, "tokenizer.json"))
    cached = _cached_key(args.cache_dir) if has_tokenizer else None
    if not args.corpus and not args.extra_text and has_tokenizer:
        if not os.path.exists(arr_path):
            raise DataError(f"the cache {args.cache_dir} has no packed_{args.seq_len}.npy and no text was given to build it",
                            cli="pass --corpus/--extra-text, or the cache's --seq-len")
        print(f"pretrain cache: {args.cache_dir} used as it is (no text given; built from "
              f"{(cached or {}).get('texts', 'an unrecorded number of')} texts, vocabulary {(cached or {}).get('vocab_size', '?')})",
              flush=True)
        return AutoTokenizer.from_pretrained(args.cache_dir), np.load(arr_path)
    key = text_key(iter_text(args.corpus, args.extra_text, args.max_chars, args.extra_repeat), args.vocab_size)
    if cached == key:
        tok = AutoTokenizer.from_pretrained(args.cache_dir)
        if os.path.exists(arr_path):
            print(f"pretrain cache: {args.cache_dir} reused (same text and tokenizer settings)", flush=True)
            return tok, np.load(arr_path)
    else:
        if has_tokenizer:
            why = ("was built before caches recorded their text" if cached is None else
                   "was built from other text" if cached.get("text_sha256") != key["text_sha256"] else
                   f"was built with --vocab-size {cached.get('vocab_size')}")
            print(f"pretrain cache: {args.cache_dir} {why}; rebuilding it", flush=True)
        for name in os.listdir(args.cache_dir):  # the old cache's arrays: packed with the old tokenizer
            if name.startswith("packed_") and name.endswith(".npy") or name == CACHE_KEY:
                os.remove(os.path.join(args.cache_dir, name))
        tok = None
    texts = list(iter_text(args.corpus, args.extra_text, args.max_chars, args.extra_repeat))
    if not texts:
        raise DataError("no pretraining text found; pass --corpus DIR_OR_FILE and/or --extra-text FILE")
    if tok is None:
        tok = train_wordpiece(texts, args.vocab_size)
        tok.save_pretrained(args.cache_dir)
    arr = pack(tok, texts, args.seq_len)
    if not len(arr):
        raise DataError(f"the text gives no full sequence of --seq-len {args.seq_len} tokens; add text or lower --seq-len")
    np.save(arr_path, arr)
    with open(os.path.join(args.cache_dir, CACHE_KEY), "w", encoding="utf-8") as f:
        json.dump(key, f, indent=1)
    return tok, arr


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corpus", default=None, help="folder of *.txt.gz / *.txt files, one paragraph a line")
    p.add_argument("--extra-text", nargs="*", default=[], help="TSV/CSV/text files whose sentences are added (unlabeled)")
    p.add_argument("--extra-repeat", type=int, default=1, help="how many times the --extra-text sentences are used")
    p.add_argument("--max-chars", type=int, default=30_000_000, help="corpus characters to read")
    p.add_argument("--cache-dir", default="work/pretrain-cache",
                   help="tokenizer + packed .npy cache: reused for the same text and --vocab-size, rebuilt for other text, "
                        "used as it is when no text is given")
    p.add_argument("--vocab-size", type=int, default=8000)
    p.add_argument("--preset", choices=list(PRESETS), default="mini")
    p.add_argument("--seq-len", type=int, default=64)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--warmup-steps", type=int, default=500)
    p.add_argument("--gen-size-divisor", type=int, default=4)
    p.add_argument("--disc-weight", type=float, default=50.0)
    p.add_argument("--mask-prob", type=float, default=0.15)
    p.add_argument("--max-steps", type=int, default=-1)
    p.add_argument("--max-tokens", type=int, default=None, help="stop after this many tokens (sets max_steps)")
    p.add_argument("--max-time", default=None, help="DD:HH:MM:SS")
    p.add_argument("--accelerator", default="auto")
    p.add_argument("--devices", default="auto")
    p.add_argument("--precision", default="32-true", help="e.g. bf16-mixed on a GPU")
    p.add_argument("--compile", action="store_true", help="torch.compile the generator and discriminator (GPU)")
    p.add_argument("--num-workers", type=int, default=0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--log-dir", default="work/runs")
    p.add_argument("--save-every", type=int, default=250, help="write last.ckpt every N steps")
    p.add_argument("--resume", action="store_true", help="continue from <log-dir>/pretrain/last.ckpt")
    p.add_argument("--save-dtype", choices=["float32", "bfloat16"], default="float32")
    p.add_argument("--prepare-only", action="store_true", help="build the tokenizer + packed cache, then stop")
    p.add_argument("--output", default=None, help="folder for the pretrained discriminator (+ tokenizer)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --output folder")
    args = p.parse_args(argv)
    if not args.output and not args.prepare_only:
        raise InputError("pass --output FOLDER for the pretrained discriminator (or --prepare-only)")
    if args.output and os.path.isdir(args.output) and os.listdir(args.output) and not args.overwrite:
        raise CheckpointError(f"{args.output} already exists and is not empty", cli="pass --overwrite to replace it")
    parse_max_time(args.max_time)
    for flag, value, lo in (("--seq-len", args.seq_len, 8), ("--batch-size", args.batch_size, 1), ("--vocab-size", args.vocab_size, 100),
                            ("--save-every", args.save_every, 1), ("--gen-size-divisor", args.gen_size_divisor, 1)):
        if value < lo:
            raise InputError(f"{flag} {value}: must be at least {lo}")
    if not 0 < args.mask_prob < 1 or not args.lr > 0:
        raise InputError("--mask-prob must be in (0, 1) and --lr positive")
    last = os.path.join(args.log_dir, "pretrain", "last.ckpt")
    if args.resume and os.path.exists(last):
        read_ckpt(last)  # an unsafe or unreadable last.ckpt: one line, before Lightning touches it
    pl.seed_everything(args.seed)
    t0 = time.time()
    tok, arr = prepare_data(args)
    prep_s = time.time() - t0
    if args.prepare_only:
        print(json.dumps({"rows": len(arr), "seq_len": args.seq_len, "vocab": len(tok), "prep_seconds": round(prep_s, 1),
                          "unigram_entropy_nats": round(unigram_entropy(arr, len(tok)), 3)}))
        return None
    tokens_per_step = args.batch_size * args.seq_len
    max_steps = math.ceil(args.max_tokens / tokens_per_step) if args.max_tokens else args.max_steps
    if max_steps <= 0 and not args.max_time:
        raise InputError("unbounded pretraining; pass --max-steps, --max-tokens or --max-time")
    if max_steps <= 0:  # time-bounded: the schedule still needs a horizon; assume the time limit ends it
        max_steps = 10**7
    cfg = preset_config(args.preset, len(tok), max(MAX_POSITIONS, args.seq_len), pad_token_id=tok.pad_token_id)
    special = [tok.cls_token_id, tok.sep_token_id, tok.pad_token_id]
    system = PretrainSystem(cfg.to_dict(), special, tok.mask_token_id, args.lr, args.warmup_steps, 0.01,
                            args.gen_size_divisor, args.disc_weight, args.mask_prob)
    discriminator = system.model.discriminator  # the plain module: a compiled one wraps it and shares its parameters
    if args.compile:
        system.model.generator.electra = torch.compile(system.model.generator.electra, dynamic=False)
        system.model.discriminator = torch.compile(system.model.discriminator, dynamic=False)
    data = PackedBatches(arr, args.batch_size, args.seed, args.num_workers)
    ckpt_dir = os.path.dirname(last)
    trainer = pl.Trainer(accelerator=args.accelerator, devices=int(args.devices) if str(args.devices).isdigit() else args.devices,
                         precision=args.precision, max_steps=max_steps, max_time=args.max_time, max_epochs=-1,
                         use_distributed_sampler=False,  # PackedBatches shards across ranks itself
                         logger=pl.loggers.CSVLogger(args.log_dir, name="pretrain"), log_every_n_steps=25,
                         callbacks=[ModelCheckpoint(dirpath=ckpt_dir, save_last=True, every_n_train_steps=args.save_every, save_top_k=0)])
    with resuming():
        trainer.fit(system, datamodule=data, ckpt_path=last if args.resume and os.path.exists(last) else None, weights_only=True)
    if not trainer.is_global_zero:
        return None
    disc = discriminator.to(getattr(torch, args.save_dtype))
    m = {k: round(float(v), 4) for k, v in trainer.callback_metrics.items()}
    info = {"steps": trainer.global_step, "tokens_seen": trainer.global_step * tokens_per_step, "seq_len": args.seq_len,
            "batch_size": args.batch_size, "rows_available": len(arr), "unigram_entropy_nats": round(unigram_entropy(arr, len(tok)), 3),
            "final_metrics": m, "train_seconds": round(time.time() - t0 - prep_s, 1), "prep_seconds": round(prep_s, 1),
            "device": str(trainer.strategy.root_device), "preset": args.preset, "lr": args.lr, "warmup_steps": args.warmup_steps}
    with new_folder(args.output, args.overwrite) as tmp:  # the old folder or the whole new one, never a mix
        disc.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        with open(os.path.join(tmp, "pretrain_meta.json"), "w") as f:
            json.dump(info, f, indent=2)
    print(json.dumps(info))
    return info


cli_main = cli(main)


if __name__ == "__main__":
    cli_main()
