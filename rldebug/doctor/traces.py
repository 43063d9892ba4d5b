"""Findings from an rldebug trace next to a run: where the first NaN/Inf came from.

Result dicts only say that a loss became NaN; the trace (``rldebug.trace``)
names the runner, agent or module, column and step where it first appeared.
The doctor looks for a trace in ``<run dir>/trace`` and reads only its JSON lines.
"""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rldebug.doctor.facts import config_number
from rldebug.doctor.findings import Finding
from rldebug.doctor.memory import memory_findings
from rldebug.doctor.reading import failure_dates
from rldebug.doctor.rules.base import fmt
from rldebug.doctor.rules.reward import rival_note
from rldebug.doctor.timing import learner_starved_findings, straggler_findings
from rldebug.shapes.episodes import DEFAULT_AGENT_ID
from rldebug.tracing import load_trace, trace_dir_of
from rldebug.tracing.layout import replay_config_file
from rldebug.tracing.reading import (
    TraceDamagedWarning,
    has_column_stats,
    present,
    training_sample_rows,
    whole,
)


def _where(event: dict) -> str:
    parts = []
    if event.get("source") == "sampling":
        index = whole(event.get("runner_index"))
        parts.append(f"EnvRunner {'?' if index is None else index} (pid {event.get('pid')})")
    else:
        parts.append(f"Learner (pid {event.get('pid')})")
    for key in ("agent_id", "module_id", "episode_id", "timestep", "env_step", "update",
                "minibatch"):
        value = whole(event.get(key))
        if value is not None:
            parts.append(f"{key}={value}")
    return ", ".join(parts)


@dataclass
class TraceReport:
    """What the doctor takes from a trace: its findings, and per agent the per-step
    reward statistics (``steps``, ``min``, ``max``; traces at level "batches"/"full")."""

    findings: list[Finding]
    reward_steps: dict[str, dict[str, float]]
    samples: Any = None  # the trace's samples (pandas), for rules that need the results too
    notes: list[str] = field(default_factory=list)  # what the trace could not tell


def column_totals(rows: list[dict], column: str) -> dict[str, dict[str, float]]:
    """Per agent, one trace column's statistics over the samples of training EnvRunners
    (``rows``, from :func:`training_sample_rows`): ``count`` values, their
    ``min``/``max``, the largest per-sample ``std`` and the ``first_iteration`` seen
    (levels "batches"/"full")."""
    out: dict[str, dict[str, float]] = {}
    for row in rows:
        if not isinstance(row.get(column), dict):
            continue
        for agent, stats in row[column].items():
            if not isinstance(stats, dict) or not stats.get("n") or "min" not in stats:
                continue
            seen = out.setdefault(str(agent), {
                "count": 0, "min": math.inf, "max": -math.inf, "std": 0.0,
                "first_iteration": int(row.get("iteration") or 0)})
            seen["count"] += int(stats["n"])
            seen["min"] = min(seen["min"], float(stats["min"]))
            seen["max"] = max(seen["max"], float(stats["max"]))
            seen["std"] = max(seen["std"], float(stats.get("std") or 0.0))
    return out


def reward_steps(rows: list[dict]) -> dict[str, dict[str, float]]:
    """Per agent: how many rewards the training samples saw (``steps``) and their min/max."""
    return {agent: {"steps": seen["count"], "min": seen["min"], "max": seen["max"],
                    "first_iteration": seen["first_iteration"]}
            for agent, seen in column_totals(rows, "rewards").items()}


def _constant_reward_findings(steps: dict[str, dict[str, float]], trial: str | None,
                              minimum_steps: int = 1000) -> list[Finding]:
    """An error per agent whose every traced reward was 0."""
    return [Finding(
        rule_id="reward_constant", severity="error", trial=trial,
        began_at_iteration=seen["first_iteration"], module=agent,
        message=(f"Every one of the {seen['steps']} rewards agent {agent!r} received in the "
                 f"trace was exactly {seen['min']:g}: the reward does not depend on what the "
                 "policy does, so there is nothing to learn."),
        fix=("Check the reward the env returns from step() for this agent (print it, or run "
             "rldebug.check_env): often a reward computed but not returned, returned for the "
             "wrong agent, or overwritten by a wrapper."),
        evidence={"reward": seen["min"], "steps": seen["steps"]})
        for agent, seen in steps.items()
        # A constant non-zero step reward still pays for longer episodes (CartPole's +1):
        # only a reward that is always 0 carries no signal whatever the episode does.
        if seen["steps"] >= minimum_steps and seen["min"] == seen["max"] == 0]


# Observations larger than this in size saturate a default network's first layer.
OBSERVATION_SCALE_HIGH = 1e3


def observation_findings(rows: list[dict], trial: str | None, minimum_steps: int = 1000
                         ) -> list[Finding]:
    """Per agent, from the training samples' observation statistics (levels
    "batches"/"full"): observations that never change (the module sees nothing) or are
    huge in size."""
    seen = column_totals(rows, "obs")
    findings = []
    for agent, obs in seen.items():
        if obs["count"] < minimum_steps:
            continue
        evidence = {"obs_min": obs["min"], "obs_max": obs["max"], "obs_std_max": obs["std"],
                    "values": obs["count"]}
        if obs["min"] == obs["max"]:
            findings.append(Finding(
                rule_id="observation_constant", severity="error", trial=trial,
                began_at_iteration=obs["first_iteration"], module=agent, evidence=evidence,
                message=(f"Every one of the {obs['count']} observation values agent "
                         f"{agent!r} got in the trace was {obs['min']:g}: the module sees "
                         "nothing, so it cannot act on the state."),
                fix=("Check what the env returns from reset()/step() and every wrapper or "
                     "env-to-module connector after it (a copy of a zeroed buffer, an "
                     "observation returned before it was filled)."),
            ))
        elif max(abs(obs["min"]), abs(obs["max"])) > OBSERVATION_SCALE_HIGH:
            size = max(abs(obs["min"]), abs(obs["max"]))
            findings.append(Finding(
                rule_id="observation_scale", severity="warning", trial=trial,
                began_at_iteration=obs["first_iteration"], module=agent, evidence=evidence,
                message=(f"Observations of agent {agent!r} reach {size:.3g} in size (range "
                         f"{obs['min']:.3g}..{obs['max']:.3g}): a network's first layer "
                         "saturates on inputs this large, so small differences between states "
                         "are lost and updates are erratic."),
                fix=("Scale observations to O(1) in the env or a wrapper, or add RLlib's "
                     "MeanStdFilter connector (config.env_runners(env_to_module_connector="
                     "lambda env, spaces, device: MeanStdFilter()))."),
            ))
    return findings


def summary_level_note(rows: list[dict]) -> str | None:
    """What a trace with samples but no per-column statistics in any of them could not
    check: it was recorded at level "summary", which keeps counts, returns and losses only
    (two users' observations x1e4 went unnamed so, without a word). A note on the
    reading, not a finding about the run."""
    if not rows or has_column_stats(rows):
        return None
    return (f"the trace's {len(rows)} sample records hold no observation or reward "
            "statistics (level \"summary\"), so its checks of observations that never change "
            "or are far from O(1), and of per-step rewards that never change, did not run; "
            "trace at level \"batches\" (rldebug.run(config, trace=\"batches\"), or "
            "rldebug.trace's default) to run them.")


# Episodes enough to say how they end; a time limit truncates at one length, so
# truncations whose longest is this many times their shortest are no time limit.
ENDINGS_MINIMUM = 20
TRUNCATIONS_VARY = 2.0


def termination_findings(rows: list[dict], trial: str | None) -> list[Finding]:
    """Every finished episode was reported truncated, at lengths that vary: truncation
    means a time limit (one length), so the env reports its terminal states (a fall, a
    goal) as truncated, and the value bootstraps past them (new stack traces)."""
    terminated = sum(int(present(r.get("terminated")) or 0) for r in rows)
    truncated = sum(int(present(r.get("truncated")) or 0) for r in rows)
    shortest = [r["truncated_len_min"] for r in rows
                if present(r.get("truncated_len_min")) is not None]
    longest = [r["truncated_len_max"] for r in rows
               if present(r.get("truncated_len_max")) is not None]
    if terminated or truncated < ENDINGS_MINIMUM or not shortest or \
            max(longest) < TRUNCATIONS_VARY * min(shortest):
        return []
    first = min(int(r.get("iteration") or 0) for r in rows if present(r.get("truncated")))
    return [Finding(
        rule_id="termination_misreported", severity="warning", trial=trial,
        began_at_iteration=first,
        evidence={"episodes_truncated": truncated, "episodes_terminated": 0,
                  "truncated_len_min": min(shortest), "truncated_len_max": max(longest)},
        message=(f"All {truncated} episodes in the trace ended truncated and none terminated, "
                 f"at lengths from {min(shortest):g} to {max(longest):g} steps. Truncation "
                 "means the episode was cut off (a time limit, at one length): the learner "
                 "then bootstraps the value of the last state as if the episode went on. "
                 "Ends at varying lengths are the env's own terminal states (a fall, a "
                 "goal), reported as truncated, so reaching them costs or pays nothing "
                 "beyond their last reward."),
        fix=("Return terminated=True from step() when the episode really ends (failure or "
             "goal) and truncated=True only when a time limit cuts it off; check wrappers "
             "that rewrite the two flags."),
    )]


def annotate_reward_findings(findings: list[Finding],
                             steps: dict[str, dict[str, float]]) -> None:
    """Add the trace's per-step rewards to ``reward_never_positive`` findings: the
    trace confirms that no step paid this agent more than 0 while other agents were
    paid (at least a warning, even beside an improving rival), or shows that some
    step did (info: the agent's positive rewards exist but never outweigh its
    penalties)."""
    for finding in findings:
        seen = steps.get(finding.module or DEFAULT_AGENT_ID)
        if finding.rule_id != "reward_never_positive" or seen is None:
            continue
        finding.evidence.update(step_reward_min=seen["min"], step_reward_max=seen["max"],
                                traced_steps=seen["steps"])
        others_paid = any(other["max"] > 0 for agent, other in steps.items()
                          if agent != (finding.module or DEFAULT_AGENT_ID))
        if seen["max"] <= 0 and others_paid:  # the env pays others, never this agent
            finding.severity = "warning" if finding.severity == "info" else finding.severity
            note = rival_note(finding.evidence.get("improving_agents") or [])
            finding.message = finding.message.replace(note, "") + (
                f" The trace confirms it: none of its {seen['steps']} step rewards was above "
                f"{seen['max']:g}, while other agents were paid more than 0.")
        elif seen["max"] > 0:  # it is paid, just not enough: a game it is losing
            finding.severity = "info"
            finding.message += (f" The trace shows step rewards up to {seen['max']:g}: "
                                "positive rewards exist but never outweigh its penalties.")


def read_trace_report(run_dir: str | Path, trial: str | None = None,
                      replay_capacity: float | None = None,
                      new_stack: bool | None = None) -> TraceReport | None:
    """The doctor's reading of the trace next to a run (None when there is none);
    ``replay_capacity``: the run's replay buffer capacity in env steps (DQN, SAC), on
    the new API stack or not (``new_stack``)."""
    directory = trace_dir_of(run_dir)
    if directory is None:
        return None
    with warnings.catch_warnings():  # the report names damaged lines as a finding
        warnings.simplefilter("ignore", TraceDamagedWarning)
        trace = load_trace(directory)
    rows = training_sample_rows(trace.samples)  # every rule below reads these
    steps = reward_steps(rows)
    findings = _event_findings(trace, trial)
    _add_replay_commands(findings, trace, directory)
    return TraceReport(findings=findings + _constant_reward_findings(steps, trial)
                       + observation_findings(rows, trial)
                       + termination_findings(rows, trial)
                       + memory_findings(trace, trial, replay_capacity, new_stack)
                       + straggler_findings(trace, trial)
                       + learner_starved_findings(trace, trial),
                       reward_steps=steps, samples=trace.samples,
                       notes=list(filter(None, [summary_level_note(rows)])))


def _add_replay_commands(findings: list[Finding], trace, directory: Path) -> None:
    """In a reproducible trace, tell each event's finding how to replay it to its step."""
    if not replay_config_file(directory).is_file():
        return
    from rldebug.reproduction import reproducible_events

    commands = {e.record.get("time"): f"rldebug reproduce {directory} --event {e.number}"
                for e in reproducible_events(directory) if e.reproducible}
    for finding in findings:
        command = commands.get(finding.evidence.get("event_time"))
        if command:
            finding.evidence["reproduce"] = command
            finding.fix += f" Replay it to that very step, in your debugger: {command}"


def _event_findings(trace, trial: str | None) -> list[Finding]:
    events = trace.events
    findings = [Finding(
        rule_id="trace_damaged", severity="info", trial=trial, began_at_iteration=0,
        module=None,
        message=(f"The trace file {name} has {len(lines)} line(s) that are not trace "
                 f"records (first: line {lines[0]}); they were skipped."),
        fix="The trace was changed or damaged after it was written; re-run with "
            "rldebug.trace to get a clean one.",
        evidence={"file": name, "lines": lines[:20]})
        for name, lines in trace.corrupt_lines.items()]
    records = events.sort_values("time").to_dict("records") if not events.empty else []
    crashes = [e for e in records if e.get("source") == "env"]
    restarts = [e for e in records if e.get("source") == "driver"]
    if crashes or restarts:
        findings.append(_crash_finding(crashes, restarts, trial))
        findings[-1].evidence["event_time"] = (crashes or restarts)[0].get("time")
    sample_crashes: dict[str, Finding] = {}  # by message: one finding per distinct crash
    for number, event in enumerate(records):
        column = event.get("column")
        if event.get("source") in ("env", "driver", "break_on") or str(column).startswith(
                "info."):
            continue  # crashes: one finding above; info and break_on events are no fault
        if event.get("source") == "relay":
            findings.append(Finding(
                rule_id="trace_records_lost", severity="info", trial=trial,
                began_at_iteration=int(event.get("iteration") or 0), module=None,
                message=f"The trace is missing records: {present(event.get('message'))}.",
                fix="The remote process could not reach the driver (it was busy or gone) "
                    "for long; the other records are complete.",
                evidence={"count": whole(event.get("count")), "pid": event.get("pid")}))
            continue
        if column == "sample" and event.get("source") == "sampling":
            crash = _sample_crash_finding(event, records[:number], trial)
            first = sample_crashes.setdefault(crash.message, crash)
            if first is crash:
                findings.append(crash)
            else:  # the same crash again (a restarted EnvRunner that fails the same way)
                again = first.evidence.setdefault("again_at_iterations", [])
                again.append(crash.began_at_iteration)
                first.message = (first.message.split(" It happened again")[0]
                                 + f" It happened again in iteration(s) "
                                 f"{', '.join(map(str, again))}.")
            continue
        if event.get("source") == "watchdog" and column == "stall":
            findings.append(_stall_finding(event, trial))
            continue
        if event.get("source") == "tracer" and column == "env_state":
            findings.append(Finding(
                rule_id="env_not_picklable", severity="info", trial=trial,
                began_at_iteration=int(event.get("iteration") or 0), module=None,
                message=(f"{present(event.get('message'))} ({present(event.get('error'))}): "
                         "what the env carries from one episode to the next (counters, "
                         "curricula, RNGs) is not restored in a replay."),
                fix="If a failure depends on earlier episodes, make the env picklable "
                    "(leave open handles out in __getstate__) and trace again.",
                evidence={"error": event.get("error")}))
            continue
        if event.get("source") == "tracer" and column == "sub_envs":
            if not any(f.rule_id == "env_steps_unseen" for f in findings):
                findings.append(Finding(
                    rule_id="env_steps_unseen", severity="info", trial=trial,
                    began_at_iteration=int(event.get("iteration") or 0), module=None,
                    message=(f"The trace could not see the env's own steps: "
                             f"{present(event.get('message'))}. An exception the env raised, "
                             "its non-finite values and info events at the step they happened, "
                             "and the episodes `rldebug reproduce` replays are not recorded; "
                             "what RLlib sampled is."),
                    fix="Trace with env_runners(gym_env_vectorize_mode='sync') (RLlib's "
                        "default) to record them.",
                    evidence={"pid": event.get("pid")}))
            continue
        if event.get("source") == "tracer":
            findings.append(Finding(
                rule_id="tracer_failed", severity="info", trial=trial,
                began_at_iteration=int(event.get("iteration") or 0), module=None,
                message=(f"rldebug's trace could not record '{column}': "
                         f"{present(event.get('error'))}. Training was not affected."),
                fix="Report it with the error above; the other trace records are complete.",
                evidence={"column": column, "error": event.get("error")}))
            continue
        if column == "rewards" and event.get("source") == "sampling":
            findings.append(_nan_reward_finding(event, trial))
            continue
        findings.append(Finding(
            rule_id="non_finite_in_trace", severity="error", trial=trial,
            began_at_iteration=int(event.get("iteration") or 0),
            module=present(event.get("module_id")) or present(event.get("agent_id")),
            message=f"The trace saw the first NaN/Inf in '{column}' at {_where(event)}.",
            fix=("Start where it first appeared: a NaN in rewards or observations comes "
                 "from the env (check it with rldebug.check_env); one that first appears "
                 "in advantages, losses or gradients comes from learning (lower lr, set "
                 "grad_clip, check reward scale)."),
            evidence={"column": column, "source": event.get("source"),
                      "value": event.get("value"), "event_time": event.get("time")}))
    return findings


def _stall_finding(event: dict, trial: str | None) -> Finding:
    """An iteration that ran far longer than the ones before it: where each process waited
    (the trace's stall watch took every stack, :mod:`rldebug.tracing.stalls`)."""
    stacks = [s for s in (event.get("stacks") or []) if isinstance(s, dict)]
    waits = [f"{s.get('role')} (pid {s.get('pid')}) at {s['waiting_at']}"
             for s in stacks if s.get("waiting_at")]
    user = [s for s in stacks if s.get("role") != "driver" and s.get("in_user_code")]
    median = event.get("recent_median_s")
    pace = f"; the recent iterations took {median:g} s (median)" if median else ""
    return Finding(
        rule_id="stalled_iteration", severity="warning", trial=trial,
        began_at_iteration=int(event.get("iteration") or 0), module=None,
        message=(f"Iteration {event.get('iteration')} had run {event.get('waited_s')} s when "
                 f"the stall watch took every process's stacks (its limit: "
                 f"{event.get('threshold_s')} s{pace}). "
                 + ("Where each waited: " + "; ".join(waits) + "." if waits else
                    "No process's stack could be read.")),
        fix=("Look at the line the stuck process waited at"
             + (f" ({user[0]['role']}: {user[0]['waiting_at']})" if user else "")
             + ": a blocking call (a lock, I/O, sleep, an external simulator) in the env or "
             "a callback holds up the whole iteration, since RLlib waits for every "
             "EnvRunner's sample(). The full stacks are in the trace's stall event "
             "(rldebug.load_trace(DIR).events)."),
        evidence={"waited_s": event.get("waited_s"), "threshold_s": event.get("threshold_s"),
                  "recent_median_s": median,
                  "waiting_at": {f"{s.get('role')}:{s.get('pid')}": s.get("waiting_at")
                                 for s in stacks},
                  "event_time": event.get("time")})


def _sample_crash_finding(event: dict, before: list[dict], trial: str | None) -> Finding:
    """An EnvRunner's ``sample()`` raised, and what came just before it in the same
    episodes (the same sample() call when the trace did not tape episodes): usually a
    non-finite observation."""
    in_play = set(event.get("episodes_in_play") or [])
    if in_play:  # a reproducible trace knows the episodes the sampler was playing
        cause = next((e for e in reversed(before) if e.get("source") == "sampling"
                      and present(e.get("episode_id")) in in_play), None)
    else:  # else: a non-finite step of the same runner in the same sample() call
        cause = next((e for e in reversed(before) if e.get("source") == "sampling"
                      and e.get("column") in ("obs", "rewards")
                      and whole(e.get("runner_index")) == whole(event.get("runner_index"))
                      and whole(e.get("sample_call")) == whole(event.get("sample_call"))),
                     None)
    raised_in_env = next((e for e in reversed(before) if e.get("source") == "env"
                          and whole(e.get("runner_index")) == whole(event.get("runner_index"))
                          and whole(e.get("sample_call")) == whole(event.get("sample_call"))),
                         None)
    said = str(event.get("message") or "")[:200]
    if raised_in_env is not None:  # RLlib re-raises the env's exception, its text often lost
        said = (f"the env's {str(raised_in_env.get('column', 'env.')).split('.', 1)[-1]}() "
                f"raised it: {str(raised_in_env.get('message'))[:200]}")
    message = (f"sample() on EnvRunner {whole(event.get('runner_index'))} raised "
               f"{event.get('error')}: {said}".rstrip(".") + ".")
    if cause is not None:
        message += (f" It came right after the non-finite '{cause.get('column')}' of "
                    f"{present(cause.get('agent_id')) or '?'} at env step "
                    f"{whole(cause.get('env_step'))} of the same episode: the module turned it "
                    "into non-finite action probabilities.")
    return Finding(
        rule_id="sampler_crashed", severity="error", trial=trial,
        began_at_iteration=int(event.get("iteration") or 0),
        module=present(cause.get("agent_id")) if cause is not None else None,
        message=message,
        fix=("Find where the env produces the non-finite value at that step and guard it (a "
             "division by zero, log(0), an overflow); rldebug.check_env names bad "
             "observations." if cause is not None else
             "Fix the exception in the env (reproduce it with rldebug.check_env, or in local "
             "mode, where it stops in your debugger)." if raised_in_env is not None else
             "Read the error: it was raised while sampling (the module's forward pass, a "
             "connector or the env)."),
        evidence={"error": event.get("error"), "episodes_in_play": sorted(in_play),
                  "cause": None if cause is None else cause.get("column"),
                  "event_time": (cause or event).get("time")})


def _nan_reward_finding(event: dict, trial: str | None) -> Finding:
    """The env returned a NaN/inf reward: where, from the trace's first such event."""
    agent = present(event.get("agent_id")) or present(event.get("module_id"))
    return Finding(
        rule_id="non_finite_reward", severity="error", trial=trial,
        began_at_iteration=int(event.get("iteration") or 0), module=agent,
        message=(f"The env returned a non-finite reward ({event.get('value')}) at "
                 f"{_where(event)}: this is where the NaN starts; losses and returns computed "
                 "from it are non-finite too."),
        fix=("Reproduce that step (same env config, seed and episode) and guard the reward "
             "computation (division by zero, log(0), a NaN observation); "
             "rldebug.check_env(env) steps the env and names bad rewards."),
        evidence={"column": "rewards", "value": event.get("value"),
                  "runner_index": whole(event.get("runner_index")), "agent_id": agent,
                  "episode_id": present(event.get("episode_id")),
                  # written at the step (env_step), or found at the end of sample()
                  "timestep": whole(event.get("env_step", event.get("timestep"))),
                  "event_time": event.get("time")})


def errored_finding(error_text: str, trial: str | None, iterations: int,
                    recovered: bool = False, failed_in: int | None = None) -> Finding:
    """A finding for a trial that ended with an exception (Tune's ``error.txt``), or,
    ``recovered``, one that Tune restored after it failed and that went on (a warning:
    the failure did not end the run, but its cause is still there; ``failed_in``: the
    first iteration whose work the failure lost, where known).

    RLlib re-raises an env's exception (``raise RuntimeError from e``), and Ray wraps
    it again, so the finding names the first exception of the chain (the root
    cause) and the last one, with the traceback lines that lead to the root cause.
    """
    error_text = _ANSI_ESCAPE.sub("", error_text)
    lines = [line.rstrip() for line in error_text.strip().splitlines() if line.strip()]
    raised = [(number, _EXCEPTION_LINE.match(line)) for number, line in enumerate(lines)
              if not line.startswith((" ", "\t"))]
    raised = [(number, match) for number, match in raised if match]
    if raised:
        # the root of what was finally raised: a chain of ``raise ... from`` leads back
        # to its first exception; one raised while handling another (RLlib re-raises a
        # module catalog's saved error from the AttributeError it caused) starts anew
        handling = [number for number, line in enumerate(lines) if line == _WHILE_HANDLING]
        start = max((n for n in handling if n < raised[-1][0]), default=-1)
        chain = [(number, match) for number, match in raised if number > start]
        number, root = chain[0]
        kind, detail = root.group(1), (root.group(2) or "").strip()
        last = lines[max(0, number - 5):number + 1]
        final = raised[-1][1].group(1)
        wrapped = f" (re-raised as {final})" if final != kind else ""
        earlier = [match for n, match in raised if n < start]
        if earlier:
            first = earlier[0]
            detail += (f" (raised while handling {first.group(1)}: "
                       f"{(first.group(2) or '').strip()[:150]})")
    else:
        kind, detail, wrapped = "an exception", lines[-1] if lines else "(empty error.txt)", ""
        last = lines[-6:]
    known, what = next(((meaning, what) for pattern, meaning, what in KNOWN_CRASHES
                        if re.search(pattern, error_text)), (None, None))
    failures = len(failure_dates(error_text)) or 1
    went_on = "" if not recovered else (
        f" Tune restored it from a checkpoint: it went on to iteration {iterations}, so the "
        "failure did not end the run." if failures == 1 else
        f" It failed {failures} times (the last failure is quoted) and Tune restored it from "
        f"a checkpoint each time: it went on to iteration {iterations}, so no failure ended "
        "the run.")
    return Finding(
        rule_id="trial_errored", severity="warning" if recovered else "error", trial=trial,
        began_at_iteration=(failed_in or 1) if recovered else iterations + 1, module=None,
        message=((f"The trial failed with {kind}{wrapped}" if recovered else
                  f"The trial stopped with {kind}{wrapped} after {iterations} iteration(s)")
                 + (f": {detail[:300]}" if detail else ".")
                 + ("." if (known or went_on) and detail and not detail[:300].endswith(".")
                    else "")
                 + (f" {known}" if known else "") + went_on),
        fix=(("Its cause is still there, and costs a restore each time it strikes: read"
              if recovered else "Read")
             + " the traceback's last frames (above, and in error.txt); if it comes from "
             "the env, reproduce it with rldebug.check_env or in local mode "
             "(rldebug.run / rldebug debug), where it stops in your debugger."),
        evidence={"exception": kind, "raised_as": raised[-1][1].group(1) if raised else None,
                  "last_lines": "\n".join(last), "non_finite": what == "non_finite",
                  **({"q_values_zero_or_nan": True} if what == "q_values_zero_or_nan" else {})})


def nan_from_the_data(errored: Finding, iterations: int, config: dict | None) -> Finding | None:
    """The likely source of a NaN crash that came before the first iteration ended.

    Weights that diverge (a learning rate far too high) show it over iterations first:
    growing losses, Q-values or KL. A run that crashed on a NaN before its first
    iteration completed had at most that iteration's updates, and an Adam step moves
    each weight by about ``lr``: at ``lr <= NAN_LR_TOO_SMALL_TO_DIVERGE`` a few hundred
    steps cannot reach inf, so the NaN came in with the data, a reward or an
    observation. A warning (inferred, not seen: a trace shows the step), which then
    explains the crash. None when the crash was no NaN, came later, or the lr is large.
    """
    rates = [rate for key in ("lr", "actor_lr", "critic_lr")
             if (rate := config_number(config, key)) is not None]
    if not errored.evidence.get("non_finite") or iterations > 0 or not rates or \
            max(rates) > NAN_LR_TOO_SMALL_TO_DIVERGE:
        return None
    return Finding(
        rule_id="non_finite_reward", severity="warning", trial=errored.trial,
        began_at_iteration=1, module=None,
        message=("Most likely the env returned a NaN/inf reward (or observation): the run "
                 "crashed on a NaN before its first iteration completed, after at most that "
                 f"iteration's updates at lr={fmt(max(rates))}, too few for weights to "
                 "diverge (that shows as growing losses or Q-values over iterations first)."),
        fix=("Run rldebug.check_env(env) to step the env and name a bad reward or "
             "observation, or train again with rldebug.run(config, trace='summary'): the "
             "trace names the runner, episode and step of the first non-finite value."),
        evidence={"inferred": True, "iterations_completed": iterations, "lr": max(rates),
                  "crash": errored.evidence.get("exception")})


# An Adam learning rate at or below this moves no weight to inf in one iteration's updates.
NAN_LR_TOO_SMALL_TO_DIVERGE = 0.01


# RLlib 2.60 crashes whose message does not say what happened: (pattern in error.txt, what
# it means, what reached a place that cannot hold it: "non_finite" for a NaN/inf,
# "q_values_zero_or_nan" for Q-values that are all 0, NaN or -inf).
KNOWN_CRASHES = (
    (r"find_prefixsum_idx[\s\S]*assert 0 <= prefixsum",
     ("This assertion in the prioritized replay buffer's segment tree means its "
      "priorities are NaN: a TD error turned NaN, from a NaN reward or diverged Q-values."),
     "non_finite"),
    (r"probability tensor contains either `inf`, `nan`",
     "The module's action distribution is NaN: a NaN observation or diverged weights.",
     "non_finite"),
    # default_dqn_torch_rl_module._forward_exploration draws its epsilon-greedy random
    # action among the actions whose Q-value is not 0 after torch.nan_to_num(neginf=0.0),
    # which maps NaN and -inf to 0 too (a masked action's Q-value is -inf)
    (r"_forward_exploration[\s\S]*invalid multinomial distribution \(sum of probabilities",
     ("RLlib's DQN draws its random (epsilon-greedy) action among the actions whose "
      "Q-value is not 0, NaN or -inf (how it reads a masked action): for some observation "
      "every action's Q-value was one of those. Either the Q-network's outputs died at 0 "
      "(zero targets everywhere, as with rewards that are 0 within the horizon gamma "
      "sees: qf_loss and the gradient norm then about 0), or they turned NaN (a NaN "
      "reward, or weights blown up by too large an lr: qf_loss non-finite or growing)."),
     "q_values_zero_or_nan"),
    # torch's F.linear on an input of another width than the layer's: RLlib's default
    # modules size their first layer from the observation space they were built with
    (r"mat1 and mat2 shapes cannot be multiplied",
     ("A network got inputs of another size than it was built for (the second number of "
      "the first shape is the input's width, the first of the second the layer's). In a "
      "multi-agent run this is most often an agent whose policy_mapping_fn sends it to a "
      "module built for another agent's observation space (check that every agent id maps "
      "to a module of its own observation size, in every episode); else an observation, "
      "or a connector's or wrapper's output, shaped otherwise than the space the module "
      "was built from, or a custom model's layers sized for another input."),
     "input_width"),
)

# "IndexError: ...", "ray.exceptions.RayTaskError(IndexError): ...", "ValueError"
_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")  # Ray colours its actor names in tracebacks
_WHILE_HANDLING = "During handling of the above exception, another exception occurred:"
_EXCEPTION_LINE = re.compile(
    r"^((?:[A-Za-z_][\w]*\.)*[A-Za-z_]\w*(?:Error|Exception|Interrupt|Exit|Warning)"
    r"(?:\([\w.]+\))?)(?::(.*))?$")


def _crash_finding(crashes: list[dict], restarts: list[dict], trial: str | None) -> Finding:
    """One finding for the env crashes and EnvRunner restarts of a run."""
    runners = sorted({int(e["runner_index"]) for e in crashes
                      if present(e.get("runner_index")) is not None})
    errors = sorted({str(e.get("error")) for e in crashes})
    restarted = sorted({int(i) for e in restarts for i in (e.get("runner_indices") or [])})
    first = (crashes or restarts)[0]
    repeated = len(crashes) >= 2 or len(restarts) >= 2
    message = (f"The env raised {len(crashes)} time(s) ({', '.join(errors) or 'no error seen'}) "
               f"on EnvRunner(s) {runners or '?'}, and RLlib recreated EnvRunner(s) "
               f"{restarted or 'none'} {len(restarts)} time(s).")
    if crashes:
        message += f" First: {first.get('error')}: {first.get('message')}"
    return Finding(
        rule_id="env_runner_crashes", severity="warning" if repeated else "info", trial=trial,
        began_at_iteration=int(first.get("iteration") or 0), module=None, message=message,
        fix=("Fix the exception in the env (reproduce it with rldebug.check_env or in local "
             "mode, where it stops in your debugger). Each crash costs a restarted EnvRunner "
             "and its unfinished episodes (fault_tolerance(restart_failed_env_runners=True) "
             "only hides it)."),
        evidence={"crashes": len(crashes), "restarts": len(restarts), "runners": runners,
                  "errors": errors})


__all__ = ["TraceReport", "annotate_reward_findings", "errored_finding", "nan_from_the_data",
           "read_trace_report",
           "reward_steps"]
