"""Encoder passes per Explain click on the page, by the function that asked for them.

  python scripts/count_encoder_calls.py [--checkpoint DIR]

Builds the page in process on the model (the shipped one by default) and runs what one Explain click runs: the
button's `explore`, then `run_labs` with every tab's controls at their defaults. A forward pre-hook on the backbone
counts every pass (the attention tab's eager copy included: the hook is copied with it). The first click also pools
the bundled sentence sets once per model; the second is what every later click costs.
"""
import argparse
import collections
import os
import sys
import traceback

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", default=None)
    args = p.parse_args(argv)
    from electra_demo.app.gradio_adapter import event_functions
    from electra_demo.app.page import build_demo
    from electra_demo.checkpoint import load_classifier

    classifier = load_classifier(args.checkpoint)
    demo = build_demo(classifier)
    (explore, menu), (run_labs, inputs) = event_functions(demo, "explore")[0], event_functions(demo, "run_labs")[0]
    calls = collections.Counter()

    def count(module, inputs_):
        ours = [f for f in traceback.extract_stack() if "electra_demo" + os.sep in f.filename
                and not f.filename.endswith(("model.py", "encoders.py"))]
        calls[f"{os.path.basename(ours[-1].filename)}:{ours[-1].name}" if ours else "?"] += 1

    classifier.model.backbone.register_forward_pre_hook(count)
    for i, text in enumerate(["The movie was not bad at all.", "A dull, slow film with one good scene."]):
        calls.clear()
        explore(text, menu[1].value, 1)  # the model menu's value, as the page sends it
        run_labs(text, *[c.value for c in inputs[1:]])
        print(f"click {i + 1}: {sum(calls.values())} encoder passes: "
              + ", ".join(f"{k} {v}" for k, v in calls.most_common()))


if __name__ == "__main__":
    main()
