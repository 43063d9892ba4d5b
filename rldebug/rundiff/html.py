"""``rldebug diff A B --html diff.html``: one self-contained page (figures embedded)."""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np

from rldebug.htmlfile import png_data_uri, write_report
from rldebug.rundiff.curves import MetricComparison
from rldebug.rundiff.report import RunDiff, parting_text, speed_text, verdict_text
from rldebug.usage import HTML_GENERATOR

_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 62em; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; font-size: 0.9em; } td, th { border: 1px solid #ddd;
padding: 0.25em 0.6em; text-align: left; vertical-align: top; } th { background: #f4f4f4; }
.parts { color: #c62828; font-weight: bold; } .same { color: #2e7d32; }
.default { color: #888; font-style: italic; } img { max-width: 100%; }
code { font-size: 0.85em; }
"""


def _figure(m: MetricComparison) -> str | None:
    if not len(m.axis_iterations):
        return None
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    panels = 2 if len(m.axis_env_steps) else 1
    fig, axes = plt.subplots(1, panels, figsize=(4.6 * panels, 2.8), dpi=90, squeeze=False)
    try:
        ax = axes[0][0]
        for mean, band, label, color in ((m.mean_a, m.band_a, "a", "tab:blue"),
                                         (m.mean_b, m.band_b, "b", "tab:orange")):
            ax.plot(m.axis_iterations, mean, color=color, label=label)
            if np.isfinite(band).any():
                ax.fill_between(m.axis_iterations, mean - band, mean + band, color=color,
                                alpha=0.2)
        if m.by_iteration is not None:
            ax.axvline(m.by_iteration.at, color="crimson", linestyle="--",
                       label=f"parts (iteration {int(m.by_iteration.at)})")
        ax.set_xlabel("training iteration")
        ax.set_title(m.metric, fontsize=9)
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
        if panels == 2:
            ax = axes[0][1]
            ax.plot(m.axis_env_steps, m.steps_mean_a, color="tab:blue", label="a")
            ax.plot(m.axis_env_steps, m.steps_mean_b, color="tab:orange", label="b")
            if m.by_env_steps is not None:
                ax.axvline(m.by_env_steps.at, color="crimson", linestyle="--")
            ax.set_xlabel("env steps")
            ax.grid(alpha=0.3)
        fig.tight_layout()
        return png_data_uri(fig)
    finally:
        plt.close(fig)


def _value(row, side: str) -> str:
    """A config row's value on ``side`` as the console shows it (RLlib's default, or not
    set, greyed)."""
    greyed = row.a_default or row.a_unset if side == "a" else row.b_default or row.b_unset
    text = html.escape(row.shown(side))
    return f'<span class="default">{text}</span>' if greyed else text


def to_html(d: RunDiff) -> str:
    e = html.escape
    head = (f"<!doctype html><html><head><meta charset='utf-8'>{HTML_GENERATOR}"
            f"<title>rldebug diff</title>"
            f"<style>{_CSS}</style></head><body>")
    runs = (f"<p>a: <code>{e(d.run_a)}</code> ({len(d.trials_a)} trial(s), "
            f"{e(d.algorithm_a or '?')})<br>b: <code>{e(d.run_b)}</code> "
            f"({len(d.trials_b)} trial(s), {e(d.algorithm_b or '?')})</p>")
    verdict = e(verdict_text(d))
    parts = [head, "<h1>rldebug diff</h1>", runs,
             f"<p class='{'parts' if d.parts else 'same'}'>{verdict}</p>",
             "<h2>Config (only what differs, RLlib defaults filled in)</h2>"]
    if d.config:
        parts.append("<table><tr><th>key</th><th>a</th><th>b</th></tr>" + "".join(
            f"<tr><td>{e(r.key)}</td><td>{_value(r, 'a')}</td>"
            f"<td>{_value(r, 'b')}</td></tr>" for r in d.config) + "</table>")
    else:
        parts.append("<p>The same.</p>")
    parts.append("<h2>Metrics</h2>")
    parts += [f"<p>{e(line)}</p>" for line in d.crash_lines()]
    for m in d.metrics:
        figure = _figure(m)
        parts.append(f"<h3>{e(m.metric)}</h3><p>{e(parting_text(m))}; noise: "
                     f"{e(m.noise_source)}</p>")
        if figure:
            parts.append(f"<img alt='{e(m.metric)}' src='{figure}'>")
    if d.traces:
        parts.append("<h2>Traces (last quarter of each run)</h2><table><tr><th>agent</th>"
                     "<th>return a</th><th>return b</th><th>actions a</th><th>actions b</th>"
                     "<th>distance</th></tr>" + "".join(
                         f"<tr><td>{e(t.agent)}</td><td>{t.return_a}</td><td>{t.return_b}</td>"
                         f"<td>{e(str(t.actions_a))}</td><td>{e(str(t.actions_b))}</td>"
                         f"<td>{e(t.distance_text())}</td></tr>" for t in d.traces) + "</table>")
    if d.speed:
        parts.append("<h2>Speed (each run's own time, from RLlib's timers; another machine "
                     "or load changes it too)</h2><table><tr><th>measure</th><th>a</th>"
                     "<th>b</th><th>b / a</th></tr>" + "".join(
                         f"<tr><td>{e(s.label)}</td><td>{e(speed_text(s.a, s.unit))}</td>"
                         f"<td>{e(speed_text(s.b, s.unit))}</td>"
                         f"<td>{'' if s.ratio is None else f'{s.ratio:.2f}'}</td></tr>"
                         for s in d.speed) + "</table>")
    if d.findings:
        parts.append("<h2>Doctor findings in one run only</h2><ul>" + "".join(
            f"<li>{e(f.text())}</li>" for f in d.findings)
            + "</ul>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_html(d: RunDiff, path: str | Path) -> Path:
    """Write :func:`to_html` to ``path`` (its directory must exist); returns the path."""
    return write_report(path, to_html(d), example="diff.html")


__all__ = ["to_html", "write_html"]
