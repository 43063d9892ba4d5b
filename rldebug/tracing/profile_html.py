"""``rldebug profile DIR --html profile.html``: one self-contained page (figures embedded).

A timeline with one row per process (every ``sample()`` and update as a bar, at the time it
ran), each process's memory over time, and where the time inside ``sample()`` and the
updates went, per process, as stacked bars — the same numbers as the console's tables.
"""

from __future__ import annotations

import html
from pathlib import Path

from rldebug.htmlfile import png_data_uri, write_report
from rldebug.tracing.profile import SAMPLE_PARTS, UPDATE_PARTS, Profile, timeline
from rldebug.tracing.reading import Trace
from rldebug.usage import HTML_GENERATOR

_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 66em; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; font-size: 0.9em; } td, th { border: 1px solid #ddd;
padding: 0.25em 0.6em; text-align: right; } th { background: #f4f4f4; }
td:first-child, th:first-child { text-align: left; } img { max-width: 100%; }
"""
_SPAN_COLORS = {"sample()": "tab:blue", "update": "tab:orange"}
_PART_COLORS = {"env": "tab:green", "env_to_module": "tab:purple", "forward": "tab:blue",
                "module_to_env": "tab:pink", "weight_pull": "gold", "loss": "tab:red", "backward": "tab:brown",
                "optimizer": "tab:olive", "batch": "tab:cyan", "trace": "tab:gray",
                "other": "lightgray"}


def _name(process) -> str:
    return f"{', '.join(process.roles) or 'process'} (pid {process.pid})"


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _timeline(summary: Profile, spans: list[dict], rss: dict[int, list]) -> str | None:
    """Per process a row of bars (sample() and updates at their times), and RSS below."""
    if not spans:
        return None
    plt = _pyplot()
    start = min(s["start"] for s in spans)
    rows = {p.pid: i for i, p in enumerate(summary.processes)}
    fig, (bars, memory) = plt.subplots(2, 1, figsize=(10, 1.2 + 0.6 * len(rows) + 2.4),
                                       dpi=90, sharex=True,
                                       gridspec_kw={"height_ratios": [max(len(rows), 1), 2]})
    try:
        for name, color in _SPAN_COLORS.items():
            own = [s for s in spans if s["name"] == name and s["pid"] in rows]
            for pid in {s["pid"] for s in own}:
                mine = [(s["start"] - start, s["end"] - s["start"]) for s in own
                        if s["pid"] == pid]
                bars.broken_barh(mine, (rows[pid] - 0.35, 0.7), facecolors=color,
                                 label=name if pid == min(s["pid"] for s in own) else None)
        bars.set_yticks(list(rows.values()),
                        [_name(p) for p in summary.processes], fontsize=8)
        bars.invert_yaxis()
        bars.legend(fontsize=8, loc="upper right")
        bars.grid(axis="x", alpha=0.3)
        for process in summary.processes:
            points = rss.get(process.pid, [])
            if points:
                memory.plot([t - start for t, *_ in points], [mb for _, mb, *_ in points],
                            marker=".", label=_name(process))
        memory.set_ylabel("RSS (MiB)")
        memory.set_xlabel("seconds since the first traced span")
        if memory.get_lines():
            memory.legend(fontsize=7)
        else:  # a trace with no memory samples: say so on the plot, not in a warning
            memory.text(0.5, 0.5, "no memory samples in this trace", ha="center",
                        va="center", transform=memory.transAxes)
        memory.grid(alpha=0.3)
        fig.tight_layout()
        return png_data_uri(fig)
    finally:
        plt.close(fig)


def _inside(summary: Profile) -> str | None:
    """Per process, stacked bars: its sample() seconds by part and its update seconds by
    part (what the parts do not cover is "other")."""
    rows = []
    for process in summary.processes:
        for label, total, parts, other in (
                ("sample()", process.sample_s, process.sample_parts_s, process.sample_other_s),
                ("update", process.update_s, process.update_parts_s, process.update_other_s)):
            if total > 0 and parts:
                rows.append((f"{_name(process)}: {label}", {**parts, "other": other}))
    if not rows:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(10, 1.0 + 0.5 * len(rows)), dpi=90)
    try:
        seen = set()
        for y, (_, parts) in enumerate(rows):
            left = 0.0
            for part, seconds in parts.items():
                ax.barh(y, seconds, left=left, color=_PART_COLORS.get(part, "black"),
                        label=part if part not in seen else None)
                seen.add(part)
                left += seconds
        ax.set_yticks(range(len(rows)), [label for label, _ in rows], fontsize=8)
        ax.invert_yaxis()
        ax.set_xlabel("seconds")
        ax.legend(fontsize=7, ncols=5, loc="lower right")
        ax.grid(axis="x", alpha=0.3)
        fig.tight_layout()
        return png_data_uri(fig)
    finally:
        plt.close(fig)


def _table(summary: Profile) -> str:
    e = html.escape
    head = ("<tr><th>process</th><th>host</th><th>wall s</th><th>sample() s</th>"
            "<th>calls</th><th>update s</th><th>updates</th><th>other s</th>"
            "<th>RSS MiB first / last / max</th></tr>")
    rows = []
    for p in summary.processes:
        memory = ("-" if p.rss_first_mb is None else
                  f"{p.rss_first_mb:.0f} / {p.rss_last_mb:.0f} / {p.rss_max_mb:.0f}")
        rows.append(f"<tr data-pid='{p.pid}'><td>{e(_name(p))}</td><td>{e(p.host)}</td>"
                    f"<td>{p.wall_s:.1f}</td><td>{p.sample_s:.2f}</td><td>{p.sample_calls}</td>"
                    f"<td>{p.update_s:.2f}</td><td>{p.updates}</td><td>{p.other_s:.2f}</td>"
                    f"<td>{memory}</td></tr>")
    return f"<table class='processes'>{head}{''.join(rows)}</table>"


def to_html(trace: Trace, title: str = "") -> str:
    summary, spans, rss = timeline(trace)
    head = (f"<!doctype html><html><head><meta charset='utf-8'>{HTML_GENERATOR}"
            f"<title>rldebug profile"
            f"</title><style>{_CSS}</style></head><body>")
    counts = (f"<p>{summary.iterations} iteration(s) traced, {len(summary.processes)} "
              "process(es).</p>")
    parts = [head, f"<h1>rldebug profile {html.escape(title)}</h1>", counts,
             "<h2>Where the time went</h2>", _table(summary)]
    timeline_note = ("Each sample() call and Learner update at the time it ran, one row per "
                     "process; below, each process's memory (RSS).")
    inside_note = (f"Seconds per part, summed over the run: {', '.join(SAMPLE_PARTS)} of "
                   f"sample(); {', '.join(UPDATE_PARTS)} of the "
                   "updates; other: what the parts do not cover.")
    for heading, figure, note in (
            ("Timeline", _timeline(summary, spans, rss), timeline_note),
            ("Inside sample() and the updates", _inside(summary), inside_note)):
        if figure is not None:
            parts += [f"<h2>{heading}</h2>", f"<p>{html.escape(note)}</p>",
                      f"<img class='figure' alt='{heading}' src='{figure}'>"]
    parts.append("</body></html>")
    return "\n".join(parts)


def write_html(trace: Trace, path: str | Path, title: str = "") -> Path:
    """Write the profile of ``trace`` as one self-contained HTML page at ``path``."""
    return write_report(path, to_html(trace, title), example="profile.html")


__all__ = ["to_html", "write_html"]
