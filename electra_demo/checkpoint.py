"""Saving a classifier folder atomically, and one loader for every kind of checkpoint we accept.

Our folder is what `ElectraPoolingClassifier.save_pretrained` and the tokenizer's `save_pretrained` write:
  config.json            ElectraConfig + poolings, main_pooling, max_input_length, training_info, labels
  model.safetensors      electra.*, classifier.* (the `cls` head): exactly what ElectraForSequenceClassification reads
  heads.safetensors      heads.<pooling>.*, poolers.<pooling>.*: our other heads, in a file of their own so that
                         plain transformers loads the folder quietly (no report of unexpected weights)
  tokenizer.json, tokenizer_config.json
  manifest.json          sha256 of every other file, written last: a folder whose pieces do not belong
                         together (an interrupted copy, a half-replaced export) is refused on load.
Plain transformers loads the same folder as ElectraForSequenceClassification (the `cls` head).
Some weights may be stored in half precision (`save_checkpoint(..., half=("word_embeddings",))`, the shipped model's
largest matrix); they are always loaded as float32.
Nothing is unpickled beyond tensors (`weights_only=True`), nothing runs remote code.
"""
import contextlib
import ctypes
import hashlib
import json
import os
import pickle
import re
import shutil
import struct
import tempfile
from dataclasses import dataclass

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from transformers import AutoTokenizer, ElectraConfig, ElectraForSequenceClassification
from transformers.utils import logging as hf_logging

from .errors import CheckpointError
from .model import ElectraPoolingClassifier, build_classifier

hf_logging.disable_progress_bar()  # "Loading weights" / "Writing model shards" bars would break one-line CLI errors

DEFAULT_CHECKPOINT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "checkpoints", "electra-sst2")
MANIFEST = "manifest.json"
WEIGHTS, HEADS = "model.safetensors", "heads.safetensors"
TRANSFORMERS_PREFIXES = ("electra.", "classifier.")  # the names ElectraForSequenceClassification has
# A config asking for more than this is refused before anything is allocated (the shipped model: 4 x 256, 16k).
LIMITS = {"num_hidden_layers": 48, "hidden_size": 4096, "intermediate_size": 16384, "vocab_size": 500_000,
          "embedding_size": 4096, "num_attention_heads": 64, "max_position_embeddings": 8192, "num_labels": 1000}


@dataclass
class LoadedModel:
    """A loaded, ready-to-run classifier bundle: the model (eval mode), its tokenizer, and where it came from."""

    model: ElectraPoolingClassifier
    tokenizer: object
    source: str = ""

    @property
    def labels(self) -> list[str]:
        return self.model.labels

    @property
    def main_pooling(self) -> str:
        return self.model.main_pooling

    @property
    def max_length(self) -> int:
        return int(getattr(self.model.config, "max_input_length", 128))

    @property
    def info(self) -> dict:
        """How it was made (training_info in config.json): data, metrics, command; {} for other checkpoints."""
        return dict(getattr(self.model.config, "training_info", None) or {})


def _sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _exchange(a: str, b: str) -> bool:
    """Swap two existing paths in one step (Linux renameat2 RENAME_EXCHANGE); False where the system cannot."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.renameat2(-100, os.fsencode(a), -100, os.fsencode(b), 2) == 0  # AT_FDCWD, RENAME_EXCHANGE
    except (OSError, AttributeError):
        return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _recover(folder: str):
    """Tidy up after an export that was killed: put back a previous folder left aside by the two-rename fallback,
    and remove the temporary folders of exports whose process is gone."""
    parent, base = os.path.dirname(folder), os.path.basename(folder)
    for name in os.listdir(parent):
        m = re.fullmatch(rf"\.{re.escape(base)}\.(new|old)-(\d+)-.+", name)
        if not m or _alive(int(m[2])):
            continue
        path = os.path.join(parent, name)
        previous = os.path.join(path, "previous")
        if m[1] == "old" and os.path.isdir(previous) and not os.path.exists(folder):
            os.rename(previous, folder)
        shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def new_folder(folder: str, overwrite: bool = False):
    """Yield a temporary folder beside `folder`; on success it replaces `folder` in one atomic exchange of the two
    folders (renameat2; elsewhere two renames, undone on the next export if killed between them), so `folder` is
    always the old content or the whole new one, never a mix (on failure the temporary folder is removed).

    An existing non-empty `folder` is refused unless overwrite=True.
    """
    folder = os.path.abspath(folder)
    if os.path.exists(folder) and (not os.path.isdir(folder) or os.listdir(folder)) and not overwrite:
        raise CheckpointError(f"{folder} already exists and is not empty; refusing to replace it",
                              cli="pass --overwrite to replace it, or choose another --output")
    parent = os.path.dirname(folder)
    os.makedirs(parent, exist_ok=True)
    _recover(folder)
    tmp = tempfile.mkdtemp(prefix=f".{os.path.basename(folder)}.new-{os.getpid()}-", dir=parent)
    try:
        yield tmp
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes it private; a checkpoint is shared like any folder
        for name in os.listdir(tmp):
            os.chmod(os.path.join(tmp, name), 0o666 & ~umask)
        if os.path.isdir(folder) and _exchange(tmp, folder):
            return  # tmp now holds the old folder: removed below
        old = None
        if os.path.exists(folder):
            old = tempfile.mkdtemp(prefix=f".{os.path.basename(folder)}.old-{os.getpid()}-", dir=parent)
            os.rename(folder, os.path.join(old, "previous"))
        os.rename(tmp, folder)
        if old:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_manifest(folder: str):
    """manifest.json: the sha256 of every file in `folder`, written (and synced) last."""
    manifest = {name: _sha256(os.path.join(folder, name)) for name in sorted(os.listdir(folder)) if name != MANIFEST}
    with open(os.path.join(folder, MANIFEST), "w") as f:
        json.dump(manifest, f, indent=1)
        f.flush()
        os.fsync(f.fileno())


def save_checkpoint(model: ElectraPoolingClassifier, tokenizer, folder: str, overwrite: bool = False,
                    half: tuple[str, ...] = ()) -> str:
    """Export model + tokenizer + manifest to `folder`, atomically (see new_folder). Weights whose name contains one of
    `half` (e.g. "word_embeddings") are stored in float16, the rest in float32; loading gives float32 everywhere."""
    state = {k: v.detach().to(torch.float16 if any(h in k for h in half) else torch.float32) if v.is_floating_point() else v
             for k, v in model.state_dict().items()}
    ours = {k: v.contiguous() for k, v in state.items() if not k.startswith(TRANSFORMERS_PREFIXES)}
    try:
        with new_folder(folder, overwrite) as tmp:
            model.save_pretrained(tmp, safe_serialization=True,
                                  state_dict={k: v for k, v in state.items() if k.startswith(TRANSFORMERS_PREFIXES)})
            if ours:
                save_file(ours, os.path.join(tmp, HEADS), metadata={"format": "pt"})
            tokenizer.save_pretrained(tmp)
            write_manifest(tmp)
    except OSError as e:  # a full disk, a read-only folder: nothing was replaced
        raise CheckpointError(f"cannot write the checkpoint {folder} ({e.strerror or e}); "
                              "any previous folder there is unchanged") from e
    return folder


def verify_folder(folder: str):
    """CheckpointError unless every file listed in manifest.json is there with its recorded hash."""
    path = os.path.join(folder, MANIFEST)
    if not os.path.exists(path):
        raise CheckpointError(f"{folder} has no {MANIFEST}: the export did not finish, or the folder was assembled by hand",
                              cli="re-export it with electra-demo train")
    try:
        manifest = json.load(open(path))
    except ValueError as e:
        raise CheckpointError(f"{path} is not valid JSON; the checkpoint folder is damaged") from e
    for name, digest in manifest.items():
        file = os.path.join(folder, os.path.basename(name))
        if not os.path.exists(file):
            raise CheckpointError(f"{folder} is incomplete: {name} is missing")
        if _sha256(file) != digest:
            raise CheckpointError(f"{folder}: {name} does not belong with the rest of the folder (its content changed "
                                  "after export; a mix of two checkpoints?); refusing to load it")


def check_config(config: ElectraConfig, source: str):
    """Refuse absurd sizes before anything is allocated."""
    for key, limit in LIMITS.items():
        value = getattr(config, key, None)
        if value is not None and (not isinstance(value, int) or not 0 < value <= limit):
            raise CheckpointError(f"{source}: config {key} = {value!r} is outside the supported range 1..{limit}")
    if config.hidden_size % config.num_attention_heads:
        raise CheckpointError(f"{source}: hidden_size {config.hidden_size} is not a multiple of num_attention_heads "
                              f"{config.num_attention_heads}")


def check_weights(model, source: str):
    for name, p in model.state_dict().items():
        if p.is_floating_point() and not torch.isfinite(p).all():
            raise CheckpointError(f"{source}: weight {name} contains NaN or infinite values")


def _config(source: str) -> ElectraConfig:
    path = os.path.join(source, "config.json")
    if os.path.isfile(path):  # the model type first: transformers would warn about a foreign one before we refuse it
        try:
            model_type = json.load(open(path, encoding="utf-8")).get("model_type")
        except (ValueError, AttributeError, UnicodeDecodeError) as e:
            raise CheckpointError(f"{path} is not a JSON object; the checkpoint folder is damaged") from e
        if model_type != "electra":
            raise CheckpointError(f"{source!r} is a {model_type!r} model, not ELECTRA")
    try:
        config = ElectraConfig.from_pretrained(source, trust_remote_code=False)
    except (OSError, ValueError) as e:
        raise CheckpointError(f"cannot load {source!r} as a Hugging Face ELECTRA checkpoint ({str(e).splitlines()[0]})",
                              cli="give our checkpoint folder, a Hugging Face folder with config.json, or a Lightning .ckpt") from e
    if config.model_type != "electra":
        raise CheckpointError(f"{source!r} is a {config.model_type!r} model, not ELECTRA")
    check_config(config, source)
    return config


TOKENIZER_FILES = ("tokenizer.json", "vocab.txt")  # one of them: without, transformers builds an empty tokenizer


def _tokenizer(source: str):
    if os.path.isdir(source) and not any(os.path.exists(os.path.join(source, n)) for n in TOKENIZER_FILES):
        raise CheckpointError(f"{source}: no tokenizer (tokenizer.json expected beside config.json)",
                              cli="copy the tokenizer files the model was trained with into the folder")
    try:
        return AutoTokenizer.from_pretrained(source, trust_remote_code=False)
    except (OSError, ValueError, TypeError) as e:
        raise CheckpointError(f"{source}: no usable tokenizer (tokenizer.json and tokenizer_config.json expected)") from e


def _load_ours(folder: str, config: ElectraConfig) -> LoadedModel:
    verify_folder(folder)
    state = {}
    for name in (WEIGHTS, HEADS):  # heads.safetensors is absent when the only head is `cls`
        path = os.path.join(folder, name)
        if name == WEIGHTS or os.path.exists(path):
            try:
                state.update(load_file(path))
            except (OSError, SafetensorError) as e:
                raise CheckpointError(f"{folder}: {name} does not load ({str(e).splitlines()[0][:200]})") from e
    model = ElectraPoolingClassifier(config)
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    shapes = sorted(k for k in set(state) & set(expected) if state[k].shape != expected[k].shape)
    if missing or unexpected or shapes:
        what = {"missing": missing[:3], "unexpected": unexpected[:3], "wrong shape": shapes[:3]}
        raise CheckpointError(f"{folder}: weights do not match its config ({ {k: v for k, v in what.items() if v} })")
    model.load_state_dict({k: v.to(expected[k].dtype) for k, v in state.items()})
    check_weights(model, folder)
    return LoadedModel(model.eval(), _tokenizer(folder), folder)


def _load_hf(source: str, config: ElectraConfig) -> LoadedModel:
    """A Hugging Face ElectraForSequenceClassification folder or hub id: its head becomes the `cls` head."""
    if "ElectraForSequenceClassification" not in (config.architectures or []):
        raise CheckpointError(f"{source!r} is not a sequence classifier (architectures: {config.architectures})",
                              cli=f"fine-tune it first: electra-demo train --backbone {source} ...")
    try:
        hf = ElectraForSequenceClassification.from_pretrained(source, use_safetensors=True, dtype=torch.float32,
                                                              trust_remote_code=False)
    except (OSError, ValueError, RuntimeError, SafetensorError) as e:
        raise CheckpointError(f"{source}: weights do not load ({str(e).splitlines()[0][:200]})") from e
    labels = [config.id2label[i] for i in range(config.num_labels)]
    model = build_classifier(hf.electra, ["cls"], labels, "cls", 512)
    model.classifier.load_state_dict(hf.classifier.state_dict())
    check_weights(model, source)
    return LoadedModel(model.eval(), _tokenizer(source), source)


def read_ckpt(path: str) -> dict:
    """A Lightning .ckpt as a dict, loaded with weights_only=True: a pickle that would import or run anything is
    refused as UNSAFE, an empty, text or truncated file as unreadable."""
    with open(path, "rb") as f:
        head = f.read(4)
    if not head.startswith((b"PK\x03\x04", b"\x80")):  # torch.save writes a zip file (or, long ago, a bare pickle)
        what = "is empty" if not head else f"does not start like one (first bytes {head!r})"
        raise CheckpointError(f"{path} is not a PyTorch checkpoint: it {what}")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        found = re.search(r"(?:Unsupported global: GLOBAL|unsupported GLOBAL) ([\w.]+)", str(e))
        if not found:
            raise CheckpointError(f"{path} is not a readable PyTorch checkpoint (corrupt or another format)") from e
        raise CheckpointError(f"{path} is UNSAFE: loading it would run or import {found.group(1)} (arbitrary code in a "
                              "pickle); refused", cli="export it to a safetensors folder where it was made") from e
    except (RuntimeError, EOFError, OSError, ValueError, IndexError, KeyError, struct.error) as e:
        raise CheckpointError(f"{path} is not a readable PyTorch checkpoint ({(str(e).splitlines() or [''])[0][:120]})") from e
    if not isinstance(ckpt, dict):
        raise CheckpointError(f"{path} is not a Lightning checkpoint (it holds a {type(ckpt).__name__})")
    return ckpt


def _load_ckpt(path: str) -> LoadedModel:
    """A Lightning .ckpt from our training: loaded with weights_only=True, never unpickled unsafely."""
    ckpt = read_ckpt(path)
    info = ckpt.get("electra_demo")
    if not isinstance(info, dict) or "config" not in info:
        raise CheckpointError(f"{path} was not written by electra_demo's training (no 'electra_demo' entry)")
    with tempfile.TemporaryDirectory() as tmp:
        for name, text in info["tokenizer_files"].items():
            with open(os.path.join(tmp, os.path.basename(name)), "w", encoding="utf-8") as f:
                f.write(text)
        tok = _tokenizer(tmp)
    config = ElectraConfig.from_dict(info["config"])
    check_config(config, path)
    model = ElectraPoolingClassifier(config)
    sd = {k[len("model."):]: v for k, v in ckpt["state_dict"].items() if k.startswith("model.")}
    try:
        model.load_state_dict(sd)
    except RuntimeError as e:
        raise CheckpointError(f"{path}: weights do not match its config ({str(e).splitlines()[0][:200]})") from e
    check_weights(model, path)
    return LoadedModel(model.eval(), tok, path)


def looks_like_hub_id(source: str) -> bool:
    """owner/name that is not a local path: no leading . or /, and no folder here named like its owner part (a mistyped
    checkpoints/my-model fails at once instead of spending half a minute in hub retries)."""
    owner = source.split("/")[0]
    return (not os.path.exists(source) and source.count("/") == 1 and not source.startswith((".", "/", "~"))
            and not os.path.isdir(owner) and all(source.split("/")))


def load_classifier(source: str | None = None) -> LoadedModel:
    """Our folder, a HF ELECTRA classifier folder or hub id, or a Lightning .ckpt. Default: the shipped model."""
    source = source or DEFAULT_CHECKPOINT
    if "://" in source:
        raise CheckpointError(f"{source!r} is a URL; download it yourself and pass a local path or a hub id")
    if os.path.isfile(source):
        return _load_ckpt(source)
    if not os.path.isdir(source) and not looks_like_hub_id(source):
        raise CheckpointError(f"checkpoint {source!r} not found",
                              cli="pass a checkpoint folder, a .ckpt file or a hub id like owner/name")
    if os.path.isdir(source) and not os.path.exists(os.path.join(source, "config.json")):
        raise CheckpointError(f"{source} has no config.json: not a checkpoint folder")
    config = _config(source)
    if getattr(config, "poolings", None):
        return _load_ours(source, config)
    return _load_hf(source, config)
