"""What two runs' traces show differently: per agent, the actions taken and the episode
returns over the last quarter of each run (where the learned behaviour shows)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

LATE_FRACTION = 0.25


@dataclass
class TraceRow:
    """One agent in both runs' traces (None where a side has no trace or no such agent)."""

    agent: str
    actions_a: dict[str, float] | None
    actions_b: dict[str, float] | None
    action_distance: float | None  # total variation distance of the two distributions
    return_a: float | None
    return_b: float | None
    iterations: str

    def to_dict(self) -> dict:
        return dict(vars(self))

    def distance_text(self) -> str:
        if self.action_distance is not None:
            return (f"action distributions differ by {self.action_distance:.2f} "
                    "(total variation)")
        if self.actions_a and self.actions_b:
            return ("actions not compared (one run's trace counts each action, the other's "
                    "bins them: a continuous action, or over 32 distinct actions per sample)")
        return ""


def _late(samples):
    if samples.empty or "iteration" not in samples:
        return samples
    iterations = samples["iteration"].dropna()
    if iterations.empty:
        return samples
    last = float(iterations.max())
    start = last - max(1.0, np.ceil(LATE_FRACTION * last)) + 1
    return samples[samples["iteration"] >= start]


def _side(trials) -> tuple[dict[str, Counter], dict[str, list[float]], str] | None:
    from rldebug.tracing import load_trace
    from rldebug.tracing.layout import trace_dir_of

    actions: dict[str, Counter] = {}
    returns: dict[str, list[float]] = {}
    spans = []
    for trial in trials:
        directory = trace_dir_of(trial.path)
        if directory is None:
            continue
        samples = _late(load_trace(directory).samples)
        if samples.empty:
            continue
        if "iteration" in samples:
            spans.append(f"{int(samples['iteration'].min())}-{int(samples['iteration'].max())}")
        for row in samples.to_dict("records"):
            for agent, counts in (row.get("actions") or {}).items():
                actions.setdefault(_agent_of(str(agent), row), Counter()).update(
                    {str(k): int(v) for k, v in (counts or {}).items()})
        for per_agent in samples.get("episode_returns", []):
            for agent, values in (per_agent or {}).items():
                returns.setdefault(str(agent), []).extend(float(v) for v in values or [])
    if not actions and not returns:
        return None
    return actions, returns, ", ".join(spans)


def _agent_of(key: str, row: dict) -> str:
    """The agent a column's key stands for: the old stack keys a sample's columns by
    policy (``default_policy``) and its returns by agent (``default_agent``); a policy
    that one agent alone used is that agent's."""
    agents = list(row.get("agent_steps") or {})
    modules = list(row.get("module_steps") or {})
    if key not in agents and len(agents) == 1 and modules == [key]:
        return str(agents[0])
    return key


def _share(counts: Counter | None) -> dict[str, float] | None:
    if not counts:
        return None
    total = sum(counts.values())
    return {k: round(v / total, 4) for k, v in sorted(counts.items())}


def _bins(shares: dict[str, float]) -> list[tuple[float, float, float]] | None:
    """``(low, high, share)`` of each bin when ``shares`` holds binned actions (the
    trace's ``"low..high"`` keys, whose edges each ``sample()`` call chose from its own
    actions: a continuous action, or a call with over 32 distinct ones; a value counted
    alone is a point, ``(v, v)``), else None (one key per action throughout)."""
    bins, binned = [], False
    for key, share in shares.items():
        low, sep, high = key.partition("..")
        try:
            bins.append((float(low), float(high if sep else low), share))
        except ValueError:
            return None
        binned = binned or bool(sep)
    return bins if binned else None


def _spread(bins, edges) -> np.ndarray:
    """Each bin's share spread evenly over the pieces of ``edges`` it covers (a bin
    whose 3-digit edges coincide is a point: its share goes to the piece holding it)."""
    mass = np.zeros(len(edges) - 1)
    for low, high, share in bins:
        if high <= low:
            mass[min(max(np.searchsorted(edges, low, side="right") - 1, 0),
                     len(mass) - 1)] += share
            continue
        overlap = np.clip(np.minimum(edges[1:], high) - np.maximum(edges[:-1], low), 0, None)
        mass += share * overlap / (high - low)
    return mass


def _distance(a: dict | None, b: dict | None) -> float | None:
    """Total variation distance of two action distributions; binned actions on the
    union of both sides' bin edges (each sample call binned its own range, so the same
    policy's bins rarely share a label). None when one side counts each action and the
    other bins them: they share no scale to compare on."""
    if a is None or b is None:
        return None
    bins_a, bins_b = _bins(a), _bins(b)
    if bins_a is None and bins_b is None:
        return round(0.5 * sum(abs(a.get(k, 0.0) - b.get(k, 0.0)) for k in set(a) | set(b)),
                     4)
    if bins_a is None or bins_b is None:
        return None
    edges = np.unique([edge for low, high, _ in bins_a + bins_b for edge in (low, high)])
    if len(edges) < 2:  # every action of both runs the same value
        return 0.0
    return round(0.5 * float(np.abs(_spread(bins_a, edges) - _spread(bins_b, edges)).sum()),
                 4)


def _mean(values: list[float] | None) -> float | None:
    finite = [v for v in values or [] if np.isfinite(v)]
    return float(np.mean(finite)) if finite else None


def trace_rows(trials_a, trials_b) -> list[TraceRow]:
    """Per agent, late actions and returns of both sides (empty if neither has a trace)."""
    side_a, side_b = _side(trials_a), _side(trials_b)
    if side_a is None and side_b is None:
        return []
    empty = ({}, {}, "")
    actions_a, returns_a, span_a = side_a or empty
    actions_b, returns_b, span_b = side_b or empty
    rows = []
    for agent in sorted(set(actions_a) | set(actions_b) | set(returns_a) | set(returns_b)):
        share_a, share_b = _share(actions_a.get(agent)), _share(actions_b.get(agent))
        rows.append(TraceRow(agent, share_a, share_b, _distance(share_a, share_b),
                             _mean(returns_a.get(agent)), _mean(returns_b.get(agent)),
                             f"a: iterations {span_a or 'no trace'}; "
                             f"b: iterations {span_b or 'no trace'}"))
    return rows


__all__ = ["LATE_FRACTION", "TraceRow", "trace_rows"]
