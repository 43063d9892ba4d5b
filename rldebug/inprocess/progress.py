"""The live progress table of ``rldebug.run``: one row per training iteration."""

from __future__ import annotations

from rich.console import Console
from rich.live import Live
from rich.table import Table

from rldebug.shapes.results import env_steps_total, mean_total_return, per_agent_returns

MAX_ROWS = 20


def _fmt(value) -> str:
    return "-" if value is None else f"{value:.2f}"


class ProgressTable:
    """A rich table that updates in place on a terminal and prints a line per row elsewhere."""

    def __init__(self, enabled: bool = True, console: Console | None = None,
                 title: str = "rldebug run"):
        self.enabled = enabled
        self.console = console or Console()
        self.title = title
        self.rows: list[dict[str, str]] = []
        self.agents: list[str] = []
        self._live: Live | None = None

    def __enter__(self):
        if self.enabled and self.console.is_terminal:
            self._live = Live(self._table(), console=self.console, refresh_per_second=4)
            self._live.__enter__()
        return self

    def __exit__(self, *exc):
        if self._live is not None:
            self._live.__exit__(*exc)
            self._live = None

    def add(self, result: dict) -> None:
        agents = per_agent_returns(result)
        for aid in agents:
            if aid not in self.agents:
                self.agents.append(aid)
        row = {
            "iter": str(result.get("training_iteration", "?")),
            "env_steps": str(env_steps_total(result)),
            "return": _fmt(mean_total_return(result)),
            **{aid: _fmt(value) for aid, value in agents.items()},
            "time_s": f"{result.get('time_total_s', 0.0):.1f}",
        }
        self.rows.append(row)
        if not self.enabled:
            return
        if self._live is not None:
            self._live.update(self._table())
        else:
            self.console.print(f"{self.title}: " + "  ".join(f"{k}={v}" for k, v in row.items()),
                               highlight=False)

    def _table(self) -> Table:
        table = Table(title=self.title)
        columns = ["iter", "env_steps", "return", *self.agents, "time_s"]
        for name in columns:
            table.add_column(name, justify="right")
        for row in self.rows[-MAX_ROWS:]:
            table.add_row(*(row.get(name, "-") for name in columns))
        return table


__all__ = ["ProgressTable"]
