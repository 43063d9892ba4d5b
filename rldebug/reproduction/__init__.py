"""Reproduce the exact step or minibatch where something went wrong, in this process.

A trace recorded with ``rldebug.trace(config, reproducible=True)`` keeps each
episode's reset seed and actions, recent module weights and, for an update with
an event, the Learner's state before it. :func:`reproduce` rebuilds the
algorithm in-process from that state and replays:

- an **episode** (a non-finite observation or reward, an env that raised, a
  ``sample()`` that crashed, or any recorded episode by iteration) up to its
  exact env step, through the real EnvRunner, RLModule, connectors and env;
- a **Learner update** (a non-finite loss or gradient) up to its exact minibatch,
  through the user's own Learner.

It stops there through ``break_here`` (the debugger, or a :func:`break_records`
entry when none is attached) and says whether the replay matches the recording.
Its cost does not depend on how far into training the event was.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rldebug.reproduction.listing import (
    RecordedTrace,
    ReproduceError,
    ReproducibleEvent,
    find_trace_dir,
    read_recorded,
    reproducible_events,
)
from rldebug.usage import UsageError

MODES = ("auto", "break", "log")


@dataclass
class Reproduction:
    """What :func:`reproduce` re-ran and whether it matched the recording."""

    kind: str  # "episode" or "update"
    reason: str
    trace_dir: Path
    event: ReproducibleEvent | None
    stop: Any  # the BreakEvent it stopped with (None if the target was never reached)
    problems: list[str] = field(default_factory=list)
    # episodes
    episode_id: str | None = None
    seed: int | None = None
    env_step: int | None = None
    weights_iteration: int | None = None
    obs: Any = None
    action: Any = None
    reward: float | None = None
    info: dict | None = None
    crash: str | None = None
    agent_id: str | None = None  # whose obs, action and reward these are (multi-agent)
    env_obs: Any = None  # what the env returned at that step (every agent's, multi-agent)
    env_action: Any = None  # what the env received (a Box action unsquashed or clipped)
    # updates
    update: int | None = None
    minibatch: int | None = None
    module_id: str | None = None  # an update's module; an episode's: the agent's module
    loss: float | None = None
    notes: list[str] = field(default_factory=list)
    algorithm: Any = field(default=None, repr=False)

    @property
    def reproduced(self) -> bool:
        return self.stop is not None and not self.problems

    def summary(self) -> str:
        lines = [f"{'Reproduced' if self.reproduced else 'NOT reproduced'}: {self.reason}"]
        if self.kind == "episode":
            lines.append(f"  episode {self.episode_id} (reset seed {self.seed}), stopped at env "
                         f"step {self.env_step}; module weights of iteration "
                         f"{self.weights_iteration}")
            if self.stop is not None:
                module = f" (module {self.module_id!r})" if self.module_id else ""
                who = "" if self.agent_id is None else f"agent {self.agent_id!r}{module}: "
                lines.append(f"  {who}obs={_short(self.obs)} action={_short(self.action)} "
                             f"reward={self.reward} info={_short(self.info)}")
                if self.agent_id is not None or not (_same(self.env_obs, self.obs) and _same(
                        self.env_action, self.action)):
                    lines.append(f"  the env received action={_short(self.env_action, 240)} "
                                 f"and returned obs={_short(self.env_obs, 400)}")
            if self.crash:
                lines.append(f"  the next step crashed again: {self.crash[:200]}")
        else:
            lines.append(f"  update {self.update}, minibatch {self.minibatch}, module "
                         f"{self.module_id}: loss {self.loss}")
        lines += [f"  problem: {p}" for p in self.problems]
        lines += [f"  note: {n}" for n in self.notes]
        if self.stop is not None and not self.stop.stopped:
            lines.append("  (no debugger attached: the stop was recorded in "
                         "rldebug.break_records(), not stopped at; run under a debugger or "
                         "with mode='break' to stop)")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        from rldebug.tracing.writer import clean

        return clean({"kind": self.kind, "reason": self.reason, "reproduced": self.reproduced,
                      "problems": self.problems, "notes": self.notes,
                      "episode_id": self.episode_id, "seed": self.seed,
                      "env_step": self.env_step, "weights_iteration": self.weights_iteration,
                      "agent_id": self.agent_id, "env_obs": self.env_obs,
                      "env_action": self.env_action,
                      "obs": self.obs, "action": self.action, "reward": self.reward,
                      "info": self.info, "crash": self.crash, "update": self.update,
                      "minibatch": self.minibatch, "module_id": self.module_id,
                      "loss": self.loss,
                      "event": None if self.event is None else self.event.number,
                      "stopped": bool(self.stop is not None and self.stop.stopped)})

    def to_json(self) -> str:
        """Strict JSON (a NaN observation is the string "nan": rldebug.usage.json_text)."""
        from rldebug.usage import json_text

        return json_text(self.to_dict())

    def close(self) -> None:
        """Stop the rebuilt algorithm (it is kept for a look at its modules and env)."""
        if self.algorithm is not None:
            self.algorithm.stop()
            self.algorithm = None


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _same(a: Any, b: Any) -> bool:
    """Whether the env's and the module's view of a step agree (a Box action unsquashed,
    a Dict observation flattened by a connector do not)."""
    if a is None or b is None:
        return True  # nothing to compare: the reset's action, a crash before the step
    try:
        return np.array_equal(np.asarray(a), np.asarray(b), equal_nan=True)
    except (TypeError, ValueError):
        return False


def _check_int(name: str, value, minimum: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise UsageError(f"reproduce({name}=...) (--{name}) must be an int >= {minimum}, "
                         f"got {value!r}.")
    return int(value)


def reproduce(path: str | Path, event: int | None = None, *, iteration: int | None = None,
              episode: int | str | None = None, step: int | None = None,
              mode: str = "auto") -> Reproduction:
    """Re-run a recorded event, episode or update in this process and stop at its step.

    :param path: a reproducible trace directory (``rldebug.trace(..., reproducible=True,
        out=...)``) or a run directory holding one in ``trace/``.
    :param event: the event's number in :func:`reproducible_events` (``rldebug reproduce
        DIR`` lists them).
    :param iteration: instead of an event: replay an episode recorded in this iteration.
    :param episode: with ``iteration``: the episode's index among that iteration's recorded
        episodes (0 = first) or its id; default 0.
    :param step: with ``iteration``: the env step to stop at (default: the episode's last).
    :param mode: ``"auto"`` (stop if a debugger is attached or stdin is a terminal, else
        record the stop in :func:`rldebug.break_records`), ``"break"`` or ``"log"``.
    :raises ReproduceError: the trace is not reproducible, or the event/episode cannot be
        replayed (the message says why).
    """
    if mode not in MODES:
        raise UsageError(f"reproduce(mode={mode!r}) (--mode) must be one of {MODES}.")
    event = _check_int("event", event, 1)
    iteration = _check_int("iteration", iteration, 1)
    step = _check_int("step", step, 0)
    if not isinstance(path, (str, Path)):  # said before what else is missing
        find_trace_dir(path)
    if (event is None) == (iteration is None):
        raise UsageError("reproduce needs exactly one of event=N (--event; rldebug reproduce "
                         "DIR lists them) or iteration=I [, episode=E, step=S] (--iteration "
                         "I [--episode E --step S]).")
    if event is not None and (episode is not None or step is not None):
        raise UsageError("reproduce(event=N) (--event N) replays the event's own episode and "
                         "step; drop episode=/step= (--episode/--step) or use iteration=I, "
                         "episode=E, step=S (--iteration I --episode E --step S) instead.")
    recorded = read_recorded(path)
    from rldebug.reproduction.run import replay_episode, replay_update

    if event is not None:
        chosen = _event(recorded, event)
        if chosen.kind == "update":
            return replay_update(recorded, chosen, mode)
        return replay_episode(recorded, recorded.episodes[chosen.episode_id],
                              chosen.env_step, chosen, mode)
    record = _episode(recorded, iteration, episode)
    if step is not None and step > record["env_steps"]:
        raise ReproduceError(
            f"episode {record['episode_id']} has {record['env_steps']} recorded env steps; "
            f"step={step} is past its end.")
    return replay_episode(recorded, record, record["env_steps"] if step is None else step,
                          None, mode)


def _event(recorded: RecordedTrace, number: int) -> ReproducibleEvent:
    events = recorded.events
    if not events:
        raise ReproduceError(f"The trace in {str(recorded.directory)!r} has no events; "
                             "replay an episode with reproduce(dir, iteration=I) (--iteration "
                             "I: one of the last iterations, whose episodes the trace keeps).")
    if number > len(events):
        raise ReproduceError(f"event={number} (--event {number}): the trace has {len(events)} event(s), numbered "
                             f"1..{len(events)} (rldebug reproduce DIR lists them).")
    chosen = events[number - 1]
    if not chosen.reproducible:
        raise ReproduceError(f"Event #{number} ({chosen.reason}) cannot be reproduced: "
                             f"{chosen.why_not}.")
    return chosen


def _episode(recorded: RecordedTrace, iteration: int, episode) -> dict:
    candidates = recorded.episodes_of(iteration)
    have = sorted(set(recorded.episode_iterations.values()))
    if not candidates:
        raise ReproduceError(
            f"No episode of iteration {iteration} is recorded; the trace keeps the last few "
            f"sample() calls and episodes with events. Iterations with recorded episodes: "
            f"{have or 'none'}.")
    if episode is None:
        return candidates[0]
    if isinstance(episode, str):
        found = [r for r in candidates if r["episode_id"] == episode]
        if not found:
            raise ReproduceError(f"Iteration {iteration} has no recorded episode {episode!r}; "
                                 f"its episodes: {[r['episode_id'] for r in candidates]}.")
        return found[0]
    index = _check_int("episode", episode, 0)
    if index >= len(candidates):
        raise ReproduceError(f"Iteration {iteration} has {len(candidates)} recorded "
                             f"episode(s); episode={index} is out of range (0-based).")
    return candidates[index]


__all__ = [
    "ReproduceError",
    "ReproducibleEvent",
    "Reproduction",
    "reproduce",
    "reproducible_events",
]
