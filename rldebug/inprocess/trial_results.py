"""What Tune returns for trials that ran in this process under ``rldebug debug``.

``Tuner.fit()`` returns a :class:`InProcessResultGrid` (``ResultGrid``'s common
methods); ``tune.run(...)`` returns a :class:`InProcessAnalysis`, which answers
``ExperimentAnalysis``'s API as 2021 scripts and Tune 2.60 use it: ``trials``
(each an :class:`InProcessTrial` with ``last_result``, ``config``, ``status``,
``trial_id``, ``path``/``local_path``/``logdir``, ``error_file``),
``best_trial``/``best_config``/``best_result``/``best_result_df``/
``best_dataframe``/``best_checkpoint`` (from ``tune.run(metric=, mode=)``),
``get_best_trial``, ``get_best_config``, ``get_best_checkpoint``,
``get_last_checkpoint``, ``get_all_configs``, ``results``, ``results_df``,
``dataframe(metric, mode)`` and ``trial_dataframes``. Every ``last_result`` also
answers the 2021 top-level keys (``episode_reward_mean``, ``policy_reward_mean``,
``custom_metrics``; :func:`rldebug.compat.legacy.with_2021_keys`).
"""

from __future__ import annotations

import json
import logging
import math
import numbers
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rldebug.inprocess.runlog import ERROR_FILE, RESULT_FILE, flatten
from rldebug.shapes.results import get_path
from rldebug.usage import UsageError

logger = logging.getLogger(__name__)

# Tune's Trial.status values
TERMINATED, ERROR, PENDING, RUNNING = "TERMINATED", "ERROR", "PENDING", "RUNNING"


@dataclass(eq=False)  # one object per trial, hashable, as Tune's (callbacks key on it)
class InProcessTrial:
    """One trial run in this process, with the attributes of Tune's ``Trial`` that
    scripts and Tune callbacks read."""

    trial_id: str
    trainable_name: str
    experiment_tag: str
    config: dict
    path: str
    last_result: dict = field(default_factory=dict)
    status: str = TERMINATED
    error: BaseException | None = None
    checkpoint: Any = None
    evaluated_params: dict = field(default_factory=dict)  # the searched values, a/b keys
    custom_trial_name: str | None = None  # TuneConfig(trial_name_creator=)'s

    @property
    def local_path(self) -> str:
        return self.path

    @property
    def logdir(self) -> str:
        """The 2021 name of the trial's folder."""
        return self.path

    def init_local_path(self) -> None:
        """Create the trial's folder (Tune's loggers call it before writing there)."""
        Path(self.path).mkdir(parents=True, exist_ok=True)

    @property
    def error_file(self) -> str | None:
        file = Path(self.path) / ERROR_FILE
        return str(file) if file.is_file() else None

    def __str__(self) -> str:
        """The trial's name as Tune's ``str(trial)``: ``<trainable>[_<env>]_<trial id>``."""
        if self.custom_trial_name:
            return self.custom_trial_name
        name = self.trainable_name
        if isinstance(self.config, dict) and "env" in self.config:
            env = self.config["env"]
            name += f"_{env.__name__ if isinstance(env, type) else env}"
        return f"{name}_{self.trial_id}".replace("/", "_")


class InProcessResultGrid:
    """What ``Tuner.fit()`` returns under debug mode: ``ray.tune.Result`` per trial, with
    ``ResultGrid``'s common methods (``len``, indexing, iteration,
    ``get_best_result``, ``get_dataframe``, ``errors``, ``num_errors``,
    ``num_terminated``)."""

    def __init__(self, trials: list[InProcessTrial], experiment_path: Path,
                 default_metric: str | None = None, default_mode: str | None = None):
        self.trials = trials
        self.experiment_path = str(experiment_path)
        self.default_metric, self.default_mode = default_metric, default_mode
        self._results = [_result(t) for t in trials]

    def __len__(self) -> int:
        return len(self._results)

    def __getitem__(self, index: int):
        return self._results[index]

    def __iter__(self):
        return iter(self._results)

    @property
    def errors(self) -> list[BaseException]:
        return [r.error for r in self._results if r.error is not None]

    @property
    def num_errors(self) -> int:
        return len(self.errors)

    @property
    def num_terminated(self) -> int:
        return len(self._results) - self.num_errors

    def get_best_result(self, metric: str | None = None, mode: str | None = None,
                        scope: str = "last", filter_nan_and_inf: bool = True):
        """The trial whose ``metric`` (a ``a/b`` key; default: the Tuner's
        ``TuneConfig(metric=)``) is best (``mode`` "max"/"min"); with one trial, that
        trial, as Tune's."""
        if len(self.trials) == 1:
            return self._results[0]
        metric = metric or self.default_metric
        trial = _best(self.trials, metric, mode or self.default_mode, "get_best_result",
                      scope, filter_nan_and_inf)
        if trial is None:  # Tune's error, word for word
            raise RuntimeError(
                f"No best trial found for the given metric: {metric}. This means that no "
                "trial has reported this metric" + (
                    ", or all values reported for this metric are NaN. To not ignore NaN "
                    "values, you can set the `filter_nan_and_inf` arg to False."
                    if filter_nan_and_inf else "."))
        return self._results[self.trials.index(trial)]

    def get_dataframe(self, filter_metric: str | None = None,
                      filter_mode: str | None = None):
        """One row per trial: its last result, or with ``filter_metric`` and
        ``filter_mode`` its result where that metric was best."""
        import pandas as pd

        if (filter_metric is None) != (filter_mode is None):
            raise UsageError("get_dataframe takes filter_metric= and filter_mode= together "
                             f"('max' or 'min'); got {filter_metric!r}, {filter_mode!r}.")
        rows = []
        for trial, result in zip(self.trials, self._results):
            if trial.status == PENDING:  # never ran (Ctrl+C): no row, as in Tune's
                continue
            metrics = result.metrics or {}
            if filter_metric is not None:
                _check_metric(filter_metric, filter_mode, "get_dataframe")
                scored = [(v, r) for r in trial_history(trial)
                          if (v := _score(get_path(r, filter_metric))) is not None]
                if scored:
                    pick = max if filter_mode == "max" else min
                    metrics = {**pick(scored, key=lambda pair: pair[0])[1],
                               "config": trial.config}
            rows.append({**flatten(metrics), "logdir": result.path})  # as Tune names it
        return pd.DataFrame(rows)


def _result(trial: InProcessTrial):
    """The trial as Tune's ``Result``: its last metrics, checkpoint (also as its one best
    checkpoint, with the metrics it was saved at), error, folder and every result."""
    from ray.air import Result

    # a trial that never ran (Ctrl+C ended the experiment first) has only its id, as Tune's
    metrics = dict(trial.last_result) if trial.status == PENDING else \
        {**trial.last_result, "config": trial.config}
    checkpoint = tune_checkpoint(trial.checkpoint)
    return Result(metrics=metrics, checkpoint=checkpoint, error=trial.error, path=trial.path,
                  metrics_dataframe=_history_frame(trial),
                  best_checkpoints=[(checkpoint, metrics)] if checkpoint else None)


def _history_frame(trial: InProcessTrial):
    """Every result of the trial, flattened, as Tune's ``Result.metrics_dataframe``."""
    import pandas as pd

    history = trial_history(trial, with_config=True)
    return pd.DataFrame([flatten(r) for r in history]) if history else None


def tune_checkpoint(path):
    """A trial's checkpoint folder as the ``ray.tune.Checkpoint`` a Result carries."""
    if path is None:
        return None
    from ray.tune import Checkpoint

    return Checkpoint.from_directory(str(path))


def _check_metric(metric: Any, mode: Any, caller: str) -> None:
    if not isinstance(metric, str) or mode not in ("max", "min"):
        raise UsageError(f"{caller} needs metric= (a result key such as "
                         "'env_runners/episode_return_mean' or 'episode_reward_mean') and "
                         f"mode='max' or 'min'; got metric={metric!r}, mode={mode!r}. With "
                         "tune.run, pass metric= and mode= to it to set the defaults.")


def _score(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return None if math.isnan(value) or math.isinf(value) else float(value)


def _best(trials: list[InProcessTrial], metric: Any, mode: Any, caller: str,
          scope: str = "last", filter_nan_and_inf: bool = True) -> InProcessTrial | None:
    """The trial with the best ``metric``, scored as Tune's ``ExperimentAnalysis``
    scores it: over every numeric value the trial reported for it, its ``last``,
    ``avg``, ``last-N-avg``, or with ``scope="all"`` its max/min; a trial whose score
    is NaN/inf does not count unless ``filter_nan_and_inf=False``. None when no trial
    has a score."""
    _check_metric(metric, mode, caller)
    if scope not in ("last", "all", "avg", "last-5-avg", "last-10-avg"):
        raise UsageError(f"{caller}(scope=...) takes 'all', 'last', 'avg', 'last-5-avg' or "
                         f"'last-10-avg', got {scope!r}.")
    best, best_score = None, None
    for trial in trials:
        reported = [(v, r.get("training_iteration")) for r in trial_history(trial)
                    if _number(v := get_path(r, metric))]
        values = [v for v, _ in reported]
        if not values:
            continue
        if scope == "all":
            score = values[0]
            for value in values[1:]:  # in Tune's order, so NaN compares as in Tune
                score = max(value, score) if mode == "max" else min(value, score)
        elif scope == "last":
            score = values[-1]
        elif scope == "avg":  # Tune's running mean, weighted by training_iteration
            score = values[0]
            for value, step in reported[1:]:
                step = step or 1
                score = 1 / step * (value + (step - 1) * score)
        else:
            window = values[-int(scope.split("-")[1]):]
            score = sum(window) / len(window)
        if filter_nan_and_inf and (math.isnan(score) or math.isinf(score)):
            continue
        if best_score is None or (score > best_score if mode == "max" else score < best_score):
            best, best_score = trial, score
    return best


def _number(value: Any) -> bool:
    """A value Tune tracks for a metric (``numbers.Number``)."""
    return isinstance(value, numbers.Number)


def trial_history(trial: InProcessTrial, with_config: bool = False) -> list[dict]:
    """Every result the trial wrote (its result.json), oldest first; ``with_config``
    adds the trial's config to each, as Tune's results carry it (Tune's dataframes have
    its ``config/...`` columns; the in-process result.json leaves it out)."""
    file = Path(trial.path) / RESULT_FILE
    if not file.is_file():
        return []
    with open(file) as f:
        history = [json.loads(line) for line in f if line.strip()]
    if not with_config:
        return history
    config = (trial.last_result or {}).get("config", trial.config)  # the Algorithm's, in full
    return [{**result, "config": config} for result in history]


class InProcessAnalysis(InProcessResultGrid):
    """What ``tune.run(...)`` returns under debug mode: Tune's ``ExperimentAnalysis``
    API (see the module docstring) over the trials run in this process."""

    def __init__(self, trials: list[InProcessTrial], experiment_path: Path,
                 default_metric: str | None = None, default_mode: str | None = None):
        if default_mode is not None and default_mode not in ("max", "min"):
            raise UsageError(f"tune.run(mode=...) takes 'max' or 'min', got {default_mode!r}.")
        super().__init__(trials, experiment_path, default_metric, default_mode)

    def _defaults(self, what: str) -> tuple[str, str]:
        if not self.default_metric or not self.default_mode:
            raise UsageError(f"To fetch the `{what}`, pass a `metric` and `mode` parameter "
                             "to `tune.run()`. Alternatively, use get_best_trial(metric, "
                             "mode) to set the metric and mode explicitly.")
        return self.default_metric, self.default_mode

    def get_best_trial(self, metric: str | None = None, mode: str | None = None,
                       scope: str = "last",
                       filter_nan_and_inf: bool = True) -> InProcessTrial | None:
        """The trial with the best ``metric`` (defaults: ``tune.run(metric=, mode=)``);
        None, with Tune's warning, when no trial reported it."""
        if len(self.trials) == 1:
            return self.trials[0]
        trial = _best(self.trials, metric or self.default_metric, mode or self.default_mode,
                      "get_best_trial", scope, filter_nan_and_inf)
        if trial is None:
            logger.warning("Could not find best trial. Did you pass the correct `metric` "
                           "parameter?")
        return trial

    def get_best_config(self, metric: str | None = None, mode: str | None = None,
                        scope: str = "last") -> dict | None:
        trial = self.get_best_trial(metric, mode, scope)
        return trial.config if trial else None

    def get_best_checkpoint(self, trial: InProcessTrial, metric: str | None = None,
                            mode: str | None = None):
        """The trial's checkpoint (a trial run in this process keeps at most its last)."""
        return tune_checkpoint(trial.checkpoint)

    def get_last_checkpoint(self, trial: InProcessTrial | None = None, metric: str = "",
                            mode: str = ""):
        trial = trial or self.get_best_trial(metric or "training_iteration", mode or "max")
        return tune_checkpoint(trial.checkpoint) if trial is not None else None

    def get_all_configs(self, prefix: bool = False) -> dict[str, dict]:
        return {t.trial_id: ({f"config/{k}": v for k, v in flatten(t.config).items()}
                             if prefix else t.config) for t in self.trials}

    @property
    def best_trial(self) -> InProcessTrial:
        return self.get_best_trial(*self._defaults("best_trial"))

    @property
    def best_config(self) -> dict:
        return self.get_best_config(*self._defaults("best_config"))

    @property
    def best_result(self) -> dict:
        return self.get_best_trial(*self._defaults("best_result")).last_result

    @property
    def best_checkpoint(self):
        trial = self.best_trial
        if trial is None:  # Tune's words (a UsageError is a ValueError, as Tune's is)
            raise UsageError(f"No best trial found. Please check if you specified the "
                             f"correct default metric ({self.default_metric}) and mode "
                             f"({self.default_mode}).")
        return tune_checkpoint(trial.checkpoint)

    @property
    def best_dataframe(self):
        return self.trial_dataframes[self.get_best_trial(*self._defaults("best_result")).trial_id]

    @property
    def best_result_df(self):
        import pandas as pd

        return pd.DataFrame.from_records([flatten(self.best_result)], index="trial_id")

    @property
    def results(self) -> dict[str, dict]:
        return {t.trial_id: t.last_result for t in self.trials}

    @property
    def results_df(self):
        """One row per trial (its flattened last result), indexed by trial_id."""
        import pandas as pd

        return pd.DataFrame.from_records([flatten(t.last_result) for t in self.trials],
                                         index="trial_id")

    @property
    def trial_dataframes(self) -> dict:
        """``{trial_id: DataFrame of every result the trial reported}``."""
        import pandas as pd

        frames = {}
        for trial in self.trials:
            history = trial_history(trial, with_config=True)  # one read of result.json
            frames[trial.trial_id] = (pd.DataFrame([flatten(r) for r in history]) if history
                                      else pd.DataFrame())
        return frames

    def dataframe(self, metric: str | None = None, mode: str | None = None):
        """One row per trial: its last result, or with ``metric`` and ``mode`` the result
        with the best ``metric`` it ever reported."""
        import pandas as pd

        if mode is not None and mode not in ("max", "min"):
            raise UsageError(f"dataframe(mode=...) takes 'max', 'min' or None, got {mode!r}.")
        if mode and not metric:
            raise UsageError("dataframe(mode=...) needs metric= too.")
        rows = []
        for trial in self.trials:
            if trial.status == PENDING or not trial_history(trial):
                continue  # no result to show (Ctrl+C before it ran), as Tune leaves it out
            row = trial.last_result
            if metric and mode:
                scored = [(v, r) for r in trial_history(trial)
                          if (v := _score(get_path(r, metric))) is not None]
                if scored:
                    pick = max if mode == "max" else min
                    row = pick(scored, key=lambda pair: pair[0])[1]
            rows.append({**flatten(row), "logdir": trial.path})
        return pd.DataFrame(rows)


__all__ = [
    "ERROR",
    "PENDING",
    "RUNNING",
    "TERMINATED",
    "InProcessAnalysis",
    "InProcessResultGrid",
    "InProcessTrial",
    "trial_history",
    "tune_checkpoint",
]
