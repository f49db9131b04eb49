"""Re-export a checkpoint folder in the current format, optionally storing the weights in half precision.

  python scripts/reexport.py --checkpoint work/sst2-pre --output checkpoints/electra-sst2 --half word_embeddings

Loads the folder (every check of `load_classifier`), writes it again with `save_checkpoint` (backbone + `cls` head in
model.safetensors, the other heads in heads.safetensors, a new manifest) and copies its README.md card along. With
--half (weights whose name contains it are stored in float16) it reports the largest difference, over the sentences
of --data, between the fp32 model and the stored one in every number the explorer shows (hidden states of every
layer, every pooled vector, every head's probabilities).
"""
import argparse
import os
import shutil
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from electra_demo.checkpoint import load_classifier, save_checkpoint  # noqa: E402
from electra_demo.data import pad_batch, read_labelled, tokenize  # noqa: E402
from electra_demo.errors import run_cli  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def shown_numbers(clf, texts) -> dict[str, torch.Tensor]:
    """Every tensor the explorer shows for `texts`, one sentence at a time (as the page runs it)."""
    out = {}
    with torch.no_grad():
        for i, text in enumerate(texts):
            ids, mask = pad_batch(tokenize(clf.tokenizer, [text], clf.max_length), clf.tokenizer.pad_token_id)  # (1, T)
            enc = clf.model.encode(ids, mask, output_hidden_states=True)
            for layer, h in enumerate(enc.hidden_states):
                out[f"{i}/hidden_states[{layer}]"] = h
            for p in clf.model.available_poolings():
                vec = clf.model.pool(p, enc.last_hidden_state, mask)  # (1, H)
                out[f"{i}/pooled/{p}"] = vec
                if p in clf.model.poolings:
                    out[f"{i}/probs/{p}"] = clf.model.classify(p, vec).softmax(-1)
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--output", required=True)
    p.add_argument("--half", action="append", default=[], help="store weights whose name contains this in float16 "
                                                                   "(repeatable; 'electra.' or '.' for all)")
    p.add_argument("--data", default=os.path.join(ROOT, "examples", "reviews.tsv"), help="sentences for the comparison")
    p.add_argument("--overwrite", action="store_true")
    args = p.parse_args(argv)
    clf = load_classifier(args.checkpoint)
    save_checkpoint(clf.model, clf.tokenizer, args.output, overwrite=args.overwrite, half=tuple(args.half))
    card = os.path.join(args.checkpoint, "README.md")
    if os.path.exists(card) and not os.path.exists(os.path.join(args.output, "README.md")):
        shutil.copy(card, args.output)
    size = sum(os.path.getsize(os.path.join(args.output, f)) for f in os.listdir(args.output))
    stored = f"float16 for {', '.join(args.half)}, float32 for the rest" if args.half else "float32"
    print(f"exported {args.output}: {size / 1e6:.1f} MB, weights stored as {stored}")
    if args.half:
        texts, _, _ = read_labelled(args.data)
        a, b = shown_numbers(clf, texts), shown_numbers(load_classifier(args.output), texts)
        worst = {k: (a[k] - b[k]).abs().max().item() for k in a}
        for kind in ("hidden_states", "pooled", "probs"):
            name = max((k for k in worst if f"/{kind}" in k), key=worst.get)
            print(f"largest |fp32 - stored| in {kind}: {worst[name]:.2e} ({name}, {len(texts)} sentences)")
        rel = max(((a[k] - b[k]).abs().max() / a[k].abs().max().clamp(min=1e-12)).item() for k in a)
        print(f"largest difference relative to the tensor's largest value: {rel:.2e}")


if __name__ == "__main__":
    run_cli(main)
