"""The training CLI as a newcomer meets it (issue 12's stumbles): defaults shown, flags checked up front, a held-out
split, where label names came from, why training stopped, progress in logs, interruption, resume, smoke runs."""
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
import torch
from transformers import get_linear_schedule_with_warmup

from electra_demo.checkpoint import load_classifier
from electra_demo.data import split_stratified
from electra_demo.training import train
from electra_demo.training.system import ClassifierSystem
from tests.conftest import make_rows, tiny_classifier, write_tsv

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# The tiny runs test mechanics, not the recipe: no EMA or word dropout (they slow a 60-step fit), 3 epochs unless told.
MECHANICS = ["--ema", "0", "--token-dropout", "0", "--dropout", "0.1", "--max-epochs", "3"]


def _args(d, out, *extra, val=True):
    return ["--train", str(d / "train.tsv"), *(["--val", str(d / "dev.tsv")] if val else []), "--preset", "tiny",
            "--vocab-size", "200", "--output", str(out), "--log-dir", str(out) + "-runs", "--accelerator", "cpu",
            "--batch-size", "16", *MECHANICS, *extra]


def _fails(capsys, argv, pattern):
    with pytest.raises(SystemExit) as e:
        train.cli_main(argv)
    err = capsys.readouterr().err.strip()
    assert e.value.code == 2 and len(err.splitlines()) == 1 and err.startswith("error: "), err
    assert pattern in err, err


def test_help_shows_every_default():
    parser = train.build_parser()
    text = parser.format_help()
    flags = [a for a in parser._actions if a.dest != "help"]
    assert all(a.help for a in flags), [a.dest for a in flags if not a.help]
    fmt = parser._get_formatter()
    assert all("%(default)s" in fmt._get_help_string(a) for a in flags)  # the formatter appends every default
    assert " ".join(text.split()).count("(default: ") >= len(flags)
    assert "DD:HH:MM:SS" in text and "--val-fraction" in text


@pytest.mark.parametrize("extra, pattern", [
    (["--max-time", "10"], "--max-time '10': expected DD:HH:MM:SS"),
    (["--max-time", "00:00:99:00"], "expected DD:HH:MM:SS"),
    (["--max-time", "00:00:00:00"], "is zero"),
    (["--max-length", "0"], "--max-length 0: must be in [2, 8192]"),
    (["--batch-size", "0"], "--batch-size 0"),
    (["--lr", "0"], "--lr 0.0"),
    (["--lr", "nan"], "--lr nan"),
    (["--patience", "0"], "--patience 0"),
    (["--threads", "0"], "--threads 0"),
    (["--val-check-interval", "1.5"], "--val-check-interval 1.5"),
    (["--val-fraction", "0.9"], "exactly one of --val FILE and --val-fraction"),
    (["--devices", "many"], "--devices 'many'"),
    (["--token-dropout", "1"], "--token-dropout 1.0"),
])
def test_every_flag_is_checked_before_anything_runs(tiny_data, tmp_path, capsys, extra, pattern):
    _fails(capsys, _args(tiny_data, tmp_path / "o", *extra), pattern)


def test_val_or_val_fraction_exactly_one(tiny_data, tmp_path, capsys):
    _fails(capsys, _args(tiny_data, tmp_path / "o", val=False), "give exactly one of --val FILE and --val-fraction")
    _fails(capsys, _args(tiny_data, tmp_path / "o", val=False) + ["--val-fraction", "0.7"], "--val-fraction 0.7: must be in (0.0, 0.5]")


def test_split_stratified_is_seeded_disjoint_and_keeps_class_shares():
    labels = [0] * 90 + [1] * 30 + [2] * 3
    keep, held = split_stratified(labels, 0.1, seed=7)
    assert sorted(keep + held) == list(range(len(labels))) and not set(keep) & set(held)
    assert [sum(labels[i] == c for i in held) for c in (0, 1, 2)] == [9, 3, 1]  # every class, in proportion
    assert split_stratified(labels, 0.1, seed=7) == (keep, held) != split_stratified(labels, 0.1, seed=8)


def test_schedule_is_transformers_linear_warmup_with_a_movable_horizon(tiny_tokenizer):
    system = ClassifierSystem(tiny_classifier(tiny_tokenizer, ["cls"]), warmup_ratio=0.1)
    system.horizon = 200
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    ref = get_linear_schedule_with_warmup(opt, 20, 200).lr_lambdas[0]
    assert all(system.lr_factor(s) == pytest.approx(ref(s)) for s in range(0, 220, 7))
    system.horizon = 50  # a time bound that turns out shorter: the decay ends at step 50
    assert system.lr_factor(50) == 0.0 and system.lr_factor(25) > 0


def test_a_smoke_run_cannot_replace_a_real_model(tiny_data, tiny_checkpoint, tmp_path, capsys):
    real = tmp_path / "real"
    shutil.copytree(tiny_checkpoint, real)
    _fails(capsys, _args(tiny_data, real, "--fast-dev-run"), "holds a trained model; a --fast-dev-run smoke run would "
                                                               "replace it; pass --overwrite")


def test_resume_without_a_last_ckpt_says_so(tiny_data, tmp_path, capsys):
    _fails(capsys, _args(tiny_data, tmp_path / "o", "--resume"), "nothing to resume")


def test_resume_refuses_a_planted_unsafe_last_ckpt(tiny_data, tmp_path, capsys):
    args = train.build_parser().parse_args(_args(tiny_data, tmp_path / "o"))
    last = train.resume_path(args)
    os.makedirs(os.path.dirname(last))
    torch.save({"x": os.system}, last)  # a pickle that would import os.system
    _fails(capsys, _args(tiny_data, tmp_path / "o", "--resume"), "UNSAFE: loading it would run or import posix.system")


@pytest.mark.slow
def test_smoke_run_and_label_source_are_said(tiny_data, tmp_path, capsys):
    train.main(_args(tiny_data, tmp_path / "fdr", "--fast-dev-run", "--pooling", "cls"))
    out = capsys.readouterr().out
    assert f"labels: negative, positive (from {tiny_data / 'labels.json'})" in out
    assert "SMOKE RUN (--fast-dev-run" in out
    info = load_classifier(str(tmp_path / "fdr")).info
    assert info["smoke_run"] is True and info["stopped"].startswith("--fast-dev-run")
    d = tmp_path / "nolabels"
    d.mkdir()
    write_tsv(d / "train.tsv", make_rows(40, 3))
    train.main(["--train", str(d / "train.tsv"), "--val-fraction", "0.25", "--preset", "tiny", "--vocab-size", "200",
                "--output", str(tmp_path / "o2"), "--log-dir", str(tmp_path / "r2"), "--fast-dev-run", "--pooling", "cls"])
    out = capsys.readouterr().out
    assert "labels: 0, 1 (from the values in the label column; to name them, put a labels.json" in out
    info = load_classifier(str(tmp_path / "o2")).info
    assert info["val_split"] == {"fraction": 0.25, "seed": 42, "stratified": True, "n_train": 30, "n_val": 10}


@pytest.mark.slow
def test_patience_counts_epochs_and_the_stop_is_explained_with_progress_lines(tiny_data, tmp_path, capsys):
    """--val-check-interval 0.25 --patience 1: no stop inside the first epoch; the reason is printed and recorded."""
    out = tmp_path / "es"
    train.main(_args(tiny_data, out, "--lr", "1e-9", "--val-check-interval", "0.25", "--patience", "1",
                     "--max-epochs", "5", "--pooling", "cls,mean", "--progress-every", "0"))
    text = capsys.readouterr().out
    info = load_classifier(str(out)).info
    steps_per_epoch = 15  # 240 rows / 16
    assert info["stopped"].startswith("early stopping: val_acc_heads_mean did not improve for 1 epoch(s)")
    assert steps_per_epoch < info["global_step"] < 5 * steps_per_epoch
    assert "stopped at step" in text and ": early stopping" in text
    lines = [x for x in text.splitlines() if x.startswith("progress: ")]
    assert len(lines) > steps_per_epoch and all(" loss " in x and " eta " in x for x in lines)
    assert any(" val_acc " in x and " val_acc_heads_mean " in x for x in lines)


@pytest.mark.slow
def test_time_bound_moves_the_schedule_horizon(tiny_data, tiny_tokenizer):
    """Under max_time the learning rate decays to ~0 when time runs out, not at the (far) epoch bound."""
    import pytorch_lightning as pl

    from electra_demo.data import read_labelled
    from electra_demo.training.datamodule import TextDataModule

    texts, labels, _ = read_labelled(str(tiny_data / "train.tsv"))
    system = ClassifierSystem(tiny_classifier(tiny_tokenizer, ["cls"]).train(), lr=1e-3)
    dm = TextDataModule(tiny_tokenizer, (texts, labels), (texts[:16], labels[:16]), batch_size=16, max_length=64)
    trainer = pl.Trainer(max_epochs=10_000, max_time={"seconds": 4}, accelerator="cpu", logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False, use_distributed_sampler=False)
    trainer.fit(system, datamodule=dm)
    bound = 10_000 * 15
    assert system.horizon < bound / 100  # the horizon followed the clock ...
    assert system.horizon <= trainer.global_step * 1.5  # ... to about where training ended
    assert system.lr_factor(trainer.global_step) < 0.35


@pytest.mark.slow
def test_monitor_best_exports_the_best_head_as_main(tiny_data, tmp_path):
    out = tmp_path / "best"
    metrics = train.main(_args(tiny_data, out, "--lr", "3e-3", "--max-epochs", "2", "--pooling", "cls,mean,max",
                               "--monitor", "best"))
    clf = load_classifier(str(out))
    assert clf.info["monitor"] == "val_acc_best_head"
    assert metrics["per_head"][clf.main_pooling] == max(metrics["per_head"].values())
    out2 = tmp_path / "main"
    train.main(_args(tiny_data, out2, "--lr", "3e-3", "--max-epochs", "1", "--pooling", "cls,mean", "--monitor", "main"))
    assert load_classifier(str(out2)).main_pooling == "cls"


@pytest.mark.slow
def test_backbone_from_our_classifier_folder_is_quiet(tiny_data, tiny_checkpoint, tmp_path, capfd):
    train.main(["--train", str(tiny_data / "train.tsv"), "--val", str(tiny_data / "dev.tsv"), "--backbone", tiny_checkpoint,
                "--output", str(tmp_path / "ft"), "--log-dir", str(tmp_path / "r"), "--fast-dev-run", "--pooling", "cls",
                "--max-length", "64"])
    out, err = capfd.readouterr()
    assert "UNEXPECTED" not in out + err and "unexpected" not in (out + err).lower()
    assert f"backbone: the encoder of the classifier {tiny_checkpoint}" in out
    a, b = load_classifier(tiny_checkpoint).model.electra, load_classifier(str(tmp_path / "ft")).model.electra
    assert a.config.hidden_size == b.config.hidden_size


def _spawn(argv, log):
    env = dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1")
    return subprocess.Popen([sys.executable, "-m", "electra_demo", "train", *argv], cwd=ROOT, env=env,
                            stdout=open(log, "w"), stderr=subprocess.STDOUT)


def _validated(log) -> bool:
    """A progress line after a validation (the model summary also names val_acc)."""
    return any(x.startswith("progress: ") and " val_acc " in x for x in log.read_text().splitlines())


def _wait_for(pred, proc, timeout=180):
    t0 = time.time()
    while not pred():
        assert proc.poll() is None, "training ended before the event"
        assert time.time() - t0 < timeout
        time.sleep(0.05)


@pytest.mark.slow
@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_exports_the_best_so_far_marked_interrupted(tiny_data, tmp_path, sig, code):
    out, log = tmp_path / "sig", tmp_path / "log.txt"
    argv = _args(tiny_data, out, "--max-epochs", "500", "--patience", "500", "--pooling", "cls", "--progress-every", "1000")
    proc = _spawn(argv, log)
    runs = tmp_path / "sig-runs"
    _wait_for(lambda: _validated(log) and any(runs.rglob("best-*.ckpt")), proc)  # a validation done, its best .ckpt written
    proc.send_signal(sig)
    assert proc.wait(120) == code
    text = log.read_text()
    info = load_classifier(str(out)).info
    assert info["interrupted"] == sig.name and info["best_ckpt"].endswith(".ckpt")
    assert f"interrupted by {sig.name}" in text and "exported the best weights so far to" in text and "--resume" in text
    assert "Traceback" not in text


@pytest.mark.slow
def test_resume_finishes_a_run_killed_with_sigkill(tiny_data, tmp_path):
    out, log = tmp_path / "res", tmp_path / "log.txt"
    argv = _args(tiny_data, out, "--max-epochs", "6", "--patience", "100", "--pooling", "cls", "--save-every", "0.001")
    last = train.resume_path(train.build_parser().parse_args(argv))
    proc = _spawn(argv, log)
    _wait_for(lambda: os.path.exists(last) and _validated(log), proc)
    proc.kill()  # SIGKILL: no handler runs, nothing is exported
    proc.wait(60)
    assert not os.path.exists(out)
    killed_at = torch.load(last, map_location="cpu", weights_only=True)["global_step"]
    metrics = train.main(argv + ["--resume"])
    info = load_classifier(str(out)).info
    assert info["resumed_from"] == last and info["global_step"] == 6 * 15 > killed_at > 0
    assert info["stopped"] == "--max-epochs 6 completed" and metrics["n"] == 60


@pytest.mark.slow
def test_console_script_exits_0_on_success_and_2_on_a_user_error(tiny_checkpoint, tiny_data):
    """What the installed `electra-demo` does: sys.exit(main()). A command's result must not become the exit status."""
    script = "import sys; from electra_demo.__main__ import main; sys.exit(main())"
    env = dict(os.environ, PYTHONPATH=ROOT, HF_HUB_OFFLINE="1")
    ok = subprocess.run([sys.executable, "-c", script, "predict", "--checkpoint", tiny_checkpoint, "--input",
                         str(tiny_data / "dev.tsv")], capture_output=True, text=True, env=env, cwd=ROOT)
    assert ok.returncode == 0 and "{" not in ok.stderr, ok.stderr[-500:]
    bad = subprocess.run([sys.executable, "-c", script, "predict", "--checkpoint", tiny_checkpoint, "--input", "nope.tsv"],
                         capture_output=True, text=True, env=env, cwd=ROOT)
    assert bad.returncode == 2 and bad.stderr.strip().startswith("error: ") and len(bad.stderr.strip().splitlines()) == 1
