"""explain(classifier, text) -> Explanation: everything the explorer shows, from ONE forward pass.

The backbone runs once with output_hidden_states=True; the shape trace, every pooled vector, every
head's prediction, the per-layer token views and the cosine matrix are all computed from those
tensors. Text is validated first (empty -> InputError, oversized -> InputError before tokenizing).
views/explain.py turns an Explanation into figures, tables and the /explain JSON.

It costs about one bare forward (scripts/bench_fast_path.py): ONE tokenizer call gives the truncated ids and the
untruncated count; the backbone runs without a mask (one unpadded sentence: nothing to mask); the fixed-weight
poolings are one matrix multiply over their registry coefficients; every head runs as two batched multiplies over
weights stacked once per model (`_Plan`, stacked again when a weight changes); the embedding modules run once more
only for the first sentence of each length, to measure their output shapes (no hooks). The numbers are those of the
straightforward computation (model.encode, pooling.pool, each head) to float rounding: tests/test_fast_path.py.
"""
import functools
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from tokenizers import Tokenizer

from .. import pooling
from ..checkpoint import LoadedModel
from ..data import tokenize
from ..errors import InputError
from ..torch_adapter import tensor_version

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


def _shape(t) -> str:
    return str(tuple(t.shape))


def _dtype(t) -> str:
    return str(t.dtype).replace("torch.", "")


def _backend(tokenizer):
    """A copy of a fast tokenizer's Rust backend set up as `tokenizer(text, split_special_tokens=True)` runs it (typed
    special tokens stay text; no truncation, no padding), made once per tokenizer (again when tokens are added);
    None for a tokenizer without a backend."""
    source = getattr(tokenizer, "backend_tokenizer", None)
    if source is None:
        return None
    size, backend = tokenizer.__dict__.get("_electra_demo_backend", (None, None))
    if size != len(tokenizer):
        backend = Tokenizer.from_str(source.to_str())
        backend.no_truncation()
        backend.no_padding()
        backend.encode_special_tokens = True
        tokenizer.__dict__["_electra_demo_backend"] = (len(tokenizer), backend)  # published whole
    return backend


def token_ids(tokenizer, text: str, max_length: int) -> tuple[list[int], int]:
    """(ids, N) from ONE tokenizer call: the ids exactly as `data.tokenize(tokenizer, [text], max_length)[0]` gives
    them (the tokenizer's own [CLS] ... [SEP] kept), and N, the untruncated count.

    The text is tokenized without a reachable bound; when it is too long, the content tokens are cut the way the
    tokenizer's truncation cuts them (its truncation_side) and the special tokens the tokenizer added are kept.
    """
    backend = _backend(tokenizer)
    if backend is not None:  # the Rust call `tokenizer(...)` makes, without its per-call set-up (40 -> 27 us)
        enc = backend.encode(text)
        ids, special = enc.ids, enc.special_tokens_mask
    else:
        enc = tokenizer(text, truncation=True, max_length=4 * max(len(text), MAX_CHARS) + 8,  # N: never reached
                        split_special_tokens=True, return_special_tokens_mask=True)
        ids, special = enc["input_ids"], enc["special_tokens_mask"]
    n = len(ids)
    room = max_length - sum(special)  # content tokens that fit beside the special ones
    if n <= max_length or room < 0:
        return (ids, n) if n <= max_length else (tokenize(tokenizer, [text], max_length)[0], n)
    content = [i for i, s in enumerate(special) if not s]
    drop = set(content[room:] if tokenizer.truncation_side == "right" else content[: len(content) - room])
    return [t for i, t in enumerate(ids) if i not in drop], n


# ---- the fast path: poolings and heads as a few batched operations, valid for ONE unpadded sentence ----

@functools.lru_cache(maxsize=128)
def _coefficients(names: tuple[str, ...], T: int, dtype) -> torch.Tensor:
    """A (K, T): the token weights of each pooling in `names` (fixed weightings: parameter-free or naive) over T real
    tokens, from its own registry record (pooling.Pooling.coefficients), so that vec = A @ h. Cached per length."""
    h, m = torch.zeros(1, T, 1, dtype=dtype), torch.ones(1, T, dtype=torch.long)
    with torch.inference_mode(False), torch.no_grad():  # a plain tensor, usable in any later mode
        return torch.cat([pooling.get(p).coefficients(h, m, None) for p in names])  # (K, T)


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


class _Plan:
    """What explain needs from one model, worked out once and cached on it: the pooled names in order, how each is
    computed, and every trained head's weights stacked for batched multiplies."""

    def __init__(self, model):
        self.heads = model.poolings  # trained heads, in model.poolings order
        self.main, self.labels = model.main_pooling, model.labels
        self.names = model.available_poolings() + list(pooling.NAIVE_POOLERS)  # the pooled dict's order
        recs = [pooling.get(p) for p in self.names]
        self.linear = tuple(r.name for r in recs if r.kind != "learned" and r.coefficients is not None)
        self.maxes = [r.name for r in recs if r.fn in (pooling.max_pool, pooling.naive_max_pool)]
        self.learned = [(r.name, model.poolers[r.name]) for r in recs if r.kind == "learned"]
        done = set(self.linear) | set(self.maxes) | {p for p, _ in self.learned}
        self.others = [p for p in self.names if p not in done]  # a parameter-free pooling of another form: pooling.pool
        order = list(self.linear) + self.maxes + [p for p, _ in self.learned] + self.others  # the order they are computed in
        self.index = torch.tensor([order.index(p) for p in self.names])  # computed order -> names order
        self.head_index = torch.tensor([self.names.index(p) for p in self.heads])  # names order -> heads order
        self.k_main = self.heads.index(self.main)
        modules = [model.head(p) for p in self.heads]
        self.activation = modules[0].activation  # get_activation("gelu") in every ElectraClassificationHead
        self.params = [t for m in modules for layer in (m.dense, m.out_proj) for t in (layer.weight, layer.bias)]
        self.key = None
        self.rows = {}  # shape-trace rows by (T, ...): the same text for every sentence of T tokens

    def stacked(self):
        """(W1^T (P, H, H), b1 (P, 1, H), W2^T (P, H, C), b2 (P, 1, C)) of every trained head, stacked again when a head
        weight changed in place (an optimizer step, load_state_dict) or was replaced (`.data = ...`)."""
        key = [(t.data_ptr(), tensor_version(t)) for t in self.params]
        if key != self.key:
            with torch.inference_mode(False), torch.no_grad():  # plain tensors, usable in any later mode
                w1, b1, w2, b2 = (torch.stack(self.params[k::4]) for k in range(4))
            self.weights, self.key = (w1.transpose(1, 2), b1[:, None], w2.transpose(1, 2), b2[:, None]), key
        return self.weights


def _submodules(model) -> tuple:
    """The modules a _Plan reads (heads and learned poolers); a tuple compares them by identity."""
    return (getattr(model, "classifier", None), *model.heads.values(), *model.poolers.values())


def _plan(model) -> _Plan:
    """The model's cached _Plan; built again when its heads or poolers were swapped for other modules."""
    plan = model.__dict__.get("_electra_demo_plan")
    seen = _submodules(model)
    if plan is None or plan.seen != seen:
        plan = _Plan(model)
        plan.seen = seen
        model.__dict__["_electra_demo_plan"] = plan  # published whole: a concurrent request sees the old plan or this one
    return plan


def pool_all(plan: _Plan, h, mask):
    """(P, H): every available masked pooling, then the naive ones (plan.names order) of ONE unpadded sentence h (T, H).
    Fixed weightings are one matrix multiply, the max poolings one max, the learned ones their modules' layers."""
    parts = [_coefficients(plan.linear, h.shape[0], h.dtype) @ h]  # (K, H)
    if plan.maxes:
        parts += [h.max(0).values[None]] * len(plan.maxes)  # (1, H) each: the masked max when nothing is padded
    parts += [_learned(module, h, mask)[None] for _, module in plan.learned]  # (1, H) each
    parts += [pooling.pool(p, h[None], mask) for p in plan.others]  # (1, H) each
    return torch.cat(parts)[plan.index]  # (P, H)


def run_heads(plan: _Plan, P, weights=None) -> tuple[torch.Tensor, torch.Tensor]:
    """((P_heads, C) logits, (P_heads, H) GELU(dense(vec))) of every trained head, in plan.heads (model.poolings)
    order, from P (P, H) in plan.names order: ElectraClassificationHead in eval mode (dropout is identity) for all
    heads at once, two batched multiplies. `weights`: plan.stacked(), when the caller already has it."""
    w1t, b1, w2t, b2 = weights or plan.stacked()
    x = P[plan.head_index][:, None]  # (P_heads, 1, H)
    inter = plan.activation(torch.baddbmm(b1, x, w1t))  # (P_heads, 1, H)
    return torch.baddbmm(b2, inter, w2t)[:, 0], inter[:, 0]  # (P_heads, C), (P_heads, H)


def _embedding_outputs(backbone, input_ids) -> dict:
    """{"embeddings": (1, T, E), "embeddings_project": (1, T, H) when E != H}: the backbone's own embedding modules run
    on input_ids, for the shape trace. Only when a sentence length is seen first (the rows are cached per length), so
    the hot path carries no forward hooks."""
    emb = backbone.embeddings(input_ids=input_ids)
    proj = getattr(backbone, "embeddings_project", None)
    return {"embeddings": emb, "embeddings_project": None if proj is None else proj(emb)}


def _shape_rows(out, rec, input_ids, mask, h, inter, logits, probs, names, main, E, note) -> list[ShapeRow]:
    """The shape trace, in the order the tensors are made."""
    L, T, H = len(out.hidden_states) - 1, h.shape[1], h.shape[2]
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
    pooled_shape, pooled_dtype = f"(1, {H})", _dtype(h)
    for p in names:
        rows.append(ShapeRow(f"pooled[{p}]", pooled_shape, pooled_dtype, pooling.get(p).forward_code))
    rows.append(ShapeRow(f"heads[{main}] intermediate", _shape(inter), _dtype(inter),
                         "GELU(dense(pooled vector)) inside ElectraClassificationHead, before out_proj"))
    rows.append(ShapeRow("logits", _shape(logits), _dtype(logits), f"heads[{main}].out_proj: one score per class"))
    rows.append(ShapeRow("probabilities", _shape(probs), _dtype(probs), "softmax(logits)"))
    return rows


@torch.inference_mode()
def explain(classifier: LoadedModel, text: str) -> Explanation:
    """Everything the explorer shows for `text`, from one forward pass of `classifier` (eval mode).

    The fast path (tokenize once, poolings and heads batched) gives the numbers of the straightforward computation
    (model.encode, model.pool and model.classify per pooling) to float rounding; tests/test_fast_path.py pins it.
    """
    text = check_text(text)
    model, tok, M = classifier.model, classifier.tokenizer, classifier.max_length
    ids, n_tokens = token_ids(tok, text, M)  # ids (T,) truncated to M; N untruncated
    note = f"truncated from {n_tokens} to {len(ids)} tokens" if n_tokens > len(ids) else ""
    input_ids = torch.tensor([ids])  # (1, T)
    mask = torch.ones_like(input_ids)  # (1, T)
    backbone = model.electra
    # what does not depend on the forward pass is done before it, while the caches still hold Python's and torch's
    # working set (right after a forward pass every small operation costs several times more)
    plan = _plan(model)
    weights = plan.stacked()
    tokens = tok.convert_ids_to_tokens(ids)
    # the one forward pass. One unpadded sentence: no attention mask and the default positions 0..T-1 are exactly
    # what model.encode(input_ids, mask) computes (positions from an all-ones mask, a mask that masks nothing).
    out = backbone(input_ids=input_ids, output_hidden_states=True)
    hs = torch.stack(out.hidden_states)[:, 0].float()  # (L+1, T, H)
    h = out.last_hidden_state  # (1, T, H)
    T = hs.shape[1]

    P = pool_all(plan, h[0], mask)  # (P, H): every available pooling, then the naive baselines
    head_logits, inters = run_heads(plan, P, weights)  # (P_heads, C), (P_heads, H) in plan.heads order
    main, labels, names, k_main = plan.main, plan.labels, plan.names, plan.k_main
    inter = inters[k_main][None]  # (1, H) GELU(dense(pooled[main])) in the main head
    logits = head_logits[k_main][None]  # (1, C)
    head_probs = head_logits.float().softmax(-1)  # (P_heads, C)
    probs = head_probs[k_main][None]  # (1, C)
    P = P.float()
    best, rows_probs = head_probs.argmax(-1).tolist(), head_probs.tolist()
    heads = dict.fromkeys(names)  # None = no head trained
    for i, p in enumerate(plan.heads):
        heads[p] = HeadPrediction(labels[best[i]], rows_probs[i][best[i]], rows_probs[i])

    key = (T, note, _dtype(h))  # what the rows' text depends on, for this model
    rows = plan.rows.get(key)
    if rows is None:  # first sentence of this length: the embedding tensors measured (no hooks on the hot path)
        rec = _embedding_outputs(backbone, input_ids)
        rows = [tuple(vars(r).values()) for r in _shape_rows(out, rec, input_ids, mask, h, inter, logits, probs, names, main,
                                                            backbone.config.embedding_size, note)]
        if not note:  # a truncation note names N: not worth keeping
            plan.rows[key] = rows

    hs, Pn = hs.numpy(), P.numpy()  # (L+1, T, H), (P, H): numpy from here (small arrays: less per-call overhead)
    norms = np.sqrt(np.square(hs).sum(-1))  # (L+1, T) L2 norm of each token's vector at each layer (np.linalg.norm's sum)
    nc, pc = np.maximum(norms, 1e-12), np.maximum(np.sqrt(np.square(Pn).sum(-1)), 1e-12)  # cosine denominators
    return Explanation(
        text=text, tokens=tokens, input_ids=list(ids), labels=list(labels), main_pooling=main,
        label=labels[best[k_main]], probs=probs[0].numpy(), logits=logits[0].float().numpy(), shapes=[ShapeRow(*r) for r in rows],
        hidden_states=hs, pooled={p: Pn[i] for i, p in enumerate(names)}, heads=heads,
        head_intermediate=inter[0].float().numpy(), token_norms=norms,
        cls_cosine=(hs @ hs[-1, 0]) / (nc * nc[-1, 0]),  # (L+1, T) cosine with the final [CLS]
        similarity=(Pn @ Pn.T) / (pc[:, None] * pc),  # (P, P)
        n_tokens=n_tokens, max_length=M, truncation_note=note,
    )
