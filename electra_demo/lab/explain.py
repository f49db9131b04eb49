"""explain(classifier, text) -> Explanation: everything the explorer shows, from ONE forward pass.

The backbone runs once with output_hidden_states=True; the shape trace, every pooled vector, every
head's prediction, the per-layer token views and the cosine matrix are all computed from those
tensors. Text is validated first (empty -> InputError, oversized -> InputError before tokenizing).
views/explain.py turns an Explanation into figures, tables and the /explain JSON.
"""
import threading
from contextvars import ContextVar
from dataclasses import dataclass

import numpy as np
import torch

from .. import pooling
from ..checkpoint import LoadedModel
from ..data import tokenize
from ..errors import InputError

MAX_CHARS = 20_000  # longer text is rejected before tokenizing (the API bypasses the textbox's limit)


@dataclass
class ShapeRow:
    name: str  # tensor, e.g. "input_ids", "hidden_states[3]", "pooled[mean]"
    shape: str  # "(1, 12, 256)", or "absent"
    dtype: str  # "int64", "float32", "str" or "-"
    note: str  # what it is / where it comes from


@dataclass
class HeadPrediction:
    label: str  # class predicted by this pooling's own trained head
    prob: float  # its probability
    probs: list[float]  # (C,) all class probabilities


@dataclass
class Explanation:
    text: str  # the input as given (plain text; never to be rendered as HTML)
    tokens: list[str]  # (T,) wordpieces after truncation: [CLS] ... [SEP]
    input_ids: list[int]  # (T,) their ids; the attention mask is all ones (one sentence, no padding)
    labels: list[str]  # (C,) class names
    main_pooling: str  # pooling whose head gives the prediction shown
    label: str  # predicted class of the main head
    probs: np.ndarray  # (C,) main head probabilities
    logits: np.ndarray  # (C,) main head logits
    shapes: list[ShapeRow]  # the shape trace, in the order the tensors are made
    hidden_states: np.ndarray  # (L+1, T, H) [0] = embedding output (after projection), [l] = output of layer l
    pooled: dict[str, np.ndarray]  # {pooling: (H,)} every available pooling, then the naive baselines
    heads: dict[str, HeadPrediction | None]  # {pooling: its head's prediction, None = no head trained}
    head_intermediate: np.ndarray  # (H,) GELU(dense(pooled[main_pooling])) inside the main head, before out_proj
    token_norms: np.ndarray  # (L+1, T) L2 norm of each token's vector at each layer
    cls_cosine: np.ndarray  # (L+1, T) cosine of each token's vector at each layer with the final [CLS] vector
    similarity: np.ndarray  # (P, P) cosine similarity between pooled vectors, in `pooled` order
    n_tokens: int  # N, the token count before truncation (== T when nothing was cut)
    max_length: int  # the classifier's maximum input length M
    truncation_note: str  # "" or "truncated from N to M tokens"

    @property
    def num_layers(self) -> int:
        return self.hidden_states.shape[0] - 1  # L


def check_text(text) -> str:
    """The text, or InputError with a message for the visitor. Length is checked before any tokenizing."""
    if not isinstance(text, str):
        raise InputError(f"expected text, got {type(text).__name__}")
    if len(text) > MAX_CHARS:
        raise InputError(f"text too long: {len(text):,} characters; the limit is {MAX_CHARS:,}. Send a shorter text.")
    if not text.strip():
        raise InputError("please type a sentence: the text is empty or only whitespace")
    return text


# Embedding shapes come from permanent forward hooks that record only while `explain` runs in this
# thread/context (the pattern transformers uses for output_hidden_states), so concurrent requests
# never see each other's tensors and nothing is registered or removed while another request runs.
_record: ContextVar[dict | None] = ContextVar("electra_demo_record", default=None)
_install_lock = threading.Lock()


def _install_probes(backbone):
    if getattr(backbone, "_electra_demo_probes", False):
        return
    with _install_lock:
        if getattr(backbone, "_electra_demo_probes", False):
            return
        for name in ("embeddings", "embeddings_project"):
            module = getattr(backbone, name, None)
            if module is not None:
                module.register_forward_hook(_probe(name))
        backbone._electra_demo_probes = True


def _probe(name):
    def hook(module, args, output):
        rec = _record.get()
        if rec is not None:
            rec[name] = output

    return hook


def _shape(t) -> str:
    return str(tuple(t.shape))


def _dtype(t) -> str:
    return str(t.dtype).replace("torch.", "")


def _cosine(a, b):
    a = a / a.norm(dim=-1, keepdim=True).clamp(min=1e-12)
    b = b / b.norm(dim=-1, keepdim=True).clamp(min=1e-12)
    return a @ b.T


@torch.no_grad()
def explain(classifier: LoadedModel, text: str) -> Explanation:
    """Everything the explorer shows for `text`, from one forward pass of `classifier` (eval mode)."""
    text = check_text(text)
    model, tok, M = classifier.model, classifier.tokenizer, classifier.max_length
    n_tokens = len(tokenize(tok, [text], 4 * len(text) + 8)[0])  # N, untruncated (bound never reached)
    ids = tokenize(tok, [text], M)[0]  # the tokenizer's own truncation keeps [CLS] ... [SEP]
    note = f"truncated from {n_tokens} to {len(ids)} tokens" if n_tokens > len(ids) else ""
    input_ids = torch.tensor([ids])  # (1, T)
    mask = torch.ones_like(input_ids)  # (1, T)
    backbone = model.electra
    _install_probes(backbone)
    rec = {}
    token = _record.set(rec)
    try:
        out = model.encode(input_ids, mask, output_hidden_states=True)  # the one forward pass
    finally:
        _record.reset(token)
    hs = torch.stack(out.hidden_states)[:, 0].float()  # (L+1, T, H)
    h = out.last_hidden_state  # (1, T, H)
    L, T, H = hs.shape[0] - 1, hs.shape[1], hs.shape[2]
    E = backbone.config.embedding_size

    pooled = {p: model.pool(p, h, mask) for p in model.available_poolings()}  # each (1, H)
    pooled.update({p: fn(h, mask) for p, fn in pooling.NAIVE_POOLERS.items()})  # (1, H); equal to the masked ones here: no padding
    head_logits = {p: model.classify(p, pooled[p]) for p in model.poolings}  # each (1, C)
    main = model.main_pooling
    head = model.head(main)
    inter = head.activation(head.dense(pooled[main]))  # (1, H); dropout is identity in eval mode
    logits = head.out_proj(inter)  # (1, C) == head_logits[main]
    probs = logits.float().softmax(-1)  # (1, C)
    labels = model.labels

    heads = {}
    for p in pooled:
        if p in head_logits:
            pr = head_logits[p].float().softmax(-1)[0]  # (C,)
            k = int(pr.argmax())
            heads[p] = HeadPrediction(labels[k], float(pr[k]), pr.tolist())
        else:
            heads[p] = None

    rows = [
        ShapeRow("tokens", f"({T},)", "str", "WordPiece tokens: [CLS] first, [SEP] last; typed '[SEP]' stays text"
                 + (f"; {note}" if note else "")),
        ShapeRow("input_ids", _shape(input_ids), _dtype(input_ids), "token ids from the tokenizer's vocabulary"),
        ShapeRow("attention_mask", _shape(mask), _dtype(mask), "1 = real token; all ones for one sentence (no padding)"),
    ]
    emb = rec.get("embeddings")
    if emb is not None:
        rows.append(ShapeRow("embeddings", _shape(emb), _dtype(emb),
                             f"backbone.embeddings: word + position + token-type embeddings, LayerNorm (E = {E})"))
    proj = rec.get("embeddings_project")
    if proj is not None:
        rows.append(ShapeRow("embeddings_project", _shape(proj), _dtype(proj),
                             f"ELECTRA projects the embeddings from E = {E} to H = {H} (a Linear) before layer 1"))
    else:
        rows.append(ShapeRow("embeddings_project", "absent", "-",
                             f"E = H = {H}: this ElectraModel has no embeddings_project (only when E != H)"))
    rows.append(ShapeRow("hidden_states", f"{L + 1} x {_shape(out.hidden_states[0])}", _dtype(out.hidden_states[0]),
                         f"L + 1 = {L + 1}: hidden_states[0] is the embedding output (input of layer 1), "
                         f"hidden_states[l] the output of layer l = 1..{L}"))
    rows.append(ShapeRow("last_hidden_state", _shape(h), _dtype(h), f"== hidden_states[{L}], the output of the last layer"))
    try:
        po = out.pooler_output
        rows.append(ShapeRow("pooler_output", _shape(po), _dtype(po), "present in this backbone's output"))
    except AttributeError:
        rows.append(ShapeRow("pooler_output", "absent", "-",
                             f"{type(out).__name__} (ElectraModel's output) has no pooler_output: out.pooler_output raises "
                             "AttributeError. ElectraModel has no pooler; make a sentence vector from h = "
                             "out.last_hidden_state with one of the pooled[...] lines below, e.g. vec = h[:, 0]  # (B, H)"))
    for p, v in pooled.items():
        rows.append(ShapeRow(f"pooled[{p}]", _shape(v), _dtype(v), pooling.get(p).forward_code))
    rows.append(ShapeRow(f"heads[{main}] intermediate", _shape(inter), _dtype(inter),
                         "GELU(dense(pooled vector)) inside ElectraClassificationHead, before out_proj"))
    rows.append(ShapeRow("logits", _shape(logits), _dtype(logits), f"heads[{main}].out_proj: one score per class"))
    rows.append(ShapeRow("probabilities", _shape(probs), _dtype(probs), "softmax(logits)"))

    P = torch.cat(list(pooled.values())).float()  # (P, H)
    cls_final = hs[-1, 0]  # (H,) final [CLS]
    return Explanation(
        text=text, tokens=tok.convert_ids_to_tokens(ids), input_ids=list(ids), labels=list(labels), main_pooling=main,
        label=labels[int(probs[0].argmax())], probs=probs[0].numpy(), logits=logits[0].float().numpy(), shapes=rows,
        hidden_states=hs.numpy(), pooled={p: v[0].float().numpy() for p, v in pooled.items()}, heads=heads,
        head_intermediate=inter[0].float().numpy(), token_norms=hs.norm(dim=-1).numpy(),  # (L+1, T)
        cls_cosine=_cosine(hs.reshape(-1, H), cls_final[None]).reshape(L + 1, T).numpy(),  # (L+1, T)
        similarity=_cosine(P, P).numpy(), n_tokens=n_tokens, max_length=M, truncation_note=note,
    )
