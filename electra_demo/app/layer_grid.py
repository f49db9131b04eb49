"""The layer x pooling tab: every pooling on every layer (drift, similarity, heads as an exploratory probe)."""
import gradio as gr

from ..errors import InputError
from ..lab.layer_grid import layer_grid
from ..views import layer_grid as views
from .common import MODEL, Lab, numbers, sentence, user_errors, when_explained


def layer_tab(classifier, shown, models, choice, tab_layer: list) -> Lab:
    L = classifier.model.config.num_hidden_layers
    with gr.Tab("Layer x pooling", id="layer-x-pooling"):
        gr.Markdown("Every pooling applied to every layer's hidden states (layer 0 = embeddings), for the explained "
                    "sentence.")
        layer = gr.Slider(0, L, value=L, step=1, label="layer for the similarity matrix", elem_id="grid-layer")
        drift = gr.Plot(label="drift across layers", elem_id="layer-drift")
        sim = gr.Plot(label="similarity between poolings at the chosen layer", elem_id="layer-similarity")
        gr.Markdown("**Exploratory probe.** The trained heads were trained on the last layer; below they read earlier "
                    "layers too. That shows what a head can read there, not what the model predicts.")
        probe = gr.Plot(label="exploratory probe: heads on every layer")
        raw = numbers()

    def check(at_layer, c=classifier):
        top = c.model.config.num_hidden_layers
        if not isinstance(at_layer, (int, float)) or isinstance(at_layer, bool) or not 0 <= at_layer <= top:
            raise InputError(f"layer must be a number from 0 to {top}")
        return int(at_layer)

    @user_errors
    def fill(text: str, model: str, at_layer: int):
        c = models.get(model)
        g = layer_grid(c, sentence(text))
        return {drift: views.layer_drift(g), sim: views.layer_similarity(g, check(at_layer, c)), probe: views.layer_probe(g),
                raw: views.layer_grid_json(g)}

    @user_errors
    def redraw(text: str, model: str, at_layer: int):
        c = models.get(model)
        return views.layer_similarity(layer_grid(c, sentence(text)), check(at_layer, c))

    # .change fires for the number box, the keyboard and the drag alike (release alone missed the box: issue 11.10)
    layer.change(when_explained(redraw), [shown, choice, layer], sim, api_visibility="private", trigger_mode="always_last",
                 show_progress="hidden", **MODEL)

    def layer_grid_api(text: str) -> dict:
        """Every pooling on every layer as JSON: drift, pairwise similarity, heads as an exploratory probe."""
        return views.layer_grid_json(layer_grid(classifier, sentence(text)))

    tab_layer[0] = layer
    lab = Lab(fill, [choice, layer], [drift, sim, probe, raw], [(layer_grid_api, "layer_grid", MODEL)])
    lab.url = {"grid_layer": layer}  # this tab's key in the page's link
    return lab
