"""The padding lab tab: the explained sentence with N pads, right and left, alone and batched."""
import gradio as gr

from ..lab.explain import MAX_CHARS
from ..lab.padding import DEFAULT_OTHER, MAX_PADS, SIDES, padding_lab
from ..views import padding as views
from .common import MODEL, user_errors


def padding_tab(classifier, text_box):
    with gr.Tab("Padding lab"):
        gr.Markdown("The same sentence with N [PAD] tokens (attention_mask 0), right and left padding. Masked poolings "
                    "must not move; the hand-written unmasked mean / max / `h[:, 0]` do. Each naive vector goes through "
                    "the trained head of the pooling it imitates (naive_mean -> mean head ...).")
        with gr.Row():
            n = gr.Slider(0, MAX_PADS, value=64, step=1, label="N pad tokens (largest in the sweep)", elem_id="pad-slider")
            side = gr.Radio(list(SIDES), value="right", label="side for the vector view")
        other = gr.Textbox(DEFAULT_OTHER, label="a longer sentence to batch with", max_length=MAX_CHARS, lines=1)
        run = gr.Button("Run padding lab", elem_id="run-padding")
        summary = gr.Markdown(elem_id="padding-summary")
        curves = gr.Plot(label="distance and cosine to the N = 0 vector")
        vectors = gr.Plot(label="vectors at N pads")
        preds = gr.Dataframe(label="predictions of each head as N grows", interactive=False, wrap=True)
        batched = gr.Dataframe(label="alone vs batched with the longer sentence", interactive=False, wrap=True)
        with gr.Accordion("numbers (JSON)", open=False):
            raw = gr.JSON()

    @user_errors
    def run_padding(text: str, n_pads: int, other: str, side: str):
        """Padding sweep: every pooling's distance/cosine to its unpadded vector, head predictions, batched check."""
        lab = padding_lab(classifier, text, int(n_pads), other)
        return {summary: views.padding_summary(lab), curves: views.padding_curves(lab),
                vectors: views.padding_vectors(lab, side), preds: views.padding_table(lab),
                batched: views.batched_table(lab), raw: views.padding_json(lab)}

    gr.on([run.click, side.change], run_padding, [text_box, n, other, side], [summary, curves, vectors, preds, batched, raw],
          api_name="padding_lab", **MODEL)
