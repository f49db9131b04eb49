"""The lab dataclasses -> small JSON-ready dicts, as the lab endpoints return them. No gradio here.

Floats keep 3-4 significant digits (explain.rounded); vectors are left out (only their shapes).
"""
import numpy as np

from .attribution import Attribution
from .dataset_view import DatasetView, misclassified
from .explain import rounded
from .layer_grid import LayerGrid
from .padding_lab import SIDES, PaddingLab
from .pooler_explainer import PoolerExplainer


def _label(labels, k):
    return labels[int(k)] if k >= 0 else None


def padding_json(lab: PaddingLab) -> dict:
    out = {"tokens": lab.tokens, "n_pads": lab.n_pads, "names": lab.names, "naive": lab.naive, "heads": lab.heads,
           "sides": {}, "batched": {}}
    for side in SIDES:
        s = lab.sides[side]
        out["sides"][side] = {
            p: {"distance": rounded(s.distance[i], 4), "cosine": rounded(s.cosine[i], 6),
                "max_distance": float(f"{s.distance[i].max():.3g}"),
                "pred": [_label(lab.labels, k) for k in s.pred[i]], "flipped": bool(s.flipped[i])}
            for i, p in enumerate(lab.names)}
    b = lab.batched
    out["batched"] = {"other": b.other, "pads": b.pads, "poolings": {
        p: {"alone": _label(lab.labels, b.pred_alone[i]),
            **{side: {"distance": float(f"{b.distance[j, i]:.3g}"), "cosine": round(float(b.cosine[j, i]), 6),
                      "pred": _label(lab.labels, b.pred_batched[j, i])} for j, side in enumerate(SIDES)}}
        for i, p in enumerate(lab.names)}}
    return out


def pooler_json(ex: PoolerExplainer) -> dict:
    return {
        "bert": vars(ex.bert), "electra": vars(ex.electra), "yours": vars(ex.yours) if ex.yours else None,
        "error": ex.error, "index_notes": ex.index_notes, "bert_pooler_max_diff": ex.bert_pooler_max_diff,
        "head_steps": [list(s) for s in ex.head_steps], "head_max_diff": ex.head_max_diff,
        "poolings_with_snippets": list(ex.snippets),
    }


def attribution_json(a: Attribution) -> dict:
    return {"pooling": a.pooling, "side": a.side, "tokens": a.tokens, "is_pad": a.is_pad.tolist(),
            "weight": rounded(a.weight, 4), "contribution": rounded(a.contribution, 4),
            "weight_on_padding": float(np.abs(a.weight[a.is_pad]).sum()) if a.is_pad.any() else 0.0,
            "dims_won": None if a.dims_won is None else a.dims_won.tolist(),
            "vector_max_diff": float(f"{a.vector_max_diff:.3g}"), "unpadded_max_diff": float(f"{a.unpadded_max_diff:.3g}"),
            "note": a.note}


def layer_grid_json(g: LayerGrid) -> dict:
    probe = {}
    for j, p in enumerate(g.names):
        pr = g.probe_probs[:, j]  # (L+1, C)
        probe[p] = None if np.isnan(pr).all() else [dict(zip(g.labels, rounded(row, 4))) for row in pr]
    return {"tokens": g.tokens, "layers": g.layers, "names": g.names, "shape": [len(g.layers), len(g.names)],
            "drift": rounded(g.drift), "norms": rounded(g.norms), "mean_pairwise": rounded(g.mean_pairwise),
            "similarity": rounded(g.similarity, 3), "probe": probe, "probe_note": g.probe_note}


def dataset_json(v: DatasetView, pooling: str | None = None, limit: int = 20) -> dict:
    pooling = pooling or v.main_pooling
    methods = {p: {"probe_train_acc": round(m.probe_train_acc, 4), "probe_test_acc": round(m.probe_test_acc, 4),
                   "head_test_acc": None if m.head_test_acc is None else round(m.head_test_acc, 4),
                   "head_acc": None if m.head_acc is None else round(m.head_acc, 4), "source": m.source,
                   "explained": rounded(m.explained), "confusion": m.confusion.tolist()}
               for p, m in v.methods.items()}
    wrong = [{"row": i, "sentence": t, "gold": g, "predicted": k, "confidence": None if np.isnan(c) else round(c, 4)}
             for i, t, g, k, c in misclassified(v, pooling, limit)]
    return {"name": v.name, "n": v.n, "n_test": int(v.is_test.sum()), "labels": v.labels,
            "split": "fixed random 75% train / 25% held-out (seed 0); probe = ridge on standardised frozen vectors",
            "methods": methods, "pooling": pooling, "misclassified": wrong}
