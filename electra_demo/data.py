"""Reading labelled TSV/CSV (or plain text) files, tokenizing, and length-bucketed batching."""
import csv
import json
import os
import random

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader


class DataError(ValueError):
    """A problem with a data file; the message names the file, the line and the fix."""


def tokenize(tokenizer, texts: list[str], max_length: int):
    """Token ids without padding. Special-token strings typed as text ('[SEP]') stay text."""
    return tokenizer(list(texts), truncation=True, max_length=max_length, split_special_tokens=True)["input_ids"]


def pad_batch(ids: list[list[int]], pad_id: int):
    T = max(len(x) for x in ids)
    input_ids = torch.full((len(ids), T), pad_id, dtype=torch.long)  # (B, T), right padding
    attention_mask = torch.zeros((len(ids), T), dtype=torch.long)  # (B, T)
    for i, x in enumerate(ids):
        input_ids[i, : len(x)] = torch.tensor(x)
        attention_mask[i, : len(x)] = 1
    return input_ids, attention_mask


def load_label_names(data_file: str, labels_file: str | None = None) -> list[str] | None:
    """Label names from --labels, or from a labels.json ({"0": "negative", ...}) beside the data."""
    path = labels_file or os.path.join(os.path.dirname(os.path.abspath(data_file)), "labels.json")
    if not os.path.exists(path):
        if labels_file:
            raise DataError(f"labels file {labels_file} not found; pass an existing JSON file mapping ids to names")
        return None
    try:
        mapping = json.load(open(path, encoding="utf-8"))
        if isinstance(mapping, list):
            return [str(x) for x in mapping]
        return [str(mapping[str(i)]) for i in range(len(mapping))]
    except (ValueError, KeyError, TypeError) as e:
        raise DataError(f"{path}: expected a JSON object {{\"0\": \"name\", \"1\": ...}} with ids 0..n-1 ({e})") from None


def _delimiter(path: str):
    ext = os.path.splitext(path)[1].lower()
    return {".tsv": "\t", ".csv": ","}.get(ext)


def read_rows(path: str, text_column: str = "sentence", label_column: str | None = "label"):
    """(texts, raw_labels, line_numbers). Plain text (.txt or other): one sentence a line, no labels.

    raw_labels is None when the label column is absent or label_column is None.
    """
    if not os.path.exists(path):
        raise DataError(f"data file {path} not found; check the path")
    delim = _delimiter(path)
    texts, labels, lines = [], [], []
    with open(path, encoding="utf-8", newline="") as f:
        if delim is None:
            for n, line in enumerate(f, start=1):
                if line.strip():
                    texts.append(line.rstrip("\r\n"))
                    lines.append(n)
            if not texts:
                raise DataError(f"{path} has no sentences; write one sentence a line")
            return texts, None, lines
        quoting = csv.QUOTE_NONE if delim == "\t" else csv.QUOTE_MINIMAL
        reader = csv.reader(f, delimiter=delim, quoting=quoting)
        header = next(reader, None)
        if not header:
            raise DataError(f"{path} is empty; expected a header line with a {text_column!r} column")
        if text_column not in header:
            raise DataError(f"{path}: no column {text_column!r} (columns: {', '.join(header)}); pass --text-column NAME")
        ti = header.index(text_column)
        li = header.index(label_column) if label_column and label_column in header else None
        for n, row in enumerate(reader, start=2):
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            if len(row) != len(header):
                raise DataError(f"{path} line {n}: {len(row)} fields, header has {len(header)}; fix or remove this line")
            texts.append(row[ti])
            labels.append(row[li] if li is not None else None)
            lines.append(n)
    if not texts:
        raise DataError(f"{path} has a header but no rows; add examples")
    return texts, (labels if li is not None else None), lines


def label_ids(raw: list[str], label_names: list[str], path: str, lines: list[int]) -> list[int]:
    """Map raw labels (an id '0'.. or a name) to ids; a label outside the set names its line."""
    by_name = {name: i for i, name in enumerate(label_names)}
    out = []
    for value, n in zip(raw, lines):
        v = value.strip()
        if v in by_name:
            out.append(by_name[v])
        elif v.lstrip("-").isdigit() and 0 <= int(v) < len(label_names):
            out.append(int(v))
        else:
            raise DataError(
                f"{path} line {n}: label {value!r} is not in the label set ({', '.join(label_names)}); "
                f"fix the row or the labels.json"
            )
    return out


def infer_label_names(raw: list[str]) -> list[str]:
    values = sorted({v.strip() for v in raw})
    if all(v.isdigit() for v in values):
        return [str(i) for i in range(max(int(v) for v in values) + 1)]
    return values


def read_labelled(path, text_column="sentence", label_column="label", label_names=None):
    """(texts, label ids, label names); every row must have a label in the set."""
    texts, raw, lines = read_rows(path, text_column, label_column)
    if raw is None:
        raise DataError(f"{path}: no label column {label_column!r}; pass --label-column NAME")
    names = label_names or load_label_names(path) or infer_label_names(raw)
    return texts, label_ids(raw, names, path, lines), names


class BucketBatchSampler(torch.utils.data.Sampler):
    """Batches of similar length (little padding), shuffled, sharded across DDP ranks."""

    def __init__(self, lengths, batch_size, shuffle=True, seed=0, rank=0, world_size=1, bucket_batches=50):
        self.lengths, self.batch_size, self.shuffle, self.seed = lengths, batch_size, shuffle, seed
        self.rank, self.world_size, self.bucket_batches, self.epoch = rank, world_size, bucket_batches, 0

    def set_epoch(self, epoch: int):
        self.epoch = epoch

    def _batches(self):
        idx = list(range(len(self.lengths)))
        rng = random.Random(self.seed + self.epoch)
        if self.shuffle:
            rng.shuffle(idx)
        chunk = self.batch_size * self.bucket_batches
        batches = []
        for s in range(0, len(idx), chunk):
            part = sorted(idx[s : s + chunk], key=lambda i: self.lengths[i])
            batches += [part[j : j + self.batch_size] for j in range(0, len(part), self.batch_size)]
        if self.shuffle:
            rng.shuffle(batches)
        n = len(batches) // self.world_size * self.world_size if self.world_size > 1 else len(batches)
        return batches[:n][self.rank :: self.world_size]

    def __iter__(self):
        return iter(self._batches())

    def __len__(self):
        return len(self._batches())


class TokenizedDataset(torch.utils.data.Dataset):
    def __init__(self, ids, labels):
        self.ids, self.labels = ids, labels

    def __len__(self):
        return len(self.ids)

    def __getitem__(self, i):
        return self.ids[i], self.labels[i]


def make_collate(pad_id):
    def collate(items):
        input_ids, attention_mask = pad_batch([x for x, _ in items], pad_id)
        return {"input_ids": input_ids, "attention_mask": attention_mask, "labels": torch.tensor([y for _, y in items])}

    return collate


class TextDataModule(pl.LightningDataModule):
    def __init__(self, tokenizer, train_file: str, val_file: str, label_names: list[str], text_column: str = "sentence",
                 label_column: str = "label", batch_size: int = 32, max_length: int = 128, seed: int = 0):
        super().__init__()
        self.tokenizer, self.label_names = tokenizer, label_names
        self.train_file, self.val_file = train_file, val_file
        self.text_column, self.label_column = text_column, label_column
        self.batch_size, self.max_length, self.seed = batch_size, max_length, seed

    def _dataset(self, path):
        texts, labels, _ = read_labelled(path, self.text_column, self.label_column, self.label_names)
        return TokenizedDataset(tokenize(self.tokenizer, texts, self.max_length), labels)

    def setup(self, stage=None):
        self.train_ds, self.val_ds = self._dataset(self.train_file), self._dataset(self.val_file)

    def _loader(self, ds, shuffle):
        rank, world = (self.trainer.global_rank, self.trainer.world_size) if self.trainer else (0, 1)
        sampler = BucketBatchSampler([len(x) for x in ds.ids], self.batch_size, shuffle, self.seed, rank, world)
        return DataLoader(ds, batch_sampler=sampler, collate_fn=make_collate(self.tokenizer.pad_token_id))

    def train_dataloader(self):
        return self._loader(self.train_ds, True)

    def val_dataloader(self):
        return self._loader(self.val_ds, False)
