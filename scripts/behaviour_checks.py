"""Behaviour checks by category (CheckList-style minimal pairs, Ribeiro et al. 2020): pass rates of the main head.

  python scripts/behaviour_checks.py --checkpoint checkpoints/electra-sst2 --checkpoint checkpoints/electra-sst2-scratch

The file (default examples/behaviour.tsv) has the columns category, sentence, label. `electra-demo predict --input
examples/behaviour.tsv` scores the same file as a whole; this script splits it by category and prints the markdown
table the model cards show, then every sentence a model gets wrong.
"""
import argparse
import csv
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from electra_demo.checkpoint import DEFAULT_CHECKPOINT, load_classifier  # noqa: E402
from electra_demo.errors import DataError, run_cli  # noqa: E402
from electra_demo.training.predict import predict_probs  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_FILE = os.path.join(ROOT, "examples", "behaviour.tsv")


def read_checks(path: str) -> list[tuple[str, str, str]]:
    """[(category, sentence, label name)] from a TSV with a header category, sentence, label."""
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    if not rows or set(rows[0]) != {"category", "sentence", "label"}:
        raise DataError(f"{path}: expected the header category<TAB>sentence<TAB>label")
    return [(r["category"], r["sentence"], r["label"]) for r in rows]


def pass_rates(checkpoint: str, checks) -> tuple[dict[str, tuple[int, int]], list[str]]:
    """{category: (passed, total)} for the main head, and the failed sentences."""
    clf = load_classifier(checkpoint)
    unknown = sorted({y for _, _, y in checks} - set(clf.labels))
    if unknown:
        raise DataError(f"labels {unknown} are not among {checkpoint}'s labels {clf.labels}")
    probs = predict_probs(clf.model, clf.tokenizer, [s for _, s, _ in checks], clf.max_length, heads=[clf.main_pooling])
    pred = probs[clf.main_pooling].argmax(-1).tolist()
    rates, failed = {}, []
    for (cat, sentence, y), k in zip(checks, pred):
        ok = clf.labels[k] == y
        passed, total = rates.get(cat, (0, 0))
        rates[cat] = (passed + ok, total + 1)
        if not ok:
            failed.append(f"{cat}: {sentence} (expected {y}, got {clf.labels[k]})")
    return rates, failed


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", action="append", default=None, help="repeatable (default: the shipped model)")
    p.add_argument("--file", default=DEFAULT_FILE)
    args = p.parse_args(argv)
    checks = read_checks(args.file)
    results = {c: pass_rates(c, checks) for c in args.checkpoint or [DEFAULT_CHECKPOINT]}
    cats = list(dict.fromkeys(cat for cat, _, _ in checks))
    print("| category | " + " | ".join(f"`{os.path.basename(os.path.normpath(c))}`" for c in results) + " |")
    print("| --- |" + " ---: |" * len(results))
    for cat in cats + ["all"]:
        cells = []
        for rates, _ in results.values():
            passed, total = rates[cat] if cat != "all" else map(sum, zip(*rates.values()))
            cells.append(f"{passed}/{total}")
        print(f"| {cat} | " + " | ".join(cells) + " |")
    for c, (_, failed) in results.items():
        print(f"\n{c}: {len(failed)} failed" + "".join(f"\n  {f}" for f in failed))
    return results


if __name__ == "__main__":
    run_cli(main)
