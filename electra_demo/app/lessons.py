"""The pooling-lesson tabs: similarity vs probe, train/eval mismatch, attention heads, any encoder classifier.

Each follows the explained sentence (a `Lab`: the page runs its fill after every Explain) and has a named endpoint.
The sentence sets for similarity and mismatch are the bundled labelled files whose labels match the model
(examples/reviews.tsv for the shipped model) or sentences typed one per line (unlabelled: no accuracies then).
"""
import contextlib
import functools
import os
from collections import OrderedDict
from typing import NamedTuple

import gradio as gr

from ..checkpoint import DEFAULT_CHECKPOINT
from ..data import read_labelled
from ..errors import InputError
from ..lab.any_encoder import SUPPORTED, encoder_trace, load_encoder, tiny_encoder
from ..lab.attention import attention_view
from ..lab.dataset import MIN_SENTENCES
from ..lab.mismatch import mismatch_view
from ..lab.padding import ATTENTION_MAX_PADS, SIDES
from ..lab.similarity import similarity_view
from ..views import any_encoder as encoder_views
from ..views import attention as attention_views
from ..views import mismatch as mismatch_views
from ..views import similarity as similarity_views
from .common import HEAVY, MODEL, Lab, numbers, sentence, stop_if_gone, user_errors, when_explained
from .common import sentences as sentences_checked
from .dataset import offered_files

TYPED = "sentences typed below"
MAX_TYPED_CHARS = 100_000

# the intros of the two set tabs, what a class reads first
SIMILARITY_INTRO = (
    "The same vectors read two ways: **cosine neighbours** (what retrieval and 'semantic similarity' use) "
    "and a **linear probe** (what a classifier uses). A pooling can do well at one and poorly at the other "
    "(SBERT: raw BERT [CLS] is poor under cosine yet fine under a probe). **Anisotropy** is the mean cosine "
    "between unrelated sentences: when it is high, a cosine of 0.9 says little. The bundled **lessons.tsv** "
    "(380 labelled sentences of our own: films, books, food, hotels, gadgets, games; contrast, negation, "
    "opinions buried after a long start) shows it: nearest neighbours often share words rather than "
    "sentiment, so kNN trails the probe, by different amounts per pooling."
)
MISMATCH_INTRO = (
    "A head trained on one pooling, fed the vectors of another: a common silent bug (train with `mean`, "
    "serve with `cls`). Rows: the head; columns: the pooling whose vectors it receives; the diagonal is the "
    "honest one."
)


@functools.lru_cache(maxsize=8)
def _read(path: str, labels: tuple[str, ...]):
    texts, gold, _ = read_labelled(path, label_names=list(labels), name=os.path.basename(path))
    return texts, gold


def chosen_set(models, model: str, dataset_files, source: str, typed: str):
    """(the chosen model, sentences, gold or None): the set from the model's matching bundled files or typed lines."""
    c = models.get(model)
    return (c, *sentence_set(c, offered_files(dataset_files, c.labels), source, typed))


def sentence_set(classifier, files: dict[str, str], source: str, typed: str):
    """(sentences, gold or None) from a bundled file or from typed lines."""
    if source == TYPED or not files:
        typed = "" if typed is None else typed  # an empty box (no file matches this model's labels): the tab waits
        if not isinstance(typed, str) or len(typed) > MAX_TYPED_CHARS:
            raise InputError(f"type at most {MAX_TYPED_CHARS:,} characters of sentences, one per line")
        return [sentence(line) for line in typed.splitlines() if line.strip()], None
    if source not in files:
        raise InputError(f"unknown sentence set {source!r}; choose one of {', '.join(list(files) + [TYPED])}")
    texts, gold = _read(files[source], tuple(classifier.labels))
    return list(texts), list(gold)


class SetControls(NamedTuple):
    source: gr.Dropdown  # a bundled file, or TYPED
    typed: gr.Textbox  # sentences, one per line
    prefix: str  # of the elem_ids and of the tab's keys in the page's link


@contextlib.contextmanager
def _set_tab(title: str, tab_id: str, prefix: str, intro: str, dataset_files, labels: list[str]):
    """A tab that reads a sentence set: its intro and set controls (the bundled files whose labels are the model's,
    or typed sentences), then (in the `with` body) its outputs."""
    with gr.Tab(title, id=tab_id):
        gr.Markdown(intro)
        choices = list(offered_files(dataset_files, labels)) + [TYPED]
        source = gr.Dropdown(choices, value=choices[0], label="sentence set", elem_id=f"{prefix}-set")
        typed = gr.Textbox(label=f"or type sentences, one per line (at least {MIN_SENTENCES}); Shift+Enter runs them",
                           lines=3, elem_id=f"{prefix}-typed", placeholder="Enter starts a new line; Shift+Enter runs")
        yield SetControls(source, typed, prefix)


def _set_lab(show, outputs, api, controls: SetControls, models, dataset_files, shown, choice) -> Lab:
    """The Lab of a tab that reads a sentence set: `show(model, sentence, texts, gold)` fills `outputs` from the set
    chosen in `controls`; `api` is the tab's (function, name, concurrency) endpoint."""
    source, typed, prefix = controls

    @user_errors
    def fill(sent: str, model: str, src: str, lines: str):
        c, texts, gold = chosen_set(models, model, dataset_files, src, lines)
        return show(c, sentence(sent), texts, gold)

    _run_set(source, typed, fill, shown, choice, outputs)
    lab = Lab(fill, [choice, source, typed], outputs, [api])
    lab.url = {f"{prefix}_set": source, f"{prefix}_typed": typed}  # this tab's keys in the page's link
    return lab


def _run_set(source, typed, fill, shown, choice, outputs):
    """The set's view re-runs when the menu is changed by hand, or when typed sentences are sent (Shift+Enter: Enter
    starts a new line), which also picks "sentences typed below" in the menu: typing never runs on the file."""
    gr.on([source.input], when_explained(fill), [shown, choice, source, typed], outputs, api_visibility="private",
          trigger_mode="always_last", **HEAVY)

    def run_typed(sent: str, model: str, lines: str):
        return {source: TYPED, **fill(sent, model, TYPED, lines)}

    typed.submit(when_explained(run_typed), [shown, choice, typed], [source, *outputs], api_visibility="private",
                 trigger_mode="always_last", **HEAVY)


def similarity_tab(classifier, shown, models, choice, dataset_files) -> Lab:
    with _set_tab("Similarity vs probe", "similarity", "sim", SIMILARITY_INTRO, dataset_files, classifier.labels) as controls:
        note = gr.Markdown(elem_id="similarity-note")
        scores = gr.Plot(label="cosine kNN vs linear probe, and anisotropy", elem_id="similarity-scores")
        table = gr.Dataframe(label="per pooling", interactive=False, wrap=True)
        neighbours = gr.Dataframe(label="nearest neighbours of the explained sentence, per pooling", interactive=False,
                                  wrap=True, max_height=500)
        raw = numbers()

    def show(c, sent: str, texts: list[str], gold: list[int] | None):
        if len(texts) < MIN_SENTENCES:  # not an error: the tab waits for a set (the other tabs still fill)
            return {note: f"Pick a labelled file or type at least {MIN_SENTENCES} sentences, one per line, then press "
                          "Shift+Enter in that box.", scores: None, table: None, neighbours: None, raw: None}
        v = similarity_view(c, sent, texts, gold, progress=stop_if_gone)
        what = f"{len(v.sentences)} sentences" + ("" if gold else " (unlabelled: no accuracies)")
        return {note: f"Over {what}.", scores: similarity_views.scores_figure(v), table: similarity_views.scores_table(v),
                neighbours: similarity_views.neighbours_table(v), raw: similarity_views.similarity_json(v)}

    def similarity_api(text: str, sentences: list[str], labels: list[int] | None = None) -> dict:
        """Per pooling: the sentence's cosine neighbours in `sentences`, cosine-kNN vs probe accuracy, anisotropy."""
        v = similarity_view(classifier, sentence(text), sentences_checked(sentences), labels, progress=stop_if_gone)
        return similarity_views.similarity_json(v)

    return _set_lab(show, [note, scores, table, neighbours, raw], (similarity_api, "similarity", HEAVY), controls,
                    models, dataset_files, shown, choice)


def mismatch_tab(classifier, shown, models, choice, dataset_files) -> Lab:
    with _set_tab("Pooling mismatch", "mismatch", "mm", MISMATCH_INTRO, dataset_files, classifier.labels) as controls:
        flips = gr.Markdown(elem_id="mismatch-flips")
        matrix = gr.Plot(label="accuracy of each head on each pooling's vectors", elem_id="mismatch-matrix")
        table = gr.Dataframe(label="the explained sentence: each head on each pooling's vector", interactive=False, wrap=True)
        raw = numbers()

    def show(c, sent: str, texts: list[str], gold: list[int] | None):
        if len(texts) < MIN_SENTENCES:  # the sentence's own row needs no set; the matrix waits for one
            texts, gold = [], None
        v = mismatch_view(c, sent, texts, gold, progress=stop_if_gone)
        return {flips: mismatch_views.flips_markdown(v), matrix: mismatch_views.accuracy_matrix(v),
                table: mismatch_views.sentence_table(v), raw: mismatch_views.mismatch_json(v)}

    def mismatch_api(text: str, sentences: list[str] | None = None, labels: list[int] | None = None) -> dict:
        """Every head on every pooling's vectors: accuracy over `sentences` (with labels) and the sentence's predictions."""
        texts = None if sentences is None else sentences_checked(sentences)
        v = mismatch_view(classifier, sentence(text), texts, labels, progress=stop_if_gone)
        return mismatch_views.mismatch_json(v)

    return _set_lab(show, [flips, matrix, table, raw], (mismatch_api, "mismatch", HEAVY), controls, models,
                    dataset_files, shown, choice)


def attention_tab(classifier, shown, models, choice) -> Lab:
    L = classifier.model.config.num_hidden_layers
    with gr.Tab("Attention heads", id="attention-heads"):
        gr.Markdown("Self-attention of every layer and head on the explained sentence (an eager-attention copy of the "
                    "backbone: the served model's SDPA returns no weights). The **[CLS] row** is what `cls` pooling can "
                    "see. The learned **attention pooling** is a different thing: one softmax over tokens after the last "
                    "layer. With pads, padding columns get exactly 0: the mask at work. Each row sums to 1 over T keys, "
                    "so the colours are scaled **per row** by default (per head, or a fixed 0 to 1, on demand); the "
                    "table below lists each token's most-attended tokens, readable at any length.")
        with gr.Row():
            layer = gr.Slider(1, L, value=L, step=1, label="layer", elem_id="attention-layer")
            n_pad = gr.Slider(0, ATTENTION_MAX_PADS, value=0, step=1, label="pads", elem_id="attention-pads")
            side = gr.Radio(list(SIDES), value="right", label="padding side", elem_id="attention-side")
            scale = gr.Radio([(label, key) for key, label in attention_views.SCALES.items()], value="row",
                             label="colour scale", elem_id="attention-scale")
        heads = gr.Plot(label="each head of the layer", elem_id="attention-heads-plot")
        head = gr.Dropdown([("mean of the heads", "mean")] + [(f"head {a}", str(a)) for a in
                           range(1, classifier.model.config.num_attention_heads + 1)], value="mean",
                           label="top tokens of", elem_id="attention-head")
        top = gr.Dataframe(label="each token's most-attended tokens ([CLS] first; key (position) weight)",
                           interactive=False, wrap=True, max_height=500, elem_id="attention-top")
        cls_row = gr.Plot(label="the [CLS] row of every layer and head")
        versus = gr.Plot(label="self-attention vs the attention pooling")
        raw = numbers()

    @user_errors
    def fill(sent: str, model: str, at: int, pads: int, pad_side: str, colours: str = "row", of: str = "mean"):
        if colours not in attention_views.SCALES:
            raise InputError(f"colour scale must be one of {', '.join(attention_views.SCALES)}")
        v = attention_view(models.get(model), sentence(sent), int(pads), pad_side)
        which = int(of) if str(of).isdigit() and 1 <= int(of) <= v.num_heads else None  # else: the mean of the heads
        return {heads: attention_views.head_grid(v, int(at), colours), top: attention_views.top_keys(v, int(at), which),
                cls_row: attention_views.cls_rows(v, colours), versus: attention_views.pooling_vs_attention(v),
                raw: attention_views.attention_json(v, int(at))}

    outputs = [heads, top, cls_row, versus, raw]
    gr.on([layer.change, n_pad.change, side.change, scale.change, head.change], when_explained(fill),
          [shown, choice, layer, n_pad, side, scale, head], outputs, api_visibility="private",
          trigger_mode="always_last", **MODEL)

    def attention_api(text: str, layer: int = L, pads: int = 0, side: str = "right") -> dict:
        """Attention of every head at one layer, the [CLS] rows of all layers, the attention pooling's weights."""
        if not isinstance(layer, int) or not isinstance(pads, int) or side not in SIDES:
            raise InputError(f"layer and pads must be whole numbers, side one of {', '.join(SIDES)}")
        return attention_views.attention_json(attention_view(classifier, sentence(text), pads, side), layer)

    lab = Lab(fill, [choice, layer, n_pad, side, scale, head], outputs, [(attention_api, "attention", MODEL)])
    lab.url = {"att_layer": layer, "att_pads": n_pad, "att_side": side, "att_scale": scale,
               "att_head": head}  # this tab's keys in the page's link
    return lab


def encoder_choices() -> dict[str, str]:
    """{menu entry: source}: a tiny random model of every supported architecture, and our checkpoint folders."""
    root = os.path.dirname(DEFAULT_CHECKPOINT)
    folders = {f"checkpoints/{d}": os.path.join(root, d) for d in sorted(os.listdir(root))
               if os.path.isfile(os.path.join(root, d, "config.json"))}
    return {**{f"tiny random {k} (built here)": f"tiny:{k}" for k in SUPPORTED}, **folders}


ENCODER_FOLDERS_KEPT = 1  # checkpoint folders the Any encoder tab keeps loaded (the model menu keeps its own)


def encoder_tab(classifier, shown) -> Lab:
    choices = encoder_choices()
    cache: dict[str, object] = {}  # the tiny random models (built once, ~0.1 MB each)
    folders: OrderedDict = OrderedDict()  # checkpoint folders: at most ENCODER_FOLDERS_KEPT loaded at once

    def load(entry: str):
        if entry not in choices:
            raise InputError(f"unknown encoder {entry!r}; choose one of the menu")
        src = choices[entry]
        if src.startswith("tiny:"):
            if entry not in cache:
                cache[entry] = tiny_encoder(src[5:], classifier.tokenizer, classifier.labels)
            return cache[entry]
        if entry not in folders:
            folders[entry] = load_encoder(src)  # the one loader, with every check the model menu's loads get
            while len(folders) > ENCODER_FOLDERS_KEPT:
                folders.popitem(last=False)
        folders.move_to_end(entry)
        return folders[entry]

    with gr.Tab("Any encoder", id="any-encoder"):
        gr.Markdown("Is `pooler_output` there? It depends on the architecture. Any BERT, RoBERTa, DistilBERT, DeBERTa-v2, "
                    "ALBERT or ELECTRA sequence classifier loads through the Auto classes (safetensors, no remote code). "
                    "The tiny random models are built here with real shapes and meaningless predictions.")
        entry = gr.Dropdown(list(choices), value=list(choices)[0], label="encoder", elem_id="encoder-choice")
        trace = gr.Markdown(elem_id="encoder-trace")
        raw = numbers()

    @user_errors
    def fill(sent: str, which: str):
        t = encoder_trace(load(which), sentence(sent))
        return {trace: encoder_views.trace_markdown(t), raw: encoder_views.trace_json(t)}

    entry.change(when_explained(fill), [shown, entry], [trace, raw], api_visibility="private", **MODEL)

    def encoder_api(text: str, encoder: str = list(choices)[0]) -> dict:
        """The base model's output keys and shapes (pooler_output or not), every parameter-free pooling, its own head."""
        return encoder_views.trace_json(encoder_trace(load(encoder), sentence(text)))

    lab = Lab(lambda sent, which: fill(sent, which), [entry], [trace, raw], [(encoder_api, "encoder_trace", MODEL)])
    lab.url = {"encoder": entry}  # this tab's key in the page's link
    return lab
