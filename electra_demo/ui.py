"""build_demo(classifier) -> gr.Blocks: the explorer page. It only formats an Explanation.

One click runs `explain` once (one forward pass) and fills every view; the layer slider re-draws
the heatmap from the explanation cached in gr.State. Each tab is a function returning
(component, formatter) pairs, formatter(expl, layer) -> value, so new tabs plug into the same run.
Endpoints (api_name): /explore (the page's run), /layer, /code, /predict, /explain (JSON),
/shapes, /pooling, /echo.
"""
import dataclasses
import os

import gradio as gr
import numpy as np
import pandas as pd

from . import plots
from .checkpoint import Classifier
from .explain import MAX_CHARS, NO_HEAD, Explanation, InputError, explain, pooling_kind, to_json
from .pooling import CODE, DESCRIPTIONS, NAIVE_POOLERS
from .ui_lab import lab_tabs

EXAMPLES = [
    "A gripping, beautifully acted film with a story that stays with you.",
    "The plot was dull and the acting was even worse.",
    "Not bad at all [SEP] though the ending drags.",
    "It is neither good nor bad, just long.",
]
EXAMPLE_DATA = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples", "reviews.tsv")
SHAPE_HEADERS = ["tensor", "shape", "dtype", "note"]
POOL_HEADERS = ["pooling", "kind", "shape", "norm", "head prediction", "prob", "what it is"]
CODE_PREAMBLE = ("# in a LightningModule's forward(self, input_ids, mask):\n"
                 "out = self.electra(input_ids, attention_mask=mask)  # ElectraModel: no pooler_output\n"
                 "h = out.last_hidden_state  # (B, T, H)\n")


def run_explain(classifier: Classifier, text) -> Explanation:
    try:
        return explain(classifier, text)
    except InputError as e:
        raise gr.Error(str(e), title="Please check the text", print_exception=False) from None


def prediction(expl: Explanation) -> dict[str, float]:
    return {name: float(p) for name, p in zip(expl.labels, expl.probs)}


def shape_table(expl: Explanation) -> pd.DataFrame:
    return pd.DataFrame([dataclasses.astuple(r) for r in expl.shapes], columns=SHAPE_HEADERS)


def pooling_table(expl: Explanation) -> pd.DataFrame:
    rows = []
    for p, v in expl.pooled.items():
        hp = expl.heads[p]
        rows.append([p, pooling_kind(p), f"(1, {len(v)})", round(float(np.linalg.norm(v)), 3),
                     hp.label if hp else NO_HEAD, round(hp.prob, 3) if hp else None, DESCRIPTIONS.get(p, "")])
    return pd.DataFrame(rows, columns=POOL_HEADERS)


def code_for(pooling: str) -> str:
    if pooling not in CODE:
        raise gr.Error(f"unknown pooling {pooling!r}; valid: {', '.join(CODE)}", print_exception=False)
    tail = "" if pooling in NAIVE_POOLERS else "logits = self.head(vec[:, None, :])  # ElectraClassificationHead slices [:, 0]\n"
    return f"{CODE_PREAMBLE}{CODE[pooling]}\n{tail}"


def note_markdown(expl: Explanation) -> str:
    head = f"Main head: **{expl.main_pooling}** pooling, {len(expl.tokens)} tokens."
    return head + (f" **Note: {expl.truncation_note}** (max_length {expl.max_length})." if expl.truncation_note else "")


def _cached(expl: Explanation) -> Explanation:
    """What the session keeps for the slider: hidden states in float16 to halve the memory."""
    return dataclasses.replace(expl, hidden_states=expl.hidden_states.astype(np.float16))


# ---- tabs: each returns [(component, formatter(expl, layer) -> value)] ----

def shapes_tab():
    with gr.Tab("Shape trace"):
        gr.Markdown("Every tensor on the way, in order, for this very sentence.")
        table = gr.Dataframe(headers=SHAPE_HEADERS, interactive=False, wrap=True, elem_id="shape-table", max_height=2400,
                             column_widths=["18%", "14%", "8%", "60%"])
    return [(table, lambda e, layer: shape_table(e))]


def hidden_tab(num_layers: int):
    with gr.Tab("Hidden states"):
        slider = gr.Slider(0, num_layers, value=num_layers, step=1, label="layer (0 = embeddings)", elem_id="layer-slider")
        heatmap = gr.Plot(label="per-token hidden states", elem_id="hidden-heatmap")
        layers = gr.Plot(label="tokens across layers", elem_id="token-layers")
    views = [(heatmap, lambda e, layer: plots.hidden_heatmap(e, layer)), (layers, lambda e, layer: plots.token_trajectories(e))]
    return slider, heatmap, views


def pooling_tab():
    with gr.Tab("Pooling side by side"):
        vectors = gr.Plot(label="pooled vectors", elem_id="pooled-vectors")
        table = gr.Dataframe(headers=POOL_HEADERS, interactive=False, wrap=True, elem_id="pooling-table", max_height=1200,
                             column_widths=["12%", "11%", "8%", "7%", "17%", "6%", "39%"])
        cosine = gr.Plot(label="cosine similarity", elem_id="pooling-cosine")
    return [(vectors, lambda e, layer: plots.pooled_vectors(e)), (table, lambda e, layer: pooling_table(e)),
            (cosine, lambda e, layer: plots.similarity_matrix(e))]


def code_tab(poolings: list[str]):
    with gr.Tab("Code"):
        gr.Markdown("The PyTorch lines that make each sentence vector, ready for a LightningModule's `forward`.")
        choice = gr.Dropdown(poolings, value=poolings[0], label="pooling")
        code = gr.Code(code_for(poolings[0]), language="python", label="code", interactive=False)
    choice.change(code_for, choice, code, api_name="code")


def build_demo(classifier: Classifier) -> gr.Blocks:
    L = classifier.model.config.num_hidden_layers
    poolings = classifier.model.available_poolings() + list(NAIVE_POOLERS)
    with gr.Blocks(title="ELECTRA explorer", analytics_enabled=False) as demo:  # no telemetry, no version check
        gr.Markdown("# ELECTRA explorer\nType a sentence: one forward pass shows the prediction, every tensor's shape, "
                    "the hidden states of each layer and every pooling side by side.")
        state = gr.State(None, time_to_live=3600)
        with gr.Row():
            with gr.Column(scale=3):
                text = gr.Textbox(label="sentence", lines=2, max_length=MAX_CHARS, elem_id="input-text",
                                  placeholder="Type a sentence and press Enter")
                run = gr.Button("Explain", variant="primary", elem_id="run")
                gr.Examples(EXAMPLES, inputs=text, cache_examples=False)
            with gr.Column(scale=2):
                label = gr.Label(num_top_classes=len(classifier.labels), label="prediction", elem_id="prediction")
                note = gr.Markdown(elem_id="note")
        with gr.Tabs():
            views = shapes_tab()
            slider, heatmap, hidden_views = hidden_tab(L)
            views += hidden_views + pooling_tab()
            code_tab(poolings)
            lab_tabs(classifier, text, [EXAMPLE_DATA])
        views = [(label, lambda e, layer: prediction(e)), (note, lambda e, layer: note_markdown(e))] + views

        def explore(text, layer):
            expl = run_explain(classifier, text)
            return [fmt(expl, int(layer)) for _, fmt in views] + [_cached(expl)]

        def redraw(expl, layer):
            if expl is None:
                raise gr.Error("type a sentence and press Explain first; the slider redraws its hidden states", print_exception=False)
            return plots.hidden_heatmap(expl, int(layer))

        outputs = [c for c, _ in views] + [state]
        gr.on([run.click, text.submit], explore, [text, slider], outputs, api_name="explore")
        slider.change(redraw, [state, slider], heatmap, api_name="layer", trigger_mode="always_last", show_progress="hidden")

        def predict(text: str) -> dict:
            """Class probabilities of the main head."""
            return prediction(run_explain(classifier, text))

        def explain_json(text: str) -> dict:
            """The whole explanation as JSON: tokens, shapes, prediction, every pooled vector and head."""
            return to_json(run_explain(classifier, text))

        def shapes(text: str) -> list:
            """The shape trace: [{name, shape, dtype, note}, ...]."""
            return to_json(run_explain(classifier, text))["shapes"]

        def pooling(text: str) -> dict:
            """Every pooling's vector, norm and head prediction (or null: no head trained)."""
            return to_json(run_explain(classifier, text))["poolings"]

        def echo(text: str) -> str:
            """Returns its input: the baseline round trip for benchmarks."""
            return text

        for fn, name in [(predict, "predict"), (explain_json, "explain"), (shapes, "shapes"), (pooling, "pooling"), (echo, "echo")]:
            gr.api(fn, api_name=name)
    demo.queue(max_size=32, default_concurrency_limit=4)
    return demo
