"""Timing rules on a trace: an EnvRunner that is much slower than its peers for the same
work (a straggler: every synchronous iteration waits for it), and IMPALA/APPO's learner
thread waiting for data most of its time (sampling is the bottleneck).

Judged per iteration on seconds per env step of each remote EnvRunner's ``sample()``
against the median of the other runners in the same iteration, so a machine that is
slow overall, or an iteration that is, names nobody. Where the trace timed the parts of
``sample()`` (the env, the connector pipelines, the RLModule's forward pass), the finding
names the part whose time per step grew the most against the other runners.
"""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np

from rldebug.doctor.findings import Finding
from rldebug.tracing.profile import SAMPLE_PARTS

#: seconds per env step this many times the other runners' median makes an iteration slow
SLOW_FACTOR = 2.0
#: a slow runner that sampled less than this share of its peers' env steps in the same
#: iterations was not waited for (asynchronous sampling: APPO, IMPALA)
FEWER_STEPS = 0.75
#: a straggler is slow in this share of the iterations it sampled in ...
MIN_SLOW_SHARE = 0.6
#: ... and in at least this many of them
MIN_SLOW_ITERATIONS = 3


def _per_iteration(samples) -> dict[int, dict[int, dict]]:
    """iteration -> runner index -> {seconds per step, sample seconds, pid, host, seconds
    per step of each timed part of sample() and of the rest ("other")}."""
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
        parts = {part: float(group[f"{part}_time_s"].sum()) / steps for part in SAMPLE_PARTS
                 if f"{part}_time_s" in group and group[f"{part}_time_s"].notna().all()}
        if parts:
            parts["other"] = max(seconds / steps - sum(parts.values()), 0.0)
        table[int(iteration)][int(runner)] = {
            "per_step": seconds / steps, "seconds": seconds, "steps": steps,
            "pid": int(group["pid"].iloc[0]),
            "host": str(group["host"].iloc[0]) if "host" in group else "", "parts": parts}
    return table


_PART_NAMES = {"env": "its env's reset()/step()",
               "env_to_module": "the env-to-module connector pipeline",
               "forward": "the RLModule's forward pass",
               "module_to_env": "the module-to-env connector pipeline",
               "weight_pull": "its wait for the newest weights (RLlib's "
                              "EnvRunnerStateServer pull)",
               "other": "the rest of sample() (episode bookkeeping, callbacks)"}
_PART_FIXES = {
    "env": ("The env is slow only in that runner: a worker_index-dependent setting, a "
            "slower simulator instance or file, or a blocking call in its step(); attach a "
            "debugger to that runner (rldebug.attach_remote) or profile its env."),
    "other": ("The runner's own bookkeeping or callbacks are slow there (a callback doing "
              "I/O, an info dict growing per step); rldebug profile shows the parts."),
    "weight_pull": ("The runner waits longer than the others for the newest weights from "
                    "RLlib's EnvRunnerStateServer (APPO, IMPALA): the server answers it "
                    "later (its node is farther from the driver's, or busier), not its env "
                    "or module; rldebug profile shows the wait per process."),
}
_UNKNOWN_PART_FIX = (
    "Something is slow only where that runner runs: its env instance (a "
    "worker_index-dependent setting, a slower simulator or file), its node (CPU "
    "contention, a slower machine) or its share of envs (num_envs_per_env_runner). rldebug "
    "profile on the trace shows each process's time; attach a debugger to that runner "
    "(rldebug.attach_remote).")
_NODE_FIX = ("The module and connectors do the same work in every runner, so the runner's "
             "process is short of CPU: its node is busier or slower (other processes, fewer "
             "cores than runners), or it has more envs (num_envs_per_env_runner).")


def _grown_part(table, runner: int, iterations: list[int]) -> tuple[str, dict] | None:
    """The part of sample() whose seconds per step grew most in ``runner`` against the
    other runners of the same iterations; per part (ms per step): (runner, others)."""
    own, others = defaultdict(list), defaultdict(list)
    for iteration in iterations:
        for index, seen in table[iteration].items():
            for part, value in seen["parts"].items():
                (own if index == runner else others)[part].append(value)
    common = [part for part in own if others.get(part)]
    if not common:
        return None
    ms = {part: (round(1e3 * float(np.median(own[part])), 3),
                 round(1e3 * float(np.median(others[part])), 3)) for part in common}
    return max(common, key=lambda part: ms[part][0] - ms[part][1]), ms


def _iteration_seconds(iterations) -> dict[int, float]:
    """Wall seconds of each iteration after the first: the time between the driver's
    records of it and of the one before."""
    if iterations.empty or not {"iteration", "time"} <= set(iterations.columns):
        return {}
    rows = iterations.dropna(subset=["iteration", "time"]).sort_values("time")
    ends = dict(zip(rows["iteration"].astype(int), rows["time"].astype(float)))
    return {i: end - ends[i - 1] for i, end in ends.items() if i - 1 in ends and end > ends[i - 1]}


def straggler_findings(trace, trial: str | None) -> list[Finding]:
    table = _per_iteration(trace.samples)
    durations = _iteration_seconds(trace.iterations)
    # APPO and IMPALA's runners go on sampling into the iteration under way when the run
    # stops (an 11th of a 10-iteration run): counted, and said
    last = max(durations) if durations else None
    # per slow runner, each iteration: (iteration, its time per step / the others', the
    # seconds it took beyond the slowest other runner, its env steps / the others')
    slow: dict[int, list[tuple[int, float, float, float]]] = defaultdict(list)
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
                steps = float(np.median([r["steps"] for i, r in runners.items() if i != runner]))
                slow[runner].append((iteration, ratio, seen["seconds"] - slowest_other,
                                     seen["steps"] / steps if steps > 0 else 1.0))
    findings = []
    for runner, iterations in slow.items():
        if len(iterations) < max(MIN_SLOW_ITERATIONS, MIN_SLOW_SHARE * sampled[runner]):
            continue
        first = table[iterations[0][0]][runner]
        ratio = float(np.median([r for _, r, _, _ in iterations]))
        waited = float(np.median([w for _, _, w, _ in iterations]))
        shares = [w / durations[i] for i, _, w, _ in iterations if i in durations]
        # rounded once, so the message's percentage is the evidence's
        share = round(min(float(np.median(shares)), 1.0), 3) if shares else None
        steps_share = float(np.median([s for _, _, _, s in iterations]))
        if steps_share < FEWER_STEPS:  # the iterations went on without it (APPO, IMPALA)
            waited = share = None  # no iteration waited: its "extra" seconds mean nothing
            cost = (f"the iterations did not wait for it: it sampled {steps_share:.0%} of "
                    "the env steps each other runner did in them, so its share of the "
                    "training data shrank (its episodes arrive late, on older weights).")
        else:
            cost = (f"each such iteration waited about {waited:.2f} s longer for it"
                    + (f" ({share:.0%} of its wall time)." if share is not None else "."))
        grown = _grown_part(table, runner, [i for i, _, _, _ in iterations])
        where, fix, evidence = "", _UNKNOWN_PART_FIX, {}
        if grown is not None:
            part, ms = grown
            where = (f" Most of the extra time was in {_PART_NAMES[part]}: "
                     f"{ms[part][0]:.2f} ms per env step there against {ms[part][1]:.2f} ms "
                     "in the other runners.")
            fix = _PART_FIXES.get(part, _NODE_FIX)
            evidence = {"grew": part, "ms_per_step": {p: list(v) for p, v in ms.items()}}
        under_way = last is not None and max(i for i in table if runner in table[i]) > last
        findings.append(Finding(
            rule_id="straggler", severity="warning", trial=trial,
            began_at_iteration=iterations[0][0], module=None,
            message=(f"EnvRunner {runner} (pid {first['pid']}"
                     + (f", host {first['host']}" if first["host"] else "")
                     + f") took {ratio:.1f}x the other runners' time per env step in "
                     f"{len(iterations)} of the {sampled[runner]} iterations it sampled"
                     + (" (the last one under way when the run stopped)" if under_way else "")
                     + "; "
                     + cost + where),
            fix=fix,
            evidence={"runner_index": runner, "pid": first["pid"], "host": first["host"],
                      "ratio": round(ratio, 2), "slow_iterations": len(iterations),
                      "iterations": sampled[runner],
                      "waited_s": None if waited is None else round(waited, 3),
                      "share_of_iteration": share,
                      "steps_share": round(steps_share, 3),
                      **evidence}))
    return findings


#: EnvRunners that spent less than this share of the wall time in sample() idled ...
RUNNERS_BUSY = 0.8
#: ... waiting for the driver when at least this share of that idle time fell in the gaps
#: that hold the end of an iteration (its callbacks, evaluation, checkpoints); the rest is
#: each call's own round trip (~10 ms a call on 2 cores)
IDLE_AT_ITERATION_ENDS = 0.5
#: what makes sample() faster, by its largest part
_FASTER_SAMPLING = {
    "env": "a faster env, or more envs per runner (num_envs_per_env_runner=...)",
    "env_to_module": "lighter env-to-module connectors",
    "forward": "a smaller RLModule (its forward pass)",
    "module_to_env": "lighter module-to-env connectors (RLlib's default pipeline samples "
                     "the action distribution there)",
    "weight_pull": "fewer weight pulls (broadcast_interval=...)",
    "other": "lighter episode callbacks (on_episode_step runs in every step)",
}


def _sampling(samples, iteration_ends: list[float], first_iteration: int) -> dict | None:
    """How the training EnvRunners spent the run after its first iteration: ``busy`` (the
    median runner's share of the wall time inside sample()), ``idle_at_ends`` (the share
    of their idle time in gaps between calls that hold the end of an iteration, the
    driver's record of it), the largest part of sample() (``part``, ``part_share``);
    None without sample records."""
    if samples.empty or not {"runner_index", "sample_time_s", "time", "iteration"} <= \
            set(samples.columns):
        return None
    rows = samples[samples["iteration"] > first_iteration]
    if "evaluation" in rows:
        rows = rows[~rows["evaluation"].fillna(False).astype(bool)]
    ends = np.sort(np.asarray(iteration_ends, dtype=float))
    busy, totals, seconds, idle, at_ends = [], defaultdict(float), 0.0, 0.0, 0.0
    for _, runner in rows.dropna(subset=["sample_time_s", "time"]).groupby("runner_index"):
        runner = runner.sort_values("time")
        stops = runner["time"].to_numpy(float)
        starts = stops - runner["sample_time_s"].to_numpy(float)
        span = float(stops.max() - starts.min())
        if span > 0:
            busy.append(float(runner["sample_time_s"].sum()) / span)
        for stop, start in zip(stops[:-1], starts[1:], strict=True):
            gap = max(start - stop, 0.0)
            idle += gap
            if gap and np.any((ends > stop) & (ends < start)):
                at_ends += gap
        seconds += float(runner["sample_time_s"].sum())
        for part in SAMPLE_PARTS:
            if f"{part}_time_s" in runner:
                totals[part] += float(runner[f"{part}_time_s"].fillna(0).sum())
    if not busy or seconds <= 0:
        return None
    totals["other"] = max(seconds - sum(totals.values()), 0.0)
    part = max(totals, key=totals.get)
    return {"busy": round(float(np.median(busy)), 3), "part": part,
            "part_share": round(totals[part] / seconds, 3),
            "idle_at_ends": round(at_ends / idle, 3) if idle > 0 else 0.0,
            "idle_per_iteration_s": round(at_ends / max(len(busy), 1) / max(len(ends), 1), 3)}


#: a learner thread that waited for data this share of its time is starved ...
STARVED_SHARE = 0.5
#: ... over at least this many updates after the first iteration (warm-up)
MIN_STARVED_UPDATES = 5


def learner_starved_findings(trace, trial: str | None) -> list[Finding]:
    """IMPALA/APPO's learner thread, fed from a queue, waiting for data more than half of
    its time (after the first iteration): sampling cannot keep the learner busy."""
    updates = trace.updates
    needed = {"learner_thread", "wait_time_s", "update_time_s", "pid", "update", "iteration"}
    if updates.empty or not needed <= set(updates.columns):
        return []
    threaded = updates[updates["learner_thread"].fillna(False).astype(bool)]
    threaded = threaded[threaded["iteration"] > threaded["iteration"].min()]
    if threaded.empty:
        return []
    # the EnvRunners that feed every learner thread, read once for them all
    runners = trace.samples["runner_index"].nunique() if "runner_index" in \
        trace.samples.columns else None
    ends = [] if trace.iterations.empty or "time" not in trace.iterations else \
        trace.iterations["time"].dropna().tolist()
    sampling = _sampling(trace.samples, ends, int(threaded["iteration"].min()) - 1)
    findings = []
    for pid, rows in threaded.drop_duplicates(subset=["pid", "update"]).groupby("pid"):
        rows = rows.dropna(subset=["wait_time_s", "update_time_s"])
        if len(rows) < MIN_STARVED_UPDATES:
            continue
        waited, busy = float(rows["wait_time_s"].sum()), float(rows["update_time_s"].sum())
        share = waited / (waited + busy) if waited + busy > 0 else 0.0
        if share < STARVED_SHARE:
            continue
        update_ms = 1000 * busy / len(rows)
        if sampling is not None and sampling["busy"] < RUNNERS_BUSY and \
                sampling["idle_at_ends"] >= IDLE_AT_ITERATION_ENDS:
            why = (f" Yet its EnvRunners spent only {sampling['busy']:.0%} of the time in "
                   "sample(), and most of their idle time "
                   f"({sampling['idle_at_ends']:.0%}) fell where an iteration ended, about "
                   f"{sampling['idle_per_iteration_s']:.2f} s each: they waited for the "
                   "driver's own work between iterations (callbacks such as "
                   "on_train_result, evaluation, checkpoints).")
            fix = ("Make the driver's loop faster (rldebug profile shows its time: a slow "
                   "callback or evaluation is in its 'other'), or move that work off the "
                   "driver; more EnvRunners or a faster env help only while they sample.")
        else:
            where = "" if sampling is None else (
                f" The largest part of sample() is {_PART_NAMES[sampling['part']]} "
                f"({sampling['part_share']:.0%}).")
            why = " Sampling is the bottleneck; the learner is idle most of the time." + where
            faster = _FASTER_SAMPLING.get(sampling["part"], _FASTER_SAMPLING["env"]) \
                if sampling is not None else "a faster env or more envs per runner"
            fix = ("Feed the learner faster: more EnvRunners "
                   f"(config.env_runners(num_env_runners=...)), or {faster}; or give the "
                   "learner fewer resources.")
        findings.append(Finding(
            rule_id="learner_starved", severity="info", trial=trial,
            began_at_iteration=int(rows["iteration"].min()), module=None,
            message=(f"The learner thread (pid {int(pid)}) waited for data {share:.0%} of "
                     f"its time over {len(rows)} updates after the first iteration: "
                     f"{waited:.1f} s waiting against {busy:.1f} s updating "
                     f"({update_ms:.0f} ms per update on average).{why}"),
            fix=fix,
            evidence={"pid": int(pid), "wait_share": round(share, 3),
                      "updates": len(rows), "waited_s": round(waited, 3),
                      "updating_s": round(busy, 3), "update_ms_mean": round(update_ms, 1),
                      "env_runners": None if runners is None else int(runners),
                      **({} if sampling is None else {
                          "runners_busy": sampling["busy"], "sample_part": sampling["part"],
                          "sample_part_share": sampling["part_share"],
                          "idle_at_iteration_ends": sampling["idle_at_ends"]})}))
    return findings


__all__ = ["learner_starved_findings", "straggler_findings"]
