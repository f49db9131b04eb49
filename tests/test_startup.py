"""startup(): the collector is off inside, on again (with the objects made so far frozen) after, even on errors."""
import gc

import pytest

from electra_demo.startup import startup


def test_collector_off_inside_on_after_objects_frozen():
    assert gc.isenabled()
    frozen = gc.get_freeze_count()
    try:
        with startup():
            assert not gc.isenabled()
            kept = [[i] for i in range(1000)]  # long-lived objects made during the start
            with startup():  # nested: still off, and only the outermost turns it back on
                assert not gc.isenabled()
            assert not gc.isenabled()
        assert gc.isenabled() and gc.get_freeze_count() >= frozen + len(kept)
    finally:
        gc.unfreeze()


def test_collector_back_on_after_an_error():
    try:
        with pytest.raises(RuntimeError):
            with startup():
                raise RuntimeError("a bad checkpoint")
        assert gc.isenabled()
    finally:
        gc.unfreeze()
