"""The trace's files on disk: the one place that names its folder and files.

A trace directory holds append-only JSON-lines files named
``<kind>-<role>-<pid>.jsonl``: ``kind`` is one of :data:`KINDS`, ``role`` says
which part of RLlib wrote it (``driver``, ``runner<i>``, ``learner``), ``pid``
the writing process. Next to a run (``rldebug.run(config, trace=...)``) the
trace lives in ``<logdir>/trace``, where ``rldebug doctor <logdir>`` looks for it.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

TRACE_SUBDIR = "trace"
KINDS = ("samples", "updates", "minibatches", "events", "iterations")
SUFFIX = ".jsonl"


class TraceFile(NamedTuple):
    kind: str
    role: str
    pid: str


def file_name(kind: str, role: str, pid: int) -> str:
    """The name of the file that process ``pid`` writes ``kind`` records of ``role`` to."""
    if kind not in KINDS:
        raise ValueError(f"Unknown trace record kind {kind!r}; the kinds are {KINDS}.")
    return f"{kind}-{role}-{pid}{SUFFIX}"


def parse_file_name(name: str) -> TraceFile | None:
    """``(kind, role, pid)`` of a trace file name, None for any other file."""
    if not name.endswith(SUFFIX):
        return None
    parts = name[: -len(SUFFIX)].split("-")
    if len(parts) < 3 or parts[0] not in KINDS:
        return None
    return TraceFile(parts[0], "-".join(parts[1:-1]), parts[-1])


def trace_files(directory: str | Path) -> list[Path]:
    """The trace files in ``directory``, sorted by name (empty if there is none)."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if parse_file_name(p.name) is not None)


def run_trace_dir(logdir: str | Path) -> Path:
    """Where a run in ``logdir`` keeps its trace."""
    return Path(logdir) / TRACE_SUBDIR


def trace_dir_of(run_dir: str | Path) -> Path | None:
    """The trace of the run in ``run_dir`` (``<run_dir>/trace``) if it holds trace files."""
    candidate = run_trace_dir(run_dir)
    return candidate if trace_files(candidate) else None


__all__ = ["KINDS", "SUFFIX", "TRACE_SUBDIR", "TraceFile", "file_name", "parse_file_name",
           "run_trace_dir", "trace_dir_of", "trace_files"]
