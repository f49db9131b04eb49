"""The layer x pooling tab: every pooling on every layer (drift, similarity, heads as an exploratory probe)."""
import gradio as gr

from ..lab.layer_grid import layer_grid
from ..views import layer_grid as views
from .common import MODEL, user_errors


def layer_tab(classifier, text_box):
    L = classifier.model.config.num_hidden_layers
    with gr.Tab("Layer x pooling"):
        gr.Markdown("Every pooling applied to every layer's hidden states (layer 0 = embeddings).")
        layer = gr.Slider(0, L, value=L, step=1, label="layer for the similarity matrix", elem_id="grid-layer")
        run = gr.Button("Run layer grid", elem_id="run-layers")
        drift = gr.Plot(label="drift across layers")
        sim = gr.Plot(label="similarity between poolings at the chosen layer")
        gr.Markdown("**Exploratory probe.** The trained heads were trained on the last layer; below they read earlier "
                    "layers too. That shows what a head can read there, not what the model predicts.")
        probe = gr.Plot(label="exploratory probe: heads on every layer")
        with gr.Accordion("numbers (JSON)", open=False):
            raw = gr.JSON()

    @user_errors
    def run_grid(sentence: str, at_layer: int):
        """Every pooling on every layer: drift, pairwise similarity, heads as an exploratory probe."""
        g = layer_grid(classifier, sentence)
        return {drift: views.layer_drift(g), sim: views.layer_similarity(g, int(at_layer)), probe: views.layer_probe(g),
                raw: views.layer_grid_json(g)}

    @user_errors
    def redraw(sentence: str, at_layer: int):
        """The similarity matrix between poolings at one layer."""
        return views.layer_similarity(layer_grid(classifier, sentence), int(at_layer))

    run.click(run_grid, [text_box, layer], [drift, sim, probe, raw], api_name="layer_grid", **MODEL)
    layer.release(redraw, [text_box, layer], sim, api_name="layer_similarity", trigger_mode="always_last", **MODEL)
