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
import torch
from torch import nn
from transformers import ElectraConfig, ElectraModel
from transformers.models.electra.modeling_electra import ElectraClassificationHead, ElectraPreTrainedModel

from . import pooling
from .errors import InputError

MAX_LENGTH = 128  # default tokens per input: training, prediction and the explorer (longer inputs are truncated)

# Size presets for training from scratch. "small" has ELECTRA-small's shape.
PRESETS = {
    "small": dict(embedding_size=128, hidden_size=256, num_hidden_layers=12, num_attention_heads=4, intermediate_size=1024),
    "mini": dict(embedding_size=128, hidden_size=256, num_hidden_layers=4, num_attention_heads=4, intermediate_size=1024),
    "tiny": dict(embedding_size=32, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64),
}


def preset_config(preset: str, vocab_size: int, max_position_embeddings: int = 512, **overrides) -> ElectraConfig:
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

    def available_poolings(self) -> list[str]:
        """Every masked pooling this model can compute: the parameter-free ones and its trained learned ones."""
        return list(pooling.POOLERS) + [p for p in pooling.LEARNED_POOLERS if p in self.poolers]

    def encode(self, input_ids, attention_mask, output_hidden_states: bool = False):
        return self.electra(
            input_ids=input_ids,
            attention_mask=attention_mask,
            position_ids=position_ids_from_mask(attention_mask),
            output_hidden_states=output_hidden_states,
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
