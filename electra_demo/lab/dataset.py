"""dataset_view(classifier, path) -> DatasetView: every pooling over a small labelled file.

The file (TSV/CSV, at most MAX_ROWS rows and MAX_BYTES bytes) is read with data.read_labelled
against the classifier's own label set, tokenized and run in length-sorted batches (the same
padding-safe poolings as training; one forward pass per batch gives every pooling and head).
Per pooling:
* a 2-D PCA of the pooled vectors (top-2 eigenvectors of the centred (H, H) scatter matrix);
* a linear probe on the frozen vectors: closed-form ridge regression on one-hot targets
  (features standardised on the training part, lambda = RIDGE), trained on a fixed random 75%
  ("train") and scored on the other 25% ("held-out"), split seed SPLIT_SEED;
* the trained head's accuracy on the held-out rows and on all rows, its confusion matrix over
  all N rows and the rows it gets wrong. A pooling without a trained head uses the probe's
  held-out predictions instead (source says which).
"""
import os
import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import torch

from ..checkpoint import LoadedModel
from ..data import pad_batch, read_labelled, tokenize
from ..errors import DataError, InputError
from ..model import MAX_LENGTH
from .explain import sentence_states

MAX_ROWS = 2000  # rows of a labelled file, and sentences in a similarity / mismatch set
MIN_SENTENCES, MAX_SENTENCES = 8, MAX_ROWS  # a set the similarity and mismatch lessons read
MAX_BYTES = 2_000_000
MAX_TOKENS = 65_536  # tokens in one run over a set (its cost is tokens x layers): 2,000 sentences of 32, 512 of 128
MIN_ROWS = 8
RIDGE = 1.0
SPLIT_SEED = 0
TEST_FRACTION = 0.25


@dataclass
class MethodResult:
    name: str  # pooling
    coords: np.ndarray  # (N, 2) PCA projection of the pooled vectors
    explained: np.ndarray  # (2,) fraction of variance on each PCA axis
    probe_train_acc: float  # ridge probe accuracy on the training rows
    probe_test_acc: float  # ridge probe accuracy on the held-out rows
    head_test_acc: float | None  # trained head accuracy on the held-out rows (None: no head)
    head_acc: float | None  # trained head accuracy on all N rows (None: no head)
    source: str  # "head" (pred over all rows) or "probe" (pred on held-out rows only; -1 elsewhere)
    pred: np.ndarray  # (N,) predicted class index by `source`; -1 where not predicted
    confidence: np.ndarray  # (N,) probability of that prediction (head softmax; probe: NaN)
    confusion: np.ndarray  # (C, C) rows = gold, columns = predicted, over the predicted rows


@dataclass
class DatasetView:
    name: str  # file name (no directories)
    texts: list[str]  # (N,) sentences
    gold: np.ndarray  # (N,) gold class index
    labels: list[str]  # (C,) class names (the classifier's)
    is_test: np.ndarray  # (N,) bool, the held-out rows of the probe split
    methods: dict[str, MethodResult]  # {pooling: result}, model.available_poolings() order
    main_pooling: str  # the classifier's default pooling

    @property
    def n(self) -> int:
        return len(self.texts)


def check_file(path: str, name: str | None = None) -> str:
    """`path`, or DataError when it is not a small .tsv/.csv. `name`: what the user calls the file."""
    name = name or os.path.basename(path or "")
    if not path or not os.path.exists(path):
        raise DataError(f"data file {name!r} not found", ui="upload a .tsv or .csv file")
    if os.path.splitext(path)[1].lower() not in (".tsv", ".csv"):
        raise DataError(f"{name}: expected a .tsv or .csv file with a header line (e.g. sentence<TAB>label)")
    size = os.path.getsize(path)
    if size > MAX_BYTES:
        raise DataError(f"{name} is {size / 1e6:.1f} MB; the limit is {MAX_BYTES / 1e6:.0f} MB "
                        f"(at most {MAX_ROWS:,} rows): upload a smaller sample")
    return path


def check_gold(gold, n: int, labels: list[str]) -> list[int] | None:
    """`gold` as class indices: None, or n labels, each a class index (0 .. C-1) or a class name of `labels`;
    InputError naming the first bad one otherwise (a label out of range must never become an accuracy)."""
    if gold is None:
        return None
    want = f"{n} labels, one per sentence, each 0 .. {len(labels) - 1} or a name ({', '.join(labels)})"
    if not isinstance(gold, (list, tuple)) or len(gold) != n:
        got = f"{len(gold)} labels" if isinstance(gold, (list, tuple)) else type(gold).__name__
        raise InputError(f"labels: expected {want}; got {got}")
    out = []
    for i, y in enumerate(gold):
        if isinstance(y, str) and y in labels:
            y = labels.index(y)
        if isinstance(y, bool) or not isinstance(y, int) or not 0 <= y < len(labels):
            raise InputError(f"label {i + 1} is {str(y)[:40]!r}: expected {want}")
        out.append(y)
    return out


@torch.no_grad()
def pooled_dataset(model, tokenizer, texts, max_length=MAX_LENGTH, batch_size=64, progress=None,
                   max_tokens: int = MAX_TOKENS):
    """({pooling: (N, H)} vectors, {head: (N, C)} probabilities), batches sorted by length.

    The cost is bounded before any forward pass: InputError past `max_tokens` tokens in all. `progress(fraction,
    text)` is called after every batch; whatever it raises stops the run there (the server cancels abandoned work
    so)."""
    model.eval()
    ids = tokenize(tokenizer, texts, max_length)
    tokens = sum(map(len, ids))
    if tokens > max_tokens:
        raise InputError(f"{len(ids):,} sentences of {tokens:,} tokens in all; the limit is {max_tokens:,} tokens per "
                         f"run (e.g. {max_tokens // 128:,} sentences of 128 tokens): send fewer or shorter sentences")
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    names = model.available_poolings()
    vecs = {p: torch.empty(len(ids), model.config.hidden_size) for p in names}
    probs = {p: torch.empty(len(ids), len(model.labels)) for p in model.poolings}
    for s in range(0, len(order), batch_size):
        idx = order[s : s + batch_size]
        input_ids, mask = pad_batch([ids[i] for i in idx], tokenizer.pad_token_id)  # (B, T)
        h = model.encode(input_ids, mask).last_hidden_state  # (B, T, H)
        for p in names:
            v = model.pool(p, h, mask)  # (B, H)
            vecs[p][idx] = v.float()
            if p in probs:
                probs[p][idx] = model.classify(p, v).float().softmax(-1)  # (B, C)
        if progress:
            progress(min(1.0, (s + len(idx)) / len(order)), f"{s + len(idx)} / {len(order)} sentences")
    return vecs, probs


SETS_KEPT, SET_CACHE_MAX = 4, 500  # pooled sets kept per process, and the largest set kept (the bundled ones)
_sets: OrderedDict = OrderedDict()  # (weakref to the model, sentences) -> {pooling: (N, H)}
_sets_lock = threading.Lock()


def set_vectors(classifier: LoadedModel, sentences: list[str], progress=None) -> dict[str, torch.Tensor]:
    """{pooling: (N, H)} of a sentence set, pooled once per model: a tab that compares each explained sentence with the
    same bundled set (similarity, mismatch) encodes the set on the first click only. Sets over SET_CACHE_MAX
    sentences (typed or uploaded) are pooled each time and not kept."""
    key = (weakref.ref(classifier.model), tuple(sentences))
    with _sets_lock:
        if key in _sets:
            _sets.move_to_end(key)
            return _sets[key]
    vecs, _ = pooled_dataset(classifier.model, classifier.tokenizer, sentences, classifier.max_length, progress=progress)
    if len(sentences) <= SET_CACHE_MAX:
        with _sets_lock:
            _sets[key] = vecs
            while len(_sets) > SETS_KEPT:
                _sets.popitem(last=False)
    return vecs


def with_sentence(classifier: LoadedModel, text: str, sentences: list[str], progress=None) -> dict[str, torch.Tensor]:
    """{pooling: (1 + N, H)}: the explained sentence first (from its own hidden states: no new forward pass after
    explain), then the set's vectors."""
    model = classifier.model
    ids = tokenize(classifier.tokenizer, [text], classifier.max_length)[0]
    h = sentence_states(classifier, ids)[-1][None]  # (1, T, H) last layer
    mask = torch.ones(h.shape[:2], dtype=torch.long)  # (1, T)
    rest = set_vectors(classifier, sentences, progress) if sentences else None
    with torch.no_grad():
        own = {p: model.pool(p, h, mask).float() for p in model.available_poolings()}  # (1, H) each
    return own if rest is None else {p: torch.cat([v, rest[p]]) for p, v in own.items()}


def pca_2d(x, iters: int = 500, tol: float = 1e-10):
    """((N, 2) coordinates, (2,) explained variance fractions) of x (N, H); signs fixed so the result is deterministic.

    The top-2 eigenvectors of the (H, H) scatter matrix by subspace iteration plus a 2x2 Rayleigh-Ritz step:
    the same axes as an SVD of the centred data, using only matrix products. (A full LAPACK eigh / svd
    stalls for seconds when its threads compete with another job for a small machine's cores.)
    """
    xc = np.asarray(x, dtype=np.float64)
    xc = xc - xc.mean(0)  # (N, H)
    S = xc.T @ xc  # (H, H)
    total = max(float(np.trace(S)), 1e-12)
    Q = np.random.default_rng(0).normal(size=(S.shape[0], 2))  # (H, 2)
    for _ in range(iters):
        Z = S @ Q / total  # (H, 2)
        q1 = Z[:, 0] / max(np.linalg.norm(Z[:, 0]), 1e-300)
        z2 = Z[:, 1] - (q1 @ Z[:, 1]) * q1
        new = np.stack([q1, z2 / max(np.linalg.norm(z2), 1e-300)], 1)  # (H, 2) orthonormal
        done = np.abs(np.abs(new.T @ Q) - np.eye(2)).max() < tol
        Q = new
        if done:
            break
    evals, R = np.linalg.eigh(Q.T @ S @ Q)  # (2,), (2, 2): best axes inside the subspace
    top = (Q @ R)[:, ::-1]  # (H, 2) largest first
    top = top * np.sign(top[np.abs(top).argmax(0), [0, 1]])  # largest loading of each axis positive
    explained = evals[::-1].clip(min=0) / total  # (2,)
    return (xc @ top).astype(np.float32), explained.astype(np.float32)


def ridge_probe(x_train, y_train, x_test, num_classes: int, ridge: float = RIDGE):
    """(train predictions, test predictions): closed-form ridge on one-hot targets, standardised features."""
    x_train, x_test = np.asarray(x_train, dtype=np.float64), np.asarray(x_test, dtype=np.float64)
    mu, sd = x_train.mean(0), x_train.std(0).clip(min=1e-6)  # (H,)
    a, b = (x_train - mu) / sd, (x_test - mu) / sd  # (n, H), (m, H)
    y = np.eye(num_classes)[np.asarray(y_train)]  # (n, C) one-hot
    y_mean = y.mean(0)
    W = np.linalg.solve(a.T @ a + ridge * np.eye(a.shape[1]), a.T @ (y - y_mean))  # (H, C)
    return (a @ W + y_mean).argmax(-1), (b @ W + y_mean).argmax(-1)


def split(n: int, seed: int = SPLIT_SEED, test_fraction: float = TEST_FRACTION) -> np.ndarray:
    """(N,) bool is_test: a fixed random test_fraction of the rows (at least one, never all)."""
    perm = np.random.default_rng(seed).permutation(n)
    is_test = np.zeros(n, dtype=bool)
    is_test[perm[: min(n - 1, max(1, round(n * test_fraction)))]] = True
    return is_test


def confusion(gold, pred, num_classes: int) -> np.ndarray:
    """(C, C) counts, rows = gold, columns = predicted; rows with pred == -1 are left out."""
    keep = pred >= 0
    return np.bincount(gold[keep] * num_classes + pred[keep], minlength=num_classes ** 2).reshape(num_classes, num_classes)


def _acc(pred, gold) -> float:
    return float((pred == gold).mean()) if len(gold) else float("nan")


def dataset_view(classifier: LoadedModel, path: str, text_column: str = "sentence", label_column: str = "label",
                 progress=None, batch_size: int = 64, name: str | None = None) -> DatasetView:
    """Everything the dataset tab shows; DataError (user-facing message) for a bad or oversized file.

    `name` is how messages and the view call the file (the name the user uploaded; default: the file's own name).
    """
    name = name or os.path.basename(path or "")
    check_file(path, name)
    model, C = classifier.model, len(classifier.labels)
    texts, gold, _ = read_labelled(path, text_column, label_column, classifier.labels, name=name)
    if len(texts) > MAX_ROWS:
        raise DataError(f"{name} has {len(texts):,} rows; the limit is {MAX_ROWS:,}: upload a smaller sample")
    if len(texts) < MIN_ROWS:
        raise DataError(f"{name} has {len(texts)} rows; the dataset view needs at least {MIN_ROWS}")
    vecs, probs = pooled_dataset(model, classifier.tokenizer, texts, classifier.max_length, batch_size, progress)
    g = np.asarray(gold)  # (N,)
    is_test = split(len(texts))  # (N,)
    methods = {}
    for p, v in vecs.items():
        v = v.numpy()  # (N, H)
        coords, explained = pca_2d(v)
        tr_pred, te_pred = ridge_probe(v[~is_test], g[~is_test], v[is_test], C)
        probe_train, probe_test = _acc(tr_pred, g[~is_test]), _acc(te_pred, g[is_test])
        if p in probs:
            conf, pred = probs[p].max(-1)  # (N,), (N,)
            pred, conf = pred.numpy(), conf.numpy()
            head_test, head_all, source = _acc(pred[is_test], g[is_test]), _acc(pred, g), "head"
        else:
            pred = np.full(len(texts), -1)
            pred[is_test] = te_pred
            conf, head_test, head_all, source = np.full(len(texts), np.nan), None, None, "probe"
        methods[p] = MethodResult(p, coords, explained, probe_train, probe_test, head_test, head_all, source, pred, conf,
                                  confusion(g, pred, C))
    return DatasetView(name, list(texts), g, list(classifier.labels), is_test, methods, model.main_pooling)


def misclassified(view: DatasetView, pooling: str, limit: int = 200) -> list[tuple[int, str, str, str, float]]:
    """(row, sentence, gold, predicted, confidence) where `pooling`'s prediction is wrong, most confident first."""
    m = view.methods[pooling]
    wrong = np.flatnonzero((m.pred >= 0) & (m.pred != view.gold))
    wrong = wrong[np.argsort(-np.nan_to_num(m.confidence[wrong], nan=0.0), kind="stable")][:limit]
    return [(int(i), view.texts[i], view.labels[view.gold[i]], view.labels[m.pred[i]], float(m.confidence[i]))
            for i in wrong]
