"""Three function trials (one fails at its second result), each reporting a checkpoint:
``python tune_read_back.py OUT`` trains them (run it under ``rldebug debug``);
``python tune_read_back.py OUT --read`` reads the experiment back with Tune's own
``Tuner.restore(...).get_results()`` and ``ExperimentAnalysis``. Each prints one
``SEEN`` line of what it found."""

import json
import os
import sys
import tempfile

from ray import tune
from ray.tune import Checkpoint, ExperimentAnalysis


def trainable(config):
    for i in range(3):
        if config["x"] == 3 and i == 1:
            raise ValueError("trial three fails")
        with tempfile.TemporaryDirectory() as folder:
            with open(os.path.join(folder, "step.txt"), "w") as f:
                f.write(str(i))
            tune.report({"score": config["x"] * (i + 1)},
                        checkpoint=Checkpoint.from_directory(folder))


def seen(grid) -> list:
    def step(result):
        if result.checkpoint is None:
            return None
        with open(os.path.join(result.checkpoint.path, "step.txt")) as f:
            return f.read()
    return sorted(([r.metrics.get("score"), type(r.error).__name__ if r.error else "",
                    step(r), len(r.metrics_dataframe)] for r in grid), key=str)


if __name__ == "__main__":
    path = os.path.join(sys.argv[1], "exp")
    if sys.argv[2:] == ["--read"]:
        grid = tune.Tuner.restore(path, trainable=trainable).get_results()
        analysis = ExperimentAnalysis(path, default_metric="score", default_mode="max")
        print("SEEN " + json.dumps({"grid": seen(grid),
                                    "best_config": analysis.get_best_config(),
                                    "all_max": analysis.get_best_trial(scope="all").config}))
    else:
        grid = tune.Tuner(trainable, param_space={"x": tune.grid_search([1, 2, 3])},
                          run_config=tune.RunConfig(storage_path=sys.argv[1],
                                                    name="exp")).fit()
        print("SEEN " + json.dumps({"grid": seen(grid)}))
