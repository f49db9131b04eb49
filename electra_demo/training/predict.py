"""electra-demo predict: batch prediction over a TSV/CSV or plain-text file.

  electra-demo predict --input dev.tsv --output preds.tsv      # shipped default model
  electra-demo predict --checkpoint checkpoints/my-model --input sentences.txt

Writes the predicted label and class probabilities of the main head per row (.tsv or .csv, by the
extension; `read_rows` reads the file back to the same sentences). When the file has labels, reports
accuracy overall (main head) and per pooling head. The last stdout line is JSON.
"""
import argparse
import csv
import json
import os

import torch

from ..checkpoint import load_classifier
from ..data import label_ids, pad_batch, read_rows, tokenize
from ..errors import DataError, run_cli


@torch.no_grad()
def predict_probs(model, tokenizer, texts: list[str], max_length: int = 128, batch_size: int = 64) -> dict[str, torch.Tensor]:
    """{pooling: (N, C) probabilities} for every trained head; batches sorted by length (padding-safe anyway)."""
    model.eval()
    ids = tokenize(tokenizer, texts, max_length)
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    out = {p: torch.empty(len(ids), len(model.labels)) for p in model.poolings}
    for s in range(0, len(order), batch_size):
        idx = order[s : s + batch_size]
        input_ids, mask = pad_batch([ids[i] for i in idx], tokenizer.pad_token_id)  # (B, T)
        for p, logits in model(input_ids, mask).items():
            out[p][idx] = logits.float().softmax(-1)  # (B, C)
    return out


def evaluate(model, tokenizer, texts, labels, max_length=128, batch_size=64) -> dict:
    probs = predict_probs(model, tokenizer, texts, max_length, batch_size)
    y = torch.tensor(labels)
    per_head = {p: round((pr.argmax(-1) == y).float().mean().item(), 4) for p, pr in probs.items()}
    return {"accuracy": per_head[model.main_pooling], "per_head": per_head, "n": len(labels)}


def write_predictions(path: str, header: list[str], rows: list[list[str]]):
    """A .csv (quoted where needed) or .tsv (no quoting: a tab or newline inside a sentence is refused), written to a
    temporary file beside `path` and renamed over it, so `path` is the old file or the whole new one."""
    tsv = not path.lower().endswith(".csv")
    if tsv:
        for i, row in enumerate(rows, start=2):
            if any(c in row[0] for c in "\t\r\n"):
                raise DataError(f"row {i - 1}: the sentence contains a tab or line break, which a .tsv cannot hold",
                                cli="write a .csv instead (--output preds.csv)")
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            w = csv.writer(f, delimiter="\t", quoting=csv.QUOTE_NONE, quotechar=None) if tsv else csv.writer(f)
            w.writerow(header)
            w.writerows(rows)
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
    p.add_argument("--batch-size", type=int, default=64)
    args = p.parse_args(argv)
    if args.output and os.path.exists(args.output):
        if os.path.exists(args.input) and os.path.samefile(args.output, args.input):
            raise DataError(f"--output {args.output} is the input file; refusing to overwrite it")
        if not args.overwrite:
            raise DataError(f"{args.output} already exists", cli="pass --overwrite to replace it")
    clf = load_classifier(args.checkpoint)
    texts, raw, lines = read_rows(args.input, args.text_column, args.label_column)
    gold = label_ids(raw, clf.labels, args.input, lines) if raw is not None else None
    probs = predict_probs(clf.model, clf.tokenizer, texts, clf.max_length, args.batch_size)
    main_probs = probs[clf.main_pooling]  # (N, C)
    pred = main_probs.argmax(-1)
    if args.output:
        header = ["sentence", "prediction"] + [f"p_{name}" for name in clf.labels] + (["label"] if gold else [])
        rows = [[t, clf.labels[pred[i]]] + [f"{v:.4f}" for v in main_probs[i].tolist()] + ([clf.labels[gold[i]]] if gold else [])
                for i, t in enumerate(texts)]
        write_predictions(args.output, header, rows)
    summary = {"n": len(texts), "checkpoint": clf.source, "head": clf.main_pooling}
    if gold is not None:
        y = torch.tensor(gold)
        per_head = {p: round((pr.argmax(-1) == y).float().mean().item(), 4) for p, pr in probs.items()}
        summary.update(accuracy=per_head[clf.main_pooling], per_head=per_head)
        for name, acc in per_head.items():
            print(f"{name:>14}: {acc:.4f}{'  (main head)' if name == clf.main_pooling else ''}")
    else:
        for t, k in list(zip(texts, pred.tolist()))[:10]:
            print(f"{clf.labels[k]:>10}  {t}")
    print(json.dumps(summary))
    return summary


def cli_main(argv=None):
    return run_cli(main, argv)


if __name__ == "__main__":
    cli_main()
