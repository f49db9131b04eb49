"""Training steps/s of the mini preset with 1 vs 2 torch threads (the default of `train --threads` comes from here).

  python scripts/bench_threads.py --rounds 3 --steps 30

Each round runs one subprocess per thread count, interleaved (A B A B ...), each timing --steps optimizer steps of
ElectraPoolingClassifier(mini, every head) on SST-2 batches of 32 after 5 warm-up steps; prints the median steps/s.
Timings depend on what else runs on the machine: say so with the figures.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def one(threads: int, steps: int, data: str) -> float:
    import torch

    torch.set_num_threads(threads)
    from electra_demo.data import make_collate, read_labelled, tokenize
    from electra_demo.model import build_classifier, preset_config
    from electra_demo.pooling import TRAINABLE
    from electra_demo.tokenizer import train_wordpiece

    texts, labels, names = read_labelled(data)
    texts, labels = texts[:4000], labels[:4000]
    tok = train_wordpiece(texts, 8000)
    torch.manual_seed(0)
    model = build_classifier(preset_config("mini", len(tok), 512, pad_token_id=tok.pad_token_id), list(TRAINABLE), names)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    ids = tokenize(tok, texts, 128)
    collate = make_collate(tok.pad_token_id)
    batches = [collate(list(zip(ids[i:i + 32], labels[i:i + 32]))) for i in range(0, 32 * (steps + 5), 32)]
    t0 = None
    for k, b in enumerate(batches):
        if k == 5:
            t0 = time.perf_counter()
        out = model(b["input_ids"], b["attention_mask"])
        loss = sum(torch.nn.functional.cross_entropy(x, b["labels"]) for x in out.values())
        opt.zero_grad()
        loss.backward()
        opt.step()
    return steps / (time.perf_counter() - t0)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--threads", default="1,2")
    p.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data", "sst2", "train.tsv"))
    p.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child is not None:
        print(json.dumps({"steps_per_s": one(args.child, args.steps, args.data)}))
        return
    results = {int(t): [] for t in args.threads.split(",")}
    for r in range(args.rounds):
        for t in results:
            env = {**os.environ, "OMP_NUM_THREADS": str(t), "MKL_NUM_THREADS": str(t)}
            out = subprocess.run([sys.executable, __file__, "--child", str(t), "--steps", str(args.steps), "--data", args.data],
                                 env=env, cwd=ROOT, capture_output=True, text=True, check=True)
            results[t].append(json.loads(out.stdout.strip().splitlines()[-1])["steps_per_s"])
            print(f"round {r + 1} threads {t}: {results[t][-1]:.2f} steps/s", flush=True)
    summary = {t: round(statistics.median(v), 2) for t, v in results.items()}
    print(json.dumps({"median_steps_per_s": summary, "cpus": os.cpu_count(), "load_avg": os.getloadavg()}))


if __name__ == "__main__":
    main()
