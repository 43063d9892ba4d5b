"""How often each rule is right: its precision measured on real runs it was not tuned on.

``confidence.json`` holds, per rule, how many top-level warnings and errors it raised
on the held-out runs of the doctor's fault-injection benchmark
(``benchmarks/doctor_faults``: real RLlib 2.60 runs of PPO, APPO, IMPALA, DQN and SAC,
each healthy or with one injected fault) and how many of them named the injected
fault. Held out: the bases of its test split, and a second draw of every fault at a
seed of its own, made after the rules; no rule was revised with them. It is
regenerated with the benchmark (``python -m benchmarks.doctor_faults score
--write-confidence``). A rule that raised fewer than :data:`MIN_FINDINGS` top-level
findings there has no measured confidence (None): one wrong finding of one would read
"0.00" beside a finding that may well be right. Its note says how few there were.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from rldebug.doctor.findings import Finding

TABLE = Path(__file__).with_name("confidence.json")
# The fewest held-out top-level findings a rule's precision is given as its confidence from.
MIN_FINDINGS = 5


@lru_cache(maxsize=1)
def measured() -> dict[str, dict]:
    """Per rule id: ``{"top_level": n, "true": k, "precision": k / n}`` (empty without a
    table)."""
    try:
        return json.loads(TABLE.read_text())["rules"]
    except (OSError, ValueError, KeyError):
        return {}


def confidence_note(rule_id: str) -> str | None:
    """``"0.93 (named the right problem in 14 of 15 ...)"`` for a measured rule; for one
    with fewer than :data:`MIN_FINDINGS` findings, that there were too few; else None."""
    row = measured().get(rule_id)
    if not row:
        return None
    where = "top-level findings on held-out runs of the fault-injection benchmark"
    if row["top_level"] < MIN_FINDINGS:
        return (f"not measured yet: {row['top_level']} {where} (right in {row['true']}) "
                f"are too few to give a rate; {MIN_FINDINGS} are needed")
    return f"{row['precision']:.2f} (named the right problem in {row['true']} of its " \
        f"{row['top_level']} {where})"


def attach(findings: Iterable[Finding]) -> None:
    """Set each warning's and error's ``confidence`` to its rule's measured precision,
    where it was measured on at least :data:`MIN_FINDINGS` findings."""
    table = measured()
    for finding in findings:
        row = table.get(finding.rule_id)
        if finding.severity != "info" and row and row["top_level"] >= MIN_FINDINGS:
            finding.confidence = row["precision"]


__all__ = ["MIN_FINDINGS", "TABLE", "attach", "confidence_note", "measured"]
