"""The ``rldebug`` command line: one subcommand per tool (``rldebug --help`` lists them).

Each command lives in the module of its feature, which registers it with
``add_commands(subparsers)`` (:data:`COMMAND_MODULES` lists them) and imports its tool only
when the command runs, so ``--help`` answers without loading RLlib. This module owns what
every command shares: ``--debug``, the exit codes and how errors are printed.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import sys
import warnings
from importlib import import_module

from rldebug.usage import (
    EXIT_FINDINGS,
    EXIT_INTERRUPTED,
    EXIT_UNUSABLE,
    USAGE_ERRORS,
    UsageError,
    import_code,
)

# The modules whose commands `rldebug` has, in `rldebug --help` order. Each registers its
# own with add_commands(subparsers) and imports its tool only when a command runs, so the
# help answers without loading RLlib.
COMMAND_MODULES = (
    "rldebug.inprocess.cli",      # demo, run, debug
    "rldebug.traps",              # check
    "rldebug.probes.cli",         # probe
    "rldebug.deployment.cli",     # parity, export
    "rldebug.rundiff.cli",        # diff
    "rldebug.reproduction.cli",   # reproduce
    "rldebug.ide.cli",            # ide-configs
    "rldebug.inspection.cli",     # inspect
    "rldebug.tracing.cli",        # trace, profile
    "rldebug.doctor.cli",         # doctor
    "rldebug.compat.migrate",     # migrate
)


class _Parser(argparse.ArgumentParser):
    """argparse's parser, whose refusals (a missing or unknown option) are also printed as
    JSON on stdout when the command line asks for ``--json``, as rldebug's own are."""

    def __init__(self, *args, json_errors: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.json_errors = json_errors

    def error(self, message: str):
        if self.json_errors:
            command = self.prog.split()[1] if len(self.prog.split()) > 1 else None
            print(json.dumps({"command": command, "error": message,
                              "exit_code": EXIT_UNUSABLE}, indent=2))
        super().error(message)


def build_parser(json_errors: bool = False) -> argparse.ArgumentParser:
    parser = _Parser(prog="rldebug", description="Debugging and introspection for Ray RLlib "
                                                 "2.60.", json_errors=json_errors)
    parser.add_argument("--debug", action="store_true",
                        help="show Python tracebacks instead of one-line errors")
    subparsers = parser.add_subparsers(
        dest="command", required=True,
        parser_class=functools.partial(_Parser, json_errors=json_errors))
    for module in COMMAND_MODULES:
        import_module(module).add_commands(subparsers)
    parser.commands = subparsers.choices  # name -> the command's parser
    return parser


def _script_args(argv: list[str]) -> list[str] | None:
    """``rldebug debug SCRIPT ARGS...`` (or ``-m MODULE ARGS...``): the script's arguments
    exactly as given (argparse
    would drop a ``--`` among them, which the script's own parser may need); None for
    any other command."""
    words = [i for i, word in enumerate(argv) if not word.startswith("-")]
    if not words or argv[words[0]] != "debug":
        return None
    first = words[0] + 1  # the script, or -m MODULE
    if argv[first:first + 1] == ["-m"] and len(argv) > first + 1:
        return argv[first + 2:]
    if len(words) < 2 or words[1] != first:
        return None
    return argv[words[1] + 1:]


def main(argv: list[str] | None = None) -> int:
    """Run one subcommand. Unusable input prints ``rldebug CMD: error: ...`` and exits 2
    (a failed training run exits 1); ``--debug`` shows the Python traceback instead."""
    argv = list(sys.argv[1:] if argv is None else argv)
    script_args = _script_args(argv)
    head = argv if script_args is None else argv[:len(argv) - len(script_args)]
    parser = build_parser(json_errors="--json" in head)
    args, unknown = parser.parse_known_args(head)
    if unknown:  # said by the parser the flag was given to, with its usage
        given_to = (parser if head.index(unknown[0]) < head.index(args.command)
                    else parser.commands[args.command])
        given_to.error(f"unrecognized arguments: {' '.join(unknown)} "
                       f"({given_to.prog} --help lists its options)")
    if script_args is not None:
        args.args = script_args
    if not getattr(args, "catches_errors", True):  # `debug`: the script's own exceptions
        try:                                       # stay uncaught, for the debugger
            return args.func(args)
        except UsageError as err:  # but rldebug's refusal (e.g. of Tuner.restore): one line
            if args.debug:
                raise
            print(f"rldebug {args.command}: error: {err}", file=sys.stderr)
            return EXIT_UNUSABLE
    try:
        with _own_warnings_in_one_line(args.command):
            for where in getattr(args, "imports", ()):  # usage.add_import_option's --import
                import_code(where, "--import", keep=True)
            return args.func(args)
    except USAGE_ERRORS as err:  # unusable input: one line, exit 2 (rldebug.usage)
        if args.debug:
            raise
        print(f"rldebug {args.command}: error: {err}", file=sys.stderr)
        if getattr(args, "json", False):  # and, for a reader of --json, as JSON on stdout
            print(json.dumps({"command": args.command, "error": str(err),
                              "exit_code": EXIT_UNUSABLE}, indent=2))
        return EXIT_UNUSABLE
    except BrokenPipeError:  # `rldebug doctor RUN --json | head`: the reader left
        if args.debug:
            raise
        devnull = os.open(os.devnull, os.O_WRONLY)  # Python's advice: no error at exit
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_FINDINGS
    except KeyboardInterrupt as err:
        if args.debug:
            raise
        print(f"rldebug {args.command}: interrupted (Ctrl+C)", *_notes(err), sep="\n",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as err:
        if args.debug:
            raise
        from rldebug.shapes.errors import error_text

        print(f"rldebug {args.command}: {error_text(err)}", *_notes(err),
              "(run again with --debug for the Python traceback)", sep="\n", file=sys.stderr)
        return 1


@contextlib.contextmanager
def _own_warnings_in_one_line(command: str):
    """rldebug's own warnings as ``rldebug CMD: warning: ...``, one line each: Python's
    format adds the line of the command's entry script (``sys.exit(main())``), which
    tells the user of a command nothing. Other libraries' warnings are shown as Python
    shows them."""
    shown = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        if category.__module__.partition(".")[0] == "rldebug":
            print(f"rldebug {command}: warning: {message}", file=file or sys.stderr)
        else:
            shown(message, category, filename, lineno, file, line)

    warnings.showwarning = show
    try:
        yield
    finally:
        warnings.showwarning = shown


def _notes(error: BaseException) -> list[str]:
    """What rldebug added to an exception on its way out (where the run's files are)."""
    return [str(note) for note in getattr(error, "__notes__", ())]


if __name__ == "__main__":
    sys.exit(main())
