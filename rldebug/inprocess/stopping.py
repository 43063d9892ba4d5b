"""Tune-style stop criteria for rldebug's in-process training loop.

``{"training_iteration": 20, "env_runners/episode_return_mean": 15,
"time_total_s": 300}`` stops as soon as any value in a result reaches its
threshold (``>=``), as ``tune.Tuner(run_config=RunConfig(stop=...))`` does. A
callable ``stop(iteration, result) -> bool`` is accepted too, and so is a Tune
``Stopper`` (``TrialPlateauStopper``, ``TimeoutStopper``...), called as Tune calls it.

A key the results never hold is a typo and stops the run with the keys that come
closest, once it has been missing from :data:`MISSING_PATIENCE` results in a row. An
episode metric (``env_runners/episode_return_mean``) or an evaluation one is only
late: RLlib reports it once the first episode ends or the first evaluation runs, so
it is said once and waited for, as Tune waits.
"""

from __future__ import annotations

import difflib
import logging
import math
import numbers
from collections.abc import Callable
from typing import Union

from rldebug.inprocess.runlog import flatten
from rldebug.shapes.results import get_path, has_path
from rldebug.usage import UsageError, UsageKeyError, UsageTypeError, cannot_be_called

StopSpec = Union[dict, Callable[[int, dict], bool], None]
# A metric absent from this many results in a row is a typo, not a slow start
# (the first iterations may finish no episode and so report no return yet).
MISSING_PATIENCE = 5


# RLlib's per-episode metrics (utils/metrics: EPISODE_RETURN_MEAN, ...; the old stack's
# names too): a result holds them only once an episode has ended
EPISODE_METRICS = frozenset({
    "episode_return_mean", "episode_return_min", "episode_return_max",
    "episode_len_mean", "episode_len_min", "episode_len_max", "episode_duration_sec_mean",
    "agent_episode_returns_mean", "module_episode_returns_mean",
    "episode_reward_mean", "episode_reward_min", "episode_reward_max",
    "policy_reward_mean", "policy_reward_min", "policy_reward_max"})
EVALUATION = "evaluation"  # a result holds it only once an evaluation has run
logger = logging.getLogger("rldebug.run")


def _reported_late(key: str, result: dict) -> bool:
    """Whether ``key`` names a metric RLlib reports only later in a run: an episode
    metric under a path the result holds (before any episode has ended), or anything
    under ``evaluation/`` (before the first evaluation)."""
    parts = key.split("/")
    if parts[0] == EVALUATION:
        return True
    return any(part in EPISODE_METRICS and (i == 0 or has_path(result, "/".join(parts[:i])))
               for i, part in enumerate(parts))


# Result keys that only count up from 0 (iterations, time, steps, episodes).
_COUNTER_NAMES = ("training_iteration", "time_total_s", "timesteps_total")
_COUNTER_SUFFIXES = ("_lifetime",)


def _is_counter(key: str) -> bool:
    name = key.rsplit("/", 1)[-1]
    return name in _COUNTER_NAMES or name.endswith(_COUNTER_SUFFIXES)


def _check_stop_function(stop) -> None:
    """A stop callable must accept (iteration, result): checked before training starts."""
    problem = cannot_be_called(stop, 1, {})
    if problem:
        raise UsageTypeError(
            f"The stop function {problem[0]} cannot be called as stop(iteration, result) "
            f"({problem[1]}); define it as def stop(iteration, result) -> bool.")


class Stopper:
    """Decide after each result whether training should stop, and why."""

    def __init__(self, stop: StopSpec):
        if stop is not None and not callable(stop) and not isinstance(stop, dict):
            raise UsageTypeError(
                "stop must be a dict like {'training_iteration': 10, "
                "'env_runners/episode_return_mean': 15} or a callable "
                f"(iteration, result) -> bool, got {type(stop).__name__}: {stop!r}."
            )
        if isinstance(stop, dict):
            if not stop:
                raise UsageError(
                    "stop={} has no criterion, so training would never end; pass e.g. "
                    "{'training_iteration': 10} (or max_iterations=N to rldebug.run).")
            for key, value in stop.items():
                if not isinstance(key, str):
                    raise UsageTypeError(f"stop keys must be strings like "
                                         f"'training_iteration', got {key!r}.")
                if isinstance(value, dict):  # Tune's nested form
                    inner = next(iter(value), "episode_return_mean")
                    raise UsageTypeError(
                        f"stop[{key!r}] is a dict: write a nested result key slash-separated, "
                        f"e.g. stop={{'{key}/{inner}': ...}}.")
                if isinstance(value, bool) or not isinstance(value, numbers.Real):
                    raise UsageTypeError(
                        f"stop[{key!r}] must be a number (stop when the result reaches it), "
                        f"got {type(value).__name__}: {value!r}."
                    )
                if math.isnan(value):
                    raise UsageError(
                        f"stop[{key!r}] is NaN: no result ever reaches it, so training would "
                        "never stop. Give a number.")
                if _is_counter(key) and value <= 0:
                    raise UsageError(
                        f"stop[{key!r}] = {value!r}: {key} counts up from 0, so this stops "
                        "after the first iteration whatever you meant. Give a positive number.")
            if all(value == math.inf for value in stop.values()):
                raise UsageError(
                    f"stop={stop} is inf for every criterion: no result ever reaches one, so "
                    "training would never stop. Give a finite number for one of them, e.g. "
                    "{'training_iteration': 100}.")
        self.tune_stopper = _is_tune_stopper(stop)
        if callable(stop) and not self.tune_stopper:
            _check_stop_function(stop)
        self.stop = stop or {}
        self._missing_for: dict[str, int] = {}
        self._said_late: set[str] = set()

    def check(self, result: dict, trial_id: str = "default") -> str | None:
        """Return the reason to stop (e.g. ``"training_iteration >= 10"``) or None.
        ``trial_id``: what a Tune ``Stopper`` is told (it keeps its state per trial)."""
        if self.tune_stopper:  # as Tune's controller calls it
            if self.stop(trial_id, result):
                return f"{type(self.stop).__name__} stopped the trial"
            return f"{type(self.stop).__name__}.stop_all() returned True" \
                if self.stop.stop_all() else None
        if callable(self.stop):
            iteration = result.get("training_iteration", 0)
            return "stop function returned True" if self.stop(iteration, result) else None
        for key, threshold in self.stop.items():
            if not has_path(result, key):
                self._note_missing(key, result)
                continue
            self._missing_for.pop(key, None)
            value = get_path(result, key)
            if isinstance(value, dict):
                raise UsageError(
                    f"Stop criterion {key!r} is a dict in the results, not a number: name "
                    f"one of its entries, e.g. {key}/{next(iter(value), '<name>')} (its keys: "
                    f"{sorted(map(str, value))[:8]}).")
            if isinstance(value, numbers.Number) and not math.isnan(value) and value >= threshold:
                return f"{key} = {value:.4g} >= {threshold}"
        return None

    def _note_missing(self, key: str, result: dict) -> None:
        moved = _moved_under_env_runners(key, result)
        if moved:  # a top-level key of 2021's results: it would be waited for in vain
            raise UsageKeyError(
                f"Stop criterion {key!r} is not a key of RLlib 2.60's results: it reports "
                f"this metric as {moved!r} (and, when evaluating, 'evaluation/{moved}'). "
                f"Stop on that key, e.g. stop={{{moved!r}: ...}}.")
        self._missing_for[key] = self._missing_for.get(key, 0) + 1
        if self._missing_for[key] >= MISSING_PATIENCE and _reported_late(key, result):
            if key not in self._said_late:  # said once, then waited for, as Tune waits
                self._said_late.add(key)
                logger.warning(
                    "Stop criterion %r has no value after %d results: RLlib reports it once "
                    "%s. Training goes on (the other criteria still stop it).", key,
                    MISSING_PATIENCE, "the first evaluation has run" if key.startswith(
                        EVALUATION + "/") else "an episode has ended")
            return
        if self._missing_for[key] >= MISSING_PATIENCE:
            keys = list(flatten({k: v for k, v in result.items() if k != "config"}))
            close = difflib.get_close_matches(key, keys, n=5, cutoff=0.4)
            raise UsageKeyError(
                f"Stop criterion {key!r} was not in the last {MISSING_PATIENCE} results. "
                f"Closest result keys: {close or keys[:10]}. Use a slash-separated key "
                "from the result dict, e.g. 'env_runners/episode_return_mean'."
            )


def _moved_under_env_runners(key: str, result: dict) -> str | None:
    """``env_runners/<name>`` when ``key`` is an episode metric given without its path
    (2021's ``episode_reward_mean``) and the result holds it there; None otherwise (no
    episode has ended yet: the patience decides then)."""
    from rldebug.compat.legacy import NEW_STACK_ALIASES

    runners = result.get("env_runners")
    if "/" in key or key not in EPISODE_METRICS or not isinstance(runners, dict):
        return None
    name = next((n for n in (key, NEW_STACK_ALIASES.get(key)) if n and n in runners), None)
    return None if name is None else f"env_runners/{name}"


def _is_tune_stopper(stop) -> bool:
    """A ``ray.tune.Stopper`` (asked per trial and for the whole run, as Tune asks it)."""
    if stop is None or isinstance(stop, dict) or not callable(stop):
        return False
    from ray.tune.stopper import Stopper as TuneStopper

    return isinstance(stop, TuneStopper)


__all__ = ["EPISODE_METRICS", "MISSING_PATIENCE", "StopSpec", "Stopper"]
