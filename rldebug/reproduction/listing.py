"""What a reproducible trace can re-run: its events, numbered, and its recorded episodes."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rldebug.tracing import load_trace
from rldebug.tracing.layout import (
    episode_files,
    replay_config_file,
    run_trace_dir,
    trace_dir_of,
    trace_files,
    trial_trace_dirs,
    update_snapshots_dir,
    weights_files,
)
from rldebug.tracing.reading import present, whole
from rldebug.tracing.replay_state import read_episode_records
from rldebug.usage import UsageError, UsageTypeError


class ReproduceError(UsageError):
    """The trace, event or episode asked for cannot be reproduced; the message says why."""


@dataclass
class ReproducibleEvent:
    """One trace event and how to reproduce it (``kind``: ``"episode"`` or ``"update"``)."""

    number: int
    kind: str | None
    reason: str
    iteration: int | None
    source: str
    column: str
    agent_id: str | None = None
    module_id: str | None = None
    episode_id: str | None = None
    env_step: int | None = None  # the step to stop at (env steps since the reset)
    update: int | None = None
    minibatch: int | None = None
    snapshot: str | None = None
    why_not: str | None = None  # set when the event cannot be reproduced
    record: dict = field(default_factory=dict)

    @property
    def reproducible(self) -> bool:
        return self.why_not is None

    def line(self) -> str:
        where = f"iteration {self.iteration}" if self.iteration else "iteration ?"
        status = "" if self.reproducible else f"  (not reproducible: {self.why_not})"
        return f"#{self.number:<3} {where:>14}  {self.reason}{status}"


@dataclass
class RecordedTrace:
    """A reproducible trace, read: its events, episodes and saved weights."""

    directory: Path
    events: list[ReproducibleEvent]
    episodes: dict[str, dict]  # episode id -> record (seed, actions, events)
    episode_iterations: dict[str, int]
    weights: dict[int, Path]
    iteration_ends: np.ndarray

    def iteration_at(self, time: float) -> int:
        """The iteration running at ``time`` (the first that ended at or after it)."""
        return int(np.searchsorted(self.iteration_ends, time, side="left")) + 1

    def episodes_of(self, iteration: int) -> list[dict]:
        """Recorded episodes that finished in ``iteration`` (or were in play when it crashed)."""
        found = [r for eid, r in self.episodes.items()
                 if self.episode_iterations.get(eid) == iteration]
        return sorted(found, key=lambda r: (r["started"], r["episode_id"]))


def find_trace_dir(path: str | Path, option: str = "reproduce(path=...)") -> Path:
    """The reproducible trace in ``path``: a trace directory or a run directory holding
    one (``option`` names where it was given, in errors)."""
    if not isinstance(path, (str, Path)):
        raise UsageTypeError(f"{option} takes a trace or run directory (str or Path), got "
                             f"{type(path).__name__} {path!r:.80}.")
    from rldebug.tracing.store import readable_dir

    path = readable_dir(path, option)
    candidate = path if trace_files(path) else trace_dir_of(path)
    trials = trial_trace_dirs(path) or trial_trace_dirs(run_trace_dir(path))
    if candidate is None and trials:
        shown = ", ".join(repr(str(t)) for t in trials[:4]) + (" ..." if len(trials) > 4 else "")
        raise ReproduceError(
            f"{str(path)!r} holds one trace per Tune trial ({len(trials)}): pass the trial's "
            f"folder, one of {shown}.")
    if candidate is None:
        raise ReproduceError(
            f"{str(path)!r} holds no trace. Pass the out= directory of "
            "rldebug.trace(config, reproducible=True) or a run directory with a trace/ in it.")
    if not replay_config_file(candidate).is_file():
        raise ReproduceError(
            f"The trace in {str(candidate)!r} was not recorded for replay (it has no "
            "replay/config.pkl). Trace with rldebug.trace(config, reproducible=True) to keep "
            "the seeds, actions, weights and Learner states that reproduce needs.")
    return candidate


_INTEGERS = ("env_step", "update", "minibatch", "runner_index", "iteration")


def _value(row: dict, key: str):
    """A field of an event row (None where absent; counts back to ints)."""
    return whole(row.get(key)) if key in _INTEGERS else present(row.get(key))


def _where(row: dict, episodes: dict) -> str:
    """``runner R`` and, of a runner with several envs, ``env E`` (its episode's record)."""
    env_index = (episodes.get(_value(row, "episode_id")) or {}).get("env_index")
    env = f", env {env_index}" if env_index else ""
    return f"runner {_value(row, 'runner_index')}{env}"


def _reason(row: dict, episodes: dict) -> str:
    who = _value(row, "agent_id") or _value(row, "module_id") or ""
    who = f"{who}: " if who else ""
    column = row.get("column")
    if row.get("source") == "learner":
        where = f"update {_value(row, 'update')}, minibatch {_value(row, 'minibatch')}"
        return f"{who}non-finite {column} ({where})"
    if column == "sample":
        return f"sample() crashed: {_value(row, 'error')}: {str(_value(row, 'message'))[:120]}"
    if column and column.startswith("env."):
        return (f"{column} raised {_value(row, 'error')}: {str(_value(row, 'message'))[:120]}"
                f" ({_where(row, episodes)})")
    if row.get("source") in ("driver", "tracer", "break_on", "watchdog", "relay"):
        # no NaN: what the driver, the tracer or break_on recorded, in its own words
        said = _value(row, "message") or _value(row, "reason") or _value(row, "error")
        runners = _value(row, "runner_indices")
        return (f"{row.get('source')}: {column}"
                + (f" (runner(s) {', '.join(map(str, runners))})" if runners else "")
                + (f": {str(said)[:120]}" if said else ""))
    step = _value(row, "env_step")
    at = f" at env step {step}" if step is not None else ""
    what = (f"info event '{column[5:]}'" if column and column.startswith("info.")
            else f"non-finite {column}")
    return f"{who}{what}{at} ({_where(row, episodes)})"


def _classify(row: dict, episodes: dict, directory: Path) -> dict:
    """``kind``, the stop position and ``why_not`` of one trace event."""
    source, column = row.get("source"), row.get("column")
    if source == "learner":
        snapshot = _value(row, "snapshot")
        if snapshot is None:
            return {"kind": "update", "why_not": (
                "no Learner snapshot for this update (IMPALA/APPO update in their learner "
                "thread, or the trace was not reproducible when it happened)")}
        if not (update_snapshots_dir(directory) / snapshot).is_file():
            return {"kind": "update", "why_not": f"replay/updates/{snapshot} is missing"}
        return {"kind": "update", "snapshot": snapshot}
    if column == "sample":
        in_play = [e for e in (row.get("episodes_in_play") or []) if e in episodes]
        if not in_play:
            return {"kind": "episode", "why_not": "no recorded episode was in play"}
        # The episode with an event of its own caused the crash, if any did.
        chosen = next((e for e in in_play if episodes[e]["events"]), in_play[0])
        # when its env raised, the tape holds the raising step's action too: stop before it
        raised = any(str(e.get("column", "")).startswith("env.")
                     for e in episodes[chosen]["events"])
        return {"kind": "episode", "episode_id": chosen,
                "env_step": max(episodes[chosen]["env_steps"] - int(raised), 0)}
    if source in ("driver", "tracer", "watchdog", "relay"):
        return {"kind": None, "why_not": f"a {source} record ({column}), not a step of an "
                                          "episode"}
    episode = _value(row, "episode_id")
    if episode is None:
        return {"kind": None, "why_not": "the event names no episode (recorded at the end of "
                                          "a sample() call, not by the replay tape)"}
    if episode not in episodes:
        return {"kind": "episode", "why_not": f"episode {episode} was not recorded (pruned "
                                              "from the ring)"}
    step = int(_value(row, "env_step") or 0)
    if column and column.startswith("env."):
        step = max(step - 1, 0)  # stop before the step that raised
    return {"kind": "episode", "episode_id": episode, "env_step": step}


def read_recorded(path: str | Path, option: str = "reproduce(path=...)") -> RecordedTrace:
    """Read the reproducible trace in ``path`` (a trace or run directory)."""
    directory = find_trace_dir(path, option)
    trace = load_trace(directory)
    episodes = read_episode_records(episode_files(directory))
    ends = (trace.iterations["time"].to_numpy() if not trace.iterations.empty
            else np.array([]))
    recorded = RecordedTrace(directory=directory, events=[], episodes=episodes,
                             episode_iterations={}, weights=weights_files(directory),
                             iteration_ends=ends)
    recorded.episode_iterations = {eid: recorded.iteration_at(r["time"])
                                   for eid, r in episodes.items()}
    rows = trace.events.to_dict("records") if not trace.events.empty else []
    for number, row in enumerate(rows, start=1):
        info = _classify(row, episodes, directory)
        recorded.events.append(ReproducibleEvent(
            number=number, reason=_reason(row, episodes), iteration=_value(row, "iteration"),
            source=str(row.get("source")), column=str(row.get("column")),
            agent_id=_value(row, "agent_id"), module_id=_value(row, "module_id"),
            update=_value(row, "update"), minibatch=_value(row, "minibatch"),
            record=row, **info))
    return recorded


def reproducible_events(path: str | Path) -> list[ReproducibleEvent]:
    """Every event of the reproducible trace in ``path``, numbered as ``reproduce(event=N)``
    takes them, each saying how it is reproduced or why it cannot be."""
    return read_recorded(path, "reproducible_events(path=...)").events


__all__ = ["RecordedTrace", "ReproduceError", "ReproducibleEvent", "find_trace_dir",
           "read_recorded", "reproducible_events"]
