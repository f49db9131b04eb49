"""Any encoder's sequence classifier behind the classifier interface the explorer uses.

`AutoPoolingClassifier` wraps an `AutoModelForSequenceClassification` (BERT, ALBERT, RoBERTa, DistilBERT, DeBERTa-v2)
and offers what `ElectraPoolingClassifier` offers: `encode`, `pool`, `classify`, `head`, `poolings`, `labels`,
`pool_all`, `classify_all`. Its one trained head is the checkpoint's own, named `cls` (every one of these heads reads
the first token's vector) and run through the checkpoint's own modules, in the order its `forward` runs them:

  BERT, ALBERT   h[:, 0] -> the base model's pooler (dense + tanh = pooler_output) -> dropout -> classifier
  RoBERTa        h -> RobertaClassificationHead (slices [:, 0]: dropout, dense, tanh, dropout, out_proj)
  DistilBERT     h[:, 0] -> pre_classifier -> ReLU -> dropout -> classifier
  DeBERTa-v2     h -> ContextPooler (slices [:, 0]: dropout, dense, activation) -> dropout -> classifier
  ELECTRA        h -> ElectraClassificationHead (our own folders load as ElectraPoolingClassifier instead)

so `classify("cls", h[:, 0])` gives the logits `model(input_ids, attention_mask).logits` gives (tests pin it).
Every parameter-free pooling works on any of them: they only need last_hidden_state and the mask.
"""
import torch
from torch import nn

from . import pooling
from .errors import InputError
from .model import MAX_LENGTH, MAX_POSITIONS, pool_all, position_ids_from_mask

# What each architecture's own head reads, in words (the shape trace and the model card show it).
OWN_HEAD = {
    "bert": "pooler_output = tanh(dense(h[:, 0])) ([CLS]), then dropout and a linear classifier",
    "albert": "pooler_output = tanh(dense(h[:, 0])) ([CLS]), then dropout and a linear classifier",
    "roberta": "RobertaClassificationHead on h[:, 0] (<s>): dropout, dense, tanh, dropout, out_proj; the base model is "
               "built without a pooler for classification",
    "distilbert": "h[:, 0] ([CLS]) -> pre_classifier (linear) -> ReLU -> dropout -> classifier; DistilBERT has no pooler",
    "deberta-v2": "ContextPooler on h[:, 0] ([CLS]): dropout, dense, activation, then dropout and a linear classifier",
    "electra": "ElectraClassificationHead on h[:, 0] ([CLS]): dropout, dense, GELU, dropout, out_proj; ElectraModel has "
               "no pooler",
}
SUPPORTED = tuple(OWN_HEAD)
# Backbones whose positions we count over real tokens (as ElectraPoolingClassifier.encode does), so that left padding
# does not shift them (DeBERTa-v2 reads them when position_biased_input is on); RoBERTa counts its own from the pad.
MASK_POSITIONS = ("bert", "albert", "distilbert", "deberta-v2", "electra")


class OwnHead:
    """The checkpoint's own head as a function of the first token's vector: x (B, T, H) -> logits (B, C), reading
    x[:, 0]; `features(x)` is what its last linear layer reads (B, F). Holds no weights of its own (the modules are the
    wrapped model's), so the classifier's state dict stays the checkpoint's."""

    def __init__(self, hf):
        self.hf, self.kind = hf, hf.config.model_type

    def features(self, x):
        hf, kind = self.hf, self.kind
        if kind in ("bert", "albert"):
            base = hf.base_model
            if kind == "bert":
                pooled = base.pooler(x)  # (B, H) BertPooler: tanh(dense(x[:, 0]))
            else:
                pooled = base.pooler_activation(base.pooler(x[:, 0]))  # (B, H) AlbertModel: tanh(pooler(x[:, 0]))
            return hf.dropout(pooled)
        if kind in ("roberta", "electra"):
            c = hf.classifier  # RobertaClassificationHead / ElectraClassificationHead: all but out_proj
            y = c.dense(c.dropout(x[:, 0]))
            y = torch.tanh(y) if kind == "roberta" else c.activation(y)
            return c.dropout(y)  # (B, H)
        if kind == "distilbert":
            return hf.dropout(torch.relu(hf.pre_classifier(x[:, 0])))  # (B, H)
        if kind == "deberta-v2":
            return hf.dropout(hf.pooler(x))  # (B, H) ContextPooler slices [:, 0]
        raise InputError(f"no head for a {kind!r} model; supported: {', '.join(SUPPORTED)}")

    def last(self):
        """The head's last linear layer: out_proj (RoBERTa, ELECTRA) or classifier (the others)."""
        c = self.hf.classifier
        return c.out_proj if self.kind in ("roberta", "electra") else c

    def __call__(self, x):
        return self.last()(self.features(x))  # (B, C)


class AutoPoolingClassifier(nn.Module):
    """An AutoModelForSequenceClassification with the classifier interface: one trained head, `cls`, the checkpoint's
    own; every parameter-free pooling on its last_hidden_state. input_ids, attention_mask (B, T) -> backbone ->
    h (B, T, H) -> pool (B, H) -> own head (B, C)."""

    def __init__(self, hf):
        super().__init__()
        kind = hf.config.model_type
        if kind not in SUPPORTED:
            raise InputError(f"a {kind!r} model is not supported; supported: {', '.join(SUPPORTED)}")
        self.hf = hf
        self.config = hf.config
        self.architecture = kind
        self.own_head = OwnHead(hf)
        self.poolers = {}  # no learned poolings: the checkpoint's head is its own
        positions = getattr(hf.config, "max_position_embeddings", MAX_POSITIONS) - (2 if kind == "roberta" else 0)
        self.config.max_input_length = int(getattr(hf.config, "max_input_length", None) or min(MAX_LENGTH, positions))

    @property
    def backbone(self):
        return self.hf.base_model  # BertModel, RobertaModel, ...

    @property
    def poolings(self) -> list[str]:
        return ["cls"]

    @property
    def main_pooling(self) -> str:
        return "cls"

    @property
    def labels(self) -> list[str]:
        return [str(self.config.id2label[i]) for i in range(self.config.num_labels)]

    def head(self, name: str) -> OwnHead:
        if name != "cls":
            raise InputError(f"no head trained for pooling {name!r}; this {self.architecture} checkpoint has one head, "
                             "its own, on the first token (cls)")
        return self.own_head

    def available_poolings(self) -> list[str]:
        return list(pooling.POOLERS)

    def encode(self, input_ids, attention_mask, output_hidden_states: bool = False, **kwargs):
        if self.architecture in MASK_POSITIONS and attention_mask is not None:
            kwargs["position_ids"] = position_ids_from_mask(attention_mask)
        return self.backbone(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=output_hidden_states,
                             **kwargs)  # last_hidden_state (B, T, H); hidden_states: L+1 x (B, T, H)

    def pool(self, name: str, hidden, attention_mask):
        return pooling.pool(name, hidden, attention_mask, self.poolers)  # (B, H)

    def classify(self, name: str, vec):
        return self.head(name)(vec[:, None, :])  # (B, H) -> (B, C)

    def pool_all(self, h, mask):
        """(P, H): every available pooling, then the naive ones, of ONE unpadded sentence h (T, H)."""
        return pool_all(self.available_poolings() + list(pooling.NAIVE_POOLERS), h, self.poolers, mask)

    def classify_all(self, P, names: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """((1, C) logits, (1, F) features) of the one head, from P (P, H) in `names` order."""
        x = P[names.index("cls")][None, None]  # (1, 1, H)
        feats = self.own_head.features(x)  # (1, F)
        return self.own_head.last()(feats), feats

    def forward(self, input_ids, attention_mask) -> dict[str, torch.Tensor]:
        h = self.encode(input_ids, attention_mask).last_hidden_state  # (B, T, H)
        return {"cls": self.classify("cls", h[:, 0])}
