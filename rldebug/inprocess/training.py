"""``rldebug.run``: train in this process with Tune-style stop criteria and Tune's files.

Tune runs every trial in a separate actor process, where IDE breakpoints are
never hit. ``run`` is the same loop (``algo.train()`` until a stop criterion)
in the calling process, writing the files of a Tune trial (result.json,
progress.csv, params.json, TensorBoard events) so that TensorBoard and the
other rldebug tools read it like a Tune run.
"""

from __future__ import annotations

import atexit
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rldebug.inprocess.local import is_local, local_mode, ray_for
from rldebug.inprocess.progress import ProgressTable
from rldebug.inprocess.runlog import (
    ERROR_FILE,
    PARAMS_FILE,
    RESULT_FILE,
    RunLogger,
    check_writable,
    default_output_dir,
)
from rldebug.inprocess.stopping import Stopper, StopSpec
from rldebug.shapes.configs import store_config
from rldebug.shapes.env_meta import env_id_problem, store_env_spec
from rldebug.usage import UsageError, UsageTypeError, check_bool


@dataclass
class RunResult:
    """What :func:`run` did: where the files are, why it stopped, the last result."""

    logdir: Path
    iterations: int
    stopped_by: str
    elapsed_s: float
    last_result: dict
    checkpoint: Path | None
    algo: Any  # the trained Algorithm, still running: call algo.stop() when done


def _default_logdir(config) -> Path:
    env = getattr(config.env, "__name__", None) or str(config.env)
    return default_output_dir(f"{config.algo_class.__name__}_{env}")


def _config_of(config_or_algo):
    from ray.rllib.algorithms.algorithm import Algorithm
    from ray.rllib.algorithms.algorithm_config import AlgorithmConfig

    if isinstance(config_or_algo, Algorithm):
        return config_or_algo.config, config_or_algo
    if isinstance(config_or_algo, AlgorithmConfig):
        return config_or_algo, None
    raise UsageTypeError(
        "rldebug.run expects an RLlib AlgorithmConfig (e.g. rldebug.arena_ppo_config()) "
        f"or a built Algorithm, got {type(config_or_algo).__name__}: {config_or_algo!r:.120}."
    )


def _check_no_earlier_run(logdir: Path) -> None:
    """A log directory holds one run: a second one's results would be appended to the
    first's (``training_iteration`` 1, 2, ... twice), and read back as one run by the
    doctor, ``diff`` and TensorBoard."""
    from rldebug.inspection.checkpoint import algorithm_checkpoint_of
    from rldebug.tracing.layout import trace_files, trial_trace_dirs

    if not logdir.is_dir():
        return
    checkpoint = algorithm_checkpoint_of(logdir)
    if checkpoint is not None:
        raise UsageError(
            f"rldebug.run(logdir={str(logdir)!r}): the folder is "
            + ("" if checkpoint == logdir else f"inside {str(checkpoint)!r}, ")
            + "an RLlib checkpoint; the run's files would be written into it and "
            "break it. Pass a new logdir (logdir=None makes one per run).")
    trials = sorted(p.name for p in logdir.iterdir() if p.is_dir()
                    and ((p / RESULT_FILE).is_file() or (p / PARAMS_FILE).is_file()))
    if trials:
        raise UsageError(
            f"rldebug.run(logdir={str(logdir)!r}): the folder holds runs of its own "
            f"({', '.join(trials[:3])}{', ...' if len(trials) > 3 else ''}): an "
            "experiment; a run written beside them would be read as one more trial, or "
            "hide them. Pass a new logdir, e.g. a subfolder of it.")
    if (logdir / ERROR_FILE).is_file():
        raise UsageError(
            f"rldebug.run(logdir={str(logdir)!r}): the folder holds a run that failed "
            f"({ERROR_FILE}); its error would be read as this run's. Pass a new logdir "
            "(logdir=None makes one per run), or remove the failed run.")
    results = logdir / RESULT_FILE
    if results.is_file() and results.stat().st_size:
        lines = sum(1 for line in results.open() if line.strip())
        raise UsageError(
            f"rldebug.run(logdir={str(logdir)!r}): the folder already holds a run "
            f"({lines} result(s) in {RESULT_FILE}); a second run would be appended to it. "
            "Pass a new logdir (logdir=None makes one per run), or remove the old run.")
    traced = trace_files(logdir) + trial_trace_dirs(logdir)  # after a run's own results
    if traced:
        raise UsageError(
            f"rldebug.run(logdir={str(logdir)!r}): the folder holds an earlier trace "
            f"({len(traced)} trace file(s) or trial trace folder(s)); this run's result.json, "
            "params and TensorBoard events would be written among them, and `rldebug trace` "
            "and `reproduce` would read the two as one run. Pass a new logdir (logdir=None "
            "makes one per run); a run's own trace goes to <logdir>/trace.")


def run(config, stop: StopSpec = None, logdir: str | Path | None = None, *,
        local: bool = True, checkpoint_at_end: bool = False,
        progress: bool | ProgressTable = True,
        max_iterations: int | None = None, trace: str | None = None,
        reproducible: bool = False,
        on_result: Callable[[dict], bool] | None = None) -> RunResult:
    """Train ``config`` in this process until a stop criterion is met.

    :param config: an ``AlgorithmConfig`` or an already built ``Algorithm``.
    :param stop: Tune-style criteria, e.g. ``{"training_iteration": 10,
        "env_runners/episode_return_mean": 15, "time_total_s": 300}`` (stop when
        any is reached), or a callable ``(iteration, result) -> bool``.
    :param logdir: where the Tune-style files go (default
        ``~/rldebug_results/<Algo>_<Env>_<time>``); checked writable before training.
    :param local: rewrite the config with :func:`rldebug.local_mode` first, so
        every breakpoint is hit in this process. Set False to keep remote EnvRunners.
    :param checkpoint_at_end: save ``checkpoint_<iteration>`` in ``logdir`` at the end.
    :param progress: show the live table (iteration, env steps, returns, time); or the
        :class:`rldebug.inprocess.progress.ProgressTable` to show it in.
    :param max_iterations: a safety cap when ``stop`` is None (required then).
    :param trace: a trace level (``"summary"``, ``"batches"``, ``"full"``): record what
        was sampled and learned in ``<logdir>/trace``, where ``rldebug doctor <logdir>``
        finds it (see :func:`rldebug.trace`). Needs a config, not a built Algorithm.
    :param reproducible: with ``trace``: also record what :func:`rldebug.reproduce` needs to
        replay an event of the run to its exact step (``rldebug.trace(reproducible=True)``).
    :param on_result: ``on_result(result) -> bool``, called with each result before it is
        written (it may change it); True stops the run. ``rldebug debug`` hands Tune's
        controller steps to it (metric check, stop decision, Tune's callbacks).
    :returns: a :class:`RunResult`; its ``algo`` (built here) is still running, to look
        into: ``result.algo.stop()`` when done, or it is stopped at exit.
    """
    local = check_bool(local, "rldebug.run(local=...)")
    checkpoint_at_end = check_bool(checkpoint_at_end, "rldebug.run(checkpoint_at_end=...)")
    reproducible = check_bool(reproducible, "rldebug.run(reproducible=...)")
    if not isinstance(progress, ProgressTable):
        progress = check_bool(progress, "rldebug.run(progress=...)")
    config, algo = _config_of(config)
    if algo is not None and local and not is_local(config):
        raise UsageError(
            "rldebug.run(local=True) got an Algorithm that was built with remote actors; "
            "local mode can only rewrite a config. Pass algo.config.copy(copy_frozen=False) "
            "instead, or local=False to train this algorithm as it is.")
    if on_result is not None and not callable(on_result):
        raise UsageTypeError(f"rldebug.run(on_result=...) takes a function of the result, got "
                             f"{type(on_result).__name__}.")
    if stop is None and max_iterations is None and on_result is None:
        raise UsageError(
            "rldebug.run needs a way to end: pass stop={'training_iteration': N, ...} "
            "or max_iterations=N."
        )
    if max_iterations is not None and (not isinstance(max_iterations, int) or max_iterations < 1):
        raise UsageError(f"max_iterations must be a positive int, got {max_iterations!r}.")
    stopper = Stopper(stop)
    if trace is not None and algo is not None:
        raise UsageError(
            "rldebug.run(trace=...) instruments a config before it is built; it got a built "
            "Algorithm. Pass its config (algo.config.copy(copy_frozen=False)) or trace the "
            "config yourself with rldebug.trace(config, out=...).")
    if trace is not None:
        from rldebug.tracing import LEVELS

        if trace not in LEVELS:  # before the log directory is written to
            raise UsageError(f"rldebug.run(trace=...): trace level must be one of {LEVELS}, "
                             f"got {trace!r}.")
    if reproducible is not False and trace is None:
        raise UsageError("rldebug.run(reproducible=True) records a reproducible trace; pass a "
                         "trace level too, e.g. trace='batches'.")
    unknown_env = env_id_problem(config.env) if algo is None else ""
    if unknown_env:  # not gymnasium's traceback from a build
        raise UsageError(f"The config's env {unknown_env}")
    if logdir is not None and isinstance(logdir, (str, Path)) and str(logdir).strip():
        _check_no_earlier_run(Path(logdir).expanduser().resolve())  # before it is made
    logdir = check_writable(logdir if logdir is not None else _default_logdir(config))
    given = config
    if trace is not None:  # refused before a file is written, when it is
        from rldebug.tracing import run_trace_dir
        from rldebug.tracing import trace as traced

        config = traced(config, level=trace, out=run_trace_dir(logdir),
                        reproducible=reproducible)
    store_config(given, logdir)  # as given: `rldebug doctor --verify` trains it again

    built_here = algo is None
    if built_here and local:
        config = local_mode(config)
    # Written before the build, so a run that fails to build leaves its params.json
    # and error.txt as a failed Tune trial does.
    logger = RunLogger(logdir, config=config.to_dict())
    table = progress if isinstance(progress, ProgressTable) else ProgressTable(enabled=progress)
    started = time.time()
    stopped_by = ""
    result: dict = {}
    done = 0  # the last iteration whose result was written
    try:
        if built_here:
            ray_for(config)
            algo = config.build_algo()
            atexit.register(_stop_at_exit, weakref.ref(algo))
        store_env_spec(algo, logdir)  # what params.json cannot say of a wrapped gym env
        with table:
            while not stopped_by:
                result = algo.train()
                if on_result is not None and on_result(result):
                    stopped_by = "on_result returned True"  # e.g. Tune's, under rldebug debug
                iteration = result.get("training_iteration", 0)
                try:
                    stopped_by = stopped_by or stopper.check(result) or ""
                    if not stopped_by and result.get("done") is True:
                        stopped_by = "the result says done" + (  # DoctorCallback(stop_on=)
                            f" (doctor: {result['doctor']['stopped_by']})"
                            if isinstance(result.get("doctor"), dict)
                            and result["doctor"].get("stopped_by") else "")
                    if not stopped_by and max_iterations and iteration >= max_iterations:
                        stopped_by = f"max_iterations = {max_iterations}"
                finally:  # logged also when a stop criterion is refused
                    # as Tune's results: the checkpoint this iteration made (Result.from_path
                    # pairs each checkpoint folder with its result by it)
                    result.setdefault(CHECKPOINT_DIR_NAME, _checkpoint_name(iteration) if
                                      stopped_by and checkpoint_at_end else None)
                    logger.log(result)
                    done = iteration
                    table.add(result)
    except BaseException as err:
        if isinstance(err, KeyboardInterrupt):
            try:
                logger.write_interrupted()
            except OSError:  # the interruption is what the user sees, not this
                pass
            if checkpoint_at_end and algo is not None and done:
                err.add_note(_checkpoint_after_ctrl_c(algo, config, logdir, done))
        else:
            logger.write_error(err)
        err.add_note(f"rldebug.run: the run's files ({done} complete iteration"
                     f"{'' if done == 1 else 's'}"
                     f"{'' if isinstance(err, KeyboardInterrupt) else ', error.txt'}) are in "
                     f"{logdir}")
        if built_here and algo is not None:
            algo.stop()  # do not leave the actors of a failed run behind
        raise
    finally:
        logger.close()
    checkpoint = None
    if checkpoint_at_end:
        checkpoint = logdir / _checkpoint_name(done)
        try:
            _save_checkpoint(algo, config, checkpoint)
        except Exception as err:
            err.add_note(
                f"rldebug.run: training finished ({done} iteration{'' if done == 1 else 's'}; "
                f"the run's files are in {logdir}), and RLlib raised this while saving "
                f"checkpoint_at_end to {checkpoint} (what it wrote there is incomplete: "
                "rldebug.load refuses it). `rldebug check` names the known causes, such as "
                "int agent ids in a multi-agent DQN or SAC.")
            if built_here:
                algo.stop()
            raise
    return RunResult(logdir=logdir, iterations=done,
                     stopped_by=stopped_by, elapsed_s=time.time() - started,
                     last_result=result, checkpoint=checkpoint, algo=algo)


CHECKPOINT_DIR_NAME = "checkpoint_dir_name"  # Tune's result key (air/constants.py)


def _stop_at_exit(algo_ref: weakref.ref) -> None:
    """At exit, stop an Algorithm ``run`` built that is still alive (``RunResult.algo``
    left unstopped). Registered after ``ray.init``, so it runs before Ray's own exit
    handler shuts Ray down: with a remote Learner (APPO's default ``num_learners=1``,
    ``local=False``) RLlib's ``LearnerGroup.__del__`` otherwise runs after Ray is gone,
    calls an actor, and Ray's auto-init started a new Ray at exit and hung there (an
    independent user's script never exited). Where Ray was shut down first its actors
    are gone with it, and the group is marked as shut down so nothing calls them."""
    import ray

    algo = algo_ref()
    group = getattr(algo, "learner_group", None)
    if algo is None or group is None or getattr(group, "_is_shut_down", True):
        return  # collected, or stopped by the script
    if ray.is_initialized():
        algo.stop()
    else:
        group._is_shut_down = True  # RLlib's flag: LearnerGroup.__del__ reads it


def _checkpoint_name(iteration: int) -> str:
    return f"checkpoint_{iteration:06d}"


def _save_checkpoint(algo, config, checkpoint: Path) -> None:
    """Save ``algo`` with its config as the caller gave it (not as local mode rewrote it:
    restored without rldebug, it has its EnvRunners and callbacks), sealed for
    :func:`rldebug.load`."""
    from rldebug.inprocess.debugging import saving_as_given
    from rldebug.inprocess.local import given_settings
    from rldebug.inspection.checkpoint import seal_checkpoint

    with saving_as_given(algo, given_settings(config)):
        if config.enable_rl_module_and_learner:
            algo.save_to_path(str(checkpoint))
        else:
            algo.save(str(checkpoint))  # the old stack has no get_state()/save_to_path
    seal_checkpoint(checkpoint)  # rldebug.load verifies every file against it


def _checkpoint_after_ctrl_c(algo, config, logdir: Path, done: int) -> str:
    """checkpoint_at_end after Ctrl+C: the weights are saved, and said to be those after
    iteration ``done`` and whatever part of the next one's update ran."""
    checkpoint = logdir / f"{_checkpoint_name(done)}_interrupted"
    try:
        _save_checkpoint(algo, config, checkpoint)
    except BaseException as err:  # noqa: BLE001 - a second Ctrl+C too: the first is raised
        return (f"rldebug.run: no checkpoint after Ctrl+C ({type(err).__name__}: {err}); "
                f"the last complete iteration was {done}.")
    return (f"rldebug.run: checkpoint_at_end saved {checkpoint} after Ctrl+C: the weights "
            f"after iteration {done}, and whatever part of iteration {done + 1}'s update "
            "had run.")


__all__ = ["RunResult", "run"]
