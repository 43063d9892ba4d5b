"""How fast each side of a diff ran, from RLlib's own timers
(:mod:`rldebug.tracing.rllib_timers`): seconds per iteration, env steps per second, and
the driver's sampling and Learner update per iteration where every trial of both sides
can be read so. Runs made on other machines or under other load differ by that too:
these are the runs' own times, said beside the verdict, never part of it."""

from __future__ import annotations

from dataclasses import dataclass

from rldebug.shapes.results import env_steps_total, get_path, number
from rldebug.tracing.rllib_timers import rllib_time


@dataclass
class SpeedRow:
    """One measure of speed, the mean over each side's trials."""

    label: str
    a: float
    b: float
    unit: str  # "s" or "/s"

    @property
    def ratio(self) -> float | None:
        return self.b / self.a if self.a else None

    def to_dict(self) -> dict:
        return {"label": self.label, "a": self.a, "b": self.b, "unit": self.unit,
                "ratio": self.ratio}


def _steps_per_second(trial) -> float | None:
    """Env steps sampled after the first result over the seconds they took: measured on
    the rows read (a run started from a checkpoint can carry its step count over while
    Tune's clock starts again at 0)."""
    rows = trial.results
    if len(rows) < 2:
        return None
    steps = env_steps_total(rows[-1]) - env_steps_total(rows[0])
    seconds = sum(number(get_path(r, "time_this_iter_s")) or 0.0 for r in rows[1:])
    return steps / seconds if seconds > 0 and steps > 0 else None


def _mean(values: list) -> float | None:
    return None if not values or None in values else sum(values) / len(values)


def speed_rows(trials_a: list, trials_b: list) -> list[SpeedRow]:
    """The rows both sides have a value for (none where a side has no result)."""
    times = [[rllib_time(t.results, restored=bool(t.restored_at)) for t in trials]
             for trials in (trials_a, trials_b)]
    if any(None in side for side in times):
        return []
    measures = {"seconds per iteration": ("s", [[t.iteration_s for t in side]
                                                for side in times]),
                "env steps per second": ("/s", [[_steps_per_second(t) for t in trials]
                                                for trials in (trials_a, trials_b)])}
    for label in ("sampling", "learner update"):
        measures[f"{label} per iteration"] = ("s", [[t.per_iteration.get(label) for t in side]
                                                    for side in times])
    rows = []
    for label, (unit, (a, b)) in measures.items():
        mean_a, mean_b = _mean(a), _mean(b)
        if mean_a is not None and mean_b is not None:
            rows.append(SpeedRow(label, mean_a, mean_b, unit))
    return rows


__all__ = ["SpeedRow", "speed_rows"]
