"""``rldebug probe CONFIG``: train a config on the probe envs and say which part of learning
is broken."""

from __future__ import annotations

import sys

from rldebug.probes.catalog import PROBES
from rldebug.probes.run import DEFAULT_BUDGET_S
from rldebug.usage import UsageError, json_text, load_config


def cmd_probe(args) -> int:
    """Train a config on the probe envs: exit 0 when every probe passes, 1 when one fails."""

    from rldebug.probes.run import probe

    only = None
    if args.only is not None:
        only = [name.strip() for name in args.only.split(",") if name.strip()]
        if not only:
            raise UsageError(f"--only {args.only!r} names no probe; name some, e.g. --only "
                             f"{','.join(list(PROBES)[:2])}, or leave --only out to run them all.")
    on_terminal = sys.stderr.isatty()

    def progress(line: str) -> None:
        # One line per iteration; on a terminal it overwrites the previous one.
        print(f"\r\033[K{line}" if on_terminal else line, end="" if on_terminal else "\n",
              file=sys.stderr, flush=True)

    report = probe(load_config(args.config), only=only, max_iterations=args.max_iterations,
                   seed=args.seed, budget_s=args.budget or None,
                   progress=None if args.quiet else progress)
    if on_terminal and not args.quiet:
        print("\r\033[K", end="", file=sys.stderr, flush=True)
    print(json_text(report.to_dict()) if args.json else report)
    return 0 if report.passed else 1


def add_commands(subparsers) -> None:
    """Register ``probe`` on ``parser.add_subparsers()``."""
    parser = subparsers.add_parser(
        "probe", help="train your config on tiny envs with known answers and say which part "
                      "of learning is broken",
        description="Swap only the env of your AlgorithmConfig for probe envs written in "
                    "your env's spaces, train each briefly in this process, and compare the "
                    "learned values and actions with the known right ones. Exit 0 when every "
                    "probe passes, 1 when one fails, 2 for unusable input.")
    parser.add_argument("config", help="FILE.py:FUNC or MODULE:FUNC returning an "
                                       "AlgorithmConfig")
    parser.add_argument("--only", help=f"comma-separated probes to run, of {', '.join(PROBES)}")
    parser.add_argument("--max-iterations", type=int, default=40,
                        help="training iterations per probe before it counts as failed")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--budget", type=float, default=DEFAULT_BUDGET_S, metavar="SECONDS",
                        help="seconds all probes may train; then the report is written with "
                             "what was measured and the rest marked 'not run' (no iteration "
                             "starts that would end past it at the last one's pace; 0: no "
                             f"limit; default {DEFAULT_BUDGET_S:g})")
    parser.add_argument("--quiet", action="store_true",
                        help="no progress line on stderr while probes train")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.set_defaults(func=cmd_probe)
