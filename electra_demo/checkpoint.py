"""Saving a classifier folder atomically, and one loader for every kind of checkpoint we accept.

Our folder is what `ElectraPoolingClassifier.save_pretrained` and the tokenizer's `save_pretrained` write:
  config.json            ElectraConfig + poolings, main_pooling, max_input_length, training_info, labels
  model.safetensors      electra.*, classifier.* (the `cls` head): exactly what ElectraForSequenceClassification reads
  heads.safetensors      heads.<pooling>.*, poolers.<pooling>.*: our other heads, in a file of their own so that
                         plain transformers loads the folder quietly (no report of unexpected weights)
  tokenizer.json, tokenizer_config.json
  manifest.json          sha256 of every other file, written last: a folder whose pieces do not belong
                         together (an interrupted copy, a half-replaced export) is refused on load, and so is a file
                         the manifest does not list (except README.md, the card written after export; dot files and
                         sub-folders are never read).
Plain transformers loads the same folder as ElectraForSequenceClassification (the `cls` head).
Some weights may be stored in half precision (`save_checkpoint(..., half=("word_embeddings",))`, the shipped model's
largest matrix); they are always loaded as float32.
Nothing is unpickled beyond tensors (`weights_only=True`), nothing runs remote code.

A checkpoint is checked whole before anything big is allocated, each failure one line naming the field or file:
every config field the model reads (typed, bounded, finite), the weights' names, shapes and dtypes read from the
safetensors headers against the state dict the config implies (built on the meta device), the tokenizer's
vocabulary against vocab_size, and the manifest.
"""
import contextlib
import ctypes
import json
import math
import os
import pickle
import re
import shutil
import struct
import tempfile
from dataclasses import dataclass

import torch
from huggingface_hub.errors import StrictDataclassError
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file
from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer, ElectraConfig, ElectraForSequenceClassification
from transformers.activations import ACT2FN
from transformers.utils import logging as hf_logging

from .backbone import sha256
from .encoders import SUPPORTED, AutoPoolingClassifier
from .errors import CheckpointError
from .model import MAX_LENGTH, MAX_POSITIONS, ElectraPoolingClassifier, build_classifier
from .pooling import TRAINABLE

hf_logging.disable_progress_bar()  # "Loading weights" / "Writing model shards" bars would break one-line CLI errors

DEFAULT_CHECKPOINT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "checkpoints", "electra-sst2")
MANIFEST, CARD = "manifest.json", "README.md"  # the card is written after export: the one file the manifest may omit
WEIGHTS, HEADS = "model.safetensors", "heads.safetensors"
INDEX = "model.safetensors.index.json"  # a backbone over SHARD_SIZE: transformers' sharded format, model-0000k-of-0000n
SHARD_SIZE = "30MB"  # the largest weights file an export writes (a repository's files stay well under 50 MB)
SHARD_NAME = re.compile(r"model-\d{5}-of-\d{5}\.safetensors")
TRANSFORMERS_PREFIXES = ("electra.", "classifier.")  # the names ElectraForSequenceClassification has
# A config asking for more than this is refused before anything is allocated (the shipped model: 4 x 256, 16k).
LIMITS = {"num_hidden_layers": 48, "hidden_size": 4096, "intermediate_size": 16384, "vocab_size": 500_000,
          "embedding_size": 4096, "num_attention_heads": 64, "max_position_embeddings": 8192, "num_labels": 1000,
          "type_vocab_size": 64, "n_layers": 48, "dim": 4096, "hidden_dim": 16384, "n_heads": 64,  # DistilBERT's names
          "num_hidden_groups": 48, "inner_group_num": 8, "pooler_hidden_size": 4096}  # ALBERT's, DeBERTa-v2's
MAX_PARAMETERS = 2_000_000_000  # the model a config implies, counted on the meta device before anything is allocated
# Float fields the model reads: (low, high, low excluded); NaN and inf are refused (a NaN layer_norm_eps predicts NaN).
FLOATS = {"hidden_dropout_prob": (0.0, 1.0, False), "attention_probs_dropout_prob": (0.0, 1.0, False),
          "classifier_dropout": (0.0, 1.0, False), "summary_last_dropout": (0.0, 1.0, False),
          "initializer_range": (0.0, 10.0, False), "layer_norm_eps": (0.0, 1.0, True),
          "dropout": (0.0, 1.0, False), "attention_dropout": (0.0, 1.0, False), "seq_classif_dropout": (0.0, 1.0, False),
          "qa_dropout": (0.0, 1.0, False), "classifier_dropout_prob": (0.0, 1.0, False), "pooler_dropout": (0.0, 1.0, False)}
ACTIVATIONS = ("hidden_act", "activation", "pooler_hidden_act")  # DistilBERT calls it activation; DeBERTa's pooler
# Settings an encoder classifier needs as they are: anything else changes what the weights compute.
FIXED = {"is_decoder": False, "add_cross_attention": False, "is_encoder_decoder": False, "chunk_size_feed_forward": 0,
         "return_dict": True}
MAX_LABEL_CHARS = 200
MAX_JSON_BYTES = 1 << 20  # config.json, manifest.json, tokenizer_config.json: a few kB as we write them
MAX_TOKENIZER_BYTES = 50 << 20  # tokenizer.json or vocab.txt (the shipped tokenizer.json: 0.4 MB)
SAFETENSORS_DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64",
                      torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8",
                      torch.bool: "BOOL"}
FLOAT_DTYPES = ("F32", "F16", "BF16", "F64")  # a float weight may be stored in any of them; it loads as float32


@dataclass
class LoadedModel:
    """A loaded, ready-to-run classifier bundle: the model (eval mode), its tokenizer, and where it came from."""

    model: ElectraPoolingClassifier | AutoPoolingClassifier
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
        return int(getattr(self.model.config, "max_input_length", MAX_LENGTH))

    @property
    def info(self) -> dict:
        """How it was made (training_info in config.json): data, metrics, command; {} for other checkpoints."""
        return dict(getattr(self.model.config, "training_info", None) or {})



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
    manifest = {name: sha256(os.path.join(folder, name)) for name in sorted(os.listdir(folder)) if name != MANIFEST}
    with open(os.path.join(folder, MANIFEST), "w") as f:
        json.dump(manifest, f, indent=1)
        f.flush()
        os.fsync(f.fileno())


def save_checkpoint(model: ElectraPoolingClassifier, tokenizer, folder: str, overwrite: bool = False,
                    half: tuple[str, ...] = (), shard_size: str = SHARD_SIZE) -> str:
    """Export model + tokenizer + manifest to `folder`, atomically (see new_folder). Weights whose name contains one of
    `half` (e.g. "word_embeddings") are stored in float16, the rest in float32; loading gives float32 everywhere. A
    backbone larger than `shard_size` is written in transformers' sharded format (an index and model-0000k-of-0000n
    files), which plain transformers reads as it reads one file."""
    state = {k: v.detach().to(torch.float16 if any(h in k for h in half) else torch.float32) if v.is_floating_point() else v
             for k, v in model.state_dict().items()}
    ours = {k: v.contiguous() for k, v in state.items() if not k.startswith(TRANSFORMERS_PREFIXES)}
    try:
        with new_folder(folder, overwrite) as tmp:
            model.save_pretrained(tmp, safe_serialization=True, max_shard_size=shard_size,
                                  state_dict={k: v for k, v in state.items() if k.startswith(TRANSFORMERS_PREFIXES)})
            if ours:
                save_file(ours, os.path.join(tmp, HEADS), metadata={"format": "pt"})
            tokenizer.save_pretrained(tmp)
            write_manifest(tmp)
    except (OSError, SafetensorError) as e:  # a full disk, a read-only folder (safetensors raises its own error type)
        reason = e.strerror if isinstance(e, OSError) and e.strerror else (str(e).splitlines() or [""])[0][:200]
        raise CheckpointError(f"cannot write the checkpoint {folder} ({reason}); "
                              "any previous folder there is unchanged") from e
    return folder


def _short(value) -> str:
    """A config value as it appears in a one-line message: its repr, cut."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _json_file(path: str, limit: int = MAX_JSON_BYTES):
    """The JSON in `path`, read only when the file is at most `limit` bytes; CheckpointError otherwise."""
    size = os.path.getsize(path)
    if size > limit:
        raise CheckpointError(f"{path} is {size:,} bytes, more than the {limit:,} such a file may have; refusing to read it")
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (ValueError, UnicodeDecodeError, RecursionError) as e:
        raise CheckpointError(f"{path} is not valid JSON; the checkpoint folder is damaged") from e


def read_manifest(folder: str) -> dict[str, str]:
    """manifest.json as {file name: sha256}; CheckpointError when absent or not a JSON object of name -> 64-hex string."""
    path = os.path.join(folder, MANIFEST)
    if not os.path.exists(path):
        raise CheckpointError(f"{folder} has no {MANIFEST}: the export did not finish, or the folder was assembled by hand",
                              cli="re-export it with electra-demo train")
    manifest = _json_file(path)
    if not isinstance(manifest, dict) or not all(
            isinstance(k, str) and k == os.path.basename(k) and k not in ("", ".", "..")
            and isinstance(v, str) and re.fullmatch(r"[0-9a-f]{64}", v) for k, v in manifest.items()):
        raise CheckpointError(f"{path} is not a manifest (a JSON object of file name -> 64-hex sha256); "
                              "the checkpoint folder is damaged")
    return manifest


def verify_folder(folder: str):
    """CheckpointError unless manifest.json lists every file of `folder` (README.md may be left out) and every file it
    lists is there with its recorded hash."""
    manifest = read_manifest(folder)
    present = sorted(n for n in os.listdir(folder) if not n.startswith(".") and n not in (MANIFEST, CARD)
                     and os.path.isfile(os.path.join(folder, n)))
    unlisted = [n for n in present if n not in manifest]
    if unlisted:
        raise CheckpointError(f"{folder}: {unlisted[0]} is not listed in {MANIFEST} (added after export, or the manifest "
                              "was rewritten); refusing to load the folder")
    for name in ("config.json", INDEX if INDEX in manifest else WEIGHTS):
        if name not in manifest:
            raise CheckpointError(f"{folder}: {MANIFEST} does not list {name}; the checkpoint folder is damaged")
    for name, digest in manifest.items():
        file = os.path.join(folder, name)
        if not os.path.isfile(file):
            raise CheckpointError(f"{folder} is incomplete: {name} is missing")
        if sha256(file) != digest:
            raise CheckpointError(f"{folder}: {name} does not belong with the rest of the folder (its content changed "
                                  "after export; a mix of two checkpoints?); refusing to load it")


def _number(value, lo, hi, lo_open=False) -> bool:
    """A finite int or float (not a bool) in [lo, hi], or (lo, hi] with lo_open."""
    return (isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
            and (value > lo if lo_open else value >= lo) and value <= hi)


def _check_labels(cfg: dict, source: str):
    id2label = cfg.get("id2label")
    limit = LIMITS["num_labels"]
    if id2label is None:
        return
    if not isinstance(id2label, dict) or not 1 <= len(id2label) <= limit:
        raise CheckpointError(f"{source}: config id2label must map 1..{limit} label ids to names "
                              f"(found {len(id2label) if isinstance(id2label, dict) else _short(id2label)})")
    ids = {int(k) for k in id2label if str(k).isascii() and str(k).isdigit()}  # "0" in config.json, 0 once loaded
    if ids != set(range(len(id2label))):
        raise CheckpointError(f"{source}: config id2label keys must be the ids 0..{len(id2label) - 1}, "
                              f"found {_short(sorted(id2label, key=str))}")
    for key, name in id2label.items():
        if not isinstance(name, str) or len(name) > MAX_LABEL_CHARS:
            raise CheckpointError(f"{source}: config id2label[{key}] = {_short(name)} is not a label name of at most "
                                  f"{MAX_LABEL_CHARS} characters")
    if "num_labels" in cfg and cfg["num_labels"] != len(id2label):
        raise CheckpointError(f"{source}: config num_labels = {_short(cfg['num_labels'])} but id2label names "
                              f"{len(id2label)} labels")
    if not isinstance(cfg.get("label2id") or {}, dict) or len(cfg.get("label2id") or {}) > limit:
        raise CheckpointError(f"{source}: config label2id must be an object of at most {limit} names")


def _check_heads(cfg: dict, source: str):
    """Our fields: poolings, main_pooling, max_input_length, training_info."""
    poolings = cfg.get("poolings")
    if not (isinstance(poolings, list) and poolings and all(isinstance(p, str) and p in TRAINABLE for p in poolings)
            and len(set(poolings)) == len(poolings)):
        raise CheckpointError(f"{source}: config poolings = {_short(poolings)} must be a list of distinct trainable "
                              f"poolings ({', '.join(TRAINABLE)})")
    if cfg.get("main_pooling") not in poolings:
        raise CheckpointError(f"{source}: config main_pooling = {_short(cfg.get('main_pooling'))} is not one of its "
                              f"poolings ({', '.join(poolings)})")
    positions = cfg.get("max_position_embeddings", MAX_POSITIONS)
    length = cfg.get("max_input_length", MAX_LENGTH)
    if not (isinstance(length, int) and not isinstance(length, bool) and 2 <= length <= positions):
        raise CheckpointError(f"{source}: config max_input_length = {_short(length)} must be an integer in 2..{positions} "
                              "(max_position_embeddings)")
    if not isinstance(cfg.get("training_info") or {}, dict):
        raise CheckpointError(f"{source}: config training_info must be a JSON object")


def check_config(config: dict | ElectraConfig, source: str):
    """Every config field the model reads, typed and bounded, before anything is allocated: one CheckpointError naming
    the first bad field. `config`: the raw config.json dict, or a loaded config (checked through to_dict())."""
    cfg = config if isinstance(config, dict) else config.to_dict()
    kind = cfg.get("model_type", "electra")
    if kind not in SUPPORTED:
        raise CheckpointError(f"{source!r} is a {_short(kind)} model; supported: {', '.join(SUPPORTED)}")
    for key, limit in LIMITS.items():
        low = 0 if key == "type_vocab_size" else 1  # DeBERTa-v2 has no token types
        if key in cfg and not (isinstance(cfg[key], int) and _number(cfg[key], low, limit)):
            raise CheckpointError(f"{source}: config {key} = {_short(cfg[key])} is outside the supported range "
                                  f"{low}..{limit}")
    for key, (lo, hi, lo_open) in FLOATS.items():
        if cfg.get(key) is not None and not _number(cfg[key], lo, hi, lo_open):
            raise CheckpointError(f"{source}: config {key} = {_short(cfg[key])} must be a finite number in "
                                  f"{'(' if lo_open else '['}{lo:g}, {hi:g}]")
    for key, want in FIXED.items():
        if key in cfg and (cfg[key] != want or type(cfg[key]) is not type(want)):
            raise CheckpointError(f"{source}: config {key} = {_short(cfg[key])} is not supported (a classifier's "
                                  f"encoder needs {want!r})")
    for key in ACTIVATIONS:
        act = cfg.get(key, "gelu")
        if not isinstance(act, str) or act not in ACT2FN:
            raise CheckpointError(f"{source}: config {key} = {_short(act)} is not an activation transformers knows "
                                  "(e.g. gelu, relu, silu)")
    hidden, heads = cfg.get("hidden_size", cfg.get("dim", 256)), cfg.get("num_attention_heads", cfg.get("n_heads", 4))
    if hidden % heads:
        raise CheckpointError(f"{source}: hidden_size {hidden} is not a multiple of num_attention_heads {heads}")
    pad, vocab = cfg.get("pad_token_id"), cfg.get("vocab_size", 30522)
    if pad is not None and not (isinstance(pad, int) and not isinstance(pad, bool) and 0 <= pad < vocab):
        raise CheckpointError(f"{source}: config pad_token_id = {_short(pad)} must be a token id in 0..{vocab - 1}")
    _check_labels(cfg, source)
    if "poolings" in cfg:
        _check_heads(cfg, source)


def check_weights(model, source: str):
    for name, p in model.state_dict().items():
        if p.is_floating_point() and not torch.isfinite(p).all():
            raise CheckpointError(f"{source}: weight {name} contains NaN or infinite values")


def expected_state(config: ElectraConfig) -> dict[str, tuple[tuple[int, ...], torch.dtype]]:
    """{name: (shape, dtype)} of the state dict `config` implies, built on the meta device: nothing is allocated."""
    with torch.device("meta"):
        model = ElectraPoolingClassifier(config)
    return {k: (tuple(v.shape), v.dtype) for k, v in model.state_dict().items()}


def match_state(found: dict[str, tuple[tuple[int, ...], str]], config, source: str, expected=None):
    """CheckpointError unless `found` ({name: (shape, safetensors dtype code)}) is exactly the state dict of `config`
    (or `expected`): the same names and shapes, floats as any float type, everything else as its own dtype."""
    expected = expected or expected_state(config)
    problems = {
        "missing": sorted(set(expected) - set(found)),
        "unexpected": sorted(set(found) - set(expected)),
        "wrong shape": [f"{k} {list(found[k][0])} (config: {list(expected[k][0])})" for k in sorted(set(found) & set(expected))
                        if found[k][0] != expected[k][0]],
        "wrong dtype": [f"{k} {found[k][1]}" for k in sorted(set(found) & set(expected))
                        if found[k][1] not in (FLOAT_DTYPES if expected[k][1].is_floating_point
                                               else (SAFETENSORS_DTYPES.get(expected[k][1]),))],
    }
    if any(problems.values()):
        raise CheckpointError(f"{source}: weights do not match its config ({ {k: v[:3] for k, v in problems.items() if v} })")


def safetensors_header(path: str) -> dict[str, tuple[tuple[int, ...], str]]:
    """{name: (shape, dtype code)} from a safetensors file's header; no tensor data is read."""
    try:
        with safe_open(path, framework="pt") as f:
            return {k: (tuple(f.get_slice(k).get_shape()), f.get_slice(k).get_dtype()) for k in f.keys()}
    except (OSError, SafetensorError) as e:
        raise CheckpointError(f"{path} is not a readable safetensors file ({(str(e).splitlines() or [''])[0][:200]})") from e


def backbone_files(folder: str) -> dict[str, dict[str, str] | None]:
    """{file: {weight: file} from the index, or None for a single file}: model.safetensors, or the shards that
    model.safetensors.index.json names (plain names of the form model-0000k-of-0000n.safetensors, each present)."""
    if os.path.isfile(os.path.join(folder, WEIGHTS)) or not os.path.isfile(os.path.join(folder, INDEX)):
        return {WEIGHTS: None}
    index = _json_file(os.path.join(folder, INDEX))
    weight_map = index.get("weight_map") if isinstance(index, dict) else None
    if not isinstance(weight_map, dict) or not weight_map or not all(
            isinstance(k, str) and isinstance(v, str) and SHARD_NAME.fullmatch(v) for k, v in weight_map.items()):
        raise CheckpointError(f"{os.path.join(folder, INDEX)} is not a weights index (a weight_map of names to "
                              "model-0000k-of-0000n.safetensors files); the checkpoint folder is damaged")
    return {f: weight_map for f in sorted(set(weight_map.values()))}


def check_weight_files(folder: str, config: ElectraConfig):
    """The weights' names, shapes and dtypes from the safetensors headers against the config, each name in its file
    (a sharded backbone: each name in the shard its index names)."""
    found = {}
    backbone = backbone_files(folder)
    weight_map = next(iter(backbone.values()))  # None: one model.safetensors
    for name in (*backbone, HEADS):  # heads.safetensors is absent when the only head is `cls`
        path = os.path.join(folder, name)
        if name == HEADS and not os.path.exists(path):
            continue
        for key, spec in safetensors_header(path).items():
            ours = not key.startswith(TRANSFORMERS_PREFIXES)
            belongs = HEADS if ours else WEIGHTS if weight_map is None else weight_map.get(key)
            if belongs != name:
                raise CheckpointError(f"{folder}: {name} holds {key}, which belongs in "
                                      f"{belongs or 'no file of the index'}")
            found[key] = spec
    match_state(found, config, folder)


def _config(source: str):
    """The checkpoint's config, checked raw (config.json) and loaded: an ElectraConfig for ELECTRA, the architecture's
    own config class (AutoConfig) for the other supported encoders."""
    path = os.path.join(source, "config.json")
    kind = "electra"
    if os.path.isfile(path):  # checked raw first: transformers would warn about a foreign type, choke on a bad value
        raw = _json_file(path)
        if not isinstance(raw, dict):
            raise CheckpointError(f"{path} is not a JSON object; the checkpoint folder is damaged")
        check_config(raw, source)
        kind = raw.get("model_type", "electra")
    try:
        config = (ElectraConfig if kind == "electra" else AutoConfig).from_pretrained(source, trust_remote_code=False)
    except (OSError, ValueError, TypeError, KeyError, StrictDataclassError) as e:
        raise CheckpointError(f"cannot load {source!r} as a Hugging Face checkpoint "
                              f"({(str(e).splitlines() or [''])[0][:200]})",
                              cli="give our checkpoint folder, a Hugging Face folder with config.json, or a Lightning .ckpt") from e
    check_config(config, source)
    return config


TOKENIZER_FILES = ("tokenizer.json", "vocab.txt")  # one of them: without, transformers builds an empty tokenizer


def _vocabulary_size(data) -> int | None:
    """Token ids a tokenizers JSON file can produce (the largest id + 1); None when it has no model.vocab."""
    model = data.get("model") if isinstance(data, dict) else None
    vocab = model.get("vocab") if isinstance(model, dict) else None
    if not isinstance(vocab, dict | list):
        return None
    ids = list(vocab.values()) if isinstance(vocab, dict) else list(range(len(vocab)))  # Unigram: a list of pieces
    added = data.get("added_tokens") or []
    ids += [t.get("id") for t in added if isinstance(t, dict)] if isinstance(added, list) else [None]
    if not all(isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in ids):
        return None
    return max(ids, default=-1) + 1


def check_tokenizer_files(folder: str, vocab_size: int):
    """The tokenizer's size against the config before transformers reads it: bounded files, no id past vocab_size."""
    for name in (*TOKENIZER_FILES, "tokenizer_config.json"):
        path = os.path.join(folder, name)
        limit = MAX_JSON_BYTES if name == "tokenizer_config.json" else MAX_TOKENIZER_BYTES
        if os.path.isfile(path) and os.path.getsize(path) > limit:
            raise CheckpointError(f"{path} is {os.path.getsize(path):,} bytes, more than the {limit:,} a tokenizer file "
                                  "may have; refusing to read it")
    path = os.path.join(folder, "tokenizer.json")
    if os.path.isfile(path):
        n = _vocabulary_size(_json_file(path, MAX_TOKENIZER_BYTES))
        if n is None:
            raise CheckpointError(f"{path} is not a tokenizers file (no model.vocab of token ids)")
    elif os.path.isfile(os.path.join(folder, "vocab.txt")):
        with open(os.path.join(folder, "vocab.txt"), "rb") as f:
            n = sum(1 for _ in f)
    else:
        return
    if n > vocab_size:
        raise CheckpointError(f"{folder}: the tokenizer has {n:,} token ids but config vocab_size is {vocab_size:,} "
                              f"(ids past {vocab_size - 1:,} have no embedding)")
    config_path = os.path.join(folder, "tokenizer_config.json")
    if os.path.isfile(config_path) and not isinstance(_json_file(config_path), dict):
        raise CheckpointError(f"{config_path} is not a JSON object; the checkpoint folder is damaged")


def _tokenizer(source: str, vocab_size: int):
    if os.path.isdir(source):
        if not any(os.path.exists(os.path.join(source, n)) for n in TOKENIZER_FILES):
            raise CheckpointError(f"{source}: no tokenizer (tokenizer.json expected beside config.json)",
                                  cli="copy the tokenizer files the model was trained with into the folder")
        check_tokenizer_files(source, vocab_size)
    try:
        tok = AutoTokenizer.from_pretrained(source, trust_remote_code=False)
    except (OSError, ValueError, TypeError) as e:
        raise CheckpointError(f"{source}: no usable tokenizer (tokenizer.json and tokenizer_config.json expected)") from e
    if len(tok) > vocab_size:
        raise CheckpointError(f"{source}: the tokenizer has {len(tok):,} tokens but config vocab_size is {vocab_size:,}")
    return tok


def _load_ours(folder: str, config: ElectraConfig) -> LoadedModel:
    verify_folder(folder)
    check_weight_files(folder, config)  # from the headers: a file that does not fit is refused before any tensor is read
    tok = _tokenizer(folder, config.vocab_size)
    state = {}
    for name in (*backbone_files(folder), HEADS):
        path = os.path.join(folder, name)
        if name != HEADS or os.path.exists(path):
            try:
                state.update(load_file(path))
            except (OSError, SafetensorError) as e:
                raise CheckpointError(f"{folder}: {name} does not load ({str(e).splitlines()[0][:200]})") from e
    model = ElectraPoolingClassifier(config)
    expected = model.state_dict()
    model.load_state_dict({k: v.to(expected[k].dtype) for k, v in state.items()})
    check_weights(model, folder)
    return LoadedModel(model.eval(), tok, folder)


def _pretrained(source: str, config, kind) -> tuple:
    """(the transformers model `kind`.from_pretrained loads, its tokenizer), a local folder's weights header and
    tokenizer checked against the config first; safetensors only, float32, no remote code."""
    if os.path.isdir(source):
        check_auto_weights(source, config)
    tok = _tokenizer(source, config.vocab_size)  # checked against the config before the weights are read
    try:
        hf = kind.from_pretrained(source, use_safetensors=True, dtype=torch.float32, trust_remote_code=False)
    except (OSError, ValueError, RuntimeError, SafetensorError) as e:
        raise CheckpointError(f"{source}: weights do not load ({(str(e).splitlines() or [''])[0][:200]})") from e
    return hf, tok


def _load_hf(source: str, config: ElectraConfig) -> LoadedModel:
    """A Hugging Face ElectraForSequenceClassification folder or hub id: its head becomes the `cls` head."""
    if "ElectraForSequenceClassification" not in (config.architectures or []):
        raise CheckpointError(f"{source!r} is not a sequence classifier (architectures: {config.architectures})",
                              cli=f"fine-tune it first: electra-demo train --backbone {source} ...")
    hf, tok = _pretrained(source, config, ElectraForSequenceClassification)
    labels = [config.id2label[i] for i in range(config.num_labels)]
    model = build_classifier(hf.electra, ["cls"], labels, "cls", min(MAX_POSITIONS, config.max_position_embeddings))
    model.classifier.load_state_dict(hf.classifier.state_dict())
    check_weights(model, source)
    return LoadedModel(model.eval(), tok, source)


def _expected_auto(config) -> dict[str, tuple[tuple[int, ...], torch.dtype]]:
    """{name: (shape, dtype)} of the AutoModelForSequenceClassification `config` implies, built on the meta device."""
    with torch.device("meta"):
        model = AutoModelForSequenceClassification.from_config(config, trust_remote_code=False)
    return {k: (tuple(v.shape), v.dtype) for k, v in model.state_dict().items()}


def check_auto_weights(folder: str, config):
    """A local folder's safetensors header against the classifier its config implies, before a tensor is read: the
    model's size bounded, every weight present with its shape (a missing head would be initialised at random: a silent
    wrong answer), nothing else but buffers older transformers saved (position_ids)."""
    expected = _expected_auto(config)
    size = sum(math.prod(shape) for shape, _ in expected.values())
    if size > MAX_PARAMETERS:
        raise CheckpointError(f"{folder}: its config implies {size:,} parameters, more than the {MAX_PARAMETERS:,} "
                              "the explorer loads")
    files = backbone_files(folder)
    if not all(os.path.isfile(os.path.join(folder, f)) for f in files):
        missing = [f for f in files if not os.path.isfile(os.path.join(folder, f))][0]
        raise CheckpointError(f"{folder}: no {missing} (the explorer loads safetensors weights only)",
                              cli="save the model with save_pretrained(folder) (safetensors is its default)")
    found = {k: v for f in files for k, v in safetensors_header(os.path.join(folder, f)).items()
             if not k.endswith("position_ids")}
    match_state(found, config, folder, expected)


def _load_auto(source: str, config) -> LoadedModel:
    """A BERT, ALBERT, RoBERTa, DistilBERT or DeBERTa-v2 sequence classifier (folder or hub id) through the Auto
    classes, safetensors only, no remote code: the checkpoint's own head becomes the `cls` head (encoders.py)."""
    if not any(a.endswith("ForSequenceClassification") for a in (config.architectures or [])):
        raise CheckpointError(f"{source!r} is not a sequence classifier (architectures: {config.architectures})",
                              cli="give a checkpoint saved from AutoModelForSequenceClassification")
    hf, tok = _pretrained(source, config, AutoModelForSequenceClassification)
    model = AutoPoolingClassifier(hf)
    check_weights(model, source)
    return LoadedModel(model.eval(), tok, source)


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
    """A Lightning .ckpt from our training: loaded with weights_only=True, never unpickled unsafely; its config, weight
    shapes and tokenizer checked as a folder's are before the model is built."""
    ckpt = read_ckpt(path)
    info = ckpt.get("electra_demo")
    if not isinstance(info, dict) or not isinstance(info.get("config"), dict):
        raise CheckpointError(f"{path} was not written by electra_demo's training (no 'electra_demo' entry)")
    check_config(info["config"], path)
    try:
        config = ElectraConfig.from_dict(info["config"])
    except (ValueError, TypeError, StrictDataclassError) as e:
        raise CheckpointError(f"{path}: its config does not load ({(str(e).splitlines() or [''])[0][:200]})") from e
    check_config(config, path)
    files, state = info.get("tokenizer_files"), ckpt.get("state_dict")
    if not isinstance(files, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in files.items()):
        raise CheckpointError(f"{path}: its tokenizer_files entry is not a mapping of file names to text")
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{path}: its state_dict entry is not a mapping of names to tensors")
    sd = {k[len("model."):]: v for k, v in state.items() if isinstance(k, str) and k.startswith("model.")}
    match_state({k: (tuple(v.shape), SAFETENSORS_DTYPES.get(v.dtype, str(v.dtype))) for k, v in sd.items()}, config, path)
    with tempfile.TemporaryDirectory() as tmp:
        for name, text in files.items():
            with open(os.path.join(tmp, os.path.basename(name) or "unnamed"), "w", encoding="utf-8") as f:
                f.write(text)
        tok = _tokenizer(tmp, config.vocab_size)
    model = ElectraPoolingClassifier(config)
    expected = model.state_dict()
    model.load_state_dict({k: v.to(expected[k].dtype) for k, v in sd.items()})
    check_weights(model, path)
    return LoadedModel(model.eval(), tok, path)


def looks_like_hub_id(source: str) -> bool:
    """owner/name that is not a local path: no leading . or /, and no folder here named like its owner part (a mistyped
    checkpoints/my-model fails at once instead of spending half a minute in hub retries)."""
    owner = source.split("/")[0]
    return (not os.path.exists(source) and source.count("/") == 1 and not source.startswith((".", "/", "~"))
            and not os.path.isdir(owner) and all(source.split("/")))


def load_classifier(source: str | None = None) -> LoadedModel:
    """Our folder, a Hugging Face sequence classifier (ELECTRA, BERT, ALBERT, RoBERTa, DistilBERT, DeBERTa-v2) folder or
    hub id, or a Lightning .ckpt. Default: the shipped model."""
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
    if config.model_type == "electra":
        return _load_hf(source, config)
    return _load_auto(source, config)
