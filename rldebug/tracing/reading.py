"""``rldebug.load_trace(dir)``: the per-process trace files merged into pandas DataFrames."""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from rldebug.tracing.layout import (
    KINDS,
    parse_file_name,
    trace_dir_of,
    trace_files,
    trial_trace_dirs,
)
from rldebug.usage import UsageError

if TYPE_CHECKING:  # pandas takes ~0.5 s to import: `import rldebug` and the CLI's help
    import pandas as pd  # must not pay it; the readers import it when they read

# Columns every non-empty frame has (None where a record lacks them), so readers
# of a trace written by an older rldebug, or a damaged one, need no special cases.
COLUMNS = {
    "samples": ("time", "pid", "runner_index", "env_steps", "episodes_finished",
                "terminated", "truncated", "truncated_len_min", "truncated_len_max",
                "reward_sum", "agent_steps", "episode_returns", "episode_reward_terms"),
    "updates": ("time", "pid", "module_id"),
    "minibatches": ("time", "pid", "module_id"),
    "events": ("time", "pid", "source", "column"),
    "iterations": ("time", "iteration"),
}
_ZERO_IF_MISSING = ("env_steps", "episodes_finished")


class TraceDamagedWarning(UserWarning):
    """A trace file holds lines that are not trace records (changed or damaged)."""


def damaged_lines_text(corrupt: dict[str, list[int]]) -> str:
    """The files and line numbers of lines that are not trace records, for people."""
    parts = []
    for name, lines in corrupt.items():
        shown = ", ".join(map(str, lines[:10])) + (" ..." if len(lines) > 10 else "")
        parts.append(f"{name}: {len(lines)} line(s) (lines {shown})")
    return "; ".join(parts)


@dataclass
class Trace:
    """A loaded trace: one DataFrame per record kind, each with an ``iteration`` column.

    ``samples``: one row per EnvRunner ``sample()`` call (``env_steps``, runner
    identity, counts, column stats); ``updates``: one row per module and Learner
    update (old stack: per ``learn_on_batch`` and per iteration); ``minibatches``
    (level ``full``); ``events``: the first NaN/Inf per source and column;
    ``iterations``: RLlib's own counters per training iteration.
    """

    directory: Path
    samples: pd.DataFrame
    updates: pd.DataFrame
    minibatches: pd.DataFrame
    events: pd.DataFrame
    iterations: pd.DataFrame
    truncated_lines: int = 0
    files: list[str] = field(default_factory=list)
    #: ``{file name: [line numbers]}`` of lines that are not JSON objects (not just cut short)
    corrupt_lines: dict[str, list[int]] = field(default_factory=dict)


def present(value):
    """A cell of a trace frame: None where the record had no such field (pandas: NaN)."""
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def whole(value):
    """:func:`present`, with whole floats back to ints (pandas made an int column float)."""
    value = present(value)
    return int(value) if isinstance(value, float) and value.is_integer() else value


def training_sample_rows(samples: pd.DataFrame) -> list[dict]:
    """The sample records of training EnvRunners (evaluation runners' left out)."""
    if samples.empty:
        return []
    return [row for row in samples.to_dict("records") if row.get("evaluation") is not True]


def has_column_stats(rows: list[dict]) -> bool:
    """Whether sample records carry per-column statistics (``rewards``, ``obs``,
    ``actions``): levels "batches" and "full" write them, "summary" does not
    (:func:`rldebug.tracing.sampling._column_stats`)."""
    return any(isinstance(row.get("rewards"), dict) and row["rewards"] for row in rows)


def _read_jsonl(path: Path) -> tuple[list[dict], int, list[int]]:
    """Records of one trace file, the count of cut-off last lines, and corrupt line numbers.

    Only the last line of a file can be cut short by a killed process; any other
    line that is not a JSON object (binary garbage, another encoding, a JSON
    value that is not an object) is corrupt, and its number is reported.
    """
    records, corrupt = [], []
    truncated = 0
    with open(path, "rb") as f:
        lines = f.read().split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()  # the newline after the last record
        complete = True
    else:
        complete = False
    for number, raw in enumerate(lines, start=1):
        try:
            record = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            record = None
        if isinstance(record, dict) and isinstance(record.get("time"), (int, float)):
            records.append(record)
        elif number == len(lines) and not complete:
            truncated += 1  # a line cut short by a killed process
        else:
            corrupt.append(number)
    return records, truncated, corrupt


def _with_columns(frame: pd.DataFrame, kind: str) -> pd.DataFrame:
    if frame.empty:
        return frame
    for column in COLUMNS[kind]:
        if column not in frame:
            frame[column] = 0 if column in _ZERO_IF_MISSING else None
    return frame


def _assign_iterations(frame: pd.DataFrame, ends: np.ndarray) -> pd.DataFrame:
    """Iteration of each record: the first iteration that ended at or after its time."""
    import pandas as pd

    if frame.empty:
        return frame
    frame = frame.sort_values("time", kind="stable").reset_index(drop=True)
    if "iteration" in frame and frame["iteration"].notna().all():
        return frame
    computed = np.searchsorted(ends, frame["time"].to_numpy(), side="left") + 1
    if "iteration" in frame:
        frame["iteration"] = frame["iteration"].fillna(pd.Series(computed)).astype(int)
    else:
        frame["iteration"] = computed
    return frame


def load_trace(directory: str | Path) -> Trace:
    """Read every ``<kind>-<role>-<pid>.jsonl`` file in ``directory`` (or in its
    ``trace`` subdirectory: a run's logdir, as ``rldebug reproduce`` takes it).

    Lines cut short by a killed process are skipped and counted in
    ``truncated_lines``; other lines that are not JSON objects are skipped and
    listed in ``corrupt_lines`` and named in one :class:`TraceDamagedWarning`; records after the last finished iteration get the next
    iteration number.
    """
    import pandas as pd

    from rldebug.tracing.store import readable_dir

    if isinstance(directory, (str, Path)) and Path(directory).is_file() and \
            Path(directory).suffix == ".jsonl":
        raise UsageError(f"{str(directory)!r} is one file of a trace; pass its folder, "
                         f"{str(Path(directory).parent)!r}, which holds all of them.")
    directory = readable_dir(directory)  # a path, file:// or another pyarrow.fs URI
    files = trace_files(directory)
    inner = trace_dir_of(directory) if not files and isinstance(directory, Path) else None
    if inner is not None:  # a run's logdir: its trace is in <logdir>/trace
        directory, files = inner, trace_files(inner)
    trials = trial_trace_dirs(directory) if not files and isinstance(directory, Path) else []
    if trials:
        shown = ", ".join(str(t) for t in trials[:4]) + (", ..." if len(trials) > 4 else "")
        raise FileNotFoundError(
            f"{str(directory)!r} holds the traces of {len(trials)} Tune trials, one folder "
            f"each: pass one of them ({shown}).")
    if not files:
        raise FileNotFoundError(
            f"No trace files (<kind>-<role>-<pid>.jsonl) in {str(directory)!r}. Pass the "
            "directory given as out= to rldebug.trace(config, out=...), or a run's "
            "<logdir>/trace."
        )
    records: dict[str, list[dict]] = {kind: [] for kind in KINDS}
    truncated, corrupt = 0, {}
    for path in files:
        kind = parse_file_name(path.name).kind
        rows, cut, bad = _read_jsonl(path)
        records[kind].extend(rows)
        truncated += cut
        if bad:
            corrupt[path.name] = bad
    if corrupt:
        warnings.warn(f"load_trace({str(directory)!r}) skipped lines that are not trace "
                      f"records: {damaged_lines_text(corrupt)}; the files were changed or "
                      "damaged (Trace.corrupt_lines lists them).", TraceDamagedWarning,
                      stacklevel=2)
    frames = {kind: _with_columns(pd.DataFrame(rows), kind) for kind, rows in records.items()}
    iterations = frames["iterations"]
    if not iterations.empty:
        iterations = iterations.sort_values("time").reset_index(drop=True)
    ends = iterations["time"].to_numpy() if not iterations.empty else np.array([])
    frames = {kind: (_assign_iterations(frame, ends) if kind != "iterations" else iterations)
              for kind, frame in frames.items()}
    return Trace(directory=directory, truncated_lines=truncated, corrupt_lines=corrupt,
                 files=[p.name for p in files], **frames)


__all__ = ["Trace", "TraceDamagedWarning", "damaged_lines_text", "has_column_stats",
           "load_trace", "present", "training_sample_rows", "whole"]
