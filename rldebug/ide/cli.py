"""``rldebug ide-configs``: (re)write the VS Code and PyCharm run configurations."""

from __future__ import annotations


def cmd_ide_configs(args) -> int:
    from rldebug.ide.configs import write_ide_configs

    for path in write_ide_configs(args.root):
        print(path)
    return 0


def add_commands(subparsers) -> None:
    """Register ``ide-configs`` on ``parser.add_subparsers()``."""
    parser = subparsers.add_parser("ide-configs",
                                   help="(re)write the VS Code and PyCharm run configurations")
    parser.add_argument("--root", default=".", help="the repository root")
    parser.set_defaults(func=cmd_ide_configs)
