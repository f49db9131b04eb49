"""The main tabs (shape trace, hidden states, pooling side by side, compare, code) and the explain API endpoints.

Each main tab function builds its components and returns {component: formatter(expl, layer) -> value}; the page
runs `explain` once and fills every component from that one Explanation.
"""
import os
import weakref

import gradio as gr

from .. import pooling
from ..data import read_rows
from ..errors import InputError, UserError
from ..lab.explain import MAX_CHARS, explain
from ..lab.similarity import percentile_of, similarity_view
from ..views import compare as compare_views
from ..views import explain as views
from .common import MODEL, Lab, explained, sentence, user_errors, when_explained
from .model_pair import two_models


def shapes_tab() -> dict:
    with gr.Tab("Shape trace", id="shape-trace"):
        gr.Markdown("Every tensor on the way, in order, for the explained sentence. Dimensions: " + views.DIMENSIONS,
                    elem_id="dimensions")
        table = gr.Dataframe(headers=views.SHAPE_HEADERS, interactive=False, wrap=True, elem_id="shape-table",
                             max_height=2400, column_widths=["170px", "215px", "80px", "725px"])
        tokens = gr.Dataframe(headers=views.TOKEN_HEADERS, interactive=False, label="tokens and their ids",
                              elem_id="token-table", max_height=400)
    return {table: lambda e, layer: views.shape_table(e), tokens: lambda e, layer: views.token_table(e)}


def hidden_tab(num_layers: int):
    with gr.Tab("Hidden states", id="hidden-states"):
        slider = gr.Slider(0, num_layers, value=num_layers, step=1, label="layer (0 = embeddings)", elem_id="layer-slider")
        heatmap = gr.Plot(label="per-token hidden states", elem_id="hidden-heatmap")
        layers = gr.Plot(label="tokens across layers", elem_id="token-layers")
    views_ = {heatmap: lambda e, layer: views.hidden_heatmap(e, layer), layers: lambda e, layer: views.token_trajectories(e)}
    return slider, heatmap, views_


def pooling_tab() -> dict:
    with gr.Tab("Pooling side by side", id="pooling-side-by-side"):
        vectors = gr.Plot(label="pooled vectors", elem_id="pooled-vectors")
        table = gr.Dataframe(headers=views.POOL_HEADERS, interactive=False, wrap=True, elem_id="pooling-table",
                             max_height=1200, column_widths=["130px", "120px", "120px", "70px", "170px", "60px", "520px"])
        cosine = gr.Plot(label="cosine similarity", elem_id="pooling-cosine")
    return {vectors: lambda e, layer: views.pooled_vectors(e), table: lambda e, layer: views.pooling_table(e),
            cosine: lambda e, layer: views.similarity_matrix(e)}


CONTEXT_FILE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "examples",
                            "reviews.tsv")


def cosine_context(classifier, cos: dict[str, float]) -> tuple[dict[str, float] | None, str]:
    """({pooling: percentile of its A-B cosine among the pairwise cosines of the bundled sentences}, a note): is 0.93
    high for this pooling? Anisotropic poolings put every pair near 1, so a raw cosine says little on its own."""
    view = _context_view(classifier.model, classifier)
    if view is None:
        return None, ""
    n = len(view.sentences)
    ctx = {p: percentile_of(view, p, c) for p, c in cos.items() if p in view.names}
    return ctx, (f" The last column places each cosine among the {n * (n - 1) // 2} pairs of sentences of "
                 f"{os.path.basename(CONTEXT_FILE)}: a cosine of 0.9 is high for some poolings and typical for others.")


_CONTEXT: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _context_view(model, classifier):
    """The bundled sentences' pairwise cosine distribution, computed once per model (not on every compare)."""
    if model not in _CONTEXT:
        try:
            texts, _, _ = read_rows(CONTEXT_FILE)
        except UserError:
            return None
        _CONTEXT[model] = similarity_view(classifier, texts[0], texts)
    return _CONTEXT[model]


def compare_tab(classifier, shown, models, choice):
    """Sentence A (the explained one) beside sentence B: cosine per pooling, both predictions per head, both shapes."""
    with gr.Tab("Compare", id="compare"):
        gr.Markdown("The explained sentence (**A**) beside a second sentence (**B**): each pooling's cosine between the "
                    "two sentence vectors, what each head predicts for both, and both shape traces.")
        with gr.Row():
            other = gr.Textbox(compare_views.TEACHING_PAIR[1], label="sentence B (Enter compares)", lines=1,
                               max_length=MAX_CHARS, elem_id="compare-text", scale=4)
            pair = gr.Button(f'"{compare_views.TEACHING_PAIR[0]}" vs "{compare_views.TEACHING_PAIR[1]}"',
                             elem_id="teaching-pair", scale=1)
        summary = gr.Markdown(elem_id="compare-summary")
        figure = gr.Plot(label="cosine per pooling", elem_id="compare-figure")
        table = gr.Dataframe(headers=compare_views.COMPARE_HEADERS, interactive=False, wrap=True, elem_id="compare-table")
        shapes = gr.Dataframe(headers=compare_views.SHAPE_COMPARE_HEADERS, interactive=False, wrap=True,
                              label="shape trace of both", elem_id="compare-shapes")
        second = two_models(models, shown, choice, CONTEXT_FILE)

    @user_errors
    def fill(a_text: str, model: str, b_text: str):
        if not (b_text or "").strip():
            return {summary: "Type a second sentence B to compare with.", figure: None, table: None, shapes: None}
        a, b = explained(models, model, a_text), explained(models, model, b_text)  # A: the page's own explanation
        ctx, note = cosine_context(models.get(model), compare_views.cosines(a, b))
        return {summary: compare_views.compare_summary(a, b) + note, figure: compare_views.compare_figure(a, b),
                table: compare_views.compare_table(a, b, ctx), shapes: compare_views.compare_shapes(a, b)}

    outputs = [summary, figure, table, shapes]
    other.submit(when_explained(fill), [shown, choice, other], outputs, api_visibility="private", **MODEL)
    lab = Lab(fill, [choice, other], outputs)
    lab.url = {"b": other, "model_b": second}  # this tab's keys in the page's link
    return pair, other, lab


def code_tab(names: list[str]) -> tuple[list, "Follow"]:
    """The Code tab for the served model's poolings `names`: (its endpoint, how it follows the model menu)."""
    with gr.Tab("Code", id="code"):
        gr.Markdown("The PyTorch lines that make each sentence vector, ready for a LightningModule's `forward`.")
        choice = gr.Dropdown(names, value=names[0], label="pooling", elem_id="code-pooling")
        code = gr.Code(views.code_for(names[0]), language="python", label="code", interactive=False)

    def code_for(name: str) -> str:
        """The PyTorch lines for one pooling."""
        if not isinstance(name, str) or name not in pooling.REGISTRY:
            raise InputError(f"unknown pooling {name!r}; valid: {', '.join(pooling.REGISTRY)}")
        return views.code_for(name)

    def follow(classifier) -> dict:
        """Another model in the menu: its poolings."""
        shown = poolings_of(classifier)
        return {choice: gr.Dropdown(shown, value=shown[0]), code: views.code_for(shown[0])}

    choice.change(user_errors(code_for), choice, code, api_visibility="private")
    return [(code_for, "code", {})], Follow(follow, [choice, code], {"code_pooling": choice})


class Follow:
    """What a tab that describes the model (not the sentence) hands the page: fn(classifier) -> {component: value},
    run when the model menu changes, and its outputs."""

    def __init__(self, fn, outputs: list, url: dict | None = None):
        self.fn, self.outputs = fn, outputs
        self.url = url or {}  # {URL key: control}: the tab's keys in the page's link


def api_endpoints(classifier, more: list) -> list:
    """The text -> JSON endpoints [(fn, api_name, event kwargs)]: /predict, /explain, /shapes, /pooling, /compare,
    and the tabs' own (`more`). Registered on the page and on the light API (server.light_api)."""

    def predict(text: str) -> dict:
        """Class probabilities of the main head."""
        return views.prediction(explain(classifier, sentence(text)))

    def explain_json(text: str) -> dict:
        """The whole explanation as JSON: tokens, shapes, prediction, every pooled vector and head."""
        return views.to_json(explain(classifier, sentence(text)))

    def shapes(text: str) -> list:
        """The shape trace: [{name, shape, named, dtype, note}, ...] (named: with dimension names, e.g. (B=1, T=5))."""
        return [{**vars(r), "named": views.named_shape(r.name, r.shape)} for r in explain(classifier, sentence(text)).shapes]

    def pooled(text: str) -> dict:
        """Every pooling's vector, norm and head prediction (or null: no head trained)."""
        return views.to_json(explain(classifier, sentence(text)))["poolings"]

    def compare(text: str, other: str) -> dict:
        """Two sentences: each pooling's cosine between them, both predictions per head, both shape traces."""
        return compare_views.compare_json(explain(classifier, sentence(text)), explain(classifier, sentence(other)))

    ours = [(predict, "predict"), (explain_json, "explain"), (shapes, "shapes"), (pooled, "pooling"), (compare, "compare")]
    return [(fn, name, MODEL) for fn, name in ours] + more


def poolings_of(classifier) -> list[str]:
    """Every pooling the page shows for this model: its masked ones, then the naive baselines."""
    return classifier.model.available_poolings() + list(pooling.NAIVE_POOLERS)
