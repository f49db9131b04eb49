"""The lesson path: the tabs' fixed order, their groups, and a guided tour (previous / next, one sentence of why per step).

The order follows a lesson: what the model answers and the shapes on the way (and why ELECTRA has no pooler_output),
inside the encoder, the poolings themselves, the pitfalls, then your own data. The tour runs in the browser: its
buttons select the neighbouring tab (so the link follows), and the step's sentence follows whichever tab is open.
"""
import json

import gradio as gr

GROUPS = ["The answer and its shapes", "Inside the encoder", "Pooling", "Pitfalls", "Your data"]
# (group index, tab id, why this step), in lesson order: the page builds its tabs in this order
LESSON = [
    (0, "shape-trace", "Start here: the prediction is the end of a pipeline. Follow every tensor from token ids to "
                       "probabilities, with named dimensions."),
    (0, "where-is-my-pooler-output", "ElectraModel returns no pooler_output (BertModel does): see what it returns "
                                     "instead, and where the classifier's pooling really happens."),
    (0, "any-encoder", "Whether pooler_output exists depends on the architecture: BERT, RoBERTa, DistilBERT, "
                       "DeBERTa-v2, ALBERT and ELECTRA side by side."),
    (1, "hidden-states", "Inside the encoder there is one vector per token and per layer: a pooling has to turn T of "
                         "them into one."),
    (1, "attention-heads", "How tokens mix: what the [CLS] row can see in each layer, and how self-attention differs "
                           "from attention pooling."),
    (2, "pooling-side-by-side", "The same hidden states pooled every way: different vectors, different norms, "
                                "sometimes a different answer."),
    (2, "pooling-attribution", "Which tokens make each pooled vector, and why padding must get exactly 0."),
    (2, "layer-x-pooling", "Every pooling on every layer: where the sentence's meaning settles."),
    (2, "compare", "Two sentences through every pooling: 'not bad at all' vs 'bad' shows which poolings hear the "
                   "negation."),
    (2, "code", "The PyTorch lines for each pooling, to paste into a LightningModule."),
    (3, "padding-lab", "Pitfall: forget the attention mask and padding moves the vector, sometimes the prediction."),
    (3, "mismatch", "Pitfall: a head trained on one pooling and served another loses accuracy without an error."),
    (3, "similarity", "Pitfall: a pooling that classifies well can retrieve badly (cosine neighbours vs a linear "
                      "probe)."),
    (4, "dataset", "Your data: every pooling over a labelled file, and the sentences the model gets wrong."),
]
TAB_IDS = [t for _, t, _ in LESSON]


def step_text(i: int) -> str:
    group, _, why = LESSON[i]
    return f"**Step {i + 1} of {len(LESSON)} · {GROUPS[group]}.** {why}"


# a gap and a rule before the first tab of each group (the tablist stays one flat list of role=tab buttons)
CSS = "".join(f'#tabs [role=tab][data-tab-id="{t}"] {{ margin-left: 10px; border-left: 2px solid '
              f'var(--border-color-primary); }}\n' for i, (g, t, _) in enumerate(LESSON) if i and g != LESSON[i - 1][0])
# room for the longest step's sentence, so a step never moves the tabs below it
CSS += ("#tour { align-items: center; } #tour-step { min-height: 3.4em; }\n"
        "@media (max-width: 1100px) { #tour-step { min-height: 5em; } }\n"
        "@media (max-width: 640px) { #tour { flex-wrap: wrap !important; }"
        " #tour-step { order: -1; flex: 1 1 100% !important; min-width: 100% !important; min-height: 7.5em; } }\n")


def tour_bar():
    """The tour's row (previous, the step's sentence, next); returns (its sentence, wire(tabs) to call after the tabs)."""
    with gr.Row(elem_id="tour", equal_height=True):
        back = gr.Button("← Previous step", size="sm", scale=0, min_width=130, elem_id="tour-prev")
        text = gr.Markdown(step_text(0), elem_id="tour-step")
        forward = gr.Button("Next step →", size="sm", scale=0, min_width=130, elem_id="tour-next")
    order, steps = json.dumps(TAB_IDS), json.dumps([step_text(i) for i in range(len(LESSON))])

    def wire(tabs: gr.Tabs):
        step = ("(d) => { const order = " + order + "; const i = order.indexOf(window.electraTab());"
                " const j = Math.min(order.length - 1, Math.max(0, (i < 0 ? 0 : i) + d));"
                " const b = document.querySelector(`#tabs [role=tab][data-tab-id=\"${order[j]}\"]`); if (b) b.click(); }")
        back.click(None, None, None, js=f"() => ({step})(-1)")
        forward.click(None, None, None, js=f"() => ({step})(1)")
        tabs.change(None, None, text, js=f"() => {{ const steps = {steps}, i = {order}.indexOf(window.electraTab());"
                                         f" return steps[i < 0 ? 0 : i]; }}")
    return text, wire
