"""PaddingLab -> figures, tables, summary and JSON: masked poolings stay put, naive ones drift. No gradio here."""
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..lab.padding import SIDES, PaddingLab
from .common import DIVERGING, LINE_COLOURS, label_of, layout, rounded, sig, zmax


def padding_curves(lab: PaddingLab) -> go.Figure:
    """Distance and cosine to the N = 0 vector as N grows, right and left padding; naive baselines dashed."""
    fig = make_subplots(rows=2, cols=2, shared_xaxes=True, vertical_spacing=0.16, horizontal_spacing=0.1,
                        subplot_titles=[f"{side}: {what}" for side in SIDES  # short: two fit side by side on a phone
                                        for what in ("L2 distance to N = 0", "cosine to N = 0")])
    x = list(range(len(lab.n_pads)))
    for r, side in enumerate(SIDES, start=1):
        sweep = lab.sides[side]
        for c, z in enumerate((sweep.distance, sweep.cosine), start=1):
            for i, name in enumerate(lab.names):
                naive = lab.naive[i]
                fig.add_trace(go.Scatter(
                    x=x, y=rounded(z[i], 4), name=name, legendgroup=name, showlegend=(r, c) == (1, 1),
                    mode="lines+markers", line=dict(color=LINE_COLOURS[i % len(LINE_COLOURS)], dash="dash" if naive else "solid",
                                                    width=3 if naive else 1.5),
                    customdata=lab.n_pads, hovertemplate=f"{name}<br>N = %{{customdata}}<br>%{{y}}<extra></extra>"),
                    row=r, col=c)
    fig.update_xaxes(tickmode="array", tickvals=x, ticktext=[str(n) for n in lab.n_pads])
    fig.update_xaxes(title="N pad tokens", row=2)
    return layout(fig, "Masked poolings stay put (flat at 0 and 1); naive ones (dashed) drift as N grows", 560)


def padding_vectors(lab: PaddingLab, side: str = "right") -> go.Figure:
    """At the largest N: every pooling's vector, and its change from N = 0 (zero rows = unaffected by padding)."""
    sweep = lab.sides[side]
    now = sweep.vectors[:, -1]  # (P, H) at the chosen N
    diff = now - sweep.vectors[:, 0]  # (P, H)
    ticks = [f"{n} (naive)" if nv else n for n, nv in zip(lab.names, lab.naive)]
    # stacked, each with its own colour bar beside it: side by side, a colour bar covered the second map on a phone
    fig = make_subplots(rows=2, cols=1, vertical_spacing=0.14,
                        subplot_titles=(f"the vectors at N = {lab.n_pads[-1]} pads", "minus the vectors at N = 0"))
    for r, z in enumerate((now, diff), start=1):
        m = zmax(z)
        fig.add_trace(go.Heatmap(z=rounded(z), zmin=-m, zmax=m, colorscale=DIVERGING,
                                 colorbar=dict(y=0.79 if r == 1 else 0.21, len=0.42, thickness=12),
                                 hovertemplate="%{y}<br>dim %{x}<br>%{z}<extra></extra>"), row=r, col=1)
        fig.update_yaxes(row=r, col=1, autorange="reversed", tickmode="array", tickvals=list(range(len(ticks))),
                         ticktext=ticks)
    fig.update_xaxes(row=2, col=1, title="hidden dimension")
    return layout(fig, f"{side} padding: masked rows unchanged, naive rows shifted", 180 + 48 * len(ticks))

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
        row = [p, "naive" if lab.naive[i] else "masked", lab.heads[i] or "no head", label_of(lab.labels, lab.sides["right"].pred[i, 0])]
        for s in SIDES:
            sw = lab.sides[s]
            row += [label_of(lab.labels, sw.pred[i, -1]), "FLIPS" if sw.flipped[i] else "stable", sig(sw.distance[i, -1])]
        rows.append(row)
    cols = ["pooling", "kind", "head applied", "pred N=0"]
    cols += [f"{s} {c}" for s in SIDES for c in (f"pred N={lab.n_pads[-1]}", "over the sweep", "distance")]
    return pd.DataFrame(rows, columns=cols)


def batched_table(lab) -> pd.DataFrame:
    b = lab.batched
    rows = [[p, label_of(lab.labels, b.pred_alone[i])] + [v for j in range(len(SIDES)) for v in (
        label_of(lab.labels, b.pred_batched[j, i]), sig(b.distance[j, i]), round(float(b.cosine[j, i]), 6))]
            for i, p in enumerate(lab.names)]
    return pd.DataFrame(rows, columns=["pooling", "alone"] + [f"{s} {c}" for s in SIDES for c in ("batched", "distance", "cosine")])

def padding_json(lab: PaddingLab) -> dict:
    out = {"tokens": lab.tokens, "n_pads": lab.n_pads, "names": lab.names, "naive": lab.naive, "heads": lab.heads,
           "sides": {}, "batched": {}}
    for side in SIDES:
        s = lab.sides[side]
        out["sides"][side] = {
            p: {"distance": rounded(s.distance[i], 4), "cosine": rounded(s.cosine[i], 6),
                "max_distance": sig(s.distance[i].max()),
                "pred": [label_of(lab.labels, k) for k in s.pred[i]], "flipped": bool(s.flipped[i])}
            for i, p in enumerate(lab.names)}
    b = lab.batched
    out["batched"] = {"other": b.other, "pads": b.pads, "poolings": {
        p: {"alone": label_of(lab.labels, b.pred_alone[i]),
            **{side: {"distance": sig(b.distance[j, i]), "cosine": round(float(b.cosine[j, i]), 6),
                      "pred": label_of(lab.labels, b.pred_batched[j, i])} for j, side in enumerate(SIDES)}}
        for i, p in enumerate(lab.names)}}
    return out
