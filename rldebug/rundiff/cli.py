"""``rldebug diff RUN_A RUN_B``: compare two runs."""

from __future__ import annotations

import sys


def cmd_diff(args) -> int:
    """Compare two runs: exit 0 when they do not part on the metric, 1 when they do, 2
    when the metric cannot be compared (the report says why)."""
    from rldebug.htmlfile import html_option
    from rldebug.rundiff import diff

    html_option(args.html, example="diff.html")  # checked before the work
    result = diff(args.run_a, args.run_b, metric=args.metric)
    if args.html:
        print(f"HTML report: {result.write_html(args.html)}", file=sys.stderr)
    print(result.to_json() if args.json else result)
    if not result.comparable:
        return 2
    return 1 if result.parts else 0


def add_commands(subparsers) -> None:
    """Register ``diff`` on ``parser.add_subparsers()``."""
    parser = subparsers.add_parser(
        "diff", help="compare two runs: config differences, metrics aligned by iteration and "
                     "env steps, where they part, traces, doctor findings",
        description="Compare two runs (rldebug run logdirs, Tune trials, or Tune experiments "
                    "whose trials are seeds of one config). Exit 0 when they do not part on "
                    "the metric beyond its noise, 1 when they do (or one crashed and the "
                    "other did not), 2 for unusable input or when the metric cannot be "
                    "compared (only one run reports it, or they share fewer than 3 "
                    "iterations; the report says which).")
    parser.add_argument("run_a")
    parser.add_argument("run_b")
    parser.add_argument("--metric", default="return",
                        help="return (default), return/<agent>, <module>/<stat>, or a "
                             "'/'-path into the result dict")
    parser.add_argument("--json", action="store_true", help="print the comparison as JSON")
    parser.add_argument("--html", help="also write a self-contained HTML report here")
    parser.set_defaults(func=cmd_diff)
