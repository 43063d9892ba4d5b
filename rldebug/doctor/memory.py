"""Memory rules on a trace: a process whose RSS keeps growing, and (with
``trace(memory=True)``) the allocation site that keeps growing in it.

Growth is judged by its trend over the run, not by one jump: the first quarter of a
process's records is left out (allocators and caches warm up), the rest must span at
least three iterations and rise steadily (rank correlation with time) by enough to
matter, in MiB and against the process's size, and still be rising at the end, not in
one step: a leak grows with every episode or iteration until the process dies, while a
one-time allocation (SAC's optimizers at its first update, a cache filled once) is a
single jump between two flat stretches.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from rldebug.doctor.findings import Finding
from rldebug.tracing.profile import rss_by_process
from rldebug.tracing.reading import present, training_sample_rows

#: records of one process the RSS rule needs (after the warm-up quarter is left out):
#: a remote PPO EnvRunner writes one per iteration, and a leak of 50 MiB an iteration
#: is plain in six iterations
MIN_RECORDS = 5
#: ... spanning at least this many iterations: growth within the first iteration or two
#: is a start-up (a replay buffer filling, a run that crashed seconds in), not a leak
MIN_ITERATIONS = 3
#: a rise smaller than this over the judged records is not reported (MiB)...
MIN_GROWTH_MB = 50.0
#: ... nor one smaller than this share of the process's size
MIN_GROWTH_SHARE = 0.10
#: Spearman rank correlation of RSS with time above which the rise counts as steady
MIN_TREND = 0.8
#: the largest rise between two records may hold at most this share of the growth ...
MAX_ONE_STEP_SHARE = 0.5
#: ... and the last third of the judged records at least this share (still rising)
MIN_LAST_THIRD_SHARE = 0.15
#: growth a filling replay buffer explains: at most this many times what it took in
#: meanwhile, plus this many MiB (the allocator's slack); a leak faster than half the
#: buffer's fill still shows
REPLAY_GROWTH_FACTOR = 1.5
REPLAY_GROWTH_SLACK_MB = 25.0
#: what a replay buffer keeps per env step besides observations (actions, rewards, the
#: episode's other lists, its index): 664-821 bytes measured with tracemalloc in RLlib
#: 2.60's EpisodeReplayBuffer and PrioritizedEpisodeReplayBuffer on CartPole
REPLAY_STEP_OVERHEAD_BYTES = 1024
#: a site must be seen growing in this many of a process's sample() calls (not every
#: call: a site that allocates once per episode grows only in the calls that end one) ...
MIN_SITE_CALLS = 4
#: ... its size must rise with them (Spearman, as MIN_TREND) until the last calls (no
#: longer since its last growth than twice its usual interval), by this much in all (KiB)
MIN_SITE_GROWTH_KB = 1024.0


def _spearman(x: np.ndarray, y: np.ndarray) -> float:
    rx, ry = np.argsort(np.argsort(x)), np.argsort(np.argsort(y))
    if rx.std() == 0 or ry.std() == 0:
        return 0.0
    return float(np.corrcoef(rx, ry)[0, 1])


def _steps_sampled_by(trace) -> tuple[np.ndarray, np.ndarray, float] | None:
    """``(times, env steps sampled by each time, observation MiB per env step)`` of the
    training EnvRunners' samples (every agent's observations, in their own dtype where
    the trace recorded their bytes, else as float32); None without observation
    statistics (level "summary") or where some are not arrays (Dict, Tuple)."""
    rows = sorted(training_sample_rows(trace.samples), key=lambda r: r["time"])
    stats = [s for row in rows if isinstance(row.get("obs"), dict)
             for s in row["obs"].values() if isinstance(s, dict)]
    if not stats or any("n" not in s for s in stats):
        return None
    size = sum(int(s["nbytes"]) if "nbytes" in s else 4 * int(s["n"]) for s in stats)
    steps = np.cumsum([int(present(row.get("env_steps")) or 0) for row in rows])
    if not size or not len(steps) or not steps[-1]:
        return None
    return np.array([row["time"] for row in rows]), steps, size / float(steps[-1]) / 2 ** 20


def _replay_filling(sampled, judged: list, growth: float, capacity: float | None,
                    new_stack: bool | None) -> dict | None:
    """What a driver's growth over ``judged`` records would be if it were the replay
    buffer filling (DQN and SAC keep it in the process that runs the Algorithm), when
    that explains it; None otherwise. ``sampled``: :func:`_steps_sampled_by`. The old
    stack stores each step's observation twice (``obs`` and ``new_obs``)."""
    if not capacity or sampled is None or not any(role == "driver" for *_, role in judged):
        return None
    times, steps, obs_mb = sampled
    mb_per_step = obs_mb * (1 if new_stack is not False else 2) + \
        REPLAY_STEP_OVERHEAD_BYTES / 2 ** 20
    first, last = (int(steps[np.searchsorted(times, t, side="right") - 1])
                   if t >= times[0] else 0 for t in (judged[0][0], judged[-1][0]))
    filled = (min(last, capacity) - min(first, capacity)) * mb_per_step
    if filled <= 0 or growth > REPLAY_GROWTH_FACTOR * filled + REPLAY_GROWTH_SLACK_MB:
        return None
    return {"steps_from": first, "steps_to": last, "capacity": int(capacity),
            "buffer_mb": round(filled, 1), "kb_per_step": round(mb_per_step * 1024, 2),
            "full_gb": round(capacity * mb_per_step / 1024, 2)}


def _leak_fix(roles: list[str]) -> str:
    """Where to look for what a process keeps, by what the process is."""
    suspects = ("a list appended to per step or episode in your env, callbacks or "
                "connectors, a cache without a bound, episodes or batches kept referenced")
    if any(role.startswith("EnvRunner") for role in roles):
        return (f"Something in that process keeps objects alive across episodes or "
                f"iterations: {suspects}. rldebug.trace(config, memory=True) records the "
                "allocation sites that grow in EnvRunners, with file and line.")
    return (f"Something in that process keeps objects alive across iterations: {suspects}, "
            "or (a Learner, the driver's local one) a custom Learner, loss or learner "
            "connector keeping batches or tensors, or (the driver) a callback keeping "
            "results. rldebug.trace(config, memory=True) records allocation sites in "
            "EnvRunners only: here, start tracemalloc in that process (in a callback's "
            "on_train_result, say) and compare its snapshots between iterations.")


def rss_findings(trace, trial: str | None, replay_capacity: float | None = None,
                 new_stack: bool | None = None) -> list[Finding]:
    """``memory_growing`` per process whose RSS keeps rising; a driver's rise that a DQN
    or SAC replay buffer of ``replay_capacity`` env steps filling explains is said as
    ``replay_buffer_filling`` (info), with what it takes when full."""
    findings = []
    sampled = _steps_sampled_by(trace) if replay_capacity else None  # once for every process
    for pid, rows in rss_by_process(trace).items():
        judged = rows[len(rows) // 4:]
        if len(judged) < MIN_RECORDS or \
                len({r[2] for r in judged if r[2] is not None}) < MIN_ITERATIONS:
            continue
        times = np.array([r[0] for r in judged])
        rss = np.array([r[1] for r in judged])
        slope = np.polyfit(times - times[0], rss, 1)[0]  # MiB per second
        growth = float(rss[-1] - rss[0])
        trend = _spearman(times, rss)
        if (trend < MIN_TREND or growth < MIN_GROWTH_MB
                or growth < MIN_GROWTH_SHARE * float(np.median(rss))):
            continue
        one_step = float(np.max(np.diff(rss)))
        last_third = float(rss[-1] - rss[len(rss) - 1 - len(rss) // 3])
        if one_step > MAX_ONE_STEP_SHARE * growth or \
                last_third < MIN_LAST_THIRD_SHARE * growth:
            continue  # one jump between flat stretches, or growth that has stopped
        roles = sorted({r[3] for r in rows})
        iterations = [r[2] for r in judged if r[2] is not None]
        began = min(iterations) if iterations else 0
        filling = _replay_filling(sampled, judged, growth, replay_capacity, new_stack)
        if filling is not None:
            findings.append(Finding(
                rule_id="replay_buffer_filling", severity="info", trial=trial,
                began_at_iteration=began, module=None,
                message=(f"The memory of process {pid} ({', '.join(roles)}) grew "
                         f"{growth:.0f} MiB ({rss[0]:.0f} -> {rss[-1]:.0f}) while its replay "
                         f"buffer took in env steps {filling['steps_from']} to "
                         f"{filling['steps_to']} of its capacity of {filling['capacity']}: "
                         f"~{filling['buffer_mb']:.0f} MiB at ~{filling['kb_per_step']:g} "
                         "KiB a step (the observations as the trace saw them, and ~1 KiB "
                         "of the rest). The rise is explained by the buffer filling, which "
                         f"stops at capacity, at ~{filling['full_gb']:g} GiB."),
                fix=("Nothing to fix if that fits the machine. To hold less, lower "
                     "replay_buffer_config['capacity'] or keep the observations smaller "
                     "(the buffer stores them in the env's dtype)."),
                evidence={"pid": pid, "roles": roles, "first_mb": round(float(rss[0]), 1),
                          "last_mb": round(float(rss[-1]), 1), **filling}))
            continue
        findings.append(Finding(
            rule_id="memory_growing", severity="warning", trial=trial,
            began_at_iteration=began, module=None,
            message=(f"The memory of process {pid} ({', '.join(roles)}) kept growing: "
                     f"{rss[0]:.0f} -> {rss[-1]:.0f} MiB over {len(judged)} records "
                     f"({slope * 60:.0f} MiB a minute, rank correlation with time "
                     f"{trend:.2f}). "
                     + (f"The run keeps a replay buffer of {int(replay_capacity)} env steps, "
                        "which grows until full; the trace holds no observation "
                        "statistics (level \"summary\") to tell its filling from a leak: "
                        "trace at level \"batches\" to tell."
                        if replay_capacity and "driver" in roles and sampled is None else
                        "A run like this ends when Ray's memory monitor kills it.")),
            fix=_leak_fix(roles),
            evidence={"pid": pid, "roles": roles, "first_mb": round(float(rss[0]), 1),
                      "last_mb": round(float(rss[-1]), 1), "records": len(judged),
                      "mb_per_minute": round(float(slope * 60), 2), "trend": round(trend, 3),
                      "largest_step_mb": round(one_step, 1),
                      "last_third_mb": round(last_third, 1)}))
    return findings


def site_findings(trace, trial: str | None) -> list[Finding]:
    samples = trace.samples
    if samples.empty or "grown_sites" not in samples:
        return []
    findings = []
    for pid, frame in samples.groupby("pid"):
        calls = [sites for sites in frame.sort_values("time")["grown_sites"]
                 if isinstance(sites, list)][1:]  # the first call only sets the baseline
        if len(calls) < MIN_SITE_CALLS:
            continue
        # per site, each call it grew in: (call, growth KiB, its size after the call KiB)
        grew: dict[tuple, list[tuple[int, float, float]]] = defaultdict(list)
        for call, sites in enumerate(calls):
            for site in sites:
                grew[(site["file"], int(site["line"]))].append(
                    (call, float(site["growth_kb"]), float(site.get("size_kb", np.nan))))
        for (file, line), seen in grew.items():
            if len(seen) < MIN_SITE_CALLS:
                continue
            order = np.arange(len(seen))
            sizes = np.array([size for _, _, size in seen])
            rise = (sizes[-1] - (sizes[0] - seen[0][1]) if np.isfinite(sizes).all()
                    else sum(growth for _, growth, _ in seen))  # traces without size_kb
            trend = _spearman(order, sizes) if np.isfinite(sizes).all() else 1.0
            # still growing at the end: no longer since its last growth than twice its
            # usual interval (a site that grew while the run warmed up, then stopped, is not)
            interval = float(np.median(np.diff([call for call, _, _ in seen])))
            since = len(calls) - 1 - seen[-1][0]
            if trend < MIN_TREND or rise < MIN_SITE_GROWTH_KB or since > 2 * interval:
                continue
            runner = frame["runner_index"].dropna()
            where = f"EnvRunner {int(runner.iloc[0])}, " if len(runner) else ""
            findings.append(Finding(
                rule_id="allocation_growing", severity="warning", trial=trial,
                began_at_iteration=int(frame["iteration"].min()), module=None,
                message=(f"{file}:{line} kept allocating memory that was not freed: it grew "
                         f"in {len(seen)} of {len(calls)} sample() calls of process {pid} "
                         f"({where}{rise / 1024:.1f} MiB in all), its size rising with them."),
                fix=(f"Look at what {file}:{line} allocates and who keeps a reference to it "
                     "across episodes (an attribute or list of the env or a callback): keep "
                     "a bounded number (collections.deque(maxlen=...)) or drop it at reset."),
                evidence={"file": file, "line": line, "pid": int(pid),
                          "calls_grown": len(seen), "calls": len(calls),
                          "growth_kb": round(float(rise), 1), "trend": round(trend, 3)}))
    return sorted(findings, key=lambda f: -f.evidence["growth_kb"])


def memory_findings(trace, trial: str | None, replay_capacity: float | None = None,
                    new_stack: bool | None = None) -> list[Finding]:
    return rss_findings(trace, trial, replay_capacity, new_stack) + \
        site_findings(trace, trial)


__all__ = ["memory_findings", "rss_findings", "site_findings"]
