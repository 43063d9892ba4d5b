"""Where a traced run's time and memory went, per process: ``rldebug profile TRACE_DIR``.

From the records every trace level writes: each ``sample()`` call (its end time and
``sample_time_s``), each Learner update (``update_time_s``, once per update even when
it trains several modules), each iteration's end on the driver, and every record's
``rss_mb``. Per process it says how much of the traced wall time went to sampling,
to updates and to the rest — of ``sample()``, how much in the env's ``reset()`` and
``step()`` (measured around them, every sub-env) and, on the new stack, in the
connector pipelines and the RLModule's forward pass (the sections RLlib times,
:mod:`rldebug.shapes.timers`) — and how its memory moved; :func:`chrome_trace` writes the
same spans as Chrome trace-event JSON (one process per RLlib actor, spans for
``sample()`` and updates, an RSS counter), which Perfetto (ui.perfetto.dev) and
``chrome://tracing`` open.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

from rldebug.tracing.reading import Trace

US = 1e6  # trace-event timestamps are microseconds
# the parts of a sample() call and of an update a trace times: "<part>_time_s" in its
# samples and updates records
SAMPLE_PARTS = ("env", "env_to_module", "forward", "module_to_env", "weight_pull")
UPDATE_PARTS = ("forward", "loss", "backward", "optimizer", "batch", "trace")
# of the "env" part, the time in reset() (a samples record's env_reset_time_s)
ENV_RESET = "env_reset"
# the time from an update's end to the next one's start: an updates record carries it
# (wait_time_s) beside the parts, but it is not in the update
UPDATE_WAIT = "wait"


@dataclass
class ProcessTime:
    """One process of the run: its roles and where its traced wall time went."""

    pid: int
    host: str
    roles: list[str]
    wall_s: float  # first span start to last record
    sample_s: float
    sample_calls: int
    update_s: float
    updates: int
    rss_first_mb: float | None = None
    rss_last_mb: float | None = None
    rss_max_mb: float | None = None
    # of sample_s, seconds per part (SAMPLE_PARTS; a part a trace did not record is left
    # out): "env" the env's reset()/step() (measured around them, every sub-env); on the
    # new stack RLlib's own timed sections: the env-to-module connector pipeline, the
    # RLModule's forward pass, the module-to-env pipeline, and (APPO, IMPALA) the wait for
    # the newest weights from RLlib's EnvRunnerStateServer
    sample_parts_s: dict[str, float] = field(default_factory=dict)
    # of sample_parts_s["env"], the seconds in reset() (None: a trace from before)
    env_reset_s: float | None = None
    # of update_s, seconds per part (UPDATE_PARTS, new stack): the minibatches' forward
    # passes, losses, backward passes, optimizer steps; "batch" the rest of the update
    # (learner connector, minibatch iterator, RLlib's metrics); "trace" rldebug's own
    # records. They add up to update_s at most.
    update_parts_s: dict[str, float] = field(default_factory=dict)
    # the time from each update's end to the next one's start, summed (not in update_s:
    # a local Learner's rest of the iteration, a learner thread's wait for data)
    update_wait_s: float | None = None

    @property
    def other_s(self) -> float:
        return max(self.wall_s - self.sample_s - self.update_s, 0.0)

    @property
    def sample_other_s(self) -> float | None:
        """Of ``sample_s``, what its parts leave (RLlib's episode bookkeeping, callbacks);
        None where no part was timed."""
        return _rest(self.sample_s, self.sample_parts_s)

    @property
    def update_other_s(self) -> float | None:
        """Of ``update_s``, what its parts leave; None where no part was timed."""
        return _rest(self.update_s, self.update_parts_s)


def _rest(total: float, parts: dict[str, float]) -> float | None:
    return max(total - sum(parts.values()), 0.0) if parts else None


@dataclass
class Profile:
    processes: list[ProcessTime] = field(default_factory=list)
    iterations: int = 0
    # what the times above leave out: calls that raised (they record no span) and actors
    # restarted (the driver's wait for them is in its "other" time), one line each
    failures: list[str] = field(default_factory=list)
    # what makes the times above larger than the run's own, one line each
    caveats: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"iterations": self.iterations, "failures": self.failures,
                "caveats": self.caveats,
                "processes": [{**asdict(p), "other_s": p.other_s,
                               "sample_other_s": p.sample_other_s,
                               "update_other_s": p.update_other_s} for p in self.processes]}


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _spans(trace: Trace) -> list[dict]:
    """Every timed span: ``{pid, host, role, name, start, end, args}`` (seconds)."""
    spans = []
    if not trace.samples.empty and "sample_time_s" in trace.samples:
        for row in trace.samples.to_dict("records"):
            if not _finite(row.get("sample_time_s")):
                continue
            role = (f"EnvRunner {int(row['runner_index'])}"
                    if _finite(row.get("runner_index")) else "EnvRunner")
            spans.append({"pid": int(row["pid"]), "host": str(row.get("host", "")),
                          "role": role, "name": "sample()",
                          "start": row["time"] - row["sample_time_s"], "end": row["time"],
                          "args": {"env_steps": row.get("env_steps"),
                                   "iteration": row.get("iteration"),
                                   "sample_call": row.get("sample_call")},
                          "parts": {part: row.get(f"{part}_time_s")
                                    for part in (*SAMPLE_PARTS, ENV_RESET)}})
    if not trace.updates.empty and "update_time_s" in trace.updates:
        seen = set()
        for row in trace.updates.to_dict("records"):
            key = (row["pid"], row.get("update"))
            if key in seen or not _finite(row.get("update_time_s")):
                continue  # one span per update, however many modules it trained
            seen.add(key)
            spans.append({"pid": int(row["pid"]), "host": str(row.get("host", "")),
                          "role": "Learner", "name": "update",
                          "start": row["time"] - row["update_time_s"], "end": row["time"],
                          "args": {"update": row.get("update"),
                                   "iteration": row.get("iteration")},
                          "parts": {part: row.get(f"{part}_time_s")
                                    for part in (*UPDATE_PARTS, UPDATE_WAIT)}})
    return spans


def rss_by_process(trace: Trace) -> dict[int, list[tuple[float, float, int | None, str]]]:
    """Per pid, in time order: ``(time, rss_mb, iteration, role)`` of every record that
    carries an RSS (role: ``"EnvRunner <index>"``, ``"Learner"`` or ``"driver"``)."""
    points: dict[int, list] = {}
    for kind, frame in (("EnvRunner", trace.samples), ("Learner", trace.updates),
                        ("driver", trace.iterations)):
        if frame.empty or "rss_mb" not in frame:
            continue
        for row in frame.to_dict("records"):
            if not _finite(row.get("rss_mb")):
                continue
            role = (f"EnvRunner {int(row['runner_index'])}"
                    if kind == "EnvRunner" and _finite(row.get("runner_index")) else kind)
            iteration = row.get("iteration")
            points.setdefault(int(row["pid"]), []).append(
                (float(row["time"]), float(row["rss_mb"]),
                 int(iteration) if _finite(iteration) else None, role))
    return {pid: sorted(rows) for pid, rows in points.items()}


def profile(trace: Trace) -> Profile:
    """Per process: traced wall time, time in ``sample()`` and updates, memory."""
    return timeline(trace)[0]


def timeline(trace: Trace) -> tuple[Profile, list[dict], dict[int, list]]:
    """The profile, every timed span (``{pid, host, role, name, start, end, args, parts}``,
    seconds) and every process's RSS points (:func:`rss_by_process`): what a timeline
    draws."""
    spans, rss = _spans(trace), rss_by_process(trace)
    return _profile(trace, spans, rss), spans, rss


def _profile(trace: Trace, spans: list[dict], rss: dict[int, list]) -> Profile:
    drivers = set(trace.iterations["pid"].astype(int)) if not trace.iterations.empty else set()
    result = Profile(iterations=len(trace.iterations), failures=_failures(trace),
                     caveats=_caveats(trace))
    for pid in sorted({s["pid"] for s in spans} | set(rss) | drivers):
        own = [s for s in spans if s["pid"] == pid]
        times = [s["start"] for s in own] + [s["end"] for s in own] + \
            [point[0] for point in rss.get(pid, [])] + _iteration_starts(trace, pid)
        roles = sorted({s["role"] for s in own} | ({"driver"} if pid in drivers else set()))
        memory = [point[1] for point in rss.get(pid, [])]
        result.processes.append(ProcessTime(
            pid=pid, host=next((s["host"] for s in own), "") or _driver_host(trace, pid),
            roles=roles,
            wall_s=(max(times) - min(times)) if times else 0.0,
            sample_s=sum(s["end"] - s["start"] for s in own if s["name"] == "sample()"),
            sample_calls=sum(s["name"] == "sample()" for s in own),
            update_s=sum(s["end"] - s["start"] for s in own if s["name"] == "update"),
            updates=sum(s["name"] == "update" for s in own),
            rss_first_mb=memory[0] if memory else None,
            rss_last_mb=memory[-1] if memory else None,
            rss_max_mb=max(memory) if memory else None,
            sample_parts_s=_part_seconds(own, "sample()", SAMPLE_PARTS),
            env_reset_s=_part_seconds(own, "sample()", (ENV_RESET,)).get(ENV_RESET),
            update_parts_s=_part_seconds(own, "update", UPDATE_PARTS),
            update_wait_s=_part_seconds(own, "update", (UPDATE_WAIT,)).get(UPDATE_WAIT)))
    return result


def _iteration_starts(trace: Trace, pid: int) -> list[float]:
    """When a driver's iterations began (their record's time less ``time_this_iter_s``):
    its first record comes after its first sample() wait, which is the driver's time too."""
    frame = trace.iterations
    if frame.empty or "time_this_iter_s" not in frame:
        return []
    rows = frame[frame["pid"].astype(int) == pid]
    starts = rows["time"] - rows["time_this_iter_s"]
    return [float(t) for t in starts if _finite(t)]


def _driver_host(trace: Trace, pid: int) -> str:
    """The host a driver's iteration records name (a driver with no spans of its own)."""
    frame = trace.iterations
    if frame.empty or "host" not in frame:
        return ""
    hosts = frame.loc[frame["pid"].astype(int) == pid, "host"].dropna()
    return str(hosts.iloc[0]) if len(hosts) else ""


def _whole(value):
    """A count as the trace's frames hold it (floats, for NaN gaps) shown whole."""
    return int(value) if _finite(value) else value


def _caveats(trace: Trace) -> list[str]:
    """``memory=True``: tracemalloc traces every allocation of the EnvRunners it ran in."""
    if trace.samples.empty or "grown_sites" not in trace.samples:
        return []
    return [("traced with memory=True: tracemalloc records every allocation in the "
             "EnvRunners (and in this process, where one samples here), which makes sample() "
             "several times slower (4x in an audit's PPO run; a local EnvRunner's iterations "
             "60x). Time the run with a trace without memory=True.")]


def _failures(trace: Trace) -> list[str]:
    """The trace's failed calls and restarts, and what the trace does not time (the old
    stack's updates), as the profile's notes."""
    notes = []
    updates = trace.updates
    if not updates.empty and "stage" in updates and \
            (updates["stage"] == "learn_on_batch").any():
        notes.append("old API stack: a policy's learn_on_batch is recorded but not timed "
                     "(RLlib calls the trace's hook before it learns), so its updates are in "
                     "the driver's other time")
    if trace.events.empty or "column" not in trace.events:
        return notes
    events = trace.events.to_dict("records")
    for row in events:
        if row.get("column") == "env_runner_restarted":
            runners = ", ".join(str(i) for i in row.get("runner_indices") or [])
            notes.append(f"the driver (pid {_whole(row.get('pid'))}) restarted EnvRunner "
                         f"{runners} in iteration {_whole(row.get('iteration'))}: its wait is "
                         "in the driver's other time")
        elif row.get("source") == "sampling" and isinstance(row.get("error"), str):
            cause = next((e for e in events
                          if e.get("pid") == row.get("pid") and e.get("source") == "env"
                          and e.get("sample_call") == row.get("sample_call")
                          and isinstance(e.get("error"), str)), None)
            why = (f"{cause['error']} in {cause['column']}: {cause.get('message')}"
                   if cause else f"{row['error']}: {row.get('message')}")
            notes.append(f"sample() call {_whole(row.get('sample_call'))} of EnvRunner "
                         f"{_whole(row.get('runner_index'))} (pid {_whole(row.get('pid'))}) "
                         f"raised ({why}); a call that raised has no time above")
    return notes


def _part_seconds(spans: list[dict], name: str, parts: tuple[str, ...]) -> dict[str, float]:
    """Seconds a process's ``name`` spans spent per part (the parts that were recorded)."""
    seconds = {}
    for part in parts:
        values = [s["parts"][part] for s in spans
                  if s["name"] == name and _finite(s["parts"].get(part))]
        if values:
            seconds[part] = float(sum(values))
    return seconds


def chrome_trace(trace: Trace) -> dict:
    """Chrome trace-event JSON (``{"traceEvents": [...]}``) of the run's spans and RSS."""
    summary, spans, rss = timeline(trace)
    events = []
    for process in summary.processes:
        name = f"{', '.join(process.roles) or 'process'} (pid {process.pid}"
        name += f", {process.host})" if process.host else ")"
        events.append({"ph": "M", "name": "process_name", "pid": process.pid, "tid": 0,
                       "args": {"name": name}})
    for span in spans:
        events.append({"ph": "X", "name": span["name"], "cat": span["role"],
                       "pid": span["pid"], "tid": 0, "ts": round(span["start"] * US),
                       "dur": max(round((span["end"] - span["start"]) * US), 1),
                       "args": {k: v for k, v in span["args"].items() if _finite(v)}})
        # the seconds of each part, summed over the span (parts interleave: not sub-spans)
        events[-1]["args"].update({f"{part}_s": round(value, 6)
                                   for part, value in span["parts"].items() if _finite(value)})
    for pid, points in rss.items():
        events += [{"ph": "C", "name": "RSS (MiB)", "pid": pid, "tid": 0, "ts": round(t * US),
                    "args": {"rss_mb": mb}} for t, mb, _, _ in points]
    if not trace.iterations.empty:
        for row in trace.iterations.to_dict("records"):
            events.append({"ph": "i", "name": f"iteration {row.get('iteration')} done",
                           "pid": int(row["pid"]), "tid": 0, "s": "p",
                           "ts": round(row["time"] * US)})
    return {"traceEvents": events, "displayTimeUnit": "ms"}


__all__ = ["SAMPLE_PARTS", "UPDATE_PARTS", "ProcessTime", "Profile", "chrome_trace", "profile",
           "rss_by_process", "timeline"]
