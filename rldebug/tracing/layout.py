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

from rldebug.usage import UsageError

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
        raise UsageError(f"Unknown trace record kind {kind!r}; the kinds are {KINDS}.")
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


#: set in the process that runs a trial's Algorithm (rldebug debug's in-process Tune
#: trials), it names the trial: the trace of a config that several trials train goes to
#: ``<out>/<trial>``, one folder per trial (under Tune, the trial's own name is used)
TRIAL_ENV = "RLDEBUG_TRACE_TRIAL"


def trial_trace_dirs(directory: str | Path) -> list[Path]:
    """The per-trial traces in ``directory`` (the out= of a config Tune trials trained)."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.is_dir() and trace_files(p))


def run_trace_dir(logdir: str | Path) -> Path:
    """Where a run in ``logdir`` keeps its trace."""
    return Path(logdir) / TRACE_SUBDIR


def trace_dir_of(run_dir: str | Path) -> Path | None:
    """The trace of the run in ``run_dir`` (``<run_dir>/trace``) if it holds trace files."""
    candidate = run_trace_dir(run_dir)
    return candidate if trace_files(candidate) else None


REPLAY_SUBDIR = "replay"
REPLAY_CONFIG = "config.pkl"


def replay_dir(trace_dir: str | Path) -> Path:
    """Where a reproducible trace keeps its replay state."""
    return Path(trace_dir) / REPLAY_SUBDIR


def replay_config_file(trace_dir: str | Path) -> Path:
    """The traced config a replay builds; a Tune trial's trace (``<out>/<trial>``) uses
    the one ``rldebug.trace`` saved in ``<out>`` for all its trials."""
    own = replay_dir(trace_dir) / REPLAY_CONFIG
    if not str(trace_dir) or own.is_file():
        return own
    shared = replay_dir(Path(trace_dir).parent) / REPLAY_CONFIG
    return shared if shared.is_file() else own


TRIAL_CONFIG = "trial_config.pkl"


def trial_config_file(trace_dir: str | Path) -> Path:
    """A Tune trial's own config values (its search space resolved), beside its trace."""
    return replay_dir(trace_dir) / TRIAL_CONFIG


def episode_rings_dir(trace_dir: str | Path) -> Path:
    """The folder holding one ring folder per EnvRunner process."""
    return replay_dir(trace_dir) / "episodes"


def episode_ring_dir(trace_dir: str | Path, role: str, pid: int) -> Path:
    return episode_rings_dir(trace_dir) / f"{role}-{pid}"


def episode_ring_file(trace_dir: str | Path, role: str, pid: int, sample_call: int) -> Path:
    return episode_ring_dir(trace_dir, role, pid) / f"{sample_call:07d}{SUFFIX}"


def kept_episodes_file(trace_dir: str | Path, role: str, pid: int) -> Path:
    return replay_dir(trace_dir) / "kept" / f"{role}-{pid}{SUFFIX}"


def episode_files(trace_dir: str | Path) -> list[Path]:
    """Every file of recorded episodes (the rings first, then the kept ones)."""
    return (sorted(episode_rings_dir(trace_dir).glob(f"*/*{SUFFIX}"))
            + sorted((replay_dir(trace_dir) / "kept").glob(f"*{SUFFIX}")))


def weights_file(trace_dir: str | Path, iteration: int) -> Path:
    return replay_dir(trace_dir) / "weights" / f"iteration_{iteration:07d}.pkl"


def weights_files(trace_dir: str | Path) -> dict[int, Path]:
    """``{iteration: file}`` of the saved module weights (0: before the first update)."""
    found = {}
    for path in (replay_dir(trace_dir) / "weights").glob("iteration_*.pkl"):
        try:
            found[int(path.stem.split("_")[1])] = path
        except ValueError:
            continue  # not one of ours
    return dict(sorted(found.items()))


def update_snapshots_dir(trace_dir: str | Path) -> Path:
    return replay_dir(trace_dir) / "updates"


def update_snapshot_file(trace_dir: str | Path, role: str, pid: int, update: int) -> Path:
    return update_snapshots_dir(trace_dir) / f"{role}-{pid}-update_{update:07d}.pkl"


def stack_dump_file(token: str, pid: int, role: str) -> Path:
    """Where process ``pid`` (``role``) of the trace ``token`` writes its Python stacks when
    the stall watch asks (a file on that process's machine, outside the trace: only the
    watch reads it, and copies the stacks into the trace)."""
    import tempfile

    return Path(tempfile.gettempdir()) / f"rldebug-stacks-{token}" / f"{pid}-{role}.txt"


def stack_dump_files(token: str) -> list[Path]:
    """The stack files of the trace ``token``'s processes on this machine."""
    folder = stack_dump_file(token, 0, "x").parent
    return sorted(folder.glob("*-*.txt")) if folder.is_dir() else []


__all__ = [
    "KINDS",
    "REPLAY_SUBDIR",
    "SUFFIX",
    "TRACE_SUBDIR",
    "TraceFile",
    "episode_files",
    "episode_ring_dir",
    "episode_ring_file",
    "episode_rings_dir",
    "file_name",
    "kept_episodes_file",
    "parse_file_name",
    "replay_config_file",
    "replay_dir",
    "run_trace_dir",
    "stack_dump_file",
    "stack_dump_files",
    "trace_dir_of",
    "trace_files",
    "update_snapshot_file",
    "update_snapshots_dir",
    "weights_file",
    "weights_files",
]
