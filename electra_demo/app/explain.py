"""The main tabs (shape trace, hidden states, pooling side by side, code) and the explain API endpoints.

Each tab function builds its components and returns {component: formatter(expl, layer) -> value}; the page
runs `explain` once and fills every component from that one Explanation.
"""
import dataclasses

import gradio as gr
import numpy as np

from .. import pooling
from ..lab.explain import Explanation, explain
from ..views import explain as views
from .common import MODEL, user_errors


def shapes_tab() -> dict:
    with gr.Tab("Shape trace"):
        gr.Markdown("Every tensor on the way, in order, for this very sentence. " + views.DIMENSIONS)
        table = gr.Dataframe(headers=views.SHAPE_HEADERS, interactive=False, wrap=True, elem_id="shape-table",
                             max_height=2400, column_widths=["18%", "16%", "9%", "57%"])
        tokens = gr.Dataframe(headers=views.TOKEN_HEADERS, interactive=False, label="tokens and their ids",
                              elem_id="token-table", max_height=400)
    return {table: lambda e, layer: views.shape_table(e), tokens: lambda e, layer: views.token_table(e)}


def hidden_tab(num_layers: int):
    with gr.Tab("Hidden states"):
        slider = gr.Slider(0, num_layers, value=num_layers, step=1, label="layer (0 = embeddings)", elem_id="layer-slider")
        heatmap = gr.Plot(label="per-token hidden states", elem_id="hidden-heatmap")
        layers = gr.Plot(label="tokens across layers", elem_id="token-layers")
    views_ = {heatmap: lambda e, layer: views.hidden_heatmap(e, layer), layers: lambda e, layer: views.token_trajectories(e)}
    return slider, heatmap, views_


def pooling_tab() -> dict:
    with gr.Tab("Pooling side by side"):
        vectors = gr.Plot(label="pooled vectors", elem_id="pooled-vectors")
        table = gr.Dataframe(headers=views.POOL_HEADERS, interactive=False, wrap=True, elem_id="pooling-table",
                             max_height=1200, column_widths=["12%", "11%", "10%", "7%", "16%", "6%", "38%"])
        cosine = gr.Plot(label="cosine similarity", elem_id="pooling-cosine")
    return {vectors: lambda e, layer: views.pooled_vectors(e), table: lambda e, layer: views.pooling_table(e),
            cosine: lambda e, layer: views.similarity_matrix(e)}


def code_tab(names: list[str]):
    with gr.Tab("Code"):
        gr.Markdown("The PyTorch lines that make each sentence vector, ready for a LightningModule's `forward`.")
        choice = gr.Dropdown(names, value=names[0], label="pooling")
        code = gr.Code(views.code_for(names[0]), language="python", label="code", interactive=False)

    @user_errors
    def code_for(name: str) -> str:
        """The PyTorch lines for one pooling."""
        return views.code_for(name)

    choice.change(code_for, choice, code, api_name="code")


def cached(expl: Explanation) -> Explanation:
    """What a session keeps for the slider: hidden states in float16 to halve the memory."""
    return dataclasses.replace(expl, hidden_states=expl.hidden_states.astype(np.float16))


def register_api(classifier):
    """The text -> JSON endpoints: /predict, /explain, /shapes, /pooling (usable without a browser session)."""

    @user_errors
    def predict(text: str) -> dict:
        """Class probabilities of the main head."""
        return views.prediction(explain(classifier, text))

    @user_errors
    def explain_json(text: str) -> dict:
        """The whole explanation as JSON: tokens, shapes, prediction, every pooled vector and head."""
        return views.to_json(explain(classifier, text))

    @user_errors
    def shapes(text: str) -> list:
        """The shape trace: [{name, shape, dtype, note}, ...]."""
        return [vars(r) for r in explain(classifier, text).shapes]

    @user_errors
    def pooled(text: str) -> dict:
        """Every pooling's vector, norm and head prediction (or null: no head trained)."""
        return views.to_json(explain(classifier, text))["poolings"]

    for fn, name in [(predict, "predict"), (explain_json, "explain"), (shapes, "shapes"), (pooled, "pooling")]:
        gr.api(fn, api_name=name, **MODEL)


def poolings_of(classifier) -> list[str]:
    """Every pooling the page shows for this model: its masked ones, then the naive baselines."""
    return classifier.model.available_poolings() + list(pooling.NAIVE_POOLERS)
