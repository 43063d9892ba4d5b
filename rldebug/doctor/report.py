"""Show a :class:`Diagnosis`: a rich console report per trial, or JSON.

The analysis lives in :mod:`rldebug.doctor.diagnosis`; this module only renders.
"""

from __future__ import annotations

import json
from typing import Any

from rldebug.doctor.diagnosis import Diagnosis, TrialDiagnosis
from rldebug.doctor.findings import Finding

_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


def _evidence_text(evidence: dict[str, Any]) -> str:
    parts = []
    for key, value in evidence.items():
        if value is None:
            continue
        parts.append(f"{key}={value:.4g}" if isinstance(value, float) else f"{key}={value}")
    return ", ".join(parts)


def finding_line(finding: Finding) -> str:
    """One line of rich markup for a finding (used by the live callback)."""
    where = f" [{finding.module}]" if finding.module else ""
    style = _STYLE[finding.severity]
    return (f"[{style}]{finding.severity.upper()}[/] {finding.rule_id}{where} "
            f"(from iteration {finding.began_at_iteration}): {finding.message}\n"
            f"  [dim]fix:[/] {finding.fix}")


def finding_markdown(finding: Finding) -> str:
    """A finding as Markdown, for TensorBoard's Text tab."""
    where = f" — `{finding.module}`" if finding.module else ""
    return (f"**{finding.severity.upper()}** `{finding.rule_id}`{where}, began at iteration "
            f"{finding.began_at_iteration}\n\n{finding.message}\n\n"
            f"*Evidence:* {_evidence_text(finding.evidence)}\n\n*Fix:* {finding.fix}")


def _trial_renderables(trial: TrialDiagnosis):
    from rich.table import Table
    from rich.text import Text

    verdict = {"error": "[bold red]broken[/]", "warning": "[yellow]suspicious[/]",
               "info": "[green]healthy[/] (notes)", None: "[green]healthy[/]"}[trial.worst]
    if not trial.usable:
        verdict = "[bold red]unreadable[/]"
    header = (f"[bold]{trial.name}[/]  {verdict}  "
              f"{trial.iterations} iterations, {trial.stack or '?'} API stack"
              f"{'' if trial.path is None else f'  [dim]{trial.path}[/]'}")
    yield Text.from_markup(header)
    for note in trial.notes:
        yield Text.from_markup("  [yellow]note:[/] ") + Text(note)
    if not trial.findings:
        return
    table = Table(show_lines=True, expand=True)
    table.add_column("severity", no_wrap=True)
    table.add_column("rule", no_wrap=True)
    table.add_column("module")
    table.add_column("from iter", justify="right")
    table.add_column("what, evidence and fix", ratio=1)
    for f in trial.findings:
        details = Text(f.message)
        details.append("\nevidence: ", style="dim")
        details.append(_evidence_text(f.evidence))
        details.append("\nfix: ", style="bold")
        details.append(f.fix)
        table.add_row(Text(f.severity, style=_STYLE[f.severity]), f.rule_id, f.module or "-",
                      str(f.began_at_iteration), details)
    yield table


def render(diagnosis: Diagnosis, console=None) -> None:
    """Print ``diagnosis`` with rich: one block per trial, findings in a table.

    :param diagnosis: what :func:`rldebug.doctor.diagnose` returned.
    :param console: a ``rich.console.Console`` (default: a new one on stdout).
    """
    if not isinstance(diagnosis, Diagnosis):
        raise TypeError(f"render expects a Diagnosis (from rldebug.doctor.diagnose), got "
                        f"{type(diagnosis).__name__}.")
    from rich.console import Console

    console = console or Console()
    for trial in diagnosis.trials:
        for renderable in _trial_renderables(trial):
            console.print(renderable)
        console.print()
    counts = {s: sum(f.severity == s for f in diagnosis.findings)
              for s in ("error", "warning", "info")}
    console.print(f"{len(diagnosis.trials)} trial(s): {counts['error']} error(s), "
                  f"{counts['warning']} warning(s), {counts['info']} info; "
                  f"exit code {diagnosis.exit_code}.")


def to_json(diagnosis: Diagnosis, indent: int | None = 2) -> str:
    """``diagnosis`` as strict JSON (non-finite evidence becomes "nan"/"inf" strings)."""
    if not isinstance(diagnosis, Diagnosis):
        raise TypeError(f"to_json expects a Diagnosis (from rldebug.doctor.diagnose), got "
                        f"{type(diagnosis).__name__}.")
    return json.dumps(diagnosis.to_dict(), indent=indent, allow_nan=False, default=str)


__all__ = ["finding_line", "finding_markdown", "render", "to_json"]
