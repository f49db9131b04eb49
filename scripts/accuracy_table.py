"""Accuracy of every pooling head on labelled files, as the markdown table the README and the model card show.

  python scripts/accuracy_table.py --checkpoint checkpoints/electra-sst2 \
      --split dev=../shared/data/sst2/dev.tsv [--split test=../shared/data/sst2/test.tsv]

Same numbers as `python -m electra_demo predict --input FILE` (one `evaluate()` call per file); test belongs in the
table only once the model is chosen on dev.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from electra_demo.checkpoint import DEFAULT_CHECKPOINT, load_classifier  # noqa: E402
from electra_demo.data import read_labelled  # noqa: E402
from electra_demo.errors import run_cli  # noqa: E402
from electra_demo.training.predict import evaluate  # noqa: E402


def table(per_split: dict[str, dict], main: str) -> str:
    """per_split: {split name: evaluate() result} -> markdown, one row per head, the main head first."""
    names = list(per_split)
    heads = next(iter(per_split.values()))["per_head"]
    order = [main] + [h for h in heads if h != main]
    lines = ["| head (pooling) | " + " | ".join(f"{n} ({per_split[n]['n']})" for n in names) + " |",
             "| --- |" + " ---: |" * len(names)]
    for h in order:
        label = f"`{h}` (main)" if h == main else f"`{h}`"
        lines.append(f"| {label} | " + " | ".join(f"{100 * per_split[n]['per_head'][h]:.1f}%" for n in names) + " |")
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", default=DEFAULT_CHECKPOINT)
    p.add_argument("--split", action="append", required=True, metavar="NAME=FILE", help="a labelled TSV/CSV, repeatable")
    args = p.parse_args(argv)
    clf = load_classifier(args.checkpoint)
    results = {}
    for spec in args.split:
        name, sep, path = spec.partition("=")
        if not sep or not name or not path:
            raise ValueError(f"--split {spec!r}: expected NAME=FILE, e.g. dev=../shared/data/sst2/dev.tsv")
        texts, labels, _ = read_labelled(path, "sentence", "label", clf.labels)
        results[name] = evaluate(clf.model, clf.tokenizer, texts, labels, clf.max_length)
    print(table(results, clf.model.main_pooling))
    return results


if __name__ == "__main__":
    run_cli(main)
