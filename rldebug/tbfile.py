"""How rldebug writes TensorBoard event files (one place for every writer: rldebug.run's
run log and the live doctor's findings)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def summary_writer(logdir: str | Path, filename_suffix: str = "") -> Any:
    """A TensorBoard ``SummaryWriter`` for ``logdir`` whose ``flush()`` puts every event
    added so far on disk.

    torch's writer (on TensorBoard's own event writer) waits for its queue on ``flush()``.
    tensorboardX's does not: events its worker thread has not taken from the queue yet
    reach the file only at its next periodic flush (``flush_secs`` later) or on
    ``close()``, so a run killed in between, or a Tune trial whose actor ends without
    closing the writer, loses them.
    """
    from torch.utils.tensorboard import SummaryWriter

    return SummaryWriter(str(logdir), filename_suffix=filename_suffix)


__all__ = ["summary_writer"]
