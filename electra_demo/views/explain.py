"""Explanation -> plotly figures, tables, text and the /explain JSON. No gradio here.

Tokens sit on numeric axes with tick text, so repeated tokens ("the" twice) keep their own rows.
Shapes carry dimension names: B batch, T tokens, E embedding size, H hidden size, L layers, C classes.
"""
import csv
import io
import os
import re
from importlib.metadata import PackageNotFoundError, version

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .. import pooling
from ..checkpoint import LoadedModel
from ..data import spreadsheet_safe
from ..encoders import OWN_HEAD
from ..lab.explain import Explanation
from .common import DIVERGING, SEQUENTIAL, escape, layout, md_text, prob_text, rounded, rounded_many, token_axis, zmax

NO_HEAD = "no head trained for this pooling"
SHAPE_HEADERS = ["tensor", "shape", "dtype", "note"]
POOL_HEADERS = ["pooling", "kind", "shape", "norm", "head prediction", "prob", "what it is"]
TOKEN_HEADERS = ["position", "token", "id"]
DIMENSIONS = ("**B** batch (1: one sentence) · **T** tokens · **E** embedding size · **H** hidden size · "
              "**L** layers (L+1 hidden states: the embeddings, then each layer) · **C** classes")
UNK_WARNING = 0.2  # share of [UNK] tokens from which the page warns that the model sees little of the text
# Dimension names per tensor of the shape trace (ShapeRow.name -> names of its axes); pooled[...] rows are (B, H).
AXES = {"tokens": "T", "input_ids": "BT", "attention_mask": "BT", "embeddings": "BTE", "embeddings_project": "BTH",
        "hidden_states": "BTH", "last_hidden_state": "BTH", "pooler_output": "BH", "logits": "BC", "probabilities": "BC"}
CODE_PREAMBLE = ("# in a LightningModule's forward(self, input_ids, mask):\n"
                 "position_ids = (mask.cumsum(1) - 1).clamp(min=0)  # (B, T) counted over real tokens: left padding\n"
                 "# does not shift them (transformers' default 0..T-1 would move every vector, masked poolings too)\n"
                 "out = self.electra(input_ids, attention_mask=mask, position_ids=position_ids)  # no pooler_output\n"
                 "h = out.last_hidden_state  # (B, T, H)\n")
DIMENSION_NAMES = {"B": "batch", "T": "tokens", "E": "embedding size", "H": "hidden size", "L": "layers", "C": "classes"}


def _version() -> str:
    """The installed package's version; in a clone without `pip install -e .`, pyproject.toml's."""
    try:
        return version("electra-demo")
    except PackageNotFoundError:
        path = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "pyproject.toml")
        found = re.search(r'^version = "([^"]+)"', open(path, encoding="utf-8").read(), re.M) if os.path.exists(path) else None
        return f"{found[1]} (source tree)" if found else "unknown"


VERSION = _version()


def layer_name(layer: int, num_layers: int) -> str:
    return "embeddings (hidden_states[0])" if layer == 0 else f"layer {layer} of {num_layers} (hidden_states[{layer}])"


def hidden_heatmap(expl: Explanation, layer: int) -> go.Figure:
    """Per-token hidden states of one layer: tokens down, hidden dimensions across."""
    layer = int(min(max(layer, 0), expl.num_layers))
    z = expl.hidden_states[layer]  # (T, H)
    m = zmax(z)
    T, H = z.shape
    names = [[t] * H for t in escape(expl.tokens)]  # (T, H) the token under the cursor, by name
    fig = go.Figure(go.Heatmap(z=rounded(z), zmin=-m, zmax=m, colorscale=DIVERGING, customdata=names,
                               hovertemplate="token %{y}: %{customdata}<br>dim %{x}<br>%{z}<extra></extra>"))
    fig.update_yaxes(autorange="reversed", **token_axis(expl.tokens))
    fig.update_xaxes(title="hidden dimension (H)")
    return layout(fig, f"Hidden states, {layer_name(layer, expl.num_layers)}: (T={T}, H={H})", 160 + 13 * min(T, 128))


def token_trajectories(expl: Explanation) -> go.Figure:
    """Each token's vector across layers: its L2 norm, and its cosine similarity to the final [CLS]; stacked panels."""
    fig = make_subplots(rows=2, cols=1, vertical_spacing=0.22,
                        subplot_titles=("norm of each token's vector (every layer ends in LayerNorm, which keeps "
                                        "norms in a narrow band)", "cosine to the final [CLS]"))
    ticks = [layer_name(i, expl.num_layers).split(" (")[0] for i in range(expl.num_layers + 1)]
    for row, (z, scale, kw) in enumerate([(expl.token_norms, SEQUENTIAL, {}),
                                          (expl.cls_cosine, DIVERGING, dict(zmin=-1, zmax=1))], start=1):
        fig.add_trace(go.Heatmap(z=rounded(z), colorscale=scale, colorbar=dict(y=0.8 if row == 1 else 0.2, len=0.4), **kw,
                                 hovertemplate="layer %{y}<br>token %{x}<br>%{z}<extra></extra>"), row=row, col=1)
        fig.update_xaxes(row=row, col=1, tickangle=-60, **token_axis(expl.tokens))
        fig.update_yaxes(row=row, col=1, tickmode="array", tickvals=list(range(len(ticks))), ticktext=ticks)
    return layout(fig, "How each token's vector changes across layers", 560)


def pooled_label(expl: Explanation, name: str) -> str:
    hp = expl.heads.get(name)
    return f"{name}: {hp.label} {prob_text(hp.prob)}" if hp else f"{name}: no head"


def pooled_vectors(expl: Explanation) -> go.Figure:
    """Every pooled sentence vector as one row, on ONE shared colour scale (sizes compare across poolings); a button
    in the figure rescales each row to its own largest |value| (patterns compare even when one pooling, e.g.
    mean_sqrt_len, dominates the shared scale). Rows are named by pooling only (short labels leave a phone its width);
    each head's prediction is in the table below."""
    names = list(expl.pooled)
    z = np.stack([expl.pooled[p] for p in names])  # (P, H)
    m = zmax(z)
    peak = np.abs(z).max(1)  # (P,) each row's largest |value|
    per_row = z / peak.clip(min=1e-12)[:, None]  # (P, H) each row in [-1, 1]
    top = int(peak.argmax())
    dominates = len(names) > 1 and peak[top] > 3 * float(np.median(peak))
    title = (f"Sentence vectors (B=1, H={z.shape[1]}) on one colour scale [-{m:.2g}, {m:.2g}]" +
             (f" ({names[top]} dominates it)" if dominates else "") + "; per row: each row over its own largest |value|")
    # one heatmap the buttons restyle; its colour bar names the scale in use
    scales = [{"z": [rounded(values)], "zmin": [-bound], "zmax": [bound], "colorbar.title.text": [what],
               "hovertemplate": ["%{y}<br>dim %{x}<br>" + what + " %{z}<extra></extra>"]}
              for values, bound, what in [(z, m, "value"), (per_row, 1, "value / row max")]]
    fig = go.Figure(go.Heatmap(z=scales[0]["z"][0], zmin=-m, zmax=m, colorscale=DIVERGING, colorbar_title=dict(text="value", side="right"),
                               hovertemplate=scales[0]["hovertemplate"][0]))
    fig.update_yaxes(autorange="reversed", tickmode="array", tickvals=list(range(len(names))),
                     ticktext=names)
    fig.update_xaxes(title="hidden dimension")
    layout(fig, title, 150 + 26 * len(names), reserve=36)  # the buttons sit between the title and the plot
    buttons = [dict(label="one scale", method="restyle", args=[scales[0]]),
               dict(label="per row", method="restyle", args=[scales[1]])]
    fig.update_layout(updatemenus=[dict(type="buttons", direction="right", buttons=buttons, showactive=True, x=1,
                                        xanchor="right", y=1.0, yanchor="bottom", pad=dict(t=2, b=2),
                                        font=dict(size=10))])  # small: buttons push the margins
    return fig


def similarity_matrix(expl: Explanation) -> go.Figure:
    """Cosine similarity between the pooled vectors of every method."""
    names = list(expl.pooled)
    fig = go.Figure(go.Heatmap(z=rounded(expl.similarity, 2), x=names, y=names, zmin=-1, zmax=1, colorscale=DIVERGING,
                               texttemplate="%{z:.2f}", hovertemplate="%{y} vs %{x}: %{z}<extra></extra>"))
    fig.update_yaxes(autorange="reversed")
    return layout(fig, "Cosine similarity between pooling methods", 140 + 32 * len(names))


def prediction(expl: Explanation) -> dict[str, float]:
    return {name: float(p) for name, p in zip(expl.labels, expl.probs)}


def named_shape(name: str, shape: str, num_layers: int | None = None) -> str:
    """"(1, 10, 256)" -> "(B=1, T=10, H=256)"; "5 x (1, 10, 256)" -> "L+1=5 x (B=1, T=10, H=256)"; others unchanged."""
    m = re.fullmatch(r"(?:(\d+) x )?\(([\d, ]*)\)", shape.strip())
    axes = AXES.get(name) or ("BH" if name.startswith(("pooled[", "heads[")) else None)
    if not m or axes is None:
        return shape
    dims = [d for d in m.group(2).replace(" ", "").split(",") if d]
    if len(dims) != len(axes):
        return shape
    inner = "(" + ", ".join(f"{a}={d}" for a, d in zip(axes, dims)) + ")"
    return f"L+1={m.group(1)} x {inner}" if m.group(1) else inner


def shape_table(expl: Explanation) -> pd.DataFrame:
    return pd.DataFrame([[r.name, named_shape(r.name, r.shape), r.dtype, one_line(r.note)] for r in expl.shapes],
                        columns=SHAPE_HEADERS)


def one_line(code: str) -> str:
    """Multi-line code in a table cell (which drops newlines): each line break shown as ' ⏎ ', so a trailing
    comment never swallows the next statement. The Code tab and /explain keep the real lines."""
    return " ⏎ ".join(line.strip() for line in code.splitlines() if line.strip())


def token_table(expl: Explanation) -> pd.DataFrame:
    return pd.DataFrame([[i, t, k] for i, (t, k) in enumerate(zip(expl.tokens, expl.input_ids))], columns=TOKEN_HEADERS)


def pooling_table(expl: Explanation) -> pd.DataFrame:
    rows = []
    for p, v in expl.pooled.items():
        hp = expl.heads[p]
        rows.append([p, pooling.get(p).kind, f"(B=1, H={len(v)})", round(float(np.linalg.norm(v)), 3),
                     hp.label if hp else NO_HEAD, prob_text(hp.prob) if hp else None, pooling.get(p).description])
    return pd.DataFrame(rows, columns=POOL_HEADERS)


def code_for(name: str) -> str:
    """The lines that make pooling `name`'s vector inside a LightningModule, from its record."""
    rec = pooling.get(name)
    init = "".join(f"# __init__: {line}\n" for line in rec.init_code.splitlines())
    tail = "" if rec.kind == "naive" else "logits = self.head(vec[:, None, :])  # ElectraClassificationHead slices [:, 0]\n"
    return f"{CODE_PREAMBLE}{init}{rec.forward_code}\n{tail}"


def unk_share(expl: Explanation) -> tuple[int, int]:
    """([UNK] tokens, real tokens): [CLS] and [SEP] added by the tokenizer are not counted."""
    real = expl.tokens[1:-1]
    return sum(t == "[UNK]" for t in real), len(real)


def warnings(expl: Explanation) -> list[str]:
    """What a practitioner should know before trusting the numbers: truncation, a text the tokenizer barely knows."""
    out = []
    if expl.truncation_note:
        out.append(f"{expl.truncation_note} (the model reads at most {expl.max_length}): the views show the first part only.")
    unk, real = unk_share(expl)
    if real and unk / real >= UNK_WARNING:
        out.append(f"{unk} of {real} tokens are [UNK] (words the tokenizer does not know): the model sees little of "
                   "this text, so its prediction says little about it.")
    return out


def note_markdown(expl: Explanation) -> str:
    head = f"Main head: **{expl.main_pooling}** pooling, {len(expl.tokens)} tokens (T={len(expl.tokens)})."
    return head + "".join(f"\n\n**Warning:** {w}" for w in warnings(expl))


def pooled_csv(expl: Explanation, model: str = "") -> str:
    """The pooled vectors as CSV, standing alone: one row per pooling with the sentence, the model, the vector's named
    shape and its head's label and probability, then dim_0 .. dim_{H-1}. Cells a spreadsheet would run as a formula
    are escaped (data.spreadsheet_safe)."""
    names = list(expl.pooled)
    H = len(expl.pooled[names[0]])
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["sentence", "model", "pooling", "shape", "head_label", "head_prob"] + [f"dim_{i}" for i in range(H)])
    for p in names:
        hp = expl.heads[p]
        head = [spreadsheet_safe(hp.label), f"{hp.prob:.6g}"] if hp else ["", ""]
        w.writerow([spreadsheet_safe(expl.text), spreadsheet_safe(model), p, f"(B=1, H={H})", *head]
                   + [f"{x:.6g}" for x in expl.pooled[p]])
    return out.getvalue()


def export_json(expl: Explanation, model: str, source: str, created: str) -> dict:
    """The /explain payload with what makes the file stand alone: sentence, model and its source, the package version,
    when it was made, and every shape with its dimension names."""
    payload = to_json(expl)
    for row in payload["shapes"]:
        row["named"] = named_shape(row["name"], row["shape"])
    context = {"sentence": expl.text, "model": model, "source": source, "electra_demo_version": VERSION,
               "created": created, "dimensions": DIMENSION_NAMES}
    return {"export": context, **payload}


def export_names(expl: Explanation, model: str) -> tuple[str, str]:
    """File names that say what they hold: explanation-<sentence slug>-<model>.json, pooled_vectors-<...>.csv."""
    slug = re.sub(r"[^a-z0-9]+", "-", expl.text.lower()).strip("-")[:40].strip("-") or "sentence"
    tag = re.sub(r"[^A-Za-z0-9._-]+", "-", model).strip("-.")[:40] or "model"
    return f"explanation-{slug}-{tag}.json", f"pooled_vectors-{slug}-{tag}.csv"


def _start(info: dict) -> str:
    """How the weights started, from training_info: the pretrained source, or from scratch (as plain text)."""
    source = info.get("source") if isinstance(info.get("source"), dict) else {}
    if source.get("kind") == "package":
        return f"initialised from {md_text(source.get('model'))} (package {md_text(source.get('name'))}), fine-tuned"
    if source.get("kind") in ("folder", "hub", "classifier"):
        return f"initialised from {md_text(os.path.basename(str(source.get('name'))))}, fine-tuned"
    backbone = str(info.get("backbone", "unknown"))
    return "trained from scratch" if backbone.startswith("scratch") else f"trained as {md_text(backbone)}"


def model_card(classifier: LoadedModel) -> str:
    """The loaded model in one paragraph: name, architecture, size, labels, accuracy from its card, where it came from.
    Everything the checkpoint says is shown as text (md_text), never as HTML or markdown."""
    cfg, info, kind = classifier.model.config, classifier.info, classifier.model.architecture
    n = info.get("n_parameters")
    n = n if isinstance(n, int) and not isinstance(n, bool) else sum(p.numel() for p in classifier.model.parameters())
    name = os.path.basename(os.path.normpath(classifier.source)) or classifier.source or "model"
    acc = info.get("val_accuracy") if isinstance(info.get("val_accuracy"), dict) else {}
    main = classifier.main_pooling
    acc_text = (f"; dev accuracy {acc[main]:.1%} ({main} head, {md_text(info.get('n_val', '?'))} sentences of "
                f"{md_text(os.path.basename(str(info.get('val_file', 'the validation file'))))})"
                if isinstance(acc.get(main), float) else "; no accuracy recorded in its card")
    labels = classifier.labels
    shown = ", ".join(md_text(x, 40) for x in labels[:20]) + (f" and {len(labels) - 20} more" if len(labels) > 20 else "")
    head = "" if kind == "electra" else f" Its own head ({kind}): {OWN_HEAD[kind]}."
    where = os.path.relpath(classifier.source) if os.path.exists(classifier.source) else classifier.source
    return (f"**Model: {md_text(name)}** ({kind}, {n / 1e6:.1f} M parameters, L={cfg.num_hidden_layers} layers, "
            f"H={cfg.hidden_size}, E={getattr(cfg, 'embedding_size', cfg.hidden_size)}, "
            f"max {classifier.max_length} tokens; labels {shown}{acc_text}; {_start(info)}).{head} "
            f"Source: {md_text(where, 300)}.")


def to_json(expl: Explanation) -> dict:
    """The /explain payload: a JSON-ready dict (tokens, shapes, prediction, every pooled vector and head).

    Floats keep 3 significant digits; the (L+1, T, H) hidden states are left out (only their shape).
    """
    names = list(expl.pooled)
    V = np.stack([expl.pooled[p] for p in names])  # (P, H)
    norms = np.linalg.norm(V, axis=1)  # (P,)
    trained = [p for p in names if expl.heads[p] is not None]
    # one vectorised rounding for the whole payload: 4 digits (probabilities, logits), 3 digits (everything else)
    four = [expl.probs, expl.logits] + [expl.heads[p].probs for p in trained]
    three = [V, expl.head_intermediate, expl.similarity, expl.token_norms, expl.cls_cosine]
    probs4, logits4, *rest = rounded_many(four + three, [4] * len(four) + [3] * len(three))
    head_probs4 = dict(zip(trained, rest[: len(trained)]))
    vectors, inter, sim, token_norms, cls_cosine = rest[len(trained):]
    poolings = {}
    for i, p in enumerate(names):
        hp, rec = expl.heads[p], pooling.get(p)
        poolings[p] = {
            "kind": rec.kind, "shape": [1, len(vectors[i])], "norm": round(float(norms[i]), 4),
            "head": None if hp is None else {"label": hp.label, "prob": round(hp.prob, 4),
                                             "probs": dict(zip(expl.labels, head_probs4[p]))},
            "head_note": NO_HEAD if hp is None else "", "description": rec.description, "code": rec.forward_code,
            "vector": vectors[i],
        }
    return {
        "tokens": expl.tokens, "input_ids": expl.input_ids, "n_tokens": expl.n_tokens, "max_length": expl.max_length,
        "truncated": bool(expl.truncation_note), "truncation_note": expl.truncation_note,
        "labels": expl.labels, "main_pooling": expl.main_pooling, "label": expl.label,
        "probs": dict(zip(expl.labels, probs4)), "logits": logits4,
        "shapes": [vars(r) for r in expl.shapes],
        "hidden_states_shape": list(expl.hidden_states.shape),
        "poolings": poolings,
        "head_intermediate": inter,
        "similarity": {"names": names, "matrix": sim},
        "token_norms": token_norms, "cls_cosine": cls_cosine,
    }

