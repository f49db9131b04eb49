"""lab_tabs(classifier, text_box): the five lab tabs, added inside an existing gr.Blocks / gr.Tabs.

Padding lab (/padding_lab), where is my pooler_output? (/pooler_output), pooling attribution
(/attribution), layer x pooling grid (/layer_grid, /layer_similarity) and dataset view (/dataset,
/dataset_method). Handlers call the pure modules and only format their dataclasses; bad input
becomes a gr.Error with the pure module's message. build_lab_demo(classifier) is a standalone page
with just these tabs (python -m electra_demo.ui_lab --checkpoint PATH).
"""
import argparse
import functools
import html
import os

import gradio as gr
import numpy as np
import pandas as pd

from . import lab_plots
from .attribution import MAX_PAD, attribution, attribution_poolings
from .checkpoint import Classifier
from .dataset_view import MAX_BYTES, MAX_ROWS, dataset_view, misclassified
from .explain import MAX_CHARS
from .lab_text import batched_table, highlighted, padding_summary, padding_table, pooler_markdown
from .lab_json import attribution_json, dataset_json, layer_grid_json, padding_json, pooler_json
from .layer_grid import layer_grid
from .padding_lab import DEFAULT_OTHER, MAX_PADS, SIDES, padding_lab
from .pooler_explainer import explain_pooler

WRONG_HEADERS = ["row", "sentence", "gold", "predicted", "confidence"]


def _user_errors(fn):
    """Run fn; ValueError (InputError, DataError, bad option) -> gr.Error with its message."""
    @functools.wraps(fn)  # keeps the signature: gradio finds gr.Progress / gr.SelectData parameters through it
    def wrapped(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except ValueError as e:
            raise gr.Error(str(e), title="Please check the input", print_exception=False) from None

    return wrapped


# ---- tabs ----

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

    @_user_errors
    def run_padding(text, n_pads, other, side):
        """Padding sweep: every pooling's distance/cosine to its unpadded vector, head predictions, batched check."""
        lab = padding_lab(classifier, text, int(n_pads), other)
        return (padding_summary(lab), lab_plots.padding_curves(lab), lab_plots.padding_vectors(lab, side),
                padding_table(lab), batched_table(lab), padding_json(lab))

    gr.on([run.click, side.change], run_padding, [text_box, n, other, side], [summary, curves, vectors, preds, batched, raw],
          api_name="padding_lab")


def pooler_tab(classifier):
    ex = explain_pooler(classifier)
    names = list(ex.snippets)
    with gr.Tab("Where is my pooler_output?"):
        gr.Markdown(pooler_markdown(ex))
        with gr.Row():
            gr.Code(ex.bert_pooler_source, language="python", label="transformers: BertPooler", interactive=False)
            gr.Code(ex.head_source, language="python", label="transformers: ElectraClassificationHead", interactive=False)
        choice = gr.Dropdown(names, value=names[0], label="pooling for the LightningModule", elem_id="snippet-pooling")
        code = gr.Code(ex.snippets[names[0]], language="python", label="LightningModule", interactive=False)
        with gr.Accordion("numbers (JSON)", open=False):
            raw = gr.JSON(pooler_json(ex))

    @_user_errors
    def snippet(pooling):
        """A complete LightningModule for `pooling`, plus the live pooler_output facts as JSON."""
        if pooling not in ex.snippets:
            raise ValueError(f"unknown pooling {pooling!r}; valid: {', '.join(names)}")
        return ex.snippets[pooling], pooler_json(ex)

    choice.change(snippet, choice, [code, raw], api_name="pooler_output")


def attribution_tab(classifier, text_box):
    names = attribution_poolings(classifier.model)
    with gr.Tab("Pooling attribution"):
        gr.Markdown("Which tokens make the pooled vector, on the sentence padded with a few [PAD]s: every masked pooling "
                    "gives padding exactly 0. **weight**: the pooling's own coefficient (max: share of the H dimensions a "
                    "token wins); **contribution**: share of the pooled vector's squared norm (signed for weighted sums).")
        with gr.Row():
            pooling = gr.Dropdown(names, value="attention" if "attention" in names else names[0], label="pooling")
            quantity = gr.Radio(["weight", "contribution"], value="weight", label="show")
            n_pad = gr.Slider(0, MAX_PAD, value=4, step=1, label="pads")
            side = gr.Radio(list(SIDES), value="right", label="padding side")
        run = gr.Button("Show attribution", elem_id="run-attribution")
        text = gr.HighlightedText(label="tokens (red +, blue -; scaled to the largest)", elem_id="attribution-text")
        note = gr.Markdown()
        bars = gr.Plot(label="per token")
        with gr.Accordion("numbers (JSON)", open=False):
            raw = gr.JSON()

    @_user_errors
    def run_attr(sentence, pooling, quantity, n_pad, side):
        """Token weights and contributions inside one pooling, on the padded sentence (padding gets exactly 0)."""
        a = attribution(classifier, sentence, pooling, int(n_pad), side)
        md = (f"{a.note}. Rebuilt from these weights, the vector matches the model's to {a.vector_max_diff:.1e}; "
              f"the real tokens' weights match the unpadded run to {a.unpadded_max_diff:.1e}.")
        return highlighted(a, quantity), md, lab_plots.attribution_bars(a, quantity), attribution_json(a)

    gr.on([run.click, pooling.change, quantity.change], run_attr, [text_box, pooling, quantity, n_pad, side],
          [text, note, bars, raw], api_name="attribution")


def layer_tab(classifier, text_box):
    L = classifier.model.config.num_hidden_layers
    with gr.Tab("Layer x pooling"):
        gr.Markdown("Every pooling applied to every layer's hidden states (layer 0 = embeddings).")
        layer = gr.Slider(0, L, value=L, step=1, label="layer for the similarity matrix")
        run = gr.Button("Run layer grid", elem_id="run-layers")
        drift = gr.Plot(label="drift across layers")
        sim = gr.Plot(label="similarity between poolings at the chosen layer")
        gr.Markdown("**Exploratory probe.** The trained heads were trained on the last layer; below they read earlier "
                    "layers too. That shows what a head can read there, not what the model predicts.")
        probe = gr.Plot(label="exploratory probe: heads on every layer")
        with gr.Accordion("numbers (JSON)", open=False):
            raw = gr.JSON()

    @_user_errors
    def run_grid(sentence, layer):
        """Every pooling on every layer: drift, pairwise similarity, heads as an exploratory probe."""
        g = layer_grid(classifier, sentence)
        return lab_plots.layer_drift(g), lab_plots.layer_similarity(g, int(layer)), lab_plots.layer_probe(g), layer_grid_json(g)

    @_user_errors
    def redraw(sentence, layer):
        """The similarity matrix between poolings at one layer."""
        return lab_plots.layer_similarity(layer_grid(classifier, sentence), int(layer))

    run.click(run_grid, [text_box, layer], [drift, sim, probe, raw], api_name="layer_grid")
    layer.release(redraw, [text_box, layer], sim, api_name="layer_similarity", trigger_mode="always_last")


def dataset_tab(classifier, text_box, dataset_files):
    files = {os.path.basename(p): p for p in dataset_files or []}
    names = classifier.model.available_poolings()
    with gr.Tab("Dataset"):
        gr.Markdown(f"A labelled .tsv/.csv (at most {MAX_ROWS:,} rows, {MAX_BYTES / 1e6:.0f} MB; labels: "
                    f"{', '.join(classifier.labels)} or their ids). Every pooling over every sentence, in batches. "
                    "Click a misclassified sentence to send it to the sentence box.")
        with gr.Row():
            upload = gr.File(label="labelled file", file_types=[".tsv", ".csv"], type="filepath")
            pick = gr.Dropdown(list(files), value=None, label="or pick a file", visible=bool(files))
            text_col = gr.Textbox("sentence", label="text column")
            label_col = gr.Textbox("label", label="label column")
        run = gr.Button("Run dataset view", elem_id="run-dataset")
        summary = gr.Markdown()
        acc = gr.Plot(label="accuracy per pooling")
        scatter = gr.Plot(label="PCA per pooling")
        method = gr.Dropdown(names, value=classifier.default_pooling, label="pooling for the details")
        conf = gr.Plot(label="confusion matrix")
        wrong = gr.Dataframe(headers=WRONG_HEADERS, label="misclassified (click a row)", interactive=False, wrap=True,
                             elem_id="misclassified")
        with gr.Accordion("numbers (JSON)", open=False):
            raw = gr.JSON()
        state = gr.State(None, time_to_live=3600)

    def details(view, pooling):
        rows = [list(r[:4]) + [None if np.isnan(r[4]) else round(r[4], 3)] for r in misclassified(view, pooling)]
        return lab_plots.confusion_figure(view, pooling), pd.DataFrame(rows, columns=WRONG_HEADERS), dataset_json(view, pooling)

    @_user_errors
    def run_dataset(file, picked, text_column, label_column, pooling, progress=gr.Progress()):
        """Every pooling over a labelled file: PCA, linear probe and head accuracy, confusion, misclassified rows."""
        if file:
            path = file
        elif picked in files:
            path = files[picked]
        else:
            raise ValueError("upload a labelled .tsv/.csv file" + (" or pick one" if files else ""))
        view = dataset_view(classifier, path, text_column.strip(), label_column.strip(),
                            progress=lambda f, d: progress(f, desc=d))
        md = (f"**{html.escape(view.name)}**: {view.n} sentences, probe trained on {view.n - int(view.is_test.sum())} "
              f"and scored on {int(view.is_test.sum())} held-out rows (fixed random split, seed 0; ridge on standardised "
              "frozen vectors). Head accuracy on the same held-out rows and on all rows.")
        return (md, lab_plots.dataset_accuracy(view), lab_plots.dataset_scatter(view), *details(view, pooling), view)

    @_user_errors
    def change_method(view, pooling):
        """Confusion matrix and misclassified rows of one pooling, from the last dataset run."""
        if view is None:
            raise ValueError("run the dataset view first")
        return details(view, pooling)

    def send(evt: gr.SelectData):
        return evt.row_value[1] if evt.row_value else gr.update()

    run.click(run_dataset, [upload, pick, text_col, label_col, method], [summary, acc, scatter, conf, wrong, raw, state],
              api_name="dataset")
    method.change(change_method, [state, method], [conf, wrong, raw], api_name="dataset_method")
    if text_box is not None:
        wrong.select(send, None, text_box, api_visibility="private")
    return wrong


def lab_tabs(classifier: Classifier, text_box: gr.Textbox, dataset_files: list[str] | None = None) -> dict:
    """Add the five lab tabs to the current gr.Tabs. Returns {"misclassified": the Dataframe} for extra wiring."""
    padding_tab(classifier, text_box)
    pooler_tab(classifier)
    attribution_tab(classifier, text_box)
    layer_tab(classifier, text_box)
    return {"misclassified": dataset_tab(classifier, text_box, dataset_files)}


def build_lab_demo(classifier: Classifier, dataset_files: list[str] | None = None) -> gr.Blocks:
    """A standalone page with a sentence box and the lab tabs (for trying them and for the server test)."""
    with gr.Blocks(title="ELECTRA lab") as demo:
        gr.Markdown("# ELECTRA lab")
        text = gr.Textbox("the movie was really good", label="sentence", lines=2, max_length=MAX_CHARS, elem_id="input-text")
        with gr.Tabs():
            lab_tabs(classifier, text, dataset_files)
    demo.queue(max_size=32, default_concurrency_limit=4)
    return demo


def main(argv=None):
    p = argparse.ArgumentParser(description="the lab tabs alone, for trying them")
    p.add_argument("--checkpoint", default=None)
    p.add_argument("--port", type=int, default=7861)
    p.add_argument("--data", nargs="*", default=[], help="labelled .tsv/.csv files offered in the dataset tab")
    args = p.parse_args(argv)
    from .checkpoint import load_classifier

    build_lab_demo(load_classifier(args.checkpoint), args.data).launch(server_name="127.0.0.1", server_port=args.port)


if __name__ == "__main__":
    main()
