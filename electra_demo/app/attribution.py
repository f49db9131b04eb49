"""The pooling attribution tab: which tokens make the pooled vector (padding gets exactly 0)."""
import gradio as gr

from ..errors import InputError
from ..lab.attribution import attribution, attribution_poolings
from ..lab.padding import ATTRIBUTION_MAX_PADS, SIDES
from ..views import attribution as views
from .common import MODEL, Lab, numbers, sentence, user_errors, when_explained

QUANTITIES = ("weight", "contribution")


def attribution_tab(classifier, shown, models, choice) -> Lab:
    names = attribution_poolings(classifier.model)
    with gr.Tab("Pooling attribution", id="pooling-attribution"):
        gr.Markdown("Which tokens make the pooled vector, on the explained sentence padded with a few [PAD]s: every "
                    "masked pooling gives padding exactly 0. **weight**: the pooling's own coefficient (max: share of the "
                    "H dimensions a token wins); **contribution**: share of the pooled vector's squared norm (signed for "
                    "weighted sums).")
        with gr.Row():
            name = gr.Dropdown(names, value="attention" if "attention" in names else names[0], label="pooling",
                               elem_id="attr-pooling")
            quantity = gr.Radio(list(QUANTITIES), value="weight", label="show", elem_id="attr-show")
            n_pad = gr.Slider(0, ATTRIBUTION_MAX_PADS, value=4, step=1, label="pads", elem_id="attr-pads")
            side = gr.Radio(list(SIDES), value="right", label="padding side", elem_id="attr-side")
        text = gr.HighlightedText(label="tokens (red +, blue -; scaled to the largest)", elem_id="attribution-text",
                                  color_map=None)
        note = gr.Markdown()
        bars = gr.Plot(label="per token", elem_id="attribution-bars")
        raw = numbers()

    def check(pooling, what, pads, pad_side, c=classifier):
        valid = attribution_poolings(c.model)
        if pooling not in valid:
            raise InputError(f"unknown pooling {pooling!r}; valid: {', '.join(valid)}")
        if what not in QUANTITIES or pad_side not in SIDES:
            raise InputError(f"show must be one of {', '.join(QUANTITIES)}; side one of {', '.join(SIDES)}")
        if not isinstance(pads, (int, float)) or isinstance(pads, bool) or not 0 <= pads <= ATTRIBUTION_MAX_PADS:
            raise InputError(f"pads must be a number from 0 to {ATTRIBUTION_MAX_PADS}")

    @user_errors
    def fill(sent: str, model: str, pooling: str, what: str, pads: int, pad_side: str):
        c = models.get(model)
        check(pooling, what, pads, pad_side, c)
        a = attribution(c, sentence(sent), pooling, int(pads), pad_side)
        md = (f"{a.note}. Rebuilt from these weights, the vector matches the model's to {a.vector_max_diff:.1e}; "
              f"the real tokens' weights match the unpadded run to {a.unpadded_max_diff:.1e}.")
        return {text: views.highlighted(a, what), note: md, bars: views.attribution_bars(a, what),
                raw: views.attribution_json(a)}

    outputs = [text, note, bars, raw]
    gr.on([name.change, quantity.change, n_pad.change, side.change], when_explained(fill), [shown, choice, name, quantity, n_pad, side],
          outputs, api_visibility="private", trigger_mode="always_last", **MODEL)

    first = "attention" if "attention" in names else names[0]  # the served model's: a BERT checkpoint has no attention

    def attribution_api(text: str, pooling: str = first, show: str = "weight", pads: int = 4,
                        side: str = "right") -> dict:
        """Token weights and contributions inside one pooling, on the padded sentence (padding gets exactly 0)."""
        check(pooling, show, pads, side)
        return views.attribution_json(attribution(classifier, sentence(text), pooling, int(pads), side))

    lab = Lab(fill, [choice, name, quantity, n_pad, side], outputs, [(attribution_api, "attribution", MODEL)])
    lab.url = {"attr_pooling": name, "attr_show": quantity, "attr_pads": n_pad, "attr_side": side}  # keys in the link
    return lab
