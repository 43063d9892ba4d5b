"""``rldebug doctor PATH [--json] [--all] [--html FILE]``: diagnose a finished run or experiment.

Exit codes: 0 healthy (warnings allowed), 1 an error-severity finding,
2 unusable input (no such path, no result.json/progress.csv, nothing readable).
Also runs on its own: ``python -m rldebug.doctor.cli PATH [--json]``.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from rldebug.doctor.diagnosis import EXIT_UNUSABLE, diagnose
from rldebug.doctor.html import write_html
from rldebug.doctor.reading import UnusableInputError
from rldebug.doctor.report import render, to_json
from rldebug.htmlfile import html_path

if TYPE_CHECKING:
    from pathlib import Path

DESCRIPTION = ("Name reward and learning problems in a finished RLlib run (a Tune experiment "
               "directory, one trial, or an `rldebug run` logdir), with evidence and a fix. "
               "Exit code 0: healthy, 1: an error-severity finding, 2: unusable input.")


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", help="Tune experiment dir, trial dir, or rldebug run logdir")
    parser.add_argument("--json", action="store_true", help="print the findings as JSON")
    parser.add_argument("--all", action="store_true", dest="show_all",
                        help="show every finding, also those a root cause explains")
    parser.add_argument("--html", metavar="FILE",
                        help="also write a self-contained HTML report with a plot per finding")
    parser.set_defaults(func=cmd_doctor)


def add_doctor_parser(subparsers) -> argparse.ArgumentParser:
    """Register the ``doctor`` subcommand on an ``argparse`` subparsers object.

    :param subparsers: what ``parser.add_subparsers()`` returned.
    :returns: the new subparser; its ``func`` default is :func:`cmd_doctor`.
    """
    if not hasattr(subparsers, "add_parser"):
        raise TypeError("add_doctor_parser expects the object parser.add_subparsers() "
                        f"returns, got {type(subparsers).__name__}.")
    parser = subparsers.add_parser("doctor", help="diagnose a finished run or experiment",
                                   description=DESCRIPTION)
    _add_arguments(parser)
    return parser


def _html_target(value: str | None) -> Path | None:
    """The --html file, checked before any work (an unusable path exits with 2)."""
    if value is None:
        return None
    try:
        return html_path(value, example="doctor.html")
    except OSError as err:
        raise UnusableInputError(f"--html {value!r}: {err}") from None


def cmd_doctor(args: argparse.Namespace) -> int:
    """Run the doctor on ``args.path``; print a report (or JSON); return the exit code."""
    try:
        html_path = _html_target(getattr(args, "html", None))
        diagnosis = diagnose(args.path)
    except UnusableInputError as err:
        if args.json:
            print(json.dumps({"source": args.path, "exit_code": EXIT_UNUSABLE,
                              "error": str(err), "trials": []}, indent=2))
        else:
            print(f"rldebug doctor: {err}", file=sys.stderr)
        return EXIT_UNUSABLE
    if html_path is not None:
        write_html(diagnosis, html_path)
    if args.json:
        print(to_json(diagnosis))
    else:
        render(diagnosis, show_all=getattr(args, "show_all", False))
        if html_path is not None:
            print(f"HTML report: {html_path}")
    return diagnosis.exit_code


def main(argv: list[str] | None = None) -> int:
    """Standalone entry point (``python -m rldebug.doctor.cli``)."""
    parser = argparse.ArgumentParser(prog="rldebug doctor", description=DESCRIPTION)
    _add_arguments(parser)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
