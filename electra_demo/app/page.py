"""build_demo(classifier) -> gr.Blocks: the explorer page. It only places components and formats an Explanation.

One click runs `explain` once (one forward pass) and fills every main view; the layer slider re-draws
the heatmap from the explanation cached in gr.State. The lab tabs read the same sentence box.
"""
import os

import gradio as gr

from ..checkpoint import LoadedModel
from ..lab.explain import MAX_CHARS, explain
from ..views import explain as views
from .attribution import attribution_tab
from .common import MODEL, QUEUE_SIZE, STATE_TTL, user_errors
from .dataset import dataset_tab
from .explain import cached, code_tab, hidden_tab, pooling_tab, poolings_of, register_api, shapes_tab
from .layer_grid import layer_tab
from .padding import padding_tab
from .pooler_output import pooler_tab

EXAMPLES = [
    "A gripping, beautifully acted film with a story that stays with you.",
    "The plot was dull and the acting was even worse.",
    "Not bad at all [SEP] though the ending drags.",
    "It is neither good nor bad, just long.",
]
EXAMPLE_DATA = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "examples",
                            "reviews.tsv")


def lab_tabs(classifier: LoadedModel, text_box, dataset_files: list[str] | None = None):
    """The five lab tabs, inside the current gr.Tabs; returns the dataset tab's (misclassified table, state)."""
    padding_tab(classifier, text_box)
    pooler_tab(classifier)
    attribution_tab(classifier, text_box)
    layer_tab(classifier, text_box)
    return dataset_tab(classifier, dataset_files)


def build_demo(classifier: LoadedModel, dataset_files: list[str] | None = None) -> gr.Blocks:
    L = classifier.model.config.num_hidden_layers
    files = [EXAMPLE_DATA] if dataset_files is None else dataset_files
    with gr.Blocks(title="ELECTRA explorer", analytics_enabled=False) as demo:  # no telemetry, no version check
        gr.Markdown("# ELECTRA explorer\nType a sentence: one forward pass shows the prediction, every tensor's shape, "
                    "the hidden states of each layer and every pooling side by side.")
        state = gr.State(None, time_to_live=STATE_TTL)
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
            formatters = shapes_tab()
            slider, heatmap, hidden = hidden_tab(L)
            formatters.update(hidden)
            formatters.update(pooling_tab())
            code_tab(poolings_of(classifier))
            wrong, data_state = lab_tabs(classifier, text, files)
        formatters = {label: lambda e, layer: views.prediction(e), note: lambda e, layer: views.note_markdown(e),
                      **formatters}

        @user_errors
        def explore(sentence: str, layer: int):
            """Explain one sentence and fill every main view (the page's own run)."""
            expl = explain(classifier, sentence)
            return {**{c: fmt(expl, int(layer)) for c, fmt in formatters.items()}, state: cached(expl)}

        @user_errors
        def redraw(expl, layer: int):
            if expl is None:
                return gr.skip()  # nothing explained yet: the slider just moves
            return views.hidden_heatmap(expl, int(layer))

        def send(view, evt: gr.SelectData):
            """A clicked misclassified row: its full sentence into the box."""
            if view is None or not evt.row_value:
                return gr.skip()
            return view.texts[int(evt.row_value[0])]

        outputs = [*formatters, state]
        gr.on([run.click, text.submit], explore, [text, slider], outputs, api_name="explore", **MODEL)
        slider.change(redraw, [state, slider], heatmap, api_visibility="private", trigger_mode="always_last",
                      show_progress="hidden")
        wrong.select(send, data_state, text, api_visibility="private").then(explore, [text, slider], outputs,
                                                                           api_visibility="private", **MODEL)
        register_api(classifier)
    demo.queue(max_size=QUEUE_SIZE)
    return demo
