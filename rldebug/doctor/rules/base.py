"""What every rule shares: the :class:`Rule` interface and small streak bookkeeping."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import ClassVar

from rldebug.doctor.facts import RunFacts
from rldebug.doctor.findings import Finding
from rldebug.doctor.metrics import IterationMetrics
from rldebug.doctor.thresholds import Thresholds
from rldebug.usage import UsageTypeError


def finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


# What a later rise of the return can answer of a rule's findings (Rule.answered_by_rise).
ANSWERED_BY_RISE = ("none", "warnings", "all")

# Episodes at least this many times longer than the steps of reward an advantage sees (the
# discount's horizon; GAE's, where the critic predicts nothing): a reward at an episode's
# end reaches almost none of the steps that led to it.
HORIZON_SHORTFALL = 20


class Rule:
    """One diagnosis, fed one iteration at a time.

    Subclasses set :attr:`rule_id` and implement :meth:`observe`, which returns
    the findings that *begin* at this iteration (each is reported once per
    subject and severity). Rules keep their own state, so one instance follows
    one run.

    :param thresholds: already resolved with the run's config
        (:meth:`Thresholds.with_config`).
    :param facts: the run's config values and env facts (:class:`RunFacts`).
    """

    rule_id: ClassVar[str] = ""
    #: Which of this rule's findings a later clear rise of the return can answer (the
    #: doctor's revisit turns them into info): ``"none"``; ``"warnings"``, a warning of a
    #: cost the run may turn out not to pay; ``"all"``, a claim that the return does not
    #: improve. :meth:`rise_answers` judges each rise.
    answered_by_rise: ClassVar[str] = "none"
    #: The finding is a claim about the return itself, judged on the latest half-window
    #: (a dip in the middle of the run must not hide a recovery). A setting that cripples
    #: learning (gamma, lr, a clipped critic) is answered only by a rise over the window.
    about_the_return: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.answered_by_rise not in ANSWERED_BY_RISE:
            raise UsageTypeError(
                f"{cls.__name__}.answered_by_rise is {cls.answered_by_rise!r}; it must be one "
                f"of {', '.join(map(repr, ANSWERED_BY_RISE))}")

    def __init__(self, thresholds: Thresholds, facts: RunFacts | None = None):
        self.thresholds = thresholds
        self.facts = facts or RunFacts()
        self._reported: set[tuple[str | None, str]] = set()

    def observe(self, metrics: IterationMetrics, findings: Sequence[Finding]) -> list[Finding]:
        """Findings that begin with ``metrics``; ``findings`` are all reported so far."""
        raise NotImplementedError

    def finish(self, needed: int, findings: Sequence[Finding]) -> list[Finding]:
        """The run ended before its return could be judged; ``needed`` returns (a baseline
        and a window) are enough to judge it here. Findings a rule names only on a judged
        return, and can name on those, begin now (default: none)."""
        return []

    def answerable(self, finding: Finding) -> bool:
        """Whether a clear rise of the return could still answer ``finding`` (see
        :attr:`answered_by_rise`; one that was answered, or is info, is done)."""
        if finding.severity == "info" or "resolved_at_iteration" in finding.evidence:
            return False
        return self.answered_by_rise == "all" or (
            self.answered_by_rise == "warnings" and finding.severity == "warning")

    def rise_answers(self, finding: Finding, progress: dict) -> bool:
        """Whether this clear rise of the return (``progress``, :meth:`ReturnHistory.
        progress`) answers ``finding``. Rules whose findings a rise answers only in part
        (one away from the env's declared success, one short of it) say so here."""
        return True

    def _once(self, module: str | None, severity: str, **kwargs) -> list[Finding]:
        """A one-element list with a new finding, or [] if it was reported already."""
        if (module, severity) in self._reported:
            return []
        self._reported.add((module, severity))
        return [Finding(rule_id=self.rule_id, severity=severity, module=module, **kwargs)]


class KeptFinding:
    """The one warning a rule keeps up to date for the rest of the run (a run-long count
    that rose, and where): made at the first iteration with something to report; at each
    later one, its evidence is revised and its message rewritten from it.

    :param rule: the rule it belongs to (its :meth:`Rule._once` makes the finding).
    :param message: the message for an evidence dict.
    :param fix: what to do, fixed when the finding is made.
    :param severity: the finding's severity.
    :param subject: the module or agent an evidence dict concerns (None: the whole run),
        asked again at each revision; by default the whole run.
    """

    def __init__(self, rule: Rule, message: Callable[[dict], str], fix: str,
                 severity: str = "warning",
                 subject: Callable[[dict], str | None] = lambda evidence: None):
        self.rule, self.message, self.fix, self.severity = rule, message, fix, severity
        self.subject = subject
        self.finding: Finding | None = None

    def report(self, iteration: int, start: dict, revise: Callable[[dict], None]
               ) -> list[Finding]:
        """``revise`` this iteration into the finding's evidence (``start`` when there is
        no finding yet): the new finding, or [] when it only changed the kept one."""
        if self.finding is not None:
            revise(self.finding.evidence)
            self.finding.message = self.message(self.finding.evidence)
            self.finding.module = self.subject(self.finding.evidence)
            return []
        revise(start)
        new = self.rule._once(self.subject(start), self.severity, began_at_iteration=iteration,
                              evidence=start, message=self.message(start), fix=self.fix)
        self.finding = new[0] if new else None
        return new


class Streak:
    """Length and first iteration of the current run of consecutive True conditions."""

    __slots__ = ("length", "start")

    def __init__(self) -> None:
        self.start: int | None = None
        self.length = 0

    def update(self, condition: bool, iteration: int) -> int:
        """Record this iteration's condition; return the streak length."""
        if condition:
            if self.length == 0:
                self.start = iteration
            self.length += 1
        else:
            self.start, self.length = None, 0
        return self.length


class Streaks(dict):
    """A :class:`Streak` per subject (module or agent id), created on first use."""

    def __missing__(self, key: str) -> Streak:
        streak = self[key] = Streak()
        return streak


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values)


def _variance(values: Sequence[float]) -> float:
    if len(values) < 2:
        return 0.0
    mean = _mean(values)
    return sum((v - mean) ** 2 for v in values) / (len(values) - 1)


class ReturnHistory:
    """Mean returns per subject (an agent, a module, or None for the whole run), one
    per iteration, and whether they improved.

    "Flat" is judged against the larger of two scales, so that neither noise nor
    a wobble of a few collisions counts as progress: ``flat_tolerance`` times the
    spread of episode returns within the first iterations, and two standard errors
    of the difference between the early and recent means. Never against the size
    of the return itself: 0 is no reference point (20% of Pendulum's -1200 is a
    large improvement).

    A return that rose and now equals the best episode return of the whole run (within
    ``flat_tolerance`` of the range of episode returns seen) is not flat, however
    noisy its rise: every episode gets the best the run ever saw, so it converged.
    Single-agent runs only: RLlib's best and worst episode returns sum every agent.
    """

    def __init__(self, thresholds: Thresholds):
        self.thresholds = thresholds
        self.values: dict[str | None, list[float]] = {}
        self.spreads: list[float] = []
        self.best_episode: float | None = None  # highest and lowest episode return seen
        self.worst_episode: float | None = None
        self._range: dict[str | None, tuple[float, float]] = {}
        #: several agents/modules report returns: each is judged on its own range
        self.multi_agent = False

    def add(self, subject: str | None, value: float | None) -> None:
        if finite(value):
            value = float(value)
            self.values.setdefault(subject, []).append(value)
            low, high = self._range.get(subject, (value, value))
            self._range[subject] = (min(low, value), max(high, value))

    def add_spread(self, low: float | None, high: float | None) -> None:
        if finite(low) and finite(high):
            self.best_episode = high if self.best_episode is None else \
                max(self.best_episode, high)
            self.worst_episode = low if self.worst_episode is None else \
                min(self.worst_episode, low)
            if len(self.spreads) < self.thresholds.baseline_iterations:
                self.spreads.append(high - low)

    @property
    def values_needed(self) -> int:
        """How many returns :meth:`progress` needs before it judges (``min_iterations``,
        or the baseline and a window if those are longer)."""
        return max(self.thresholds.min_iterations, self.values_for_a_rise)

    @property
    def values_for_a_rise(self) -> int:
        """How many returns a rise is judged on (a baseline and a window): in a finished
        run too short for :attr:`values_needed`, :meth:`Doctor.finish` judges on these."""
        return self.thresholds.baseline_iterations + self.thresholds.window

    def progress(self, subject: str | None, recent: int | None = None,
                 needed: int | None = None) -> dict | None:
        """Early and recent mean return, their change and whether it is flat (None
        before ``needed`` values, default :attr:`values_needed`). ``recent``: how many of
        the last iterations are "recent" (default ``window``)."""
        t = self.thresholds
        values = self.values.get(subject, [])
        if len(values) < (needed or self.values_needed):
            return None
        first, last = values[:t.baseline_iterations], values[-(recent or t.window):]
        early, recent = _mean(first), _mean(last)
        low, high = self._range[subject]
        # The episode spread is of whole-episode returns (every agent's summed): it scales
        # one agent's or module's return only when it is the only one.
        own_scale = subject is not None and self.multi_agent
        spread = high - low if own_scale or not self.spreads else max(self.spreads)
        # Two standard errors of the difference of the two means: noise, not progress.
        error = math.sqrt(_variance(first) / len(first) + _variance(last) / len(last))
        tolerance = max(t.flat_tolerance * spread, 2 * error,
                        1e-9)
        change = recent - early
        converged = (not self.multi_agent and change > 0 and self.best_episode is not None
                     and recent >= self.best_episode - t.flat_tolerance *
                     (self.best_episode - self.worst_episode))
        return {"early_mean_return": early, "recent_mean_return": recent, "change": change,
                "tolerance": tolerance, "change_in_standard_errors": change / max(error, 1e-9),
                "flat": change < tolerance and not converged, "converged": converged,
                "iterations": len(values),
                "highest_mean_return": high, "lowest_mean_return": low}


def return_change(progress: dict) -> str:
    """``"early -> recent"``: the mean return at the start and over the latest iterations
    of ``progress`` (:meth:`ReturnHistory.progress`), as the findings quote it."""
    return f"{fmt(progress['early_mean_return'])} -> {fmt(progress['recent_mean_return'])}"


def clearly_rose(progress: dict | None) -> bool:
    """The return left its flat band and rose beyond two standard errors, or converged
    at the best episode return of the run (see :class:`ReturnHistory`)."""
    return progress is not None and not progress["flat"] and (
        progress["converged"] or progress["change_in_standard_errors"] >= 2)


def module_return(metrics: IterationMetrics, module: str) -> float | None:
    """The return that module ``module`` is judged by: its own in multi-agent runs."""
    if len(metrics.module_returns) > 1 and module in metrics.module_returns:
        return metrics.module_returns[module]
    return metrics.return_mean


class ModuleReturnHistory(ReturnHistory):
    """A :class:`ReturnHistory` per module, fed a whole iteration at a time."""

    def add_iteration(self, metrics: IterationMetrics) -> None:
        self.multi_agent = self.multi_agent or len(metrics.module_returns) > 1
        self.add_spread(metrics.return_min, metrics.return_max)
        for module in metrics.modules:
            self.add(module, module_return(metrics, module))


class ReturnRange:
    """The lowest and highest episode return seen so far (RLlib's episode_return_min/max)."""

    def __init__(self) -> None:
        self.low: float | None = None
        self.high: float | None = None

    def add_iteration(self, metrics: IterationMetrics) -> None:
        for value in (metrics.return_min, metrics.return_max):
            if finite(value):
                self.low = value if self.low is None else min(self.low, value)
                self.high = value if self.high is None else max(self.high, value)

    @property
    def scale(self) -> float:
        """The largest |episode return| seen (0 before any)."""
        return 0.0 if self.low is None else max(abs(self.low), abs(self.high))

    @property
    def spread(self) -> float:
        return 0.0 if self.low is None else self.high - self.low


def fmt(value: float | None) -> str:
    """Short human form of a number for messages."""
    if value is None:
        return "n/a"
    return f"{value:.3g}"


def reward_terms_note(metrics, agent: str | None) -> tuple[str, dict]:
    """A sentence on what ``agent``'s return is made of, and its evidence, from the env's
    named reward parts (``("", {})`` when the run logged none). ``agent`` None: the
    run's only agent, else every agent."""
    from rldebug.shapes.reward_terms import largest_share

    terms = metrics.reward_terms
    agents = [agent] if agent is not None and agent in terms else (
        list(terms) if agent is None else [])
    sentences, evidence = [], {}
    for name in agents:
        share = largest_share(terms[name])
        if share is None:
            continue
        term, fraction = share
        evidence[name] = dict(terms[name])
        sentences.append(f"{fraction:.0%} of {name}'s return is the {term!r} term "
                         f"({fmt(terms[name][term])} per episode)")
    if not sentences:
        return "", {}
    return " " + "; ".join(sentences) + ".", {"reward_terms": evidence}


__all__ = ["HORIZON_SHORTFALL", "ModuleReturnHistory", "ReturnHistory", "Rule", "Streak",
           "Streaks", "finite", "fmt", "module_return", "reward_terms_note"]
