"""``rldebug.trace(config, level=..., out=...)``: a config that records what RLlib did.

Adds :class:`TraceCallbacks` after the user's callbacks and, on the new stack,
subclasses the config's Learner class (the user's own, if set) with the
tracing mixin. RLlib's source is not modified; the original config is not touched.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from rldebug.inprocess.runlog import default_output_dir
from rldebug.tracing.replay_state import DEFAULT_KEEP, save_config
from rldebug.tracing.settings import TraceSettings
from rldebug.tracing.store import check_writable_out
from rldebug.tracing.writer import LEVELS
from rldebug.usage import UsageError, UsageTypeError, check_bool

DEFAULT_LEVEL = "batches"


def trace(config, level: str = DEFAULT_LEVEL, out: str | Path | None = None, *,
          reproducible: bool = False, keep: int = DEFAULT_KEEP, events=(),
          max_events: int = 10, memory: bool = False, stall_factor: float | None = 10.0,
          stall_floor_s: float = 120.0):
    """Return a copy of ``config`` that writes a trace of sampling and learning to ``out``.

    :param config: an RLlib ``AlgorithmConfig`` (new or old API stack).
    :param level: ``"summary"`` (counts, returns, losses), ``"batches"`` (default: adds
        per-column stats, clip fraction, gradient and parameter-update norms) or
        ``"full"`` (adds per-minibatch records and a few raw rows per record).
    :param out: trace directory (default ``~/rldebug_results/trace_<time>``) or a
        ``pyarrow.fs`` URI (``file://``, ``s3://``, ...); read it with
        :func:`rldebug.load_trace` or ``rldebug trace DIR``. Only the process running the
        Algorithm writes there: remote EnvRunners and Learners, on any node, send their
        records to it through Ray, so nodes need no shared filesystem.
    :param reproducible: also record what :func:`rldebug.reproduce` needs to re-run an
        episode to its exact step or a Learner update to its exact minibatch (new API
        stack): every env reset gets an explicit seed, every episode's actions are
        taped, the weights of recent iterations and the Learner's state before an
        update with an event are kept (``out/replay``).
    :param keep: how many recent iterations of weights and ``sample()`` calls of
        episodes per EnvRunner a reproducible trace keeps (iterations and episodes
        with an event or doctor finding are kept for good).
    :param events: info event names (e.g. ``("collision",)``): an agent step whose
        ``info[name]`` is truthy is recorded as a trace event, with its episode and env
        step (in a reproducible trace, replayable like a NaN).
    :param max_events: record at most this many occurrences of each info event per
        agent and EnvRunner (the first ones).
    :param memory: also record, per ``sample()`` call of every EnvRunner, the allocation
        sites (file and line, tracemalloc) that grew since the last one; the doctor names
        a site that keeps growing. Slows sampling down (tracemalloc); the RSS of every
        process is recorded at every level without it.
    :param stall_factor: when an iteration has run longer than this many times the median
        of the recent ones (and at least ``stall_floor_s`` seconds; the first iteration,
        ``stall_factor`` x ``stall_floor_s``), the Python stacks of
        the driver and of every traced EnvRunner and Learner on this machine are written
        to the trace, with the line each process was waiting at; the doctor reports it
        (:mod:`rldebug.tracing.stalls`). None: no stall watch.
    :param stall_floor_s: the shortest stall that counts, in seconds.
    """
    from ray.rllib.algorithms.algorithm_config import AlgorithmConfig

    if not isinstance(config, AlgorithmConfig):
        raise UsageTypeError(f"rldebug.trace expects an RLlib AlgorithmConfig, got "
                             f"{type(config).__name__}: {config!r:.100}.")
    if level not in LEVELS:
        raise UsageError(f"trace level must be one of {LEVELS}, got {level!r}.")
    reproducible = check_bool(reproducible, "trace(reproducible=...)")
    memory = check_bool(memory, "trace(memory=...)")
    if isinstance(keep, bool) or not isinstance(keep, int) or keep < 1:
        raise UsageError(f"trace(keep=...) must be an int >= 1 (iterations kept), got {keep!r}.")
    if reproducible and not config.enable_env_runner_and_connector_v2:
        raise UsageError(
            "trace(reproducible=True) records the episodes of RLlib's new API stack's "
            "EnvRunners; this config samples with the old stack's RolloutWorkers "
            "(api_stack(enable_rl_module_and_learner="
            f"{config.enable_rl_module_and_learner}, enable_env_runner_and_connector_v2="
            "False)). Trace it without reproducible=True, or move it to the new stack (both "
            "flags True).")
    info_events = _check_info_events(events, config.env)
    _check_stall(stall_factor, stall_floor_s)
    if isinstance(max_events, bool) or not isinstance(max_events, int) or max_events < 1:
        raise UsageError(f"trace(max_events=...) must be an int >= 1, got {max_events!r}.")
    # RLlib's callback and Learner classes load here, not when rldebug is imported.
    from rldebug.callbacks.compose import add_callbacks, with_settings
    from rldebug.tracing.callbacks import TraceCallbacks
    from rldebug.tracing.learning import TracingLearnerMixin, traced_learner_class

    directory = check_writable_out(out if out is not None else default_output_dir("trace"))
    _check_no_earlier_trace(directory)
    token = uuid.uuid4().hex
    if reproducible:
        save_config(directory, config, level)

    settings = TraceSettings(dir=str(directory), token=token, level=level,
                             reproducible=reproducible, keep=keep, info_events=info_events,
                             max_events=max_events, memory=memory,
                             stall_factor=None if stall_factor is None else float(stall_factor),
                             stall_floor_s=float(stall_floor_s))
    traced = add_callbacks(config, with_settings(TraceCallbacks, settings))
    if traced.enable_rl_module_and_learner:
        base = traced.learner_class
        if issubclass(base, TracingLearnerMixin):
            raise UsageError("This config is already traced; trace the original config.")
        traced.learners(learner_class=traced_learner_class(base, settings))
    return traced


def _check_stall(factor, floor_s) -> None:
    if factor is not None and (isinstance(factor, bool) or not isinstance(factor, (int, float))
                               or not factor > 1):
        raise UsageError(f"trace(stall_factor=...) must be a number > 1 (times the recent "
                         f"iterations' median) or None (no stall watch), got {factor!r}.")
    if isinstance(floor_s, bool) or not isinstance(floor_s, (int, float)) or not floor_s > 0:
        raise UsageError(f"trace(stall_floor_s=...) must be seconds > 0, got {floor_s!r}.")


def _check_info_events(events, env) -> tuple[str, ...]:
    from rldebug.shapes.env_meta import env_name, info_events

    if isinstance(events, str):
        events = (events,)
    if not isinstance(events, (list, tuple, set, frozenset)) or not all(
            isinstance(e, str) and e for e in events):
        raise UsageTypeError(f"trace(events=...) takes info event names as strings, e.g. "
                             f"('collision',), got {events!r}.")
    known = info_events(env)
    unknown = [e for e in events if known is not None and e not in known]
    if unknown:
        raise UsageError(f"trace(events=...) got unknown event name(s) {unknown} for "
                         f"{env_name(env)}; its infos report {list(known)}.")
    return tuple(events)



def _check_no_earlier_trace(directory) -> None:
    """A trace folder holds one run: a second one's records would be merged into the
    first's, its iterations numbered after them, and the earlier run's events read as
    its own."""
    from rldebug.tracing.layout import trace_files, trial_trace_dirs

    if not isinstance(directory, Path):
        return  # a URI: its files are listed when it is read
    earlier = len(trace_files(directory)) + len(trial_trace_dirs(directory))
    if earlier:
        raise UsageError(
            f"trace(out={str(directory)!r}): the folder already holds a trace ({earlier} "
            "trace file(s) or trial folder(s)); a second run's records would be merged into "
            "it. Pass a new folder (out=None makes one per run), or remove the old trace.")

__all__ = ["DEFAULT_LEVEL", "trace"]
