"""Issue 14's figures for the command line and the checkpoint format: bad inputs refused cleanly, kill points survived
(issue 26 added the hostile checkpoint fields, manifests, weight headers and tokenizers, and another run's state).

  python scripts/attack.py                      # every bad input + 20 kill points (about two minutes on 2 cores)
  python scripts/attack.py --kills 50 --big     # more kill points, and the bad-line probe with a real 1 GiB line
  python scripts/attack.py --only kill --kills 6 --json   # what tests/test_safety.py runs

Bad inputs: each is given to a CLI (predict, train, pretrain) in this process; "clean" means exit code 2, exactly
one line on stderr starting with "error: ", no traceback, and the expected words in it (so a misleading sentence
counts as a failure). Kill points: a child process replaces a checkpoint folder (old weights A) with new weights B
through save_checkpoint, every file write slowed down; it is SIGKILLed at a random moment; the folder must then load
and hold exactly A or exactly B. The busy-port probe starts app.py on a port in use, in a subprocess (--app).
"""
import argparse
import contextlib
import io
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import torch  # noqa: E402
from safetensors.torch import save_file  # noqa: E402

from electra_demo.checkpoint import load_classifier, save_checkpoint, write_manifest  # noqa: E402
from electra_demo.model import build_classifier, preset_config  # noqa: E402
from electra_demo.tokenizer import train_wordpiece  # noqa: E402
from electra_demo.training import predict, pretrain, train  # noqa: E402

WORDS = "the a film movie plot was is very good bad great awful fine dull".split()


def tiny_model(seed: int, tok):
    torch.manual_seed(seed)
    cfg = preset_config("tiny", len(tok), 128, pad_token_id=tok.pad_token_id)
    model = build_classifier(cfg, ["cls", "mean"], ["negative", "positive"], max_input_length=64).eval()
    model.config.training_info = {"which": f"seed{seed}"}
    return model


def tiny_tokenizer():
    r = random.Random(0)
    return train_wordpiece([" ".join(r.choice(WORDS) for _ in range(8)) for _ in range(200)], 150, min_frequency=1)


def write_tsv(path, rows, header="sentence\tlabel"):
    with open(path, "w", encoding="utf-8") as f:
        f.write(header + "\n" + "".join(f"{s}\t{y}\n" for s, y in rows))
    return path


def _edit_config(folder, **changes):
    cfg = json.load(open(os.path.join(folder, "config.json")))
    cfg.update(changes)
    json.dump(cfg, open(os.path.join(folder, "config.json"), "w"))
    os.remove(os.path.join(folder, "manifest.json"))
    write_manifest(folder)  # a consistent folder: only the content is hostile


def run_cli(cli, argv):
    """(exit code, stderr, exception text or None), with the CLI run in this process."""
    err, out = io.StringIO(), io.StringIO()
    code, exc = 0, None
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        try:
            cli(argv)
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 1
        except BaseException:  # noqa: BLE001 - a traceback is what we are looking for
            code, exc = 1, traceback.format_exc(limit=-3)
    return code, err.getvalue(), exc


class _Payload:
    def __reduce__(self):
        return os.system, ("touch /tmp/electra-demo-attack-ran",)


def bad_inputs(w: str, big: bool) -> list[tuple[str, object, list[str], str]]:
    """(name, cli, argv, words the one line must contain), built in the work folder w."""
    tok = tiny_tokenizer()
    good = os.path.join(w, "good")
    save_checkpoint(tiny_model(0, tok), tok, good)
    data = write_tsv(os.path.join(w, "dev.tsv"), [("a good film", 1), ("a dull plot", 0)] * 4)
    P = predict.cli_main

    def variant(name, edit):
        folder = os.path.join(w, name)
        shutil.copytree(good, folder)
        edit(folder)
        return folder

    def f(name, content: bytes):
        path = os.path.join(w, name)
        open(path, "wb").write(content)
        return path

    torch.save({"state_dict": {}, "x": _Payload()}, os.path.join(w, "os_system.ckpt"))
    torch.save({"state_dict": {}, "x": shutil.Error("object")}, os.path.join(w, "other_global.ckpt"))
    sd = {"model." + k: v for k, v in tiny_model(0, tok).state_dict().items()}
    cfg = tiny_model(0, tok).config.to_dict()
    files = {n: open(os.path.join(good, n)).read() for n in ("tokenizer.json", "tokenizer_config.json")}
    torch.save({"state_dict": sd, "electra_demo": {"config": {**cfg, "hidden_size": 64, "intermediate_size": 128},
                                                     "tokenizer_files": files}}, os.path.join(w, "shape.ckpt"))
    torch.save({"state_dict": sd, "electra_demo": {"config": {**cfg, "num_hidden_layers": 10000}, "tokenizer_files": files}},
               os.path.join(w, "absurd.ckpt"))
    torch.save([1, 2, 3], os.path.join(w, "list.ckpt"))
    nan = variant("nan", lambda d: None)
    m = load_classifier(nan).model
    with torch.no_grad():
        m.classifier.out_proj.weight[0, 0] = float("nan")
    shutil.rmtree(nan)
    save_checkpoint(m, tok, nan)
    long_field = write_tsv(os.path.join(w, "long_field.tsv"), [("x" * 200_000, 1)])
    big_line = os.path.join(w, "big_line.tsv")
    with open(big_line, "w") as fh:
        fh.write("sentence\tlabel\n")
        chunk = "y" * (1 << 20)
        for _ in range(1024 if big else 64):  # 1 GiB with --big, else 64 MiB: both refused after reading 1 MiB
            fh.write(chunk)
        fh.write("\t1\n")
    sup = write_tsv(os.path.join(w, "sup.tsv"), [("a good film", "²"), ("bad", "0")])
    os.makedirs(os.path.join(w, "sup"), exist_ok=True)
    sup_train = write_tsv(os.path.join(w, "sup", "train.tsv"), [("a good film", "²"), ("bad", "0")] * 4)
    bom = os.path.join(w, "bom.tsv")
    open(bom, "w", encoding="utf-8-sig").write("sentence\tlabel\na good film\t1\n")
    ragged = f("ragged.tsv", b"sentence\tlabel\na film\t1\textra\n")
    latin = f("latin.tsv", "sentence\tlabel\ncaf\xe9\t1\n".encode("latin-1"))
    labels_bad = f("labels_bad.json", b"[not json")
    unsafe_resume = os.path.join(w, "runs_unsafe", "pretrain")
    os.makedirs(unsafe_resume)
    torch.save({"x": _Payload()}, os.path.join(unsafe_resume, "last.ckpt"))
    T = train.cli_main

    def targs(out, *extra, train_file=data):
        return ["--train", train_file, "--val", data, "--preset", "tiny", "--vocab-size", "150", "--output",
                os.path.join(w, out), "--log-dir", os.path.join(w, "t_runs"), "--fast-dev-run", *extra]

    train_unsafe = train.resume_path(train.build_parser().parse_args(targs("t_unsafe")))
    os.makedirs(os.path.dirname(train_unsafe), exist_ok=True)
    torch.save({"x": _Payload()}, train_unsafe)
    labels_ok = f("labels.json", json.dumps({"0": "negative", "1": "positive"}).encode())
    def drop_tokenizer(d):
        for n in ("tokenizer.json", "tokenizer_config.json"):
            os.remove(os.path.join(d, n))
        os.remove(os.path.join(d, "manifest.json"))
        write_manifest(d)

    # issue 26: hostile checkpoints checked whole before anything big is allocated, and the runs' own state
    other = os.path.join(w, "other")
    save_checkpoint(tiny_model(1, tok), tok, other)

    def mixed_empty_manifest(d):
        shutil.copy(os.path.join(other, "model.safetensors"), os.path.join(d, "model.safetensors"))
        open(os.path.join(d, "manifest.json"), "w").write("{}")

    def unlisted_heads(d):
        manifest = json.load(open(os.path.join(d, "manifest.json")))
        del manifest["heads.safetensors"]
        json.dump(manifest, open(os.path.join(d, "manifest.json"), "w"))

    def no_tensors(d):
        save_file({}, os.path.join(d, "model.safetensors"))
        os.remove(os.path.join(d, "manifest.json"))
        write_manifest(d)

    def huge_tokenizer(d):
        with open(os.path.join(d, "tokenizer.json"), "r+b") as fh:
            fh.truncate(50 * 2**20 + 1)  # sparse: refused by its size, never read
        os.remove(os.path.join(d, "manifest.json"))
        write_manifest(d)

    small_vocab = os.path.join(w, "small_vocab")
    cfg_small = preset_config("tiny", len(tok) - 10, 128, pad_token_id=tok.pad_token_id)
    save_checkpoint(build_classifier(cfg_small, ["cls"], ["negative", "positive"]).eval(), tok, small_vocab)
    torch.save({"state_dict": sd, "electra_demo": {"config": {**cfg, "layer_norm_eps": float("nan")}, "tokenizer_files": files}},
               os.path.join(w, "nan_eps.ckpt"))
    other_run = targs("t_other", "--log-dir", os.path.join(w, "shared_runs"))
    other_last = train.resume_path(train.build_parser().parse_args(other_run))
    os.makedirs(os.path.dirname(other_last), exist_ok=True)
    first_run = train.build_parser().parse_args(targs("t_first", "--log-dir", os.path.join(w, "shared_runs")))
    torch.save({"state_dict": {}, "electra_demo": {"run": train.run_identity(first_run)}}, other_last)
    cache_only = os.path.join(w, "cache_only")
    tok.save_pretrained(cache_only)  # a --cache-dir with a tokenizer but no packed array for the --seq-len asked

    chk = ["--input", data]
    return [
        ("empty .ckpt", P, ["--checkpoint", f("empty.ckpt", b""), *chk], "is not a PyTorch checkpoint: it is empty"),
        ("text .ckpt", P, ["--checkpoint", f("text.ckpt", b"hello, I am a text file\n"), *chk], "is not a PyTorch checkpoint"),
        ("random bytes .ckpt", P, ["--checkpoint", f("rand.ckpt", os.urandom(4096)), *chk], "is not a PyTorch checkpoint"),
        ("truncated pickle .ckpt", P, ["--checkpoint", f("trunc.ckpt", b"\x80\x02garbage"), *chk], "not a readable PyTorch checkpoint"),
        ("os.system pickle", P, ["--checkpoint", os.path.join(w, "os_system.ckpt"), *chk],
         "UNSAFE: loading it would run or import posix.system"),
        ("other global pickle", P, ["--checkpoint", os.path.join(w, "other_global.ckpt"), *chk], "UNSAFE"),
        ("a .ckpt that is a list", P, ["--checkpoint", os.path.join(w, "list.ckpt"), *chk], "not a Lightning checkpoint"),
        ("shape mismatch .ckpt", P, ["--checkpoint", os.path.join(w, "shape.ckpt"), *chk], "weights do not match its config"),
        ("absurd sizes .ckpt", P, ["--checkpoint", os.path.join(w, "absurd.ckpt"), *chk], "num_hidden_layers = 10000 is outside"),
        ("missing config.json", P, ["--checkpoint", variant("noconfig", lambda d: os.remove(os.path.join(d, "config.json"))), *chk],
         "has no config.json"),
        ("no manifest", P, ["--checkpoint", variant("nomanifest", lambda d: os.remove(os.path.join(d, "manifest.json"))), *chk],
         "has no manifest.json"),
        ("mixed folder", P, ["--checkpoint", variant("mixed", lambda d: open(os.path.join(d, "model.safetensors"), "ab").write(b"x")),
                             *chk], "does not belong with the rest"),
        ("absurd num_hidden_layers", P, ["--checkpoint", variant("layers", lambda d: _edit_config(d, num_hidden_layers=10000)), *chk],
         "num_hidden_layers = 10000 is outside"),
        ("absurd vocab_size", P, ["--checkpoint", variant("vocab", lambda d: _edit_config(d, vocab_size=10**9)), *chk], "vocab_size"),
        ("negative hidden_size", P, ["--checkpoint", variant("hidden", lambda d: _edit_config(d, hidden_size=-1)), *chk], "hidden_size"),
        ("remote code config", P, ["--checkpoint", variant("remote", lambda d: _edit_config(
            d, auto_map={"AutoModel": "evil.Model"}, model_type="evil")), *chk], "model; supported: bert"),
        ("NaN weights", P, ["--checkpoint", nan, *chk], "NaN or infinite"),
        ("missing tokenizer (no sentencepiece talk)", P, ["--checkpoint", variant("notok", drop_tokenizer), *chk],
         "no tokenizer (tokenizer.json expected"),
        ("a URL", P, ["--checkpoint", "http://127.0.0.1:9/x.ckpt", *chk], "is a URL"),
        ("missing checkpoint", P, ["--checkpoint", os.path.join(w, "nope"), *chk], "not found"),
        ("field over 131,072 characters", P, ["--checkpoint", good, "--input", long_field], "has a field longer than 131,072"),
        (f"a {'1 GiB' if big else '64 MiB'} line", P, ["--checkpoint", good, "--input", big_line], "is longer than 1,048,576 characters"),
        ("label '²'", P, ["--checkpoint", good, "--input", sup], "label '²' is not in the label set"),
        ("label '²' in training data", T, targs("t_sup", "--labels", labels_ok, train_file=sup_train),
         "label '²' is not in the label set (negative, positive"),
        ("non-UTF-8 file", P, ["--checkpoint", good, "--input", latin], "is not UTF-8 text"),
        ("ragged row", P, ["--checkpoint", good, "--input", ragged], "3 fields, header has 2"),
        ("empty data file", P, ["--checkpoint", good, "--input", f("empty.tsv", b"")], "is empty"),
        ("wrong text column", P, ["--checkpoint", good, "--input", data, "--text-column", "text"], "no column 'text'"),
        ("BOM header with a wrong column (names the real columns)", P, ["--checkpoint", good, "--input", bom, "--text-column", "txt"],
         "(columns: sentence, label)"),
        ("predict --output is --input", P, ["--checkpoint", good, "--input", data, "--output", data], "is the input file"),
        ("predict --output exists", P, ["--checkpoint", good, "--input", data, "--output", sup], "already exists"),
        ("train --max-time 10", T, targs("t1", "--max-time", "10"), "expected DD:HH:MM:SS"),
        ("train --max-length 0", T, targs("t1", "--max-length", "0"), "--max-length 0"),
        ("train --batch-size 0", T, targs("t1", "--batch-size", "0"), "--batch-size 0"),
        ("train --lr nan", T, targs("t1", "--lr", "nan"), "--lr nan"),
        ("train --val and --val-fraction", T, targs("t1", "--val-fraction", "0.1"), "exactly one of"),
        ("train unknown pooling", T, targs("t1", "--pooling", "cls,avg"), "pooling 'avg'"),
        ("train bad labels.json", T, targs("t1", "--labels", labels_bad), "expected a JSON object"),
        ("train missing --train", T, targs("t1", train_file=os.path.join(w, "no.tsv")), "not found"),
        ("train smoke run over a real model", T, targs("good"), "holds a trained model"),
        ("train --resume with nothing to resume", T, targs("t1", "--resume"), "nothing to resume"),
        ("train --resume from an unsafe last.ckpt", T, targs("t_unsafe", "--resume"), "UNSAFE"),
        ("train --backbone missing", T, [a for a in targs("t1", "--backbone", os.path.join(w, "nobackbone"))
                                         if a not in ("--preset", "tiny")], "not found (neither a folder"),
        ("pretrain --resume from an unsafe last.ckpt", pretrain.cli_main,
         ["--log-dir", os.path.dirname(unsafe_resume), "--output", os.path.join(w, "p_out"), "--max-steps", "5", "--resume"], "UNSAFE"),
        ("pretrain --max-time 10", pretrain.cli_main, ["--output", os.path.join(w, "p_out"), "--max-time", "10"], "DD:HH:MM:SS"),
        ("pretrain without --output", pretrain.cli_main, ["--max-steps", "5"], "pass --output"),
        ("NaN layer_norm_eps", P, ["--checkpoint", variant("eps", lambda d: _edit_config(d, layer_norm_eps=float("nan"))), *chk],
         "config layer_norm_eps = nan must be a finite number"),
        ("infinite dropout", P, ["--checkpoint", variant("drop", lambda d: _edit_config(d, hidden_dropout_prob=float("inf"))),
                                 *chk], "config hidden_dropout_prob = inf"),
        ("unknown hidden_act", P, ["--checkpoint", variant("act", lambda d: _edit_config(d, hidden_act="os.system")), *chk],
         "config hidden_act = 'os.system' is not an activation transformers knows"),
        ("max_input_length past the positions", P, ["--checkpoint", variant("len", lambda d: _edit_config(
            d, max_input_length=100_000)), *chk], "config max_input_length = 100000 must be an integer in 2..128"),
        ("main_pooling without a head", P, ["--checkpoint", variant("main", lambda d: _edit_config(d, main_pooling="max")), *chk],
         "config main_pooling = 'max' is not one of its poolings"),
        ("an unknown pooling in poolings", P, ["--checkpoint", variant("pools", lambda d: _edit_config(
            d, poolings=["cls", "evil"])), *chk], "config poolings = ['cls', 'evil']"),
        ("2,000 labels", P, ["--checkpoint", variant("labels", lambda d: _edit_config(
            d, id2label={str(i): str(i) for i in range(2000)})), *chk], "config id2label must map 1..1000 label ids"),
        ("a 300-character label", P, ["--checkpoint", variant("label", lambda d: _edit_config(
            d, id2label={"0": "x" * 300, "1": "positive"})), *chk], "config id2label[0] = "),
        ("manifest [1, 2]", P, ["--checkpoint", variant("manifest_list", lambda d: open(os.path.join(d, "manifest.json"), "w")
                                                        .write("[1, 2]")), *chk], "is not a manifest"),
        ("empty manifest with mixed weights", P, ["--checkpoint", variant("manifest_empty", mixed_empty_manifest), *chk],
         "is not listed in manifest.json"),
        ("a weights file not in the manifest", P, ["--checkpoint", variant("unlisted", unlisted_heads), *chk],
         "heads.safetensors is not listed in manifest.json"),
        ("a weights file with no tensors", P, ["--checkpoint", variant("no_tensors", no_tensors), *chk],
         "weights do not match its config ({'missing'"),
        ("a tokenizer larger than vocab_size", P, ["--checkpoint", small_vocab, *chk], "token ids but config vocab_size is"),
        ("a 50 MB tokenizer.json", P, ["--checkpoint", variant("huge_tok", huge_tokenizer), *chk], "more than the 52,428,800"),
        ("NaN layer_norm_eps .ckpt", P, ["--checkpoint", os.path.join(w, "nan_eps.ckpt"), *chk], "config layer_norm_eps = nan"),
        ("train --resume from another run's state", T, other_run + ["--resume"], "is the state of another run (output "),
        ("pretrain cache without the --seq-len's array, no text", pretrain.cli_main,
         ["--cache-dir", cache_only, "--seq-len", "16", "--prepare-only"], "has no packed_16.npy and no text was given"),
        ("pretrain text shorter than one sequence", pretrain.cli_main,
         ["--cache-dir", os.path.join(w, "cache_short"), "--extra-text", data, "--seq-len", "512", "--vocab-size", "100",
          "--prepare-only"], "gives no full sequence of --seq-len 512 tokens"),
    ]


def attack_inputs(big: bool) -> dict:
    results = []
    marker = "/tmp/electra-demo-attack-ran"
    if os.path.exists(marker):
        os.remove(marker)
    with tempfile.TemporaryDirectory() as w:
        for name, cli, argv, words in bad_inputs(w, big):
            t0 = time.time()
            code, err, exc = run_cli(cli, argv)
            lines = err.strip().splitlines()
            clean = (code == 2 and exc is None and len(lines) == 1 and lines[0].startswith("error: ") and words in lines[0]
                     and "Traceback" not in err)
            results.append({"input": name, "clean": clean, "exit": code, "seconds": round(time.time() - t0, 2),
                            "message": lines[-1][:300] if lines else (exc or "").strip().splitlines()[-1:]})
    return {"tried": len(results), "refused_cleanly": sum(r["clean"] for r in results),
            "code_ran": os.path.exists(marker), "not_clean": [r for r in results if not r["clean"]], "all": results}


CHILD = r"""
import os, sys, time
sys.path.insert(0, {root!r})
import transformers.modeling_utils as mu
from electra_demo import checkpoint
from scripts.attack import tiny_model, tiny_tokenizer
slow = float(sys.argv[2])
real_save_file, real_write = mu.safe_save_file, checkpoint.write_manifest
def save_file(*a, **k):
    time.sleep(slow); real_save_file(*a, **k); time.sleep(slow)
def write_manifest(folder):
    time.sleep(slow); real_write(folder); time.sleep(slow)
mu.safe_save_file = save_file
checkpoint.write_manifest = write_manifest
tok = tiny_tokenizer()
model = tiny_model(1, tok)
print("ready", flush=True)
checkpoint.save_checkpoint(model, tok, sys.argv[1], overwrite=True)
print("done", flush=True)
"""


def attack_kills(n: int, seed: int = 0, slow: float = 0.15) -> dict:
    """Kill an overwriting export at n random moments; the folder must load as exactly the old or the new model."""
    rng = random.Random(seed)
    tok = tiny_tokenizer()
    outcome = {"tried": 0, "intact": 0, "old": 0, "new": 0, "lost_or_mixed": [], "leftover_temp_folders": 0}
    with tempfile.TemporaryDirectory() as w:
        folder = os.path.join(w, "model")
        child = os.path.join(w, "child.py")
        open(child, "w").write(CHILD.format(root=ROOT))
        env = dict(os.environ, OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1", PYTHONPATH=ROOT)

        def start():
            proc = subprocess.Popen([sys.executable, child, folder, str(slow)], env=env, stdout=subprocess.PIPE, text=True)
            while (line := proc.stdout.readline()) and line.strip() != "ready":  # the tokenizer trainer prints blank lines
                pass
            return proc

        save_checkpoint(tiny_model(0, tok), tok, folder)
        proc = start()
        t0 = time.time()
        while (line := proc.stdout.readline()) and line.strip() != "done":  # one export left to finish: its duration
            pass
        duration = time.time() - t0
        proc.wait()
        outcome["export_seconds"] = round(duration, 2)
        for i in range(n):
            if os.path.exists(folder):
                shutil.rmtree(folder)
            save_checkpoint(tiny_model(0, tok), tok, folder)  # the old model: A
            proc = start()
            time.sleep(rng.uniform(0, duration * 1.1))  # anywhere in the export, a few just after it
            proc.kill()
            proc.wait()
            outcome["tried"] += 1
            try:
                which = load_classifier(folder).info.get("which")
            except Exception as e:  # noqa: BLE001 - any failure to load is a loss
                which = f"failed: {str(e)[:200]}"
            if which in ("seed0", "seed1"):
                outcome["intact"] += 1
                outcome["old" if which == "seed0" else "new"] += 1
            else:
                outcome["lost_or_mixed"].append({"kill": i, "state": which})
            outcome["leftover_temp_folders"] += sum(n.startswith(".model.") for n in os.listdir(w))
            save_checkpoint(tiny_model(2, tok), tok, folder, overwrite=True)  # the next export tidies a killed one's leftovers
            outcome.setdefault("leftover_after_next_export", 0)
            outcome["leftover_after_next_export"] += sum(n.startswith(".model.") for n in os.listdir(w))
    return outcome


def attack_busy_port() -> dict:
    """app.py on a port already in use: one line and exit 2 is the promise."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    port = s.getsockname()[1]
    try:
        res = subprocess.run([sys.executable, "app.py", "--port", str(port)], cwd=ROOT, capture_output=True, text=True,
                             timeout=300, env=dict(os.environ, OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1"))
    finally:
        s.close()
    lines = res.stderr.strip().splitlines()
    return {"exit": res.returncode, "clean": res.returncode == 2 and "Traceback" not in res.stderr and len(lines) == 1,
            "last_line": lines[-1][:300] if lines else ""}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", choices=["inputs", "kill", "app"], default=None, help="run one part")
    p.add_argument("--kills", type=int, default=20, help="kill points to try")
    p.add_argument("--seed", type=int, default=0, help="seed for the kill moments")
    p.add_argument("--big", action="store_true", help="a real 1 GiB line (else 64 MiB)")
    p.add_argument("--app", action="store_true", help="also start app.py on a busy port (slow: loads gradio)")
    p.add_argument("--json", action="store_true", help="print only the JSON summary")
    args = p.parse_args()
    report = {}
    if args.only in (None, "inputs"):
        report["bad_inputs"] = attack_inputs(args.big)
    if args.only in (None, "kill"):
        report["kill_points"] = attack_kills(args.kills, args.seed)
    if args.app or args.only == "app":
        report["busy_port"] = attack_busy_port()
    if not args.json and "bad_inputs" in report:
        for r in report["bad_inputs"]["all"]:
            print(f"{'ok  ' if r['clean'] else 'FAIL'} {r['input']:<55} exit {r['exit']}  {r['message']}")
    if "bad_inputs" in report:
        report["bad_inputs"].pop("all")
    print(json.dumps(report, indent=None if args.json else 1, ensure_ascii=False))


if __name__ == "__main__":
    main()
