"""A PYTHONBREAKPOINT target for tests: records the locals of the frame that called breakpoint()."""

import os
import sys
from pathlib import Path

CALLS = []


def record(*args, **kwargs):
    frame = sys._getframe(1)
    CALLS.append((frame.f_code.co_name, dict(frame.f_locals)))



def calls_file() -> Path:
    """Where :func:`record_to_file` writes: the session's file (tests/conftest.py)."""
    return Path(os.environ["RLDEBUG_TEST_HOOK_FILE"])


def record_to_file(*args, **kwargs):
    """As :func:`record`, for a Ray worker's stops: one line per call in
    :func:`calls_file` with the calling function's name and the process id."""
    frame = sys._getframe(1)
    with open(calls_file(), "a") as out:
        out.write(f"{frame.f_code.co_name} {os.getpid()}\n")
