"""``rldebug reproduce TRACE``: list a reproducible trace's events, or replay one."""

from __future__ import annotations

import sys

from rldebug.usage import UsageError, add_import_option, json_text


def _list_events(args) -> int:
    from rldebug.reproduction import reproducible_events

    events = reproducible_events(args.trace)
    if args.json:
        print(json_text([{"number": e.number, "reason": e.reason, "kind": e.kind,
                          "iteration": e.iteration, "reproducible": e.reproducible,
                          "why_not": e.why_not} for e in events]))
    else:
        for event in events:
            print(event.line())
        print(f"{len(events)} event(s); replay one with rldebug reproduce {args.trace} "
              "--event N" if events else "No events; replay a recorded episode with "
              f"rldebug reproduce {args.trace} --iteration I [--episode E] [--step S]")
    return 0


def cmd_reproduce(args) -> int:
    """List a reproducible trace's events, or replay one: exit 0 reproduced, 1 not."""
    if args.event is None and args.iteration is None:
        within = [flag for flag, value in (("--episode", args.episode), ("--step", args.step))
                  if value is not None]
        if within:  # reproduce() takes them only with an iteration (an event has its own)
            raise UsageError(f"{' and '.join(within)} choose{'s' if len(within) == 1 else ''} "
                             "where to stop in an episode of --iteration I: give --iteration "
                             f"too, or leave {'it' if len(within) == 1 else 'them'} out to "
                             "list the trace's events.")
        if args.mode != "auto":
            raise UsageError(f"--mode {args.mode} says how a replay stops: give --event N or "
                             "--iteration I too, or leave it out to list the trace's events.")
        return _list_events(args)
    from rldebug.inprocess.debugging import debug_mode, is_debug_mode
    from rldebug.reproduction import reproduce

    episode = args.episode
    if episode is not None and episode.isdigit():
        episode = int(episode)
    was_on = is_debug_mode()
    debug_mode(True, preflight=False, command="reproduce")  # the replay needs no Ray
    import bdb

    try:
        result = reproduce(args.trace, args.event, iteration=args.iteration, episode=episode,
                           step=args.step, mode=args.mode)
    except bdb.BdbQuit:  # 'q' at the stop: the user has seen what they came for
        print("Quit the debugger at the replay's stop.", file=sys.stderr)
        return 0
    finally:
        if not was_on:
            debug_mode(False)
    try:
        print(result.to_json() if args.json else result.summary())
    finally:
        result.close()
    return 0 if result.reproduced else 1


def add_commands(subparsers) -> None:
    """Register ``reproduce`` on ``parser.add_subparsers()``."""
    parser = subparsers.add_parser(
        "reproduce", help="list a reproducible trace's events, or replay one to its exact "
                          "env step or minibatch in this process",
        description="Without --event/--iteration: list the events of a trace recorded with "
                    "rldebug.trace(config, reproducible=True). With them: rebuild the "
                    "algorithm in this process from the recorded state and replay the "
                    "episode or Learner update up to the event's step or minibatch, where "
                    "it stops in the debugger (run it under one) or, unattended, records "
                    "the stop. Exit 0 reproduced, 1 not, 2 unusable input.")
    parser.add_argument("trace", help="a reproducible trace directory, or a run directory "
                                      "with one in trace/")
    parser.add_argument("--event", type=int, help="the event number from the listing")
    parser.add_argument("--iteration", type=int,
                        help="instead of an event: replay an episode of this iteration")
    parser.add_argument("--episode", help="with --iteration: index (0 = first) or id of "
                                          "the episode")
    parser.add_argument("--step", type=int, help="with --iteration: env step to stop at")
    parser.add_argument("--mode", choices=["auto", "break", "log"], default="auto",
                        help="stop in the debugger (auto: when one is attached or stdin "
                             "is a terminal), always, or only record")
    parser.add_argument("--json", action="store_true", help="print the outcome as JSON")
    add_import_option(parser)
    parser.set_defaults(func=cmd_reproduce)
