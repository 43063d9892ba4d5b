"""The doctor's records: one :class:`Finding` per problem, with its evidence and fix."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from rldebug.usage import UsageError

SEVERITIES = ("info", "warning", "error")
_RANK = {name: rank for rank, name in enumerate(SEVERITIES)}


@dataclass
class Finding:
    """A problem seen in a training run.

    :param rule_id: which rule fired, e.g. ``"entropy_collapse"``.
    :param severity: ``"info"`` (worth knowing), ``"warning"`` (suspicious) or
        ``"error"`` (training is broken; ``rldebug doctor`` exits with 1).
    :param message: what was seen, with the numbers.
    :param fix: what to change, concretely.
    :param began_at_iteration: the training iteration where the problem began
        (the first iteration of the streak that triggered the rule).
    :param module: the RLModule/policy or agent id it concerns; None for the whole run.
    :param evidence: the numbers behind the finding (plain floats, ints, strings).
    :param trial: name of the trial (set when reading an experiment).
    :param explained_by: the rule id of the finding that explains this one (its
        root cause, e.g. ``"lr_too_high"`` for a KL blow-up); None when top-level.
    :param confidence: for a warning or error, how often its rule named the right
        problem on the doctor's fault-injection benchmark (its measured precision on
        held-out runs, :mod:`rldebug.doctor.confidence`); None when not measured, or
        measured on too few findings to give a rate.
    :param fix_config: when the fix is a config change, the candidate changes as data,
        most likely first: dicts of AlgorithmConfig settings (``[{"lr": 5e-4},
        {"lr": 5e-5}]``; :mod:`rldebug.doctor.fixes`); None otherwise.
        ``rldebug doctor --verify`` trains them beside the original.
    """

    rule_id: str
    severity: str
    message: str
    fix: str
    began_at_iteration: int
    module: str | None = None
    evidence: dict[str, Any] = field(default_factory=dict)
    trial: str | None = None
    explained_by: str | None = None
    confidence: float | None = None
    fix_config: list[dict[str, Any]] | None = None

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise UsageError(
                f"Finding severity must be one of {SEVERITIES}, got {self.severity!r} "
                f"(rule {self.rule_id!r})."
            )

    def to_dict(self) -> dict[str, Any]:
        """Plain dict, JSON-safe: non-finite numbers become the strings "nan"/"inf"/"-inf"."""
        data = asdict(self)
        data["evidence"] = {k: _json_safe(v) for k, v in self.evidence.items()}
        if self.fix_config is not None:
            data["fix_config"] = [{k: _json_safe(v) for k, v in candidate.items()}
                                  for candidate in self.fix_config]
        return data


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def severity_rank(severity: str) -> int:
    """0 for info, 1 for warning, 2 for error."""
    try:
        return _RANK[severity]
    except KeyError:
        raise UsageError(f"Unknown severity {severity!r}; use one of {SEVERITIES}.") from None


def severity_counts_text(items: Iterable[Any]) -> str:
    """``"1 error(s), 0 warning(s), 2 info"`` for anything with a ``severity`` (the
    doctor's findings, ``rldebug check``'s traps)."""
    severities = [item.severity for item in items]
    return (f"{severities.count('error')} error(s), {severities.count('warning')} "
            f"warning(s), {severities.count('info')} info")


def worst_severity(findings: Iterable[Finding]) -> str | None:
    """The most severe severity among ``findings`` (None when there are none)."""
    worst = None
    for finding in findings:
        if worst is None or _RANK[finding.severity] > _RANK[worst]:
            worst = finding.severity
    return worst


__all__ = ["SEVERITIES", "Finding", "severity_counts_text", "severity_rank", "worst_severity"]
