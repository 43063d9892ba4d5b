"""The experiment's ``experiment_state-<date>.json``, as Tune's controller writes it.

Tune reads an experiment folder back through that file: ``ExperimentAnalysis(path)``,
``Tuner.restore(path, trainable).get_results()``, and the notebooks built on them. Trials
run in this process under ``rldebug debug`` get the same file, written from real Tune
``Trial`` objects (``stub=True``: no trainable is looked up) when each trial starts and
ends, so an interrupted or crashed experiment keeps what was written before.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from rldebug.inprocess.runlog import ERROR_FILE, PICKLED_ERROR_FILE
from rldebug.inprocess.trial_results import (
    ERROR,
    PENDING,
    InProcessTrial,
    trial_history,
    tune_checkpoint,
)

# TuneController.CKPT_FILE_TMPL's form, with Tune's session string (its start date)
STATE_FILE = "experiment_state-{}.json"


def session_name() -> str:
    """The experiment's session string, as Tune's ``date_str()`` makes it."""
    return time.strftime("%Y-%m-%d_%H-%M-%S")


def save_experiment_state(root: Path, trials: list[InProcessTrial], session: str,
                          started: float) -> Path:
    """Write ``root/experiment_state-<session>.json`` for ``trials`` (replacing the one
    this experiment wrote before) and return its path."""
    from ray.tune.utils.serialization import TuneFunctionEncoder

    state = {"trial_data": [_tune_trial(root, t).get_json_state() for t in trials],
             "runner_data": {}, "stats": {"start_time": started}}
    root.mkdir(parents=True, exist_ok=True)
    file = root / STATE_FILE.format(session)
    partial = file.with_name(f".{file.name}.tmp")
    with open(partial, "w") as f:
        json.dump(state, f, cls=TuneFunctionEncoder)
    os.replace(partial, file)  # a reader never sees half a file
    return file


def _tune_trial(root: Path, trial: InProcessTrial):
    """``trial`` as a Tune ``Trial``: its results, status, checkpoint and error file."""
    from ray.train._internal.session import _TrainingResult
    from ray.train._internal.storage import StorageContext
    from ray.tune.execution.placement_groups import PlacementGroupFactory
    from ray.tune.experiment import Trial

    storage = StorageContext(storage_path=str(root.parent), experiment_dir_name=root.name,
                             trial_dir_name=Path(trial.path).name)
    tune_trial = Trial(trial.trainable_name, config=trial.config, trial_id=trial.trial_id,
                       storage=storage, evaluated_params=trial.evaluated_params,
                       experiment_tag=trial.experiment_tag, stub=True,
                       placement_group_factory=PlacementGroupFactory([{"CPU": 1}]))
    tune_trial.create_placement_group_factory()  # as Tune's controller does when it adds one
    for result in trial_history(trial):
        tune_trial.update_last_result(result)
    # the last one as Tune holds it (the Algorithm's config in it); a trial that never
    # ran keeps the empty one Tune writes for it
    if trial.last_result and trial.status != PENDING:
        tune_trial.run_metadata.last_result = dict(trial.last_result)
    checkpoint = tune_checkpoint(trial.checkpoint)
    if checkpoint is not None:
        tune_trial.on_checkpoint(_TrainingResult(checkpoint=checkpoint,
                                                 metrics=dict(trial.last_result)))
    if trial.status == ERROR and trial.error_file is not None:
        tune_trial.run_metadata.error_filename = ERROR_FILE
        if (Path(trial.path) / PICKLED_ERROR_FILE).is_file():
            tune_trial.run_metadata.pickled_error_filename = PICKLED_ERROR_FILE
        tune_trial.run_metadata.num_failures = 1
    tune_trial.set_status(trial.status)
    return tune_trial


__all__ = ["STATE_FILE", "save_experiment_state", "session_name"]
