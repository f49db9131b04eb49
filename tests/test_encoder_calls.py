"""One Explain click runs the encoder once for the sentence, plus only what a tab needs beyond it: the padding lab's
padded variants, attribution's padded sentence and the attention tab's eager pass. Every other tab reuses the
explained sentence's hidden states (lab.explain.sentence_states), and the sets it compares against are pooled once.
Counted on the page's own event functions (the Explain button's `explore`, then `run_labs`), in process."""
import collections

import pytest

from electra_demo.app.gradio_adapter import event_functions
from electra_demo.app.page import build_demo
from electra_demo.lab.padding import pad_sweep

from .conftest import tiny_classifier


@pytest.fixture(scope="module")
def page(tiny_tokenizer):
    from electra_demo.checkpoint import LoadedModel

    classifier = LoadedModel(tiny_classifier(tiny_tokenizer, seed=11), tiny_tokenizer, "counted")  # a model of its own
    demo = build_demo(classifier)
    calls = collections.Counter()
    classifier.model.backbone.register_forward_pre_hook(lambda *a: calls.update(["encoder"]))  # copied into the eager copy
    return demo, calls


def click(demo, text):
    (explore, _), (run_labs, inputs) = event_functions(demo, "explore")[0], event_functions(demo, "run_labs")[0]
    explore(text, None, 1)
    run_labs(text, *[c.value for c in inputs[1:]])  # every tab's controls at their defaults


def test_one_explain_click_runs_the_encoder_once_plus_the_padded_variants(page):
    demo, calls = page
    click(demo, "a first sentence to warm the caches")  # the first click also pools the bundled sets once
    calls.clear()
    click(demo, "the movie was not bad at all")
    padding = len(pad_sweep(64)) - 1 + 1  # the sweep's padded counts (N = 0 reuses the sentence) + the batch check
    assert calls["encoder"] == 1 + padding + 1 + 1  # + attribution's padded sentence + the attention tab's eager pass
