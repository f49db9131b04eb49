"""The pooling lessons' figures (issue 16) on a labelled file with a checkpoint (default: the shipped model, SST-2 dev).

  python scripts/lessons_figures.py [--checkpoint DIR] [--data ../shared/data/sst2/dev.tsv] [--repeats 15]
  python scripts/lessons_figures.py --pretrained-encoder     # all-MiniLM-L6-v2 before any fine-tuning (needs
                                                            # requirements-train.txt): the parameter-free poolings

Prints markdown: per pooling cosine-kNN accuracy, linear-probe accuracy (same fixed 75/25 split) and anisotropy;
the head x pooling mismatch matrix; the cost of the attention view (eager attentions) against the explain path
(SDPA) and a bare transformers forward, medians of interleaved runs on 1 thread; the largest payloads.
"""
import argparse
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import torch  # noqa: E402
from transformers import ElectraForSequenceClassification  # noqa: E402
from transformers.utils import logging as hf_logging  # noqa: E402

from electra_demo.backbone import PACKAGE, PACKAGE_MODEL, transplant  # noqa: E402
from electra_demo.checkpoint import LoadedModel, load_classifier  # noqa: E402
from electra_demo.data import read_labelled  # noqa: E402
from electra_demo.lab.attention import attention_view  # noqa: E402
from electra_demo.lab.explain import explain  # noqa: E402
from electra_demo.lab.mismatch import mismatch_view  # noqa: E402
from electra_demo.lab.similarity import similarity_view  # noqa: E402
from electra_demo.model import build_classifier  # noqa: E402
from electra_demo.pooling import POOLERS  # noqa: E402
from electra_demo.views.attention import attention_json  # noqa: E402
from electra_demo.views.mismatch import mismatch_json  # noqa: E402
from electra_demo.views.similarity import similarity_json  # noqa: E402

DEV = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "..", "shared", "data", "sst2", "dev.tsv")
SENTENCE = "a gripping , beautifully acted film whose story stays with you long after it ends"


def pct(x):
    return f"{100 * x:.1f}%"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", default=None)
    p.add_argument("--data", default=DEV)
    p.add_argument("--repeats", type=int, default=15)
    p.add_argument("--pretrained-encoder", action="store_true",
                   help="the pretrained encoder as it comes (all-MiniLM-L6-v2 moved into ElectraModel), not fine-tuned: "
                        "similarity vs probe for the parameter-free poolings only (its heads would be random)")
    a = p.parse_args()
    torch.set_num_threads(1)
    hf_logging.set_verbosity_error()
    if a.pretrained_encoder:
        t = transplant(PACKAGE)
        labels = list(json.load(open(os.path.join(os.path.dirname(a.data), "labels.json"))).values())
        model = build_classifier(t.backbone.eval(), list(POOLERS), labels).eval()
        clf = LoadedModel(model, t.tokenizer, f"{PACKAGE_MODEL} (not fine-tuned)")
        texts, gold, _ = read_labelled(a.data, label_names=clf.labels)
        sim = similarity_view(clf, SENTENCE, texts, gold)
        print(f"{clf.source}; data {a.data} ({len(texts)} rows); parameter-free poolings only\n")
        print("| pooling | cosine 5-NN acc | linear probe acc | nearest neighbour same label | anisotropy (mean cosine) |")
        print("| --- | ---: | ---: | ---: | ---: |")
        for i, name in enumerate(sim.names):
            if name in POOLERS:
                print(f"| `{name}` | {pct(sim.knn_acc[i])} | {pct(sim.probe_acc[i])} | {pct(sim.nn_agreement[i])} | "
                      f"{sim.anisotropy[i]:.3f} |")
        return
    clf = load_classifier(a.checkpoint)
    texts, gold, _ = read_labelled(a.data, label_names=clf.labels)
    print(f"checkpoint {clf.source}; data {a.data} ({len(texts)} rows); torch threads 1; load {os.getloadavg()[0]:.2f}\n")

    sim = similarity_view(clf, SENTENCE, texts, gold)
    print("| pooling | cosine 5-NN acc | linear probe acc | nearest neighbour same label | anisotropy (mean cosine) |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for i, name in enumerate(sim.names):
        print(f"| `{name}` | {pct(sim.knn_acc[i])} | {pct(sim.probe_acc[i])} | {pct(sim.nn_agreement[i])} | "
              f"{sim.anisotropy[i]:.3f} |")

    mm = mismatch_view(clf, SENTENCE, texts, gold)
    print("\nHead (row) fed the vectors of pooling (column), accuracy:\n")
    print("| head \\ vectors | " + " | ".join(f"`{q}`" for q in mm.poolings) + " |")
    print("| --- |" + " ---: |" * len(mm.poolings))
    for r, h in enumerate(mm.heads):
        print(f"| `{h}` | " + " | ".join(("**" + pct(v) + "**") if q == h else pct(v)
                                          for q, v in zip(mm.poolings, mm.accuracy[r])) + " |")

    hf = ElectraForSequenceClassification.from_pretrained(clf.source).eval() if os.path.isdir(clf.source) else None
    ids = clf.tokenizer([SENTENCE], return_tensors="pt")
    runs = {"bare forward": [], "explain (SDPA)": [], "attention view (eager)": []}
    attention_view(clf, SENTENCE)  # builds the eager copy once
    for _ in range(a.repeats):  # interleaved
        for name in runs:
            t = time.perf_counter()
            if name == "bare forward" and hf is not None:
                with torch.no_grad():
                    hf(**ids)
            elif name == "explain (SDPA)":
                explain(clf, SENTENCE)
            elif name == "attention view (eager)":
                attention_view(clf, SENTENCE)
            runs[name].append(1000 * (time.perf_counter() - t))
    base = statistics.median(runs["bare forward"]) if hf is not None else float("nan")
    print(f"\nCost for a {ids['input_ids'].shape[1]}-token sentence ({a.repeats} interleaved runs, 1 thread):\n")
    print("| path | median ms | spread (min-max) | vs bare forward |")
    print("| --- | ---: | ---: | ---: |")
    for name, xs in runs.items():
        m = statistics.median(xs)
        print(f"| {name} | {m:.2f} | {min(xs):.2f}-{max(xs):.2f} | {m / base:.2f}x |")

    long = attention_view(clf, "good movie " * 200)  # the longest input the model takes
    sizes = {"/similarity (all rows)": len(json.dumps(similarity_json(sim))),
             "/mismatch": len(json.dumps(mismatch_json(mm))),
             f"/attention at {len(long.tokens)} tokens": len(json.dumps(attention_json(long)))}
    print("\n| payload | bytes |\n| --- | ---: |")
    for k, v in sizes.items():
        print(f"| {k} | {v:,} |")


if __name__ == "__main__":
    main()
