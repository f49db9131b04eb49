"""The dataset tab: every pooling over a labelled file (PCA, probe and head accuracy, confusion, misclassified rows)."""
import os

import gradio as gr

from ..data import load_label_names
from ..errors import InputError
from ..lab.dataset import MAX_BYTES, MAX_ROWS, MAX_TOKENS, dataset_view
from ..views import dataset as views
from .common import HEAVY, STATE_TTL, UPLOAD_TYPES, Lab, numbers, stop_if_gone, user_errors


def offered_files(paths: list[str], labels: list[str]) -> dict[str, str]:
    """{name: path} of the bundled files whose labels.json names exactly this model's labels (others are not offered)."""
    return {os.path.basename(p): p for p in paths or [] if load_label_names(p) == list(labels)}


def dataset_tab(classifier, dataset_files: list[str] | None = None, models=None, choice=None):
    """The tab; returns (misclassified table, dataset state, its Lab) so the page can send a clicked row to every view
    and fill the tab on load with the bundled file."""
    files = offered_files(dataset_files, classifier.labels)
    names = classifier.model.available_poolings()
    with gr.Tab("Dataset", id="dataset"):
        gr.Markdown(f"A labelled .tsv/.csv (at most {MAX_ROWS:,} rows, {MAX_BYTES / 1e6:.0f} MB, {MAX_TOKENS:,} tokens; labels: "
                    f"{', '.join(classifier.labels)} or their ids). Every pooling over every sentence, in batches. "
                    "Click a misclassified sentence to explain it in every view.")
        with gr.Row():
            upload = gr.File(label="labelled file", file_types=list(UPLOAD_TYPES), type="filepath")
            pick = gr.Dropdown(list(files), value=next(iter(files), None), label="or pick a file", visible=bool(files))
            text_col = gr.Textbox("sentence", label="text column")
            label_col = gr.Textbox("label", label="label column")
        run = gr.Button("Run dataset view", elem_id="run-dataset")
        summary = gr.Markdown(label="summary")
        acc = gr.Plot(label="accuracy per pooling")
        scatter = gr.Plot(label="PCA per pooling")
        method = gr.Dropdown(names, value=classifier.main_pooling, label="pooling for the details")
        conf = gr.Plot(label="confusion matrix")
        wrong = gr.Dataframe(headers=views.WRONG_HEADERS, label="misclassified (click a row)", interactive=False,
                             wrap=True, elem_id="misclassified")
        raw = numbers(label="numbers")
        state = gr.State(None, time_to_live=STATE_TTL)

    def details(view, pooling):
        return {conf: views.confusion_figure(view, pooling), wrong: views.misclassified_table(view, pooling),
                raw: views.dataset_json(view, pooling)}

    @user_errors
    def run_dataset(file: str | None, picked: str | None, text_column: str, label_column: str, pooling: str,
                    model: str | None = None, progress=gr.Progress()):
        """Every pooling over a labelled file: PCA, linear probe and head accuracy, confusion, misclassified rows."""
        if file:
            path = file
        elif picked in files:
            path = files[picked]
        else:
            raise InputError("no file given", ui="upload a labelled .tsv/.csv file" + (" or pick one" if files else ""))
        c = models.get(model) if models else classifier
        valid = c.model.available_poolings()
        if not isinstance(text_column, str) or not isinstance(label_column, str) or pooling not in valid:
            raise InputError(f"text and label columns must be names; the pooling one of {', '.join(valid)}")
        # an upload is never deleted here: uploads are stored by content, so another session may hold the same file;
        # the server's sweep deletes it after a short time (server.sweep_temp_files)
        view = dataset_view(c, path, text_column.strip(), label_column.strip(),
                            progress=lambda f, d: (stop_if_gone(), progress(f, desc=d)), name=os.path.basename(path))
        md = (f"**{view.name}**: {view.n} sentences, probe trained on {view.n - int(view.is_test.sum())} "
              f"and scored on {int(view.is_test.sum())} held-out rows (fixed random split, seed 0; ridge on standardised "
              "frozen vectors). Head accuracy on the same held-out rows and on all rows.")
        return {summary: md, acc: views.dataset_accuracy(view), scatter: views.dataset_scatter(view),
                **details(view, pooling), state: view, upload: None}

    @user_errors
    def change_method(view, pooling: str):
        """Confusion matrix and misclassified rows of one pooling, from the last dataset run."""
        if view is None:
            raise InputError("no dataset has been run yet", ui="press 'Run dataset view' first")
        return details(view, pooling)

    inputs = [upload, pick, text_col, label_col, method] + ([choice] if choice is not None else [])
    outputs = [summary, acc, scatter, conf, wrong, raw, state, upload]
    run.click(run_dataset, inputs, outputs, api_name="dataset", **HEAVY)
    method.change(change_method, [state, method], [conf, wrong, raw], api_visibility="private")
    return wrong, state, Lab(run_dataset, inputs, outputs)
