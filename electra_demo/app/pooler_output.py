"""The "Where is my pooler_output?" tab: live BertModel vs ElectraModel outputs and a LightningModule per pooling."""
import gradio as gr

from ..errors import InputError
from ..lab.pooler_output import explain_pooler
from ..views import pooler_output as views
from .common import numbers, user_errors
from .explain import Follow


def pooler_tab(classifier) -> tuple[list, Follow]:
    """The tab for the served model: (its endpoint, how it follows the model menu: the checkpoint's own row)."""
    ex = explain_pooler(classifier)
    names = list(ex.snippets)
    with gr.Tab("Where is my pooler_output?", id="where-is-my-pooler-output"):
        facts = gr.Markdown(views.pooler_markdown(ex))
        with gr.Row():
            gr.Code(ex.bert_pooler_source, language="python", label="transformers: BertPooler", interactive=False)
            gr.Code(ex.head_source, language="python", label="transformers: ElectraClassificationHead", interactive=False)
        choice = gr.Dropdown(names, value=names[0], label="pooling for the LightningModule", elem_id="snippet-pooling")
        code = gr.Code(ex.snippets[names[0]], language="python", label="LightningModule", interactive=False)
        raw = numbers(views.pooler_json(ex))

    def snippet(name: str) -> str:
        """A complete LightningModule for one pooling."""
        if not isinstance(name, str) or name not in ex.snippets:
            raise InputError(f"unknown pooling {name!r}; valid: {', '.join(names)}")
        return ex.snippets[name]

    choice.change(user_errors(snippet), choice, code, api_visibility="private")

    def pooler_api(pooling: str = names[0]) -> dict:
        """The live pooler_output facts (BertModel vs ElectraModel) and a complete LightningModule for one pooling."""
        return {"lightning_module": snippet(pooling), **views.pooler_json(ex)}

    def follow(other) -> dict:
        """Another model in the menu: its backbone's row (the tiny BERT/ELECTRA rows and the snippets stay)."""
        mine = explain_pooler(other)
        return {facts: views.pooler_markdown(mine), raw: views.pooler_json(mine)}

    return [(pooler_api, "pooler_output", {})], Follow(follow, [facts, raw], {"snippet": choice})
