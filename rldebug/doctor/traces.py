"""Findings from an rldebug trace next to a run: where the first NaN/Inf came from.

Result dicts only say that a loss became NaN; the trace (``rldebug.trace``)
names the runner, agent or module, column and step where it first appeared.
The doctor looks for a trace in ``<run dir>/trace`` and reads only its JSON lines.
"""

from __future__ import annotations

import math
from pathlib import Path

from rldebug.doctor.findings import Finding
from rldebug.trace import load_trace, trace_dir_of


def _present(value):
    """None for a missing DataFrame cell (NaN), else the value."""
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def _where(event: dict) -> str:
    parts = []
    if event.get("source") == "sampling":
        parts.append(f"EnvRunner {event.get('runner_index')} (pid {event.get('pid')})")
    else:
        parts.append(f"Learner (pid {event.get('pid')})")
    for key in ("agent_id", "module_id", "episode_id", "timestep", "update", "minibatch"):
        value = _present(event.get(key))
        if value is not None:
            parts.append(f"{key}={value}")
    return ", ".join(parts)


def trace_findings(run_dir: str | Path, trial: str | None = None) -> list[Finding]:
    """One error finding per non-finite event the trace recorded, earliest first."""
    directory = trace_dir_of(run_dir)
    if directory is None:
        return []
    trace = load_trace(directory)
    events = trace.events
    findings = [Finding(
        rule_id="trace_damaged", severity="info", trial=trial, began_at_iteration=0,
        module=None,
        message=(f"The trace file {name} has {len(lines)} line(s) that are not trace "
                 f"records (first: line {lines[0]}); they were skipped."),
        fix="The trace was changed or damaged after it was written; re-run with "
            "rldebug.trace to get a clean one.",
        evidence={"file": name, "lines": lines[:20]})
        for name, lines in trace.corrupt_lines.items()]
    for event in events.sort_values("time").to_dict("records") if not events.empty else []:
        column = event.get("column")
        if event.get("source") == "tracer":
            findings.append(Finding(
                rule_id="tracer_failed", severity="info", trial=trial,
                began_at_iteration=int(event.get("iteration") or 0), module=None,
                message=(f"rldebug's trace could not record '{column}': "
                         f"{_present(event.get('error'))}. Training was not affected."),
                fix="Report it with the error above; the other trace records are complete.",
                evidence={"column": column, "error": event.get("error")}))
            continue
        findings.append(Finding(
            rule_id="non_finite_in_trace", severity="error", trial=trial,
            began_at_iteration=int(event.get("iteration") or 0),
            module=_present(event.get("module_id")) or _present(event.get("agent_id")),
            message=f"The trace saw the first NaN/Inf in '{column}' at {_where(event)}.",
            fix=("Start where it first appeared: a NaN in rewards or observations comes "
                 "from the env (check it with rldebug.check_env); one that first appears "
                 "in advantages, losses or gradients comes from learning (lower lr, set "
                 "grad_clip, check reward scale)."),
            evidence={"column": column, "source": event.get("source"),
                      "value": event.get("value")}))
    return findings


__all__ = ["trace_findings"]
