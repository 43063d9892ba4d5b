"""``rldebug demo``, ``rldebug run`` and ``rldebug debug``: training in this process."""

from __future__ import annotations

import argparse
import sys

from rldebug.usage import EXIT_UNUSABLE, UsageError, load_config


def _stop_from_args(args) -> dict:
    stop = {}
    if args.stop_iters is not None:
        if args.stop_iters < 1:
            raise UsageError(f"--stop-iters must be >= 1, got {args.stop_iters}.")
        stop["training_iteration"] = args.stop_iters
    if args.stop_return is not None:
        stop["env_runners/episode_return_mean"] = args.stop_return
    if args.stop_time is not None:
        if args.stop_time <= 0:
            raise UsageError(f"--stop-time must be > 0 seconds, got {args.stop_time}.")
        stop["time_total_s"] = args.stop_time
    if not stop:
        raise UsageError("Give at least one of --stop-iters, --stop-return, --stop-time.")
    return stop


def _print_where(result) -> None:
    print(f"\nStopped after {result.iterations} iterations ({result.elapsed_s:.1f} s): "
          f"{result.stopped_by}.")
    print(f"Logs:        {result.logdir}")
    if result.checkpoint:
        print(f"Checkpoint:  {result.checkpoint}")
    print(f"TensorBoard: tensorboard --logdir {result.logdir}")


def cmd_demo(args) -> int:
    from rldebug.inprocess.demo import demo

    result = demo(target=args.target, budget_s=args.budget, logdir=args.logdir,
                  api_stack=args.stack, seed=args.seed)
    _print_where(result)
    reached = "reached" if result.stopped_by.startswith("env_runners") else "did NOT reach"
    print(f"Mean total return {reached} {args.target} in {result.elapsed_s:.1f} s.")
    result.algo.stop()
    return 0 if reached == "reached" else 1


def cmd_run(args) -> int:
    from rldebug.arena.config import arena_ppo_config
    from rldebug.inprocess.training import run

    if args.config and args.stack is not None:
        raise UsageError(f"--stack {args.stack} chooses the API stack of the default arena "
                         f"config; {args.config} returns its own config. Set the stack there "
                         "(config.api_stack(...)), or leave --stack out.")
    config = load_config(args.config) if args.config else \
        arena_ppo_config(api_stack=args.stack or "new")
    try:
        result = run(config, stop=_stop_from_args(args), logdir=args.logdir,
                     local=not args.keep_remote, checkpoint_at_end=args.checkpoint)
    except UsageError:
        raise
    except Exception as err:
        _say_the_trap(config, err)
        raise
    _print_where(result)
    result.algo.stop()
    return 0


def _say_the_trap(config, err: Exception) -> None:
    """A run that raised: when ``rldebug check`` names an error trap in its config (RLlib's
    own message says what failed, not what to change), raise that instead."""
    from rldebug.traps import preflight

    try:
        traps = [t for t in preflight(config) if t.severity == "error"]
    except Exception:  # noqa: BLE001 - the run's own error is then the one to show
        return
    if traps:
        said = str(err).strip().splitlines()[0][:200] if str(err).strip() else ""
        raise UsageError(
            f"the run raised {type(err).__name__}" + (f" ({said})" if said else "")
            + ". rldebug check names why: "
            + " ".join(f"error[{t.name}] {t.message} Fix: {t.fix}" for t in traps)) from err


def cmd_debug(args) -> int:
    """Run a script unchanged with every Algorithm and Tune trial in this process. The
    script's own exceptions stay uncaught, for the debugger (``catches_errors=False``)."""
    from rldebug.inprocess.debugging import (
        debug_module,
        debug_script,
        module_problem,
        script_problem,
    )

    if args.module is not None and args.script is not None:  # (argparse left them)
        problem = (f"-m {args.module} names what to run, and so does {args.script}: give one "
                   "(rldebug debug -m package.module ARGS, or rldebug debug script.py ARGS).")
    elif args.module is not None:
        problem = module_problem(args.module)
    elif args.script is not None:
        problem = script_problem(args.script)
    else:
        problem = ("say what to run: rldebug debug script.py ARGS, or rldebug debug -m "
                   "package.module ARGS as python -m runs it.")
    if problem:  # said here: the script's own FileNotFoundError must reach the debugger
        print(f"rldebug debug: error: {problem}", file=sys.stderr)
        return EXIT_UNUSABLE
    if args.module is not None:
        return debug_module(args.module, args.args)
    return debug_script(args.script, args.args)


def add_commands(subparsers) -> None:
    """Register ``demo``, ``run`` and ``debug`` on ``parser.add_subparsers()``."""
    demo = subparsers.add_parser("demo", help="train the tutorial's arena in-process until "
                                              "solved")
    demo.add_argument("--target", type=float, default=15.0, help="mean total return to reach")
    demo.add_argument("--budget", type=float, default=900.0, help="seconds of training at most")
    demo.add_argument("--logdir", default=None)
    demo.add_argument("--stack", choices=["new", "old"], default="new")
    demo.add_argument("--seed", type=int, default=0)
    demo.set_defaults(func=cmd_demo)

    run = subparsers.add_parser("run", help="train any config in-process, writing Tune-style "
                                            "logs")
    run.add_argument("--config", help="FILE.py:FUNC or MODULE:FUNC returning an AlgorithmConfig "
                                      "(default: the arena)")
    run.add_argument("--stack", choices=["new", "old"],
                     help="API stack of the default arena config (default new)")
    run.add_argument("--stop-iters", type=int)
    run.add_argument("--stop-return", type=float)
    run.add_argument("--stop-time", type=float)
    run.add_argument("--logdir", default=None)
    run.add_argument("--checkpoint", action="store_true", help="save a checkpoint at the end")
    run.add_argument("--keep-remote", action="store_true",
                     help="keep the config's remote EnvRunners (breakpoints there are not hit)")
    run.set_defaults(func=cmd_run)

    debug = subparsers.add_parser("debug", help="run a script unchanged, every Algorithm and "
                                                "Tune trial in this process (press Debug on it)")
    debug.add_argument("-m", dest="module", metavar="MODULE",
                       help="run a module as `python -m MODULE` does (a package's module, "
                            "relative imports and all), instead of a script")
    debug.add_argument("script", nargs="?", help="the Python script to run")
    debug.add_argument("args", nargs=argparse.REMAINDER, help="the script's own arguments")
    debug.set_defaults(func=cmd_debug, catches_errors=False)
