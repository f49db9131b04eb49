"""explain_pooler() -> PoolerExplainer: "where is my pooler_output?", answered with live objects.

Tiny BertModel and ElectraModel (hidden 32, 2 layers, random weights, nothing downloaded) run on
the same ids: their output classes and keys, the AttributeError that `out.pooler_output` really
raises on ELECTRA, what `out[1]` silently is, BERT's pooler recomputed by hand (dense + tanh on
[CLS]), ElectraForSequenceClassification's head recomputed by hand (dropout, dense, GELU, dropout,
out_proj on [CLS]), and a complete LightningModule for every pooling built from the pooling records.
"""
import functools
import inspect
import linecache
import re
from dataclasses import dataclass

import torch
from transformers import BertConfig, BertModel, ElectraConfig, ElectraForSequenceClassification, ElectraModel
from transformers.models.bert.modeling_bert import BertPooler
from transformers.models.electra.modeling_electra import ElectraClassificationHead

from .. import pooling
from ..encoders import OWN_HEAD
from ..errors import InputError

TINY = dict(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=37)
IDS = [[2, 11, 12, 13, 3, 0, 0]]  # (1, 7): [CLS] w w w [SEP] [PAD] [PAD]
MASK = [[1, 1, 1, 1, 1, 0, 0]]  # (1, 7)


@dataclass
class OutputInfo:
    model: str  # "BertModel", "ElectraModel"
    output_class: str  # type(model(...)).__name__
    keys: list[str]  # the output's keys, in order
    shapes: dict[str, str]  # {key: "(1, 7, 32)"}
    pooler_module: str  # repr of model.pooler, or "none: the model has no .pooler"


@dataclass
class PoolerExplainer:
    bert: OutputInfo  # tiny BertModel
    electra: OutputInfo  # tiny ElectraModel
    yours: OutputInfo | None  # the loaded checkpoint's backbone (None when not given)
    error: str  # "AttributeError: ..." caught from a real ElectraModel output's .pooler_output
    index_notes: list[str]  # what `out[1]` is on BERT, on ELECTRA, and on ELECTRA with output_hidden_states=True
    bert_pooler_source: str  # inspect.getsource(BertPooler)
    bert_pooler_max_diff: float  # max |tanh(dense(h[:, 0])) - out.pooler_output| (float rounding only)
    head_source: str  # inspect.getsource(ElectraClassificationHead)
    head_steps: list[tuple[str, str]]  # (step, module) in the order the head applies them
    head_max_diff: float  # max |hand-made head on h[:, 0] - ElectraForSequenceClassification logits|
    snippets: dict[str, str]  # {pooling: complete LightningModule source}
    pooler_origin: str = ""  # where the loaded classifier's bert_pooler weights came from ("" without a classifier)


@functools.cache
def class_source(cls) -> str:
    """inspect.getsource(cls) for a top-level class without a decorator, found by its `class` line: Python 3.11's
    inspect parses the whole module to find a class (0.24 s for modeling_bert.py + modeling_electra.py at start)."""
    lines = linecache.getlines(inspect.getsourcefile(cls))
    start = next((i for i, line in enumerate(lines) if re.match(rf"class {cls.__name__}\b", line)), None)
    if start is None or (start and lines[start - 1].strip()):  # a decorator (or anything else) above it: inspect
        return inspect.getsource(cls)
    end = next((i for i in range(start + 1, len(lines)) if lines[i].strip() and not lines[i][0].isspace()), len(lines))
    while lines[end - 1].strip() == "":
        end -= 1
    return "".join(lines[start:end])


def _info(name, model, out) -> OutputInfo:
    shapes = {k: (str(tuple(v.shape)) if torch.is_tensor(v) else f"{len(v)} x {tuple(v[0].shape)}") for k, v in out.items()}
    pooler = getattr(model, "pooler", None)
    return OutputInfo(name, type(out).__name__, list(out.keys()), shapes,
                      repr(pooler) if pooler is not None else f"none: {name} has no .pooler")


def _catch(fn) -> str:
    try:
        fn()
    except Exception as e:  # the real exception, whatever transformers raises
        return f"{type(e).__name__}: {e}"
    return "no exception"


def _describe(x) -> str:
    return f"a tensor {tuple(x.shape)}" if torch.is_tensor(x) else f"a {type(x).__name__} of {len(x)} tensors"


@functools.lru_cache(maxsize=1)
def _tiny_report():
    with torch.random.fork_rng(), torch.no_grad():
        torch.manual_seed(0)
        bert = BertModel(BertConfig(**TINY)).eval()
        electra = ElectraModel(ElectraConfig(embedding_size=32, **TINY)).eval()
        seq = ElectraForSequenceClassification(ElectraConfig(embedding_size=32, num_labels=2, **TINY)).eval()
        ids, mask = torch.tensor(IDS), torch.tensor(MASK)
        ob, oe = bert(ids, attention_mask=mask), electra(ids, attention_mask=mask)
        oe_h = electra(ids, attention_mask=mask, output_hidden_states=True)
        error = _catch(lambda: oe.pooler_output)
        index_notes = [
            f"BertModel: out[1] is pooler_output, {_describe(ob[1])}",
            f"ElectraModel: out[1] raises {_catch(lambda: oe[1])}",
            f"ElectraModel(..., output_hidden_states=True): out[1] is hidden_states, {_describe(oe_h[1])} "
            "(no error: code written for BERT's out[1] silently gets the wrong thing)",
        ]
        h = ob.last_hidden_state  # (1, T, H)
        by_hand = torch.tanh(bert.pooler.dense(h[:, 0]))  # (1, H)
        bert_diff = (by_hand - ob.pooler_output).abs().max().item()
        hs = seq.electra(ids, attention_mask=mask).last_hidden_state  # (1, T, H)
        c = seq.classifier
        x = c.out_proj(c.dropout(c.activation(c.dense(c.dropout(hs[:, 0])))))  # (1, C)
        head_diff = (x - seq(ids, attention_mask=mask).logits).abs().max().item()
        steps = [("x = features[:, 0, :]", "[CLS] of the last hidden state"), ("dropout", repr(c.dropout)),
                 ("dense", repr(c.dense)), ("activation", f"{type(c.activation).__name__} (GELU; BERT's pooler uses tanh)"),
                 ("dropout", repr(c.dropout)), ("out_proj", repr(c.out_proj))]
    return (_info("BertModel", bert, ob), _info("ElectraModel", electra, oe), error, index_notes, bert_diff,
            head_diff, steps)


@torch.no_grad()
def _yours(classifier) -> OutputInfo:
    model = classifier.model
    ids = torch.tensor([classifier.tokenizer("good film")["input_ids"]])  # (1, T)
    return _info(f"{type(model.backbone).__name__} (this checkpoint)", model.backbone, model.encode(ids, torch.ones_like(ids)))


def pooler_origin(classifier) -> str:
    """One sentence: where this classifier's `bert_pooler` pooling started (BERT's pretrained pooler, or random)."""
    kind = classifier.model.architecture
    if kind != "electra":
        return f"This {kind} checkpoint's own head: {OWN_HEAD[kind]}."
    if "bert_pooler" not in classifier.model.poolings:
        return "This checkpoint has no `bert_pooler` head."
    source = classifier.info.get("source") or {}
    if source.get("kind") in ("package", "folder", "hub"):
        name = source.get("model") or source.get("name")
        return (f"This checkpoint's `bert_pooler` started from {name}'s pretrained BERT pooler (`pooler.dense`, dense + "
                "tanh on [CLS]): exactly the weights ElectraModel has no place for; the encoder's weights moved one to one "
                "into ElectraModel. Both were then fine-tuned with every other head.")
    return "This checkpoint's `bert_pooler` (dense + tanh on [CLS], BERT's pooler) was trained from a random start."


def lightning_snippet(name: str) -> str:
    """A complete LightningModule: ElectraModel + pooling `name` + ElectraClassificationHead, from its record."""
    if name not in pooling.TRAINABLE:
        raise InputError(f"no snippet for {name!r}; valid poolings: {', '.join(pooling.TRAINABLE)}")
    rec = pooling.get(name)
    init = rec.init_code.splitlines()
    body = rec.forward_code.splitlines()
    ind = "\n        "
    return f'''import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch import nn
from transformers import ElectraModel
from transformers.models.electra.modeling_electra import ElectraClassificationHead


class LitElectraClassifier(pl.LightningModule):
    """ElectraModel + {name} pooling + ELECTRA's own classification head (ElectraClassificationHead)."""

    def __init__(self, backbone: str = "google/electra-small-discriminator", num_labels: int = 2, lr: float = 5e-5):
        super().__init__()
        self.save_hyperparameters()
        self.electra = ElectraModel.from_pretrained(backbone)  # no pooler: its output has no pooler_output
        config = self.electra.config
        config.num_labels = num_labels{"".join(ind + ln for ln in (["H = config.hidden_size"] + init if init else []))}
        self.head = ElectraClassificationHead(config)  # dropout, dense, GELU, dropout, out_proj on [:, 0]

    def forward(self, input_ids, mask):
        # positions counted over the real tokens: with transformers' default (0..T-1) left padding shifts every
        # real token's absolute position embedding, and even masked poolings move (the padding lab shows it)
        position_ids = (mask.cumsum(1) - 1).clamp(min=0)  # (B, T)
        out = self.electra(input_ids, attention_mask=mask, position_ids=position_ids)
        h = out.last_hidden_state  # (B, T, H)
        # {name}: {rec.description}{"".join(ind + ln for ln in body)}
        return self.head(vec[:, None, :])  # (B, C); the head takes [:, 0] of this (B, 1, H)

    def training_step(self, batch, batch_idx):
        logits = self(batch["input_ids"], batch["attention_mask"])  # (B, C)
        loss = F.cross_entropy(logits, batch["labels"])
        self.log("train_loss", loss, prog_bar=True)
        return loss

    def validation_step(self, batch, batch_idx):
        logits = self(batch["input_ids"], batch["attention_mask"])  # (B, C)
        self.log("val_acc", (logits.argmax(-1) == batch["labels"]).float().mean(), prog_bar=True)

    def configure_optimizers(self):
        return torch.optim.AdamW(self.parameters(), lr=self.hparams.lr)
'''


def explain_pooler(classifier=None) -> PoolerExplainer:
    """The explainer; tiny models are built once per process. `classifier` adds its own backbone's output."""
    bert, electra, error, notes, bert_diff, head_diff, steps = _tiny_report()
    return PoolerExplainer(
        bert=bert, electra=electra, yours=_yours(classifier) if classifier is not None else None, error=error,
        index_notes=list(notes), bert_pooler_source=class_source(BertPooler), bert_pooler_max_diff=bert_diff,
        head_source=class_source(ElectraClassificationHead), head_steps=list(steps), head_max_diff=head_diff,
        snippets={p: lightning_snippet(p) for p in pooling.TRAINABLE},
        pooler_origin=pooler_origin(classifier) if classifier is not None else "",
    )
