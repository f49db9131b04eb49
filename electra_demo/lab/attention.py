"""attention_view(classifier, text) -> AttentionView: every layer's and head's attention pattern for the sentence.

The model serves with SDPA attention, which returns no weights; this view runs an eager-attention copy of the
backbone (built once per model, same weights) with output_attentions=True. Shown beside the real attention:
the [CLS] row (what `cls` pooling can see: the last layer's [CLS] vector mixes the tokens with these weights)
and, when the model trained one, the learned `attention` POOLING's weights over tokens, which are a different
thing (one softmax over tokens after the last layer, not self-attention). With `n_pad` pads the sentence is
run padded (right or left): padding columns get exactly 0 attention, the mask at work.
"""
import copy
import threading
import weakref
from dataclasses import dataclass

import numpy as np
import torch

from ..checkpoint import LoadedModel
from ..data import tokenize
from ..errors import InputError
from .explain import check_text
from .padding import ATTENTION_MAX_PADS, SIDES, pad_ids

_eager: "weakref.WeakKeyDictionary[torch.nn.Module, torch.nn.Module]" = weakref.WeakKeyDictionary()
_lock = threading.Lock()


@dataclass
class AttentionView:
    text: str  # the sentence
    tokens: list[str]  # (T,) wordpieces of the (padded) row, [PAD] included
    is_pad: np.ndarray  # (T,) bool, attention_mask == 0
    attentions: np.ndarray  # (L, A, T, T) layer l, head a: row = query token, column = key token; rows sum to 1
    cls_row: np.ndarray  # (L, A, T) attentions[:, :, [CLS] position, :]: what [CLS] reads at each layer and head
    pooling_weights: np.ndarray | None  # (T,) the learned `attention` pooling's weights (None: not trained)
    side: str  # "right" or "left": where the pads are
    padding_mass: float  # total attention any real query gives to padding columns (0: masked correctly)

    @property
    def num_layers(self) -> int:
        return self.attentions.shape[0]  # L

    @property
    def num_heads(self) -> int:
        return self.attentions.shape[1]  # A


def eager_model(model) -> torch.nn.Module:
    """An eager-attention copy of the classifier (same weights), cached per model: the served model stays on SDPA, and
    the copy's own `encode` returns the attention weights."""
    with _lock:
        if model not in _eager:
            copied = copy.deepcopy(model).eval()
            copied.backbone.set_attn_implementation("eager")
            _eager[model] = copied
        return _eager[model]


@torch.no_grad()
def attention_view(classifier: LoadedModel, text: str, n_pad: int = 0, side: str = "right") -> AttentionView:
    text = check_text(text)
    if side not in SIDES:
        raise InputError(f"side must be one of {', '.join(SIDES)}, got {side!r}")
    if not 0 <= int(n_pad) <= ATTENTION_MAX_PADS:
        raise InputError(f"n_pad must be between 0 and {ATTENTION_MAX_PADS}, got {n_pad}")
    model, tok = classifier.model, classifier.tokenizer
    ids = tokenize(tok, [text], classifier.max_length)[0]
    input_ids, mask = (x[None] for x in pad_ids(ids, int(n_pad), tok, side))  # (1, T)
    eager = eager_model(model)
    out = eager.encode(input_ids, mask, output_attentions=True)  # the model's own encode, positions and all
    att = torch.stack(out.attentions)[:, 0].float()  # (L, A, T, T)
    cls_pos = int(mask[0].argmax())  # first real token
    weights = None
    if "attention" in model.poolers:
        h = out.last_hidden_state  # (1, T, H) the same weights' pass (eager attention): no second encoder call
        weights = eager.poolers["attention"].weights(h, mask)[0].float().numpy()  # (T,)
    real = mask[0].bool()
    return AttentionView(
        text=text, tokens=tok.convert_ids_to_tokens(input_ids[0].tolist()), is_pad=(~real).numpy(),
        attentions=att.numpy(), cls_row=att[:, :, cls_pos].numpy(), pooling_weights=weights, side=side,
        padding_mass=float(att[:, :, real][..., ~real].sum()),
    )
