"""What every rule shares: the :class:`Rule` interface and small streak bookkeeping."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import ClassVar

from rldebug.doctor.findings import Finding
from rldebug.doctor.metrics import IterationMetrics
from rldebug.doctor.thresholds import Thresholds


def finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


class Rule:
    """One diagnosis, fed one iteration at a time.

    Subclasses set :attr:`rule_id` and implement :meth:`observe`, which returns
    the findings that *begin* at this iteration (each is reported once per
    subject and severity). Rules keep their own state, so one instance follows
    one run.

    :param thresholds: already resolved with the run's config
        (:meth:`Thresholds.with_config`).
    """

    rule_id: ClassVar[str] = ""

    def __init__(self, thresholds: Thresholds):
        self.thresholds = thresholds
        self._reported: set[tuple[str | None, str]] = set()

    def observe(self, metrics: IterationMetrics, findings: Sequence[Finding]) -> list[Finding]:
        """Findings that begin with ``metrics``; ``findings`` are all reported so far."""
        raise NotImplementedError

    def _once(self, module: str | None, severity: str, **kwargs) -> list[Finding]:
        """A one-element list with a new finding, or [] if it was reported already."""
        if (module, severity) in self._reported:
            return []
        self._reported.add((module, severity))
        return [Finding(rule_id=self.rule_id, severity=severity, module=module, **kwargs)]


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


def fmt(value: float | None) -> str:
    """Short human form of a number for messages."""
    if value is None:
        return "n/a"
    return f"{value:.3g}"


__all__ = ["Rule", "Streak", "Streaks", "finite", "fmt"]
