"""The classifier as ONE ONNX graph for the static page: every tensor the page shows is a named output.

WebGraph wraps a loaded ElectraPoolingClassifier and calls its own `encode`, `pool` and `classify` (no second copy of
the maths), so the graph computes what the server computes. Inputs and outputs (B batch and T tokens are dynamic):

  input_ids, attention_mask   (B, T) int64; pads anywhere (left or right), positions counted over real tokens
  hidden_states[l]            (B, T, H) for l = 0..L: [0] the embedding output, [l] the output of layer l
  pooled[p]                   (B, H) for every available pooling, then the naive baselines (`names`)
  logits[p], probs[p]         (B, C) the head applied to pooled[p] (`applied[p]`): a trained pooling's own head; for a
                              naive one the head of the pooling it imitates (lab.padding.head_for)
  head_intermediate           (B, H) GELU(dense(pooled[main])) inside the main head: the input of its out_proj

The names and their order go into model.json beside the graph (`outputs()`), which is what the page reads.
Weights equal to their float16 rounding (a checkpoint stored in float16 loads as such float32 values) are stored as
float16 in the file and cast back to float32 in the graph: the same numbers in half the bytes; any other weight stays
float32. Nothing is quantized.
"""
import contextlib
import copy
import warnings

import torch
from torch import nn
from torch.nn.utils import parametrize

from ... import pooling
from ...lab.padding import head_for

OPSET = 17  # LayerNormalization is one op from 17 on; onnxruntime-web 1.31 runs opsets up to 23
INPUTS = ["input_ids", "attention_mask"]
MIN_HALF_SIZE = 1024  # values: a smaller weight stays float32 even when float16 would hold it exactly
AXES = {"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"}}


class WebGraph(nn.Module):
    """input_ids, attention_mask (B, T) -> the tuple of outputs named by `outputs()`, in that order."""

    def __init__(self, model):
        super().__init__()
        self.model = model
        self.names = model.available_poolings() + list(pooling.NAIVE_POOLERS)  # the pooled[...] outputs, in order
        self.applied = {p: h for p in self.names if (h := head_for(model, p)) is not None}  # pooling -> head applied

    def outputs(self) -> list[str]:
        L = self.model.config.num_hidden_layers
        return ([f"hidden_states[{l}]" for l in range(L + 1)] + [f"pooled[{p}]" for p in self.names]
                + [f"{kind}[{p}]" for p in self.applied for kind in ("logits", "probs")] + ["head_intermediate"])

    def forward(self, input_ids, attention_mask):
        m = self.model
        out = m.encode(input_ids, attention_mask, output_hidden_states=True)  # hidden_states: L+1 x (B, T, H)
        h = out.last_hidden_state  # (B, T, H)
        pooled = [m.pool(p, h, attention_mask) for p in self.names]  # P x (B, H)
        by_name = dict(zip(self.names, pooled))
        heads = []
        with inputs_of(m.head(m.main_pooling).out_proj) as seen:  # the main head's own intermediate, as it runs
            main_logits = m.classify(m.main_pooling, by_name[m.main_pooling])  # (B, C)
        for p, head in self.applied.items():
            logits = main_logits if p == m.main_pooling else m.classify(head, by_name[p])  # (B, C)
            heads += [logits, logits.softmax(-1)]
        return (*out.hidden_states, *pooled, *heads, seen[0])


@contextlib.contextmanager
def inputs_of(module: nn.Module):
    """Collects what `module` is called with while the block runs (a forward pre-hook, removed after)."""
    seen = []
    handle = module.register_forward_pre_hook(lambda mod, args: seen.append(args[0]))
    try:
        yield seen
    finally:
        handle.remove()


class _Float16Storage(nn.Module):
    """A float32 weight kept as float16 (right_inverse) and cast back when used (forward): exact for the weights it is
    given, which equal their float16 rounding."""

    def forward(self, stored):
        return stored.float()

    def right_inverse(self, weight):
        return (weight.half(),)  # a sequence: parametrize then allows the new dtype


def store_half_where_exact(model: nn.Module, min_size: int = MIN_HALF_SIZE) -> list[str]:
    """Give every float32 parameter of at least `min_size` values that equals its float16 rounding a float16 storage;
    returns their names (smaller ones are not worth a Cast node in the graph)."""
    done = []
    for name, module in list(model.named_modules()):
        for pname, p in list(module.named_parameters(recurse=False)):
            if p.dtype == torch.float32 and p.numel() >= min_size and torch.equal(p.detach().half().float(), p.detach()):
                parametrize.register_parametrization(module, pname, _Float16Storage(), unsafe=True)
                done.append(f"{name}.{pname}" if name else pname)
    return done


def example_inputs(pad_id: int, vocab_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A (2, 6) batch traced through the model: one row padded right, one left, so no mask-dependent shortcut of the
    backbone (a mask of all ones skipped) can be recorded into the graph."""
    ids = torch.tensor([[2, 7, 8, 3, pad_id, pad_id], [pad_id, pad_id, 2, 9, 10, 3]]) % vocab_size
    mask = torch.tensor([[1, 1, 1, 1, 0, 0], [0, 0, 1, 1, 1, 1]])
    return ids, mask


@torch.no_grad()
def export_graph(model, path: str, pad_id: int) -> dict:
    """Write `model` (an ElectraPoolingClassifier) to `path` as ONNX; returns its description for model.json."""
    graph = WebGraph(copy.deepcopy(model).eval())  # the float16 storages go on the copy, never on the caller's model
    half = store_half_where_exact(graph.model)
    names = graph.outputs()
    args = example_inputs(pad_id, model.config.vocab_size)
    dims = {n: {0: "batch", 1: "tokens"} if n.startswith("hidden_states[") else {0: "batch"} for n in names}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TracerWarnings: the tests run the graph at other batch sizes and lengths
        torch.onnx.export(graph, args, path, input_names=INPUTS, output_names=names, dynamic_axes={**AXES, **dims},
                          opset_version=OPSET, dynamo=False, do_constant_folding=not half)
    L, H, C = model.config.num_hidden_layers, model.config.hidden_size, model.config.num_labels
    shapes = {**{f"hidden_states[{l}]": ["B", "T", H] for l in range(L + 1)}, **{f"pooled[{p}]": ["B", H] for p in graph.names},
              **{f"{k}[{p}]": ["B", C] for p in graph.applied for k in ("logits", "probs")}, "head_intermediate": ["B", H]}
    return {"inputs": [{"name": n, "shape": ["B", "T"], "dtype": "int64"} for n in INPUTS],
            "outputs": [{"name": n, "shape": shapes[n], "dtype": "float32"} for n in names],
            "opset": OPSET, "names": graph.names, "applied": graph.applied, "float16_storage": half}
