"""Real Lightning runs on tiny data: fast_dev_run, a short fit with export, 2-process DDP, and predict."""
import contextlib
import json
import os
import subprocess
import sys

import pytest
import torch

from electra_demo.checkpoint import load_classifier
from electra_demo.training import predict, train
from electra_demo.training.callbacks import ema_avg_fn
from electra_demo.training.datamodule import BucketBatchSampler
from electra_demo.training.system import drop_tokens
from tests.conftest import make_rows, write_tsv

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# The tiny runs test mechanics, not the recipe: no EMA or word dropout (they slow a 60-step fit), 3 epochs unless told.
MECHANICS = ["--ema", "0", "--token-dropout", "0", "--dropout", "0.1", "--max-epochs", "3"]


def _args(d, out, *extra):
    return ["--train", str(d / "train.tsv"), "--val", str(d / "dev.tsv"), "--preset", "tiny", "--vocab-size", "200",
            "--output", str(out), "--log-dir", str(out) + "-runs", "--accelerator", "cpu", "--batch-size", "16", *MECHANICS, *extra]


@pytest.mark.slow
def test_fast_dev_run(tiny_data, tmp_path):
    metrics = train.main(_args(tiny_data, tmp_path / "fdr", "--fast-dev-run", "--pooling", "cls,mean"))
    assert set(metrics["per_head"]) == {"cls", "mean"}
    assert os.path.exists(tmp_path / "fdr" / "model.safetensors")


@pytest.fixture(scope="module")
def trained(tiny_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("fit") / "model"
    metrics = train.main(_args(tiny_data, out, "--lr", "3e-3", "--max-epochs", "4", "--pooling", "all"))
    return out, metrics


@pytest.mark.slow
def test_fit_learns_and_exports(trained):
    out, metrics = trained
    assert metrics["n"] == 60
    assert metrics["per_head"]["cls"] > 0.75, metrics  # the tiny task is learnable: chance is 0.5
    clf = load_classifier(str(out))
    meta = clf.info
    assert meta["command"].startswith("electra-demo train") and meta["val_accuracy"] == metrics["per_head"]
    assert meta["best_ckpt"].endswith(".ckpt") and os.path.exists(meta["best_ckpt"])


@pytest.mark.slow
def test_lightning_ckpt_loads_safely_with_same_logits(trained):
    out, _ = trained
    folder = load_classifier(str(out))
    ckpt = load_classifier(folder.info["best_ckpt"])  # weights_only=True inside
    assert ckpt.model.poolings == folder.model.poolings
    enc = folder.tokenizer(["the good film", "a dull plot"], padding=True, return_tensors="pt")
    with torch.no_grad():
        a = folder.model(enc["input_ids"], enc["attention_mask"])
        b = ckpt.model(enc["input_ids"], enc["attention_mask"])
    for p in a:
        torch.testing.assert_close(a[p], b[p])


def test_drop_tokens_spares_special_and_padding():
    ids = torch.randint(5, 100, (64, 50))
    mask = torch.ones_like(ids)
    ids[:, 0], ids[:, 39], ids[:, 40:], mask[:, 40:] = 1, 2, 0, 0  # [CLS] ... [SEP] then padding
    out = drop_tokens(ids, mask, 0.2, 4, [0, 1, 2], generator=torch.Generator().manual_seed(0))
    changed = out != ids
    assert (out[changed] == 4).all()
    assert not changed[:, [0, 39]].any() and not changed[:, 40:].any()
    assert abs(changed.float().sum().item() / (64 * 38) - 0.2) < 0.03


@pytest.mark.slow
def test_training_that_stops_before_any_validation_still_exports(tiny_data, tmp_path):
    metrics = train.main(_args(tiny_data, tmp_path / "short", "--max-steps", "2", "--pooling", "cls"))
    assert metrics["n"] == 60 and os.path.exists(tmp_path / "short" / "model.safetensors")
    assert load_classifier(str(tmp_path / "short")).info["best_ckpt"] == ""  # no validation ran: the last weights


def test_ema_is_bias_corrected():
    """After n samples, sample k weighs decay**(n-k), normalised: nothing is left on the first (random) weights."""
    xs = [torch.tensor(v) for v in (3.0, 1.0, 4.0, 1.0, 5.0, 9.0)]
    avg, fn = xs[0].clone(), ema_avg_fn(0.9)
    for n, x in enumerate(xs[1:], start=1):  # AveragedModel copies the first sample, then calls fn with n = 1, 2, ...
        avg = fn(avg, x, n)
    w = torch.tensor([0.9 ** (len(xs) - 1 - k) for k in range(len(xs))])
    torch.testing.assert_close(avg, (w * torch.stack(xs)).sum() / w.sum())
    assert abs(ema_avg_fn(0.999)(torch.tensor(0.0), torch.tensor(1.0), 1).item() - 1 / 1.999) < 1e-6


@pytest.mark.slow
def test_ema_validates_and_exports_the_averaged_weights(tiny_data, tmp_path):
    out = tmp_path / "ema"
    metrics = train.main(_args(tiny_data, out, "--lr", "3e-3", "--max-epochs", "2", "--pooling", "cls", "--ema", "0.9"))
    clf = load_classifier(str(out))
    ckpt = torch.load(clf.info["best_ckpt"], map_location="cpu", weights_only=True)
    name = "model.electra.encoder.layer.0.attention.self.query.weight"
    averaged, raw = ckpt["state_dict"][name], ckpt["current_model_state"][name]  # Lightning's WeightAveraging keeps both
    assert not torch.equal(averaged, raw)
    torch.testing.assert_close(clf.model.state_dict()[name[len("model."):]], averaged)
    logged = [line.split(",") for line in open(str(out) + "-runs/train/version_0/metrics.csv")]
    col = logged[0].index("val_acc/cls")
    best_logged = max(float(r[col]) for r in logged[1:] if r[col])
    assert metrics["per_head"]["cls"] == pytest.approx(best_logged, abs=1e-4)  # selection saw the exported weights


@pytest.mark.slow
def test_predict_reports_accuracy_per_head(trained, tiny_data, tmp_path, capsys):
    out, metrics = trained
    summary = predict.main(["--checkpoint", str(out), "--input", str(tiny_data / "dev.tsv"), "--output", str(tmp_path / "p.tsv")])
    last = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert last == json.loads(json.dumps(summary))
    main = load_classifier(str(out)).main_pooling  # --monitor mean: the best head at the chosen step
    assert last["n"] == 60 and last["accuracy"] == metrics["per_head"][main] and set(last["per_head"]) == set(metrics["per_head"])
    rows = (tmp_path / "p.tsv").read_text().splitlines()
    assert rows[0].split("\t") == ["sentence", "prediction", "p_negative", "p_positive", "label"] and len(rows) == 61


@pytest.mark.slow
def test_predict_plain_text(trained, tmp_path, capsys):
    out, _ = trained
    (tmp_path / "s.txt").write_text("a wonderful film\n\nthe plot was awful\n")
    summary = predict.main(["--checkpoint", str(out), "--input", str(tmp_path / "s.txt")])
    assert summary["n"] == 2 and "accuracy" not in summary


def test_bucket_sampler_shards_and_covers():
    lengths = [i % 17 for i in range(103)]
    full = BucketBatchSampler(lengths, 8, shuffle=True, seed=3)
    flat = [i for b in full for i in b]
    assert sorted(flat) == list(range(103))
    r0, r1 = (list(BucketBatchSampler(lengths, 8, True, 3, r, 2)) for r in (0, 1))
    assert len(r0) == len(r1) and not {i for b in r0 for i in b} & {i for b in r1 for i in b}
    for b in full:  # batches are length-bucketed: little padding
        assert max(lengths[i] for i in b) - min(lengths[i] for i in b) <= 8


def test_bucket_sampler_length_and_resume_point():
    """len() is the number of batches an epoch yields (counted, not made); drop_last drops only the one short batch;
    resume(epoch, k) yields that epoch's batches after the first k, once, then whole epochs again."""
    for n, bs, bucket in ((103, 8, 50), (96, 8, 2), (7, 8, 50), (1000, 16, 3)):
        for drop_last in (False, True):
            for world in (1, 2, 3):
                s = BucketBatchSampler([i % 17 for i in range(n)], bs, True, 3, 0, world, bucket, drop_last)
                assert len(s) == len(list(s)), (n, bs, bucket, drop_last, world)
                assert not drop_last or all(len(b) == bs for b in s)
    s = BucketBatchSampler([i % 17 for i in range(103)], 8, seed=3)
    s.set_epoch(2)
    epoch2 = list(s)
    s.set_epoch(0)
    s.resume(2, 5)
    assert list(s) == epoch2[5:] and list(s) == epoch2 and s.epoch == 2


@pytest.mark.slow
def test_ddp_two_processes(tiny_data, tmp_path):
    out = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "electra_demo", "train", *_args(tiny_data, out, "--strategy", "ddp", "--devices", "2",
                                                                  "--max-epochs", "1", "--pooling", "cls,attention")]
    env = dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS="1")
    res = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    log = res.stdout + res.stderr
    assert "distributed_backend=gloo" in log and "All distributed processes registered" in log
    assert load_classifier(str(out)).model.poolings == ["cls", "attention"]


@pytest.mark.slow
def test_a_resumed_run_continues_the_interrupted_batch_order(tiny_data, tmp_path):
    """Stopped mid-epoch (a checkpoint at a batch's end, as --save-every writes) or interrupted inside a training step
    (Ctrl+C: the Interruption callback's checkpoint), then resumed: the same batches in the same order as one
    uninterrupted run (the interrupted step again). Lightning alone would restart the first epoch's order."""
    import pytorch_lightning as pl

    from electra_demo.data import read_labelled
    from electra_demo.model import build_classifier, preset_config
    from electra_demo.tokenizer import train_wordpiece
    from electra_demo.training.callbacks import Interruption
    from electra_demo.training.datamodule import TextDataModule
    from electra_demo.training.system import ClassifierSystem

    texts, labels, names = read_labelled(str(tiny_data / "train.tsv"))
    tok = train_wordpiece(texts, 200, min_frequency=1)
    ckpt = str(tmp_path / "last.ckpt")

    def fit(stop_after=None, interrupt_at=None, resume=False) -> list:
        seen = []

        class Record(pl.Callback):
            def on_train_batch_start(self, trainer, module, batch, batch_idx):
                if (trainer.current_epoch, batch_idx) == interrupt_at:
                    raise KeyboardInterrupt  # before the step: this batch is not trained
                seen.append((trainer.current_epoch, batch_idx, batch["input_ids"][:, 1].tolist()))

            def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
                if (trainer.current_epoch, batch_idx) == stop_after:
                    trainer.save_checkpoint(ckpt)
                    trainer.should_stop = True

        model = build_classifier(preset_config("tiny", len(tok), 128, pad_token_id=tok.pad_token_id), ["cls"], names)
        dm = TextDataModule(tok, (texts, labels), (texts[:16], labels[:16]), batch_size=16, max_length=64, seed=0)
        trainer = pl.Trainer(max_epochs=2, accelerator="cpu", logger=False, enable_checkpointing=False,
                             enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0,
                             use_distributed_sampler=False, callbacks=[Record(), Interruption(ckpt)])
        with contextlib.suppress(SystemExit):  # Lightning ends a KeyboardInterrupt with sys.exit(1)
            trainer.fit(ClassifierSystem(model), datamodule=dm, ckpt_path=ckpt if resume else None, weights_only=True)
        return seen

    whole = fit()
    n = len(whole) // 2  # batches per epoch
    assert fit(stop_after=(1, 4)) + fit(resume=True) == whole  # mid-epoch
    before = fit(interrupt_at=(0, n - 1))  # the last batch of the first epoch
    assert len(before) == n - 1 and before + fit(resume=True) == whole


@pytest.mark.slow
def test_every_epoch_sees_a_new_batch_order_through_trainer_fit(tiny_data, tmp_path):
    """Lightning sets the epoch on dataloader.batch_sampler.sampler: the bucketed batches are reshuffled each epoch."""
    import pytorch_lightning as pl

    from electra_demo.data import read_labelled
    from electra_demo.model import build_classifier, preset_config
    from electra_demo.tokenizer import train_wordpiece
    from electra_demo.training.datamodule import TextDataModule
    from electra_demo.training.system import ClassifierSystem

    texts, labels, names = read_labelled(str(tiny_data / "train.tsv"))
    tok = train_wordpiece(texts, 200, min_frequency=1)
    model = build_classifier(preset_config("tiny", len(tok), 128, pad_token_id=tok.pad_token_id), ["cls"], names)
    seen = {}

    class Record(pl.Callback):
        def on_train_batch_start(self, trainer, module, batch, batch_idx):
            seen.setdefault(trainer.current_epoch, []).append(batch["input_ids"][:, 1].tolist())

    dm = TextDataModule(tok, (texts, labels), (texts[:16], labels[:16]), batch_size=16, max_length=64, seed=0)
    trainer = pl.Trainer(max_epochs=3, accelerator="cpu", logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, num_sanity_val_steps=0, use_distributed_sampler=False,
                         callbacks=[Record()])
    trainer.fit(ClassifierSystem(model), datamodule=dm)
    assert set(seen) == {0, 1, 2} and all(len(v) == len(seen[0]) for v in seen.values())
    assert seen[0] != seen[1] != seen[2] != seen[0]  # three different orders
    flat = [sorted(x for b in seen[e] for x in b) for e in seen]
    assert flat[0] == flat[1] == flat[2]  # ... of the same examples


# ---- issue 26: resume finds only its own run, a full disk is one line, predict streams, no formula reaches a sheet ----

def _fails(capsys, cli, argv, pattern):
    with pytest.raises(SystemExit) as e:
        cli(argv)
    err = capsys.readouterr().err.strip()
    assert e.value.code == 2 and len(err.splitlines()) == 1 and err.startswith("error: "), err
    assert pattern in err, err
    return err


def test_resume_state_is_keyed_by_the_whole_output_path(tiny_data, tmp_path):
    parse = train.build_parser().parse_args
    logs = ["--log-dir", str(tmp_path / "runs")]  # one log folder for both runs, as with the default
    a = train.resume_path(parse(_args(tiny_data, tmp_path / "a" / "model", *logs)))
    b = train.resume_path(parse(_args(tiny_data, tmp_path / "b" / "model", *logs)))
    assert a != b and os.path.basename(os.path.dirname(a)).startswith("model-")  # the name stays readable
    relative = parse(_args(tiny_data, os.path.relpath(tmp_path / "a" / "model"), *logs))
    assert train.resume_path(relative) == a


def test_resume_refuses_another_runs_state(tiny_data, tmp_path, capsys):
    """`--output b/model --resume` used to continue a/model's run when both folders were called model."""
    logs = ["--log-dir", str(tmp_path / "runs")]
    args_a = train.build_parser().parse_args(_args(tiny_data, tmp_path / "a" / "model", *logs))
    argv_b = _args(tiny_data, tmp_path / "b" / "model", *logs, "--resume")
    args_b = train.build_parser().parse_args(argv_b)
    last = train.resume_path(args_b)
    os.makedirs(os.path.dirname(last))
    torch.save({"state_dict": {}, "electra_demo": {"run": train.run_identity(args_a)}}, last)  # a's state where b's goes
    err = _fails(capsys, train.cli_main, argv_b, "is the state of another run (output ")
    assert str(tmp_path / "a" / "model") in err and str(tmp_path / "b" / "model") in err
    torch.save({"state_dict": {}, "electra_demo": {"run": {**train.run_identity(args_b), "train bytes": 1}}}, last)
    _fails(capsys, train.cli_main, argv_b, "train bytes 1 there")
    torch.save({"state_dict": {}, "electra_demo": {}}, last)
    _fails(capsys, train.cli_main, argv_b, "does not record which run saved it")


@pytest.mark.slow
def test_a_resumed_run_records_and_accepts_its_own_identity(tiny_data, tmp_path):
    out = tmp_path / "model"
    argv = _args(tiny_data, out, "--pooling", "cls", "--save-every", "0.0001")
    train.main(argv + ["--max-steps", "3"])
    last = train.resume_path(train.build_parser().parse_args(argv))
    run = torch.load(last, map_location="cpu", weights_only=True)["electra_demo"]["run"]
    assert run["output"] == str(out) and run["train file"] == str(tiny_data / "train.tsv") and run["backbone"] == "scratch:tiny"
    train.main(argv + ["--max-steps", "5", "--resume", "--overwrite"])
    info = load_classifier(str(out)).info
    assert info["resumed_from"] == last and info["global_step"] == 5


def _mount_tmpfs(path, size="64k"):
    os.makedirs(path, exist_ok=True)
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True).returncode == 0


@pytest.mark.slow
def test_train_export_to_a_full_or_read_only_disk_is_one_line_and_keeps_the_old_folder(tiny_data, tmp_path, capsys):
    disk = tmp_path / "disk"
    if not _mount_tmpfs(disk):
        pytest.skip("mount -t tmpfs is not allowed on this machine (tests/test_model_checkpoint.py injects the error)")
    try:
        old = disk / "model"
        old.mkdir()
        (old / "weights.txt").write_text("the previous export")
        argv = _args(tiny_data, old, "--pooling", "cls", "--fast-dev-run", "--overwrite", "--log-dir", str(tmp_path / "runs"))
        for pattern in ("No space left on device", "Read-only file system"):
            if pattern.startswith("Read-only"):
                assert subprocess.run(["mount", "-o", "remount,ro", str(disk)]).returncode == 0
            with pytest.raises(SystemExit) as e:
                train.cli_main(argv)
            err = capsys.readouterr().err  # Lightning's own log lines come first: the error is the last line
            assert e.value.code == 2 and "Traceback" not in err, err
            assert err.strip().splitlines()[-1].startswith("error: cannot write the checkpoint") and pattern in err, err
            assert os.listdir(old) == ["weights.txt"] and os.listdir(disk) == ["model"]
            assert (old / "weights.txt").read_text() == "the previous export"
    finally:
        subprocess.run(["umount", str(disk)])


def test_predict_streams_the_input_in_chunks_with_the_same_output(tiny_checkpoint, tiny_data, tmp_path, capsys, monkeypatch):
    """Rows are read, predicted and written CHUNK_ROWS at a time (memory bounded whatever the file's size), and the
    printed lines, the summary and the --output file are those of the whole file in one piece."""
    seen = []
    real = predict.predict_probs
    monkeypatch.setattr(predict, "predict_probs", lambda model, tok, texts, *a, **k: seen.append(len(texts)) or
                        real(model, tok, texts, *a, **k))
    plain = tmp_path / "plain.txt"
    plain.write_text("".join(f"{s}\n" for s, _ in make_rows(25, 3)))
    runs = {}
    for chunk in (7, 4096):
        monkeypatch.setattr(predict, "CHUNK_ROWS", chunk)
        for source in (tiny_data / "dev.tsv", plain):
            seen.clear()
            out = tmp_path / f"{chunk}-{source.name}.csv"
            summary = predict.main(["--checkpoint", tiny_checkpoint, "--input", str(source), "--output", str(out),
                                    "--precision", "fp32", "--batch-size", "1"])  # batches of one: the same sums either way
            runs[chunk, source.name] = (summary, capsys.readouterr().out, out.read_text())
            n = summary["n"]
            assert seen == ([7] * (n // 7) + [n % 7] if chunk == 7 else [n])  # never more than a chunk at once
    for name in ("dev.tsv", "plain.txt"):
        assert runs[7, name] == runs[4096, name]
    assert runs[7, "dev.tsv"][0]["n"] == 60 and len(runs[7, "dev.tsv"][2].splitlines()) == 61
    assert len(runs[7, "plain.txt"][1].splitlines()) == 11  # ten predictions shown, then the JSON summary


def test_formula_cells_are_escaped_in_prediction_files(tmp_path, tiny_tokenizer):
    """OWASP CSV injection: a cell starting with = + - @ tab or CR gets a leading ' in every .csv/.tsv we write,
    sentences and label names alike (a label comes from a checkpoint's config); numbers stay numbers."""
    import csv

    from electra_demo.checkpoint import save_checkpoint
    from electra_demo.data import spreadsheet_safe
    from electra_demo.model import build_classifier, preset_config

    assert [spreadsheet_safe(v) for v in ("=1+2", "+1", "-2+3", "@SUM(A1)", "\tx", "\rx", "plain", "-0.5", "+3e-4", "1.0")] == \
        ["'=1+2", "+1", "'-2+3", "'@SUM(A1)", "'\tx", "'\rx", "plain", "-0.5", "+3e-4", "1.0"]  # numbers stay
    cfg = preset_config("tiny", len(tiny_tokenizer), 128, pad_token_id=tiny_tokenizer.pad_token_id)
    model = build_classifier(cfg, ["cls"], ["=HYPERLINK(\"http://x\")", "@evil"]).eval()
    folder = str(tmp_path / "ckpt")
    save_checkpoint(model, tiny_tokenizer, folder)
    sentences = ["=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(1+1)*cmd", "a fine film", "-0.5"]
    data = write_tsv(tmp_path / "in.tsv", [(s, i % 2) for i, s in enumerate(sentences)])
    for ext in ("csv", "tsv"):
        out = tmp_path / f"out.{ext}"
        predict.main(["--checkpoint", folder, "--input", data, "--output", str(out)])
        with open(out, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f, delimiter="," if ext == "csv" else "\t", quoting=csv.QUOTE_MINIMAL if ext == "csv"
                                   else csv.QUOTE_NONE))
        assert [r[0] for r in rows[1:]] == ["'=cmd|' /C calc'!A0", "'+1+1", "'-2+3", "'@SUM(1+1)*cmd", "a fine film", "-0.5"]
        assert rows[0][2:4] == ["p_=HYPERLINK(\"http://x\")", "p_@evil"]  # the header's cells start with p_
        assert {r[-1] for r in rows[1:]} == {"'=HYPERLINK(\"http://x\")", "'@evil"}
        assert all(c[0] not in "=+-@\t\r" for r in rows for c in r if c and not c.lstrip("-").replace(".", "").isdigit())
