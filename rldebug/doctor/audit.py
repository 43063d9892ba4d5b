"""Audit RLlib's reported returns against the episodes themselves (from a trace).

RLlib 2.60 reports each agent's mean episode return over the episodes that finished in
that iteration (the last ``metrics_num_episodes_for_smoothing`` of them, default 100).
Its docs say the mean is smoothed over that many recent episodes, across iterations,
but its ``MeanStats.reduce`` clears the values at every iteration's reduce, so no
episode of an earlier iteration counts (measured: iteration 2's reported mean equals
the mean of iteration 2's episodes, not of iterations 1-2). The trace holds every
finished episode's return per agent, in order; the audit recomputes what RLlib
computes, per iteration, and compares. Where they differ beyond float noise, the doctor says
``metrics_disagree`` with the numbers on both sides: a callback or wrapper that changes
rewards after the episode was recorded, or a metrics bug (ray-project/ray #59860, where
agents sharing a module overwrote each other's returns).

Only runs sampled by a single EnvRunner are audited: with several, RLlib merges the
runners' means as a mean of means (its documented approximation), which the episode
list does not reproduce exactly.
"""

from __future__ import annotations

import math

import numpy as np

from rldebug.doctor.findings import Finding

#: |reported - recomputed| allowed, relative to max(1, |recomputed|)
TOLERANCE = 1e-4
DEFAULT_WINDOW = 100  # RLlib's metrics_num_episodes_for_smoothing


def _episode_returns_by_iteration(samples) -> list[tuple[int, dict[str, list[float]]]] | None:
    """(iteration, {agent: returns finished in that sample() call}) in order, or None when
    more than one EnvRunner sampled (not audited)."""
    if samples.empty or "episode_returns" not in samples:
        return None
    rows = samples
    if "evaluation" in rows:
        rows = rows[~rows["evaluation"].fillna(False).astype(bool)]
    if rows.empty or rows[["runner_index", "pid"]].drop_duplicates().shape[0] != 1:
        return None
    return [(int(row["iteration"]), row["episode_returns"] or {})
            for row in rows.sort_values("time").to_dict("records")]


def audit(history, samples, window: int = DEFAULT_WINDOW) -> tuple[list[dict], int]:
    """``(disagreements, values compared)``: per iteration and agent, RLlib's reported mean
    return against the mean of the last ``window`` traced returns of that iteration."""
    sampled = _episode_returns_by_iteration(samples)
    if sampled is None:
        return [], 0
    disagreements, compared = [], 0
    for metrics in history:
        seen: dict[str, list[float]] = {}  # this iteration's finished episodes, in order
        for iteration, returns in sampled:
            if iteration != metrics.iteration:
                continue
            for agent, values in returns.items():
                seen.setdefault(str(agent), []).extend(float(v) for v in values)
        for agent, reported in (metrics.agent_returns or {}).items():
            episodes = seen.get(str(agent), [])[-window:]
            if not episodes or reported is None or not math.isfinite(reported):
                continue
            finite = [v for v in episodes if math.isfinite(v)]
            if not finite:
                continue
            recomputed = float(np.mean(finite))  # RLlib's mean skips NaN (nanmean)
            compared += 1
            if abs(reported - recomputed) > TOLERANCE * max(1.0, abs(recomputed)):
                disagreements.append({"iteration": metrics.iteration, "agent": str(agent),
                                      "reported": float(reported), "recomputed": recomputed,
                                      "episodes": len(episodes)})
    return disagreements, compared


def audit_findings(history, samples, window: int, trial: str | None) -> list[Finding]:
    disagreements, compared = audit(history, samples, window)
    if not disagreements:
        return []
    first = disagreements[0]
    agents = sorted({d["agent"] for d in disagreements})
    return [Finding(
        rule_id="metrics_disagree", severity="warning", trial=trial,
        began_at_iteration=first["iteration"], module=None,
        message=(f"RLlib reported agent {first['agent']!r}'s mean episode return as "
                 f"{first['reported']:.4g} at iteration {first['iteration']}, but the "
                 f"{first['episodes']} episodes the trace recorded in its window average "
                 f"{first['recomputed']:.4g}; {len(disagreements)} of {compared} reported "
                 f"values disagree (agents {agents})."),
        fix=("Trust the episodes: something changed the reported returns after the "
             "episodes were recorded (a callback writing to result['env_runners'], a "
             "custom metrics reduction) or the metrics are wrong for this setup (agents "
             "sharing a module: ray-project/ray #59860). Compare with "
             "rldebug.load_trace(...).samples['episode_returns']."),
        evidence={**first, "disagreeing": len(disagreements), "compared": compared,
                  "agents": agents, "window": window})]


__all__ = ["audit", "audit_findings"]
