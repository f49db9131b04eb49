"""build_demo(classifier) -> gr.Blocks: the explorer page. It only places components and formats an Explanation.

One source of truth: `shown` holds the explained sentence; Explain (button, Enter, an example, a misclassified row,
a shared link) runs `explain` once for every main view, then every lab tab on that same sentence. Editing the box
does not re-run anything: a banner marks the views as showing the previous sentence until Explain (no forward pass
per keystroke on a shared 2-core server, and a projected view never changes under the teacher's typing).
The URL carries the sentence, the tab and the controls, so a link reopens the same view.
"""
import os
import tempfile

import gradio as gr

from ..checkpoint import LoadedModel
from ..lab.attribution import attribution_poolings
from ..lab.explain import MAX_CHARS
from ..views import compare as compare_views
from ..views import explain as views
from . import permalink
from .attribution import attribution_tab
from .common import DELETE_CACHE, MODEL, QUEUE_SIZE, explained, sentence, user_errors, when_explained
from .dataset import dataset_tab
from .explain import api_endpoints, code_tab, compare_tab, hidden_tab, pooling_tab, poolings_of, shapes_tab
from .layer_grid import layer_tab
from .lessons import attention_tab, encoder_tab, mismatch_tab, similarity_tab
from .models import Models
from .padding import padding_tab
from .pooler_output import pooler_tab
from .server import add_endpoints
from .tour import CSS as TOUR_CSS
from .tour import TAB_IDS, tour_bar

EXAMPLES = [
    "A gripping, beautifully acted film with a story that stays with you.",
    "The plot was dull and the acting was even worse.",
    "Not bad at all [SEP] though the ending drags.",
    "It is neither good nor bad, just long.",
]
EXAMPLE_DATA = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "examples",
                            "reviews.tsv")
LESSON_DATA = os.path.join(os.path.dirname(EXAMPLE_DATA), "lessons.tsv")  # the similarity and mismatch lessons' set
STALE = ("**The views still show the last explained sentence.** Press Enter or Explain to show this one.")

CSS = """
#stale { border-left: 4px solid #d6604d; padding-left: 8px; }
#stale:empty, #stale .prose:empty { display: none; }
.js-plotly-plot, .plot-container { width: 100% !important; }
/* a drawn figure carries its own title at its top left: Gradio's label badge would sit on it */
.block:has(.js-plotly-plot) > label[data-testid="block-label"] { display: none !important; }
""" + TOUR_CSS + """@media (max-width: 640px) {
  #model-row { flex-direction: column !important; }
  .table-wrap { overflow-x: auto !important; }
  .gradio-container { padding: 4px !important; }
  /* markdown tables (the pooler_output and encoder facts): scroll sideways instead of one letter per line */
  .prose table { display: block; overflow-x: auto; }
  .prose table th, .prose table td { min-width: 7em; }
}
"""
# The browser side of the shareable URL and of plots in hidden tabs (plain functions on window, used by events' js).
HEAD = """<script>
window.electraTab = () => {  // the selected tab's id (the link's `tab`)
  const b = document.querySelector('#tabs [role=tab][aria-selected=true]');
  return b ? (b.getAttribute('data-tab-id') || '') : '';
};
window.electraSync = (vals) => {
  const u = new URL(window.location.href);
  for (const [k, v] of Object.entries(vals)) {
    if (v === null || v === undefined || v === '') u.searchParams.delete(k); else u.searchParams.set(k, String(v));
  }
  const tab = window.electraTab(); if (tab) u.searchParams.set('tab', tab);
  const before = window.location.href.split('#')[0];
  window.history.replaceState(null, '', u.toString());
  window.electraRebase(before, window.location.href.split('#')[0]);
  return u.toString();
};
// Plotly draws colour-bar gradients and clip paths as url('<the page's URL>#id') when the page has a <base> (Gradio's
// does), with the URL read once per figure (its private _context._baseUrl). Once the link above changes the URL, those
// references point at another document and draw blank: move the drawn ones and each figure's base to the new URL.
window.electraRebase = (before, after) => {
  if (before === after) return;
  const swap = (v) => v && v.includes(before + '#') ? v.split(before + '#').join(after + '#') : null;
  document.querySelectorAll('.js-plotly-plot').forEach(gd => {
    if (gd._context && !('_baseUrl' in gd._context))  // the browser tests fail on this console error
      console.error(`plotly.js ${(window.Plotly || {}).version}: _context._baseUrl moved; update electraRebase (app/page.py)`);
    if (gd._context && gd._context._baseUrl) gd._context._baseUrl = after;
    gd.querySelectorAll('[style*="url("], [clip-path], [fill^="url("], [mask]').forEach(e => {
      for (const a of ['fill', 'stroke']) { const v = swap(e.style.getPropertyValue(a)); if (v) e.style.setProperty(a, v); }
      for (const a of ['clip-path', 'fill', 'mask']) { const v = swap(e.getAttribute(a)); if (v) e.setAttribute(a, v); }
    });
  });
};
// Titles fitted to each figure's width: views.common.layout wraps them for a phone and keeps the wide fit in
// layout.meta.fit; a figure at least fit.px wide takes the wide one (one or two lines on a laptop or a projector).
window.electraFit = (gd) => {
  const fit = gd.layout && gd.layout.meta && gd.layout.meta.fit;
  if (!fit || !window.Plotly || !gd.clientWidth) return;
  const want = gd.clientWidth >= fit.px ? fit.wide : fit.narrow;
  const get = (k) => k.split(/[.[]|]/).filter(Boolean).reduce((o, p) => (o == null ? o : o[p]), gd.layout);
  if (Object.entries(want).every(([k, v]) => get(k) === v)) return;
  window.Plotly.relayout(gd, want);
};
let electraFitting = 0;  // at most one pass per frame, whatever the number of DOM changes (plotly makes many)
new MutationObserver(() => {
  if (electraFitting) return;
  electraFitting = requestAnimationFrame(() => {
    electraFitting = 0;
    document.querySelectorAll('.js-plotly-plot').forEach(gd => { if (gd.offsetParent) window.electraFit(gd); });
  });
}).observe(document.documentElement, { childList: true, subtree: true });
window.electraResize = () => {  // plots drawn in a hidden tab come back at the wrong width: redraw at the real one
  for (const t of [50, 250]) setTimeout(() => {
    window.dispatchEvent(new Event('resize'));
    document.querySelectorAll('.js-plotly-plot').forEach(p => { if (p.offsetParent && window.Plotly) window.Plotly.Plots.resize(p); });
  }, t);
};
</script>"""


def build_demo(classifier: LoadedModel, dataset_files: list[str] | None = None, models: Models | None = None) -> gr.Blocks:
    """The page for `classifier`; `models` (default: this one only) are the checkpoints offered in its model menu."""
    models = models or Models(classifier)
    L = classifier.model.config.num_hidden_layers
    files = [EXAMPLE_DATA] if dataset_files is None else dataset_files
    set_files = [LESSON_DATA, EXAMPLE_DATA] if dataset_files is None else dataset_files  # similarity, mismatch
    with gr.Blocks(title="ELECTRA explorer", analytics_enabled=False, delete_cache=DELETE_CACHE) as demo:
        gr.Markdown("# ELECTRA explorer\nType a sentence: one forward pass shows the prediction, every tensor's shape, "
                    "the hidden states of each layer and every pooling side by side; the lab tabs take the same sentence. "
                    "Scripts: the [JSON API](api/).")
        with gr.Row(equal_height=True, elem_id="model-row"):
            card = gr.Markdown(views.model_card(classifier), elem_id="model-card")
            choice = gr.Dropdown(models.choices, value=models.first_name, label="model (checkpoint folder)", scale=0,
                                 min_width=340, elem_id="model-choice", interactive=len(models.names) > 1)
        with gr.Row():
            with gr.Column(scale=3):
                text = gr.Textbox(EXAMPLES[0], label="sentence", lines=1, max_lines=6, max_length=MAX_CHARS,
                                  elem_id="input-text", placeholder="Type a sentence and press Enter")
                with gr.Row():
                    run = gr.Button("Explain", variant="primary", elem_id="run")
                    copy = gr.Button("Copy link to this view", elem_id="copy-link", size="md")
                    export = gr.Button("Export JSON + CSV", elem_id="export", size="md")
                examples = gr.Dataset(components=["textbox"], samples=[[s] for s in EXAMPLES],
                                      label="Examples (click one to explain it)", elem_id="examples", type="index")
                link = gr.Textbox(label="link to this view", interactive=False, elem_id="share-link", visible=False)
                files_out = gr.File(label="explanation (JSON) and pooled vectors (CSV)", file_count="multiple",
                                    visible=False, elem_id="export-files")
            with gr.Column(scale=2):
                stale = gr.Markdown("", elem_id="stale")
                shown = gr.Textbox(label="every view shows this sentence", interactive=False, lines=1, max_lines=3,
                                   elem_id="shown-text")  # THE sentence: main and lab tabs read it, never the box
                label = gr.Label(num_top_classes=len(classifier.labels), label="prediction", elem_id="prediction")
                note = gr.Markdown(elem_id="note")
        tour_text, wire_tour = tour_bar()
        # "wrap": every tab in view on one or more rows, each in its fixed place (a selected tab never moves); the
        # tabs in lesson order (tour.LESSON), grouped
        with gr.Tabs(elem_id="tabs", overflow_behavior="wrap") as tabs:
            formatters = shapes_tab()  # the answer and its shapes
            pooler_apis, pooler_follow = pooler_tab(classifier)
            encoder = encoder_tab(classifier, shown)
            slider, heatmap, hidden = hidden_tab(L)  # inside the encoder
            formatters.update(hidden)
            attention = attention_tab(classifier, shown, models, choice)
            formatters.update(pooling_tab())  # pooling
            attribution = attribution_tab(classifier, shown, models, choice)
            grid_layer = [None]
            grid = layer_tab(classifier, shown, models, choice, grid_layer)
            pair, other, compare = compare_tab(classifier, shown, models, choice)
            apis, code_follow = code_tab(poolings_of(classifier))
            apis += pooler_apis
            padding = padding_tab(classifier, shown, models, choice)  # pitfalls
            mismatch = mismatch_tab(classifier, shown, models, choice, set_files)
            similarity = similarity_tab(classifier, shown, models, choice, set_files)
            wrong, data_state, dataset = dataset_tab(classifier, files, models, choice)  # your data
        tab_ids = [t.id for t in tabs.children]
        assert tab_ids == TAB_IDS, f"tabs built out of lesson order: {tab_ids}"
        wire_tour(tabs)
        formatters = {label: lambda e, layer: views.prediction(e), note: lambda e, layer: views.note_markdown(e),
                      **formatters}
        labs = [compare, padding, attribution, grid, similarity, mismatch, attention, encoder]
        follows = [code_follow, pooler_follow]  # the tabs that describe the model rather than the sentence

        @user_errors
        def explore(text_: str, model: str, layer: int):
            """Explain one sentence and fill every main view; it becomes the sentence every tab shows."""
            expl = explained(models, model, text_)
            return {**{c: fmt(expl, int(layer)) for c, fmt in formatters.items()}, shown: expl.text, stale: ""}

        def checked(text_: str) -> None:
            """The box's sentence is one the model takes (InputError otherwise: the page's one message)."""
            sentence(text_)

        lab_inputs = [x for lab in labs for x in lab.inputs]
        lab_outputs = [x for lab in labs for x in lab.outputs]

        def run_labs(text_: str, *controls):
            """Every lab tab on the explained sentence (one queue slot, one after another)."""
            out, i = {}, 0
            for lab in labs:
                out.update(lab.fill(text_, *controls[i:i + len(lab.inputs)]))
                i += len(lab.inputs)
            return out

        @user_errors
        def redraw(text_: str, model: str, layer: int):
            return views.hidden_heatmap(explained(models, model, text_), int(layer))  # no new forward pass

        @user_errors
        def export_files(text_: str, model: str):
            """The explanation as JSON and the pooled vectors as CSV, two files that stand alone (sentence, model,
            source, version, time, named shapes inside; the sentence's slug and the model in their names)."""
            import datetime
            import json

            expl = explained(models, model, text_)
            name = model or models.first_name
            source = os.path.basename(os.path.normpath(models.get(model).source))  # no server path in the file
            created = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
            folder = tempfile.mkdtemp(prefix="electra-export-")
            paths = [os.path.join(folder, n) for n in views.export_names(expl, name)]
            with open(paths[0], "w", encoding="utf-8") as f:
                json.dump(views.export_json(expl, name, source, created), f, ensure_ascii=False)
            with open(paths[1], "w", encoding="utf-8") as f:
                f.write(views.pooled_csv(expl, name))
            return gr.File(paths, visible=True)

        url = permalink.Table(tabs, tab_ids)  # THE table of URL keys: each tab's own keys, plus the page's
        url.add({"sentence": shown, "model": choice, "layer": slider})
        for part in [*labs, *follows]:
            url.add(part.url)
        upload, pick, text_col, label_col, method = dataset.inputs[:5]  # the dataset tab (app/dataset.py) hands no keys
        url.add({"data_file": pick, "data_text": text_col, "data_label": label_col, "data_pooling": method})
        sync_js, sync_inputs = url.js(), url.components

        def explain_chain(*triggers, pre=None):
            """Explain the box's sentence, then every lab tab on it, then put it in the URL. The sentence is checked
            first by a step with no outputs: an empty or invalid one gives one message and leaves every view as it was
            (no view turns into an error badge, "every view shows this sentence" stays true)."""
            check = (gr.on(list(triggers), user_errors(checked), text, None, api_visibility="private")
                     if pre is None else pre.then(user_errors(checked), text, None, api_visibility="private"))
            ev = check.success(explore, [text, choice, slider], [*formatters, shown, stale], api_visibility="private",
                               **MODEL)
            if pre is None:  # typed and sent: on a phone the answer is below the fold, bring it into view
                ev.then(None, None, None, js="() => { if (window.innerWidth < 640) document.getElementById('prediction')"
                                             "?.scrollIntoView({block: 'center'}); }")
            ev.success(run_labs, [shown, *lab_inputs], lab_outputs, api_visibility="private", **MODEL).then(
                None, sync_inputs, None, js=sync_js)
            return ev

        explain_chain(run.click, text.submit)
        text.change(None, [text, shown], stale, js=f"(t, s) => (t.trim() && t.trim() !== (s || '').trim()) ? {STALE!r} : ''")
        slider.change(when_explained(redraw), [shown, choice, slider], heatmap, api_visibility="private", trigger_mode="always_last",
                      show_progress="hidden", **MODEL).then(None, sync_inputs, None, js=sync_js)
        explain_chain(pre=examples.click(lambda i: EXAMPLES[i], examples, text, api_visibility="private"))
        explain_chain(pre=pair.click(lambda: compare_views.TEACHING_PAIR, None, [text, other], api_visibility="private"))
        for control in sync_inputs[1:]:  # every control writes the link at once (in the browser only)
            getattr(control, "submit" if isinstance(control, gr.Textbox) else "change")(None, sync_inputs, None, js=sync_js)
        tabs.change(None, sync_inputs, None, js=sync_js)

        def send(view, evt: gr.SelectData):
            """A clicked misclassified row: its full sentence into the box."""
            if view is None or not evt.row_value:
                return gr.skip()
            return view.texts[int(evt.row_value[0])]

        explain_chain(pre=wrong.select(send, data_state, text, api_visibility="private"))
        copy.click(None, None, link, js="() => { const u = window.location.href; "
                   "try { navigator.clipboard.writeText(u); } catch (e) {} return u; }").then(
            lambda: gr.Textbox(visible=True), None, link, api_visibility="private")
        export.click(when_explained(export_files), [shown, choice], files_out, api_visibility="private", **MODEL)

        def opening(request: gr.Request):
            """Opens ready: the shared URL's view (or the first example), explained as soon as the page loads. Every
            value is checked by the URL table; a bad one is ignored (the control keeps its default)."""
            params = dict(request.query_params) if request else {}
            out = {text: EXAMPLES[0], tabs: gr.Tabs(selected=tab_ids[0])}
            maxima = {}
            if params.get("model") in models.names and params["model"] != models.first_name:
                out.update(switch(params["model"]))
                n = models.get(params["model"]).model.config.num_hidden_layers
                maxima = {c: n for c in (slider, grid_layer[0], attention.url["att_layer"])}
            v = url.read(params, maxima)
            sent = (v.pop(shown, "") or "").strip()
            out[text] = sent[:MAX_CHARS] or EXAMPLES[0]
            out[tabs] = gr.Tabs(selected=v.pop("tab", tab_ids[0]))
            v.pop(choice, None)  # the model: switched above
            return {**out, **v}

        def switch(name: str) -> dict:
            """Another checkpoint: its card, the controls that depend on its size and poolings, the model's tabs."""
            c = models.get(name)
            n = c.model.config.num_hidden_layers
            pools = attribution_poolings(c.model)
            out = {choice: name, card: views.model_card(c), slider: gr.Slider(maximum=n, value=n),
                   grid_layer[0]: gr.Slider(maximum=n, value=n), label: gr.Label(num_top_classes=len(c.labels)),
                   attribution.inputs[1]: gr.Dropdown(pools, value="attention" if "attention" in pools else pools[0])}
            for f in follows:
                out.update(f.fn(c))
            return out

        switch_outputs = [choice, card, slider, grid_layer[0], label, attribution.inputs[1],
                          *[o for f in follows for o in f.outputs]]
        explain_chain(pre=choice.input(user_errors(switch), choice, switch_outputs, api_visibility="private", **MODEL))
        load = demo.load(opening, None, list(dict.fromkeys([text, tabs, *switch_outputs, *url.components[1:]])),
                         api_visibility="private")
        explain_chain(pre=load)
        def dataset_opening(file, picked, *rest):
            """The dataset view on the bundled file that matches the model's labels; without one, a note and no run."""
            if not file and not picked:
                return {dataset.outputs[0]: "No bundled file has this model's labels: upload a labelled .tsv/.csv and press "
                                            "'Run dataset view'."}
            return dataset.fill(file, picked, *rest)

        load.then(dataset_opening, dataset.inputs, dataset.outputs, api_visibility="private", **MODEL)
        demo.json_api = api_endpoints(classifier, apis + [a for lab in labs for a in lab.api])  # also server.light_api
        add_endpoints(demo.json_api)
    demo.queue(max_size=QUEUE_SIZE)
    return demo
