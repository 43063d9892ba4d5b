"""The result of ``rldebug.diff``: text, JSON and (in :mod:`.html`) a self-contained page."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rldebug.rundiff.configs import ConfigRow
from rldebug.rundiff.curves import SUSTAIN, MetricComparison
from rldebug.rundiff.speed import SpeedRow
from rldebug.rundiff.traces import TraceRow
from rldebug.usage import json_text


@dataclass
class FindingDiff:
    """A doctor finding one run has and the other has not."""

    rule_id: str
    module: str | None
    severity: str
    only_in: str  # "a" or "b"
    # the severity the other run gives the same rule and subject (None: no such finding)
    other_severity: str | None = None

    def text(self) -> str:
        """``only in b: warning kl_blowup (default_policy; info in a)``."""
        where = [self.module] if self.module else []
        if self.other_severity:
            where.append(f"{self.other_severity} in {'b' if self.only_in == 'a' else 'a'}")
        return (f"only in {self.only_in}: {self.severity} {self.rule_id}"
                + (f" ({'; '.join(where)})" if where else ""))

    def to_dict(self) -> dict:
        return dict(vars(self))


@dataclass
class RunDiff:
    run_a: str
    run_b: str
    metric: str
    trials_a: list[str]
    trials_b: list[str]
    algorithm_a: str | None
    algorithm_b: str | None
    config: list[ConfigRow]
    metrics: list[MetricComparison]
    traces: list[TraceRow] = field(default_factory=list)
    findings: list[FindingDiff] = field(default_factory=list)
    # what the doctor says of a side that crashed before its first result (else None):
    # it has a config and a crash to compare, no metric
    crashed_a: str | None = None
    crashed_b: str | None = None
    # what the doctor says of a side whose trial crashed after some results (else None):
    # its curves end there
    crashed_later_a: str | None = None
    crashed_later_b: str | None = None
    # how fast each side ran (RLlib's timers): said beside the verdict, never part of it
    speed: list[SpeedRow] = field(default_factory=list)

    @property
    def main(self) -> MetricComparison | None:
        """The comparison of the chosen metric."""
        return next((m for m in self.metrics if m.metric == self.metric), None)

    @property
    def parts(self) -> bool:
        """Whether the runs part on the chosen metric (by iteration or by env steps), or
        one crashed (before its first result or after) and the other did not."""
        if self.crashed_a or self.crashed_b or self.crashed_later_side:
            return (bool(self.crashed_a or self.crashed_later_a)
                    != bool(self.crashed_b or self.crashed_later_b))
        return bool(self.main and self.main.parts)

    @property
    def crashed_later_side(self) -> str | None:
        """"a" or "b": the side whose trial crashed after its first results while the
        other side's did not crash (None otherwise)."""
        if bool(self.crashed_later_a) == bool(self.crashed_later_b):
            return None
        return "a" if self.crashed_later_a else "b"

    @property
    def comparable(self) -> bool:
        """Whether the chosen metric could be compared: both sides report it, over at
        least ``SUSTAIN`` common iterations (or one side crashed: the crash is what
        differs). ``parts`` is False when it could not."""
        if self.crashed_a or self.crashed_b or self.crashed_later_side:
            return True
        main = self.main
        return main is not None and not main.only_in and not main.too_short

    def to_dict(self) -> dict[str, Any]:
        return {"run_a": self.run_a, "run_b": self.run_b, "metric": self.metric,
                "parts": self.parts, "comparable": self.comparable,
                "trials_a": self.trials_a, "trials_b": self.trials_b,
                "algorithm_a": self.algorithm_a, "algorithm_b": self.algorithm_b,
                "config": [r.to_dict() for r in self.config],
                "metrics": [m.to_dict() for m in self.metrics],
                "traces": [t.to_dict() for t in self.traces],
                "findings": [f.to_dict() for f in self.findings],
                "crashed_a": self.crashed_a, "crashed_b": self.crashed_b,
                "crashed_later_a": self.crashed_later_a,
                "crashed_later_b": self.crashed_later_b,
                "speed": [s.to_dict() for s in self.speed]}

    def crash_lines(self) -> list[str]:
        """A line for each side whose trial crashed after its first results."""
        return [f"run {side} crashed after its first results: {crash}" for side, crash
                in (("a", self.crashed_later_a), ("b", self.crashed_later_b)) if crash]

    def to_json(self) -> str:
        return json_text(self.to_dict())

    def write_html(self, path: str | Path) -> Path:
        from rldebug.rundiff.html import write_html

        return write_html(self, path)

    def __str__(self) -> str:
        out = [f"a: {self.run_a} ({len(self.trials_a)} trial(s), {self.algorithm_a or '?'})",
               f"b: {self.run_b} ({len(self.trials_b)} trial(s), {self.algorithm_b or '?'})"]
        out.append("")
        if self.config:
            out.append(f"Config: {len(self.config)} difference(s), RLlib defaults filled in")
            for row in self.config:
                out.append(f"  {row.key}: {row.shown('a')}  ->  {row.shown('b')}")
        else:
            out.append("Config: the same (RLlib defaults filled in)")
        out.append("")
        if self.crashed_a or self.crashed_b:
            out.append("Metrics: none to compare (a run without a result)")
        else:
            out.append("Metrics (means over each side's trials; a -> b at the last common "
                       "iteration):")
        for m in self.metrics:
            where = parting_text(m)
            out.append(f"  {m.metric}: {_num(m.final_a)} -> {_num(m.final_b)}; {where}")
        main = self.main
        if main is not None:
            out.append(f"  noise for {main.metric}: {main.noise_source}")
            if main.cut_short:
                out.append(f"  {main.metric} {main.cut_short}.")
        out += [f"  {line}" for line in self.crash_lines()]
        if self.traces:
            out.append("")
            out.append("Traces (last quarter of each run):")
            for t in self.traces:
                distance = f", {t.distance_text()}" if t.distance_text() else ""
                out.append(f"  {t.agent}: return {_num(t.return_a)} -> {_num(t.return_b)}"
                           f"{distance}")
        if self.speed:
            out.append("")
            out.append("Speed (each run's own time, from RLlib's timers; another machine or "
                       "load changes it too):")
            for s in self.speed:
                ratio = f" (b/a {s.ratio:.2f})" if s.ratio is not None else ""
                out.append(f"  {s.label}: {speed_text(s.a, s.unit)} -> "
                           f"{speed_text(s.b, s.unit)}{ratio}")
        if self.findings:
            out.append("")
            out.append("Doctor findings in one run only:")
            out += [f"  {f.text()}" for f in self.findings]
        out.append("")
        out.append(verdict_text(self))
        return "\n".join(out)


def speed_text(value: float, unit: str) -> str:
    """``776/s`` or ``2.58 s`` (``1234 s``, not ``1.23e+03 s``)."""
    if unit == "/s":
        return f"{value:.0f}/s" if value >= 10 else f"{value:.3g}/s"
    return f"{value:.0f} s" if value >= 100 else f"{value:.3g} s"


def _where_parted(m: MetricComparison) -> str:
    steps = None if m.by_env_steps is None else f"{int(m.by_env_steps.at)} env steps"
    if m.by_iteration is None:
        return f"at {steps} (not by iteration)"
    p = m.by_iteration
    text = (f"at iteration {int(p.at)} ({_num(p.a)} vs {_num(p.b)}; gap of the 3-iteration "
            f"means {_num(abs(p.gap))}, {_num(p.needed)} needed)")
    return text if steps is None else f"{text} and at {steps}"


def _why_not_parted(m: MetricComparison) -> str:
    if m.final_gap is None or m.final_needed is None:
        return "beyond its noise"
    gap = f"gap of the 3-iteration means {_num(abs(m.final_gap))} at the last iteration"
    if abs(m.final_gap) > m.final_needed:
        return (f"for {SUSTAIN} iterations in a row: apart only at the end ({gap}; train "
                "longer to tell)")
    return f"beyond its noise ({gap}, {_num(m.final_needed)} needed)"


def parting_text(m: MetricComparison) -> str:
    """A metric's line: where it parts, or why it does not."""
    if m.only_in:
        return (f"reported by run {m.only_in} only: nothing to compare it with (the other "
                "run names it otherwise, as another API stack or env does, or never logs it)")
    if m.too_short and not m.parts:
        return (f"cannot part over {len(m.axis_iterations)} common iteration(s) (a gap "
                f"counts when it holds {SUSTAIN} in a row)")
    return f"parts {_where_parted(m)}" if m.parts else f"does not part {_why_not_parted(m)}"


def verdict_text(d: RunDiff) -> str:
    """The last line of the report: whether the runs part on the chosen metric."""
    if d.crashed_a and d.crashed_b:
        return (f"Both runs crashed before their first result. a: {d.crashed_a} b: "
                f"{d.crashed_b}")
    if d.crashed_a or d.crashed_b:
        side, crash = ("a", d.crashed_a) if d.crashed_a else ("b", d.crashed_b)
        later = d.crashed_later_b if side == "a" else d.crashed_later_a
        other = (f"the other crashed after its first results ({later})" if later else
                 "the other did not (the config differences above are the suspects)")
        return f"Run {side} crashed before its first result, {other}. {crash}"
    m = d.main
    side = d.crashed_later_side
    if side is not None:
        crash = (d.crashed_later_a if side == "a" else d.crashed_later_b).rstrip(".")
        said = (f"there is no {d.metric} to compare" if m is None else
                f"the runs part on {d.metric} {_where_parted(m)}" if m.parts else
                f"the runs do not part on {d.metric} {_why_not_parted(m)}")
        return (f"Run {side} crashed, the other did not (the config differences above are "
                f"the suspects): {crash}. Up to where its curves end, {said}.")
    if m is None:
        return f"The runs do not part on {d.metric}: neither side has it."
    if m.only_in:
        return (f"The runs cannot be compared on {d.metric}: only run {m.only_in} reports "
                "it (the config differences above, as another env or API stack, name it "
                "otherwise). Pick a metric both report with --metric.")
    if m.too_short:
        shared = len(m.axis_iterations)
        if m.cut_short:  # some trials went on: the shortest one ends the common range
            advice = f"The shortest trial ends it: {m.cut_short}."
        elif not shared:
            advice = "Their iterations do not overlap (a restored trial counts on from its own)."
        else:
            advice = f"Train both for at least {SUSTAIN} iterations."
        return (f"The runs cannot be compared on {d.metric}: they share {shared} "
                f"iteration(s), and a gap counts only when it holds {SUSTAIN} iterations in a "
                f"row. {advice}")
    if m.parts and len(d.trials_a) == len(d.trials_b) == 1:
        return (f"The runs part on {d.metric} {_where_parted(m)}, beyond the curves' jitter; "
                "one trial per side cannot tell that from the difference seeds make (see "
                "the noise above).")
    if m.parts:
        return f"The runs part on {d.metric} {_where_parted(m)}."
    return f"The runs do not part on {d.metric} {_why_not_parted(m)}."


def _num(value) -> str:
    return "—" if value is None else f"{value:.4g}"


__all__ = ["FindingDiff", "RunDiff"]
