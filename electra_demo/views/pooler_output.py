"""PoolerExplainer -> the markdown table of live outputs and the JSON. No gradio here."""
from ..lab.pooler_output import PoolerExplainer


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
        + f" (recomputed by hand: max difference {ex.head_max_diff:.1e}). "
        + (f"{ex.pooler_origin} " if ex.pooler_origin else "") + "Pick a pooling below for a complete LightningModule.")

def pooler_json(ex: PoolerExplainer) -> dict:
    return {
        "bert": vars(ex.bert), "electra": vars(ex.electra), "yours": vars(ex.yours) if ex.yours else None,
        "error": ex.error, "index_notes": ex.index_notes, "bert_pooler_max_diff": ex.bert_pooler_max_diff,
        "head_steps": [list(s) for s in ex.head_steps], "head_max_diff": ex.head_max_diff,
        "poolings_with_snippets": list(ex.snippets), "pooler_origin": ex.pooler_origin,
    }
