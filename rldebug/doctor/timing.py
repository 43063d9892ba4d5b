"""Timing rules on a trace: an EnvRunner that is much slower than its peers for the same
work (a straggler: every synchronous iteration waits for it).

Judged per iteration on seconds per env step of each remote EnvRunner's ``sample()``
against the median of the other runners in the same iteration, so a machine that is
slow overall, or an iteration that is, names nobody.
"""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np

from rldebug.doctor.findings import Finding

#: seconds per env step this many times the other runners' median makes an iteration slow
SLOW_FACTOR = 2.0
#: a straggler is slow in this share of the iterations it sampled in ...
MIN_SLOW_SHARE = 0.6
#: ... and in at least this many of them
MIN_SLOW_ITERATIONS = 3


def _per_iteration(samples) -> dict[int, dict[int, dict]]:
    """iteration -> runner index -> {seconds per step, sample seconds, pid, host}."""
    table: dict[int, dict[int, dict]] = defaultdict(dict)
    wanted = {"iteration", "runner_index", "sample_time_s", "env_steps", "pid"}
    if samples.empty or not wanted <= set(samples.columns):
        return table
    rows = samples[samples["runner_index"].fillna(0) >= 1]  # remote EnvRunners only
    if "evaluation" in rows:
        rows = rows[~rows["evaluation"].fillna(False).astype(bool)]
    for (iteration, runner), group in rows.groupby(["iteration", "runner_index"]):
        seconds, steps = float(group["sample_time_s"].sum()), float(group["env_steps"].sum())
        if steps <= 0 or not math.isfinite(seconds):
            continue
        table[int(iteration)][int(runner)] = {
            "per_step": seconds / steps, "seconds": seconds, "pid": int(group["pid"].iloc[0]),
            "host": str(group["host"].iloc[0]) if "host" in group else ""}
    return table


def straggler_findings(trace, trial: str | None) -> list[Finding]:
    table = _per_iteration(trace.samples)
    slow: dict[int, list[tuple[int, float, float]]] = defaultdict(list)
    sampled: dict[int, int] = defaultdict(int)
    for iteration, runners in table.items():
        if len(runners) < 2:
            continue
        for runner, seen in runners.items():
            sampled[runner] += 1
            others = float(np.median([r["per_step"] for i, r in runners.items() if i != runner]))
            ratio = seen["per_step"] / others if others > 0 else math.inf
            if ratio >= SLOW_FACTOR:
                slowest_other = max(r["seconds"] for i, r in runners.items() if i != runner)
                slow[runner].append((iteration, ratio, seen["seconds"] - slowest_other))
    findings = []
    for runner, iterations in slow.items():
        if len(iterations) < max(MIN_SLOW_ITERATIONS, MIN_SLOW_SHARE * sampled[runner]):
            continue
        first = table[iterations[0][0]][runner]
        ratio = float(np.median([r for _, r, _ in iterations]))
        waited = float(np.median([w for _, _, w in iterations]))
        findings.append(Finding(
            rule_id="straggler", severity="warning", trial=trial,
            began_at_iteration=iterations[0][0], module=None,
            message=(f"EnvRunner {runner} (pid {first['pid']}"
                     + (f", host {first['host']}" if first["host"] else "")
                     + f") took {ratio:.1f}x the other runners' time per env step in "
                     f"{len(iterations)} of the {sampled[runner]} iterations it sampled; each "
                     f"such iteration waited about {waited:.2f} s longer for it."),
            fix=("Something is slow only where that runner runs: its env instance (a "
                 "worker_index-dependent setting, a slower simulator or file), its node "
                 "(CPU contention, a slower machine) or its share of envs "
                 "(num_envs_per_env_runner). rldebug profile on the trace shows each "
                 "process's time; attach a debugger to that runner (rldebug.attach_remote)."),
            evidence={"runner_index": runner, "pid": first["pid"], "host": first["host"],
                      "ratio": round(ratio, 2), "slow_iterations": len(iterations),
                      "iterations": sampled[runner], "waited_s": round(waited, 3)}))
    return findings


__all__ = ["straggler_findings"]
