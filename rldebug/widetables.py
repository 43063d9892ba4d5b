"""Console tables with more columns than the console is wide.

Rich shrinks such a table's columns until numbers read ``0.0…`` and names ``def…``; a
pipe or an 80-column terminal shows nothing of the figures. Here the value columns are
split over as many tables as the width needs, each repeating the key columns (as pandas
prints a wide frame), so every figure is shown whole.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.table import Table

# per column, rich's default table draws one space of padding either side and one rule
_COLUMN_FRAME = 3


def _column_width(header: str, cells: Sequence[str]) -> int:
    return max([len(header), *(len(cell) for cell in cells)]) + _COLUMN_FRAME


def column_groups(keys: Sequence[str], values: Sequence[str], rows: Sequence[Sequence[str]],
                  width: int) -> list[list[int]]:
    """The indexes (into ``values``) of the value columns each table shows: as many as fit
    in ``width`` beside the key columns, at least one per table."""
    key_width = 1 + sum(_column_width(k, [row[i] for row in rows]) for i, k in enumerate(keys))
    groups: list[list[int]] = [[]]
    used = key_width
    for index, header in enumerate(values):
        needed = _column_width(header, [row[len(keys) + index] for row in rows])
        if groups[-1] and used + needed > width:
            groups.append([])
            used = key_width
        groups[-1].append(index)
        used += needed
    return groups


def print_table(console: Console, title: str, keys: Sequence[str], values: Sequence[str],
                rows: Sequence[Sequence[str]], *, style: str | None = None,
                left: Sequence[str] = ()) -> None:
    """Print rows of ``len(keys) + len(values)`` cells as one table, or as several whose
    titles say which part of the columns they are (``(1/2)``) when one is too wide.
    Columns are right-aligned, as figures are, but those named in ``left``."""
    groups = column_groups(keys, values, rows, console.width)
    for part, group in enumerate(groups, start=1):
        suffix = f" ({part}/{len(groups)})" if len(groups) > 1 else ""
        table = Table(title=title + suffix, style=style)
        for header in keys:
            table.add_column(header, justify="left" if header in left else "right",
                             no_wrap=True)
        for index in group:
            header = values[index]
            table.add_column(header, justify="left" if header in left else "right")
        for row in rows:
            table.add_row(*row[:len(keys)], *(row[len(keys) + index] for index in group))
        console.print(table)
