"""The classifier nn.Module: an ElectraModel backbone + one classification head per pooling.

`ElectraPoolingClassifier` is a transformers `PreTrainedModel`, so `save_pretrained`, `from_pretrained` and
`push_to_hub` carry everything in one folder: config.json (an ElectraConfig plus `poolings`,
`main_pooling`, `max_input_length` and `training_info`) and the weights (checkpoint.py writes them). The weights
keep ElectraForSequenceClassification's names for the backbone (`electra.*`) and the `cls` head (`classifier.*`),
so plain transformers loads the same folder as ElectraForSequenceClassification and gets exactly our `cls` head;
the other heads (`heads.*`, `poolers.*`) live in a file of their own that transformers does not read.

Every head is transformers' own `ElectraClassificationHead` (dropout, dense, GELU, dropout, out_proj).
It slices `[:, 0, :]` itself, so `head(vec[:, None, :])` applies it to any pooled vector.
"""
import functools

import torch
import torch.nn.functional as F
from torch import nn
from transformers import ElectraConfig, ElectraModel
from transformers.models.electra.modeling_electra import ElectraClassificationHead, ElectraPreTrainedModel

from . import pooling
from .errors import InputError
from .torch_adapter import tensor_version

MAX_LENGTH = 128  # default tokens per input: training, prediction and the explorer (longer inputs are truncated)
MAX_POSITIONS = 512  # position embeddings of a new ELECTRA, and its tokenizer's model_max_length (BERT's 512)

# Size presets for training from scratch. "small" has ELECTRA-small's shape.
PRESETS = {
    "small": dict(embedding_size=128, hidden_size=256, num_hidden_layers=12, num_attention_heads=4, intermediate_size=1024),
    "mini": dict(embedding_size=128, hidden_size=256, num_hidden_layers=4, num_attention_heads=4, intermediate_size=1024),
    "tiny": dict(embedding_size=32, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64),
}


def preset_config(preset: str, vocab_size: int, max_position_embeddings: int = MAX_POSITIONS, **overrides) -> ElectraConfig:
    if preset not in PRESETS:
        raise InputError(f"unknown preset {preset!r}; valid presets: {', '.join(PRESETS)}")
    return ElectraConfig(vocab_size=vocab_size, max_position_embeddings=max_position_embeddings, **{**PRESETS[preset], **overrides})


def classifier_config(config: ElectraConfig, poolings: list[str], labels: list[str], main_pooling: str | None = None,
                      max_input_length: int = MAX_LENGTH, training_info: dict | None = None) -> ElectraConfig:
    """`config` (a backbone's ElectraConfig) described as a classifier: heads, labels, main head, input length."""
    poolings = [pooling.get(p).name for p in poolings]
    if not poolings or any(p not in pooling.TRAINABLE for p in poolings):
        raise InputError(f"heads need trainable poolings ({', '.join(pooling.TRAINABLE)}); got {poolings}")
    main = main_pooling or ("cls" if "cls" in poolings else poolings[0])
    if main not in poolings:
        raise InputError(f"main pooling {main!r} has no head; trained heads: {', '.join(poolings)}")
    config.poolings, config.main_pooling = list(poolings), main
    config.max_input_length, config.training_info = int(max_input_length), dict(training_info or {})
    config.num_labels = len(labels)
    config.id2label = dict(enumerate(labels))
    config.label2id = {name: i for i, name in enumerate(labels)}
    return config


def position_ids_from_mask(attention_mask):
    """Positions counted over real tokens only, so left padding does not shift them."""
    return (attention_mask.long().cumsum(1) - 1).clamp(min=0)  # (B, T)


# ---- the fast path for ONE unpadded sentence: every pooling in a few batched operations (explain() uses it) ----

@functools.lru_cache(maxsize=128)
def _coefficients(names: tuple[str, ...], T: int, dtype) -> torch.Tensor:
    """A (K, T): the token weights of each pooling in `names` (fixed weightings) over T real tokens, from its own
    registry record (pooling.Pooling.coefficients), so that vec = A @ h. Cached per length."""
    h, m = torch.zeros(1, T, 1, dtype=dtype), torch.ones(1, T, dtype=torch.long)
    with torch.inference_mode(False), torch.no_grad():  # a plain tensor, usable in any later mode
        return torch.cat([pooling.get(p).coefficients(h, m, None) for p in names])  # (K, T)


@functools.lru_cache(maxsize=64)
def _partition(names: tuple[str, ...]):
    """How pool_all computes `names`: (fixed weightings, max poolings, learned, others, computed order -> names order)."""
    recs = [pooling.get(p) for p in names]
    linear = tuple(r.name for r in recs if r.kind != "learned" and r.coefficients is not None)
    maxes = [r.name for r in recs if r.fn in (pooling.max_pool, pooling.naive_max_pool)]
    learned = [r.name for r in recs if r.kind == "learned"]
    done = set(linear) | set(maxes) | set(learned)
    others = [p for p in names if p not in done]  # a parameter-free pooling of another form: pooling.pool
    order = list(linear) + maxes + learned + others
    return linear, maxes, learned, others, torch.tensor([order.index(p) for p in names])


def _learned(module, h, mask):
    """One learned pooling of one unpadded sentence h (T, H) -> (H,): the module's own layers, called as functions,
    without the masking (nothing to mask); a module of another kind runs as it is."""
    kind = type(module)
    if kind is pooling.AttentionPooling:
        return F.linear(h, module.score.weight, module.score.bias)[:, 0].softmax(0) @ h  # (T,) weights -> (H,)
    if kind is pooling.BertPooler:
        return torch.tanh(F.linear(h[0], module.dense.weight, module.dense.bias))  # (H,) dense + tanh on [CLS]
    if kind is pooling.ProjectedMaxPooling:
        return F.gelu(F.linear(h, module.proj.weight, module.proj.bias)).max(0).values  # (H,) max of GELU(proj(h))
    return module(h[None], mask)[0]


@functools.lru_cache(maxsize=64)
def _rows(names: tuple[str, ...], wanted: tuple[str, ...]) -> torch.Tensor:
    """The rows of `wanted` in `names`, as an index tensor (made once per pair)."""
    return torch.tensor([names.index(p) for p in wanted])


def pool_all(names: list[str], h, modules, mask):
    """(P, H): the poolings `names` of ONE unpadded sentence h (T, H) (mask (1, T) all ones), equal to
    `pooling.pool(p, h[None], mask, modules)` for each p to float rounding: fixed weightings are one matrix multiply,
    the max poolings one max, the learned ones their modules' layers."""
    linear, maxes, learned, others, index = _partition(tuple(names))
    parts = [_coefficients(linear, h.shape[0], h.dtype) @ h]  # (K, H)
    if maxes:
        parts += [h.max(0).values[None]] * len(maxes)  # (1, H) each: the masked max when nothing is padded
    parts += [_learned(modules[p], h, mask)[None] for p in learned]  # (1, H) each
    parts += [pooling.pool(p, h[None], mask, modules) for p in others]  # (1, H) each
    return torch.cat(parts)[index]  # (P, H)


class ElectraPoolingClassifier(ElectraPreTrainedModel):
    """ElectraModel + one ElectraClassificationHead per pooling, on one shared backbone.

    input_ids, attention_mask (B, T) -> electra -> last_hidden_state h (B, T, H)
      -> for each pooling p in config.poolings: vec_p = pool(p, h, mask) (B, H) -> head_p(vec_p[:, None]) (B, C)
    B batch, T tokens, H hidden size, C classes. config.main_pooling names the head whose prediction is shown.
    """

    def __init__(self, config: ElectraConfig):
        super().__init__(config)
        self.electra = ElectraModel(config)
        H = config.hidden_size
        self.poolers = nn.ModuleDict({p: pooling.LEARNED_POOLERS[p](H) for p in config.poolings if p in pooling.LEARNED_POOLERS})
        if "cls" in config.poolings:
            self.classifier = ElectraClassificationHead(config)  # the `cls` head, named as in ElectraForSequenceClassification
        self.heads = nn.ModuleDict({p: ElectraClassificationHead(config) for p in config.poolings if p != "cls"})
        self.post_init()

    @property
    def poolings(self) -> list[str]:
        return list(self.config.poolings)

    @property
    def main_pooling(self) -> str:
        return self.config.main_pooling

    @property
    def labels(self) -> list[str]:
        return [self.config.id2label[i] for i in range(self.config.num_labels)]

    def head(self, name: str) -> ElectraClassificationHead:
        if name not in self.config.poolings:
            raise InputError(f"no head trained for pooling {name!r}; trained heads: {', '.join(self.poolings)}")
        return self.classifier if name == "cls" else self.heads[name]

    architecture = "electra"

    @property
    def backbone(self) -> ElectraModel:
        return self.electra

    def available_poolings(self) -> list[str]:
        """Every masked pooling this model can compute: the parameter-free ones and its trained learned ones."""
        return list(pooling.POOLERS) + [p for p in pooling.LEARNED_POOLERS if p in self.poolers]

    def pool_all(self, h, mask):
        """(P, H): every available pooling, then the naive ones, of ONE unpadded sentence h (T, H)."""
        return pool_all(self.available_poolings() + list(pooling.NAIVE_POOLERS), h, self.poolers, mask)

    def _stacked(self):
        """(W1^T (P, H, H), b1 (P, 1, H), W2^T (P, H, C), b2 (P, 1, C), the heads' activation) of every trained head in
        `poolings` order, stacked
        once and again when a head weight changed in place (an optimizer step, load_state_dict) or was replaced."""
        heads = (getattr(self, "classifier", None), *self.heads.values())  # a swapped head module: new parameters
        cached = self.__dict__.get("_electra_demo_stacked")
        if cached is None or cached[0] != heads:
            params = [t for p in self.poolings for layer in (self.head(p).dense, self.head(p).out_proj)
                      for t in (layer.weight, layer.bias)]
            cached = (heads, params, None, None)
        heads, params, key, weights = cached
        now = [(t.data_ptr(), tensor_version(t)) for t in params]
        if now != key:
            with torch.inference_mode(False), torch.no_grad():  # plain tensors, usable in any later mode
                w1, b1, w2, b2 = (torch.stack(params[k::4]) for k in range(4))
            weights = (w1.transpose(1, 2), b1[:, None], w2.transpose(1, 2), b2[:, None],
                       self.head(self.poolings[0]).activation)  # get_activation("gelu") in every ElectraClassificationHead
        self.__dict__["_electra_demo_stacked"] = (heads, params, now, weights)  # published whole
        return weights

    def classify_all(self, P, names: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """((P_heads, C) logits, (P_heads, H) GELU(dense(vec))) of every trained head, in `poolings` order, from P (P, H)
        in `names` order: each ElectraClassificationHead in eval mode (dropout is identity), all at once in two batched
        multiplies; equal to `classify(p, P[names.index(p)][None])` to float rounding."""
        w1t, b1, w2t, b2, activation = self._stacked()
        x = P[_rows(tuple(names), tuple(self.poolings))][:, None]  # (P_heads, 1, H)
        inter = activation(torch.baddbmm(b1, x, w1t))  # (P_heads, 1, H)
        return torch.baddbmm(b2, inter, w2t)[:, 0], inter[:, 0]  # (P_heads, C), (P_heads, H)

    def encode(self, input_ids, attention_mask, output_hidden_states: bool = False, **kwargs):
        return self.electra(
            input_ids=input_ids,
            attention_mask=attention_mask,
            position_ids=None if attention_mask is None else position_ids_from_mask(attention_mask),
            output_hidden_states=output_hidden_states,
            **kwargs,  # e.g. output_attentions=True (the attention lab)
        )  # last_hidden_state (B, T, H); hidden_states: L+1 x (B, T, H)

    def pool(self, name: str, hidden, attention_mask):
        return pooling.pool(name, hidden, attention_mask, self.poolers)  # (B, H)

    def classify(self, name: str, vec):
        return self.head(name)(vec[:, None, :])  # (B, H) -> (B, C)

    def forward(self, input_ids, attention_mask) -> dict[str, torch.Tensor]:
        """Logits of every trained head: {pooling: (B, C)}."""
        h = self.encode(input_ids, attention_mask).last_hidden_state  # (B, T, H)
        return {p: self.classify(p, self.pool(p, h, attention_mask)) for p in self.poolings}


def build_classifier(backbone: ElectraModel | ElectraConfig, poolings: list[str], labels: list[str],
                     main_pooling: str | None = None, max_input_length: int = MAX_LENGTH) -> ElectraPoolingClassifier:
    """A new classifier on `backbone` (a pretrained ElectraModel, kept) or on a fresh one from an ElectraConfig."""
    config = backbone.config if isinstance(backbone, ElectraModel) else backbone
    model = ElectraPoolingClassifier(classifier_config(config, poolings, labels, main_pooling, max_input_length))
    if isinstance(backbone, ElectraModel):
        model.electra = backbone
    return model
