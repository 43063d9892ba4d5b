"""``rldebug debug SCRIPT.py [args...]``: run an RLlib script unchanged, everything in this process.

Press *Debug* on the script you already have: with :func:`debug_mode` on,

- every Algorithm the script builds (``config.build_algo()``, ``PPO(config=...)``,
  a Tune trial) is brought in-process first (:func:`rldebug.local_mode`), and its
  config is checked by :func:`rldebug.traps.preflight`; each is reported once;
- ``tune.Tuner(...).fit()`` and ``tune.run(...)`` run their trials one after
  another in this process: grid and random search expanded (``num_samples``
  too), stop criteria kept, each trial written in Tune's layout under
  ``storage_path/name/<trial>`` (``rldebug doctor`` reads it; a failed trial
  leaves ``params.json``, ``result.json`` and ``error.txt``); ``fit()`` returns an
  :class:`InProcessResultGrid` with ``ResultGrid``'s common methods, ``tune.run``
  an :class:`InProcessAnalysis` with ``ExperimentAnalysis``'s
  (:mod:`rldebug.inprocess.trial_results`);
- a 2021 config dict (``num_workers``, ``sgd_minibatch_size``, ``"multiagent"``...)
  runs on the old API stack however it reaches an Algorithm, as ``PPOTrainer``
  does (:func:`rldebug.compat.legacy.config_from_dict`);
- ``ray.init(local_mode=True)``, which RLlib 2.60 refuses, is accepted with a
  one-line notice;
- no Ray instance is started for it: RLlib's in-process Algorithm uses Ray only to
  ``ray.put``/``ray.get`` its own config, which stay in this process while Ray is not
  running (a script that starts Ray, or needs it, gets it as usual). This saves
  Ray's start-up (~2 s) on every launch;
- envs written for gym 0.21 (``reset()`` without ``seed``, 4-tuple ``step``) are
  adapted to gymnasium's API, ``import gym`` gives gymnasium when gym is not
  installed, and 2021 callbacks classes (``worker``, ``base_env``,
  ``episode.user_data``, ``custom_metrics``) run through an adapter
  (:mod:`rldebug.compat.legacy`).

So breakpoints in the env's ``step``, the RLModule, the loss and callbacks are hit
by the debugger attached to this process. In a notebook, call
``rldebug.debug_mode()`` before building anything (``debug_mode(False)`` undoes it),
or set ``RLDEBUG_DEBUG_MODE=1`` before ``import rldebug``.
"""

from __future__ import annotations

import functools
import os
import runpy
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rldebug.inprocess.frames import remember_frames_without_module
from rldebug.inprocess.local import in_process_get, in_process_put
from rldebug.inprocess.trial_results import (
    ERROR,
    PENDING,
    InProcessAnalysis,
    InProcessResultGrid,
    InProcessTrial,
)
from rldebug.shapes.errors import root_cause
from rldebug.tracing.layout import TRIAL_ENV
from rldebug.usage import UsageError, UsageTypeError

_PATCHES: list[tuple[Any, str, Any]] = []  # (owner, attribute, original)
_STAND_INS: list[str] = []  # modules debug mode put into sys.modules (gym, ray.rllib.agents)


# the command whose debug mode is on, in every notice's prefix (rldebug reproduce turns
# it on too)
_COMMAND = "debug"


def notice(message: str) -> None:
    """One line on stderr, prefixed so it is told apart from the script's output."""
    print(f"rldebug {_COMMAND}: {message}", file=sys.stderr, flush=True)


def _patch(owner: Any, name: str, replacement: Callable) -> None:
    _PATCHES.append((owner, name, getattr(owner, name)))
    setattr(owner, name, replacement)


def debug_mode(enable: bool = True, *, preflight: bool = True, command: str = "debug") -> bool:
    """Switch debug mode on (or off): see the module docstring.

    :param enable: True to patch RLlib and Tune in this process, False to undo it.
    :param preflight: check each config for RLlib 2.60's known traps before it is built.
    :param command: the rldebug command its notices are said by (``rldebug debug: ...``).
    :returns: whether debug mode is now on.
    """
    if not isinstance(enable, bool) or not isinstance(preflight, bool):
        raise UsageTypeError(f"debug_mode(enable, preflight=...) takes booleans, got "
                             f"{enable!r}, {preflight!r}.")
    if not isinstance(command, str) or not command:
        raise UsageTypeError(f"debug_mode(command=...) takes a command name, got {command!r}.")
    if not enable:
        while _PATCHES:
            owner, name, original = _PATCHES.pop()
            setattr(owner, name, original)
        tops = [top for top in ("gym", "ray.rllib.agents") if top in _STAND_INS]
        while _STAND_INS:  # `import gym` and ray.rllib.agents are as they were again
            sys.modules.pop(_STAND_INS.pop(), None)
        for name in [n for n in sys.modules if any(n.startswith(f"{top}.") for top in tops)]:
            sys.modules.pop(name, None)  # and what was imported through them
        return False
    if _PATCHES:
        return True  # on already: its notices keep the command that turned it on
    global _COMMAND
    _COMMAND = command
    import ray
    from ray import tune
    from ray.rllib.algorithms.algorithm import Algorithm

    from rldebug.compat.legacy import alias_gym, install_agents_modules

    _STAND_INS.extend(alias_gym(notice) + install_agents_modules(notice))
    _patch(ray, "init", _ray_init(ray.init))
    _patch(ray, "put", in_process_put(ray.put))
    _patch(ray, "get", in_process_get(ray.get))
    _patch(Algorithm, "__init__", _algorithm_init(Algorithm.__init__, preflight))
    _patch(tune.Tuner, "fit", _tuner_fit)
    _patch(tune, "run", _tune_run)
    return True


def is_debug_mode() -> bool:
    """Whether :func:`debug_mode` is on in this process."""
    return bool(_PATCHES)


# -- ray.init(local_mode=True) -------------------------------------------------------------


def _ray_init(original: Callable) -> Callable:
    @functools.wraps(original)
    def init(*args, **kwargs):
        if kwargs.pop("local_mode", False):
            notice("ray.init(local_mode=True) was removed from Ray; ignored: RLlib runs in "
                   "this process anyway.")
        import ray

        if ray.is_initialized():
            return original(ignore_reinit_error=True)  # Ray's RayContext of the running one
        from rldebug.inprocess.local import start_ray

        if not args and set(kwargs) <= {"num_cpus", "include_dashboard", "ignore_reinit_error",
                                        "log_to_driver", "logging_level"}:
            # on loopback, without the dashboard; every CPU, as plain ray.init() gives
            start_ray(num_cpus=kwargs.get("num_cpus") or os.cpu_count() or 1)
            # what ray.init returns (a context manager: `with ray.init() as ctx:`)
            return original(ignore_reinit_error=True)
        return original(*args, **kwargs)
    return init


# -- every Algorithm in-process ----------------------------------------------------------


def in_process(config, name: str):
    """``config`` brought into this process (:func:`rldebug.local_mode`), saying once
    what changed; ``config`` itself when it already is."""
    from rldebug.inprocess.local import local_mode, local_mode_changes

    report = local_mode_changes(config)
    for what in report.still_remote:  # said here, once, as the rest of debug mode's notices
        notice(f"{name}: {what}.")
    if not report.changed:
        return config
    notice(f"{name} built in this process ("
           + ", ".join(f"{k} {a} -> {b}" for k, (a, b) in report.changed.items()) + ").")
    return local_mode(config, warn=False)


def _algorithm_init(original: Callable, preflight: bool) -> Callable:
    @functools.wraps(original)
    def __init__(self, config=None, *args, **kwargs):
        from ray.rllib.algorithms.algorithm_config import AlgorithmConfig

        from rldebug.compat.legacy import (
            adapt_config_callbacks,
            adapt_config_env,
            adapt_config_mapping,
            adapt_config_shared_policy,
            config_from_dict,
        )

        if isinstance(config, dict):  # how Tune and old scripts pass it
            config = config_from_dict(type(self), config, notice)
        if isinstance(config, AlgorithmConfig):
            config = adapt_config_shared_policy(config, notice)  # before the env's spaces
            config = adapt_config_env(adapt_config_callbacks(config, notice), notice)
            config = adapt_config_mapping(config, notice)
            config = in_process(config, type(self).__name__)
            if preflight:
                config = _preflight(config)
        original(self, config, *args, **kwargs)
    return __init__


def _preflight(config):
    """Report the config's traps; add the flattening connector 2021 code relied on."""
    from rldebug.compat.legacy import adapt_config_encoder
    from rldebug.traps import preflight

    try:
        traps = preflight(config)
    except Exception as err:  # noqa: BLE001 - a preflight failure must not stop the script
        notice(f"preflight could not check this config ({type(err).__name__}: {err}).")
        return config
    for trap in traps:
        if trap.name == "no_default_encoder":
            config = adapt_config_encoder(config, trap, notice)
        elif trap.severity != "info":
            notice(f"{trap.severity}[{trap.name}] {trap.message} Fix: {trap.fix}")
    return config


# -- Tune trials in-process --------------------------------------------------------------


def _trainable_class(trainable: Any):
    if isinstance(trainable, str):
        from ray.tune.registry import get_trainable_cls

        return get_trainable_cls(trainable)
    return trainable


def _variants(param_space: dict, num_samples: int):
    """(tag, resolved config dict) per trial: grid and random search expanded."""
    from ray.tune.search.variant_generator import format_vars, generate_variants

    for _ in range(max(1, int(num_samples))):
        for resolved, spec in generate_variants(param_space):
            yield format_vars(resolved), spec


def run_trials(trainable: Any, param_space: dict | Any, *, stop: Any = None,
               num_samples: int = 1, storage_path: str | None = None,
               name: str | None = None, fail_fast: bool | str = False,
               checkpoint_at_end: bool = False) -> list[InProcessTrial]:
    """Run a Tune experiment's trials one after another in this process (see module docs).

    :param trainable: an Algorithm class or a registered name such as ``"PPO"``.
    :param param_space: an AlgorithmConfig or a config dict (with ``tune.grid_search``...).
    :param stop: Tune's stop criteria: a dict, a callable ``stop(trial_id, result)`` or a
        ``tune.Stopper``; None trains until interrupted.
    :param fail_fast: Tune's ``FailureConfig(fail_fast=...)``: True stops at the first
        failed trial, ``"raise"`` also raises its exception from here, as Tune does.
    :param checkpoint_at_end: save each trial's Algorithm when it ends (its
        ``Result.checkpoint``), as Tune's ``CheckpointConfig(checkpoint_at_end=True)``.
    :returns: the trials, each written in Tune's layout under ``storage_path/name``
        (a failed one too: ``params.json``, ``result.json`` up to the failure,
        ``error.txt``).
    """
    import uuid

    from ray.rllib.algorithms.algorithm_config import AlgorithmConfig
    from rich.console import Console

    from rldebug.compat.legacy import config_from_dict, with_2021_keys
    from rldebug.inprocess.progress import ProgressTable
    from rldebug.inprocess.runlog import write_error
    from rldebug.inprocess.training import run
    from rldebug.inprocess.trial_results import trial_history

    algo_class = _trainable_class(trainable)
    function = None if hasattr(algo_class, "get_default_config") else algo_class
    if function is not None and (isinstance(function, type) or not callable(function)):
        raise UsageTypeError(f"rldebug debug runs RLlib Algorithms and function trainables "
                             f"in this process; {trainable!r} is neither (a class trainable "
                             "runs under plain Tune: run the script without rldebug debug).")
    if isinstance(param_space, AlgorithmConfig):
        param_space = param_space.to_dict()
    label = getattr(algo_class, "__name__", None) or type(algo_class).__name__
    name = name or f"{label}_{time.strftime('%Y-%m-%d_%H-%M-%S')}"
    root = Path(storage_path or os.path.expanduser("~/ray_results")).expanduser() / name
    experiment_id = uuid.uuid4().hex[:5]
    trials = []
    variants = list(_variants(dict(param_space or {}), num_samples))
    for index, (tag, spec) in enumerate(variants):
        trial, folder = _trial(label, experiment_id, index, tag, spec, root)
        trials.append(trial)
        notice(f"trial {index + 1}: {folder} (in this process)")
        os.environ[TRIAL_ENV] = folder  # a traced config's trace: <out>/<folder> per trial
        try:
            if function is not None:
                trial.last_result = {**_run_function_trial(function, spec, trial, stop),
                                     "config": spec, "trial_id": trial.trial_id}
                continue
            table = ProgressTable(console=Console(stderr=True, soft_wrap=True), title=folder)
            config = in_process(config_from_dict(algo_class, spec, notice), label)
            outcome = run(config, stop=_trial_stop(stop, trial.trial_id), logdir=root / folder,
                          progress=table, checkpoint_at_end=checkpoint_at_end,
                          max_iterations=None if stop is not None else sys.maxsize)
        except KeyboardInterrupt:
            # as Tune: Ctrl+C ends the experiment, and fit() returns what the trials did
            history = trial_history(trial)
            trial.last_result = {**(with_2021_keys(history[-1]) if history else {}),
                                 "config": _params(trial) or spec, "trial_id": trial.trial_id}
            notice(f"interrupted (Ctrl+C): trial {folder} stopped after {len(history)} "
                   "iteration(s); the trials after it are not run, as Tune ends the "
                   "experiment.")
            for later, (tag, spec) in enumerate(variants[index + 1:], index + 1):
                pending, _ = _trial(label, experiment_id, later, tag, spec, root)
                pending.status, pending.last_result = PENDING, {"trial_id": pending.trial_id}
                trials.append(pending)  # in fit()'s results, as Tune's pending trials are
            _print_summary(trials)
            return trials
        except Exception as err:
            if trial.error_file is None:  # it failed before rldebug.run wrote its files
                write_error(trial.path, err)
            notice(f"trial {folder} failed: {_error_text(err)}{_raised_at(err)} "
                   f"(traceback in {trial.error_file})")
            history = trial_history(trial)
            trial.status, trial.error = ERROR, err
            last = with_2021_keys(history[-1]) if history else {}
            trial.last_result = {**last, "config": _params(trial) or spec,
                                 "trial_id": trial.trial_id}
            if fail_fast:
                notice(f"fail_fast={fail_fast!r}: no further trials"
                       + (", and the trial's exception is raised, as Tune does"
                          if fail_fast == "raise" else "") + ".")
                _print_summary(trials)
                if fail_fast == "raise":
                    raise
                return trials
            continue
        finally:
            os.environ.pop(TRIAL_ENV, None)
        # As Tune's: the last result carries the Algorithm's whole config dict.
        full_config = outcome.algo.config.to_dict()
        outcome.algo.stop()
        trial.checkpoint = outcome.checkpoint
        trial.last_result = {**with_2021_keys(dict(outcome.last_result)),
                             "config": full_config, "trial_id": trial.trial_id}
    _print_summary(trials)
    return trials


def _trial(label: str, experiment_id: str, index: int, tag: str, spec: dict,
           root: Path) -> tuple[InProcessTrial, str]:
    """Trial ``index`` of the experiment, with its folder's name, as Tune names both."""
    folder = f"{label}_{index:05d}_{index}" + (f"_{tag}" if tag else "")
    return InProcessTrial(trial_id=f"{experiment_id}_{index:05d}", trainable_name=label,
                          experiment_tag=f"{index}" + (f"_{tag}" if tag else ""),
                          config=spec, path=str(root / folder)), folder


class _TrialStopped(Exception):
    """Raised from a function trainable's ``tune.report`` when the stop criteria end its
    trial (Tune ends the trial's actor there)."""


def _run_function_trial(function: Callable, config: dict, trial: InProcessTrial,
                       stop: Any) -> dict:
    """Run a function trainable's trial in this process: ``function(config)``, each
    ``tune.report(metrics, checkpoint=...)`` written as a result in the trial's folder
    (``training_iteration`` and ``time_total_s`` added, as Tune adds them) and checked
    against the stop criteria. Returns its last result."""
    import ray.tune
    import ray.tune.trainable.trainable_fn_utils as fn_utils

    from rldebug.inprocess.runlog import RunLogger
    from rldebug.inprocess.stopping import Stopper

    stopper = Stopper(_trial_stop(stop, trial.trial_id))
    logger = RunLogger(trial.path, config=config)
    started, last = time.time(), {}

    def report(metrics: dict, *, checkpoint=None) -> None:
        nonlocal last
        last = {**metrics, "training_iteration": last.get("training_iteration", 0) + 1,
                "time_total_s": time.time() - started, "trial_id": trial.trial_id}
        logger.log(last)
        if checkpoint is not None:  # copied, as Tune does: the reported folder is often temporary
            import shutil

            kept = Path(trial.path) / f"checkpoint_{last['training_iteration'] - 1:06d}"
            shutil.copytree(checkpoint.path, kept, dirs_exist_ok=True)
            trial.checkpoint = kept
        if stopper.check(last):
            raise _TrialStopped

    patched = [(ray.tune, "report"), (fn_utils, "report"), (ray.tune, "get_checkpoint"),
               (fn_utils, "get_checkpoint")]
    saved = [getattr(owner, attribute) for owner, attribute in patched]
    for owner, attribute in patched:
        setattr(owner, attribute, report if attribute == "report" else (lambda: None))
    try:
        function(config)
    except _TrialStopped:
        pass
    except BaseException as err:
        if not isinstance(err, KeyboardInterrupt):
            logger.write_error(err)
        raise
    finally:
        for (owner, attribute), original in zip(patched, saved):
            setattr(owner, attribute, original)
        logger.close()
    return last


def _trial_stop(stop: Any, trial_id: str) -> Any:
    """Tune's stop criteria as rldebug.run takes them: a dict as it is; Tune's callable
    ``stop(trial_id, result)`` and a ``tune.Stopper`` (also its ``stop_all()``) asked
    with the trial's id, where rldebug.run asks ``stop(iteration, result)``."""
    if stop is None or isinstance(stop, dict) or not callable(stop):
        return stop
    stop_all = getattr(stop, "stop_all", None)

    def trial_stop(iteration: int, result: dict) -> bool:
        return bool(stop(trial_id, result)) or bool(callable(stop_all) and stop_all())
    return trial_stop


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
    text = f"{type(err).__name__}: {err}" if str(err).strip() else type(err).__name__
    cause = err.__cause__ or err.__context__
    if not str(err).strip() and cause is not None:
        return f"{text} raised from {_error_text(cause)}"
    return text


def _tuner_fit(self) -> InProcessResultGrid:
    tuner = self._local_tuner
    run_config, tune_config = tuner._run_config, tuner._tune_config
    notice("Tuner.fit() runs its trials one after another in this process.")
    if getattr(run_config, "callbacks", None):
        notice(f"RunConfig(callbacks=[{', '.join(type(c).__name__ for c in run_config.callbacks)}]): "
               "Tune's callbacks are not called for trials in this process (RLlib's "
               "config.callbacks are).")
    failure = getattr(run_config, "failure_config", None)
    trials = run_trials(tuner.trainable, tuner.param_space, stop=run_config.stop,
                        num_samples=tune_config.num_samples,
                        storage_path=run_config.storage_path, name=run_config.name,
                        fail_fast=getattr(failure, "fail_fast", False) or False,
                        checkpoint_at_end=_checkpoint_at_end(run_config))
    return InProcessResultGrid(trials, _experiment_path(trials, run_config.storage_path,
                                                        run_config.name),
                               default_metric=tune_config.metric, default_mode=tune_config.mode)


def _checkpoint_at_end(run_config) -> bool:
    """Whether the trials save a checkpoint: at their end, for Tune's
    ``CheckpointConfig(checkpoint_at_end=True)``, and for a ``checkpoint_frequency``,
    which in this process keeps only the last (said once)."""
    checkpoints = getattr(run_config, "checkpoint_config", None)
    frequency = getattr(checkpoints, "checkpoint_frequency", 0) or 0
    if frequency:
        notice(f"CheckpointConfig(checkpoint_frequency={frequency}): trials in this process "
               "save one checkpoint, when they end.")
    return bool(getattr(checkpoints, "checkpoint_at_end", False)) or bool(frequency)


def _experiment_path(trials: list[InProcessTrial], storage_path, name) -> Path:
    if trials:
        return Path(trials[0].path).parent
    return Path(storage_path or os.path.expanduser("~/ray_results")).expanduser() / (name or "")


def _tune_run(run_or_experiment, config=None, stop=None, num_samples=1, storage_path=None,
              name=None, metric=None, mode=None, raise_on_failed_trial=True,
              fail_fast=False, checkpoint_at_end=False, checkpoint_freq=0,
              checkpoint_config=None, local_dir=None, **ignored) -> InProcessAnalysis:
    if ignored:
        notice(f"tune.run in this process ignores {sorted(ignored)}.")
    notice("tune.run(...) runs its trials one after another in this process.")
    if mode is not None and mode not in ("max", "min"):
        raise UsageError(f"tune.run(mode=...) takes 'max' or 'min', got {mode!r}.")
    if local_dir is not None:  # Tune 2.60 refuses it; 2021 scripts pass it
        notice(f"tune.run(local_dir={local_dir!r}) is 2021's storage_path (Ray 2.60's "
               "tune.run refuses it): the trials are written there.")
        storage_path = storage_path or str(local_dir)
    from types import SimpleNamespace

    from ray.tune import CheckpointConfig  # as tune.run maps the 2021 arguments

    checkpoints = checkpoint_config or CheckpointConfig(
        checkpoint_frequency=checkpoint_freq, checkpoint_at_end=checkpoint_at_end)
    trials = run_trials(run_or_experiment, config, stop=stop, num_samples=num_samples,
                        storage_path=storage_path, name=name, fail_fast=fail_fast,
                        checkpoint_at_end=_checkpoint_at_end(
                            SimpleNamespace(checkpoint_config=checkpoints)))
    failed = [t for t in trials if t.status == ERROR]
    if failed and raise_on_failed_trial:  # as plain tune.run does
        from ray.tune import TuneError

        raise TuneError("Trials did not complete", [str(t) for t in failed])
    return InProcessAnalysis(trials, _experiment_path(trials, storage_path, name),
                             default_metric=metric, default_mode=mode)


# -- rldebug debug SCRIPT --------------------------------------------------------------


def script_problem(script: str | Path) -> str | None:
    """Why Python cannot run ``script`` (neither a file nor a folder with a
    ``__main__.py``), or None when it can."""
    path = Path(script).expanduser()
    if path.is_file() or (path / "__main__.py").is_file():
        return None
    return (f"{str(script)!r} is neither a file nor a folder with a __main__.py; pass the "
            "Python script to debug, e.g. rldebug debug train.py --its-args.")


def debug_script(script: str | Path, args: list[str] | None = None) -> int:
    """Run ``script`` as ``__main__`` with ``args`` under :func:`debug_mode`, as ``python
    script args`` would: ``__file__`` absolute, ``sys.argv[0]`` as given, a folder or zip
    with ``__main__.py`` run as Python runs it, ``sys.exit("message")`` printing the
    message.

    :returns: 0, or the script's ``sys.exit`` code (1 for a message, as Python's).
    :raises FileNotFoundError: if ``script`` is neither a file nor a folder with a
        ``__main__.py``.
    """
    path = Path(script).expanduser()
    problem = script_problem(path)
    if problem:
        raise FileNotFoundError(problem)
    debug_mode(True)
    remember_frames_without_module()  # runpy's frames: RLlib's inspect.stack() stays cheap
    saved_argv, saved_path = sys.argv, list(sys.path)
    sys.argv = [str(script), *(args or [])]
    if path.is_file():  # runpy puts a folder's or zip's own path first
        sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    try:
        runpy.run_path(os.path.abspath(path), run_name="__main__")
    except SystemExit as exit_:
        code = exit_.code
        if code is None or isinstance(code, int):
            return code or 0
        print(code, file=sys.stderr)  # as Python does for sys.exit("message")
        return 1
    finally:
        sys.argv, sys.path[:] = saved_argv, saved_path
    return 0


__all__ = ["InProcessAnalysis", "InProcessResultGrid", "debug_mode", "debug_script",
           "is_debug_mode", "run_trials"]
