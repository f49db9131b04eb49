"""Any encoder classifier: load a BERT / RoBERTa / DistilBERT / DeBERTa-v2 / ALBERT / ELECTRA sequence classifier
through the Auto classes (offline folder or hub id, safetensors only, no remote code) and trace one sentence.

The trace answers the seed question on any architecture: does the base model's output HAVE `pooler_output`?
BertModel and AlbertModel: yes (tanh(dense([CLS]))); ElectraModel, RobertaModel built for classification,
DistilBertModel, DebertaV2Model: no. Every parameter-free pooling works on any of them (they only need
last_hidden_state and the mask); the checkpoint's own head is shown with what it pools.
"""
from dataclasses import dataclass

import numpy as np
import torch
from transformers import (
    AlbertConfig,
    AutoModelForSequenceClassification,
    BertConfig,
    DebertaV2Config,
    DistilBertConfig,
    ElectraConfig,
    RobertaConfig,
)

from .. import pooling
from ..checkpoint import LoadedModel, load_classifier
from ..encoders import OWN_HEAD, SUPPORTED, AutoPoolingClassifier
from ..errors import CheckpointError
from .explain import check_text

_TINY = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=37, max_position_embeddings=520)


@dataclass
class EncoderTrace:
    model_type: str  # e.g. "bert"
    base_class: str  # the base model's class, e.g. "BertModel"
    output_class: str  # its output's class
    output_keys: list[str]  # the output's keys: pooler_output among them or not
    shapes: dict[str, str]  # {key: "(1, T, H)"} of the base model's output
    has_pooler_output: bool  # the seed's lesson, per architecture
    pooled: dict[str, np.ndarray]  # {pooling: (H,)} every parameter-free pooling, on last_hidden_state
    logits: np.ndarray  # (C,) the checkpoint's own head
    probs: np.ndarray  # (C,)
    labels: list[str]  # (C,)
    own_head: str  # what this architecture's head pools, in words


def load_encoder(source: str) -> LoadedModel:
    """Any supported sequence classifier by folder or hub id, through the one loader every model goes through
    (checkpoint.load_classifier: config, weights header, tokenizer and size checked before anything is allocated)."""
    return load_classifier(source)


def _shape(v) -> str:
    return str(tuple(v.shape)) if torch.is_tensor(v) else f"{len(v)} x {tuple(v[0].shape)}"


@torch.no_grad()
def encoder_trace(enc: LoadedModel, text: str) -> EncoderTrace:
    text = check_text(text)
    model = enc.model
    batch = enc.tokenizer([text], truncation=True, max_length=enc.max_length, return_tensors="pt")
    ids, mask = batch["input_ids"], batch["attention_mask"]  # (1, T)
    out = model.encode(ids, mask)  # the base model's own output
    h = out.last_hidden_state  # (1, T, H)
    logits = model.classify(model.main_pooling, model.pool(model.main_pooling, h, mask))[0].float()  # (C,)
    return EncoderTrace(
        model_type=model.architecture, base_class=type(model.backbone).__name__, output_class=type(out).__name__,
        output_keys=list(out.keys()), shapes={k: _shape(v) for k, v in out.items()},
        has_pooler_output=getattr(out, "pooler_output", None) is not None,
        pooled={p: fn(h, mask)[0].float().numpy() for p, fn in pooling.POOLERS.items()},
        logits=logits.numpy(), probs=logits.softmax(-1).numpy(), labels=enc.labels, own_head=OWN_HEAD[model.architecture],
    )


def tiny_config(kind: str, vocab_size: int, labels: list[str]):
    """A tiny config of architecture `kind` (hidden 32, 2 layers): for tests and the page's random-weight examples."""
    common = dict(vocab_size=vocab_size, num_labels=len(labels), id2label=dict(enumerate(labels)))
    configs = {
        "bert": lambda: BertConfig(**_TINY, **common),
        "albert": lambda: AlbertConfig(embedding_size=16, **_TINY, **common),
        "roberta": lambda: RobertaConfig(**_TINY, pad_token_id=0, **common),
        "distilbert": lambda: DistilBertConfig(dim=32, n_layers=2, n_heads=2, hidden_dim=37, max_position_embeddings=520,
                                               **common),
        "deberta-v2": lambda: DebertaV2Config(**_TINY, **common),
        "electra": lambda: ElectraConfig(embedding_size=16, **_TINY, **common),
    }
    if kind not in configs:
        raise CheckpointError(f"unknown architecture {kind!r}; supported: {', '.join(SUPPORTED)}")
    return configs[kind]()


def tiny_encoder(kind: str, tokenizer, labels: list[str]) -> LoadedModel:
    """A tiny random-weight classifier of architecture `kind` built here (nothing downloaded): its shapes are real,
    its predictions are noise."""
    with torch.random.fork_rng():
        torch.manual_seed(0)
        model = AutoModelForSequenceClassification.from_config(tiny_config(kind, len(tokenizer), labels))
    return LoadedModel(AutoPoolingClassifier(model).eval(), tokenizer, f"tiny random {kind} (built here)")
