"""Where an untraced run's time went, from RLlib 2.60's own timers in ``result.json``.

RLlib times parts of each iteration with its MetricsLogger (``log_time``), whose default
is an exponential moving average of the calls with coefficient 0.01
(``ray.rllib.utils.metrics.stats.ema.EmaStats``):

- on the driver, ``timers/training_iteration``, ``timers/env_runner_sampling_timer``,
  ``timers/learner_update_timer`` and ``timers/synch_weights``. Pushed once per
  iteration, such an average stays near the first iteration's value for about a hundred
  iterations (TensorBoard shows it so); each iteration's own seconds come back exactly
  from two rows, ``(E[t] - 0.99 E[t-1]) / 0.01``. A timer pushed several times per
  iteration (DQN's and SAC's updates, APPO's and IMPALA's) gives nothing back that way:
  its value is a smoothed mean per call, and the split needs a trace.
- on each new-stack EnvRunner, per env step: ``env_step_timer`` (one vectorised step),
  the connector pipelines' ``connector_pipeline_timer`` and ``rlmodule_inference_timer``
  (pushed at every step, hundreds of times per iteration: the average follows the last
  hundred or so; RLlib reports the mean over the runners). Its ``sample`` (once per
  runner per PPO iteration: as stuck as the driver's) and ``env_reset_timer`` (the vector
  env resets itself inside ``step``: only the first reset is timed) are not shown.

On the old API stack the driver's ``timers/*_time_ms`` are each the mean of its last 10
calls, and ``env_runners/sampler_perf`` the RolloutWorkers' milliseconds per env step,
averaged since each worker started (``sampler_perf_stats_ema_coef=None``, RLlib's
default; ``ray/rllib/evaluation/env_runner_v2.py`` ``_PerfStats``).
Only ``time_this_iter_s`` is exact in every case. :func:`rllib_time` reads them from a
trial's result rows; ``rldebug profile`` shows them for a run with no trace.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from rldebug.shapes.results import get_path, is_new_stack_result, number
from rldebug.shapes.timers import (
    EMA_COEFF,
    OLD_TIMER_WINDOW,
    RESULT_DRIVER_TIMERS,
    RESULT_OLD_DRIVER_TIMERS,
    RESULT_OLD_STEP_TIMERS,
    RESULT_STEP_TIMERS,
)

#: a recovered iteration may come out this far below 0 from float rounding
_ROUNDING_S = 1e-3


@dataclass
class RLlibTime:
    """What RLlib's own timers say of a run, in seconds."""

    iterations: int
    iteration_s: float  # mean of time_this_iter_s
    last_iteration_s: float
    #: label -> mean seconds per iteration, where RLlib timed it once per iteration
    per_iteration: dict[str, float] = field(default_factory=dict)
    #: label -> RLlib's average seconds per call, where it timed it several times per
    #: iteration (or the old stack's mean of its last calls)
    per_call: dict[str, float] = field(default_factory=dict)
    per_call_is: str = "its smoothed mean per call"
    #: label -> seconds per env step on an EnvRunner (the last iteration's average)
    per_step: dict[str, float] = field(default_factory=dict)
    per_step_is: str = ("RLlib's running average over its last steps, the mean over the "
                        "runners")

    def to_dict(self) -> dict[str, Any]:
        return {"iterations": self.iterations, "iteration_s": self.iteration_s,
                "last_iteration_s": self.last_iteration_s,
                "per_iteration_s": self.per_iteration, "per_call_s": self.per_call,
                "per_env_step_s": self.per_step}


def once_per_iteration(averages: list[float | None]) -> list[float] | None:
    """Each iteration's own seconds from RLlib's running average of a timer pushed once
    per iteration; None where the rows cannot be such an average (a value missing, one
    iteration coming out below 0: it was pushed several times per iteration)."""
    if not averages or any(a is None for a in averages):
        return None
    own = [averages[0]] + [(now - (1 - EMA_COEFF) * before) / EMA_COEFF
                           for before, now in itertools.pairwise(averages)]
    if min(own) < -_ROUNDING_S:
        return None
    return [max(x, 0.0) for x in own]


def _explains_each_iteration(own: dict[str, list[float] | None], walls: list[float]) -> bool:
    """Whether the driver's timers read as pushed once per iteration: three iterations or
    more (one row fits any timer), every part of every iteration at or above 0, and the
    parts adding up to between half and all of each iteration's time_this_iter_s (an
    average of several calls per iteration, read so, strays out of that band)."""
    if len(walls) < 3 or not own or any(x is None for x in own.values()):
        return False
    return all(0.5 * wall <= sum(parts) <= 1.02 * wall + 0.01
               for wall, *parts in zip(walls, *own.values()))


def rllib_time(results: list[dict], restored: bool = False) -> RLlibTime | None:
    """RLlib's timers of a trial's result rows (see the module's docstring); None when the
    rows hold no ``time_this_iter_s``. ``restored``: Tune restored the trial from a
    checkpoint, and its averages may have started again: none is read per iteration."""
    rows = [r for r in results if number(r.get("time_this_iter_s")) is not None]
    if not rows:
        return None
    # each row's average follows the one before it: a row skipped (a damaged line) or
    # written twice breaks the chain
    numbers = [number(r.get("training_iteration")) for r in rows]
    consecutive = None not in numbers and all(
        b == a + 1 for a, b in itertools.pairwise(numbers))
    walls = [number(r["time_this_iter_s"]) for r in rows]
    out = RLlibTime(iterations=len(rows), iteration_s=sum(walls) / len(walls),
                    last_iteration_s=walls[-1])
    last = rows[-1]
    if not is_new_stack_result(last):
        out.per_call_is = f"its mean of its last {OLD_TIMER_WINDOW} calls"
        out.per_step_is = "RLlib's mean since each RolloutWorker started"
        for parts, into in ((RESULT_OLD_DRIVER_TIMERS, out.per_call),
                            (RESULT_OLD_STEP_TIMERS, out.per_step)):
            for label, key in parts.items():
                value = number(get_path(last, key))
                if value is not None:
                    into[label] = value / 1000
        return out
    averages = {label: [number(get_path(r, key)) for r in rows]
                for label, key in RESULT_DRIVER_TIMERS.items()}
    averages = {label: a for label, a in averages.items() if any(v is not None for v in a)}
    own = {label: once_per_iteration(a) for label, a in averages.items()}
    if consecutive and not restored and _explains_each_iteration(own, walls):
        out.per_iteration = {label: sum(x) / len(x) for label, x in own.items()}
    else:
        out.per_call = {label: a[-1] for label, a in averages.items() if a[-1] is not None}
    for label, key in RESULT_STEP_TIMERS.items():
        value = number(get_path(last, key))
        if value is not None:
            out.per_step[label] = value
    return out


def _span(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.0f} µs"


def rllib_time_lines(time: RLlibTime) -> list[str]:
    """The console's lines for :class:`RLlibTime`."""
    lines = [(f"Iterations: {time.iterations}, {_span(time.iteration_s)} each on average "
              f"(time_this_iter_s; the last {_span(time.last_iteration_s)}).")]
    for label, seconds in time.per_iteration.items():
        lines.append(f"  {label}: {_span(seconds)} per iteration "
                     f"({seconds / time.iteration_s:.0%})" if time.iteration_s else
                     f"  {label}: {_span(seconds)} per iteration")
    if time.per_iteration:
        rest = time.iteration_s - sum(time.per_iteration.values())
        lines.append(f"  the rest (the iteration's own steps, metrics, callbacks on the "
                     f"driver): {_span(max(rest, 0.0))}")
    for label, seconds in time.per_call.items():
        lines.append(f"  {label}: {_span(seconds)} per call ({time.per_call_is}; RLlib may "
                     "time it several times per iteration: not a share of the iteration, "
                     "trace the run for that)")
    if time.per_step:
        total = sum(time.per_step.values())
        lines.append(f"One env step on an EnvRunner ({time.per_step_is}):")
        for label, seconds in time.per_step.items():
            lines.append(f"  {label}: {_span(seconds)} ({seconds / total:.0%})" if total
                         else f"  {label}: {_span(seconds)}")
        largest = max(time.per_step, key=time.per_step.get)
        lines.append(f"  the largest part of a step: {largest}")
    return lines


__all__ = ["RLlibTime", "once_per_iteration", "rllib_time",
           "rllib_time_lines"]
