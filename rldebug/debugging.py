"""``rldebug debug SCRIPT.py [args...]``: run an RLlib script unchanged, everything in this process.

Press *Debug* on the script you already have: with :func:`debug_mode` on,

- every Algorithm the script builds (``config.build_algo()``, ``PPO(config=...)``,
  a Tune trial) is brought in-process first (:func:`rldebug.local_mode`), and its
  config is checked by :func:`rldebug.preflight.preflight`; each is reported once;
- ``tune.Tuner(...).fit()`` and ``tune.run(...)`` run their trials one after
  another in this process: grid and random search expanded (``num_samples``
  too), stop criteria kept, each trial written in Tune's layout under
  ``storage_path/name/<trial>`` (``rldebug doctor`` reads it); ``fit()`` returns an
  :class:`InProcessResultGrid` with ``ResultGrid``'s common methods;
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
  (:mod:`rldebug.legacy`).

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

_PATCHES: list[tuple[Any, str, Any]] = []  # (owner, attribute, original)


def notice(message: str) -> None:
    """One line on stderr, prefixed so it is told apart from the script's output."""
    print(f"rldebug debug: {message}", file=sys.stderr, flush=True)


def _patch(owner: Any, name: str, replacement: Callable) -> None:
    _PATCHES.append((owner, name, getattr(owner, name)))
    setattr(owner, name, replacement)


def debug_mode(enable: bool = True, *, preflight: bool = True) -> bool:
    """Switch debug mode on (or off): see the module docstring.

    :param enable: True to patch RLlib and Tune in this process, False to undo it.
    :param preflight: check each config for RLlib 2.60's known traps before it is built.
    :returns: whether debug mode is now on.
    """
    if not isinstance(enable, bool) or not isinstance(preflight, bool):
        raise TypeError(f"debug_mode(enable, preflight=...) takes booleans, got "
                        f"{enable!r}, {preflight!r}.")
    if not enable:
        while _PATCHES:
            owner, name, original = _PATCHES.pop()
            setattr(owner, name, original)
        return False
    if _PATCHES:
        return True
    import ray
    from ray import tune
    from ray.rllib.algorithms.algorithm import Algorithm

    from rldebug.legacy import alias_gym, install_agents_modules

    alias_gym(notice)
    install_agents_modules(notice)
    _patch(ray, "init", _ray_init(ray.init))
    _patch(ray, "put", _put(ray.put))
    _patch(ray, "get", _get(ray.get))
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
            return ray.get_runtime_context()
        from rldebug.local import start_ray

        if not args and set(kwargs) <= {"num_cpus", "include_dashboard", "ignore_reinit_error",
                                        "log_to_driver", "logging_level"}:
            start_ray(num_cpus=kwargs.get("num_cpus"))
            return ray.get_runtime_context()
        return original(*args, **kwargs)
    return init


# -- no Ray instance needed in-process ------------------------------------------------------


class InProcessRef:
    """What ``ray.put`` returns under debug mode while Ray is not running: the value
    itself, kept in this process (``ray.get`` hands it back)."""

    __slots__ = ("value",)

    def __init__(self, value: Any):
        self.value = value

    def __repr__(self) -> str:
        return f"InProcessRef({type(self.value).__name__})"


def _put(original: Callable) -> Callable:
    @functools.wraps(original)
    def put(value, *args, **kwargs):
        import ray

        if ray.is_initialized() or args or kwargs:
            return original(value, *args, **kwargs)
        return InProcessRef(value)
    return put


def _get(original: Callable) -> Callable:
    @functools.wraps(original)
    def get(refs, *args, **kwargs):
        if isinstance(refs, InProcessRef):
            return refs.value
        if isinstance(refs, (list, tuple)) and refs and all(
                isinstance(r, InProcessRef) for r in refs):
            return [r.value for r in refs]
        return original(refs, *args, **kwargs)
    return get


# -- every Algorithm in-process ----------------------------------------------------------


def in_process(config, name: str):
    """``config`` brought into this process (:func:`rldebug.local_mode`), saying once
    what changed; ``config`` itself when it already is."""
    from rldebug.local import local_mode, local_mode_changes

    changes = local_mode_changes(config).changed
    if not changes:
        return config
    notice(f"{name} built in this process ("
           + ", ".join(f"{k} {a} -> {b}" for k, (a, b) in changes.items()) + ").")
    return local_mode(config, warn=False)


def _algorithm_init(original: Callable, preflight: bool) -> Callable:
    @functools.wraps(original)
    def __init__(self, config=None, *args, **kwargs):
        from ray.rllib.algorithms.algorithm_config import AlgorithmConfig

        from rldebug.legacy import adapt_config_callbacks, adapt_config_env

        if isinstance(config, dict):  # how Tune and old scripts pass it
            config = type(self).get_default_config().update_from_dict(config)
        if isinstance(config, AlgorithmConfig):
            config = adapt_config_callbacks(adapt_config_env(config, notice), notice)
            config = in_process(config, type(self).__name__)
            if preflight:
                config = _preflight(config)
        original(self, config, *args, **kwargs)
    return __init__


def _preflight(config):
    """Report the config's traps; add the flattening connector 2021 code relied on."""
    from rldebug.legacy import adapt_config_encoder
    from rldebug.preflight import preflight

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


class InProcessResultGrid:
    """What ``Tuner.fit()`` and ``tune.run()`` return under debug mode: ``ray.tune.Result``
    per trial, with ``ResultGrid``'s common methods (``len``, indexing, iteration,
    ``get_best_result``, ``get_dataframe``, ``errors``, ``num_errors``,
    ``num_terminated``) and ExperimentAnalysis's ``get_best_config`` and ``results_df``."""

    def __init__(self, results: list, experiment_path: Path):
        self._results = results
        self.experiment_path = str(experiment_path)

    def __len__(self) -> int:
        return len(self._results)

    def __getitem__(self, index: int):
        return self._results[index]

    def __iter__(self):
        return iter(self._results)

    @property
    def errors(self) -> list[Exception]:
        return [r.error for r in self._results if r.error is not None]

    @property
    def num_errors(self) -> int:
        return len(self.errors)

    @property
    def num_terminated(self) -> int:
        return len(self._results) - self.num_errors

    def get_best_result(self, metric: str | None = None, mode: str | None = None):
        """The trial whose last ``metric`` (a ``a/b`` key) is best (``mode`` "max"/"min")."""
        from rldebug.shapes.results import get_path

        if metric is None or mode not in ("max", "min"):
            raise ValueError("get_best_result needs metric='env_runners/episode_return_mean' "
                             "(any result key) and mode='max' or 'min' (debug mode does not "
                             "read them from TuneConfig).")
        scored = [(get_path(r.metrics or {}, metric), r) for r in self._results]
        scored = [(v, r) for v, r in scored if isinstance(v, (int, float))]
        if not scored:
            raise KeyError(f"No trial reported {metric!r}.")
        pick = max if mode == "max" else min
        return pick(scored, key=lambda pair: pair[0])[1]

    def get_best_config(self, metric: str | None = None, mode: str | None = None) -> dict:
        """ExperimentAnalysis's name (what ``tune.run`` returned): the best trial's config."""
        return self.get_best_result(metric, mode).metrics["config"]

    @property
    def results_df(self):
        """ExperimentAnalysis's name: one row per trial (flattened last results)."""
        return self.get_dataframe()

    def get_dataframe(self):
        import pandas as pd

        from rldebug.runlog import flatten

        return pd.DataFrame([{**flatten(r.metrics or {}), "path": r.path}
                             for r in self._results])


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
               name: str | None = None) -> InProcessResultGrid:
    """Run a Tune experiment's trials one after another in this process (see module docs).

    :param trainable: an Algorithm class or a registered name such as ``"PPO"``.
    :param param_space: an AlgorithmConfig or a config dict (with ``tune.grid_search``...).
    :param stop: Tune-style stop criteria (dict or callable); None trains until interrupted.
    """
    from ray.air import Result
    from ray.rllib.algorithms.algorithm_config import AlgorithmConfig

    from rldebug.run import run

    algo_class = _trainable_class(trainable)
    if not hasattr(algo_class, "get_default_config"):
        raise TypeError(f"rldebug debug runs RLlib Algorithms in-process; {trainable!r} is not "
                        "one (function trainables run as they are under plain Tune).")
    if isinstance(param_space, AlgorithmConfig):
        param_space = param_space.to_dict()
    name = name or f"{algo_class.__name__}_{time.strftime('%Y-%m-%d_%H-%M-%S')}"
    root = Path(storage_path or os.path.expanduser("~/ray_results")).expanduser() / name
    results = []
    for index, (tag, spec) in enumerate(_variants(dict(param_space or {}), num_samples)):
        trial = f"{algo_class.__name__}_{index:05d}_{index}" + (f"_{tag}" if tag else "")
        notice(f"trial {index + 1}: {trial} (in this process)")
        config = in_process(algo_class.get_default_config().update_from_dict(spec),
                            algo_class.__name__)
        try:
            outcome = run(config, stop=stop, logdir=root / trial, progress=False,
                          max_iterations=None if stop is not None else sys.maxsize)
        except Exception as err:  # noqa: BLE001 - a failed trial is a result, as in Tune
            notice(f"trial {trial} failed: {type(err).__name__}: {err}")
            results.append(Result(metrics={"config": spec}, checkpoint=None, error=err,
                                  path=str(root / trial)))
            continue
        outcome.algo.stop()
        results.append(Result(metrics={**outcome.last_result, "config": spec},
                              checkpoint=None, error=None, path=str(outcome.logdir)))
    return InProcessResultGrid(results, root)


def _tuner_fit(self) -> InProcessResultGrid:
    tuner = self._local_tuner
    run_config, tune_config = tuner._run_config, tuner._tune_config
    notice("Tuner.fit() runs its trials one after another in this process.")
    return run_trials(tuner.trainable, tuner.param_space, stop=run_config.stop,
                      num_samples=tune_config.num_samples, storage_path=run_config.storage_path,
                      name=run_config.name)


def _tune_run(run_or_experiment, config=None, stop=None, num_samples=1, storage_path=None,
              name=None, **ignored) -> InProcessResultGrid:
    if ignored:
        notice(f"tune.run in this process ignores {sorted(ignored)}.")
    notice("tune.run(...) runs its trials one after another in this process.")
    return run_trials(run_or_experiment, config, stop=stop, num_samples=num_samples,
                      storage_path=storage_path, name=name)


# -- rldebug debug SCRIPT --------------------------------------------------------------


def debug_script(script: str | Path, args: list[str] | None = None) -> int:
    """Run ``script`` as ``__main__`` with ``args`` under :func:`debug_mode`.

    :returns: 0, or the script's ``sys.exit`` code.
    :raises FileNotFoundError: if ``script`` is not a file.
    """
    path = Path(script).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"{str(path)!r} is not a file; pass the Python script to "
                                "debug, e.g. rldebug debug train.py --its-args.")
    debug_mode(True)
    saved_argv, saved_path = sys.argv, list(sys.path)
    sys.argv = [str(path), *(args or [])]
    sys.path.insert(0, str(path.resolve().parent))
    try:
        runpy.run_path(str(path), run_name="__main__")
    except SystemExit as exit_:
        code = exit_.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    finally:
        sys.argv, sys.path[:] = saved_argv, saved_path
    return 0


__all__ = ["InProcessResultGrid", "debug_mode", "debug_script", "is_debug_mode", "run_trials"]
