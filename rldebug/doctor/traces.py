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
    """Findings from the trace: each first non-finite value (error), env crashes and
    EnvRunner restarts (one finding; a warning when repeated), damaged files."""
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
    records = events.sort_values("time").to_dict("records") if not events.empty else []
    crashes = [e for e in records if e.get("source") == "env"]
    restarts = [e for e in records if e.get("source") == "driver"]
    if crashes or restarts:
        findings.append(_crash_finding(crashes, restarts, trial))
    for event in records:
        column = event.get("column")
        if event.get("source") in ("env", "driver"):
            continue
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


def _crash_finding(crashes: list[dict], restarts: list[dict], trial: str | None) -> Finding:
    """One finding for the env crashes and EnvRunner restarts of a run."""
    runners = sorted({int(e["runner_index"]) for e in crashes
                      if _present(e.get("runner_index")) is not None})
    errors = sorted({str(e.get("error")) for e in crashes})
    restarted = sorted({int(i) for e in restarts for i in (e.get("runner_indices") or [])})
    first = (crashes or restarts)[0]
    repeated = len(crashes) >= 2 or len(restarts) >= 2
    message = (f"The env raised {len(crashes)} time(s) ({', '.join(errors) or 'no error seen'}) "
               f"on EnvRunner(s) {runners or '?'}, and RLlib recreated EnvRunner(s) "
               f"{restarted or 'none'} {len(restarts)} time(s).")
    if crashes:
        message += f" First: {first.get('error')}: {first.get('message')}"
    return Finding(
        rule_id="env_runner_crashes", severity="warning" if repeated else "info", trial=trial,
        began_at_iteration=int(first.get("iteration") or 0), module=None, message=message,
        fix=("Fix the exception in the env (reproduce it with rldebug.check_env or in local "
             "mode, where it stops in your debugger). Each crash costs a restarted EnvRunner "
             "and its unfinished episodes (fault_tolerance(restart_failed_env_runners=True) "
             "only hides it)."),
        evidence={"crashes": len(crashes), "restarts": len(restarts), "runners": runners,
                  "errors": errors})


__all__ = ["trace_findings"]
