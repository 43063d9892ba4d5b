"""A PYTHONBREAKPOINT target for tests: records the locals of the frame that called breakpoint()."""

import os
import sys
import tempfile
from pathlib import Path

CALLS = []


def record(*args, **kwargs):
    frame = sys._getframe(1)
    CALLS.append((frame.f_code.co_name, dict(frame.f_locals)))



# Where record_to_file writes: a Ray worker started before a test cannot be told a path
CALLS_FILE = Path(tempfile.gettempdir()) / "rldebug-break-hook-calls.txt"


def record_to_file(*args, **kwargs):
    """As :func:`record`, for a Ray worker's stops: one line per call in :data:`CALLS_FILE`
    with the calling function's name and the process id."""
    frame = sys._getframe(1)
    with open(CALLS_FILE, "a") as out:
        out.write(f"{frame.f_code.co_name} {os.getpid()}\n")
