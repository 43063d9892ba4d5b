"""``rldebug doctor RUN --html report.html``: one self-contained HTML page per diagnosis.

Per finding: the message, the evidence and the fix, and a plot of the metrics
the finding cites over the run's iterations with the onset marked (a PNG
embedded as base64, so the file needs nothing beside it). Root causes come
first; the findings each explains follow it, indented.
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

from rldebug.doctor.confidence import confidence_note
from rldebug.doctor.diagnosis import Diagnosis, TrialDiagnosis
from rldebug.doctor.findings import Finding, severity_counts_text
from rldebug.doctor.metrics import IterationMetrics
from rldebug.doctor.report import evidence_text, verdict, verify_text
from rldebug.htmlfile import html_path, write_report
from rldebug.usage import HTML_GENERATOR, UsageTypeError

# What each rule's plot shows: ModuleStats fields (per module) or run-level fields.
_MODULE = ("entropy", "kl", "kl_coeff", "vf_explained_var", "vf_loss", "vf_loss_unclipped",
           "total_loss", "policy_loss", "q_loss", "td_error_mean", "q_mean", "q_max", "alpha",
           "importance_ratio_mean", "lr", "grad_norm")
_RETURNS = ("return_mean", "return_min", "return_max")
PLOTS: dict[str, tuple[str, ...]] = {
    "lr_too_high": ("kl", "entropy"),
    "kl_blowup": ("kl", "kl_coeff"),
    "entropy_collapse": ("entropy",),
    "policy_stays_random": ("entropy", "return_mean"),
    "updates_too_small": ("kl", "return_mean"),
    "value_not_learning": ("vf_explained_var",),
    "value_loss_exploding": ("vf_loss_unclipped", "vf_loss"),
    "critic_clipped": ("vf_loss", "vf_loss_unclipped"),
    "grad_clip_too_small": ("grad_norm",),
    "q_values_diverging": ("q_mean", "q_max", "td_error_mean"),
    "alpha_runaway": ("alpha",),
    "off_policy_drift": ("importance_ratio_mean",),
    "non_finite": ("total_loss", "policy_loss", "q_loss", "vf_loss"),
    "episodes_hit_time_limit": ("len_mean", "len_min", "len_max"),
}


def _series(history: list[IterationMetrics], name: str,
            module: str | None) -> dict[str, list[float]]:
    """``{label: values}`` of ``name`` over the run (one label per module when per module)."""
    nan = float("nan")
    if name in _MODULE:
        modules = [module] if module is not None else sorted(
            {m for metrics in history for m in metrics.modules})
        out = {}
        for m in modules:
            values = [getattr(metrics.modules[m], name) if m in metrics.modules else None
                      for metrics in history]
            if any(v is not None for v in values):
                out[f"{name} ({m})" if len(modules) > 1 else name] = \
                    [nan if v is None else v for v in values]
        return out
    if name == "return_mean" and module is not None:
        values = [metrics.agent_returns.get(module, metrics.module_returns.get(module))
                  for metrics in history]
        if any(v is not None for v in values):
            return {f"mean return ({module})": [nan if v is None else v for v in values]}
    values = [getattr(metrics, name) for metrics in history]
    if all(v is None for v in values):
        return {}
    return {name: [nan if v is None else v for v in values]}


def plot_png(trial: TrialDiagnosis, finding: Finding) -> bytes | None:
    """A PNG of the metrics ``finding`` cites, onset marked; None without history."""
    if not trial.history:
        return None
    names = PLOTS.get(finding.rule_id, _RETURNS)
    series: dict[str, list[float]] = {}
    for name in names:
        series.update(_series(trial.history, name, finding.module))
    if not series:
        series = {k: v for name in _RETURNS for k, v in _series(trial.history, name,
                                                                   None).items()}
    if not series:
        return None
    iterations = [metrics.iteration for metrics in trial.history]
    with _onset_plot(finding.began_at_iteration) as (ax, png):
        finite = [abs(v) for values in series.values() for v in values if math.isfinite(v)]
        for label, values in series.items():
            ax.plot(iterations, values, marker=".", linewidth=1.2, label=label)
            bad = [i for i, v in zip(iterations, values) if not math.isfinite(v)]
            if bad:
                ax.scatter(bad, [0.0] * len(bad), marker="x", color="red",
                           label=f"{label}: NaN/inf")
        if finite and min(finite) > 0 and max(finite) / min(finite) > 1e3 and all(
                v > 0 for values in series.values() for v in values if math.isfinite(v)):
            ax.set_yscale("log")
    return png.getvalue()


@contextmanager
def _onset_plot(onset: int):
    """Yield ``(axes, buffer)`` for one plot over the training iterations; on exit the
    onset is marked, the axes labelled and the PNG written to the buffer."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.0, 2.6), dpi=90)
    buffer = io.BytesIO()
    try:
        yield ax, buffer
        ax.axvline(onset, color="crimson", linestyle="--", linewidth=1.2,
                   label=f"onset (iteration {onset})")
        ax.set_xlabel("training iteration")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="best")
        fig.tight_layout()
        fig.savefig(buffer, format="png")
    finally:
        plt.close(fig)


_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 60em; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.2em; border-bottom: 1px solid #ccc; }
.finding { border-left: 6px solid #888; padding: 0.4em 1em; margin: 1em 0; background: #fafafa; }
.finding.error { border-color: #c62828; } .finding.warning { border-color: #ef8f00; }
.finding.info { border-color: #1e88e5; } .explained { margin-left: 2.5em; opacity: 0.9; }
.sev { font-weight: bold; text-transform: uppercase; } .error .sev { color: #c62828; }
.warning .sev { color: #b26a00; } .info .sev { color: #1e88e5; }
.evidence { font-family: monospace; font-size: 0.85em; color: #444; }
.fix { background: #eef7ee; padding: 0.3em 0.6em; } img { max-width: 100%; }
.verified { background: #f3f6fb; padding: 0.3em 0.6em; } td, th { padding: 0 0.6em; }
pre { background: #f0f0f0; padding: 0.5em; overflow-x: auto; font-size: 0.8em; }
"""


def verification_png(verification) -> bytes | None:
    """Mean return per iteration of the original re-trained and of each candidate fix
    (across their seeds), with the iteration where the finding began."""
    curves = [(c, c.mean_curve()) for c in [verification.original, *verification.candidates]]
    if not any(v is not None for _, curve in curves for v in curve):
        return None
    with _onset_plot(verification.finding.began_at_iteration) as (ax, png):
        for candidate, curve in curves:
            ax.plot(range(1, len(curve) + 1),
                    [float("nan") if v is None else v for v in curve], marker=".",
                    linewidth=2.0 if candidate is verification.original else 1.2,
                    label=f"{candidate.name} ({len(candidate.runs)} seed(s))")
        ax.set_ylabel("mean return")
    return png.getvalue()


def _img(png: bytes, alt: str) -> str:
    """An ``<img>`` carrying ``png`` inside the page."""
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _verification_html(verification) -> str:
    e = html.escape
    parts = ['<div class="verified">',
             (f"<p><b>Verified fix</b> ({e(verification.config_source)}; "
             f"{verification.iterations} iterations &times; seeds {verification.seeds}):</p>"),
             ("<table><tr><th>run</th><th>changes</th><th>finding on seeds</th>"
             "<th>final return</th><th>vs original</th><th>verdict</th></tr>")]
    for c in [verification.original, *verification.candidates]:
        present, seen = c.finding_on_seeds
        mean = "-" if c.mean_return is None else f"{c.mean_return:.4g}"
        original = c is verification.original
        verdict = "" if original else ("works" if c.works else "does not work")
        parts.append(f'<tr data-candidate="{e(c.name)}"><td>{e(c.name)}</td>'
                     f"<td><code>{e(str(c.changes or ''))}</code></td>"
                     f"<td>{present}/{seen}</td><td>{mean}</td>"
                     f"<td>{'' if original else e(c.return_change or '-')}</td>"
                     f"<td>{verdict}</td></tr>")
    parts.append("</table>")
    png = verification_png(verification)
    if png:
        parts.append(_img(png, "return of the original and each fix"))
    parts.append("</div>")
    return "\n".join(parts)


def _finding_html(trial: TrialDiagnosis, finding: Finding, explained: bool,
                  plot: Callable[[TrialDiagnosis, Finding], bytes | None],
                  verifications: tuple = ()) -> str:
    e = html.escape
    where = f" &middot; <code>{e(finding.module)}</code>" if finding.module else ""
    parts = [(f'<section class="finding {finding.severity}{" explained" if explained else ""}" '
             f'data-rule="{e(finding.rule_id)}" data-severity="{finding.severity}" '
             f'data-explained-by="{e(finding.explained_by or "")}">'),
             f'<div><span class="sev">{finding.severity}</span> <code>{e(finding.rule_id)}'
             f'</code>{where} &middot; from iteration {finding.began_at_iteration}'
             + (f" &middot; explained by <code>{e(finding.explained_by)}</code>"
                if finding.explained_by else "") + "</div>",
             f"<p>{e(finding.message)}</p>"]
    evidence = evidence_text(finding.evidence)
    if evidence:
        parts.append(f'<p class="evidence">{e(evidence)}</p>')
    if finding.evidence.get("last_lines"):
        parts.append(f"<pre>{e(str(finding.evidence['last_lines']))}</pre>")
    png = plot(trial, finding)
    if png:
        parts.append(_img(png, f"{finding.rule_id} over the iterations"))
    parts.append(f'<p class="fix"><b>Fix:</b> {e(finding.fix)}</p>')
    verify = verify_text(finding, on_disk=trial.path is not None)
    if verify:
        parts.append(f'<p class="verify"><b>Verify:</b> <code>{e(verify)}</code></p>')
    for verification in verifications:
        if verification.trial == trial.name and verification.finding.rule_id == \
                finding.rule_id and verification.finding.module == finding.module:
            parts.append(_verification_html(verification))
    note = confidence_note(finding.rule_id) if finding.severity != "info" else None
    if note:
        parts.append(f'<p class="confidence"><b>Confidence:</b> {e(note)}</p>')
    parts.append("</section>")
    return "\n".join(parts)


def _trial_html(trial: TrialDiagnosis, plot, verifications: tuple = ()) -> str:
    e = html.escape
    parts = [f'<h2 class="trial">{e(trial.name)}: {verdict(trial)[0]}</h2>',
             (f"<p>{trial.iterations} iterations, {e(trial.stack or '?')} API stack"
             f"{', ' + e(trial.family.upper()) if trial.family else ''}"
             f"{', ' + e(trial.path) if trial.path else ''}</p>")]
    parts += [f"<p><i>note:</i> {e(note)}</p>" for note in trial.notes]
    if not trial.findings:
        parts.append("<p>No findings.</p>")
    for cause in trial.causes:
        parts.append(_finding_html(trial, cause, False, plot, verifications))
        for finding in trial.explained_by(cause):
            parts.append(_finding_html(trial, finding, True, plot, verifications))
    return "\n".join(parts)


def to_html(diagnosis: Diagnosis, verifications=()) -> str:
    """``diagnosis`` as one self-contained HTML page; each of ``verifications``
    (:class:`rldebug.doctor.verify.Verification`) shows under the finding it verified."""
    if not isinstance(diagnosis, Diagnosis):
        raise UsageTypeError(f"to_html expects a Diagnosis (from rldebug.doctor.diagnose), got "
                             f"{type(diagnosis).__name__}.")
    title = f"rldebug doctor: {diagnosis.source or 'results'}"
    verifications = tuple(verifications)
    body = "\n".join(_trial_html(trial, plot_png, verifications) for trial in diagnosis.trials)
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">{HTML_GENERATOR}"
            f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>\n"
            f"<h1>{html.escape(title)}</h1>\n<p id=\"summary\">{len(diagnosis.trials)} "
            f"trial(s): {severity_counts_text(diagnosis.findings)}.</p>\n{body}\n"
            "</body></html>\n")


def write_html(diagnosis: Diagnosis, path: str | Path, verifications=()) -> Path:
    """Write :func:`to_html` to ``path`` (its directory must exist); returns the path."""
    return write_report(path, to_html(diagnosis, verifications), example="doctor.html")


__all__ = ["PLOTS", "html_path", "plot_png", "to_html", "write_html"]
