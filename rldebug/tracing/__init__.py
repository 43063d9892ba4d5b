"""Trace what every EnvRunner sampled and what every Learner update did, on both stacks.

- :func:`trace` — instrument a config (callbacks + a Learner mixin, RLlib untouched).
- :func:`load_trace` — read a trace directory into pandas DataFrames.
"""

from rldebug.tracing.instrument import DEFAULT_LEVEL, trace
from rldebug.tracing.layout import TRACE_SUBDIR, run_trace_dir, trace_dir_of
from rldebug.tracing.reading import Trace, load_trace
from rldebug.tracing.writer import LEVELS

__all__ = ["DEFAULT_LEVEL", "LEVELS", "TRACE_SUBDIR", "Trace", "load_trace", "run_trace_dir",
           "trace", "trace_dir_of"]
