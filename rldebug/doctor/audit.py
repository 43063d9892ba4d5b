"""Audit RLlib's reported returns against the episodes themselves (from a trace).

What RLlib 2.60 reports as an agent's mean episode return of an iteration, read from its
``MeanStats`` (``utils/metrics/stats``): each ``sample()`` call's EnvRunner reduces the
returns of the episodes that finished in that call (the last
``metrics_num_episodes_for_smoothing`` of them, default 100) to their mean and clears
them; the Algorithm merges those per-call means and reports their mean (RLlib's
documented "mean of means"). So an iteration with several ``sample()`` calls (DQN and
SAC take small steps; PPO when a fragment is shorter than the batch) does not report
the mean of its episodes: calls finishing [23, 24] and [11, 16, 12, 10] report 17.875,
not 16. No episode of an earlier iteration counts. The trace holds every finished
episode's return per agent and call; the audit recomputes what RLlib computes, per
iteration, and compares. Where they differ beyond float noise, the doctor says
``metrics_disagree`` with the numbers on both sides: a callback or wrapper that changes
rewards after the episode was recorded, or a metrics bug (ray-project/ray #59860, where
agents sharing a module overwrote each other's returns).

Only runs sampled by a single EnvRunner are audited: with remote ones, which call's
metrics reach which iteration depends on when the Algorithm collects them.
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


def _call_mean(values, window: int) -> float | None:
    """What one sample() call's EnvRunner reports: the nanmean of the last ``window``
    returns that finished in it; None when none is finite (RLlib's NaN, which its
    mean of means skips)."""
    finite = [v for v in (float(v) for v in list(values)[-window:]) if not math.isnan(v)]
    return float(np.mean(finite)) if finite else None


def audit(history, samples, window: int = DEFAULT_WINDOW) -> tuple[list[dict], int]:
    """``(disagreements, values compared)``: per iteration and agent, RLlib's reported mean
    return against the mean, over that iteration's sample() calls, of each call's mean
    return (of its last ``window`` finished episodes)."""
    sampled = _episode_returns_by_iteration(samples)
    if sampled is None:
        return [], 0
    disagreements, compared = [], 0
    for metrics in history:
        call_means: dict[str, list[float]] = {}  # this iteration's, one per sample() call
        episodes: dict[str, int] = {}
        for iteration, returns in sampled:
            if iteration != metrics.iteration:
                continue
            for agent, values in returns.items():
                mean = _call_mean(values, window)
                if mean is not None:
                    call_means.setdefault(str(agent), []).append(mean)
                    episodes[str(agent)] = episodes.get(str(agent), 0) + len(values)
        for agent, reported in (metrics.agent_returns or {}).items():
            means = call_means.get(str(agent))
            if not means or reported is None or not math.isfinite(reported):
                continue
            recomputed = float(np.mean(means))
            compared += 1
            if abs(reported - recomputed) > TOLERANCE * max(1.0, abs(recomputed)):
                disagreements.append({"iteration": metrics.iteration, "agent": str(agent),
                                      "reported": float(reported), "recomputed": recomputed,
                                      "episodes": episodes[str(agent)],
                                      "sample_calls": len(means)})
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
                 f"{first['episodes']} episodes the trace recorded, averaged as RLlib "
                 f"averages them (the mean of each of {first['sample_calls']} sample() "
                 f"calls' means), give {first['recomputed']:.4g}; "
                 f"{len(disagreements)} of {compared} reported "
                 f"values disagree (agents {agents})."),
        fix=("Trust the episodes: something changed the reported returns after the "
             "episodes were recorded (a callback writing to result['env_runners'], a "
             "custom metrics reduction) or the metrics are wrong for this setup (agents "
             "sharing a module: ray-project/ray #59860). Compare with "
             "rldebug.load_trace(...).samples['episode_returns']."),
        evidence={**first, "disagreeing": len(disagreements), "compared": compared,
                  "agents": agents, "window": window})]


__all__ = ["audit", "audit_findings"]
