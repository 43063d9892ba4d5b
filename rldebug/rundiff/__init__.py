"""``rldebug.diff(run_a, run_b)``: compare two runs.

Configs side by side (only what differs, RLlib's defaults filled in), metrics
aligned by iteration and by env steps with the first point where they part by
more than their noise across seeds, what the traces show (late actions and
returns per agent) and the doctor findings one run has and the other has not.
``rldebug diff A B [--metric M] [--json] [--html diff.html]``.
"""

from rldebug.rundiff.compare import DEFAULT_METRIC, diff
from rldebug.rundiff.report import FindingDiff, RunDiff

__all__ = ["DEFAULT_METRIC", "FindingDiff", "RunDiff", "diff"]
