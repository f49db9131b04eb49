"""The classifier end to end: padding invariance of every head, transformers parity, save/load round trips, loader errors."""
import os
import shutil

import pytest
import torch
from transformers import AutoModelForSequenceClassification, ElectraForPreTraining, ElectraForSequenceClassification

from electra_demo.checkpoint import CheckpointError, load_classifier
from electra_demo.data import pad_batch, tokenize
from electra_demo.model import position_ids_from_mask

SHORT, LONG = "the good movie", "a really very boring plot was the film and the acting was poor dull bad"


def _batch(tok, texts, side="right"):
    ids = tokenize(tok, texts, 64)
    input_ids, mask = pad_batch(ids, tok.pad_token_id)  # (B, T) right padded
    if side == "left":
        for i, x in enumerate(ids):
            n = len(x)
            input_ids[i] = torch.roll(input_ids[i], input_ids.shape[1] - n)
            mask[i] = torch.roll(mask[i], mask.shape[1] - n)
    return input_ids, mask


@pytest.mark.parametrize("side", ["right", "left"])
def test_every_head_padding_invariant(tiny_model, tiny_tokenizer, side):
    with torch.no_grad():
        alone = tiny_model(*_batch(tiny_tokenizer, [SHORT]))
        batched = tiny_model(*_batch(tiny_tokenizer, [SHORT, LONG], side))
    assert set(alone) == set(tiny_model.poolings)
    for p in tiny_model.poolings:
        torch.testing.assert_close(batched[p][:1], alone[p], atol=1e-5, rtol=1e-4, msg=f"head {p} changed under {side} padding")


def test_position_ids_skip_left_padding():
    mask = torch.tensor([[0, 0, 1, 1, 1], [1, 1, 1, 0, 0]])
    assert position_ids_from_mask(mask).tolist() == [[0, 0, 0, 1, 2], [0, 1, 2, 2, 2]]


def test_transformers_parity(tiny_checkpoint, tiny_loaded):
    hf = AutoModelForSequenceClassification.from_pretrained(tiny_checkpoint).eval()
    assert isinstance(hf, ElectraForSequenceClassification)
    assert hf.config.id2label == {0: "negative", 1: "positive"}
    input_ids, mask = _batch(tiny_loaded.tokenizer, [SHORT, LONG])
    with torch.no_grad():
        ours = tiny_loaded.model(input_ids, mask)["cls"]
        theirs = hf(input_ids=input_ids, attention_mask=mask).logits
    torch.testing.assert_close(ours, theirs, atol=1e-6, rtol=1e-5)


def test_save_load_round_trip(tiny_model, tiny_tokenizer, tiny_loaded):
    batch = _batch(tiny_tokenizer, [SHORT, LONG])
    with torch.no_grad():
        before, after = tiny_model(*batch), tiny_loaded.model(*batch)
    assert tiny_loaded.model.poolings == tiny_model.poolings and tiny_loaded.labels == ["negative", "positive"]
    for p in before:
        assert torch.equal(before[p], after[p]), p
    files = set(os.listdir(tiny_loaded.source))
    assert {"config.json", "model.safetensors", "heads.safetensors", "tokenizer.json", "electra_demo.json"} <= files
    assert not any(f.endswith((".bin", ".pt", ".pkl")) for f in files)


def test_huggingface_folder_loads_as_cls_head(tmp_path, tiny_model, tiny_tokenizer):
    hf = ElectraForSequenceClassification(tiny_model.config).eval()
    hf.save_pretrained(tmp_path)
    tiny_tokenizer.save_pretrained(tmp_path)
    clf = load_classifier(str(tmp_path))
    assert clf.model.poolings == ["cls"]
    batch = _batch(tiny_tokenizer, [SHORT, LONG])
    with torch.no_grad():
        torch.testing.assert_close(clf.model(*batch)["cls"], hf(input_ids=batch[0], attention_mask=batch[1]).logits, atol=1e-6, rtol=1e-5)


def test_pretraining_folder_is_refused(tmp_path, tiny_model, tiny_tokenizer):
    ElectraForPreTraining(tiny_model.config).save_pretrained(tmp_path)
    with pytest.raises(CheckpointError, match="not a sequence classifier.*fine-tune it first"):
        load_classifier(str(tmp_path))


def test_unsafe_pickle_is_refused(tmp_path):
    path = tmp_path / "evil.ckpt"
    torch.save({"state_dict": {}, "payload": shutil.Error("arbitrary object")}, path)
    with pytest.raises(CheckpointError, match="refused for safety"):
        load_classifier(str(path))


def test_loader_errors(tmp_path, tiny_checkpoint):
    with pytest.raises(CheckpointError, match="is a URL"):
        load_classifier("https://example.com/model")
    with pytest.raises(CheckpointError, match="not found"):
        load_classifier(str(tmp_path / "missing"))
    garbage = tmp_path / "garbage.ckpt"
    garbage.write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError, match="not a readable PyTorch checkpoint"):
        load_classifier(str(garbage))
    broken = tmp_path / "broken"
    shutil.copytree(tiny_checkpoint, broken)
    (broken / "heads.safetensors").write_bytes(b"\x00" * 16)
    with pytest.raises(CheckpointError, match="corrupt"):
        load_classifier(str(broken))
