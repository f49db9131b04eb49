"""The "Where is my pooler_output?" tab: live BertModel vs ElectraModel outputs and a LightningModule per pooling."""
import gradio as gr

from ..errors import InputError
from ..lab.pooler_output import explain_pooler
from ..views import pooler_output as views
from .common import user_errors


def pooler_tab(classifier):
    ex = explain_pooler(classifier)
    names = list(ex.snippets)
    with gr.Tab("Where is my pooler_output?"):
        gr.Markdown(views.pooler_markdown(ex))
        with gr.Row():
            gr.Code(ex.bert_pooler_source, language="python", label="transformers: BertPooler", interactive=False)
            gr.Code(ex.head_source, language="python", label="transformers: ElectraClassificationHead", interactive=False)
        choice = gr.Dropdown(names, value=names[0], label="pooling for the LightningModule", elem_id="snippet-pooling")
        code = gr.Code(ex.snippets[names[0]], language="python", label="LightningModule", interactive=False)
        with gr.Accordion("numbers (JSON)", open=False):
            raw = gr.JSON(views.pooler_json(ex))

    @user_errors
    def snippet(name: str):
        """A complete LightningModule for one pooling, plus the live pooler_output facts as JSON."""
        if name not in ex.snippets:
            raise InputError(f"unknown pooling {name!r}; valid: {', '.join(names)}")
        return {code: ex.snippets[name], raw: views.pooler_json(ex)}

    choice.change(snippet, choice, [code, raw], api_name="pooler_output")
