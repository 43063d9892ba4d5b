"""A run stripped to what the doctor reads, for the labelled run sets the doctor is
scored on (tests/doctor_corpus, tests/doctor_faults).

:func:`copy_trial` copies one trial/run directory: ``result.json`` keeps the
numeric metrics only (no hostname, node ip, pid, dates, config, paths),
``params.json`` the JSON scalars of the config, ``error.txt`` the traceback with
paths shortened, ``trace/`` the trace's JSON lines, and what rldebug.run recorded of the
env (:data:`rldebug.shapes.env_meta.ENV_SPEC_FILE`) as written.
"""

from __future__ import annotations

import json
import math
import re
import shutil
from pathlib import Path

from rldebug.shapes.env_meta import ENV_SPEC_FILE

_DROP = {"config", "hostname", "node_ip", "pid", "date", "timestamp", "trial_id",
         "experiment_id", "experiment_tag", "checkpoint_dir_name", "time_since_restore",
         "iterations_since_restore", "timesteps_since_restore", "perf"}


def _numeric_only(node, depth=0):
    """Numbers (NaN/inf kept), bools and dicts of them; strings and lists dropped."""
    if isinstance(node, dict):
        kept = {}
        for key, value in node.items():
            if depth == 0 and key in _DROP:
                continue
            value = _numeric_only(value, depth + 1)
            if value is not None and value != {}:
                kept[str(key)] = value
        return kept
    if isinstance(node, (bool, int, float)):
        return node
    return None


_LEFT_OUT = object()


def _scalars(config):
    """The config's JSON scalars, null included (and lists/dicts of them), nothing else."""
    kept = _kept(config)
    return None if kept is _LEFT_OUT else kept


def _kept(config):
    if isinstance(config, dict):
        kept = {str(k): _kept(v) for k, v in config.items()}
        return {k: v for k, v in kept.items() if v is not _LEFT_OUT}
    if isinstance(config, (list, tuple)):
        items = [_kept(v) for v in config]
        return items if all(i is not _LEFT_OUT for i in items) else _LEFT_OUT
    if config is None or isinstance(config, (bool, int, float, str)):
        if isinstance(config, str) and ("/" in config or "\\" in config):
            return _LEFT_OUT  # a machine path
        if isinstance(config, float) and not math.isfinite(config):
            return str(config)
        return config
    return _LEFT_OUT


_PATH = re.compile(r"(/[^\s\"':]+)+/([^\s\"'/:]+)")


def _short_paths(text: str) -> str:
    return _PATH.sub(lambda m: f".../{m.group(2)}", text)


def copy_trial(source: Path, target: Path) -> None:
    """Copy one trial/run directory into the corpus, stripped (see the module docstring)."""
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    lines = []
    for raw in (source / "result.json").read_text().splitlines():
        if raw.strip():
            lines.append(json.dumps(_numeric_only(json.loads(raw))))
    (target / "result.json").write_text("\n".join(lines) + "\n")
    params = source / "params.json"
    if params.is_file():
        (target / "params.json").write_text(
            json.dumps(_scalars(json.loads(params.read_text())), indent=1, sort_keys=True))
    spec = source / ENV_SPEC_FILE
    if spec.is_file():
        shutil.copyfile(spec, target / ENV_SPEC_FILE)
    error = source / "error.txt"
    if error.is_file():
        (target / "error.txt").write_text(_short_paths(error.read_text()))
    trace = source / "trace"
    if trace.is_dir():
        (target / "trace").mkdir()
        for path in sorted(trace.iterdir()):
            if path.suffix == ".jsonl":
                (target / "trace" / path.name).write_text(_short_paths(path.read_text()))


# What a stored run must not hold: a machine's paths or names (copy_trial strips them).
_MACHINE = re.compile(r"/(home|root|tmp|work|Users)/|site-packages|node_ip|hostname")
_STORED_SUFFIXES = (".json", ".txt", ".jsonl")


def stray_files(runs: Path) -> list[str]:
    """Files under ``runs`` that a stripped store may not hold: anything but JSON, JSON
    lines and text (a pickle, a checkpoint), or text naming a machine's paths."""
    return [f"{path}: {'not JSON or text' if path.suffix not in _STORED_SUFFIXES else 'machine trace'}"
            for path in sorted(runs.rglob("*")) if path.is_file()
            and (path.suffix not in _STORED_SUFFIXES or _MACHINE.search(path.read_text()))]


def make_labelled_runs(directory: Path, labels: dict, configs: dict, traced: dict,
                       names: list[str]) -> None:
    """Train and store a batch of labelled runs (``tests/doctor_user_runs2``, ``...3``).

    ``labels``: run -> (how it was made, operator or None, module or None), written to
    ``directory/labels.json``; ``configs``: run -> a function returning ``(config,
    iterations)``; ``traced``: run -> ``rldebug.run``'s ``trace`` level. Each run of
    ``names`` (every run when empty) is trained with ``rldebug.run``, one at a time, and
    stored stripped in ``directory/runs/<run>`` (:func:`copy_trial`; a run that crashed
    before its first iteration keeps its ``error.txt`` and an empty ``result.json``); a
    line per run says its first and last return."""
    import tempfile
    import time

    import rldebug

    (directory / "labels.json").write_text(json.dumps(
        {name: {"made": made, "operator": operator, "module": module}
         for name, (made, operator, module) in labels.items()}, indent=1) + "\n")
    with tempfile.TemporaryDirectory() as tmp:
        for name in names or list(labels):
            logdir = Path(tmp) / name
            config, iterations = configs[name]()
            start = time.time()
            try:
                rldebug.run(config, stop={"training_iteration": iterations}, logdir=logdir,
                            progress=False, trace=traced.get(name)).algo.stop()
            except Exception as err:  # noqa: BLE001 - a crashing run is a case too
                print(f"{name}: raised {type(err).__name__}: {err}"[:300], flush=True)
            if logdir.is_dir():
                if not (logdir / "result.json").is_file():  # crashed before iteration 1
                    (logdir / "result.json").write_text("")
                copy_trial(logdir, directory / "runs" / name)
            print(f"{_returns_line(directory / 'runs' / name)} ({time.time() - start:.0f}s)",
                  flush=True)


def _returns_line(run: Path) -> str:
    path = run / "result.json"
    returns = [json.loads(line).get("env_runners", {}).get("episode_return_mean")
               for line in (path.read_text().splitlines() if path.is_file() else [])
               if line.strip()]
    if not returns:
        return f"{run.name}: no results"
    return f"{run.name}: iters={len(returns)} first={returns[0]} last={returns[-1]}"
