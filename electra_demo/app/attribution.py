"""The pooling attribution tab: which tokens make the pooled vector (padding gets exactly 0)."""
import gradio as gr

from ..lab.attribution import MAX_PAD, attribution, attribution_poolings
from ..lab.padding import SIDES
from ..views import attribution as views
from .common import MODEL, user_errors


def attribution_tab(classifier, text_box):
    names = attribution_poolings(classifier.model)
    with gr.Tab("Pooling attribution"):
        gr.Markdown("Which tokens make the pooled vector, on the sentence padded with a few [PAD]s: every masked pooling "
                    "gives padding exactly 0. **weight**: the pooling's own coefficient (max: share of the H dimensions a "
                    "token wins); **contribution**: share of the pooled vector's squared norm (signed for weighted sums).")
        with gr.Row():
            name = gr.Dropdown(names, value="attention" if "attention" in names else names[0], label="pooling")
            quantity = gr.Radio(["weight", "contribution"], value="weight", label="show")
            n_pad = gr.Slider(0, MAX_PAD, value=4, step=1, label="pads")
            side = gr.Radio(list(SIDES), value="right", label="padding side")
        run = gr.Button("Show attribution", elem_id="run-attribution")
        text = gr.HighlightedText(label="tokens (red +, blue -; scaled to the largest)", elem_id="attribution-text",
                                  color_map=None)
        note = gr.Markdown()
        bars = gr.Plot(label="per token")
        with gr.Accordion("numbers (JSON)", open=False):
            raw = gr.JSON()

    @user_errors
    def run_attr(sentence: str, pooling: str, what: str, pads: int, pad_side: str):
        """Token weights and contributions inside one pooling, on the padded sentence (padding gets exactly 0)."""
        a = attribution(classifier, sentence, pooling, int(pads), pad_side)
        md = (f"{a.note}. Rebuilt from these weights, the vector matches the model's to {a.vector_max_diff:.1e}; "
              f"the real tokens' weights match the unpadded run to {a.unpadded_max_diff:.1e}.")
        return {text: views.highlighted(a, what), note: md, bars: views.attribution_bars(a, what),
                raw: views.attribution_json(a)}

    gr.on([run.click, name.change, quantity.change], run_attr, [text_box, name, quantity, n_pad, side],
          [text, note, bars, raw], api_name="attribution", **MODEL)
