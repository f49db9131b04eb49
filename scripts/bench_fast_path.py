"""The fast path against its peers (issue 13), on this machine: python scripts/bench_fast_path.py [--sections ...]

Sections (all by default), each printed as a markdown table:
  explain     explain() and explain() + views.explain.to_json (what /explain serves) vs a bare transformers
              ElectraForSequenceClassification forward (same weights, same sentence, tokenizing included; the
              model-only forward on ready ids beside it) at 8 / 32 / 128 tokens, and 256 / 512 with the model's
              max length raised to its 512 positions; plus the largest difference from the straightforward computation.
  scaling     predict_probs (main head, fp32) vs a bare batched forward, per sentence, against length and batch size.
  throughput  SST-2 test (1,821 sentences) in one process: predict_probs fp32 / bf16 / auto / int8 vs
              pipeline("text-classification", batch_size=32): sentences/s and labels equal to the pipeline's.
  cli         whole processes, interleaved: `python -m electra_demo predict` (fp32, auto) vs a script running the
              pipeline, and vs a minimal script doing what the CLI does (length-sorted fp32 batches, main head).
  imports     python -X importtime: the predict entry point vs the minimal script's imports; what the app imports.
  app         `python app.py` start to first HTTP 200 vs a minimal Gradio app serving the bare model (interleaved).

Timing rules: torch.set_num_threads(1) in this process, OMP_NUM_THREADS=1 in every subprocess (the machine has 2
cores shared with other work); A and B run alternately in every round; medians over rounds, spread = the 25th-75th
percentile of the per-round ratios (A and B of one round ran next to each other); CPU time (thread_time) beside wall
time, since CPU time is less disturbed by other processes; os.getloadavg() before and after each section.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
SST2 = os.path.join(ROOT, "..", "shared", "data", "sst2")
CKPT = os.path.join(ROOT, "checkpoints", "electra-sst2")
WORDS = ("the film was a really good story with fine acting and a lovely plot but the ending felt dull and "
         "the music was boring though the cast did a superb job overall").split()
os.environ["TOKENIZERS_PARALLELISM"] = "false"  # tokenizing on the calling thread, so thread_time counts it
ENV = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", HF_HUB_OFFLINE="1", GRADIO_ANALYTICS_ENABLED="False",
           TRANSFORMERS_VERBOSITY="error", PYTHONPATH=ROOT)

PIPELINE_SCRIPT = r'''
import csv, json, sys
from transformers import pipeline
rows = list(csv.reader(open(sys.argv[1], encoding="utf-8"), delimiter="\t", quoting=csv.QUOTE_NONE))[1:]
clf = pipeline("text-classification", model=sys.argv[2], batch_size=32)
out = clf([r[0] for r in rows], truncation=True, max_length=128)
print(json.dumps({"n": len(rows), "labels": [o["label"] for o in out]}))
'''
MINIMAL_SCRIPT = r'''
import csv, json, sys
import torch
from transformers import AutoTokenizer, ElectraForSequenceClassification
rows = list(csv.reader(open(sys.argv[1], encoding="utf-8"), delimiter="\t", quoting=csv.QUOTE_NONE))[1:]
tok = AutoTokenizer.from_pretrained(sys.argv[2])
model = ElectraForSequenceClassification.from_pretrained(sys.argv[2]).eval()
ids = tok([r[0] for r in rows], truncation=True, max_length=128)["input_ids"]
order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
pred = [0] * len(ids)
with torch.inference_mode():
    for s in range(0, len(order), 128):
        idx = order[s:s + 128]
        batch = tok.pad({"input_ids": [ids[i] for i in idx]}, return_tensors="pt")
        for i, k in zip(idx, model(**batch).logits.argmax(-1).tolist()):
            pred[i] = k
print(json.dumps({"n": len(ids), "labels": [model.config.id2label[k] for k in pred]}))
'''
GRADIO_SCRIPT = r'''
import sys
import gradio as gr
import torch
from transformers import AutoTokenizer, ElectraForSequenceClassification
tok = AutoTokenizer.from_pretrained(sys.argv[1])
model = ElectraForSequenceClassification.from_pretrained(sys.argv[1]).eval()
def predict(text):
    with torch.inference_mode():
        p = model(**tok(text, return_tensors="pt", truncation=True, max_length=128)).logits.softmax(-1)[0]
    return {model.config.id2label[i]: float(v) for i, v in enumerate(p)}
gr.Interface(predict, gr.Textbox(), gr.Label()).launch(server_name="127.0.0.1", server_port=int(sys.argv[2]))
'''


def load() -> str:
    return "load {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def quartiles(xs):
    q = statistics.quantiles(xs, n=4) if len(xs) > 1 else [xs[0]] * 3
    return q[0], q[2]


def interleaved(calls: dict, rounds: int) -> dict:
    """{name: (wall seconds list, cpu seconds list)}: every round calls each in turn, the order rotating."""
    names = list(calls)
    out = {n: ([], []) for n in names}
    for r in range(rounds):
        for n in names[r % len(names):] + names[: r % len(names)]:
            t, c = time.perf_counter(), time.thread_time()
            calls[n]()
            out[n][1].append(time.thread_time() - c)
            out[n][0].append(time.perf_counter() - t)
    return out


def ratio_cell(a, b) -> str:
    """median(a) / median(b), with the 25-75% range of the per-round ratios a_i / b_i."""
    lo, hi = quartiles([x / y for x, y in zip(a, b)])
    return f"{statistics.median(a) / statistics.median(b):.3f} ({lo:.2f}-{hi:.2f})"


def sentence_with_tokens(tok, n: int) -> str:
    """A sentence of exactly n tokens with [CLS] and [SEP]: words from WORDS, topped up with '.' (one token each)."""
    count = lambda t: len(tok(t, split_special_tokens=True)["input_ids"])  # noqa: E731
    words = []
    while count(" ".join(words + [WORDS[len(words) % len(WORDS)]])) <= n:
        words.append(WORDS[len(words) % len(WORDS)])
    text = " ".join(words)
    while count(text) < n:
        text += " ."
    assert count(text) == n, (n, count(text))
    return text


def models():
    import torch
    from transformers import ElectraForSequenceClassification
    from transformers.utils import logging

    from electra_demo.checkpoint import load_classifier

    logging.set_verbosity_error()
    clf, long = load_classifier(CKPT), load_classifier(CKPT)
    long.model.config.max_input_length = long.model.config.max_position_embeddings  # 512: for the scaling rows
    hf = ElectraForSequenceClassification.from_pretrained(CKPT).eval()
    torch.set_num_threads(1)
    return clf, long, hf


def max_difference(clf, text) -> float:
    """Largest |explain - straightforward| over pooled vectors, head probabilities, logits and hidden states."""
    import numpy as np

    from electra_demo.lab.explain import explain
    from tests.test_fast_path import reference

    e, ref = explain(clf, text), reference(clf, text)
    d = [np.abs(e.hidden_states - ref["hidden"].numpy()).max()]
    d += [np.abs(e.pooled[p] - v[0].numpy()).max() for p, v in ref["pooled"].items()]
    d += [np.abs(np.array(e.heads[p].probs) - lg.softmax(-1)[0].numpy()).max() for p, lg in ref["logits"].items()]
    return float(max(d))


def explain_calls(clf, hf, text: str) -> dict:
    """The four things timed per length: bare forward (tokenizing included), model only, explain, explain + to_json."""
    import torch

    from electra_demo.lab.explain import explain
    from electra_demo.views.explain import to_json

    tok = clf.tokenizer
    ready = tok(text, return_tensors="pt")

    def bare():
        with torch.inference_mode():
            return hf(**tok(text, return_tensors="pt", truncation=True, max_length=512)).logits.softmax(-1)

    def model_only():
        with torch.inference_mode():
            return hf(**ready).logits

    return {"bare": bare, "model": model_only, "explain": lambda: explain(clf, text), "json": lambda: to_json(explain(clf, text))}


def scaling_calls(clf, hf, texts: list[str]) -> dict:
    import torch

    from electra_demo.training.predict import predict_probs

    tok = clf.tokenizer

    def bare():
        with torch.inference_mode():
            return hf(**tok(texts, return_tensors="pt", padding=True, truncation=True, max_length=512)).logits.softmax(-1)

    return {"predict": lambda: predict_probs(clf.model, tok, texts, 512, len(texts), heads=[clf.main_pooling]), "bare": bare}


def heads_cold_warm(clf, text: str, rounds: int) -> tuple[float, float, float, float]:
    """(cold us, warm us, MB of head + learned pooler weights, MB of encoder weights): the poolings and heads of
    explain timed right after a backbone forward (their weights pushed out of the core's cache) and repeated (warm)."""
    import torch

    from electra_demo import pooling
    from electra_demo.lab.explain import token_ids

    model = clf.model
    names = model.available_poolings() + list(pooling.NAIVE_POOLERS)
    ids = torch.tensor([token_ids(clf.tokenizer, text, clf.max_length)[0]])
    cold, warm = [], []
    with torch.inference_mode():
        for _ in range(rounds):
            h = model.electra(input_ids=ids).last_hidden_state
            t = time.perf_counter()
            model.classify_all(model.pool_all(h[0], torch.ones_like(ids)), names)
            cold.append(time.perf_counter() - t)
            t = time.perf_counter()
            model.classify_all(model.pool_all(h[0], torch.ones_like(ids)), names)
            warm.append(time.perf_counter() - t)
    mb = lambda ps: sum(p.numel() * p.element_size() for p in ps) / 1e6  # noqa: E731
    heads = mb([p for m in (model.heads, model.poolers, model._modules.get("classifier")) if m is not None for p in m.parameters()])
    return statistics.median(cold) * 1e6, statistics.median(warm) * 1e6, heads, mb(model.electra.encoder.parameters())


def section_explain(rounds: int) -> dict:
    clf, long, hf = models()
    tok = clf.tokenizer
    print(f"\n### explain vs a bare forward (1 torch thread, {rounds} rounds, {load()})\n")
    print("| tokens | bare forward ms (wall / cpu) | model only ms | explain ms | explain + to_json ms | explain / bare "
          "(wall, 25-75%) | explain / bare (cpu) | + to_json / bare (wall) | + to_json / bare (cpu) | max diff |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    res = {}
    for n in (8, 32, 128, 256, 512):
        c = clf if n <= clf.max_length else long
        text = sentence_with_tokens(tok, n)
        calls = explain_calls(c, hf, text)
        interleaved(calls, 3)  # warm-up
        t = interleaved(calls, rounds if n <= 128 else max(5, rounds // 3))
        med = {k: (statistics.median(w) * 1e3, statistics.median(cp) * 1e3) for k, (w, cp) in t.items()}
        diff = max_difference(c, text)
        print(f"| {n} | {med['bare'][0]:.2f} / {med['bare'][1]:.2f} | {med['model'][0]:.2f} | {med['explain'][0]:.2f} | "
              f"{med['json'][0]:.2f} | {ratio_cell(t['explain'][0], t['bare'][0])} | {ratio_cell(t['explain'][1], t['bare'][1])} | "
              f"{ratio_cell(t['json'][0], t['bare'][0])} | {ratio_cell(t['json'][1], t['bare'][1])} | {diff:.1e} |")
        res[n] = {"ms": med, "explain_ratio_wall": med["explain"][0] / med["bare"][0],
                  "explain_ratio_cpu": med["explain"][1] / med["bare"][1], "json_ratio_wall": med["json"][0] / med["bare"][0],
                  "json_ratio_cpu": med["json"][1] / med["bare"][1], "max_diff": diff}
    print(f"\n({load()}; bare = tokenizer + ElectraForSequenceClassification + softmax under inference_mode; "
          "model only = the forward on ready ids)")
    cold, warm, heads_mb, encoder_mb = heads_cold_warm(clf, sentence_with_tokens(tok, 8), rounds)
    print(f"\nAt 8 tokens the poolings + heads of explain take {cold:.0f} us right after a forward pass and {warm:.0f} us "
          f"when repeated at once: their weights ({heads_mb:.1f} MB, vs the encoder's {encoder_mb:.1f} MB) come from "
          "memory, not the core's cache; a bare forward reads only one head's.")
    res["heads_us_cold_warm"] = (cold, warm, heads_mb, encoder_mb)
    return res


def section_scaling(rounds: int) -> dict:
    _, long, hf = models()
    tok = long.tokenizer
    print(f"\n### predict_probs (fp32, main head) vs a bare batched forward, per sentence (1 thread, {load()})\n")
    print("| tokens | batch | predict ms / sentence | bare ms / sentence | predict / bare (cpu, 25-75%) |")
    print("|---|---|---|---|---|")
    res = {}
    for n in (8, 32, 128, 512):
        text = sentence_with_tokens(tok, n)
        for bs in (1, 8, 32, 128):
            if n * bs > 8192:
                continue
            texts = [text] * bs

            calls = scaling_calls(long, hf, texts)
            interleaved(calls, 2)
            t = interleaved(calls, max(3, rounds // 4))
            p, b = (statistics.median(t[k][1]) * 1e3 / bs for k in ("predict", "bare"))
            print(f"| {n} | {bs} | {p:.3f} | {b:.3f} | {ratio_cell(t['predict'][1], t['bare'][1])} |")
            res[f"{n}x{bs}"] = {"predict_ms": p, "bare_ms": b}
    return res


def section_throughput() -> dict:
    from transformers import pipeline

    from electra_demo.data import read_rows
    from electra_demo.training.predict import native_bf16, predict_probs, quantized

    clf, _, _ = models()
    texts, raw, _ = read_rows(os.path.join(SST2, "test.tsv"))
    pipe = pipeline("text-classification", model=CKPT, batch_size=32)
    q = quantized(clf.model)
    main = clf.main_pooling
    runs = {
        "pipeline batch 32": lambda: [o["label"] for o in pipe(texts, truncation=True, max_length=128)],
        **{f"predict_probs {p}": (lambda p=p: predict_probs(clf.model, clf.tokenizer, texts, 128, heads=[main], precision=p))
           for p in ("fp32", "bf16", "auto")},
        "predict_probs int8": lambda: predict_probs(q, clf.tokenizer, texts, 128, heads=[main]),
    }
    print(f"\n### SST-2 test ({len(texts)} sentences) in one process (1 thread, native bf16: {native_bf16()}, {load()})\n")
    print("| run | sentences/s (wall) | sentences/s (cpu) | x pipeline (cpu) | labels = pipeline's |")
    print("|---|---|---|---|---|")
    t = interleaved(runs, 2)
    out = {name: f() for name, f in runs.items()}
    ref = out["pipeline batch 32"]
    res = {}
    for name in runs:
        w, c = statistics.median(t[name][0]), statistics.median(t[name][1])
        labels = ref if name.startswith("pipeline") else [clf.labels[k] for k in out[name][main].argmax(-1).tolist()]
        same = sum(a == b for a, b in zip(labels, ref))
        x = statistics.median(t["pipeline batch 32"][1]) / c
        print(f"| {name} | {len(texts) / w:.0f} | {len(texts) / c:.0f} | {x:.2f} | {same}/{len(texts)} |")
        res[name] = {"per_s_wall": len(texts) / w, "per_s_cpu": len(texts) / c, "x_pipeline_cpu": x, "same_labels": same}
    return res


def run_process(argv) -> tuple[float, float, str]:
    """(wall s, cpu s of the child, stdout) of one process."""
    t = time.perf_counter()
    before = os.times()
    out = subprocess.run(argv, cwd=ROOT, env=ENV, capture_output=True, text=True)
    after = os.times()
    if out.returncode:
        raise RuntimeError(f"{argv} failed:\n{out.stderr[-3000:]}")
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    return time.perf_counter() - t, cpu, out.stdout


def section_cli(repeats: int, test: str | None = None) -> dict:
    tmp = tempfile.mkdtemp(prefix="bench_fast_path_")
    test = test or os.path.join(SST2, "test.tsv")
    scripts = {}
    for name, code in (("pipeline", PIPELINE_SCRIPT), ("minimal", MINIMAL_SCRIPT)):
        scripts[name] = os.path.join(tmp, f"{name}.py")
        open(scripts[name], "w").write(code)
    out = {k: os.path.join(tmp, f"preds_{k}.tsv") for k in ("plain", "fp32", "auto")}  # one file per run kind
    from electra_demo.data import read_rows

    plain = os.path.join(tmp, "test_sentences.txt")  # the same sentences without labels: the CLI runs the main head only
    open(plain, "w", encoding="utf-8").write("\n".join(read_rows(test)[0]) + "\n")
    argv = {
        "predict CLI fp32, sentences only": [sys.executable, "-m", "electra_demo", "predict", "--input", plain, "--precision",
                                             "fp32", "--output", out["plain"], "--overwrite"],
        "predict CLI fp32": [sys.executable, "-m", "electra_demo", "predict", "--input", test, "--precision", "fp32",
                             "--output", out["fp32"], "--overwrite"],
        "predict CLI auto": [sys.executable, "-m", "electra_demo", "predict", "--input", test, "--output", out["auto"],
                             "--overwrite"],
        "minimal script (fp32)": [sys.executable, scripts["minimal"], test, CKPT],
        "pipeline script": [sys.executable, scripts["pipeline"], test, CKPT],
    }
    n = len(read_rows(test)[0])
    print(f"\n### Whole processes on {os.path.relpath(test, ROOT)} ({n:,} sentences, OMP_NUM_THREADS=1, {repeats} "
          f"interleaved rounds, {load()})\n")
    times, stdout = {k: ([], []) for k in argv}, {}
    for r in range(repeats):
        names = list(argv)
        for k in names[r % len(names):] + names[: r % len(names)]:
            w, c, stdout[k] = run_process(argv[k])
            times[k][0].append(w)
            times[k][1].append(c)
    print("| process | wall s (median, min-max) | cpu s (median) | throughput x pipeline (wall) | x pipeline (cpu) | "
          "vs minimal script (wall) | vs minimal (cpu) |")
    print("|---|---|---|---|---|---|---|")
    res = {}
    pw, pc = times["pipeline script"]
    mw, mc = times["minimal script (fp32)"]
    for k, (w, c) in times.items():
        print(f"| {k} | {statistics.median(w):.2f} ({min(w):.1f}-{max(w):.1f}) | {statistics.median(c):.2f} | "
              f"{ratio_cell(pw, w)} | {ratio_cell(pc, c)} | {ratio_cell(w, mw)} | {ratio_cell(c, mc)} |")
        res[k] = {"wall_s": statistics.median(w), "cpu_s": statistics.median(c)}
    import csv

    def labels_of(kind):  # from the last timed run's own output file
        return [r[1] for r in csv.reader(open(out[kind], encoding="utf-8"), delimiter="\t", quoting=csv.QUOTE_NONE)][1:]

    pipe = json.loads(stdout["pipeline script"].strip().splitlines()[-1])["labels"]
    res["labels_equal_pipeline"] = {k: sum(a == b for a, b in zip(labels_of(k), pipe)) for k in ("fp32", "auto")}
    print(f"\nlabels equal to the pipeline's: fp32 {res['labels_equal_pipeline']['fp32']}/{len(pipe)}, auto "
          f"{res['labels_equal_pipeline']['auto']}/{len(pipe)} ({load()})")
    return res


def importtime(code: str) -> tuple[float, list[tuple[float, str]], list[str]]:
    """(total import seconds, [(seconds, package)] by top-level package, heavy packages imported) of
    `python -X importtime -c code`."""
    out = subprocess.run([sys.executable, "-X", "importtime", "-c",
                          code + "; import sys; print([m for m in ('pytorch_lightning', 'lightning', 'torchmetrics', "
                          "'gradio', 'plotly', 'pandas', 'scipy', 'sklearn') if m in sys.modules])"],
                         cwd=ROOT, env=ENV, capture_output=True, text=True, check=True)
    by_package = {}
    for line in out.stderr.splitlines():
        if line.startswith("import time:") and "self [us]" not in line:
            self_us, _, name = line[len("import time:"):].split("|")
            package = name.strip().split(".")[0]
            by_package[package] = by_package.get(package, 0) + int(self_us) / 1e6
    top = sorted(((v, k) for k, v in by_package.items()), reverse=True)
    return sum(by_package.values()), top, json.loads(out.stdout.strip().splitlines()[-1].replace("'", '"'))


def section_imports(repeats: int) -> dict:
    cases = {
        "predict entry point (import electra_demo.training.predict)": "import electra_demo.training.predict",
        "minimal script (torch + transformers AutoTokenizer, ElectraForSequenceClassification)":
            "import torch; from transformers import AutoTokenizer, ElectraForSequenceClassification",
        "app (electra_demo.checkpoint + electra_demo.app.page, what python app.py imports)":
            "import electra_demo.checkpoint, electra_demo.app.page",
        "minimal Gradio app (gradio + torch + transformers)":
            "import gradio, torch; from transformers import AutoTokenizer, ElectraForSequenceClassification",
    }
    print(f"\n### Import time (python -X importtime, median of {repeats} interleaved, {load()})\n")
    print("| imports | seconds | heavy packages loaded | seconds by package (self time) |")
    print("|---|---|---|---|")
    res = {}
    totals = {k: [] for k in cases}
    last = {}
    for _ in range(repeats):
        for k, code in cases.items():
            total, top, heavy = importtime(code)
            totals[k].append(total)
            last[k] = (top, heavy)
    for k in cases:
        top, heavy = last[k]
        print(f"| {k} | {statistics.median(totals[k]):.2f} | {', '.join(heavy) or 'none'} | "
              f"{', '.join(f'{n} {sec:.2f}' for sec, n in top[:6])} |")
        res[k] = {"s": statistics.median(totals[k]), "heavy": heavy, "top": top[:8]}
    return res


def section_app(repeats: int) -> dict:
    from tests.harness import free_port, serve, start_app, stop_app

    tmp = tempfile.mkdtemp(prefix="bench_fast_path_app_")
    script = os.path.join(tmp, "minimal_gradio.py")
    open(script, "w").write(GRADIO_SCRIPT)
    times = {"python app.py": [], "minimal Gradio app": []}
    for r in range(repeats):
        for k in (list(times) if r % 2 == 0 else list(times)[::-1]):
            port = free_port()
            if k == "python app.py":
                proc, _, s = start_app(None, port, os.path.join(tmp, "app.log"), timeout=300)
            else:
                proc, _, s = serve([sys.executable, script, CKPT, str(port)], port, os.path.join(tmp, "min.log"), timeout=300)
            stop_app(proc)
            times[k].append(s)
    a, b = times["python app.py"], times["minimal Gradio app"]
    print(f"\n### Start to serving (first HTTP 200; {repeats} interleaved rounds; default threads; {load()})\n")
    print("| server | seconds (median, min-max) |\n|---|---|")
    for k, v in times.items():
        print(f"| {k} | {statistics.median(v):.2f} ({min(v):.1f}-{max(v):.1f}) |")
    print(f"| ratio app / minimal (25-75%) | {ratio_cell(a, b)} |")
    return {"app_s": statistics.median(a), "minimal_s": statistics.median(b), "ratio": statistics.median(a) / statistics.median(b)}


SECTIONS = ("explain", "scaling", "throughput", "cli", "imports", "app")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sections", default=",".join(SECTIONS), help=f"comma-separated, from {', '.join(SECTIONS)}")
    p.add_argument("--rounds", type=int, default=40, help="interleaved rounds for the in-process timings")
    p.add_argument("--repeats", type=int, default=3, help="interleaved rounds for whole processes")
    p.add_argument("--cli-input", default=None, metavar="TSV",
                   help="the cli section's input (default: ../shared/data/sst2/test.tsv; e.g. sst2/train.tsv, 67,349 "
                        "phrases, where the fixed start-up cost of every process matters less)")
    p.add_argument("--busy", type=int, default=0, metavar="N",
                   help="keep N CPU-bound busy-loop processes running meanwhile: a reproducible busy machine (default 0)")
    args = p.parse_args(argv)
    chosen = [s.strip() for s in args.sections.split(",") if s.strip()]
    bad = [s for s in chosen if s not in SECTIONS]
    if bad:
        p.error(f"unknown section {bad[0]!r}; choose from {', '.join(SECTIONS)}")
    import torch

    torch.set_num_threads(1)
    print(f"bench_fast_path: python {sys.version.split()[0]}, torch {torch.__version__}, {os.cpu_count()} CPUs, "
          f"torch threads here: {torch.get_num_threads()}, subprocesses: OMP_NUM_THREADS=1; {load()}")
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.busy)]
    if burners:
        print(f"busy machine: {args.busy} busy-loop processes running during every section")
    try:
        res = run_sections(chosen, args)
    finally:
        for b in burners:
            b.kill()
    print(f"\n({load()} at the end)")
    print(json.dumps(res, default=str))


def run_sections(chosen, args) -> dict:
    res = {}
    for s in chosen:
        if s == "explain":
            res[s] = section_explain(args.rounds)
        elif s == "scaling":
            res[s] = section_scaling(args.rounds)
        elif s == "throughput":
            res[s] = section_throughput()
        elif s == "cli":
            res[s] = section_cli(args.repeats, args.cli_input)
        elif s == "imports":
            res[s] = section_imports(args.repeats)
        elif s == "app":
            res[s] = section_app(args.repeats)
    return res


if __name__ == "__main__":
    main()
