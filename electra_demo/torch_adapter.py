"""The one place that reads a torch internal; tests/test_adapters.py fails loudly, naming torch's version, if it moves."""
import torch


def tensor_version(t: torch.Tensor) -> int:
    """The tensor's in-place modification counter (`Tensor._version`, which autograd uses): it changes on every in-place
    write (an optimizer step, load_state_dict, `copy_`), so a cache keyed by it is rebuilt when the weights change.
    torch has no public accessor for it."""
    try:
        return t._version
    except AttributeError as e:
        raise RuntimeError(f"torch {torch.__version__}: Tensor._version is gone; update electra_demo/torch_adapter.py") from e
