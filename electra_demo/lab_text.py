"""Text and tables for the lab tabs: pure formatting of the lab modules' results (no gradio, no model)."""
import numpy as np
import pandas as pd

from .padding_lab import SIDES


def _label(labels, k):
    return labels[int(k)] if k >= 0 else "-"


def padding_summary(lab) -> str:
    masked = [i for i, nv in enumerate(lab.naive) if not nv]
    worst = max(float(lab.sides[s].distance[masked].max()) for s in SIDES)
    drift = {lab.names[i]: max(float(lab.sides[s].distance[i].max()) for s in SIDES) for i, nv in enumerate(lab.naive) if nv}
    flips = [f"{lab.names[i]} ({s})" for s in SIDES for i in range(len(lab.names)) if lab.sides[s].flipped[i]]
    return (f"**{lab.n} tokens, N = {', '.join(map(str, lab.n_pads))} pads.** Largest change of any masked pooling "
            f"over every N, both sides: **{worst:.1e}** (float rounding: identical). Naive baselines drift up to "
            + ", ".join(f"{k} **{v:.3g}**" for k, v in drift.items()) + ". Predictions that flip: "
            + (", ".join(flips) if flips else "none for this sentence") + f". Batched with a longer sentence, ours "
            f"gets **{lab.batched.pads}** pads" + (" (give a longer one to see the effect)." if not lab.batched.pads else "."))


def padding_table(lab) -> pd.DataFrame:
    rows = []
    for i, p in enumerate(lab.names):
        row = [p, "naive" if lab.naive[i] else "masked", lab.heads[i] or "no head", _label(lab.labels, lab.sides["right"].pred[i, 0])]
        for s in SIDES:
            sw = lab.sides[s]
            row += [_label(lab.labels, sw.pred[i, -1]), "FLIPS" if sw.flipped[i] else "stable", float(f"{sw.distance[i, -1]:.3g}")]
        rows.append(row)
    cols = ["pooling", "kind", "head applied", "pred N=0"]
    cols += [f"{s} {c}" for s in SIDES for c in (f"pred N={lab.n_pads[-1]}", "over the sweep", "distance")]
    return pd.DataFrame(rows, columns=cols)


def batched_table(lab) -> pd.DataFrame:
    b = lab.batched
    rows = [[p, _label(lab.labels, b.pred_alone[i])] + [v for j in range(len(SIDES)) for v in (
        _label(lab.labels, b.pred_batched[j, i]), float(f"{b.distance[j, i]:.3g}"), round(float(b.cosine[j, i]), 6))]
            for i, p in enumerate(lab.names)]
    return pd.DataFrame(rows, columns=["pooling", "alone"] + [f"{s} {c}" for s in SIDES for c in ("batched", "distance", "cosine")])


def highlighted(attr, quantity: str) -> list[tuple[str, float]]:
    z = attr.weight if quantity == "weight" else attr.contribution
    scale = float(np.abs(z).max()) or 1.0
    return [(t + " ", round(float(v) / scale, 3)) for t, v in zip(attr.tokens, z)]


def pooler_markdown(ex) -> str:
    rows = [ex.bert, ex.electra] + ([ex.yours] if ex.yours else [])
    table = "| model | output class | keys | shapes |\n|---|---|---|---|\n" + "".join(
        f"| {r.model} | `{r.output_class}` | {', '.join(f'`{k}`' for k in r.keys)} | "
        f"{', '.join(f'{k} {v}' for k, v in r.shapes.items())} |\n" for r in rows)
    return (
        "Tiny BertModel and ElectraModel (hidden 32, 2 layers, random weights, built here) on the same ids:\n\n" + table
        + f"\n`out.pooler_output` on ElectraModel's output raises, caught live:\n```\n{ex.error}\n```\n"
        + "".join(f"* {n}\n" for n in ex.index_notes)
        + f"\n**BERT's pooler** is `tanh(dense(h[:, 0]))` (recomputed by hand: max difference {ex.bert_pooler_max_diff:.1e}). "
        f"ElectraModel has no pooler at all (`{ex.electra.pooler_module}`).\n\n**ElectraForSequenceClassification** "
        "instead applies ElectraClassificationHead to [CLS]: " + " -> ".join(f"`{s}`" for s, _ in ex.head_steps[1:])
        + f" (recomputed by hand: max difference {ex.head_max_diff:.1e}). Pick a pooling below for a complete LightningModule.")
