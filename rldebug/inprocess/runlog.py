"""Write a training run to disk in the layout of a Ray Tune trial.

``result.json`` (one JSON result per line), ``progress.csv`` (flattened keys),
``params.json`` (the config) and TensorBoard event files whose scalar tags carry
Tune's ``ray/tune/`` prefix. TensorBoard, ``rldebug doctor`` and Tune's own
``Result.from_path`` (``ray.tune.Result``) read an rldebug run like a Tune trial's folder
(``ExperimentAnalysis`` reads a whole experiment's state, which one run does not write).
"""

from __future__ import annotations

import csv
import json
import math
import numbers
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from rldebug.tbfile import summary_writer
from rldebug.usage import UsageError

RESULT_FILE = "result.json"
PROGRESS_FILE = "progress.csv"
PARAMS_FILE = "params.json"
PARAMS_PICKLE_FILE = "params.pkl"  # the same config, cloudpickled, as Tune writes it
PICKLED_ERROR_FILE = "error.pkl"
ERROR_FILE = "error.txt"  # Tune writes a failed trial's traceback here
INTERRUPTED_FILE = "interrupted.txt"  # rldebug.run: stopped by Ctrl+C, after which iteration
TB_PREFIX = "ray/tune/"
# Keys Tune also keeps out of TensorBoard: they are not training curves.
_NOT_SCALARS = {"config", "pid", "timestamp", "time_total_s", "training_iteration"}


def flatten(result: dict, prefix: str = "", delimiter: str = "/") -> dict[str, Any]:
    """Flatten nested dicts into ``a/b/c`` keys, as Tune's loggers do."""
    flat: dict[str, Any] = {}
    for key, value in result.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, name + delimiter, delimiter))
        else:
            flat[name] = value
    return flat


def _jsonable(value):
    """Fallback for json.dump: numpy scalars/arrays and anything else as text."""
    if hasattr(value, "item") and getattr(value, "size", 2) == 1:
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    return repr(value)


def _is_number_list(value) -> bool:
    return (isinstance(value, (list, tuple)) and len(value) > 0
            and all(isinstance(v, numbers.Number) and not isinstance(v, bool)
                    and math.isfinite(float(v)) for v in value))


DEFAULT_ROOT = "~/rldebug_results"


def default_output_dir(name: str) -> Path:
    """``~/rldebug_results/<name>_<timestamp>``: where runs and traces go when not told."""
    stamp = datetime.now().strftime("%Y-%m-%d_%H-%M-%S-%f")
    return Path(DEFAULT_ROOT).expanduser() / f"{name}_{stamp}"


def check_writable(logdir: str | Path, option: str = "logdir") -> Path:
    """Create ``logdir`` and prove it is writable, before any training starts; errors
    name the ``option`` it was given as."""
    if not isinstance(logdir, (str, Path)) or not str(logdir).strip():
        raise UsageError(
            f"The log directory must be a non-empty path (str or pathlib.Path), got "
            f"{logdir!r}; an empty one would write into the current directory. Pass e.g. "
            "logdir='runs/my_run', or leave it out for ~/rldebug_results/<name>_<time>.")
    path = Path(logdir).expanduser()
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".rldebug_write_check"
        probe.write_text("ok")
        probe.unlink()
    except OSError as err:
        raise UsageError(
            f"Cannot write to log directory {str(path)!r}: {err.strerror or err}. "
            f"Pass {option}= (--{option} on the command line) a directory you can write to "
            "(it is created if missing)."
        ) from err
    return path.resolve()


def write_error(logdir: str | Path, error: BaseException) -> Path:
    """Write ``logdir/error.txt`` as Tune does for a failed trial: when, then the
    traceback (with the exceptions it was raised from); and the exception itself in
    ``error.pkl``, as Tune pickles it."""
    import traceback

    text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    file = check_writable(logdir) / ERROR_FILE
    with open(file, "a") as f:
        f.write(f"Failure # 1 (occurred at {datetime.now():%Y-%m-%d_%H-%M-%S})\n{text}\n")
    try:  # Tune's Result.error, read back from the folder, is this exception
        import cloudpickle

        pickled = cloudpickle.dumps(error)
    except Exception:  # noqa: BLE001 - one that cannot be pickled: error.txt alone, as Tune
        pickled = None
    if pickled is not None:
        (file.parent / PICKLED_ERROR_FILE).write_bytes(pickled)
    return file


class RunLogger:
    """Append each result to result.json, progress.csv and TensorBoard under ``logdir``.

    Every file is flushed after each result, so a killed run keeps everything
    up to its last iteration.
    """

    def __init__(self, logdir: str | Path, config: dict | None = None):
        self.logdir = check_writable(logdir)
        if config is not None:
            with open(self.logdir / PARAMS_FILE, "w") as f:
                json.dump(config, f, indent=2, sort_keys=True, default=_jsonable)
            _write_pickled_params(self.logdir, config)
        self._json = open(self.logdir / RESULT_FILE, "a")
        self._csv_path = self.logdir / PROGRESS_FILE
        self._csv_fields: list[str] = []
        self._tb = summary_writer(self.logdir)
        self.last_iteration = 0  # the training_iteration of result.json's last line

    def log(self, result: dict) -> None:
        """Write one training result (the dict ``algo.train()`` returned)."""
        result = {k: v for k, v in result.items() if k != "config"}
        json.dump(result, self._json, default=_jsonable)
        self._json.write("\n")
        self._json.flush()
        # Set as soon as result.json holds the line: Ctrl+C while the CSV and TensorBoard
        # are written still reports this iteration as the last one kept.
        self.last_iteration = result.get("training_iteration", self.last_iteration)
        flat = flatten(result)
        self._write_csv(flat)
        self._write_tensorboard(flat, result)

    def write_error(self, error: BaseException) -> None:
        """Write ``error.txt`` (see :func:`write_error`)."""
        write_error(self.logdir, error)

    def write_interrupted(self) -> None:
        """Write ``interrupted.txt``: the run was stopped by Ctrl+C after the last iteration
        result.json holds (a run that reads as finished otherwise: its last result is a
        whole one)."""
        (self.logdir / INTERRUPTED_FILE).write_text(
            f"Interrupted by Ctrl+C (KeyboardInterrupt) after iteration {self.last_iteration} "
            f"(at {datetime.now():%Y-%m-%d_%H-%M-%S}); its stop criteria were not met.\n")

    def add_text(self, tag: str, text: str, step: int) -> None:
        """Write a text entry (shown in TensorBoard's Text tab)."""
        self._tb.add_text(tag, text, global_step=step)
        self._tb.flush()

    def close(self) -> None:
        self._json.close()
        self._tb.close()

    def _write_csv(self, flat: dict) -> None:
        row = {k: v for k, v in flat.items() if not isinstance(v, (list, dict))}
        new_fields = [k for k in row if k not in self._csv_fields]
        if new_fields:
            # A key that appears later (e.g. the first finished episode) widens
            # the header: rewrite the file rather than drop the column.
            old_rows = []
            if self._csv_fields and self._csv_path.exists():
                with open(self._csv_path, newline="") as f:
                    old_rows = list(csv.DictReader(f))
            self._csv_fields += new_fields
            with open(self._csv_path, "w", newline="") as f:
                writer = csv.DictWriter(f, self._csv_fields)
                writer.writeheader()
                writer.writerows(old_rows)
        with open(self._csv_path, "a", newline="") as f:
            csv.DictWriter(f, self._csv_fields).writerow(row)

    def _write_tensorboard(self, flat: dict, result: dict) -> None:
        step = result.get("timesteps_total") or result.get("training_iteration", 0)
        for key, value in flat.items():
            if key.split("/")[0] in _NOT_SCALARS:
                continue
            # as Tune's TBXLogger: every number but NaN, so a diverging loss shows as inf
            # and a bool (done) as 0/1
            if isinstance(value, numbers.Real) and not math.isnan(float(value)):
                self._tb.add_scalar(TB_PREFIX + key, float(value), global_step=step)
            elif _is_number_list(value):
                # Lists of numbers (RLlib's hist_stats, item_series) become histograms.
                self._tb.add_histogram(TB_PREFIX + key, np.asarray(value, dtype=float),
                                       global_step=step)
        self._tb.flush()


def _write_pickled_params(logdir: Path, config: dict) -> None:
    """``params.pkl``: the config as Tune's JSON logger also keeps it (cloudpickled, so
    classes and functions in it come back as themselves). A config that does not pickle
    gets none; ``params.json`` has it, and Tune's readers fall back on it."""
    import cloudpickle

    try:
        data = cloudpickle.dumps(config)
    except Exception:  # noqa: BLE001 - a lock or socket in the user's config: no pkl
        return
    (logdir / PARAMS_PICKLE_FILE).write_bytes(data)


__all__ = [
    "PARAMS_FILE",
    "PARAMS_PICKLE_FILE",
    "PICKLED_ERROR_FILE",
    "PROGRESS_FILE",
    "RESULT_FILE",
    "TB_PREFIX",
    "RunLogger",
    "check_writable",
    "flatten",
]
