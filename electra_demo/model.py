"""The plain nn.Module classifier: an ElectraModel backbone + one classification head per pooling.

Every head is transformers' own `ElectraClassificationHead` (dropout, dense, GELU, dropout, out_proj).
It slices `[:, 0, :]` itself, so `head(vec[:, None, :])` applies it to any pooled vector; with
`cls` pooling this is exactly `ElectraForSequenceClassification`.
"""
import copy

import torch
from torch import nn
from transformers import ElectraConfig, ElectraModel
from transformers.models.electra.modeling_electra import ElectraClassificationHead

from .pooling import LEARNED_POOLERS, POOLERS, check_pooling

# Size presets for training from scratch. "small" has ELECTRA-small's shape.
PRESETS = {
    "small": dict(embedding_size=128, hidden_size=256, num_hidden_layers=12, num_attention_heads=4, intermediate_size=1024),
    "mini": dict(embedding_size=128, hidden_size=256, num_hidden_layers=4, num_attention_heads=4, intermediate_size=1024),
    "tiny": dict(embedding_size=32, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64),
}


def preset_config(preset: str, vocab_size: int, max_position_embeddings: int = 512, **overrides) -> ElectraConfig:
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; valid presets: {', '.join(PRESETS)}")
    return ElectraConfig(vocab_size=vocab_size, max_position_embeddings=max_position_embeddings, **{**PRESETS[preset], **overrides})


def position_ids_from_mask(attention_mask):
    """Positions counted over real tokens only, so left padding does not shift them."""
    return (attention_mask.long().cumsum(1) - 1).clamp(min=0)  # (B, T)


class ElectraClassifier(nn.Module):
    def __init__(self, backbone: ElectraModel, poolings: list[str], labels: list[str], default_pooling: str | None = None):
        super().__init__()
        self.backbone = backbone
        self.poolings = [check_pooling(p) for p in poolings]
        self.labels = list(labels)
        self.default_pooling = default_pooling or ("cls" if "cls" in self.poolings else self.poolings[0])
        if self.default_pooling not in self.poolings:
            raise ValueError(f"default pooling {self.default_pooling!r} has no head; trained heads: {', '.join(self.poolings)}")
        cfg = backbone.config
        cfg.num_labels = len(self.labels)
        cfg.id2label = dict(enumerate(self.labels))
        cfg.label2id = {name: i for i, name in enumerate(self.labels)}
        head_cfg = copy.deepcopy(cfg)
        H = cfg.hidden_size
        self.poolers = nn.ModuleDict({p: LEARNED_POOLERS[p](H) for p in self.poolings if p in LEARNED_POOLERS})
        self.heads = nn.ModuleDict({p: ElectraClassificationHead(head_cfg) for p in self.poolings})
        for module in list(self.poolers.values()) + list(self.heads.values()):
            module.apply(backbone._init_weights)

    @property
    def config(self) -> ElectraConfig:
        return self.backbone.config

    def encode(self, input_ids, attention_mask, output_hidden_states: bool = False):
        return self.backbone(
            input_ids=input_ids,
            attention_mask=attention_mask,
            position_ids=position_ids_from_mask(attention_mask),
            output_hidden_states=output_hidden_states,
        )  # last_hidden_state (B, T, H); hidden_states: L+1 x (B, T, H)

    def pool(self, name: str, hidden, attention_mask):
        if name in self.poolers:
            return self.poolers[name](hidden, attention_mask)  # (B, H)
        if name in POOLERS:
            return POOLERS[name](hidden, attention_mask)  # (B, H)
        raise ValueError(f"pooling {name!r} is not available in this model; available: {', '.join(self.available_poolings())}")

    def available_poolings(self) -> list[str]:
        return list(POOLERS) + list(self.poolers)

    def classify(self, name: str, vec):
        return self.heads[name](vec[:, None, :])  # (B, H) -> (B, C)

    def forward(self, input_ids, attention_mask) -> dict[str, torch.Tensor]:
        """Logits of every trained head: {pooling: (B, C)}."""
        h = self.encode(input_ids, attention_mask).last_hidden_state  # (B, T, H)
        return {p: self.classify(p, self.pool(p, h, attention_mask)) for p in self.poolings}
