"""electra-demo predict: batch prediction over a TSV/CSV or plain-text file.

  electra-demo predict --input dev.tsv --output preds.tsv      # shipped default model
  electra-demo predict --checkpoint checkpoints/my-model --input sentences.txt --precision fp32

Writes the predicted label and class probabilities of the main head per row (.tsv or .csv, by the
extension; `read_rows` reads the file back to the same sentences, except that a cell starting like a spreadsheet
formula, = + - @ tab CR, is written with a leading ' so that it never runs). When the file has labels, reports
accuracy overall (main head) and per pooling head; without labels only the main head runs. The last
stdout line is JSON. The input is streamed CHUNK_ROWS rows at a time: memory does not grow with the file.

--precision: fp32 (exact), bf16 (autocast; fast where the CPU does bf16 natively: AVX512-BF16 or AMX),
int8 (dynamic quantization of the Linear layers), or auto (the default): where the CPU has native bf16,
bf16 with every near tie (top two probabilities of a head within TIE_MARGIN) computed again in fp32, so
the labels are fp32's; plain fp32 elsewhere.
"""
import argparse
import contextlib
import csv
import json
import os

import torch

from ..checkpoint import load_classifier
from ..data import label_ids, pad_batch, read_chunks, spreadsheet_safe, tokenize
from ..errors import DataError, InputError, cli
from ..model import MAX_LENGTH

PRECISIONS = ("auto", "fp32", "bf16", "int8")
BATCH_SIZE = 128  # sentences per forward pass; batches are length-sorted, so padding stays small
TIE_MARGIN = 0.02  # auto: a head whose top two bf16 probabilities are closer than this is computed again in fp32
CHUNK_ROWS = 4096  # rows read, predicted and written at a time: memory stays bounded whatever the input's size


def native_bf16() -> bool:
    """True when the CPU computes bf16 natively (AMX-BF16 or AVX512-BF16): only then is bf16 autocast faster."""
    caps = getattr(torch.cpu, "get_capabilities", None)
    if caps is not None:
        c = caps()
        return bool(c.get("amx_bf16") or c.get("avx512_bf16"))
    try:
        flags = open("/proc/cpuinfo").read().split()
    except OSError:
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags


def resolve_precision(precision: str) -> str:
    """'auto' -> 'auto' (bf16 + fp32 near ties) where the CPU has native bf16, else 'fp32'; others unchanged."""
    if precision not in PRECISIONS:
        raise InputError(f"unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}")
    if precision == "auto" and not native_bf16():
        return "fp32"
    return precision


def quantized(model):
    """A copy of `model` with every nn.Linear dynamically quantized to int8 (weights int8, activations per batch)."""
    import copy
    import warnings

    from torch.ao.quantization import quantize_dynamic

    with warnings.catch_warnings():
        # torch 2.13 marks torch.ao.quantization deprecated (its successor, torchao, is not a dependency here); the
        # int8 path works as measured and stays until torch removes it. Only these two messages are silenced.
        warnings.filterwarnings("ignore", message="torch.ao.quantization is deprecated", category=DeprecationWarning)
        warnings.filterwarnings("ignore", message="torch.quantize_per_tensor, torch.quantize_per_channel", category=UserWarning)
        return quantize_dynamic(copy.deepcopy(model), {torch.nn.Linear}, dtype=torch.qint8)


def predict_probs(model, tokenizer, texts: list[str], max_length: int = MAX_LENGTH, batch_size: int = BATCH_SIZE,
                  heads: list[str] | None = None, precision: str = "fp32") -> dict[str, torch.Tensor]:
    """{pooling: (N, C) float32 probabilities} for the heads named in `heads` (default: every trained head).

    Batches are sorted by length (padding-safe anyway). precision: "fp32"; "bf16" (autocast); "auto" (bf16, then the
    near ties in fp32 again, where the CPU has native bf16; fp32 elsewhere). For int8 pass `quantized(model)`.
    """
    model.eval()
    heads = list(heads or model.poolings)
    for p in heads:
        model.head(p)  # InputError for a pooling without a trained head
    precision = resolve_precision(precision)
    ids = tokenize(tokenizer, texts, max_length)
    out = _probs(model, ids, tokenizer.pad_token_id, batch_size, heads, bf16=precision in ("bf16", "auto"))
    if precision == "auto":
        top2 = torch.stack([pr.topk(2, dim=-1).values for pr in out.values()])  # (heads, N, 2)
        ties = ((top2[..., 0] - top2[..., 1]) < TIE_MARGIN).any(0).nonzero()[:, 0]  # (n_ties,)
        if len(ties):
            again = _probs(model, [ids[i] for i in ties.tolist()], tokenizer.pad_token_id, batch_size, heads, bf16=False)
            for p in heads:
                out[p][ties] = again[p]
    return out


def _probs(model, ids, pad_id, batch_size, heads, bf16):
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    out = {p: torch.empty(len(ids), len(model.labels)) for p in heads}
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        for s in range(0, len(order), batch_size):
            idx = order[s : s + batch_size]
            input_ids, mask = pad_batch([ids[i] for i in idx], pad_id)  # (B, T)
            h = model.encode(input_ids, mask).last_hidden_state  # (B, T, H)
            for p in heads:
                out[p][idx] = model.classify(p, model.pool(p, h, mask)).float().softmax(-1)  # (B, C)
    return out


def evaluate(model, tokenizer, texts, labels, max_length=MAX_LENGTH, batch_size=BATCH_SIZE, precision="fp32") -> dict:
    probs = predict_probs(model, tokenizer, texts, max_length, batch_size, precision=precision)
    y = torch.tensor(labels)
    per_head = {p: round((pr.argmax(-1) == y).float().mean().item(), 4) for p, pr in probs.items()}
    return {"accuracy": per_head[model.main_pooling], "per_head": per_head, "n": len(labels)}


@contextlib.contextmanager
def prediction_file(path: str, header: list[str]):
    """Yield write(rows) for a .csv (quoted where needed) or .tsv (no quoting: a tab or newline inside a sentence is
    refused) written to a temporary file beside `path` and renamed over it when the block ends, so `path` is the old
    file or the whole new one. Every cell goes through data.spreadsheet_safe: text a spreadsheet would run as a formula
    (=, +, -, @, tab, CR first) gets a leading single quote."""
    tsv = not path.lower().endswith(".csv")
    tmp = f"{path}.tmp-{os.getpid()}"
    written = 0

    def write(rows: list[list[str]]):
        nonlocal written
        for row in rows:
            written += 1
            if tsv and any(c in row[0] for c in "\t\r\n"):
                raise DataError(f"row {written}: the sentence contains a tab or line break, which a .tsv cannot hold",
                                cli="write a .csv instead (--output preds.csv)")
            w.writerow([spreadsheet_safe(cell) for cell in row])

    try:
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            w = csv.writer(f, delimiter="\t", quoting=csv.QUOTE_NONE, quotechar=None) if tsv else csv.writer(f)
            w.writerow([spreadsheet_safe(cell) for cell in header])
            yield write
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", default=None, help="checkpoint folder, HF folder/hub id, or .ckpt (default: shipped model)")
    p.add_argument("--input", required=True, help="TSV/CSV with a text column (labels optional), or one sentence a line")
    p.add_argument("--output", default=None, help="TSV or CSV to write predictions to (default: no file)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --output file")
    p.add_argument("--text-column", default="sentence")
    p.add_argument("--label-column", default="label")
    p.add_argument("--batch-size", type=int, default=BATCH_SIZE)
    p.add_argument("--precision", choices=PRECISIONS, default="auto",
                   help="auto (default): where the CPU does bf16 natively (AVX512-BF16, AMX), bf16 with every near tie "
                        "computed again in fp32 (fp32's labels), else fp32; fp32: exact; bf16: autocast; "
                        "int8: dynamic quantization of the Linear layers")
    args = p.parse_args(argv)
    precision = resolve_precision(args.precision)
    if args.output and os.path.exists(args.output):
        if os.path.exists(args.input) and os.path.samefile(args.output, args.input):
            raise DataError(f"--output {args.output} is the input file; refusing to overwrite it")
        if not args.overwrite:
            raise DataError(f"{args.output} already exists", cli="pass --overwrite to replace it")
    clf = load_classifier(args.checkpoint)
    model = quantized(clf.model) if precision == "int8" else clf.model
    n, correct, shown = 0, {}, []  # rows so far, correct predictions per head, the first rows (unlabelled input)
    with contextlib.ExitStack() as stack:
        write = None
        for (texts, raw, lines), has_labels in read_chunks(args.input, args.text_column, args.label_column,
                                                           chunk_size=CHUNK_ROWS):
            gold = label_ids(raw, clf.labels, args.input, lines) if has_labels else None
            heads = None if gold is not None else [clf.main_pooling]  # every head when there are labels to score them
            probs = predict_probs(model, clf.tokenizer, texts, clf.max_length, args.batch_size, heads, precision)
            main_probs = probs[clf.main_pooling]  # (N, C)
            pred = main_probs.argmax(-1).tolist()
            if args.output:
                if write is None:
                    header = ["sentence", "prediction"] + [f"p_{name}" for name in clf.labels] + (["label"] if gold else [])
                    write = stack.enter_context(prediction_file(args.output, header))
                write([[t, clf.labels[k]] + [f"{v:.4f}" for v in pr] + ([clf.labels[gold[i]]] if gold else [])
                       for i, (t, k, pr) in enumerate(zip(texts, pred, main_probs.tolist()))])
            if gold is not None:
                y = torch.tensor(gold)
                for p, pr in probs.items():
                    correct[p] = correct.get(p, 0) + int((pr.argmax(-1) == y).sum())
            shown += list(zip(texts[: 10 - len(shown)], pred))
            n += len(texts)
    summary = {"n": n, "checkpoint": clf.source, "head": clf.main_pooling, "precision": precision}
    if correct:
        # float32 like a tensor's mean over the rows: the same rounding as when the whole file was one tensor
        per_head = {p: round((torch.tensor(float(c)) / n).item(), 4) for p, c in correct.items()}
        summary.update(accuracy=per_head[clf.main_pooling], per_head=per_head)
        for name, acc in per_head.items():
            print(f"{name:>14}: {acc:.4f}{'  (main head)' if name == clf.main_pooling else ''}")
    else:
        for t, k in shown:
            print(f"{clf.labels[k]:>10}  {t}")
    print(json.dumps(summary))
    return summary


cli_main = cli(main)


if __name__ == "__main__":
    cli_main()
