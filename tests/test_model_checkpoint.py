"""The classifier end to end: padding invariance of every head, transformers parity, save/load round trips, loader errors."""
import os
import shutil

import pytest
import torch
from transformers import AutoModelForSequenceClassification, ElectraForPreTraining, ElectraForSequenceClassification

from electra_demo.checkpoint import CheckpointError, load_classifier
from electra_demo.data import pad_batch, tokenize
from electra_demo.model import position_ids_from_mask, preset_config

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
        torch.testing.assert_close(before[p], after[p], atol=1e-6, rtol=1e-6, msg=p)  # same weights; kernels may differ in the last bit
    files = set(os.listdir(tiny_loaded.source))
    assert {"config.json", "model.safetensors", "tokenizer.json", "manifest.json"} <= files
    assert not any(f.endswith((".bin", ".pt", ".pkl")) for f in files)


def test_huggingface_folder_loads_as_cls_head(tmp_path, tiny_model, tiny_tokenizer):
    cfg = preset_config("tiny", len(tiny_tokenizer), 128, pad_token_id=tiny_tokenizer.pad_token_id, num_labels=2)
    hf = ElectraForSequenceClassification(cfg).eval()
    hf.save_pretrained(tmp_path)
    tiny_tokenizer.save_pretrained(tmp_path)
    clf = load_classifier(str(tmp_path))
    assert clf.model.poolings == ["cls"]
    batch = _batch(tiny_tokenizer, [SHORT, LONG])
    with torch.no_grad():
        torch.testing.assert_close(clf.model(*batch)["cls"], hf(input_ids=batch[0], attention_mask=batch[1]).logits, atol=1e-6, rtol=1e-5)


def test_pretraining_folder_is_refused(tmp_path, tiny_model, tiny_tokenizer):
    ElectraForPreTraining(preset_config("tiny", len(tiny_tokenizer), 128)).save_pretrained(tmp_path)
    with pytest.raises(CheckpointError, match="not a sequence classifier") as e:
        load_classifier(str(tmp_path))
    assert "fine-tune it first" in e.value.for_surface("cli")


def test_unsafe_pickle_is_refused(tmp_path):
    path = tmp_path / "evil.ckpt"
    torch.save({"state_dict": {}, "payload": shutil.Error("arbitrary object")}, path)
    with pytest.raises(CheckpointError, match="is UNSAFE: loading it would run or import shutil.Error"):
        load_classifier(str(path))


class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_an_os_system_pickle_is_called_unsafe_and_never_runs(tmp_path):
    path, marker = tmp_path / "last.ckpt", tmp_path / "ran"
    torch.save({"state_dict": {}, "x": _Payload(marker)}, path)
    with pytest.raises(CheckpointError, match=r"is UNSAFE: loading it would run or import posix.system \(arbitrary code"):
        load_classifier(str(path))
    assert not marker.exists()


def test_loader_errors(tmp_path, tiny_checkpoint):
    with pytest.raises(CheckpointError, match="is a URL"):
        load_classifier("https://example.com/model")
    with pytest.raises(CheckpointError, match="not found"):
        load_classifier(str(tmp_path / "missing"))
    garbage = tmp_path / "garbage.ckpt"
    garbage.write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError, match="is not a PyTorch checkpoint: it does not start like one"):
        load_classifier(str(garbage))
    broken = tmp_path / "broken"
    shutil.copytree(tiny_checkpoint, broken)
    (broken / "model.safetensors").write_bytes(b"\x00" * 16)
    with pytest.raises(CheckpointError, match="model.safetensors does not belong with the rest"):
        load_classifier(str(broken))
    (broken / "manifest.json").unlink()
    with pytest.raises(CheckpointError, match="has no manifest.json"):
        load_classifier(str(broken))


def test_a_mixed_folder_is_refused(tmp_path, tiny_checkpoint, tiny_tokenizer):
    """Weights of one export beside the config of another: refused with a sentence, never loaded."""
    from electra_demo.checkpoint import save_checkpoint
    from tests.conftest import tiny_classifier

    other = str(tmp_path / "other")
    save_checkpoint(tiny_classifier(tiny_tokenizer, seed=5), tiny_tokenizer, other)
    mixed = tmp_path / "mixed"
    shutil.copytree(tiny_checkpoint, mixed)
    shutil.copy(os.path.join(other, "model.safetensors"), mixed / "model.safetensors")
    with pytest.raises(CheckpointError, match="does not belong with the rest of the folder"):
        load_classifier(str(mixed))


def test_export_refuses_to_replace_and_swaps_atomically(tmp_path, tiny_model, tiny_tokenizer, monkeypatch):
    from electra_demo.checkpoint import save_checkpoint

    folder = str(tmp_path / "model")
    save_checkpoint(tiny_model, tiny_tokenizer, folder)
    with pytest.raises(CheckpointError, match="already exists and is not empty"):
        save_checkpoint(tiny_model, tiny_tokenizer, folder)
    before = {f: open(os.path.join(folder, f), "rb").read() for f in os.listdir(folder)}

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(type(tiny_tokenizer), "save_pretrained", disk_full)  # fails after the weights are written
    with pytest.raises(CheckpointError, match="No space left on device.*any previous folder there is unchanged"):
        save_checkpoint(tiny_model, tiny_tokenizer, folder, overwrite=True)
    after = {f: open(os.path.join(folder, f), "rb").read() for f in os.listdir(folder)}
    assert after == before  # the old checkpoint, untouched
    assert sorted(os.listdir(tmp_path)) == ["model"]  # no temporary folder left behind
    load_classifier(folder)


@pytest.mark.parametrize("key, value", [("num_hidden_layers", 10000), ("vocab_size", 10**9), ("hidden_size", -1)])
def test_absurd_config_sizes_are_refused_before_allocating(tmp_path, tiny_checkpoint, key, value):
    import json

    bad = tmp_path / "bad"
    shutil.copytree(tiny_checkpoint, bad)
    cfg = json.loads((bad / "config.json").read_text())
    cfg[key] = value
    (bad / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match=f"config {key} = .* outside the supported range"):
        load_classifier(str(bad))


def test_remote_code_is_never_run(tmp_path, tiny_checkpoint):
    """A config asking for custom code through auto_map: refused without a prompt, nothing executed."""
    import json

    evil = tmp_path / "evil"
    shutil.copytree(tiny_checkpoint, evil)
    marker = tmp_path / "ran"
    (evil / "evil_model.py").write_text(f"open({str(marker)!r}, 'w').write('x')\n")
    cfg = json.loads((evil / "config.json").read_text())
    cfg["auto_map"] = {"AutoConfig": "evil_model.Cfg", "AutoModelForSequenceClassification": "evil_model.Model"}
    cfg.pop("poolings")  # make it look like a plain Hugging Face folder
    cfg["architectures"] = ["ElectraForSequenceClassification"]
    (evil / "config.json").write_text(json.dumps(cfg))
    try:
        load_classifier(str(evil))
    except CheckpointError:
        pass
    assert not marker.exists()


def test_empty_and_text_ckpt_files_are_named_as_such(tmp_path):
    (tmp_path / "empty.ckpt").write_bytes(b"")
    (tmp_path / "text.ckpt").write_text("hello\n")
    with pytest.raises(CheckpointError, match="empty.ckpt is not a PyTorch checkpoint: it is empty"):
        load_classifier(str(tmp_path / "empty.ckpt"))
    with pytest.raises(CheckpointError, match="text.ckpt is not a PyTorch checkpoint: it does not start like one"):
        load_classifier(str(tmp_path / "text.ckpt"))


def test_a_missing_tokenizer_is_named_not_sentencepiece(tmp_path, tiny_checkpoint):
    from electra_demo.checkpoint import write_manifest

    folder = tmp_path / "notok"
    shutil.copytree(tiny_checkpoint, folder)
    for name in ("tokenizer.json", "tokenizer_config.json", "manifest.json"):
        (folder / name).unlink()
    write_manifest(str(folder))
    with pytest.raises(CheckpointError, match=r"no tokenizer \(tokenizer.json expected beside config.json\)") as e:
        load_classifier(str(folder))
    assert "sentencepiece" not in str(e.value).lower()


def test_a_foreign_model_type_is_refused_before_transformers_reads_it(tmp_path, tiny_checkpoint, capfd):
    import json

    folder = tmp_path / "evil"
    shutil.copytree(tiny_checkpoint, folder)
    cfg = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**cfg, "model_type": "evil", "auto_map": {"AutoModel": "evil.M"}}))
    with pytest.raises(CheckpointError, match="is a 'evil' model, not ELECTRA"):
        load_classifier(str(folder))
    assert "evil" not in capfd.readouterr().err  # no transformers warning before our one line
