"""scripts/attack.py as a test: every bad input refused with one line, and an export killed anywhere leaves the old or
the new checkpoint, loadable, never a mix."""
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _attack(*args):
    env = dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1")
    res = subprocess.run([sys.executable, "scripts/attack.py", "--json", *args], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=900)
    assert res.returncode == 0, res.stderr[-3000:]
    return json.loads(res.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_every_bad_input_gets_one_line_and_exit_2():
    report = _attack("--only", "inputs")["bad_inputs"]
    assert report["not_clean"] == [] and report["refused_cleanly"] == report["tried"] >= 40
    assert report["code_ran"] is False


@pytest.mark.slow
def test_an_export_killed_at_any_moment_leaves_the_old_or_the_new_checkpoint():
    report = _attack("--only", "kill", "--kills", "5", "--seed", "1")["kill_points"]
    assert report["tried"] == report["intact"] == 5 and report["lost_or_mixed"] == []
    assert report["leftover_after_next_export"] == 0  # a killed export's temporary folder is tidied by the next one
