"""layer_grid(classifier, text) -> LayerGrid: every pooling applied to every layer's hidden states.

One forward pass with output_hidden_states=True gives L+1 tensors (B=1, T, H); each available
pooling (learned ones included, with their trained weights) pools each of them. Shown: how a
pooling's vector drifts across layers (cosine to its own last-layer vector), how alike the
methods are at each layer (pairwise cosine), and, as an EXPLORATORY PROBE, the trained heads
applied to earlier layers. The heads were trained on the last layer only; on earlier layers
their output is a probe of what the head can read there, not a prediction of the model.
"""
from dataclasses import dataclass

import numpy as np
import torch

from ..checkpoint import LoadedModel
from ..data import tokenize
from .explain import check_text, sentence_states

PROBE_NOTE = ("exploratory probe: the trained heads were trained on the last layer only; "
              "applied to earlier layers they show what the head can read there, not the model's prediction")


@dataclass
class LayerGrid:
    text: str  # the sentence
    tokens: list[str]  # (T,) wordpieces
    layers: list[str]  # (L+1,) "embeddings", "layer 1", ..., "layer L"
    names: list[str]  # (P,) poolings, in model.available_poolings() order
    labels: list[str]  # (C,) class names
    norms: np.ndarray  # (L+1, P) L2 norm of each pooled vector
    drift: np.ndarray  # (L+1, P) cosine of each pooling's vector at layer l to its own last-layer vector
    similarity: np.ndarray  # (L+1, P, P) cosine between poolings at each layer
    mean_pairwise: np.ndarray  # (L+1,) mean off-diagonal cosine between poolings at each layer
    probe_probs: np.ndarray  # (L+1, P, C) head of each pooling applied at layer l (NaN: no head) - EXPLORATORY
    probe_note: str  # PROBE_NOTE: why the earlier layers' probe is not a prediction

    @property
    def num_layers(self) -> int:
        return len(self.layers) - 1  # L


def _unit(x):
    return x / x.norm(dim=-1, keepdim=True).clamp(min=1e-12)


@torch.no_grad()
def layer_grid(classifier: LoadedModel, text: str) -> LayerGrid:
    text = check_text(text)
    model, tok = classifier.model, classifier.tokenizer
    ids = torch.tensor(tokenize(tok, [text], classifier.max_length))  # (1, T)
    mask = torch.ones_like(ids)  # (1, T)
    hs = sentence_states(classifier, ids[0].tolist())  # (L+1, T, H): the explained sentence's, no new forward pass
    names = model.available_poolings()
    V = torch.stack([torch.cat([model.pool(p, h[None], mask) for p in names]) for h in hs]).float()  # (L+1, P, H)
    L1, P, _ = V.shape
    U = _unit(V)  # (L+1, P, H)
    sim = U @ U.transpose(1, 2)  # (L+1, P, P)
    off = ~torch.eye(P, dtype=torch.bool)  # (P, P)
    mean_pairwise = sim[:, off].mean(-1) if P > 1 else torch.ones(L1)  # (L+1,)
    probs = torch.full((L1, P, len(model.labels)), float("nan"))
    for j, p in enumerate(names):
        if p in model.poolings:
            probs[:, j] = model.classify(p, V[:, j]).float().softmax(-1)  # (L+1, C)
    L = L1 - 1
    return LayerGrid(
        text=text, tokens=tok.convert_ids_to_tokens(ids[0].tolist()),
        layers=["embeddings"] + [f"layer {i}" for i in range(1, L + 1)], names=names, labels=list(model.labels),
        norms=V.norm(dim=-1).numpy(), drift=(U * U[-1:]).sum(-1).numpy(), similarity=sim.numpy(),
        mean_pairwise=mean_pairwise.numpy(), probe_probs=probs.numpy(), probe_note=PROBE_NOTE,
    )
