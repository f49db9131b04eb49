"""explain(classifier, text) -> Explanation: everything the explorer shows, from ONE forward pass.

The backbone runs once with output_hidden_states=True; the shape trace, every pooled vector, every
head's prediction, the per-layer token views and the cosine matrix are all computed from those
tensors. Text is validated first (empty -> InputError, oversized -> InputError before tokenizing).
views/explain.py turns an Explanation into figures, tables and the /explain JSON.

It costs about one bare forward (scripts/bench_fast_path.py): ONE tokenizer call gives the truncated ids and the
untruncated count; the backbone runs once through `model.encode`; the model's batched `pool_all` (fixed-weight
poolings as one matrix multiply over their registry coefficients) and `classify_all` (our ELECTRA heads as two batched
multiplies; another architecture's own head as it is) do the rest; the embedding modules run once more only for the
first sentence of each length, to measure their output shapes (no hooks). The numbers are those of the
straightforward computation (model.encode, pooling.pool, each head) to float rounding: tests/test_fast_path.py.
Any architecture the classifier interface wraps (model.py, encoders.py) goes through this one function.
"""
import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import torch
from tokenizers import Tokenizer

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


def _embedding_outputs(model, input_ids) -> dict:
    """{"embeddings": (1, T, E), "embeddings_project": (1, T, H) or None}: the backbone's own embedding modules run on
    input_ids, for the shape trace (ELECTRA's embeddings_project, ALBERT's embedding_hidden_mapping_in project E -> H).
    Only when a sentence length is seen first (the rows are cached per length): no hooks on the hot path."""
    backbone = model.backbone
    emb = backbone.embeddings(input_ids=input_ids)
    emb = emb[0] if isinstance(emb, tuple) else emb
    proj = getattr(backbone, "embeddings_project", None) or getattr(getattr(backbone, "encoder", None),
                                                                    "embedding_hidden_mapping_in", None)
    return {"embeddings": emb, "embeddings_project": None if proj is None else proj(emb)}


OWN_PATH = {  # the shape-trace rows of each architecture's own head, after pooled[...]: (name, note)
    "electra": ("GELU(dense(pooled vector)) inside ElectraClassificationHead, before out_proj", "out_proj"),
    "bert": ("pooler_output of h[:, 0] (BertPooler: dense + tanh), then dropout: what the classifier reads", "classifier"),
    "albert": ("pooler_output of h[:, 0] (AlbertModel.pooler + tanh), then dropout: what the classifier reads",
               "classifier"),
    "roberta": ("tanh(dense(h[:, 0])) inside RobertaClassificationHead, before out_proj", "out_proj"),
    "distilbert": ("ReLU(pre_classifier(h[:, 0])), then dropout: what the classifier reads", "classifier"),
    "deberta-v2": ("ContextPooler(h[:, 0]): dense + activation, then dropout: what the classifier reads", "classifier"),
}


def _pooler_row(out, model, H) -> ShapeRow:
    """Does the backbone's output HAVE pooler_output? The seed question, per architecture."""
    po = getattr(out, "pooler_output", None)
    kind, name = model.architecture, type(model.backbone).__name__
    if po is not None:
        return ShapeRow("pooler_output", _shape(po), _dtype(po), f"present: {name} has a pooler (tanh(dense(h[:, 0]))), "
                        "and this checkpoint's head reads it")
    if kind == "electra":
        return ShapeRow("pooler_output", "absent", "-",
                        f"{type(out).__name__} (ElectraModel's output) has no pooler_output: out.pooler_output raises "
                        "AttributeError. ElectraModel has no pooler; make a sentence vector from h = "
                        "out.last_hidden_state with one of the pooled[...] lines below, e.g. vec = h[:, 0]  # (B, H)")
    why = "built without a pooler for classification" if kind == "roberta" else "has no pooler"
    return ShapeRow("pooler_output", "absent", "-", f"{name} {why}: its head pools h[:, 0] itself (below)")


def _shape_rows(model, out, rec, input_ids, mask, h, inter, logits, probs, names, main, note) -> list[ShapeRow]:
    """The shape trace, in the order the tensors are made, through this model's own modules."""
    L, T, H = len(out.hidden_states) - 1, h.shape[1], h.shape[2]
    kind, emb, proj = model.architecture, rec["embeddings"], rec["embeddings_project"]
    first = "<s>" if kind == "roberta" else "[CLS]"
    rows = [
        ShapeRow("tokens", f"({T},)", "str", f"tokens from the tokenizer: {first} first; typed special tokens stay text"
                 + (f"; {note}" if note else "")),
        ShapeRow("input_ids", _shape(input_ids), _dtype(input_ids), "token ids from the tokenizer's vocabulary"),
        ShapeRow("attention_mask", _shape(mask), _dtype(mask), "1 = real token; all ones for one sentence (no padding)"),
        ShapeRow("embeddings", _shape(emb), _dtype(emb), f"backbone.embeddings: word + position embeddings"
                 f"{'' if kind in ('distilbert', 'deberta-v2') else ' + token-type'}, LayerNorm (E = {emb.shape[-1]})"),
    ]
    if proj is not None:
        where = "embeddings_project" if kind == "electra" else "encoder.embedding_hidden_mapping_in"
        rows.append(ShapeRow("embeddings_project", _shape(proj), _dtype(proj),
                             f"{where} projects the embeddings from E = {emb.shape[-1]} to H = {H} (a Linear) before layer 1"))
    elif kind in ("electra", "albert"):
        rows.append(ShapeRow("embeddings_project", "absent", "-",
                             f"E = H = {H}: this {type(model.backbone).__name__} has no projection (only when E != H)"))
    rows.append(ShapeRow("hidden_states", f"{L + 1} x {_shape(out.hidden_states[0])}", _dtype(out.hidden_states[0]),
                         f"L + 1 = {L + 1}: hidden_states[0] is the embedding output (input of layer 1), "
                         f"hidden_states[l] the output of layer l = 1..{L}"))
    rows.append(ShapeRow("last_hidden_state", _shape(h), _dtype(h), f"== hidden_states[{L}], the output of the last layer"))
    rows.append(_pooler_row(out, model, H))
    pooled_shape, pooled_dtype = f"(1, {H})", _dtype(h)
    for p in names:
        rows.append(ShapeRow(f"pooled[{p}]", pooled_shape, pooled_dtype, pooling.get(p).forward_code))
    what, last = OWN_PATH[kind]
    rows.append(ShapeRow(f"heads[{main}] intermediate", _shape(inter), _dtype(inter), what))
    rows.append(ShapeRow("logits", _shape(logits), _dtype(logits), f"heads[{main}].{last}: one score per class"))
    rows.append(ShapeRow("probabilities", _shape(probs), _dtype(probs), "softmax(logits)"))
    return rows


ENCODER_CALLS = [0]  # backbone forward passes explain() and sentence_states() made (tests count them per click)
STATES_KEPT = 32  # hidden states kept for the tabs (each at most ~2.3 MB: (L+1, T, H) floats at 128 tokens, H = 384)
_states: OrderedDict = OrderedDict()  # (weakref to the model, ids) -> (L+1, T, H): the sentence's hidden states
_states_lock = threading.Lock()


def _keep_states(model, ids: list[int], hs):
    with _states_lock:
        _states[(weakref.ref(model), tuple(ids))] = hs
        while len(_states) > STATES_KEPT:
            _states.popitem(last=False)


@torch.inference_mode()
def sentence_states(classifier: LoadedModel, ids: list[int]) -> torch.Tensor:
    """(L+1, T, H) float: the hidden states of ONE unpadded sentence (its token ids), every layer. The explained
    sentence's come from explain()'s forward pass (kept for the tabs: the layer grid, attribution's unpadded check,
    similarity and mismatch reuse it instead of running the encoder again); others are computed here, once."""
    model = classifier.model
    with _states_lock:
        hs = _states.get((weakref.ref(model), tuple(ids)))
    if hs is None:
        ENCODER_CALLS[0] += 1
        out = model.encode(torch.tensor([ids]), None, output_hidden_states=True)
        hs = torch.stack(out.hidden_states)[:, 0].float()  # (L+1, T, H)
        _keep_states(model, ids, hs)
    return hs


@torch.inference_mode()
def explain(classifier: LoadedModel, text: str) -> Explanation:
    """Everything the explorer shows for `text`, from one forward pass of `classifier` (eval mode), through the
    model's own modules: its backbone, then `model.pool_all` (every pooling at once) and `model.classify_all` (every
    trained head at once), the batched forms the model keeps beside `pool` and `classify` (tests/test_fast_path.py
    pins them equal to the one-at-a-time computation and to training's forward).
    """
    text = check_text(text)
    model, tok, M = classifier.model, classifier.tokenizer, classifier.max_length
    ids, n_tokens = token_ids(tok, text, M)  # ids (T,) truncated to M; N untruncated
    note = f"truncated from {n_tokens} to {len(ids)} tokens" if n_tokens > len(ids) else ""
    input_ids = torch.tensor([ids])  # (1, T)
    mask = torch.ones_like(input_ids)  # (1, T)
    names = model.available_poolings() + list(pooling.NAIVE_POOLERS)  # the pooled dict's order
    heads_, main, labels = model.poolings, model.main_pooling, model.labels
    k_main = heads_.index(main)
    tokens = tok.convert_ids_to_tokens(ids)
    # the one forward pass. One unpadded sentence: no mask (an all-ones mask masks nothing) and the default positions
    # 0..T-1, exactly what model.encode(input_ids, mask) computes, without building the attention mask.
    ENCODER_CALLS[0] += 1
    out = model.encode(input_ids, None, output_hidden_states=True)
    hs = torch.stack(out.hidden_states)[:, 0].float()  # (L+1, T, H)
    _keep_states(model, ids, hs)  # read-only from here: the numpy views below and the tabs share it
    h = out.last_hidden_state  # (1, T, H)
    T = hs.shape[1]

    P = model.pool_all(h[0], mask)  # (P, H): every available pooling, then the naive baselines
    head_logits, inters = model.classify_all(P, names)  # (P_heads, C), (P_heads, F) in model.poolings order
    inter = inters[k_main][None]  # (1, F) what the main head's last layer reads
    logits = head_logits[k_main][None]  # (1, C)
    head_probs = head_logits.float().softmax(-1)  # (P_heads, C)
    probs = head_probs[k_main][None]  # (1, C)
    P = P.float()
    best, rows_probs = head_probs.argmax(-1).tolist(), head_probs.tolist()
    heads = dict.fromkeys(names)  # None = no head trained
    for i, p in enumerate(heads_):
        heads[p] = HeadPrediction(labels[best[i]], rows_probs[i][best[i]], rows_probs[i])

    cache = model.__dict__.setdefault("_electra_demo_rows", {})  # shape-trace rows by what their text depends on
    key = (T, note, _dtype(h), tuple(names), main)
    rows = cache.get(key)
    if rows is None:  # first sentence of this length: the embedding tensors measured
        rec = _embedding_outputs(model, input_ids)
        rows = [tuple(vars(r).values()) for r in _shape_rows(model, out, rec, input_ids, mask, h, inter, logits, probs,
                                                            names, main, note)]
        if not note and len(cache) < 1024:  # a truncation note names N: not worth keeping
            cache[key] = rows

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
