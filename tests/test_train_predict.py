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
