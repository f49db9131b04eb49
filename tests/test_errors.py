"""Bad input gets one line naming the problem and the fix, exit code 2, and no traceback."""
import os
import subprocess
import sys

import pytest

from electra_demo.training import predict, train
from tests.conftest import write_tsv

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _train(d, tmp_path, *extra, train_file=None):
    return ["--train", str(train_file or d / "train.tsv"), "--val", str(d / "dev.tsv"), "--preset", "tiny",
            "--vocab-size", "200", "--output", str(tmp_path / "o"), "--log-dir", str(tmp_path / "r"), "--fast-dev-run", *extra]


def _fails(capsys, fn, argv, pattern):
    with pytest.raises(SystemExit) as e:
        fn(argv)
    err = capsys.readouterr().err.strip()
    assert e.value.code == 2
    assert len(err.splitlines()) == 1 and err.startswith("error: "), err
    assert pattern in err, err
    return err


def test_train_errors(tiny_data, tmp_path, capsys):
    run = train.cli_main
    _fails(capsys, run, _train(tiny_data, tmp_path, train_file=tmp_path / "nope.tsv"), "nope.tsv not found")
    _fails(capsys, run, _train(tiny_data, tmp_path, "--text-column", "text"),
           "no column 'text' (columns: sentence, label); pass --text-column")
    _fails(capsys, run, _train(tiny_data, tmp_path, "--pooling", "cls,avg"), "pooling 'avg'; trainable poolings: cls, mean")
    bad = write_tsv(tmp_path / "bad.tsv", [("fine film", 0), ("awful", 1), ("odd one", 7)])
    _fails(capsys, run, _train(tiny_data, tmp_path, "--labels", str(tiny_data / "labels.json"), train_file=bad),
           "bad.tsv line 4: label '7' is not in the label set (negative, positive")
    (tmp_path / "empty.tsv").write_text("sentence\tlabel\n")
    _fails(capsys, run, _train(tiny_data, tmp_path, train_file=tmp_path / "empty.tsv"), "has a header but no rows")
    (tmp_path / "ragged.tsv").write_text("sentence\tlabel\na film\t1\textra\n")
    _fails(capsys, run, _train(tiny_data, tmp_path, train_file=tmp_path / "ragged.tsv"), "line 2: 3 fields, header has 2")
    _fails(capsys, run, _train(tiny_data, tmp_path, "--main-pooling", "max", "--pooling", "cls"), "main pooling 'max' has no head")


def test_predict_errors(tiny_checkpoint, tiny_data, tmp_path, capsys):
    run = predict.cli_main
    _fails(capsys, run, ["--checkpoint", str(tmp_path / "missing"), "--input", str(tiny_data / "dev.tsv")], "not found")
    (tmp_path / "corrupt.ckpt").write_bytes(b"\x80\x02garbage")
    _fails(capsys, run, ["--checkpoint", str(tmp_path / "corrupt.ckpt"), "--input", str(tiny_data / "dev.tsv")],
           "not a readable PyTorch checkpoint")
    _fails(capsys, run, ["--checkpoint", "http://evil.example/x.ckpt", "--input", str(tiny_data / "dev.tsv")], "is a URL")
    _fails(capsys, run, ["--checkpoint", tiny_checkpoint, "--input", str(tmp_path / "none.tsv")], "none.tsv not found")
    write_tsv(tmp_path / "odd.tsv", [("fine film", "positive"), ("meh", "neutral")])
    _fails(capsys, run, ["--checkpoint", tiny_checkpoint, "--input", str(tmp_path / "odd.tsv")],
           "line 3: label 'neutral' is not in the label set")


@pytest.mark.slow
def test_no_traceback_from_a_real_process(tmp_path):
    res = subprocess.run([sys.executable, "-m", "electra_demo", "predict", "--checkpoint", str(tmp_path / "x"), "--input", "y.tsv"],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert res.stderr.strip().splitlines()[-1].startswith("error: checkpoint")


def test_over_long_fields_and_lines_get_one_line(tiny_checkpoint, tmp_path, capsys):
    run = predict.cli_main
    write_tsv(tmp_path / "field.tsv", [("x" * 140_000, 1)])
    _fails(capsys, run, ["--checkpoint", tiny_checkpoint, "--input", str(tmp_path / "field.tsv")],
           "field.tsv has a field longer than 131,072 characters")
    with open(tmp_path / "line.txt", "w") as f:  # plain text has no field limit: the line bound stops it after 1 MiB
        f.write("fine\n" + "y" * (3 << 20) + "\n")
    _fails(capsys, run, ["--checkpoint", tiny_checkpoint, "--input", str(tmp_path / "line.txt")],
           "line.txt line 2 is longer than 1,048,576 characters")


def test_bom_header_and_superscript_label_get_the_right_sentence(tmp_path):
    from electra_demo.data import read_labelled, read_rows
    from electra_demo.errors import DataError

    (tmp_path / "bom.tsv").write_text("sentence\tlabel\na fine film\t1\n", encoding="utf-8-sig")
    assert read_rows(str(tmp_path / "bom.tsv"))[0] == ["a fine film"]  # the BOM is not part of the first column's name
    write_tsv(tmp_path / "sup.tsv", [("a fine film", "²"), ("dull", "0")])
    with pytest.raises(DataError, match=r"line 2: label '²' is not in the label set \(negative, positive") as e:
        read_labelled(str(tmp_path / "sup.tsv"), label_names=["negative", "positive"])
    assert "int()" not in str(e.value)


def test_a_mistyped_local_checkpoint_fails_at_once_without_the_hub(tmp_path, monkeypatch):
    """checkpoints/my-trec where checkpoints/ exists is a local path, not a hub id: no network retries."""
    from electra_demo.checkpoint import load_classifier, looks_like_hub_id
    from electra_demo.errors import CheckpointError

    (tmp_path / "checkpoints").mkdir()
    monkeypatch.chdir(tmp_path)
    assert not looks_like_hub_id("checkpoints/my-trec") and looks_like_hub_id("google/electra-small-discriminator")
    assert not looks_like_hub_id("a/") and not looks_like_hub_id("~/model")
    with pytest.raises(CheckpointError, match="'checkpoints/my-trec' not found"):
        load_classifier("checkpoints/my-trec")
