"""``rldebug doctor PATH [--json] [--all] [--html FILE]``: diagnose a finished run or experiment.

Exit codes: 0 healthy (warnings allowed), 1 an error-severity finding,
2 unusable input (no such path, no result.json/progress.csv, nothing readable).

``rldebug doctor PATH --verify [--rule R] [--fix K=V,...] [--iterations K] [--seeds S]
[--budget 5m] [--config FILE.py:FUNC]`` trains the finding's suggested config changes
beside the original (:mod:`rldebug.doctor.verify`): exit 0 when one removes the finding
without lowering the return, 1 when none does.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from rldebug.doctor.diagnosis import diagnose
from rldebug.doctor.html import write_html
from rldebug.doctor.report import render, to_json
from rldebug.doctor.verify import DEFAULT_SEEDS
from rldebug.htmlfile import html_option
from rldebug.usage import UsageError, add_import_option, json_text

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
    verify = parser.add_argument_group(
        "verify a fix", "--verify trains the original and the finding's suggested config "
        "changes side by side, in this process, and reports what changed")
    verify.add_argument("--verify", action="store_true",
                        help="train the suggested fix(es) beside the original and measure")
    verify.add_argument("--rule", help="the finding to verify (default: the first whose fix "
                        "is a config change)")
    verify.add_argument("--module", help="with --rule: the module/agent it names")
    verify.add_argument("--fix", action="append", default=[], metavar="KEY=VALUE[,KEY=VALUE]",
                        help="a candidate of your own, tried instead of the doctor's "
                        "(repeat for several); values are "
                        "JSON (0.001, true, \"auto\") or text")
    verify.add_argument("--iterations", type=int, help="iterations per run (default: where "
                        "the doctor named the finding, plus a margin)")
    verify.add_argument("--seeds", type=int, help=f"seeds per candidate (default "
                        f"{DEFAULT_SEEDS})")
    verify.add_argument("--budget", help="start no run after this long: 300, 90s, 5m, 1h")
    verify.add_argument("--config", help="FILE.py:FUNC returning the run's AlgorithmConfig, "
                        "when the run cannot be rebuilt from its own files")
    verify.add_argument("--out", help="where the runs go (default RUN/rldebug_verify/RULE)")
    add_import_option(parser)
    parser.set_defaults(func=cmd_doctor)


def add_commands(subparsers) -> None:
    """Register ``doctor`` on ``parser.add_subparsers()``."""
    parser = subparsers.add_parser("doctor", help="diagnose a finished run or experiment",
                                   description=DESCRIPTION)
    _add_arguments(parser)


def _html_target(value: str | None) -> Path | None:
    """The --html file, checked before any work (an unusable path exits with 2)."""
    return html_option(value, example="doctor.html")


def _parse_fix(text: str) -> dict:
    """``"lr=0.001,entropy_coeff=0"`` -> ``{"lr": 0.001, "entropy_coeff": 0}``."""
    fix = {}
    for part in text.split(","):
        key, sep, value = part.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise UsageError(f"--fix {text!r}: write KEY=VALUE[,KEY=VALUE], e.g. "
                             "--fix lr=0.0005 or --fix entropy_coeff=0.01,lr=1e-4.")
        try:
            fix[key.strip()] = json.loads(value)
        except ValueError:
            fix[key.strip()] = value.strip()
    return fix


def cmd_verify(args: argparse.Namespace) -> int:
    """``--verify``: train the fixes, print the verification (or JSON); its exit code."""
    from rldebug.doctor.verify import verify_fix

    fixes = [_parse_fix(text) for text in args.fix]
    html_file = _html_target(getattr(args, "html", None))
    verification = verify_fix(args.path, rule=args.rule, module=args.module,
                              config=args.config, fixes=fixes, iterations=args.iterations,
                              seeds=DEFAULT_SEEDS if args.seeds is None else args.seeds,
                              budget=args.budget, out=args.out,
                              progress=True)
    if html_file is not None:
        write_html(verification.diagnosis, html_file, verifications=[verification])
    if args.json:
        print(json_text(verification.to_dict()))
    else:
        print(verification)
        if html_file is not None:
            print(f"HTML report: {html_file}")
    return verification.exit_code


def cmd_doctor(args: argparse.Namespace) -> int:
    """Run the doctor on ``args.path``; print a report (or JSON); return the exit code."""
    if getattr(args, "verify", False):
        return cmd_verify(args)
    return _diagnose_and_report(args)


def _diagnose_and_report(args: argparse.Namespace) -> int:
    verify_only = [f"--{name}" for name in ("rule", "module", "fix", "iterations", "seeds",
                                            "budget", "config", "out")
                   if getattr(args, name, None) not in (None, [])]
    if verify_only:
        raise UsageError(f"{', '.join(verify_only)} "
                         f"{'applies' if len(verify_only) == 1 else 'apply'} only with "
                         "--verify; add --verify to train the fix, or leave "
                         f"{'it' if len(verify_only) == 1 else 'them'} out.")
    html_path = _html_target(getattr(args, "html", None))
    diagnosis = diagnose(args.path)
    if html_path is not None:
        write_html(diagnosis, html_path)
    if args.json:
        print(to_json(diagnosis))
    else:
        render(diagnosis, show_all=getattr(args, "show_all", False))
        if html_path is not None:
            print(f"HTML report: {html_path}")
    return diagnosis.exit_code

