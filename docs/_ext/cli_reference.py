"""``{cli-reference}``: every ``rldebug`` command's ``--help``, read from the parser the
command line uses (``rldebug.cli.build_parser``), so the reference cannot drift."""

from __future__ import annotations

import argparse
import os

from docutils import nodes
from sphinx.util.docutils import SphinxDirective


def _commands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:  # argparse keeps subcommands only here
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


class CliReference(SphinxDirective):
    """A section per command with its help text as a literal block."""

    def run(self) -> list[nodes.Node]:
        from rldebug.cli import build_parser

        os.environ["COLUMNS"] = "88"  # argparse wraps help to the terminal's width
        parser = build_parser()
        out: list[nodes.Node] = [nodes.literal_block(text=parser.format_help())]
        for name, sub in _commands(parser).items():
            section = nodes.section(ids=[f"rldebug-{name}"])
            section += nodes.title(text=f"rldebug {name}")
            section += nodes.literal_block(text=sub.format_help())
            out.append(section)
        return out


def setup(app):
    app.add_directive("cli-reference", CliReference)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
