"""The self-describing checkpoint folder, and one loader for every kind of checkpoint we accept.

Folder layout (loads in plain transformers as ElectraForSequenceClassification):
  config.json            ElectraConfig with id2label, architectures
  model.safetensors      electra.* backbone + classifier.* (= our `cls` head, ElectraClassificationHead)
  heads.safetensors      every head and learned pooler: heads.<pooling>.*, poolers.<pooling>.*
  tokenizer.json, tokenizer_config.json
  electra_demo.json      poolings, default pooling, labels, max_length, metadata (data, metrics, command)
"""
import json
import os
import pickle
import re
import tempfile
from dataclasses import dataclass, field

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from transformers import AutoTokenizer, ElectraConfig, ElectraForSequenceClassification, ElectraModel

from .model import ElectraClassifier

DEFAULT_CHECKPOINT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "checkpoints", "electra-sst2")
META_FILE = "electra_demo.json"


class CheckpointError(ValueError):
    """A checkpoint that is missing, corrupt, unsafe or of the wrong kind; the message says what to do."""


@dataclass
class Classifier:
    """A loaded, ready-to-run classifier: model (eval mode), tokenizer and what describes them."""

    model: ElectraClassifier
    tokenizer: object
    max_length: int = 128
    source: str = ""
    meta: dict = field(default_factory=dict)

    @property
    def labels(self) -> list[str]:
        return self.model.labels

    @property
    def default_pooling(self) -> str:
        return self.model.default_pooling


def save_folder(model: ElectraClassifier, tokenizer, folder: str, max_length: int = 128, meta: dict | None = None):
    os.makedirs(folder, exist_ok=True)
    cfg = model.config
    sd = {k: v.detach().contiguous().clone() for k, v in model.state_dict().items()}
    hf = {"electra." + k[len("backbone."):]: v for k, v in sd.items() if k.startswith("backbone.")}
    if model.default_pooling == "cls":
        hf.update({"classifier." + k[len("heads.cls."):]: v for k, v in sd.items() if k.startswith("heads.cls.")})
        cfg.architectures = ["ElectraForSequenceClassification"]
    else:  # plain transformers gets the backbone only; our heads.safetensors has the rest
        cfg.architectures = ["ElectraModel"]
    cfg.save_pretrained(folder)
    save_file(hf, os.path.join(folder, "model.safetensors"), metadata={"format": "pt"})
    extra = {k: v for k, v in sd.items() if k.startswith(("heads.", "poolers."))}
    save_file(extra, os.path.join(folder, "heads.safetensors"), metadata={"format": "pt"})
    tokenizer.save_pretrained(folder)
    info = {"poolings": model.poolings, "default_pooling": model.default_pooling, "labels": model.labels,
            "max_length": max_length, "meta": meta or {}}
    with open(os.path.join(folder, META_FILE), "w") as f:
        json.dump(info, f, indent=2)


def _load_ours(folder: str) -> Classifier:
    info = json.load(open(os.path.join(folder, META_FILE)))
    config = ElectraConfig.from_pretrained(folder)
    model = ElectraClassifier(ElectraModel(config), info["poolings"], info["labels"], info["default_pooling"])
    sd = {"backbone." + k[len("electra."):]: v for k, v in _safe_load(folder, "model.safetensors").items() if k.startswith("electra.")}
    sd.update(_safe_load(folder, "heads.safetensors"))
    _load_weights(model, sd, folder)
    tok = AutoTokenizer.from_pretrained(folder)
    return Classifier(model.eval(), tok, info.get("max_length", 128), folder, info.get("meta", {}))


def _load_weights(model, state_dict, source):
    missing, unexpected = model.load_state_dict(state_dict, strict=False)
    if missing or unexpected:
        raise CheckpointError(f"{source}: weights do not match its config (missing {missing[:3]}, unexpected {unexpected[:3]}); "
                              f"re-export the checkpoint")


def _safe_load(folder, name):
    path = os.path.join(folder, name)
    if not os.path.exists(path):
        raise CheckpointError(f"{folder} has no {name}; the checkpoint folder is incomplete, re-export it")
    try:
        return load_file(path)
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointError(f"{path} is corrupt ({e}); re-export or re-download the checkpoint") from None


def _load_hf(source: str) -> Classifier:
    """A Hugging Face ElectraForSequenceClassification folder or hub id: its head becomes the `cls` head."""
    try:
        config = ElectraConfig.from_pretrained(source)
    except (OSError, ValueError) as e:
        raise CheckpointError(f"cannot load {source!r} as a Hugging Face ELECTRA checkpoint ({str(e).splitlines()[0]}); "
                              f"give our checkpoint folder, a HF folder with config.json, or a Lightning .ckpt") from None
    if config.model_type != "electra":
        raise CheckpointError(f"{source!r} is a {config.model_type!r} model, not ELECTRA; give an ELECTRA classifier")
    if "ElectraForSequenceClassification" not in (config.architectures or []):
        raise CheckpointError(f"{source!r} is not a sequence classifier (architectures: {config.architectures}); "
                              f"fine-tune it first: python -m electra_demo.train --backbone {source} ...")
    hf = ElectraForSequenceClassification.from_pretrained(source, use_safetensors=True, dtype=torch.float32)
    labels = [config.id2label[i] for i in range(config.num_labels)]
    model = ElectraClassifier(hf.electra, ["cls"], labels, "cls")
    model.heads["cls"].load_state_dict(hf.classifier.state_dict())
    return Classifier(model.eval(), AutoTokenizer.from_pretrained(source), 512, source, {"kind": "huggingface"})


def _load_ckpt(path: str) -> Classifier:
    """A Lightning .ckpt from our training: loaded with weights_only=True, never unpickled unsafely."""
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        found = re.search(r"Unsupported global: GLOBAL (\S+)", str(e))
        if not found:
            raise CheckpointError(f"{path} is not a readable PyTorch checkpoint (corrupt or another format)") from None
        raise CheckpointError(f"{path} needs arbitrary unpickling ({found.group(1)}) to load; refused for safety. "
                              f"Export it to a safetensors folder where it was made, or retrain with electra_demo.train") from None
    except (RuntimeError, EOFError, OSError) as e:
        raise CheckpointError(f"{path} is not a readable PyTorch checkpoint ({str(e).splitlines()[0][:120]})") from None
    info = ckpt.get("electra_demo") if isinstance(ckpt, dict) else None
    if not info:
        raise CheckpointError(f"{path} was not written by electra_demo.train (no 'electra_demo' entry); use our training command")
    with tempfile.TemporaryDirectory() as tmp:
        for name, text in info["tokenizer_files"].items():
            with open(os.path.join(tmp, os.path.basename(name)), "w", encoding="utf-8") as f:
                f.write(text)
        tok = AutoTokenizer.from_pretrained(tmp)
    model = ElectraClassifier(ElectraModel(ElectraConfig.from_dict(info["config"])), info["poolings"], info["labels"], info["default_pooling"])
    sd = {k[len("model."):]: v for k, v in ckpt["state_dict"].items() if k.startswith("model.")}
    _load_weights(model, sd, path)
    return Classifier(model.eval(), tok, info.get("max_length", 128), path, {"kind": "lightning"})


def load_classifier(source: str | None = None) -> Classifier:
    """Our folder, a HF ELECTRA classifier folder or hub id, or a Lightning .ckpt. Default: the shipped model."""
    source = source or DEFAULT_CHECKPOINT
    if "://" in source:
        raise CheckpointError(f"{source!r} is a URL; download it yourself and pass a local path or a hub id")
    if os.path.isfile(source):
        return _load_ckpt(source)
    if os.path.isdir(source) and os.path.exists(os.path.join(source, META_FILE)):
        return _load_ours(source)
    if os.path.isdir(source) or (not os.path.exists(source) and source.count("/") == 1 and not source.startswith((".", "/"))):
        return _load_hf(source)
    raise CheckpointError(f"checkpoint {source!r} not found; pass a checkpoint folder, a .ckpt file or a hub id like owner/name")
