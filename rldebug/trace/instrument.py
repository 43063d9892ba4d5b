"""``rldebug.trace(config, level=..., out=...)``: a config that records what RLlib did.

Adds :class:`TraceCallbacks` after the user's callbacks and, on the new stack,
subclasses the config's Learner class (the user's own, if set) with the
tracing mixin. RLlib's source is not modified; the original config is not touched.
"""

from __future__ import annotations

from pathlib import Path

from rldebug.callbacks.compose import add_callbacks
from rldebug.runlog import check_writable, default_output_dir
from rldebug.trace.callbacks import TraceCallbacks
from rldebug.trace.learning import TracingLearnerMixin, traced_learner_class
from rldebug.trace.writer import LEVELS

DEFAULT_LEVEL = "batches"


def trace(config, level: str = DEFAULT_LEVEL, out: str | Path | None = None):
    """Return a copy of ``config`` that writes a trace of sampling and learning to ``out``.

    :param config: an RLlib ``AlgorithmConfig`` (new or old API stack).
    :param level: ``"summary"`` (counts, returns, losses), ``"batches"`` (default: adds
        per-column stats, clip fraction, gradient and parameter-update norms) or
        ``"full"`` (adds per-minibatch records and a few raw rows per record).
    :param out: trace directory (default ``~/rldebug_results/trace_<time>``); read it
        with :func:`rldebug.load_trace` or ``rldebug trace DIR``. Remote EnvRunners
        write there too, so on a cluster it must be on a filesystem all nodes share.
    """
    from ray.rllib.algorithms.algorithm_config import AlgorithmConfig

    if not isinstance(config, AlgorithmConfig):
        raise TypeError(f"rldebug.trace expects an RLlib AlgorithmConfig, got "
                        f"{type(config).__name__}: {config!r:.100}.")
    if level not in LEVELS:
        raise ValueError(f"trace level must be one of {LEVELS}, got {level!r}.")
    directory = check_writable(out if out is not None else default_output_dir("trace"))

    callback = type("TraceCallbacks", (TraceCallbacks,),
                    {"_trace_dir": str(directory), "_trace_level": level,
                     "__module__": TraceCallbacks.__module__})
    traced = add_callbacks(config, callback)
    if traced.enable_rl_module_and_learner:
        base = traced.learner_class
        if issubclass(base, TracingLearnerMixin):
            raise ValueError("This config is already traced; trace the original config.")
        traced.training(learner_class=traced_learner_class(base, directory, level))
    return traced


__all__ = ["DEFAULT_LEVEL", "trace"]
