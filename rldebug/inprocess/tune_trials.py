"""Tune experiments run trial by trial in this process, for ``rldebug debug``.

``tune.Tuner(...).fit()`` and ``tune.run(...)`` under :func:`rldebug.debug_mode` come
here (:func:`tuner_fit`, :func:`tune_run`): each trial of the experiment runs in this
process, one after another, so a debugger attached to it stops in the env, the RLModule,
the loss and the callbacks of every trial. What Ray Tune 2.60 does with the experiment's
settings is kept where it can be in one process, and said in one line where it cannot:

- kept: grid and random search (``num_samples`` too), the stop criteria
  (:mod:`rldebug.inprocess.tune_stop`: a dict, a function, Stoppers, ``time_budget_s``,
  ``stop_all()``), ``storage_path``/``name`` and Tune's trial names and folders
  (``trial_name_creator``/``trial_dirname_creator`` too), ``FailureConfig(fail_fast=)``,
  ``CheckpointConfig(checkpoint_at_end=)`` with the Tuner's default (a checkpoint at the
  end of every Algorithm trial), Tune's refusals (checkpoint options on a function
  trainable, a ``stop`` list holding other than Stoppers); a function trainable's
  ``tune.report``/``tune.get_checkpoint``/``tune.get_context()``, however it was
  imported; Tune's callbacks (``RunConfig(callbacks=[...])``, a ``LoggerCallback`` too),
  called with this process's trials; ``Tuner.get_results()``; a custom Algorithm
  subclass trains as itself;
- said, with what happens instead: a scheduler (no trial is stopped early or
  perturbed), a search algorithm (param_space is sampled as grid and random search),
  ``max_failures`` (a failed trial is not retried), Tune's progress reporter and the
  settings that only matter to trials in parallel or on a cluster;
- refused: ``Tuner.restore`` (resuming needs Tune's controller), a ``num_samples`` of -1,
  a ``storage_path`` that is not on this machine.

Each trial is written in Tune's layout (``params.json``, ``result.json``,
``progress.csv``, TensorBoard events, ``error.txt`` on failure), which ``rldebug
doctor`` reads; ``fit()`` returns an :class:`InProcessResultGrid`, ``tune.run`` an
:class:`InProcessAnalysis` (:mod:`rldebug.inprocess.trial_results`).
"""

from __future__ import annotations

import dataclasses
import os
import platform
import re
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rldebug.inprocess.debugging import in_process, notice
from rldebug.inprocess.experiment_state import ExperimentState
from rldebug.inprocess.trial_results import (
    ERROR,
    PENDING,
    RUNNING,
    TERMINATED,
    InProcessAnalysis,
    InProcessResultGrid,
    InProcessTrial,
    tune_checkpoint,
)
from rldebug.inprocess.tune_stop import ExperimentStop
from rldebug.shapes.errors import root_cause
from rldebug.tracing.layout import TRIAL_ENV
from rldebug.usage import UsageError, UsageTypeError

# Tune's limit on a trial folder's name before its date (TUNE_MAX_LEN_IDENTIFIER)
_MAX_NAME = int(os.environ.get("TUNE_MAX_LEN_IDENTIFIER", "130"))


def _trainable_class(trainable: Any):
    if isinstance(trainable, str):
        from ray.tune.registry import get_trainable_cls

        return get_trainable_cls(trainable)
    return trainable


def _variants(param_space: dict, num_samples: int):
    """(tag, resolved values, config dict) per trial: grid and random search expanded."""
    from ray.tune.search.variant_generator import format_vars, generate_variants

    if isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples == 0 \
            or num_samples < -1:
        raise UsageError(f"TuneConfig(num_samples=...) takes a positive number of samples, "
                         f"got {num_samples!r}.")
    if num_samples == -1:
        raise UsageError(
            "TuneConfig(num_samples=-1) samples trials until a time budget or a stopper ends "
            "the experiment; rldebug debug runs trials one after another and needs a number: "
            "give num_samples=N (e.g. 4) while you debug.")
    for _ in range(num_samples):
        for resolved, spec in generate_variants(param_space):
            yield format_vars(resolved), resolved, spec


def _local_root(storage_path: Any, name: str) -> Path:
    """The experiment's folder on this machine; a cloud URI is refused (trials written
    there would land in a local folder named ``s3:``)."""
    text = os.fspath(storage_path) if storage_path else os.path.expanduser("~/ray_results")
    if re.match(r"^[a-zA-Z][\w+.-]*://", str(text)) and not str(text).startswith("file://"):
        raise UsageError(
            f"storage_path={str(text)!r} is not a folder on this machine; rldebug "
            "debug writes its trials to local folders: give a local storage_path while you "
            "debug.")
    return Path(str(text).removeprefix("file://")).expanduser() / name


def run_trials(trainable: Any, param_space: dict | Any, *, stop: Any = None,
               num_samples: int = 1, storage_path: str | None = None,
               name: str | None = None, fail_fast: bool | str = False,
               checkpoint_at_end: bool | None = False, checkpoint_frequency: int = 0,
               time_budget_s: float | None = None,
               trial_name_creator: Callable | None = None,
               trial_dirname_creator: Callable | None = None,
               callbacks: list | None = None, metric: str | None = None) -> list[InProcessTrial]:
    """Run a Tune experiment's trials one after another in this process (see module docs).

    :param trainable: an Algorithm class (a subclass trains as itself), a registered name
        such as ``"PPO"``, or a function trainable.
    :param param_space: an AlgorithmConfig or a config dict (with ``tune.grid_search``...).
    :param stop: Tune's stop criteria: a dict, a function ``stop(trial_id, result)``, a
        ``tune.Stopper`` or a list of them; None trains until interrupted.
    :param fail_fast: Tune's ``FailureConfig(fail_fast=...)``: True stops at the first
        failed trial, ``"raise"`` (any case) also raises its exception from here.
    :param checkpoint_at_end: save each trial's Algorithm when it ends (its
        ``Result.checkpoint``); None: as the Tuner's default, for Algorithms but not for
        function trainables.
    :param checkpoint_frequency: Tune's; in this process only the last checkpoint is saved.
    :param time_budget_s: Tune's ``TuneConfig(time_budget_s=)``.
    :param trial_name_creator: ``f(trial) -> str``, the trial's name, as Tune's.
    :param trial_dirname_creator: ``f(trial) -> str``, the trial's folder name, as Tune's.
    :param callbacks: Tune's ``RunConfig(callbacks=[...])``, called as Tune calls them.
    :param metric: ``TuneConfig(metric=)``: a result without it fails the experiment, as
        Tune's strict metric check does.
    :returns: the trials, each written in Tune's layout under ``storage_path/name``
        (a failed one too: ``params.json``, ``result.json`` up to the failure,
        ``error.txt``).
    :raises UsageError: (a ValueError, as Tune raises) for what Tune refuses (checkpoint
        options on a function trainable, a ``stop`` Tune does not take).
    """
    from ray.rllib.algorithms.algorithm_config import AlgorithmConfig
    from rich.console import Console

    from rldebug.compat.legacy import config_from_dict, with_2021_keys
    from rldebug.inprocess.progress import ProgressTable
    from rldebug.inprocess.training import run
    from rldebug.inprocess.trial_results import trial_history

    algo_class = _trainable_class(trainable)
    function = None if hasattr(algo_class, "get_default_config") else algo_class
    if function is not None and (isinstance(function, type) or not callable(function)):
        raise UsageTypeError(f"rldebug debug runs RLlib Algorithms and function trainables "
                             f"in this process; {trainable!r} is neither (a class trainable "
                             "runs under plain Tune: run the script without rldebug debug).")
    if function is not None and checkpoint_at_end:
        raise UsageError(  # Tune's words (ray/tune/experiment/experiment.py)
            "'checkpoint_at_end' cannot be used with a function trainable. You should "
            "include one last call to `ray.tune.report(metrics=..., checkpoint=...)` at the "
            "end of your training loop to get this behavior.")
    if function is not None and checkpoint_frequency:
        raise UsageError(
            "'checkpoint_frequency' cannot be set for a function trainable. You will need to "
            "report a checkpoint every `checkpoint_frequency` iterations within your "
            "training loop using `ray.tune.report(metrics=..., checkpoint=...)` to get this "
            "behavior.")
    if checkpoint_frequency:
        notice(f"CheckpointConfig(checkpoint_frequency={checkpoint_frequency}): trials in "
               "this process save one checkpoint, when they end.")
    users_at_end = (function is None) if checkpoint_at_end is None else bool(checkpoint_at_end)
    at_end = users_at_end or bool(checkpoint_frequency)
    if isinstance(fail_fast, str) and fail_fast.upper() != "RAISE":
        raise UsageError(f"fail_fast must be one of {{bool, RAISE}}. Got {fail_fast}.")
    raising = isinstance(fail_fast, str)  # "raise", in any case
    stopping = ExperimentStop(stop, time_budget_s, warn=notice)
    if isinstance(param_space, AlgorithmConfig):
        param_space = param_space.to_dict()
    label = getattr(algo_class, "__name__", None) or type(algo_class).__name__
    name = name or f"{label}_{time.strftime('%Y-%m-%d_%H-%M-%S')}"
    root = _local_root(storage_path, name)
    experiment_id = uuid.uuid4().hex[:5]
    trials: list[InProcessTrial] = []
    variants = list(_variants(dict(param_space or {}), num_samples))
    folders: set[str] = set()  # the experiment's trial folders so far

    def new_trial(index: int, tag: str, resolved: dict, spec: dict) -> InProcessTrial:
        return _trial(label, experiment_id, index, tag, resolved, spec, root, folders,
                      trial_name_creator, trial_dirname_creator)

    hooks = _TuneCallbacks(callbacks, trials)
    state = ExperimentState(root)  # Tune's experiment_state file, which its readers read
    hooks.call("setup", stop=stopping.criteria, num_samples=num_samples,
               time_budget_s=time_budget_s, total_num_samples=len(variants))
    try:
        for index, (tag, resolved, spec) in enumerate(variants):
            if stopping.experiment_over():  # stop_all(), time_budget_s: no further trial
                break
            # Tune validates each trial's config as it adds the trial
            # (Algorithm.default_resource_request): RLlib's refusal comes out of fit()
            config = None if function is not None else \
                _validated(config_from_dict(algo_class, spec, notice))
            trial = new_trial(index, tag, resolved, spec)
            trials.append(trial)
            notice(f"trial {index + 1}: {Path(trial.path).name} (in this process)")
            trial.status = RUNNING
            state.save(trials)
            hooks.call("on_trial_start", trial=trial)
            failed: list[_ExperimentFailed] = []  # what ends the experiment, not the trial

            def on_result(result: dict, trial=trial, failed=failed) -> bool:
                """Each result, before it is written, as Tune's controller takes it: its
                metric checked, its stop decided (``done``), the callbacks called (they
                may change it). True stops the trial."""
                try:
                    _check_metric_reported(metric, result)
                    result.update(trial_id=trial.trial_id)
                    result["done"] = stopping.check(trial.trial_id, result)
                    hooks.result(trial, result)
                    trial.last_result = result  # after the callbacks, as Tune updates it
                    return result["done"]
                except _ExperimentFailed as err:
                    failed.append(err)
                    return True

            os.environ[TRIAL_ENV] = Path(trial.path).name  # a traced config's trace folder
            try:
                if function is not None:
                    last = _run_function_trial(function, spec, trial, on_result, hooks)
                    trial.last_result = {**last, "config": spec}
                else:
                    table = ProgressTable(console=Console(stderr=True, soft_wrap=True),
                                          title=str(trial))
                    config = in_process(config, label)
                    if config.algo_class is not algo_class:  # Tune builds the class given
                        config.algo_class = algo_class
                    outcome = run(config, logdir=trial.path, progress=table,
                                  checkpoint_at_end=at_end, on_result=on_result)
                    # As Tune's: the last result carries the Algorithm's whole config dict.
                    full_config = outcome.algo.config.to_dict()
                    outcome.algo.stop()
                    trial.last_result = {**with_2021_keys(dict(outcome.last_result)),
                                         "config": full_config, "trial_id": trial.trial_id}
                    if outcome.checkpoint is not None and not failed:
                        trial.checkpoint = _named_as_tune_names_it(
                            outcome.checkpoint, outcome.iterations, checkpoint_frequency,
                            users_at_end)
                        hooks.saved(trial)
                if failed:
                    raise failed[0]
            except KeyboardInterrupt:
                # as Tune: Ctrl+C ends the experiment, and fit() returns what the trials did
                trial.status = TERMINATED
                trial.last_result = _last_written(trial, spec)
                notice(f"interrupted (Ctrl+C): trial {trial} stopped after "
                       f"{len(trial_history(trial))} iteration(s); the trials after it are "
                       "not run, as Tune ends the experiment.")
                for later, (tag, resolved, spec) in enumerate(variants[index + 1:], index + 1):
                    pending = new_trial(later, tag, resolved, spec)
                    pending.status, pending.last_result = PENDING, {"trial_id": pending.trial_id}
                    trials.append(pending)  # in fit()'s results, as Tune's pending trials are
                return _end(trials, hooks, state)
            except _ExperimentFailed:
                raise
            except Exception as err:
                _failed(trial, err, spec)
                if raising:  # Tune raises before any callback hears of it
                    notice(f"fail_fast={fail_fast!r}: no further trials, and the trial's "
                           "exception is raised, as Tune does.")
                    state.save(trials)
                    _print_summary(trials)
                    raise
                hooks.call("on_trial_error", trial=trial)
                if fail_fast:
                    notice(f"fail_fast={fail_fast!r}: no further trials.")
                    return _end(trials, hooks, state)
                state.save(trials)
                continue
            finally:
                os.environ.pop(TRIAL_ENV, None)
            trial.status = TERMINATED
            problem = hooks.complete(trial)
            if problem is not None:  # Tune: the trial errored
                _failed(trial, problem, spec)
            state.save(trials)
        if stopping.stopped_all and len(trials) < len(variants):
            notice(f"the experiment was ended after {len(trials)} of {len(variants)} trials "
                   "(a Stopper's stop_all(), or time_budget_s): the others were not run, as "
                   "Tune runs none after it.")
        return _end(trials, hooks, state)
    except _ExperimentFailed as failure:  # Tune's fit() raises it, as it raised it
        state.save(trials)
        _print_summary(trials)
        raise failure.__cause__ from None


def _validated(config):
    """``config``, after RLlib's checks of it and of its evaluation config, as
    ``Algorithm.default_resource_request`` makes them when Tune adds a trial."""
    checked = config.copy(copy_frozen=False)
    checked.validate()
    checked.get_evaluation_config_object().validate()
    return config


def _named_as_tune_names_it(checkpoint: Path, iterations: int, frequency: int,
                            at_end: bool) -> Path:
    """A trial's end checkpoint renamed as Tune names it, by how many checkpoints the
    trial would have saved (``checkpoint_000000`` for the first: Train's
    ``StorageContext.current_checkpoint_index``), not by its iteration as ``rldebug.run``
    names it; the result row that names it says the new name."""
    from rldebug.inprocess.runlog import PROGRESS_FILE, RESULT_FILE

    saved = iterations // frequency if frequency else 0
    if at_end and not (frequency and iterations % frequency == 0):
        saved += 1
    target = checkpoint.with_name(f"checkpoint_{max(saved - 1, 0):06d}")
    if target == checkpoint or target.exists():
        return checkpoint
    checkpoint.rename(target)
    for name in (RESULT_FILE, PROGRESS_FILE):
        path = checkpoint.parent / name
        if not path.is_file():
            continue
        lines = path.read_text().splitlines(keepends=True)
        if lines and checkpoint.name in lines[-1]:  # the last result: the one it was saved at
            lines[-1] = lines[-1].replace(checkpoint.name, target.name)
            path.write_text("".join(lines))
    return target


def _failed(trial: InProcessTrial, err: BaseException, spec: dict) -> None:
    """Mark ``trial`` failed with ``err``: its ``error.txt`` (when nothing wrote one yet),
    status, error and last result, said in one line."""
    from rldebug.inprocess.runlog import write_error

    if trial.error_file is None:  # it failed before rldebug.run wrote its files
        write_error(trial.path, err)
    notice(f"trial {trial} failed: {_error_text(err)}{_raised_at(err)} "
           f"(traceback in {trial.error_file})")
    cause = err.__cause__ or err.__context__
    if not str(err).strip() and not err.args and cause is not None:
        # RLlib's bare RuntimeError from an env's exception: Tune's RayTaskError says the
        # cause in its str(); ResultGrid.errors and Result.error keep this one object
        err.args = (f"raised from {_error_text(cause)}",)
        err.rldebug_message_is_its_cause = True  # _error_text says the cause itself
    trial.status, trial.error = ERROR, err
    trial.last_result = _last_written(trial, spec)


def _last_written(trial: InProcessTrial, spec: dict) -> dict:
    """The last result a trial that stopped early wrote (with the 2021 keys), its config
    and id: what Tune's ``Result.metrics`` holds for it."""
    from rldebug.compat.legacy import with_2021_keys
    from rldebug.inprocess.trial_results import trial_history

    history = trial_history(trial)
    last = with_2021_keys(history[-1]) if history else {}
    return {**last, "config": _params(trial) or spec, "trial_id": trial.trial_id}


def _check_metric_reported(metric: str | None, result: dict) -> None:
    """Tune's strict metric check (``TuneController._validate_result_metrics``): a result
    without ``TuneConfig(metric=)`` fails the experiment, unless
    ``TUNE_DISABLE_STRICT_METRIC_CHECKING=1``."""
    if not metric or os.environ.get("TUNE_DISABLE_STRICT_METRIC_CHECKING", "0") == "1":
        return
    from ray.tune import TuneError
    from ray.tune.result import DEBUG_METRICS

    from rldebug.inprocess.runlog import flatten

    flat = flatten(result)
    if len([k for k in flat if k not in (*DEBUG_METRICS, "done")]) > 1 and metric not in flat:
        error = TuneError(
            f"ValueError: Trial returned a result which did not include the specified "
            f"metric(s) `{metric}` that `tune.TuneConfig()` expects. Make sure your calls to "
            "`tune.report()` include the metric, or set the "
            "TUNE_DISABLE_STRICT_METRIC_CHECKING environment variable to 1. Result keys: "
            f"{sorted(flat)[:20]}")
        raise _ExperimentFailed("TuneConfig(metric=) is not in a result") from error


def _end(trials: list[InProcessTrial], hooks: _TuneCallbacks,
         state: ExperimentState) -> list[InProcessTrial]:
    """The experiment's end: its state file, Tune's summary, then its callbacks'
    ``on_experiment_end``."""
    state.save(trials)
    _print_summary(trials)
    hooks.call("on_experiment_end")
    return trials


class _ExperimentFailed(Exception):
    """What fails a Tune experiment rather than a trial, its exception the cause (most
    callbacks', or Tune's check of ``TuneConfig(metric=)``): Tune's ``fit()`` raises that
    exception, where a trial's own only fails the trial."""


class _TuneCallbacks:
    """The experiment's ``RunConfig(callbacks=[...])``, called as Tune's controller calls
    them (``ray/tune/callback.py``), with this process's trials: ``setup``,
    ``on_trial_start``, per result ``on_step_begin``, ``on_trial_result`` and
    ``on_step_end``, ``on_checkpoint`` and ``on_trial_save`` when a trial saves a
    checkpoint, ``on_trial_complete`` or ``on_trial_error``, ``on_experiment_end``; a
    ``LoggerCallback``'s ``log_trial_*`` follow from them, as in Tune. Tune's own JSON,
    CSV and TensorBoard loggers are left out: rldebug writes those files.

    A callback's exception does what it does in Tune 2.60 (measured with a callback
    raising in each hook): from ``setup``, ``on_trial_start``, the step hooks and
    ``on_experiment_end`` it is raised from ``fit()`` as it is; from ``on_trial_result``,
    ``on_trial_error`` and ``on_trial_save`` as a ``TuneError``; from
    ``on_trial_complete`` it fails the trial; from ``on_checkpoint`` it is logged.
    """

    _AS_TUNE_ERROR = ("on_trial_result", "on_trial_error", "on_trial_save")

    def __init__(self, callbacks: Any, trials: list[InProcessTrial]):
        if callbacks is not None and not isinstance(callbacks, (list, tuple)):
            raise UsageTypeError(f"RunConfig(callbacks=...) takes a list of tune.Callback, "
                                 f"got {type(callbacks).__name__}.")
        from ray.tune.logger import CSVLoggerCallback, JsonLoggerCallback, TBXLoggerCallback

        written = (JsonLoggerCallback, CSVLoggerCallback, TBXLoggerCallback)
        skipped = [type(c).__name__ for c in callbacks or () if isinstance(c, written)]
        if skipped:
            notice(f"RunConfig(callbacks=[{', '.join(skipped)}]): rldebug writes "
                   "result.json, progress.csv and the TensorBoard events itself; these are "
                   "not called.")
        self.callbacks = [c for c in callbacks or () if not isinstance(c, written)]
        self.trials, self.iteration = trials, 0

    def call(self, hook: str, **info) -> None:
        """``hook`` of every callback, with Tune's ``iteration`` and ``trials`` (``setup``
        gets the experiment's spec, ``on_experiment_end`` the trials only, as in Tune)."""
        if hook != "setup":
            info["trials"] = self.trials
        if hook not in ("setup", "on_experiment_end"):
            info["iteration"] = self.iteration
        for callback in self.callbacks:
            try:
                getattr(callback, hook)(**info)
            except Exception as err:
                if hook in self._AS_TUNE_ERROR:
                    from ray.tune import TuneError

                    raise _ExperimentFailed(hook) from TuneError(f"{type(err).__name__}: "
                                                                 f"{err}")
                raise _ExperimentFailed(hook) from err

    def result(self, trial: InProcessTrial, result: dict) -> None:
        self.call("on_step_begin")
        self.call("on_trial_result", trial=trial, result=result)
        self.iteration += 1  # "increased before on_step_end is called", as in Tune
        self.call("on_step_end")

    def saved(self, trial: InProcessTrial) -> None:
        """A checkpoint the trial saved: ``on_checkpoint`` (an exception logged, as Tune
        logs it), then ``on_trial_save``."""
        try:
            self.call("on_checkpoint", trial=trial,
                      checkpoint=tune_checkpoint(trial.checkpoint))
        except _ExperimentFailed as failed:
            notice(f"trial {trial}: a callback's on_checkpoint raised "
                   f"{_error_text(failed.__cause__)}; Tune logs it and goes on.")
        self.call("on_trial_save", trial=trial)

    def complete(self, trial: InProcessTrial) -> BaseException | None:
        """``on_trial_complete``; the exception a callback raised there (which fails the
        trial, in Tune), or None."""
        try:
            self.call("on_trial_complete", trial=trial)
        except _ExperimentFailed as failed:
            return failed.__cause__
        return None


def _trial(label: str, experiment_id: str, index: int, tag: str, resolved: dict, spec: dict,
           root: Path, folders: set[str], name_creator: Callable | None,
           dirname_creator: Callable | None) -> InProcessTrial:
    """Trial ``index`` of the experiment, named and placed as Tune names and places it:
    ``<trainable>[_<env>]_<trial id>``, in a folder ``<name>_<tag>_<date>`` (or what the
    experiment's creators return for it), made unique as Tune makes it (``_<4 hex>``
    added to a name an earlier trial or run has; ``folders`` holds this experiment's)."""
    from ray.tune.search.variant_generator import _flatten_resolved_vars

    trial = InProcessTrial(trial_id=f"{experiment_id}_{index:05d}", trainable_name=label,
                           experiment_tag=f"{index}" + (f"_{tag}" if tag else ""),
                           config=spec, path="",
                           evaluated_params=_flatten_resolved_vars(resolved))
    if name_creator is not None:
        trial.custom_trial_name = _created(name_creator, trial, "trial_name_creator")
    if dirname_creator is not None:
        folder = _created(dirname_creator, trial, "trial_dirname_creator")
        if os.path.sep in folder:
            raise UsageError(f"Trial dirname must not contain '/'. Got {folder}")
    else:
        folder = f"{trial}_{trial.experiment_tag}"[:_MAX_NAME] + \
            f"_{time.strftime('%Y-%m-%d_%H-%M-%S')}"
    folder = re.sub(r'[/()<>:"\\|?*]', "_", folder)  # as Tune strips them
    if folder in folders or (root / folder).exists():
        folder += "_" + uuid.uuid4().hex[:4]
    folders.add(folder)
    trial.path = str(root / folder)
    return trial


def _created(creator: Callable, trial: InProcessTrial, option: str) -> str:
    """What a TuneConfig name creator returns for ``trial``, checked to be a name."""
    name = creator(trial)
    if not isinstance(name, str) or not name:
        raise UsageTypeError(f"TuneConfig({option}=...) must return a non-empty string for "
                             f"each trial; {getattr(creator, '__name__', creator)!r} returned "
                             f"{name!r}.")
    return name


class _TrialStopped(Exception):
    """Raised from a function trainable's ``tune.report`` when the stop criteria end its
    trial (Tune ends the trial's actor there)."""


class _InProcessSession:
    """What Ray's ``ray.train._internal.session.get_session()`` returns inside a Tune
    function trial, for a trial in this process: ``tune.report``, ``tune.get_checkpoint``
    and ``tune.get_context()`` read it however the script imported them (a
    ``from ray.tune import report`` at the top of the script is bound before any
    patch)."""

    world_rank = None  # None: a Tune session, not a Train worker's
    world_size, local_rank, local_world_size, node_rank = 1, 0, 1, 0
    loaded_checkpoint = None  # a trial here always starts fresh
    trial_resources = None
    storage = None

    def __init__(self, trial: InProcessTrial, experiment_name: str,
                 report: Callable[..., None]):
        self.trial_id, self.trial_name = trial.trial_id, str(trial)
        self.trial_dir, self.experiment_name = trial.path, experiment_name
        self.run_id, self.metadata = trial.trial_id, {}
        self._report = report

    def report(self, metrics: dict, checkpoint=None) -> None:
        self._report(metrics, checkpoint=checkpoint)


def _run_function_trial(function: Callable, config: dict, trial: InProcessTrial,
                        on_result: Callable[[dict], bool], hooks: _TuneCallbacks) -> dict:
    """Run a function trainable's trial in this process: ``function(config)``, each
    ``tune.report(metrics, checkpoint=...)`` a result with what Tune's Trainable fills in
    (``training_iteration``, ``time_total_s``, ``date``...), handed to
    ``on_result(result)`` (which may change it, and says whether the trial stops there)
    and then written in the trial's folder; a reported checkpoint is copied there and
    told to the callbacks. Returns its last result."""
    import ray.train._internal.session as train_session

    from rldebug.inprocess.runlog import RunLogger

    logger = RunLogger(trial.path, config=config)
    started = previous = time.time()
    count, checkpoints, last = 0, 0, {}  # results, checkpoints (Tune numbers each kind)
    try:
        import ray.util

        node_ip = ray.util.get_node_ip_address()
    except Exception:  # noqa: BLE001 - only a label in the result
        node_ip = "127.0.0.1"

    def report(metrics: dict, *, checkpoint=None) -> None:
        nonlocal last, count, checkpoints, previous
        if not isinstance(metrics, dict):
            raise UsageTypeError(f"tune.report(metrics) takes a dict of metrics, got "
                                 f"{type(metrics).__name__}: {metrics!r}.")
        now, count = time.time(), count + 1
        last = {"done": False, **metrics}  # with what Tune's Trainable fills in
        last.setdefault("training_iteration", count)
        last.update({"trial_id": trial.trial_id, "date": time.strftime("%Y-%m-%d_%H-%M-%S"),
                     "timestamp": metrics.get("timestamp") or int(now),
                     "time_this_iter_s": now - previous, "time_total_s": now - started,
                     "pid": os.getpid(), "hostname": platform.node(), "node_ip": node_ip,
                     "time_since_restore": now - started, "iterations_since_restore": count})
        previous = now
        stop = on_result(last)
        logger.log(last)
        if checkpoint is not None:  # copied, as Tune does: the reported one is often temporary
            import shutil

            kept = Path(trial.path) / f"checkpoint_{checkpoints:06d}"
            checkpoints += 1
            shutil.copytree(checkpoint.path, kept, dirs_exist_ok=True)
            trial.checkpoint = kept
            hooks.saved(trial)
        if stop:
            raise _TrialStopped

    saved = train_session.get_session()
    train_session._session = _InProcessSession(trial, Path(trial.path).parent.name, report)
    try:
        function(config)
    except _TrialStopped:
        pass
    except _ExperimentFailed:
        raise
    except BaseException as err:
        if not isinstance(err, KeyboardInterrupt):
            logger.write_error(err)
        raise
    finally:
        train_session._session = saved
        logger.close()
    return last


def _print_summary(trials: list[InProcessTrial]) -> None:
    """Tune's end-of-run table, on stderr: per trial its status, iterations, time, last
    return and folder."""
    from rich.console import Console
    from rich.table import Table

    from rldebug.shapes.results import mean_total_return

    counts = {}
    for trial in trials:
        counts[trial.status] = counts.get(trial.status, 0) + 1
    table = Table(title="Trial status: " + " | ".join(f"{n} {s}" for s, n in counts.items()))
    for column in ("trial", "status", "iter", "total time (s)", "return"):
        table.add_column(column, justify="left" if column == "trial" else "right",
                         no_wrap=True)
    for trial in trials:
        result = trial.last_result
        value = mean_total_return(result) if result else None
        table.add_row(str(trial), trial.status, str(result.get("training_iteration", 0)),
                      f"{result.get('time_total_s', 0.0):.1f}",
                      "-" if value is None else f"{value:.3f}")
    console = Console(stderr=True, soft_wrap=True)
    console.print(table, highlight=False)
    if trials:
        console.print(f"Trial folders (Tune's layout) in {Path(trials[0].path).parent}",
                      highlight=False)
    for trial in trials:
        if trial.error is not None:
            console.print(f"Trial {trial} errored: {_error_text(trial.error)}"
                          f"{_raised_at(trial.error)}; traceback in {trial.error_file}",
                          highlight=False)


def _params(trial: InProcessTrial) -> dict | None:
    """The config dict a trial wrote (params.json), or None."""
    import json

    from rldebug.inprocess.runlog import PARAMS_FILE

    try:
        return json.loads((Path(trial.path) / PARAMS_FILE).read_text())
    except (OSError, ValueError):
        return None


def _raised_at(err: BaseException) -> str:
    """`` at FILE:LINE in FUNC``: the frame that raised the root cause."""
    import traceback

    frames = traceback.extract_tb(root_cause(err).__traceback__)
    if not frames:
        return ""
    last = frames[-1]
    return f" at {last.filename}:{last.lineno} in {last.name}"


def _error_text(err: BaseException) -> str:
    """``Type: message``, with the exception it wraps when its own message is empty
    (RLlib's EnvRunner raises a bare ``RuntimeError`` from the env's exception)."""
    own = "" if getattr(err, "rldebug_message_is_its_cause", False) else str(err).strip()
    text = f"{type(err).__name__}: {own}" if own else type(err).__name__
    cause = err.__cause__ or err.__context__
    if not own and cause is not None:
        return f"{text} raised from {_error_text(cause)}"
    return text


# -- Tuner.fit() ---------------------------------------------------------------------------

# What a Tuner's (or tune.run's) settings do in this process, when not their default (the
# ones kept are passed to run_trials).
_NOT_HERE = {
    "scheduler": "no trial is stopped early or perturbed; each runs to its stop criteria",
    "search_alg": "param_space is sampled as grid and random search",
    "max_failures": "a failed trial is not retried",
    "progress_reporter": "rldebug's progress table is shown",
    "verbose": "rldebug's progress table is shown",
    "log_to_file": "the trials' output stays on this console",
    "sync_config": "trials are written to local folders only",
    "num_to_keep": "one checkpoint per trial is kept",
    "checkpoint_score_attribute": "one checkpoint per trial is kept",
    "checkpoint_score_order": "one checkpoint per trial is kept",
    # tune.run's names
    "keep_checkpoints_num": "one checkpoint per trial is kept",
    "checkpoint_score_attr": "one checkpoint per trial is kept",
    "resources_per_trial": "every trial runs in this process",
    "export_formats": "no model is exported",
}
# Kept as Tune keeps them, trials running one at a time in one process.
_KEPT_ANYWAY = {"max_concurrent_trials", "reuse_actors", "chdir_to_trial_dir", "_entrypoint"}


def tuner_fit(self) -> InProcessResultGrid:
    """``Tuner.fit()`` under debug mode (see the module docs)."""
    tuner = self._local_tuner
    if getattr(tuner, "_is_restored", False):
        raise UsageError(
            "Tuner.restore(...) resumes an experiment through Tune's controller and trial "
            "actors, which rldebug debug replaces with trials in this process; it cannot "
            "resume one. Debug a new run (Tuner(...) instead of Tuner.restore(...)), or run "
            "the script without rldebug debug to resume.")
    run_config, tune_config = tuner._run_config, tuner._tune_config
    _refuse_other_filesystems(run_config.storage_filesystem, "RunConfig")
    notice("Tuner.fit() runs its trials one after another in this process.")
    _say_what_is_not_kept(run_config, tune_config)
    failure = run_config.failure_config
    checkpoints = run_config.checkpoint_config
    trials = run_trials(tuner.trainable, tuner.param_space, stop=run_config.stop,
                        num_samples=tune_config.num_samples,
                        storage_path=run_config.storage_path, name=run_config.name,
                        fail_fast=failure.fail_fast if failure else False,
                        checkpoint_at_end=checkpoints.checkpoint_at_end if checkpoints else None,
                        checkpoint_frequency=checkpoints.checkpoint_frequency if checkpoints
                        else 0,
                        time_budget_s=tune_config.time_budget_s,
                        trial_name_creator=tune_config.trial_name_creator,
                        trial_dirname_creator=tune_config.trial_dirname_creator,
                        callbacks=run_config.callbacks, metric=tune_config.metric)
    grid = InProcessResultGrid(trials, _experiment_path(trials, run_config.storage_path,
                                                        run_config.name),
                               default_metric=tune_config.metric, default_mode=tune_config.mode)
    self._rldebug_results = grid  # what Tuner.get_results() returns after fit()
    return grid


def tuner_get_results(original: Callable) -> Callable:
    """``Tuner.get_results()``: the grid ``fit()`` returned in this process."""

    def get_results(self):
        grid = getattr(self, "_rldebug_results", None)
        return grid if grid is not None else original(self)
    return get_results


def _say_what_is_not_kept(run_config, tune_config) -> None:
    """One line naming every Tuner setting (not at its default) that trials in this
    process do not honour, with what happens instead."""
    from ray import tune

    given = {}
    for settings, default in ((tune_config, tune.TuneConfig()), (run_config, tune.RunConfig()),
                              (run_config.failure_config, tune.FailureConfig()),
                              (run_config.checkpoint_config, tune.CheckpointConfig())):
        for field in dataclasses.fields(settings) if settings is not None else ():
            value = getattr(settings, field.name)
            if field.name in _NOT_HERE and value is not None and \
                    not _same(value, getattr(default, field.name)):
                given[f"{type(settings).__name__}({field.name}={_shown(value)})"] = field.name
    _say_not_kept(given)


def _say_not_kept(given: dict[str, str]) -> None:
    """``given``: how each setting was written -> its name in :data:`_NOT_HERE` (None: a
    setting with no effect here that the table does not name)."""
    said = [f"{written}: {_NOT_HERE[name] if name else 'no effect'}"
            for written, name in given.items()]
    if said:
        notice("in this process " + "; ".join(said) + ".")


def _shown(value: Any) -> str:
    return repr(value) if isinstance(value, (int, float, str)) else type(value).__name__


def _refuse_other_filesystems(filesystem: Any, owner: str) -> None:
    if filesystem is not None:
        raise UsageError(
            f"{owner}(storage_filesystem={type(filesystem).__name__}) writes the trials "
            "through another filesystem; rldebug debug writes them to local folders: leave "
            "storage_filesystem out while you debug.")


def _same(value: Any, default: Any) -> bool:
    try:
        return bool(value == default)
    except Exception:  # noqa: BLE001 - an object that cannot compare is not the default
        return False


def _experiment_path(trials: list[InProcessTrial], storage_path, name) -> Path:
    if trials:
        return Path(trials[0].path).parent
    return _local_root(storage_path, name or "")


# -- tune.run(...) ---------------------------------------------------------------------------


def tune_run(run_or_experiment, config=None, stop=None, num_samples=1, storage_path=None,
             name=None, metric=None, mode=None, raise_on_failed_trial=True,
             fail_fast=False, checkpoint_at_end=False, checkpoint_freq=0,
             checkpoint_config=None, local_dir=None, time_budget_s=None,
             trial_name_creator=None, trial_dirname_creator=None, callbacks=None,
             storage_filesystem=None, restore=None, resume=None,
             **others) -> InProcessAnalysis:
    """``tune.run(...)`` under debug mode (see the module docs): its other arguments are
    said as the Tuner's settings are, a name ``tune.run`` does not take is refused, as
    plain ``tune.run`` refuses it."""
    import inspect

    from ray import tune

    defaults = {name: p.default for name, p in
                inspect.signature(_original_tune_run()).parameters.items()}
    unknown = sorted(k for k in others if k not in defaults)
    if unknown:
        raise UsageTypeError(f"tune.run() got unexpected keyword arguments {unknown}.")
    if restore or resume:
        raise UsageError(
            f"tune.run({'restore' if restore else 'resume'}=...) resumes an experiment "
            "through Tune's controller and trial actors, which rldebug debug replaces with "
            "trials in this process; it cannot resume one. Debug a new run (leave it out), "
            "or run the script without rldebug debug to resume.")
    _refuse_other_filesystems(storage_filesystem, "tune.run")
    notice("tune.run(...) runs its trials one after another in this process.")
    _say_not_kept({f"tune.run({k}={_shown(v)})": (k if k in _NOT_HERE else None)
                   for k, v in others.items()
                   if k not in _KEPT_ANYWAY and not _same(v, defaults[k])})
    if mode is not None and mode not in ("max", "min"):
        raise UsageError(f"tune.run(mode=...) takes 'max' or 'min', got {mode!r}.")
    if local_dir is not None:  # Tune 2.60 refuses it; 2021 scripts pass it
        notice(f"tune.run(local_dir={local_dir!r}) is 2021's storage_path (Ray 2.60's "
               "tune.run refuses it): the trials are written there.")
        storage_path = storage_path or str(local_dir)
    # as tune.run merges its 2021 arguments into the checkpoint config
    checkpoints = checkpoint_config or tune.CheckpointConfig()
    if checkpoint_freq > 0:
        checkpoints.checkpoint_frequency = checkpoint_freq
    if checkpoint_at_end:
        checkpoints.checkpoint_at_end = checkpoint_at_end
    trials = run_trials(run_or_experiment, config, stop=stop, num_samples=num_samples,
                        storage_path=storage_path, name=name, fail_fast=fail_fast,
                        checkpoint_at_end=bool(checkpoints.checkpoint_at_end),
                        checkpoint_frequency=checkpoints.checkpoint_frequency,
                        time_budget_s=time_budget_s, trial_name_creator=trial_name_creator,
                        trial_dirname_creator=trial_dirname_creator, callbacks=callbacks,
                        metric=metric)
    failed = [t for t in trials if t.status == ERROR]
    if failed and raise_on_failed_trial:  # as plain tune.run does
        from ray.tune import TuneError

        raise TuneError("Trials did not complete", [str(t) for t in failed])
    return InProcessAnalysis(trials, _experiment_path(trials, storage_path, name),
                             default_metric=metric, default_mode=mode)


def _original_tune_run() -> Callable:
    """Ray's own ``tune.run`` (debug mode puts :func:`tune_run` in its place)."""
    import ray.tune.tune

    return ray.tune.tune.run


__all__ = ["run_trials", "tune_run", "tuner_fit", "tuner_get_results"]
