"""Append-only JSON-lines files, one per process and role, merged when read.

EnvRunners and Learners may live in other processes (or, on a cluster, other
nodes sharing the trace directory); each writes its own file so nothing needs
a lock, and every record is flushed as it is written: a killed run keeps all
records up to its last completed write.
"""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

from rldebug.trace.layout import file_name

LEVELS = ("summary", "batches", "full")
RAW_ROWS = 5  # rows of raw data kept per module and record at level "full"


def clean(value):
    """JSON-ready: numpy/torch scalars and arrays to Python (NaN/Infinity stay floats)."""
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    if hasattr(value, "item") and getattr(value, "size", 1) == 1:
        value = value.item()
    elif hasattr(value, "tolist"):
        return clean(value.tolist())
    return value


class TraceWriter:
    """Writes records of one ``kind`` (``samples``, ``updates``, ``events``, ``iterations``)."""

    def __init__(self, directory: str | Path, role: str):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.role = role
        self.identity = {"pid": os.getpid(), "host": socket.gethostname()}
        self._files: dict[str, object] = {}
        self.bytes_written = 0

    def write(self, kind: str, record: dict) -> None:
        handle = self._files.get(kind)
        if handle is None:
            name = file_name(kind, self.role, self.identity["pid"])
            handle = self._files[kind] = open(self.directory / name, "a", buffering=1)
        # default=repr: an unexpected type must never break training.
        line = json.dumps(clean({"time": time.time(), **self.identity, **record}),
                          default=repr)
        handle.write(line + "\n")
        handle.flush()
        self.bytes_written += len(line) + 1

    def close(self) -> None:
        for handle in self._files.values():
            handle.close()
        self._files.clear()


__all__ = ["LEVELS", "RAW_ROWS", "TraceWriter", "clean"]
