"""``rldebug ide-configs``: (re)write the VS Code and PyCharm run configurations."""

from __future__ import annotations

from rldebug.ide._listen import DEFAULT_PORT


def cmd_ide_configs(args) -> int:
    import sys
    from pathlib import Path

    from rldebug.ide.configs import enclosing_project, interpreter_notes, write_ide_configs

    root = Path(args.root).expanduser().resolve()
    project = enclosing_project(root)  # asked before .vscode/.idea are made here
    for path in write_ide_configs(args.root, port=args.port):
        print(path)
    notes = interpreter_notes(root)
    if project:
        notes.append(f"{project} holds the project's .git/.vscode/.idea and {root} none: an "
                     "IDE reads the configurations of the folder it opened; if that is "
                     f"{project}, run `rldebug ide-configs --root {project}`.")
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    return 0


def add_commands(subparsers) -> None:
    """Register ``ide-configs`` on ``parser.add_subparsers()``."""
    parser = subparsers.add_parser("ide-configs",
                                   help="(re)write the VS Code and PyCharm run configurations")
    parser.add_argument("--root", default=".", help="your project's root folder (default: here)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help="attach_remote's port: of the VS Code attach configuration and "
                             f"PyCharm's Python Debug Server (default {DEFAULT_PORT})")
    parser.set_defaults(func=cmd_ide_configs)
