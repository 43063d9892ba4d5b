"""Tune's stop semantics for the trials ``rldebug debug`` runs in this process.

What ``RunConfig(stop=...)`` and ``TuneConfig(time_budget_s=...)`` mean to Ray Tune 2.60
(``ray/tune/experiment/experiment.py``, ``Trial.should_stop``,
``TuneController._stop_experiment_if_needed``), as one callable per trial that
:func:`rldebug.run` asks after each result:

- a dict stops a trial when a flattened result key reaches its value (``>=``); a key
  missing from the results is warned about once, and the trial goes on, as Tune's
  (``rldebug.run``'s own stop dict, which raises on a key missing for 5 results, is for
  runs rldebug starts);
- a function ``stop(trial_id, result)``, a ``tune.Stopper``, or a list of Stoppers
  (combined, as Tune combines them);
- ``time_budget_s`` adds Tune's ``TimeoutStopper``, whose clock starts when the
  experiment does (its first ``stop_all()``, which Tune's controller asks at every step);
- a Stopper's ``stop_all()`` ends the experiment: the trial stops and no later trial
  runs;
- a result saying ``done=True`` ends its trial (``Trial.should_stop``).
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import Any

from rldebug.inprocess.runlog import flatten
from rldebug.usage import UsageError


class ExperimentStop:
    """A Tune experiment's stop criteria, asked per trial (see the module docs).

    :raises UsageError: (a ValueError, as Tune raises) for what Tune refuses, with Tune's
        words: a list holding something other than Stoppers, or a ``stop`` that is none
        of the forms above.
    """

    def __init__(self, stop: Any = None, time_budget_s: Any = None, *,
                 warn: Callable[[str], None] = print):
        from ray.tune.stopper import CombinedStopper, FunctionStopper, Stopper, TimeoutStopper

        self.criteria: dict = {}
        self.stopper = None
        if not stop:
            pass
        elif isinstance(stop, list):
            if not all(isinstance(s, Stopper) for s in stop):
                raise UsageError(
                    "If you pass a list as the `stop` argument to `tune.RunConfig()`, each "
                    "element must be an instance of `tune.stopper.Stopper`. Got "
                    f"{[type(s) for s in stop]}.")
            self.stopper = CombinedStopper(*stop)
        elif isinstance(stop, dict):
            self.criteria = dict(stop)
        elif isinstance(stop, Stopper):
            self.stopper = stop
        elif callable(stop) and FunctionStopper.is_valid_function(stop):
            self.stopper = FunctionStopper(stop)
        else:
            raise UsageError(f"Invalid stop criteria: {stop!r}. Must be a callable or dict "
                             f"(or a list of tune.Stopper). Got {type(stop)}.")
        if time_budget_s:
            budget = TimeoutStopper(time_budget_s)
            self.stopper = CombinedStopper(self.stopper, budget) if self.stopper else budget
        self.stopped_all = False  # a Stopper's stop_all() ended the experiment
        self._warn = warn
        self._warned: set[str] = set()

    def experiment_over(self) -> bool:
        """Whether the experiment has ended (``stop_all()``, asked now as Tune's controller
        asks it before each trial: the first call starts a time budget's clock)."""
        if self.stopper is not None and self.stopper.stop_all():
            self.stopped_all = True
        return self.stopped_all

    def check(self, trial_id: str, result: dict) -> bool:
        """Whether ``result`` ends trial ``trial_id`` (or, by ``stop_all()``, the
        experiment)."""
        result = {**result, "trial_id": trial_id}
        flat = flatten({k: v for k, v in result.items() if k != "config"})
        stop = result.get("done") is True
        if self.stopper is not None and self.stopper(trial_id, result):
            stop = True
        if self.experiment_over():
            stop = True
        for key, value in self.criteria.items():
            if key not in flat:
                if key not in self._warned:
                    self._warned.add(key)
                    self._warn(
                        f"stop criterion {key!r} is not in trial {trial_id}'s result; as "
                        "Tune does, the trial goes on until another criterion stops it "
                        f"(result keys include {list(flat)[:8]}).")
            elif isinstance(flat[key], numbers.Number) and flat[key] >= value:
                stop = True
        return stop


__all__ = ["ExperimentStop"]
