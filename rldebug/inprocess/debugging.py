"""``rldebug debug SCRIPT.py [args...]``: run an RLlib script unchanged, everything in this process.

Press *Debug* on the script you already have: with :func:`debug_mode` on,

- every Algorithm the script builds (``config.build_algo()``, ``PPO(config=...)``,
  a Tune trial) is brought in-process first (:func:`rldebug.local_mode`), and its
  config is checked by :func:`rldebug.traps.preflight`; each is reported once;
- ``tune.Tuner(...).fit()`` and ``tune.run(...)`` run their trials one after
  another in this process, each written in Tune's layout; what Tune's settings do
  there (kept, said, or refused) is in :mod:`rldebug.inprocess.tune_trials`;
- a 2021 config dict (``num_workers``, ``sgd_minibatch_size``, ``"multiagent"``...)
  runs on the old API stack however it reaches an Algorithm, as ``PPOTrainer``
  does (:func:`rldebug.compat.legacy.config_from_dict`);
- ``ray.init(local_mode=True)``, which RLlib 2.60 refuses, is accepted with a
  one-line notice; after any ``ray.init`` the user's ``PYTHONBREAKPOINT`` is back
  (Ray sets its own, which makes ``breakpoint()`` in the driver wait for a Ray
  Distributed Debugger client: :mod:`rldebug.breakpoint_hook`);
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

import contextlib
import functools
import os
import runpy
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rldebug.breakpoint_hook import restore_users_breakpoint_hook
from rldebug.inprocess.frames import remember_frames_without_module
from rldebug.inprocess.local import in_process_get, in_process_put
from rldebug.usage import UsageTypeError

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
        _SCRIPT_STARTED_RAY.clear()
        _SAID.clear()
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
    _patch(Algorithm, "get_ctor_args_and_kwargs",
           _saved_as_given(Algorithm.get_ctor_args_and_kwargs))
    _patch(Algorithm, "__getstate__", _saved_as_given(Algorithm.__getstate__))
    from rldebug.inprocess.tune_trials import tune_run, tuner_fit, tuner_get_results

    _patch(tune.Tuner, "fit", tuner_fit)
    _patch(tune.Tuner, "get_results", tuner_get_results(tune.Tuner.get_results))
    _patch(tune, "run", tune_run)
    return True


def is_debug_mode() -> bool:
    """Whether :func:`debug_mode` is on in this process."""
    return bool(_PATCHES)


# -- ray.init(local_mode=True) -------------------------------------------------------------


# what was said once per process
_SAID: set[str] = set()

# not empty once the script's own ray.init ran: a second one raises, as in plain Ray
_SCRIPT_STARTED_RAY: list[bool] = []

# ray.init keywords start_ray passes on as the script gave them
_PASSED_ON = ("include_dashboard", "log_to_driver", "logging_level")


def _ray_init(original: Callable) -> Callable:
    @functools.wraps(original)
    def init(*args, **kwargs):
        try:
            return _init(sys._getframe(1), *args, **kwargs)
        finally:  # the script's code runs in this driver: breakpoint() as plain Python's
            restore_users_breakpoint_hook()

    def _init(caller, *args, **kwargs):
        if kwargs.pop("local_mode", False):
            notice("ray.init(local_mode=True) was removed from Ray; ignored: RLlib runs in "
                   "this process anyway.")
        import ray

        from rldebug.inprocess.local import called_from

        by_the_script = not called_from(caller, "ray", "rldebug")
        if by_the_script and ray.is_initialized() and _SCRIPT_STARTED_RAY \
                and not kwargs.get("ignore_reinit_error"):
            return original(*args, **kwargs)  # Ray's "called ray.init twice" error, as plain
        _runtime_env_here(kwargs.get("runtime_env"))
        if by_the_script:
            _SCRIPT_STARTED_RAY.append(True)
        if ray.is_initialized():
            return original(ignore_reinit_error=True)  # Ray's RayContext of the running one
        from rldebug.inprocess.local import start_ray

        if not args and set(kwargs) <= {"num_cpus", "ignore_reinit_error", *_PASSED_ON}:
            # on loopback, without the dashboard unless asked for; every CPU, as plain
            # ray.init() gives; the script's other keywords as it gave them
            start_ray(num_cpus=kwargs.get("num_cpus") or os.cpu_count() or 1,
                      **{k: kwargs[k] for k in _PASSED_ON if k in kwargs})
            # what ray.init returns (a context manager: `with ray.init() as ctx:`)
            return original(ignore_reinit_error=True)
        return original(*args, **kwargs)
    return init


def _runtime_env_here(runtime_env: Any) -> None:
    """A ``ray.init(runtime_env=...)``'s ``env_vars``, which Ray sets in the workers where
    trials and EnvRunners run, set in this process, where they run now (said once); its
    other fields (``working_dir``, ``pip``...) said to reach only Ray's own workers."""
    if not isinstance(runtime_env, dict):  # None, or Ray's RuntimeEnv: as Ray takes it
        return
    env_vars = runtime_env.get("env_vars") or {}
    if env_vars:
        os.environ.update({str(k): str(v) for k, v in env_vars.items()})
        notice(f"ray.init(runtime_env={{'env_vars': ...}}): {sorted(env_vars)} set in this "
               "process, where the trials and EnvRunners run.")
    others = sorted(k for k in runtime_env if k != "env_vars")
    if others:
        notice(f"ray.init(runtime_env=...) {others}: given to Ray's worker processes only; "
               "what runs in this process uses this process's files and packages.")


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
    _say_unschedulable(config, name)
    if "num_env_runners" in report.changed and "fault tolerance" not in _SAID and (
            getattr(config, "restart_failed_env_runners", False)
            or getattr(config, "ignore_env_runner_failures", False)):
        _SAID.add("fault tolerance")  # once: it holds for every Algorithm of the script
        notice("an error in the env or an EnvRunner now raises from train(), where the "
               "debugger stops at it; remote EnvRunners would have been restarted "
               "(restart_failed_env_runners) or ignored (ignore_env_runner_failures).")
    return local_mode(config, warn=False)


def _say_unschedulable(config, name: str) -> None:
    """Said when the config as given could not start on this machine or Ray cluster
    (``rldebug check``'s ``unschedulable``): here it trains in this process all the
    same, and the run without rldebug would wait for CPUs for good."""
    from rldebug.traps import scheduling_traps

    try:
        traps = scheduling_traps(config)
    except Exception:  # noqa: BLE001 - a note beside the build, never its failure
        return
    for trap in traps:
        notice(f"{name}, as the script gives it: {trap.severity}[{trap.name}] "
               f"{trap.message} (Under rldebug debug it trains in this process all the "
               f"same.) Fix: {trap.fix}")


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
            _validate_as_rllib_would(type(self), config)
            from rldebug.inprocess.local import given_settings

            config = in_process(config, type(self).__name__)
            # what local_mode changed, here or before (rldebug.run, a trial), as given
            given = given_settings(config)
            if preflight:
                config = _preflight(config)
            if given:
                self._rldebug_given_settings = given
        original(self, config, *args, **kwargs)
    return __init__


def _validate_as_rllib_would(algo_class, config) -> None:
    """What RLlib refuses in the config as the script gave it (evaluation beside training
    without evaluation runners, ...) is refused here too, before in_process changes it:
    validated as ``Algorithm.__init__`` validates it, after making it the algorithm's own
    config class."""
    from ray.rllib.algorithms.algorithm_config import AlgorithmConfig

    default = algo_class.get_default_config()
    if not isinstance(default, AlgorithmConfig):
        return
    checked = default.update_from_dict(config.to_dict()) \
        if not isinstance(config, type(default)) else default.from_state(config.get_state())
    if checked.algo_class is None:
        checked.algo_class = algo_class
    checked.validate()


@contextlib.contextmanager
def saving_as_given(algo, given: dict | None):
    """``algo`` saving its config as the caller gave it (:func:`_saved_as_given`) for the
    block: what ``rldebug.run(checkpoint_at_end=True)`` uses outside debug mode, whose
    patches do it for every Algorithm."""
    if not given or is_debug_mode():
        yield algo
        return
    algo._rldebug_given_settings = given
    for name in ("get_ctor_args_and_kwargs", "__getstate__"):
        setattr(algo, name, _saved_as_given(getattr(type(algo), name)).__get__(algo))
    try:
        yield algo
    finally:
        for name in ("get_ctor_args_and_kwargs", "__getstate__", "_rldebug_given_settings"):
            vars(algo).pop(name, None)


def _saved_as_given(original: Callable) -> Callable:
    """``Algorithm.get_ctor_args_and_kwargs`` (new stack) or ``__getstate__`` (old stack)
    answering with the Algorithm's config as it is now (modules added since included),
    with the settings rldebug changed to run it in-process put back as the script gave
    them: what a checkpoint stores, so that the Algorithm restored from it later, without
    rldebug, has its EnvRunners, Learners and callbacks."""
    @functools.wraps(original)
    def wrapper(self, *args, **kwargs):
        from rldebug.inprocess.local import as_given

        given = getattr(self, "_rldebug_given_settings", None)
        answer = original(self, *args, **kwargs)
        if not given:
            return answer
        saved = as_given(self.config, given).get_state()
        if isinstance(answer, dict):  # __getstate__'s state
            return {**answer, "config": saved}
        return (saved, *answer[0][1:]), answer[1]
    return wrapper


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


# -- rldebug debug SCRIPT --------------------------------------------------------------


def script_problem(script: str | Path) -> str | None:
    """Why Python cannot run ``script`` (neither a file nor a folder with a
    ``__main__.py``), or None when it can."""
    path = Path(script).expanduser()
    if path.is_file() or (path / "__main__.py").is_file():
        return None
    return (f"{str(script)!r} is neither a file nor a folder with a __main__.py; pass the "
            "Python script to debug, e.g. rldebug debug train.py --its-args.")


def _compiles(path: Path) -> bool:
    """Whether Python can compile the script; if not, its error is printed as Python
    prints it (the file, line and caret, no traceback through rldebug and runpy)."""
    import importlib.util
    import traceback
    import zipfile

    source = path.read_bytes()
    if zipfile.is_zipfile(path) or source.startswith(importlib.util.MAGIC_NUMBER):
        return True  # a zip app or compiled code: runpy runs it, as Python does
    try:
        compile(source, str(path), "exec", dont_inherit=True)
    except SyntaxError as err:
        print("".join(traceback.format_exception_only(err)).rstrip(), file=sys.stderr)
        return False
    except ValueError:  # Python 3.11's words for a binary file, 3.12's SyntaxError's
        print("SyntaxError: source code cannot contain null bytes", file=sys.stderr)
        return False
    return True


def _as_main(run: Callable[[], Any]) -> int:
    """``run()`` (runpy running ``__main__``) under :func:`debug_mode`, with its
    ``SystemExit`` as Python ends on it: 0, the code, or 1 with the message printed."""
    debug_mode(True)
    remember_frames_without_module()  # runpy's frames: RLlib's inspect.stack() stays cheap
    _print_uncaught_from_the_script()
    try:
        run()
    except SystemExit as exit_:
        code = exit_.code
        if code is None or isinstance(code, int):
            return code or 0
        print(code, file=sys.stderr)  # as Python does for sys.exit("message")
        return 1
    return 0


_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def _print_uncaught_from_the_script() -> None:
    """An exception the script leaves uncaught is printed from the script's own frame
    down, as ``python script.py`` prints it: the frames of rldebug's command and of
    runpy above it are left out (Python's hook prints it after the debugger has seen the
    whole stack). An exception raised before the script ran is printed whole."""
    shown = sys.excepthook
    if getattr(shown, "rldebug_from_the_script", False):
        return

    def hook(kind, value, traceback):
        start = _script_frame(traceback)
        if start is not traceback and value is not None:
            value = value.with_traceback(start)
        shown(kind, value, start)

    hook.rldebug_from_the_script = True
    sys.excepthook = hook


def _script_frame(traceback):
    """The first traceback entry in the script: the first one after runpy's frames that
    is not rldebug's own (``python -m rldebug`` has runpy's frames above rldebug's too);
    ``traceback`` itself when there is none."""
    after_runpy, node = False, traceback
    while node is not None:
        name = node.tb_frame.f_code.co_filename
        if name == "<frozen runpy>" or name.endswith(f"{os.sep}runpy.py"):
            after_runpy = True
        elif after_runpy and not name.startswith(_PACKAGE_DIR):
            return node
        node = node.tb_next
    return traceback


def module_problem(module: str) -> str | None:
    """Why ``python -m module`` cannot run from the current folder, or None when it can
    (its parent packages are imported to find it, as Python does)."""
    import importlib.util

    sys.path.insert(0, os.getcwd())
    try:
        found = importlib.util.find_spec(module)
    except (ImportError, ValueError) as err:
        found, reason = None, f" ({type(err).__name__}: {err})"
    else:
        reason = ""
    finally:
        sys.path.remove(os.getcwd())
    if found is not None:
        return None
    return (f"No module named {module!r}{reason} from {os.getcwd()}: rldebug debug -m runs "
            "it as python -m does, so run it from the folder that holds the package (with a "
            "src/ layout, that folder, or pip install -e . first).")


def debug_module(module: str, args: list[str] | None = None) -> int:
    """Run ``module`` as ``python -m module args`` would, under :func:`debug_mode`: the
    current folder first on ``sys.path``, ``sys.argv[0]`` the module's file, a package's
    ``__main__``, relative imports inside the package working.

    :returns: 0, or the module's ``sys.exit`` code (1 for a message, as Python's).
    :raises ModuleNotFoundError: if the module is not found from the current folder.
    """
    problem = module_problem(module)
    if problem:
        raise ModuleNotFoundError(problem)
    saved_argv, saved_path = sys.argv, list(sys.path)
    sys.argv = [module, *(args or [])]  # runpy makes argv[0] the module's file
    sys.path.insert(0, os.getcwd())
    try:
        return _as_main(lambda: runpy.run_module(module, run_name="__main__", alter_sys=True))
    finally:
        sys.argv, sys.path[:] = saved_argv, saved_path


def debug_script(script: str | Path, args: list[str] | None = None) -> int:
    """Run ``script`` as ``__main__`` with ``args`` under :func:`debug_mode`, as ``python
    script args`` would: ``__file__`` absolute, a folder or zip with ``__main__.py`` run as
    Python runs it, ``sys.exit("message")`` printing the message. (``sys.argv[0]`` is
    the script's absolute path, as runpy makes it; Python keeps it as given.)

    :returns: 0, or the script's ``sys.exit`` code (1 for a message, as Python's).
    :raises FileNotFoundError: if ``script`` is neither a file nor a folder with a
        ``__main__.py``.
    """
    path = Path(script).expanduser()
    problem = script_problem(path)
    if problem:
        raise FileNotFoundError(problem)
    if path.is_file() and not _compiles(path):
        return 1  # as Python exits on a script it cannot compile
    saved_argv, saved_path = sys.argv, list(sys.path)
    sys.argv = [str(script), *(args or [])]
    if path.is_file():  # runpy puts a folder's or zip's own path first
        sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    try:
        return _as_main(lambda: runpy.run_path(os.path.abspath(path), run_name="__main__"))
    finally:
        sys.argv, sys.path[:] = saved_argv, saved_path


__all__ = ["debug_mode", "debug_module", "debug_script", "is_debug_mode", "module_problem"]
