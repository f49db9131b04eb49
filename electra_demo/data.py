"""Reading labelled TSV/CSV (or plain text) files, mapping labels, tokenizing and padding a batch."""
import csv
import json
import os
import random
import re

import torch

from .errors import DataError


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


MAX_LINE_CHARS = 1 << 20  # a longer physical line is refused before it is read whole (a 1 GB line costs 1 MiB)


def labels_path(data_file: str, labels_file: str | None = None) -> str:
    """Where label names are looked for: --labels, else labels.json beside the data file."""
    return labels_file or os.path.join(os.path.dirname(data_file), "labels.json")  # as given: no machine path in an export


def load_label_names(data_file: str, labels_file: str | None = None) -> list[str] | None:
    """Label names from --labels, or from a labels.json ({"0": "negative", ...}) beside the data."""
    path = labels_path(data_file, labels_file)
    if not os.path.exists(path):
        if labels_file:
            raise DataError(f"labels file {labels_file} not found", cli="pass an existing JSON file mapping ids to names")
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


def read_rows(path: str, text_column: str = "sentence", label_column: str | None = "label", name: str | None = None):
    """(texts, raw_labels, line_numbers). Plain text (.txt or other): one sentence a line, no labels.

    raw_labels is None when the label column is absent or label_column is None. `name` is how messages
    call the file (default: the path; the UI passes the name the user uploaded). A UTF-8 BOM is skipped.
    """
    texts, labels, lines, labelled = [], [], [], False
    for (t, y, n), has_labels in read_chunks(path, text_column, label_column, name):
        texts += t
        labels += y
        lines += n
        labelled = has_labels
    return texts, (labels if labelled else None), lines


def read_chunks(path: str, text_column: str = "sentence", label_column: str | None = "label", name: str | None = None,
                chunk_size: int = 4096):
    """The rows of `path` as read_rows gives them, `chunk_size` rows at a time: ((texts, raw_labels, line_numbers),
    has_labels) per chunk, so a file of any size is read in bounded memory. Errors as read_rows (a bad row is found
    when its chunk is read)."""
    name = name or path
    if not os.path.exists(path):
        raise DataError(f"data file {name} not found", cli="check the path")
    try:
        rows = _iter_rows(path, text_column, label_column, name)
        has_labels = next(rows)
        chunk = ([], [], [])
        for text, label, line in rows:
            for column, value in zip(chunk, (text, label, line)):
                column.append(value)
            if len(chunk[0]) == chunk_size:
                yield chunk, has_labels
                chunk = ([], [], [])
        if chunk[0]:
            yield chunk, has_labels
    except UnicodeDecodeError as e:
        raise DataError(f"{name} is not UTF-8 text; save it as UTF-8") from e
    except csv.Error as e:
        if "field limit" in str(e):
            raise DataError(f"{name} has a field longer than {csv.field_size_limit():,} characters; shorten it "
                            "(or check for a stray quote that runs on)") from e
        raise DataError(f"{name} is not a readable TSV/CSV ({e}); check the quoting, the delimiters and very long lines") from e


def _bounded_lines(f, name):
    """The file's lines, each read with a size limit: an over-long line is refused after MAX_LINE_CHARS characters."""
    n = 0
    while True:
        line = f.readline(MAX_LINE_CHARS + 1)
        if not line:
            return
        n += 1
        if len(line) > MAX_LINE_CHARS:
            raise DataError(f"{name} line {n} is longer than {MAX_LINE_CHARS:,} characters; split or shorten it")
        yield line


def _iter_rows(path, text_column, label_column, name):
    """First whether the file has a label column, then one (text, raw label or None, line number) per row."""
    delim = _delimiter(path)
    n_rows = 0
    with open(path, encoding="utf-8-sig", newline="") as raw:
        f = _bounded_lines(raw, name)
        if delim is None:
            yield False
            for n, line in enumerate(f, start=1):
                if line.strip():
                    n_rows += 1
                    yield line.rstrip("\r\n"), None, n
            if not n_rows:
                raise DataError(f"{name} has no sentences; write one sentence a line")
            return
        quoting = csv.QUOTE_NONE if delim == "\t" else csv.QUOTE_MINIMAL
        reader = csv.reader(f, delimiter=delim, quoting=quoting)
        header = next(reader, None)
        if not header:
            raise DataError(f"{name} is empty; expected a header line with a {text_column!r} column")
        if text_column not in header:
            raise DataError(f"{name}: no column {text_column!r} (columns: {', '.join(header)})",
                            cli="pass --text-column NAME", ui="type the right name in 'text column'")
        ti = header.index(text_column)
        li = header.index(label_column) if label_column and label_column in header else None
        yield li is not None
        for n, row in enumerate(reader, start=2):
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            if len(row) != len(header):
                raise DataError(f"{name} line {n}: {len(row)} fields, header has {len(header)}; fix or remove this line")
            n_rows += 1
            yield row[ti], (row[li] if li is not None else None), n
    if not n_rows:
        raise DataError(f"{name} has a header but no rows; add examples")


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet may run as a formula (OWASP CSV injection)


def spreadsheet_safe(value: str) -> str:
    """A text cell for a CSV/TSV file a spreadsheet may open: one that starts like a formula gets a leading single
    quote (OWASP's advice), so it shows as text and never runs; plain numbers such as -0.5 are left as they are."""
    if value.startswith(FORMULA_STARTS) and not re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", value):
        return "'" + value
    return value


def label_ids(raw: list[str], label_names: list[str], name: str, lines: list[int]) -> list[int]:
    """Map raw labels (an id '0'.. or a name) to ids; a label outside the set names its line."""
    by_name = {label: i for i, label in enumerate(label_names)}
    out = []
    for value, n in zip(raw, lines):
        v = value.strip()
        if v in by_name:
            out.append(by_name[v])
        elif v.isascii() and v.isdigit() and int(v) < len(label_names):
            out.append(int(v))
        else:
            raise DataError(
                f"{name} line {n}: label {value!r} is not in the label set ({', '.join(label_names)}, "
                f"or their ids 0..{len(label_names) - 1}); fix the row or the label names"
            )
    return out


def infer_label_names(raw: list[str]) -> list[str]:
    values = sorted({v.strip() for v in raw})
    if all(v.isascii() and v.isdigit() for v in values):
        return [str(i) for i in range(max(int(v) for v in values) + 1)]
    return values


def read_labelled(path, text_column="sentence", label_column="label", label_names=None, name=None):
    """(texts, label ids, label names); every row must have a label in the set."""
    texts, raw, lines = read_rows(path, text_column, label_column, name)
    if raw is None:
        raise DataError(f"{name or path}: no label column {label_column!r}", cli="pass --label-column NAME",
                        ui="type the right name in 'label column'")
    names = label_names or load_label_names(path) or infer_label_names(raw)
    return texts, label_ids(raw, names, name or path, lines), names


def split_stratified(labels: list[int], fraction: float, seed: int = 0) -> tuple[list[int], list[int]]:
    """(train indices, held-out indices): `fraction` of every class held out (at least one row of a class with two
    or more), chosen by a seeded shuffle, so the same file, fraction and seed give the same split."""
    rng = random.Random(seed)
    held = []
    for c in sorted(set(labels)):
        idx = [i for i, y in enumerate(labels) if y == c]
        rng.shuffle(idx)
        k = min(len(idx) - 1, max(1, round(fraction * len(idx))))
        held += idx[:k]
    held_set = set(held)
    return [i for i in range(len(labels)) if i not in held_set], sorted(held)


def make_collate(pad_id):
    def collate(items):
        input_ids, attention_mask = pad_batch([x for x, _ in items], pad_id)
        return {"input_ids": input_ids, "attention_mask": attention_mask, "labels": torch.tensor([y for _, y in items])}

    return collate


