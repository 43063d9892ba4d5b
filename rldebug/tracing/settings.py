"""What ``rldebug.trace(config, ...)`` asked for: one frozen settings object, read as
``self.settings`` by the trace's callback and by its Learner (both configured with
:func:`rldebug.callbacks.compose.with_settings`)."""

from __future__ import annotations

from dataclasses import dataclass

from rldebug.tracing.replay_state import DEFAULT_KEEP


@dataclass(frozen=True)
class TraceSettings:
    """Where the trace goes and what it records (see :func:`rldebug.trace`)."""

    dir: str = ""  # the trace directory (written by the process that runs the Algorithm)
    token: str = "untraced"  # names this trace's sink in every process
    level: str = "batches"  # "summary", "batches" or "full"
    reproducible: bool = False  # record episodes and weights for rldebug.reproduce
    keep: int = DEFAULT_KEEP  # iterations of weights / sample() calls of episodes kept
    info_events: tuple[str, ...] = ()  # info flags recorded as events
    max_events: int = 10  # events of one kind recorded per iteration
    memory: bool = False  # trace allocations (tracemalloc) to name growing sites
    stall_factor: float | None = 10.0  # an iteration this many times the recent median ...
    stall_floor_s: float = 120.0  # ... and at least this long dumps every stack (None: off)


__all__ = ["TraceSettings"]
