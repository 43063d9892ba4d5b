"""Trace records as JSON lines, one file per kind, role and process, merged when read.

EnvRunners and Learners may live in other processes and, on a cluster, on other
nodes; each record names the process (``pid``, ``host``) that made it and goes to
that process's :class:`~rldebug.tracing.sink.TraceSink`, which writes it (in the
process running the Algorithm) or sends it there through Ray. Every record is
flushed as it is written at home: a killed run keeps all records up to its last
completed write.
"""

from __future__ import annotations

import json
import os
import socket
import time

from rldebug.tracing.layout import file_name
from rldebug.tracing.sink import TraceSink

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
    """Writes the records of one ``role`` (driver, runner<i>, learner) of this process."""

    def __init__(self, sink: TraceSink, role: str):
        self.sink = sink
        self.role = role
        self.identity = {"pid": os.getpid(), "host": socket.gethostname()}
        self.bytes_written = 0

    def write(self, kind: str, record: dict) -> None:
        # default=repr: an unexpected type must never break training.
        line = json.dumps(clean({"time": time.time(), **self.identity, **record}),
                          default=repr) + "\n"
        self.sink.append(file_name(kind, self.role, self.identity["pid"]), line)
        self.bytes_written += len(line)


__all__ = ["LEVELS", "RAW_ROWS", "TraceWriter", "clean"]
