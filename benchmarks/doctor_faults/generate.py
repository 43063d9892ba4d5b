"""Make the benchmark's runs: every case trained for real, stripped, labelled.

Each case trains its config in this process with ``rldebug.run`` (Tune's trial
files; a trace where the operator asks for one). A run that raises is kept: its
traceback goes to ``error.txt``, as Tune writes it for a failed trial. Cases
already stored are skipped unless ``force``; ``jobs`` > 1 trains that many cases
at once in child processes (one torch thread each). ``seed`` makes a second draw of
the faulty runs (:func:`~benchmarks.doctor_faults.operators.cases`), stored apart in
``tests/doctor_faults/seed<N>``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

from benchmarks.doctor_faults.operators import Case, cases
from benchmarks.run_store import copy_trial

ROOT = Path(__file__).resolve().parents[2]
STORE = ROOT / "tests" / "doctor_faults"


def store_of(seed: int | None = None, root: Path = STORE) -> Path:
    """Where a draw's runs (``runs/``) and labels (``labels.json``) are stored: the
    benchmark's own, or a second draw's at ``seed`` (below ``root``: the benchmark's
    folder, or a copy of it)."""
    return root if seed is None else root / f"seed{seed}"


def stored_draws() -> list[int]:
    """The seeds of the second draws stored beside the benchmark's runs."""
    return sorted(int(path.parent.name.removeprefix("seed"))
                  for path in STORE.glob("seed*/labels.json"))


def train(case: Case, work: Path, runs: Path) -> str:
    """Train one case into ``work`` and store it in ``runs``; returns a one-line
    outcome."""
    import rldebug

    logdir = work / case.name
    trace = case.operator.trace if case.operator else None
    started = time.time()
    outcome = "ok"
    try:
        result = rldebug.run(case.config(), stop={"training_iteration": case.base.iterations},
                             logdir=logdir, progress=False, trace=trace)
        result.algo.stop()
    except Exception as err:  # noqa: BLE001 - a failed run is a benchmark case too
        logdir.mkdir(parents=True, exist_ok=True)
        (logdir / "error.txt").write_text(
            f"Failure # 1 (occurred at {time.strftime('%Y-%m-%d_%H-%M-%S')})\n"
            + "".join(traceback.format_exception(err)))
        if not (logdir / "result.json").is_file():
            (logdir / "result.json").write_text("")
        outcome = f"raised {type(err).__name__}: {err}"[:200]
    copy_trial(logdir, runs / case.name)
    return f"{case.name}: {outcome} ({time.time() - started:.0f} s)"


def train_named(names: list[str], seed: int | None = None) -> None:
    """Train the named cases in this process (a child of :func:`generate`)."""
    import torch

    torch.set_num_threads(1)
    by_name = {case.name: case for case in cases(seed)}
    runs = store_of(seed) / "runs"
    with tempfile.TemporaryDirectory(prefix="rldebug-faults-") as work:
        for name in names:
            print(train(by_name[name], Path(work), runs), flush=True)


def write_labels(seed: int | None = None) -> dict:
    """labels.json: every stored case's label (how it was made)."""
    store = store_of(seed)
    labels = {case.name: case.label for case in cases(seed)
              if (store / "runs" / case.name).is_dir()}
    (store / "labels.json").write_text(json.dumps(labels, indent=1, sort_keys=True) + "\n")
    return labels


def generate(only: str | None = None, jobs: int = 2, force: bool = False,
             seed: int | None = None) -> None:
    runs = store_of(seed) / "runs"
    todo = [case.name for case in cases(seed) if (only is None or only in case.name)
            and (force or not (runs / case.name / "result.json").is_file())]
    print(f"{len(todo)} case(s) to train with {jobs} job(s)", flush=True)
    started = time.time()
    seed_args = [] if seed is None else ["--seed", str(seed)]
    children = [subprocess.Popen([sys.executable, "-m", "benchmarks.doctor_faults",
                                  "train", *seed_args, *todo[index::jobs]], cwd=ROOT)
                for index in range(jobs) if todo[index::jobs]]
    failed = sum(child.wait() != 0 for child in children)
    labels = write_labels(seed)
    print(f"{len(labels)} runs stored in {runs.relative_to(ROOT)} "
          f"({time.time() - started:.0f} s){'; a job failed' if failed else ''}")
