"""Show a :class:`Diagnosis` in a terminal, like a compiler's diagnostics, or as JSON.

Each trial leads with its root causes (at most :data:`MAX_CAUSES`, worst first),
one block per finding, wrapped to the terminal (80 columns when not a tty)::

    error[lr_too_high] module pol1, from iteration 1
      Learning rate too high for 'pol1' (lr=0.5): KL blew up to 29.2 ...
      evidence: lr=0.5, kl=29.2, entropy=0.0856
      fix: Lower lr 10-100x ...
      explains: kl_blowup (it. 1), entropy_collapse (it. 1), non_finite (it. 3)

``show_all`` (``rldebug doctor --all``) prints every finding as a block. The
analysis lives in :mod:`rldebug.doctor.diagnosis`; this module only renders.
"""

from __future__ import annotations

import textwrap
from typing import Any

from rldebug.doctor.confidence import confidence_note
from rldebug.doctor.diagnosis import Diagnosis, TrialDiagnosis
from rldebug.doctor.findings import Finding, severity_counts_text
from rldebug.usage import UsageTypeError, check_bool, json_text

MAX_CAUSES = 3
_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}
_VERDICT = {"error": ("broken", "bold red"), "warning": ("suspicious", "yellow"),
            "info": ("healthy (info only)", "green"), None: ("healthy", "green")}


def verdict(trial: TrialDiagnosis) -> tuple[str, str]:
    """The one-word verdict on a trial by its worst finding, and its rich style (the
    console's and the HTML page's)."""
    return _VERDICT[trial.worst] if trial.usable else ("unreadable", "bold red")


def evidence_text(evidence: dict[str, Any]) -> str:
    """``key=value, ...`` for the evidence that has a value (floats to 4 digits)."""
    parts = []
    for key, value in evidence.items():
        if value is None or isinstance(value, (dict, list)) or key == "last_lines":
            continue
        parts.append(f"{key}={value:.4g}" if isinstance(value, float) else f"{key}={value}")
    return ", ".join(parts)


def _headline(finding: Finding) -> str:
    where = f" {finding.module}" if finding.module else ""
    return f"{finding.severity}[{finding.rule_id}]{where}, from iteration " \
           f"{finding.began_at_iteration}"


def verify_text(finding: Finding, on_disk: bool = True) -> str | None:
    """The config changes that would remove a top-level finding, and how to try them
    (``--verify`` for a run on disk); None when its fix is no config change."""
    if not finding.fix_config or finding.explained_by:
        return None
    return (" or ".join(",".join(f"{k}={v}" for k, v in candidate.items())
                        for candidate in finding.fix_config)
            + (" (rldebug doctor RUN --verify trains them beside the original)" if on_disk
               else " (config.update_from_dict(...) applies one; train, and diagnose the "
                    "new results)"))


def finding_block(finding: Finding, width: int = 80,
                  explains: list[Finding] | None = None, on_disk: bool = True,
                  own_fix: bool = True) -> list[str]:
    """A finding as plain lines of at most ``width`` characters (long words excepted);
    ``on_disk``: of a run read from disk, which ``--verify`` can train again; without
    ``own_fix``, no fix or verify lines (the finding that explains it has them)."""
    def wrap(label: str, text: str) -> list[str]:
        return textwrap.wrap(f"{label}{text}", width=width, initial_indent="  ",
                             subsequent_indent="    " if label else "  ",
                             break_on_hyphens=False) or ["  "]

    lines = textwrap.wrap(_headline(finding), width=width, subsequent_indent="  ")
    lines += wrap("", finding.message)
    evidence = evidence_text(finding.evidence)
    if evidence:
        lines += wrap("evidence: ", evidence)
    if finding.evidence.get("last_lines"):
        lines.append("  last lines of the error:")
        for line in str(finding.evidence["last_lines"]).splitlines():
            lines += textwrap.wrap(line.strip(), width=width, initial_indent="    | ",
                                   subsequent_indent="    | ") or ["    |"]
    if own_fix:
        lines += wrap("fix: ", finding.fix)
        verify = verify_text(finding, on_disk)
        if verify:
            lines += wrap("verify: ", verify)
    note = confidence_note(finding.rule_id) if finding.severity != "info" else None
    if note:
        lines += wrap("confidence: ", note)
    if finding.explained_by:
        lines += wrap("explained by: ", finding.explained_by + ("" if own_fix else
                                                                 " (its fix comes first)"))
    if explains:
        lines += wrap("explains: ", ", ".join(
            f"{f.rule_id}{f' {f.module}' if f.module else ''} (it. {f.began_at_iteration})"
            for f in explains))
    return lines


def finding_line(finding: Finding) -> str:
    """A finding as rich markup lines (used by the live callback). One another finding
    explains says so instead of giving its own fix, which would send the user after a
    symptom (a NaN loss's "lower lr" when the env returned the NaN reward)."""
    from rich.markup import escape

    style = _STYLE[finding.severity]
    head, *rest = finding_block(finding, own_fix=not finding.explained_by)
    return f"[{style}]{escape(head)}[/]\n" + escape("\n".join(rest))


def finding_markdown(finding: Finding) -> str:
    """A finding as Markdown, for TensorBoard's Text tab."""
    where = f" — `{finding.module}`" if finding.module else ""
    return (f"**{finding.severity.upper()}** `{finding.rule_id}`{where}, began at iteration "
            f"{finding.began_at_iteration}\n\n{finding.message}\n\n"
            f"*Evidence:* {evidence_text(finding.evidence)}\n\n*Fix:* {finding.fix}")


def trial_lines(trial: TrialDiagnosis, width: int = 80,
                show_all: bool = False) -> list[tuple[str, str | None]]:
    """The report of one trial as (line, rich style or None) pairs."""
    said, style = verdict(trial)
    about = ", ".join(filter(None, [f"{trial.iterations} iterations",
                                    f"{trial.stack} API stack" if trial.stack else None,
                                    trial.family.upper() if trial.family else None]))
    out: list[tuple[str, str | None]] = [(f"{trial.name}: {said} ({about})", style)]
    if trial.path:
        out += [(line, "dim") for line in textwrap.wrap(trial.path, width=width,
                                                         initial_indent="  ",
                                                         subsequent_indent="  ")]
    for note in trial.notes:
        out += [(line, "yellow") for line in textwrap.wrap(f"note: {note}", width=width,
                                                           initial_indent="  ",
                                                           subsequent_indent="    ")]
    causes = trial.causes
    shown = causes if show_all else causes[:MAX_CAUSES]
    for cause in shown:
        out.append(("", None))
        head, *rest = finding_block(cause, width, trial.explained_by(cause),
                                    on_disk=trial.path is not None)
        out += [(head, _STYLE[cause.severity])] + [(line, None) for line in rest]
    if show_all:
        for finding in trial.findings:
            if finding.explained_by is not None:
                out.append(("", None))
                head, *rest = finding_block(finding, width, on_disk=trial.path is not None)
                out += [(head, _STYLE[finding.severity])] + [(line, None) for line in rest]
    hidden = len(causes) - len(shown)
    if hidden:
        out.append(("", None))
        out += [(line, "dim") for line in textwrap.wrap(
            f"{hidden} more finding(s) not shown: "
            + ", ".join(f"{f.severity}[{f.rule_id}]" for f in causes[len(shown):])
            + "; `rldebug doctor --all` shows every finding.", width=width)]
    return out


def render(diagnosis: Diagnosis, console=None, show_all: bool = False) -> None:
    """Print ``diagnosis``: per trial its root causes (or, with ``show_all``, every
    finding), one block per finding, wrapped to the console's width.

    :param diagnosis: what :func:`rldebug.doctor.diagnose` returned.
    :param console: a ``rich.console.Console`` (default: a new one on stdout).
    :param show_all: also print the findings a cause explains, each as a block.
    """
    if not isinstance(diagnosis, Diagnosis):
        raise UsageTypeError(f"render expects a Diagnosis (from rldebug.doctor.diagnose), got "
                             f"{type(diagnosis).__name__}.")
    show_all = check_bool(show_all, "render(show_all=...)")
    from rich.console import Console
    from rich.text import Text

    console = console or Console()
    width = max(40, min(console.width, 100))
    for trial in diagnosis.trials:
        for line, style in trial_lines(trial, width, show_all):
            console.print(Text(line, style=style or ""), soft_wrap=True)
        console.print()
    explained = sum(f.explained_by is not None for f in diagnosis.findings)
    summary = (f"{len(diagnosis.trials)} trial(s): {severity_counts_text(diagnosis.findings)}"
               + (f" ({explained} of them explained by a finding above, not shown: --all "
                  "shows them)" if explained and not show_all else "")
               + f"; exit code {diagnosis.exit_code}.")
    waiting = diagnosis.without_results
    if waiting:
        summary += (f" {len(waiting)} more trial directory(ies) of the experiment hold no "
                    f"result yet (pending, in their first iteration, or interrupted): "
                    f"{', '.join(waiting[:5])}{' ...' if len(waiting) > 5 else ''}.")
    for line in textwrap.wrap(summary, width=width):
        console.print(Text(line), soft_wrap=True)


def to_json(diagnosis: Diagnosis, indent: int | None = 2) -> str:
    """``diagnosis`` as strict JSON (non-finite evidence becomes "nan"/"inf" strings)."""
    if not isinstance(diagnosis, Diagnosis):
        raise UsageTypeError(f"to_json expects a Diagnosis (from rldebug.doctor.diagnose), got "
                             f"{type(diagnosis).__name__}.")
    return json_text(diagnosis.to_dict(), indent=indent)


__all__ = ["MAX_CAUSES", "evidence_text", "finding_block", "finding_line", "finding_markdown",
           "render", "to_json", "trial_lines", "verdict", "verify_text"]
