"""ELECTRA pretraining pieces: masking rates, labels, tied weights, and a real tiny run that train.py can load."""
import json
import os

import numpy as np
import pytest
import torch

from electra_demo.model import preset_config
from electra_demo.training import pretrain, train
from electra_demo.training.rtd import ElectraPretrainer, mask_tokens, rtd_labels, sample_tokens
from tests.conftest import make_rows, write_tsv


def test_mask_rates_and_specials():
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(5, 100, (64, 128), generator=g)
    ids[:, 0], ids[:, -1] = 2, 3  # [CLS] ... [SEP]
    maskable = (ids != 2) & (ids != 3)
    masked, selected = mask_tokens(ids, maskable, 0.15, mask_token_id=4, generator=g)
    rate = selected.float().sum() / maskable.sum()
    assert abs(rate - 0.15) < 0.01
    assert not selected[:, 0].any() and not selected[:, -1].any()
    became_mask = (masked == 4) & selected
    assert abs(became_mask.sum() / selected.sum() - 0.85) < 0.03  # 85% [MASK], 15% keep (ELECTRA: no random tokens)
    assert torch.equal(masked[~selected], ids[~selected])


def test_labels_only_where_token_changed():
    orig = torch.tensor([[2, 10, 11, 12, 3, 0]])
    corr = torch.tensor([[2, 10, 99, 12, 3, 0]])  # position 3 was sampled back to the original: not replaced
    mask = torch.tensor([[1, 1, 1, 1, 1, 0]])
    assert rtd_labels(orig, corr, mask).tolist() == [[0, 0, 1, 0, 0, 0]]


def test_sampling_follows_logits():
    logits = torch.full((2000, 5), -30.0)
    logits[:, 3] = 0.0
    assert (sample_tokens(logits) == 3).all()
    uniform = sample_tokens(torch.zeros(4000, 4), generator=torch.Generator().manual_seed(0))
    assert torch.bincount(uniform, minlength=4).min() > 850


def test_shared_embeddings_and_tied_generator():
    cfg = preset_config("tiny", 120, 64)
    m = ElectraPretrainer(cfg, gen_size_divisor=2)
    assert m.generator.electra.embeddings is m.discriminator.electra.embeddings
    assert m.generator.generator_lm_head.weight is m.discriminator.electra.embeddings.word_embeddings.weight
    assert m.generator.config.hidden_size == cfg.hidden_size // 2 and m.generator.config.num_hidden_layers == cfg.num_hidden_layers
    ids = torch.randint(5, 120, (4, 16))
    loss, stats = m(ids, torch.ones_like(ids), [2, 3, 0], 4)
    loss.backward()
    assert m.discriminator.electra.embeddings.word_embeddings.weight.grad.abs().sum() > 0
    assert 0 <= stats["disc_recall"] <= 1 and stats["gen_loss"] > 0


@pytest.mark.slow
def test_pretrain_run_resume_and_finetune(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("\n".join(s + " and then the story goes on for a while" for s, _ in make_rows(400, 5)))
    common = ["--corpus", str(corpus), "--cache-dir", str(tmp_path / "cache"), "--vocab-size", "300", "--preset", "tiny",
              "--seq-len", "32", "--batch-size", "8", "--log-dir", str(tmp_path / "runs"), "--accelerator", "cpu",
              "--output", str(tmp_path / "pre"), "--warmup-steps", "5", "--save-every", "50"]
    info = pretrain.main(common + ["--max-steps", "100", "--lr", "3e-3"])
    assert info["steps"] == 100 and info["tokens_seen"] == 100 * 8 * 32
    assert info["final_metrics"]["gen_loss"] < np.log(300) - 1  # well below a uniform guess: it learns
    assert os.path.exists(tmp_path / "runs" / "pretrain" / "last.ckpt")
    per_epoch = np.load(tmp_path / "cache" / "packed_32.npy").shape[0] // 8  # batches of 8, the short one dropped
    state = torch.load(tmp_path / "runs" / "pretrain" / "last.ckpt", weights_only=True)["PackedBatches"]
    assert state == {"epoch": 100 // per_epoch, "batches": 100 % per_epoch}  # where --resume continues the batch order
    info2 = pretrain.main(common + ["--max-steps", "110", "--lr", "3e-3", "--resume", "--overwrite"])
    assert info2["steps"] == 110  # continued from step 100
    assert json.load(open(tmp_path / "pre" / "pretrain_meta.json"))["steps"] == 110
    d = tmp_path / "cls"
    d.mkdir()
    write_tsv(d / "train.tsv", make_rows(64, 0))
    write_tsv(d / "dev.tsv", make_rows(16, 1))
    metrics = train.main(["--train", str(d / "train.tsv"), "--val", str(d / "dev.tsv"), "--backbone", str(tmp_path / "pre"),
                          "--output", str(tmp_path / "ft"), "--log-dir", str(tmp_path / "ftruns"), "--fast-dev-run",
                          "--pooling", "cls", "--accelerator", "cpu"])
    assert "cls" in metrics["per_head"]
    args = train.build_parser().parse_args(["--train", "t", "--val", "v", "--output", "o", "--backbone", str(tmp_path / "pre"),
                                            "--dropout", "0.1"])
    backbone, _, bert_pooler, source = train.build_backbone(args, [])
    assert bert_pooler == {} and source == {"kind": "folder", "name": str(tmp_path / "pre")}  # an ELECTRA folder: no BERT pooler
    assert backbone.training and next(backbone.parameters()).dtype == torch.float32  # dropout on for fine-tuning
    assert np.load(tmp_path / "cache" / "packed_32.npy").shape[1] == 32


def test_a_planted_unsafe_last_ckpt_is_refused_under_resume(tmp_path, capsys):
    os.makedirs(tmp_path / "runs" / "pretrain")
    torch.save({"x": os.system}, tmp_path / "runs" / "pretrain" / "last.ckpt")
    with pytest.raises(SystemExit) as e:
        pretrain.cli_main(["--corpus", str(tmp_path), "--log-dir", str(tmp_path / "runs"), "--output", str(tmp_path / "o"),
                           "--max-steps", "5", "--resume"])
    err = capsys.readouterr().err.strip()
    assert e.value.code == 2 and len(err.splitlines()) == 1 and "is UNSAFE: loading it would run or import posix.system" in err


def test_pretrain_flags_are_checked_up_front(tmp_path, capsys):
    for extra, pattern in ((["--max-time", "10"], "--max-time '10': expected DD:HH:MM:SS"), (["--seq-len", "0"], "--seq-len 0")):
        with pytest.raises(SystemExit) as e:
            pretrain.cli_main(["--output", str(tmp_path / "o"), "--max-steps", "5", *extra])
        err = capsys.readouterr().err.strip()
        assert e.value.code == 2 and pattern in err and len(err.splitlines()) == 1, err


def test_pack_takes_a_text_of_exactly_a_multiple_of_its_batch(tiny_tokenizer):
    """2,000 texts (pack tokenizes 2,000 at a time) used to end in a tokenizer call on an empty batch."""
    texts = [s for s, _ in make_rows(pretrain.PACK_BATCH, 4)]
    arr = pretrain.pack(tiny_tokenizer, texts, 16)
    assert arr.shape[1] == 16 and len(arr) > 100
    assert (arr[:, 0] == tiny_tokenizer.cls_token_id).all() and (arr[:, -1] == tiny_tokenizer.sep_token_id).all()
    assert pretrain.pack(tiny_tokenizer, texts[:3], 64).shape == (0, 64)  # too little text: no row, the right shape


def test_the_pretrain_cache_is_keyed_by_its_text(tmp_path, capsys):
    """A --cache-dir built from other text (or another --vocab-size) is rebuilt, and the run says so in one line;
    the same text reuses it; no text at all (the GPU machine) uses it as it is."""
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("\n".join(s + " and then the story goes on for a while" for s, _ in make_rows(300, 5)))
    b.write_text("\n".join(s + " while the plot keeps going on and on here" for s, _ in make_rows(300, 6)))

    def prepare(*extra):
        pretrain.main(["--cache-dir", str(tmp_path / "cache"), "--vocab-size", "200", "--seq-len", "16",
                       "--prepare-only", *extra])
        out = capsys.readouterr().out.strip().splitlines()
        summary = json.loads(out[-1])
        return [line for line in out if line.startswith("pretrain cache:")], {k: summary[k] for k in ("rows", "vocab")}

    said, first = prepare("--corpus", str(a))
    assert said == []
    said, again = prepare("--corpus", str(a))
    assert said == [f"pretrain cache: {tmp_path / 'cache'} reused (same text and tokenizer settings)"] and again == first
    said, other = prepare("--corpus", str(b))
    assert said == [f"pretrain cache: {tmp_path / 'cache'} was built from other text; rebuilding it"]
    key = json.load(open(tmp_path / "cache" / "cache.json"))
    assert key == pretrain.text_key(pretrain.iter_text(str(b), [], 30_000_000), 200)
    said, _ = prepare("--corpus", str(b), "--vocab-size", "150")
    assert said == [f"pretrain cache: {tmp_path / 'cache'} was built with --vocab-size 200; rebuilding it"]
    said, as_is = prepare()
    assert said[0].startswith(f"pretrain cache: {tmp_path / 'cache'} used as it is (no text given") and as_is["vocab"] <= 150
