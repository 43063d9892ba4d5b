"""A PYTHONBREAKPOINT target for tests: records the locals of the frame that called breakpoint()."""

import sys

CALLS = []


def record(*args, **kwargs):
    frame = sys._getframe(1)
    CALLS.append((frame.f_code.co_name, dict(frame.f_locals)))
