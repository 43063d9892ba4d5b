"""What a Tune 2.60 experiment does with its settings, observed from a script: run plain
and under ``rldebug debug``, the printed JSON must be the same
(``tests/test_debug_tune_semantics.py``). Function trainables only, so it takes seconds.

    python tune_semantics.py STORAGE_DIR
"""

import json
import sys
import time
from pathlib import Path

from ray import tune
from ray.tune import report  # bound at import, before rldebug debug could patch it
from ray.tune.stopper import MaximumIterationStopper, Stopper

STORAGE = sys.argv[1]
seen = {}


def scored(config):
    for i in range(10):
        report({"score": config["a"] * (i + 1), "ctx": tune.get_context().get_trial_id()})


def run(name, trainable=scored, grid=(1, 2), tune_config=None, **run_config):
    return tune.Tuner(trainable, param_space={"a": tune.grid_search(list(grid))},
                      tune_config=tune_config or tune.TuneConfig(max_concurrent_trials=1),
                      run_config=tune.RunConfig(storage_path=STORAGE, name=name,
                                                verbose=0, **run_config))


# A list of Stoppers, combined; tune.report and tune.get_context() bound at import.
tuner = run("stoppers", stop=[MaximumIterationStopper(3), MaximumIterationStopper(5)])
grid = tuner.fit()
seen["stoppers_iterations"] = [r.metrics["training_iteration"] for r in grid]
seen["context_is_the_trial"] = [r.metrics["ctx"] == r.metrics["trial_id"] for r in grid]
seen["get_results_after_fit"] = len(tuner.get_results())
seen["dataframe_has_logdir"] = "logdir" in grid.get_dataframe().columns

# A stop key no result has: Tune warns and goes on.
grid = run("missing_key", stop={"no_such_metric": 1, "training_iteration": 4}).fit()
seen["missing_key"] = ([r.metrics["training_iteration"] for r in grid], grid.num_errors)

# The trial name and folder creators.
grid = run("creators", tune_config=tune.TuneConfig(
    max_concurrent_trials=1, trial_name_creator=lambda t: f"T{t.config['a']}",
    trial_dirname_creator=lambda t: f"folder{t.config['a']}")).fit()
seen["creators_folders"] = sorted(Path(r.path).name for r in grid)


class StopAllAfterTwo(Stopper):
    """Ends the whole experiment once a trial reached iteration 2."""

    def __init__(self):
        self.done = False

    def __call__(self, trial_id, result):
        self.done = self.done or result["training_iteration"] >= 2
        return self.done

    def stop_all(self):
        return self.done


grid = run("stop_all", grid=(1, 2, 3), stop=StopAllAfterTwo()).fit()
seen["stop_all"] = [r.metrics.get("training_iteration") for r in grid]  # no later trial


def slow(config):
    for i in range(50):
        time.sleep(0.2)
        report({"score": i})


grid = run("budget", trainable=slow, tune_config=tune.TuneConfig(
    max_concurrent_trials=1, time_budget_s=2)).fit()
seen["time_budget"] = (len(grid), grid[0].metrics["training_iteration"] < 50)


def fails(config):
    raise ValueError(f"bad trial {config['a']}")


try:
    run("fail_fast", trainable=fails,
        failure_config=tune.FailureConfig(fail_fast="RAISE")).fit()
    seen["fail_fast_raise"] = "returned"
except ValueError as err:  # Tune raises RayTaskError(ValueError), a ValueError
    seen["fail_fast_raise"] = str(err).splitlines()[-1].split(": ")[-1]

try:
    run("checkpoint_at_end", checkpoint_config=tune.CheckpointConfig(
        checkpoint_at_end=True)).fit()
    seen["function_checkpoint_at_end"] = "accepted"
except ValueError as err:
    seen["function_checkpoint_at_end"] = str(err)[:40]

# The same experiment name twice: Tune's trial folders are new each time.
again = [run("twice", stop={"training_iteration": 1}).fit() for _ in range(2)]
seen["twice"] = [(len(g), g.num_errors) for g in again]
seen["twice_folders"] = len({r.path for g in again for r in g})

print("SEEN " + json.dumps(seen, sort_keys=True))
