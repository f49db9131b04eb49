"""The one place that reads Lightning's internals (no public API gives these); tests/test_adapters.py fails loudly,
naming Lightning's version, when an upgrade moves them."""
import pytorch_lightning as pl

VERSION = pl.__version__


def batches_trained_this_epoch(trainer: pl.Trainer) -> int:
    """Batches of the current epoch already trained (what a resumed run must skip). Lightning keeps the count in its fit
    loop's progress tracker; there is no public accessor."""
    try:
        return int(trainer.fit_loop.epoch_loop.batch_progress.current.processed)
    except AttributeError as e:
        raise RuntimeError(f"pytorch_lightning {VERSION}: fit_loop.epoch_loop.batch_progress.current.processed moved; "
                           "update electra_demo/training/lightning_adapter.py") from e
