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

from rldebug.inprocess.debugging import notice
from rldebug.inprocess.runlog import ERROR_FILE, PICKLED_ERROR_FILE
from rldebug.inprocess.trial_results import (
    ERROR,
    PENDING,
    TERMINATED,
    InProcessTrial,
    trial_history,
    tune_checkpoint,
)

# TuneController.CKPT_FILE_TMPL's form, with Tune's session string (its start date)
STATE_FILE = "experiment_state-{}.json"


class ExperimentState:
    """The state file of one experiment under ``root``, rewritten by :meth:`save`."""

    def __init__(self, root: Path):
        self.root = root
        self.file = root / STATE_FILE.format(time.strftime("%Y-%m-%d_%H-%M-%S"))
        self.started = time.time()
        self._finished: dict[str, tuple[str, str]] = {}  # a finished trial's, unchanging
        self._failed = False

    def save(self, trials: list[InProcessTrial]) -> None:
        """Write the file for ``trials`` (a reader never sees half of it). A trial that
        ended is made into Tune's form once. What Tune cannot write (a config value
        that cannot be pickled) is said once and the experiment goes on."""
        if self._failed or not trials:
            return
        try:
            data = [self._json_state(t) for t in trials]
            self._write({"trial_data": data, "runner_data": {},
                         "stats": {"start_time": self.started}})
        except Exception as err:  # noqa: BLE001 - the trials train on without it
            self._failed = True
            notice(f"Tune's {self.file.name} was not written ({type(err).__name__}: {err}); "
                   "the trials' own folders are complete, but Tune's ExperimentAnalysis "
                   "and Tuner.restore cannot read this experiment.")

    def _json_state(self, trial: InProcessTrial) -> tuple[str, str]:
        if trial.trial_id in self._finished:
            return self._finished[trial.trial_id]
        state = _tune_trial(self.root, trial).get_json_state()
        if trial.status in (TERMINATED, ERROR):
            self._finished[trial.trial_id] = state
        return state

    def _write(self, state: dict) -> None:
        from ray.tune.utils.serialization import TuneFunctionEncoder

        self.root.mkdir(parents=True, exist_ok=True)
        partial = self.file.with_name(f".{self.file.name}.tmp")
        with open(partial, "w") as f:
            json.dump(state, f, cls=TuneFunctionEncoder)
        os.replace(partial, self.file)


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


__all__ = ["STATE_FILE", "ExperimentState"]
