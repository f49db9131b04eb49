"""Two models, one sentence: a section of the Compare tab. The explained sentence through the menu's model (A) and a
second loaded model (B): both predictions per head, both shape traces, each pooling's neighbours under both."""
import gradio as gr

from ..data import read_rows
from ..lab.model_pair import model_pair
from ..views import model_pair as views
from .common import MODEL, explained, sentence, user_errors

NONE = "(none)"


def two_models(models, shown, choice, context_file: str):
    """Place the section (inside the Compare tab) and wire it: it follows the explained sentence and both menus."""
    with gr.Accordion("Two models, one sentence", open=True, elem_id="two-models"):
        second = gr.Dropdown([(NONE, NONE), *models.choices], value=NONE, elem_id="second-model",
                             label="model B: the explained sentence through a second model (e.g. the from-scratch "
                                   "ELECTRA beside the pretrained one, or your BERT beside ours)")
        summary = gr.Markdown(elem_id="two-models-summary")
        heads = gr.Dataframe(headers=views.HEAD_HEADERS, interactive=False, wrap=True, label="every head of both",
                             elem_id="two-models-heads")
        shapes = gr.Dataframe(headers=views.SHAPE_HEADERS, interactive=False, wrap=True,
                              label="both shape traces", elem_id="two-models-shapes")
        neighbours = gr.Dataframe(headers=views.NEIGHBOUR_HEADERS, interactive=False, wrap=True,
                                  label="per pooling: the sentence's nearest neighbours under each model",
                                  elem_id="two-models-neighbours",
                                  column_widths=["120px", "90px", "90px", "400px", "400px"])

    @user_errors
    def fill(text: str, model_a: str, model_b: str):
        if not model_b or model_b == NONE or not isinstance(text, str) or not text.strip():
            return {summary: "Choose a model B to put the explained sentence through both.", heads: None, shapes: None,
                    neighbours: None}
        a, b = models.get(model_a), models.get(model_b)
        texts, _, _ = read_rows(context_file)
        v = model_pair(a, b, sentence(text), list(texts),
                       explained=lambda c, t: explained(models, model_a if c is a else model_b, t))  # the page's cache
        name_a = model_a or models.first_name
        return {summary: views.pair_summary(v, name_a, model_b), heads: views.pair_heads(v),
                shapes: views.pair_shapes(v), neighbours: views.pair_neighbours(v)}

    gr.on([second.change, shown.change, choice.change], fill, [shown, choice, second], [summary, heads, shapes, neighbours],
          api_visibility="private", trigger_mode="always_last", **MODEL)
    return second
