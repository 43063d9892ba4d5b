"""The ``rldebug`` command line: one subcommand per tool (``rldebug --help`` lists them).

Commands are built here, and tools with larger parsers add theirs (``add_*_parser``);
each imports its tool only when it runs, so ``--help`` answers without loading RLlib.
"""

from __future__ import annotations

import argparse
import os
import sys

from rldebug.usage import EXIT_UNUSABLE, UsageError, load_function

# Exceptions that mean "this input cannot be used": reported in one line, exit 2. Any
# other exception (a library's ValueError included) is a failure or a bug: exit 1, with
# its type and the way to its traceback (rldebug.usage says why).
_USAGE_ERRORS = (UsageError, FileNotFoundError, NotADirectoryError, IsADirectoryError,
                 PermissionError)


def _load_config(spec: str):
    """Load ``path/to/file.py:function`` or ``package.module:function`` and call it."""
    return load_function(spec, "--config")()


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
    from rldebug.demo import demo

    result = demo(target=args.target, budget_s=args.budget, logdir=args.logdir,
                  api_stack=args.stack, seed=args.seed)
    _print_where(result)
    reached = "reached" if result.stopped_by.startswith("env_runners") else "did NOT reach"
    print(f"Mean total return {reached} {args.target} in {result.elapsed_s:.1f} s.")
    result.algo.stop()
    return 0 if reached == "reached" else 1


def cmd_run(args) -> int:
    from rldebug.configs import arena_ppo_config
    from rldebug.run import run

    config = _load_config(args.config) if args.config else arena_ppo_config(api_stack=args.stack)
    result = run(config, stop=_stop_from_args(args), logdir=args.logdir,
                 local=not args.keep_remote, checkpoint_at_end=args.checkpoint)
    _print_where(result)
    result.algo.stop()
    return 0


def cmd_check(args) -> int:
    """Name RLlib 2.60's known traps in a config: exit 1 when one is an error."""
    import json

    from rldebug.preflight import preflight, preflight_script

    if args.config.endswith(".py"):  # a script: what its code shows, without running it
        traps = preflight_script(args.config)
    else:
        traps = preflight(_load_config(args.config))
    if args.json:
        print(json.dumps([t.to_dict() for t in traps], indent=2, default=str))
    else:
        for trap in traps:
            print(f"{trap.severity}[{trap.name}] {trap.message}\n  fix: {trap.fix}")
        errors = sum(t.severity == "error" for t in traps)
        print(f"{len(traps)} trap(s), {errors} error(s)" if traps else
              "No known RLlib 2.60 trap found.")
    return 1 if any(t.severity == "error" for t in traps) else 0


def cmd_probe(args) -> int:
    """Train a config on the probe envs: exit 0 when every probe passes, 1 when one fails."""
    import json

    from rldebug.probes import probe

    only = [name.strip() for name in args.only.split(",")] if args.only else None
    on_terminal = sys.stderr.isatty()

    def progress(line: str) -> None:
        # One line per iteration; on a terminal it overwrites the previous one.
        print(f"\r\033[K{line}" if on_terminal else line, end="" if on_terminal else "\n",
              file=sys.stderr, flush=True)

    report = probe(_load_config(args.config), only=only, max_iterations=args.max_iterations,
                   seed=args.seed, budget_s=args.budget or None,
                   progress=None if args.quiet else progress)
    if on_terminal and not args.quiet:
        print("\r\033[K", end="", file=sys.stderr, flush=True)
    print(json.dumps(report.to_dict(), indent=2, default=str) if args.json else report)
    return 0 if report.passed else 1


def cmd_parity(args) -> int:
    """Compare a deployed policy with the checkpoint's training pipeline: exit 0 when they
    agree, 1 when not."""
    import json
    from dataclasses import asdict

    from rldebug.deployment import parity

    report = parity(args.checkpoint, load_function(args.policy, "--policy"),
                    episodes=args.episodes, min_agreement=args.min_agreement)
    if args.json:
        print(json.dumps({**asdict(report), "passed": report.passed}, indent=1, default=str))
    else:
        print(report)
    return 0 if report.passed else 1


def cmd_diff(args) -> int:
    """Compare two runs: exit 0 when they do not part on the metric, 1 when they do."""
    from rldebug.diff import diff

    result = diff(args.run_a, args.run_b, metric=args.metric)
    if args.html:
        print(f"HTML report: {result.write_html(args.html)}", file=sys.stderr)
    print(result.to_json() if args.json else result)
    return 1 if result.parts else 0


def cmd_reproduce(args) -> int:
    """List a reproducible trace's events, or replay one: exit 0 reproduced, 1 not."""
    from rldebug.reproduce import reproduce, reproducible_events

    if args.event is None and args.iteration is None:
        events = reproducible_events(args.trace)
        if args.json:
            import json

            print(json.dumps([{"number": e.number, "reason": e.reason, "kind": e.kind,
                               "iteration": e.iteration, "reproducible": e.reproducible,
                               "why_not": e.why_not} for e in events], indent=2))
        else:
            for event in events:
                print(event.line())
            print(f"{len(events)} event(s); replay one with rldebug reproduce {args.trace} "
                  "--event N" if events else "No events; replay a recorded episode with "
                  f"rldebug reproduce {args.trace} --iteration I [--episode E] [--step S]")
        return 0
    from rldebug.debugging import debug_mode, is_debug_mode

    episode = args.episode
    if episode is not None and episode.isdigit():
        episode = int(episode)
    was_on = is_debug_mode()
    debug_mode(True, preflight=False)  # the replay needs no Ray instance of its own
    try:
        result = reproduce(args.trace, args.event, iteration=args.iteration, episode=episode,
                           step=args.step, mode=args.mode)
    finally:
        if not was_on:
            debug_mode(False)
    try:
        print(result.to_json() if args.json else result.summary())
    finally:
        result.close()
    return 0 if result.reproduced else 1


def cmd_debug(args) -> int:
    """Run a script unchanged with every Algorithm and Tune trial in this process."""
    from rldebug.debugging import debug_script

    return debug_script(args.script, args.args)


def cmd_ide_configs(args) -> int:
    from rldebug.ide import write_ide_configs

    for path in write_ide_configs(args.root):
        print(path)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rldebug", description="Debugging and introspection for Ray RLlib 2.60.")
    parser.add_argument("--debug", action="store_true",
                        help="show Python tracebacks instead of one-line errors")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="train the tutorial's arena in-process until solved")
    demo.add_argument("--target", type=float, default=15.0, help="mean total return to reach")
    demo.add_argument("--budget", type=float, default=900.0, help="seconds of training at most")
    demo.add_argument("--logdir", default=None)
    demo.add_argument("--stack", choices=["new", "old"], default="new")
    demo.add_argument("--seed", type=int, default=0)
    demo.set_defaults(func=cmd_demo)

    run = sub.add_parser("run", help="train any config in-process, writing Tune-style logs")
    run.add_argument("--config", help="FILE.py:FUNC or MODULE:FUNC returning an AlgorithmConfig "
                                      "(default: the arena)")
    run.add_argument("--stack", choices=["new", "old"], default="new",
                     help="API stack of the default arena config")
    run.add_argument("--stop-iters", type=int)
    run.add_argument("--stop-return", type=float)
    run.add_argument("--stop-time", type=float)
    run.add_argument("--logdir", default=None)
    run.add_argument("--checkpoint", action="store_true", help="save a checkpoint at the end")
    run.add_argument("--keep-remote", action="store_true",
                     help="keep the config's remote EnvRunners (breakpoints there are not hit)")
    run.set_defaults(func=cmd_run)

    from rldebug.doctor.cli import add_doctor_parser
    from rldebug.inspect.cli import add_inspect_parser
    from rldebug.migrate import add_migrate_parser
    from rldebug.trace.cli import add_profile_parser, add_trace_parser

    debug = sub.add_parser("debug", help="run a script unchanged, every Algorithm and Tune "
                                         "trial in this process (press Debug on it)")
    debug.add_argument("script", help="the Python script to run")
    debug.add_argument("args", nargs=argparse.REMAINDER, help="the script's own arguments")
    debug.set_defaults(func=cmd_debug)

    check = sub.add_parser("check", help="name RLlib 2.60's known traps in a config before "
                                         "training")
    check.add_argument("config", help="FILE.py:FUNC or MODULE:FUNC returning an "
                                      "AlgorithmConfig, or a script FILE.py (read, not run)")
    check.add_argument("--json", action="store_true", help="print the traps as JSON")
    check.set_defaults(func=cmd_check)

    from rldebug.probes import PROBES
    from rldebug.probes.run import DEFAULT_BUDGET_S

    probe = sub.add_parser(
        "probe", help="train your config on tiny envs with known answers and say which part "
                      "of learning is broken",
        description="Swap only the env of your AlgorithmConfig for probe envs written in "
                    "your env's spaces, train each briefly in this process, and compare the "
                    "learned values and actions with the known right ones. Exit 0 when every "
                    "probe passes, 1 when one fails, 2 for unusable input.")
    probe.add_argument("config", help="FILE.py:FUNC or MODULE:FUNC returning an AlgorithmConfig")
    probe.add_argument("--only", help=f"comma-separated probes to run, of {', '.join(PROBES)}")
    probe.add_argument("--max-iterations", type=int, default=40,
                       help="training iterations per probe before it counts as failed")
    probe.add_argument("--seed", type=int, default=0)
    probe.add_argument("--budget", type=float, default=DEFAULT_BUDGET_S, metavar="SECONDS",
                       help="seconds all probes may train; then the report is written with "
                            "what was measured and the rest marked 'not run' (0: no limit; "
                            f"default {DEFAULT_BUDGET_S:g})")
    probe.add_argument("--quiet", action="store_true",
                       help="no progress line on stderr while probes train")
    probe.add_argument("--json", action="store_true", help="print the report as JSON")
    probe.set_defaults(func=cmd_probe)

    parity_cmd = sub.add_parser(
        "parity", help="check a deployed policy against the checkpoint's training pipeline",
        description="Play episodes with the checkpoint's training pipeline (env-to-module "
                    "connectors with their saved state, the RLModule, the greedy action as "
                    "RLlib's evaluation takes it), ask your deployed policy at every state, "
                    "and compare; on a mismatch, name the connector piece your deployment "
                    "leaves out. Exit 0 when they agree, 1 when not, 2 for unusable input.")
    parity_cmd.add_argument("checkpoint", help="an RLlib 2.60 checkpoint (new API stack)")
    parity_cmd.add_argument("--policy", required=True,
                            help="FILE.py:FUNC or MODULE:FUNC: your deployed policy, raw env "
                                 "observation in, env action out")
    parity_cmd.add_argument("--episodes", type=int, default=5)
    parity_cmd.add_argument("--min-agreement", type=float, default=0.99,
                            help="share of states that must agree (default 0.99)")
    parity_cmd.add_argument("--json", action="store_true", help="print the report as JSON")
    parity_cmd.set_defaults(func=cmd_parity)

    diff = sub.add_parser(
        "diff", help="compare two runs: config differences, metrics aligned by iteration and "
                     "env steps, where they part, traces, doctor findings",
        description="Compare two runs (rldebug run logdirs, Tune trials, or Tune experiments "
                    "whose trials are seeds of one config). Exit 0 when they do not part on "
                    "the metric beyond its noise, 1 when they do, 2 for unusable input.")
    diff.add_argument("run_a")
    diff.add_argument("run_b")
    diff.add_argument("--metric", default="return",
                      help="return (default), return/<agent>, <module>/<stat>, or a "
                           "'/'-path into the result dict")
    diff.add_argument("--json", action="store_true", help="print the comparison as JSON")
    diff.add_argument("--html", help="also write a self-contained HTML report here")
    diff.set_defaults(func=cmd_diff)

    reproduce = sub.add_parser(
        "reproduce", help="list a reproducible trace's events, or replay one to its exact "
                          "env step or minibatch in this process",
        description="Without --event/--iteration: list the events of a trace recorded with "
                    "rldebug.trace(config, reproducible=True). With them: rebuild the "
                    "algorithm in this process from the recorded state and replay the "
                    "episode or Learner update up to the event's step or minibatch, where "
                    "it stops in the debugger (run it under one) or, unattended, records "
                    "the stop. Exit 0 reproduced, 1 not, 2 unusable input.")
    reproduce.add_argument("trace", help="a reproducible trace directory, or a run directory "
                                         "with one in trace/")
    reproduce.add_argument("--event", type=int, help="the event number from the listing")
    reproduce.add_argument("--iteration", type=int,
                           help="instead of an event: replay an episode of this iteration")
    reproduce.add_argument("--episode", help="with --iteration: index (0 = first) or id of "
                                             "the episode")
    reproduce.add_argument("--step", type=int, help="with --iteration: env step to stop at")
    reproduce.add_argument("--mode", choices=["auto", "break", "log"], default="auto",
                           help="stop in the debugger (auto: when one is attached or stdin "
                                "is a terminal), always, or only record")
    reproduce.add_argument("--json", action="store_true", help="print the outcome as JSON")
    reproduce.set_defaults(func=cmd_reproduce)

    ide = sub.add_parser("ide-configs",
                         help="(re)write the VS Code and PyCharm run configurations")
    ide.add_argument("--root", default=".", help="the repository root")
    ide.set_defaults(func=cmd_ide_configs)

    add_inspect_parser(sub)
    add_trace_parser(sub)
    add_profile_parser(sub)
    add_doctor_parser(sub)
    add_migrate_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one subcommand. Unusable input prints ``rldebug CMD: error: ...`` and exits 2
    (a failed training run exits 1); ``--debug`` shows the Python traceback instead."""
    args = build_parser().parse_args(argv)
    if args.command == "debug":  # the script's own exceptions stay uncaught, for the debugger
        if not os.path.isfile(args.script):
            print(f"rldebug debug: error: {args.script!r} is not a file; pass the Python "
                  "script to debug, e.g. rldebug debug train.py --its-args.", file=sys.stderr)
            return EXIT_UNUSABLE
        return args.func(args)
    try:
        return args.func(args)
    except _USAGE_ERRORS as err:
        if args.debug:
            raise
        print(f"rldebug {args.command}: error: {err}", file=sys.stderr)
        return EXIT_UNUSABLE
    except Exception as err:
        if args.debug:
            raise
        print(f"rldebug {args.command}: {type(err).__name__}: {err}\n"
              f"(run again with --debug for the Python traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
