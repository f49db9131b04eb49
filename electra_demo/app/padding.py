"""The padding lab tab: the explained sentence with N pads, right and left, alone and batched."""
import gradio as gr

from ..errors import InputError
from ..lab.explain import MAX_CHARS
from ..lab.padding import DEFAULT_OTHER, MAX_PADS, SIDES, padding_lab
from ..views import padding as views
from .common import MODEL, Lab, numbers, sentence, user_errors, when_explained


def padding_tab(classifier, shown, models, choice) -> Lab:
    with gr.Tab("Padding lab", id="padding-lab"):
        gr.Markdown("The explained sentence with N [PAD] tokens (attention_mask 0), right and left padding. Masked "
                    "poolings must not move; the hand-written unmasked mean / max / `h[:, 0]` do. Each naive vector goes "
                    "through the trained head of the pooling it imitates (naive_mean -> mean head ...).")
        with gr.Row():
            n = gr.Slider(0, MAX_PADS, value=64, step=1, label="N pad tokens (largest in the sweep)", elem_id="pad-slider")
            side = gr.Radio(list(SIDES), value="right", label="side for the vector view", elem_id="pad-side")
        other = gr.Textbox(DEFAULT_OTHER, label="a longer sentence to batch with (Enter re-runs)", max_length=MAX_CHARS,
                           lines=1, elem_id="pad-other")
        summary = gr.Markdown(elem_id="padding-summary")
        curves = gr.Plot(label="distance and cosine to the N = 0 vector", elem_id="padding-curves")
        vectors = gr.Plot(label="vectors at N pads")
        preds = gr.Dataframe(label="predictions of each head as N grows", interactive=False, wrap=True)
        batched = gr.Dataframe(label="alone vs batched with the longer sentence", interactive=False, wrap=True)
        raw = numbers()

    @user_errors
    def fill(text: str, model: str, n_pads: int, other_text: str, pad_side: str):
        lab = padding_lab(models.get(model), sentence(text), int(n_pads), sentence(other_text) if other_text.strip() else "")
        return {summary: views.padding_summary(lab), curves: views.padding_curves(lab),
                vectors: views.padding_vectors(lab, pad_side), preds: views.padding_table(lab),
                batched: views.batched_table(lab), raw: views.padding_json(lab)}

    outputs = [summary, curves, vectors, preds, batched, raw]
    gr.on([n.change, side.change, other.submit], when_explained(fill), [shown, choice, n, other, side], outputs, api_visibility="private",
          trigger_mode="always_last", **MODEL)

    def padding_api(text: str, n_pads: int = 64, other: str = "", side: str = "right") -> dict:
        """Padding sweep as JSON: every pooling's distance/cosine to its unpadded vector, head predictions, batched check."""
        if not isinstance(n_pads, int) or isinstance(n_pads, bool) or not 0 <= n_pads <= MAX_PADS:
            raise InputError(f"n_pads must be a whole number from 0 to {MAX_PADS}")
        if side not in SIDES or not isinstance(other, str):
            raise InputError(f"side must be one of {', '.join(SIDES)}, and other a text")
        return views.padding_json(padding_lab(classifier, sentence(text), n_pads, sentence(other) if other.strip() else ""))

    lab = Lab(fill, [choice, n, other, side], outputs, [(padding_api, "padding_lab", MODEL)])
    lab.url = {"pads": n, "pad_side": side, "pad_b": other}  # this tab's keys in the page's link
    return lab
