"""Read finished runs from disk: a Tune experiment, one Tune trial, or an ``rldebug run`` dir.

Only plain text is read: ``result.json`` (one JSON result per line; the
authority, since Tune's ``progress.csv`` drops keys that first appear after
the first iteration), ``progress.csv`` when there is no usable ``result.json``,
and ``params.json`` for the config. Pickles (``params.pkl``, ``tuner.pkl``,
checkpoints) are never opened.

A run that is still writing, or was killed, can end in a truncated line: it is
skipped and named in the trial's ``notes``, as is any other unreadable line.
"""

from __future__ import annotations

import csv
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rldebug.doctor.metrics import SINCE_RESTORE_KEY, relevant_paths, unflatten

# writer and reader agree (Tune writes error.txt too, and pickles the exception in error.pkl)
from rldebug.inprocess.runlog import (
    ERROR_FILE,
    INTERRUPTED_FILE,
    PARAMS_FILE,
    PROGRESS_FILE,
    RESULT_FILE,
)
from rldebug.shapes.env_meta import stored_env_spec
from rldebug.usage import UsageError, UsageTypeError

# Tune writes the whole config into every result.json line, after the metrics
# (json.dump's default separators). Parsing the line only up to it is 2-3x faster;
# a cut that is not at the top level leaves unbalanced braces and fails, and the
# full line is parsed instead.
_CONFIG_CUT = ', "config": {'
# the one key the doctor reads that Tune writes after the config
_AFTER_CONFIG = re.compile(r'"iterations_since_restore": (\d+)[,}]')


class UnusableInputError(UsageError):
    """The path holds nothing the doctor can read (``rldebug doctor`` exits with 2)."""


@dataclass
class TrialData:
    """One trial's results as read from disk.

    :param name: the trial directory's name.
    :param path: the trial directory.
    :param results: result dicts in file order (nested, as ``algo.train()`` returns).
    :param config: the trial's config from ``params.json`` (None if absent/unreadable).
    :param source: the file the results came from (``result.json``/``progress.csv``), or "".
    :param notes: what was skipped or odd while reading (truncated last line, ...).
    :param error: the text of Tune's ``error.txt`` when the trial errored (the
        traceback; ``error.pkl`` is never unpickled), else None.
    :param env_spec: what rldebug.run recorded of the env the run built (its gymnasium id
        and ``reward_threshold``, where params.json names only a class), else None.
    :param recovered: the trial went on after every failure ``error`` records: Tune
        restored it (``FailureConfig(max_failures=...)``) and its last result was written
        after the last failure.
    :param restored_at: the first iteration trained again after each restore from a
        checkpoint (its first run was lost: the failure came during or after it).
    :param config_changes: ``{iteration: {key: (before, after)}}``: settings a restore
        changed (PBT's exploit clones another trial's checkpoint with its config, then
        perturbs it); ``params.json`` holds the last config only.
    """

    name: str
    path: Path
    results: list[dict[str, Any]] = field(default_factory=list)
    config: dict[str, Any] | None = None
    source: str = ""
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    env_spec: dict[str, Any] | None = None
    recovered: bool = False
    restored_at: list[int] = field(default_factory=list)
    config_changes: dict[int, dict[str, tuple[Any, Any]]] = field(default_factory=dict)


def _is_trial(path: Path) -> bool:
    return any((path / name).is_file() for name in (RESULT_FILE, PROGRESS_FILE, ERROR_FILE))


def find_trial_dirs(path: str | Path) -> list[Path]:
    """Trial directories under ``path``: itself, its children, or its grandchildren.

    :param path: a trial/run directory, its ``result.json``/``progress.csv``, a Tune
        experiment directory (trials one level down) or a storage root (two levels).
    :raises UnusableInputError: if the path is missing or holds no trial.
    """
    if not isinstance(path, (str, Path)):
        raise UsageTypeError(f"Pass a path (str or pathlib.Path) to a run or experiment directory, "
                             f"got {type(path).__name__}: {path!r:.100}.")
    path = Path(path).expanduser()
    if not path.exists():
        raise UnusableInputError(
            f"{str(path)!r} does not exist. Pass a Tune experiment directory "
            "(~/ray_results/<experiment>), one trial directory, or an `rldebug run` logdir.")
    if path.is_file():
        if path.name in (RESULT_FILE, PROGRESS_FILE):
            return [path.parent]
        raise UnusableInputError(
            f"{str(path)!r} is a file; a run is read from its {RESULT_FILE} or "
            f"{PROGRESS_FILE}: pass one of those, or the run's directory.")
    if _is_trial(path):
        return [path]
    for pattern in ("*", "*/*"):
        trials = sorted(p for p in path.glob(pattern) if p.is_dir() and _is_trial(p))
        if trials:
            return trials
    from rldebug.inspection.checkpoint import algorithm_checkpoint_of  # an error's path only

    checkpoint = algorithm_checkpoint_of(path, above=2)
    if checkpoint is not None:
        trial = checkpoint.parent
        raise UnusableInputError(
            f"{str(path)!r} is (inside) an RLlib checkpoint, which holds weights, not the "
            "run's results. "
            + (f"Its trial directory holds them: pass {str(trial)!r}." if _is_trial(trial)
               else "Pass the trial directory the run wrote its result.json to."))
    from rldebug.tracing.layout import TRACE_SUBDIR, trace_files, trial_trace_dirs

    if trace_files(path) or trial_trace_dirs(path):  # an error's path only
        run = path.parent
        paired = path.name == TRACE_SUBDIR and trace_files(path) and _is_trial(run)
        raise UnusableInputError(
            f"{str(path)!r} is a trace folder (rldebug.trace's records), which holds no "
            f"{RESULT_FILE}. "
            + (f"The run that holds it has them (its trace is read with them): pass "
               f"{str(run)!r}." if paired else
               f"A run's trace is read with its results from the run's own {TRACE_SUBDIR!r} "
               "folder (rldebug.run(config, trace=...)); this one is not. Pass the run's "
               "logdir or Tune experiment for its results, and read this trace with "
               "`rldebug trace` or `rldebug reproduce`."))
    raise UnusableInputError(
        f"No {RESULT_FILE} or {PROGRESS_FILE} in {str(path)!r} or the two directory levels "
        "below it. Pass a Tune experiment directory, one trial directory, or an "
        "`rldebug run` logdir.")


def _parse_line(line: str) -> dict[str, Any]:
    cut = line.find(_CONFIG_CUT)
    if cut > 0:
        try:
            result = json.loads(line[:cut] + "}")
        except ValueError:
            result = None
        if isinstance(result, dict) and "training_iteration" in result:
            since = _AFTER_CONFIG.search(line, cut)  # Tune writes it after the config
            if since:
                result[SINCE_RESTORE_KEY] = int(since.group(1))
            return result
    result = json.loads(line)
    if not isinstance(result, dict):
        raise ValueError(f"a JSON {type(result).__name__}, not an object")  # noqa: TRY004 - callers skip on ValueError
    return result


def read_result_json(path: Path, notes: list[str], whole: bool = False) -> list[dict[str, Any]]:
    """Results from a ``result.json``; unreadable lines are skipped and noted in ``notes``.

    With ``whole`` every key is kept (for tools that read any metric, such as
    ``rldebug diff``), line by line. Otherwise only the values the doctor's
    adapters read are kept. The fast path hands the
    file to pyarrow's multi-threaded JSON reader with a schema of just those
    keys (taken from the first and last lines); any surprise (a bad line, a
    key whose type changes) falls back to Python's json module, line by line.
    """
    data = path.read_bytes()
    end = data.rfind(b"\n") + 1
    tail = data[end:].decode("utf-8", errors="replace")
    if tail.strip():
        try:
            _parse_line(tail)
            end = len(data)
        except ValueError:
            line_number = data.count(b"\n") + 1
            notes.append(f"{path.name}: the last line ({line_number}) is truncated "
                         f"({len(tail)} characters, no newline) and was skipped; the run was "
                         "still writing or was killed.")
    data = data[:end]
    results = None if whole else _read_with_arrow(data)
    if results is None:
        results = _read_line_by_line(data.decode("utf-8", errors="replace"), path.name, notes)
    return results


SCHEMA_SAMPLE_LINES = 16


def _sample_lines(data: bytes) -> list[bytes]:
    """The first, the last and evenly spaced lines between: the keys the schema is built from.

    Index arithmetic, not split(): a Tune result.json can be hundreds of MB. A key
    present in none of the sampled lines (say, a module that reports only mid-run)
    is not read on this fast path.
    """
    end = len(data)
    while end > 0 and data[end - 1] in b"\r\n":
        end -= 1
    starts = {0, data.rfind(b"\n", 0, end) + 1}
    for k in range(1, SCHEMA_SAMPLE_LINES - 1):
        newline = data.find(b"\n", k * end // (SCHEMA_SAMPLE_LINES - 1))
        if 0 <= newline < end:
            starts.add(newline + 1)
    lines = []
    for start in sorted(starts):
        stop = data.find(b"\n", start)
        lines.append(data[start:stop if 0 <= stop < end else end])
    return lines


def _read_with_arrow(data: bytes) -> list[dict[str, Any]] | None:
    """Fast path: the relevant columns only, or None when it does not apply cleanly."""
    try:
        import pyarrow as pa
        import pyarrow.json as pj
    except ImportError:
        return None
    lines = _sample_lines(data)
    try:
        paths = set().union(*(relevant_paths(_parse_line(line.decode())) for line in lines))
    except (ValueError, UnicodeDecodeError):
        return None
    if ("training_iteration",) not in paths:
        return None
    tree: dict[str, Any] = {}
    for path in sorted(paths):  # a set: sorted, so modules and findings come in one order
        node = tree
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = None

    def struct(node: dict[str, Any]) -> list:
        return [pa.field(k, pa.float64() if v is None else pa.struct(struct(v)))
                for k, v in node.items()]

    options = pj.ParseOptions(explicit_schema=pa.schema(struct(tree)),
                              unexpected_field_behavior="ignore")
    try:
        table = pj.read_json(pa.py_buffer(data), parse_options=options,
                             read_options=pj.ReadOptions(block_size=1 << 22))
    except (pa.ArrowException, ValueError, TypeError):
        return None
    return table.to_pylist()


class NotesOfAKind:
    """Notes of one kind (lines skipped, ...): the first :attr:`SAID` said one by one, the
    rest counted in one more note when :meth:`close` is called, so a file of thousands of
    bad lines gives four notes, not thousands.

    :param notes: the list the notes go to.
    :param rest: the last note, from how many more there were and the first and last
        number among them: ``rest(count, first, last)``.
    """

    SAID = 3

    def __init__(self, notes: list[str], rest) -> None:
        self.notes, self.rest, self.numbers = notes, rest, []

    def add(self, number: int, note: str) -> None:
        self.numbers.append(number)
        if len(self.numbers) <= self.SAID:
            self.notes.append(note)

    def close(self) -> None:
        more = self.numbers[self.SAID:]
        if more:
            self.notes.append(self.rest(len(more), more[0], more[-1]))


def _read_line_by_line(text: str, name: str, notes: list[str]) -> list[dict[str, Any]]:
    results = []
    bad = NotesOfAKind(notes, lambda count, first, last: (
        f"{name}: {count} more lines are not JSON results (lines {first}-{last}); skipped."))
    for number, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            results.append(_parse_line(line))
        except ValueError as err:
            bad.add(number, f"{name}: line {number} is not a JSON result ({err}); skipped.")
    bad.close()
    return results


def _csv_value(text: str) -> Any:
    if text == "":
        return None
    try:
        return float(text)  # also "nan", "inf", "-inf"
    except ValueError:
        return text


def read_progress_csv(path: Path, notes: list[str]) -> list[dict[str, Any]]:
    """Results from a ``progress.csv`` (keys flattened with ``/``), nested again."""
    with open(path, newline="", encoding="utf-8", errors="replace") as f:
        text = f.read()
    rows = list(csv.reader(text.splitlines()))
    if not rows:
        return []
    header, body = rows[0], rows[1:]
    if body and not text.endswith("\n"):
        notes.append(f"{path.name}: the last row is truncated (no newline) and was skipped.")
        body = body[:-1]
    results = []
    for number, row in enumerate(body, 2):
        if len(row) != len(header):
            notes.append(f"{path.name}: row {number} has {len(row)} fields, the header "
                         f"{len(header)}; skipped.")
            continue
        flat = {k: _csv_value(v) for k, v in zip(header, row) if v != ""}
        if isinstance(flat.get("training_iteration"), float) and \
                math.isfinite(flat["training_iteration"]):
            results.append(unflatten(flat))
        else:
            notes.append(f"{path.name}: row {number} has no training_iteration; skipped.")
    return results


def _read_params(path: Path, notes: list[str]) -> dict[str, Any] | None:
    params = path / PARAMS_FILE
    if not params.is_file():
        return None
    try:
        with open(params, encoding="utf-8") as f:
            config = json.load(f)
    except (ValueError, OSError) as err:
        notes.append(f"{PARAMS_FILE} is unreadable ({err}); RLlib's defaults are assumed.")
        return None
    return config if isinstance(config, dict) else None


def config_changes(path: Path, restored_at: list[int]) -> dict[int, dict[str, tuple]]:
    """The settings each restore changed: the config of the first result after it against
    the one of the result before it (Tune writes the trial's config in every result
    line; only the lines around a restore are parsed whole)."""
    wanted = {int(i) for i in restored_at} | {int(i) - 1 for i in restored_at}
    configs: dict[int, dict] = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            head = _ITERATION.search(line)  # the top-level one: before the config
            if head is None or int(head.group(1)) not in wanted:
                continue
            try:
                result = json.loads(line)
            except ValueError:
                continue
            if isinstance(result.get("config"), dict):
                configs[int(head.group(1))] = result["config"]  # the later write wins
    changes = {}
    for iteration in restored_at:
        before, after = configs.get(int(iteration) - 1), configs.get(int(iteration))
        if before is None or after is None:
            continue
        changed = {key: (before.get(key), after.get(key)) for key in sorted(set(before) | set(after))
                   if _scalar(before.get(key)) and _scalar(after.get(key))
                   and _comparable(before.get(key)) != _comparable(after.get(key))}
        if changed:
            changes[int(iteration)] = changed
    return changes


_ITERATION = re.compile(r'"training_iteration": (\d+)[,}]')


def _scalar(value: Any) -> bool:
    """Settings compared: numbers, strings, flags (nested dicts and lists, as an lr
    schedule or model_config, are not)."""
    return value is None or isinstance(value, (bool, int, float, str))


# Tune writes what JSON cannot hold as str(value): a function's text carries its address,
# which differs in every process a restore starts
_ADDRESS = re.compile(r" at 0x[0-9a-f]+>")


def _comparable(value: Any) -> Any:
    return _ADDRESS.sub(">", value) if isinstance(value, str) else value


def changed_settings_text(changed: dict[str, tuple], most: int = 6) -> str:
    """``lr 5.0 -> 0.0003, ...``: settings a restore changed (one of ``config_changes``)."""
    return ", ".join(f"{key} {before!r} -> {after!r}" for key, (before, after) in
                     list(changed.items())[:most]) + (", ..." if len(changed) > most else "")


def _changed_note(iteration: int, changed: dict[str, tuple]) -> str:
    return (f"from iteration {iteration} the trial trained with another config (a restore "
            f"that changed it, as PBT's exploit does): {changed_settings_text(changed)}. "
            "params.json holds the last config only; what came before ran with the earlier "
            "one.")


def _config_from_first_line(path: Path) -> dict[str, Any] | None:
    """Tune's result lines carry the config: a stand-in when params.json is missing."""
    with open(path, encoding="utf-8", errors="replace") as f:
        first = f.readline()
    try:
        config = json.loads(first).get("config")
    except (ValueError, AttributeError):
        return None
    return config if isinstance(config, dict) else None


def _read_error(path: Path, notes: list[str]) -> str | None:
    """Tune's ``error.txt`` (the trial's traceback as text), or None."""
    file = path / ERROR_FILE
    if not file.is_file():
        return None
    try:
        return file.read_text(encoding="utf-8", errors="replace")
    except OSError as err:
        notes.append(f"{ERROR_FILE} exists but cannot be read: {err}.")
        return f"(unreadable {ERROR_FILE}: {err})"


# Tune heads each failure it appends to error.txt with the local date it occurred, in
# the format of the date it writes into every result
_FAILURE_HEADER = re.compile(r"^Failure # \d+ \(occurred at "
                             r"(\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d)\)", re.MULTILINE)
_RESULT_DATE = re.compile(r'"date": "(\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d)"')


def failure_dates(error_text: str) -> list[str]:
    """The local date of each failure Tune appended to ``error.txt`` (``Failure # N
    (occurred at 2026-12-05_07-16-59)``), oldest first."""
    return _FAILURE_HEADER.findall(error_text)


def went_on_after_failures(error_text: str, result_file: Path) -> bool:
    """The trial's last result was written after the last failure ``error_text`` records
    (both dates as Tune writes them, local time to the second, so they compare as text
    wherever they are read): Tune restored it and it went on. False when either date is
    unknown (an ``rldebug run`` logdir's results carry none)."""
    failures = failure_dates(error_text)
    try:
        with result_file.open("rb") as stream:  # the last line only: a result is < 1 MB
            stream.seek(max(0, result_file.stat().st_size - 2 ** 20))
            lines = [line for line in stream.read().splitlines() if line.strip()]
    except OSError:
        return False
    written = _RESULT_DATE.search(lines[-1].decode(errors="replace")) if lines else None
    return bool(failures) and written is not None and written.group(1) > failures[-1]


def drop_superseded(results: list[dict[str, Any]],
                    notes: list[str]) -> tuple[list[dict[str, Any]], list[int]]:
    """The results of the run as it went on, and the first iteration each restore trained
    again: a trial Tune restored from a checkpoint writes the iterations after it again,
    below the ones it lost, so an iteration that does not follow the one before
    supersedes every earlier result from that iteration on. A restore from the checkpoint
    of the iteration just before writes nothing twice; Tune's ``iterations_since_restore``
    beginning again at 1 shows it. Each restore is named in ``notes``."""
    def iteration_of(result: dict[str, Any]) -> float | None:
        value = result.get("training_iteration")  # the fast reader gives floats
        return float(value) if isinstance(value, (int, float)) and \
            not isinstance(value, bool) and math.isfinite(value) else None

    kept: list[dict[str, Any]] = []
    restored: list[int] = []
    for result in results:
        iteration = iteration_of(result)
        lost = [] if iteration is None else \
            [number for r in kept if (number := iteration_of(r)) is not None
             and number >= iteration]
        if not lost and kept and iteration is not None and iteration > 1 and \
                result.get(SINCE_RESTORE_KEY) == 1:
            # restored from the checkpoint of the iteration before: nothing written twice
            notes.append(f"the trial was restored from a checkpoint after iteration "
                         f"{iteration - 1:.0f} (Tune's iterations_since_restore began again "
                         "at 1); no iteration was written twice.")
            restored.append(int(iteration))
        if lost:
            again = (f"iteration {min(lost):.0f} was" if min(lost) == max(lost) else
                     f"iterations {min(lost):.0f}-{max(lost):.0f} were")
            notes.append(f"{again} written twice (the trial was restored from a checkpoint "
                         f"after iteration {iteration - 1:.0f} and trained again from "
                         "there): the later results were read.")
            restored.append(int(iteration))
            kept = [r for r in kept if (number := iteration_of(r)) is None or
                    number < iteration]
        kept.append(result)
    return kept, restored


def read_trial(path: str | Path, whole: bool = False) -> TrialData:
    """Read one trial (or ``rldebug run``) directory.

    :param path: a directory holding ``result.json`` and/or ``progress.csv``.
    :param whole: keep every key of ``result.json`` (default: what the doctor reads).
    :returns: a :class:`TrialData`; ``results`` is empty when nothing was readable
        (``notes`` says why).
    """
    path = Path(path)
    trial = TrialData(name=path.name, path=path)
    trial.config = _read_params(path, trial.notes)
    trial.error = _read_error(path, trial.notes)
    interrupted = path / INTERRUPTED_FILE
    if interrupted.is_file():  # said first: the report covers only what ran
        trial.notes.insert(0, interrupted.read_text(errors="replace").strip()[:200]
                           + " What follows covers only the iterations it finished.")
    trial.env_spec = stored_env_spec(path)
    for name, reader in ((RESULT_FILE, read_result_json), (PROGRESS_FILE, read_progress_csv)):
        file = path / name
        if not file.is_file():
            continue
        try:
            trial.results = (read_result_json(file, trial.notes, whole=whole)
                             if name == RESULT_FILE else reader(file, trial.notes))
        except OSError as err:
            trial.notes.append(f"{name} cannot be read: {err}.")
        if trial.results:
            trial.results, trial.restored_at = drop_superseded(trial.results, trial.notes)
            trial.source = name
            if trial.restored_at and name == RESULT_FILE:
                trial.config_changes = config_changes(file, trial.restored_at)
                trial.notes += [_changed_note(i, c) for i, c in trial.config_changes.items()]
            if trial.error is not None and name == RESULT_FILE:
                trial.recovered = went_on_after_failures(trial.error, file)
            if trial.config is None and name == RESULT_FILE:
                trial.config = _config_from_first_line(file)
            break
        trial.notes.append(f"{name} holds no readable result.")
    return trial


def is_tune_experiment(path: str | Path) -> bool:
    """Whether ``path`` is a Tune experiment directory (it has ``experiment_state-*.json``)."""
    path = Path(path).expanduser()
    return path.is_dir() and any(path.glob("experiment_state-*.json"))


def trials_without_results(path: str | Path) -> list[Path]:
    """The trial directories of a Tune experiment at ``path`` that hold no result yet: a
    trial pending, still in its first iteration, or never started before the run was
    interrupted (Tune makes the directory first). Only a Tune experiment directory (it
    has ``experiment_state-*.json``) is looked into."""
    path = Path(path).expanduser()
    if not is_tune_experiment(path):
        return []
    return sorted(p for p in path.iterdir()
                  if p.is_dir() and not p.name.startswith(".") and not _is_trial(p))


def read_experiment(path: str | Path, whole: bool = False) -> list[TrialData]:
    """Every trial under ``path`` (see :func:`find_trial_dirs`), read with :func:`read_trial`."""
    return [read_trial(p, whole=whole) for p in find_trial_dirs(path)]


__all__ = [
    "PARAMS_FILE",
    "PROGRESS_FILE",
    "RESULT_FILE",
    "NotesOfAKind",
    "TrialData",
    "UnusableInputError",
    "changed_settings_text",
    "config_changes",
    "drop_superseded",
    "failure_dates",
    "find_trial_dirs",
    "is_tune_experiment",
    "read_experiment",
    "read_progress_csv",
    "read_result_json",
    "read_trial",
    "trials_without_results",
    "went_on_after_failures",
]
