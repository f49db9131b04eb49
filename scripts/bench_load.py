"""Time to load a checkpoint and make the first prediction, and the folder's size.

  python scripts/bench_load.py [--checkpoint checkpoints/electra-sst2] [--repeats 3]

Each repeat is a fresh Python process: loading + first prediction are timed inside it (imports of torch and
transformers not counted); the whole process, imports included, is reported beside it.
Targets for the shipped model: folder <= 30 MB, load + first prediction <= 3 s on this machine's CPU.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHILD = r"""
import json, sys, time
import torch
from electra_demo.checkpoint import load_classifier
from electra_demo.training.predict import predict_probs
t0 = time.perf_counter()
clf = load_classifier(sys.argv[1])
t1 = time.perf_counter()
p = predict_probs(clf.model, clf.tokenizer, ["a gripping, beautifully acted film"], clf.max_length)[clf.main_pooling]
t2 = time.perf_counter()
print(json.dumps({"load_s": t1 - t0, "first_prediction_s": t2 - t1, "total_s": t2 - t0, "label": clf.labels[int(p.argmax())]}))
"""


def folder_mb(path):
    if os.path.isfile(path):
        return os.path.getsize(path) / 1e6
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs) / 1e6


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", default=os.path.join(ROOT, "checkpoints", "electra-sst2"))
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    runs = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", CHILD, args.checkpoint], cwd=ROOT, capture_output=True, text=True, check=True)
        runs.append(dict(json.loads(out.stdout.strip().splitlines()[-1]), process_s=time.perf_counter() - t0))
    res = {"checkpoint": args.checkpoint, "size_mb": round(folder_mb(args.checkpoint), 2),
           "load_plus_first_prediction_s_median": round(statistics.median(r["total_s"] for r in runs), 3),
           "load_s_median": round(statistics.median(r["load_s"] for r in runs), 3),
           "whole_process_with_imports_s_median": round(statistics.median(r["process_s"] for r in runs), 3), "repeats": args.repeats,
           "example_label": runs[-1]["label"]}
    print(f"size: {res['size_mb']} MB (target <= 30)  "
          f"load + first prediction: {res['load_plus_first_prediction_s_median']} s (target <= 3)")
    print(json.dumps(res))


if __name__ == "__main__":
    main()
