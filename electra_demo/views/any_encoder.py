"""EncoderTrace -> the markdown trace (does this architecture have pooler_output?) and JSON. No gradio here."""
import numpy as np

from ..lab.any_encoder import EncoderTrace
from .common import prob_text, rounded


def trace_markdown(t: EncoderTrace) -> str:
    keys = "\n".join(f"| `{k}` | {t.shapes[k]} |" for k in t.output_keys)
    verdict = ("**has `pooler_output`**" if t.has_pooler_output else
               "**has no `pooler_output`**: `out.pooler_output` is absent (ELECTRA's case); pool `last_hidden_state` "
               "with the mask instead")
    k = int(np.argmax(t.probs))
    return (f"`{t.base_class}` ({t.model_type}) returns `{t.output_class}`, which {verdict}.\n\n"
            f"| output key | shape |\n|---|---|\n{keys}\n\n"
            f"Its own classification head: {t.own_head}. Prediction: **{t.labels[k]}** ({prob_text(t.probs[k])}). Every "
            f"parameter-free pooling below works on any encoder: it needs only `last_hidden_state` (B, T, H) and the mask.")


def trace_json(t: EncoderTrace) -> dict:
    return {"model_type": t.model_type, "base_class": t.base_class, "output_class": t.output_class,
            "output_keys": t.output_keys, "shapes": t.shapes, "has_pooler_output": t.has_pooler_output,
            "pooled": {p: rounded(v) for p, v in t.pooled.items()}, "logits": rounded(t.logits, 4),
            "probs": dict(zip(t.labels, rounded(t.probs, 4))), "own_head": t.own_head}
