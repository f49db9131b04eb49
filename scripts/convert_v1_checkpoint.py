"""Convert a checkpoint folder of electra-demo <= 0.2 (electra_demo.json + heads.safetensors) to today's format.

  python scripts/convert_v1_checkpoint.py OLD_FOLDER NEW_FOLDER [--overwrite]

Same weights, same numbers: the backbone and the `cls` head keep their names, the other heads and learned poolers
move into model.safetensors, and electra_demo.json's description moves into config.json (poolings, main_pooling,
max_input_length, training_info). The new folder is written atomically with its manifest.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from safetensors.torch import load_file  # noqa: E402
from transformers import AutoTokenizer, ElectraConfig  # noqa: E402

from electra_demo.checkpoint import save_checkpoint  # noqa: E402
from electra_demo.model import ElectraPoolingClassifier, classifier_config  # noqa: E402


def convert(old: str, new: str, overwrite: bool = False):
    info = json.load(open(os.path.join(old, "electra_demo.json")))
    config = classifier_config(ElectraConfig.from_pretrained(old), info["poolings"], info["labels"],
                               info["default_pooling"], info.get("max_length", 128), info.get("meta", {}))
    model = ElectraPoolingClassifier(config)
    sd = {k: v for k, v in load_file(os.path.join(old, "model.safetensors")).items() if k.startswith("electra.")}
    for k, v in load_file(os.path.join(old, "heads.safetensors")).items():
        sd["classifier." + k[len("heads.cls."):] if k.startswith("heads.cls.") else k] = v
    model.load_state_dict(sd, strict=True)
    save_checkpoint(model.eval(), AutoTokenizer.from_pretrained(old), new, overwrite)
    return new


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("old")
    p.add_argument("new")
    p.add_argument("--overwrite", action="store_true")
    a = p.parse_args()
    print("wrote", convert(a.old, a.new, a.overwrite))
