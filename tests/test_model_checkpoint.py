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
    with pytest.raises(CheckpointError, match="is a 'evil' model; supported: bert"):
        load_classifier(str(folder))
    assert "evil" not in capfd.readouterr().err  # no transformers warning before our one line


# ---- issue 26: a hostile checkpoint is refused whole, in one line naming the field, before anything big is built ----

def _copy_with_config(tmp_path, tiny_checkpoint, name="edited", **changes):
    """A copy of the tiny checkpoint with config.json edited and a manifest that matches: only the content is hostile."""
    import json

    from electra_demo.checkpoint import write_manifest

    folder = tmp_path / name
    shutil.copytree(tiny_checkpoint, folder)
    cfg = json.loads((folder / "config.json").read_text())
    cfg.update(changes)
    (folder / "config.json").write_text(json.dumps(cfg))  # NaN and Infinity written as JSON's usual extensions
    (folder / "manifest.json").unlink()
    write_manifest(str(folder))
    return folder


def _refused(source, pattern):
    with pytest.raises(CheckpointError) as e:
        load_classifier(str(source))
    assert "\n" not in str(e.value) and pattern in str(e.value), str(e.value)
    return str(e.value)


@pytest.mark.parametrize("changes, pattern", [
    ({"layer_norm_eps": float("nan")}, "config layer_norm_eps = nan must be a finite number in (0, 1]"),
    ({"layer_norm_eps": 0}, "config layer_norm_eps = 0"),
    ({"hidden_dropout_prob": float("inf")}, "config hidden_dropout_prob = inf must be a finite number"),
    ({"attention_probs_dropout_prob": 1.5}, "config attention_probs_dropout_prob = 1.5"),
    ({"initializer_range": float("nan")}, "config initializer_range = nan"),
    ({"hidden_act": "os.system"}, "config hidden_act = 'os.system' is not an activation transformers knows"),
    ({"hidden_size": "32"}, "config hidden_size = '32' is outside the supported range"),
    ({"num_hidden_layers": True}, "config num_hidden_layers = True is outside the supported range"),
    ({"max_input_length": 100_000}, "config max_input_length = 100000 must be an integer in 2..128"),
    ({"max_input_length": 1}, "config max_input_length = 1"),
    ({"main_pooling": "naive_cls"}, "config main_pooling = 'naive_cls' is not one of its poolings"),
    ({"poolings": ["cls", "evil"]}, "config poolings = ['cls', 'evil'] must be a list of distinct trainable poolings"),
    ({"poolings": ["cls", "cls"], "main_pooling": "cls"}, "must be a list of distinct trainable poolings"),
    ({"id2label": {str(i): f"l{i}" for i in range(1001)}}, "config id2label must map 1..1000 label ids to names"),
    ({"id2label": {"0": "negative", "1": "x" * 201}}, "config id2label[1] = 'xxx"),
    ({"id2label": {"0": "negative", "1": 7}}, "config id2label[1] = 7 is not a label name"),
    ({"id2label": {"0": "negative", "5": "positive"}}, "config id2label keys must be the ids 0..1"),
    ({"num_labels": 10**9}, "config num_labels = 1000000000 is outside the supported range 1..1000"),
    ({"pad_token_id": 10**6}, "config pad_token_id = 1000000 must be a token id"),
    ({"is_decoder": True}, "config is_decoder = True is not supported"),
])
def test_every_config_field_is_typed_and_bounded(tmp_path, tiny_checkpoint, changes, pattern):
    _refused(_copy_with_config(tmp_path, tiny_checkpoint, **changes), pattern)


def test_a_nan_layer_norm_eps_never_predicts_nan_silently(tmp_path, tiny_checkpoint):
    """Before issue 26 this folder loaded and every head predicted NaN."""
    folder = _copy_with_config(tmp_path, tiny_checkpoint, layer_norm_eps=float("nan"))
    assert "NaN" in (folder / "config.json").read_text()
    _refused(folder, "layer_norm_eps = nan")


@pytest.mark.parametrize("content, pattern", [
    ("[1, 2]", "is not a manifest (a JSON object of file name -> 64-hex sha256)"),
    ('{"config.json": 5}', "is not a manifest"),
    ('{"../config.json": "' + "0" * 64 + '"}', "is not a manifest"),
    ('{"config.json": "abc"}', "is not a manifest"),
    ("[[[[[[[[" * 40000, "is not valid JSON"),
])
def test_a_manifest_that_is_not_names_to_hashes_is_one_line(tmp_path, tiny_checkpoint, content, pattern):
    folder = tmp_path / "m"
    shutil.copytree(tiny_checkpoint, folder)
    (folder / "manifest.json").write_text(content)
    _refused(folder, pattern)


def test_an_empty_manifest_does_not_let_mixed_weights_load(tmp_path, tiny_checkpoint, tiny_tokenizer):
    from electra_demo.checkpoint import save_checkpoint
    from tests.conftest import tiny_classifier

    other = str(tmp_path / "other")
    save_checkpoint(tiny_classifier(tiny_tokenizer, seed=5), tiny_tokenizer, other)
    mixed = tmp_path / "mixed"
    shutil.copytree(tiny_checkpoint, mixed)
    shutil.copy(os.path.join(other, "model.safetensors"), mixed / "model.safetensors")
    (mixed / "manifest.json").write_text("{}")
    _refused(mixed, "is not listed in manifest.json")


def test_every_file_but_the_card_must_be_in_the_manifest(tmp_path, tiny_checkpoint, tiny_tokenizer):
    """A weights file dropped into a folder after export (here: the heads of a cls-only checkpoint) is refused; the
    model card, README.md, written after export, is not in the manifest and loads; dot files are never read."""
    import json

    from electra_demo.checkpoint import save_checkpoint
    from tests.conftest import tiny_classifier

    folder = tmp_path / "card"
    shutil.copytree(tiny_checkpoint, folder)
    (folder / "README.md").write_text("# a card written after export\n")
    (folder / ".DS_Store").write_bytes(b"\0")
    assert load_classifier(str(folder)).model.poolings == load_classifier(tiny_checkpoint).model.poolings
    manifest = json.loads((folder / "manifest.json").read_text())
    del manifest["heads.safetensors"]
    (folder / "manifest.json").write_text(json.dumps(manifest))
    _refused(folder, "heads.safetensors is not listed in manifest.json")
    cls_only = tmp_path / "cls_only"
    save_checkpoint(tiny_classifier(tiny_tokenizer, poolings=["cls"]), tiny_tokenizer, str(cls_only))
    assert not (cls_only / "heads.safetensors").exists()
    shutil.copy(folder / "heads.safetensors", cls_only / "heads.safetensors")
    _refused(cls_only, "heads.safetensors is not listed in manifest.json")


def _rewrite_weights(folder, state: dict, name="model.safetensors"):
    from safetensors.torch import save_file

    from electra_demo.checkpoint import write_manifest

    save_file(state, str(folder / name))
    (folder / "manifest.json").unlink()
    write_manifest(str(folder))


def test_weights_are_matched_from_the_header_before_the_model_is_built(tmp_path, tiny_checkpoint, monkeypatch):
    """Names, shapes and dtypes come from the safetensors headers and are compared with the state dict the config
    implies, built on the meta device: a weights file holding no tensors never gets a real model allocated."""
    from safetensors.torch import load_file

    from electra_demo import checkpoint

    built = []
    real = checkpoint.ElectraPoolingClassifier
    monkeypatch.setattr(checkpoint, "ElectraPoolingClassifier", lambda config: built.append(torch.empty(0).device.type)
                        or real(config))
    empty = tmp_path / "empty"
    shutil.copytree(tiny_checkpoint, empty)
    _rewrite_weights(empty, {})
    _refused(empty, "weights do not match its config ({'missing': ['classifier.dense.bias'")
    assert built == ["meta"]  # the expected shapes only

    state = load_file(os.path.join(tiny_checkpoint, "model.safetensors"))
    wide = tmp_path / "wide"
    shutil.copytree(tiny_checkpoint, wide)
    _rewrite_weights(wide, {**state, "classifier.dense.weight": torch.zeros(64, 32)})
    _refused(wide, "'wrong shape': ['classifier.dense.weight [64, 32] (config: [32, 32])']")
    ints = tmp_path / "ints"
    shutil.copytree(tiny_checkpoint, ints)
    _rewrite_weights(ints, {**state, "classifier.dense.weight": torch.zeros(32, 32, dtype=torch.int32)})
    _refused(ints, "'wrong dtype': ['classifier.dense.weight I32']")
    moved = tmp_path / "moved"
    shutil.copytree(tiny_checkpoint, moved)
    heads = load_file(os.path.join(tiny_checkpoint, "heads.safetensors"))
    _rewrite_weights(moved, {**heads, "classifier.dense.bias": state["classifier.dense.bias"]}, "heads.safetensors")
    _refused(moved, "heads.safetensors holds classifier.dense.bias, which belongs in model.safetensors")
    assert built.count("cpu") == 0


def test_the_tokenizer_is_checked_against_vocab_size_before_it_is_read(tmp_path, tiny_checkpoint, tiny_tokenizer, monkeypatch):
    from electra_demo import checkpoint
    from electra_demo.checkpoint import save_checkpoint, write_manifest
    from electra_demo.model import build_classifier

    n = len(tiny_tokenizer) - 10
    small = build_classifier(preset_config("tiny", n, 128, pad_token_id=0), ["cls"], ["negative", "positive"]).eval()
    folder = tmp_path / "small"
    save_checkpoint(small, tiny_tokenizer, str(folder))  # 10 token ids past the embedding matrix
    monkeypatch.setattr(checkpoint.AutoTokenizer, "from_pretrained", lambda *a, **k: pytest.fail("tokenizer read"))
    _refused(folder, f"the tokenizer has {len(tiny_tokenizer)} token ids but config vocab_size is {n}")
    huge = tmp_path / "huge"
    shutil.copytree(tiny_checkpoint, huge)
    with open(huge / "tokenizer.json", "r+b") as f:
        f.truncate(50 * 2**20 + 1)  # sparse: 50 MB + 1 byte of nothing
    (huge / "manifest.json").unlink()
    write_manifest(str(huge))
    _refused(huge, "tokenizer.json is 52,428,801 bytes, more than the 52,428,800")


def test_a_lightning_ckpt_gets_the_same_config_checks(tmp_path, tiny_model, tiny_tokenizer, tiny_checkpoint):
    files = {n: open(os.path.join(tiny_checkpoint, n), encoding="utf-8").read() for n in ("tokenizer.json", "tokenizer_config.json")}
    sd = {"model." + k: v for k, v in tiny_model.state_dict().items()}
    cfg = tiny_model.config.to_dict()
    for name, changes, pattern in (("nan", {"layer_norm_eps": float("nan")}, "config layer_norm_eps = nan"),
                                   ("act", {"hidden_act": "evil"}, "config hidden_act = 'evil'"),
                                   ("main", {"main_pooling": "evil"}, "config main_pooling = 'evil'")):
        torch.save({"state_dict": sd, "electra_demo": {"config": {**cfg, **changes}, "tokenizer_files": files}},
                   tmp_path / f"{name}.ckpt")
        _refused(tmp_path / f"{name}.ckpt", pattern)
    torch.save({"state_dict": {**sd, "model.classifier.dense.weight": torch.zeros(3, 3)},
                "electra_demo": {"config": cfg, "tokenizer_files": files}}, tmp_path / "shape.ckpt")
    _refused(tmp_path / "shape.ckpt", "classifier.dense.weight [3, 3] (config: [32, 32])")
    torch.save({"state_dict": sd, "electra_demo": {"config": cfg, "tokenizer_files": files}}, tmp_path / "good.ckpt")
    assert load_classifier(str(tmp_path / "good.ckpt")).model.poolings == tiny_model.poolings


def _mount_tmpfs(path, size="64k"):
    """A real small filesystem at `path` (tmpfs, as root); False where the machine does not allow mounting."""
    import subprocess

    os.makedirs(path, exist_ok=True)
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True).returncode == 0


def test_a_full_disk_or_read_only_folder_is_one_line_and_keeps_the_old_export(tmp_path, tiny_model, tiny_tokenizer):
    """On a real 64 kB filesystem, then the same one read-only: one line, and the previous export untouched. safetensors
    raises its own SafetensorError there, not an OSError."""
    import subprocess

    from electra_demo.checkpoint import save_checkpoint

    disk = tmp_path / "disk"
    if not _mount_tmpfs(disk):
        pytest.skip("mount -t tmpfs is not allowed on this machine (test_a_failed_safetensors_write_is_one_line runs)")
    try:
        old = disk / "model"
        old.mkdir()
        (old / "weights.txt").write_text("the previous export")
        with pytest.raises(CheckpointError) as e:
            save_checkpoint(tiny_model, tiny_tokenizer, str(old), overwrite=True)
        assert "\n" not in str(e.value) and "No space left on device" in str(e.value), str(e.value)
        assert "any previous folder there is unchanged" in str(e.value)
        assert os.listdir(disk) == ["model"] and os.listdir(old) == ["weights.txt"]  # no temporary folder left either
        assert subprocess.run(["mount", "-o", "remount,ro", str(disk)]).returncode == 0
        with pytest.raises(CheckpointError, match="Read-only file system") as e:
            save_checkpoint(tiny_model, tiny_tokenizer, str(old), overwrite=True)
        assert "\n" not in str(e.value) and (old / "weights.txt").read_text() == "the previous export"
    finally:
        subprocess.run(["umount", str(disk)])


def test_a_failed_safetensors_write_is_one_line(tmp_path, tiny_model, tiny_tokenizer, monkeypatch):
    import transformers.modeling_utils as mu
    from safetensors import SafetensorError

    from electra_demo.checkpoint import save_checkpoint

    def no_space(*args, **kwargs):
        raise SafetensorError("Error while serializing: I/O error: No space left on device (os error 28)")

    monkeypatch.setattr(mu, "safe_save_file", no_space)
    with pytest.raises(CheckpointError, match=r"cannot write the checkpoint .*No space left on device \(os error 28\)"):
        save_checkpoint(tiny_model, tiny_tokenizer, str(tmp_path / "model"))
    assert os.listdir(tmp_path) == []  # neither the folder nor a temporary one


def test_a_large_backbone_is_sharded_and_loads_everywhere(tiny_model, tiny_tokenizer, tmp_path):
    """Over shard_size the backbone is written in transformers' sharded format: our loader and plain transformers
    read it as one file, and a shard from another export is refused."""
    from electra_demo.checkpoint import INDEX, save_checkpoint

    from .conftest import tiny_classifier

    folder = tmp_path / "sharded"
    save_checkpoint(tiny_model, tiny_tokenizer, str(folder), shard_size="40KB")
    shards = sorted(f.name for f in folder.glob("model-*-of-*.safetensors"))
    assert len(shards) > 1 and (folder / INDEX).exists() and not (folder / "model.safetensors").exists()
    loaded = load_classifier(str(folder))
    for k, v in tiny_model.state_dict().items():
        torch.testing.assert_close(loaded.model.state_dict()[k], v)
    plain = ElectraForSequenceClassification.from_pretrained(str(folder))
    torch.testing.assert_close(plain.classifier.out_proj.weight, tiny_model.classifier.out_proj.weight)
    other = tmp_path / "other"
    save_checkpoint(tiny_classifier(tiny_tokenizer, seed=9), tiny_tokenizer, str(other), shard_size="40KB")
    shutil.copy(other / shards[0], folder / shards[0])
    with pytest.raises(CheckpointError, match=f"{shards[0]} does not belong with the rest"):
        load_classifier(str(folder))
