"""What a Tune 2.60 experiment does with its settings, observed from a script: run plain
and under ``rldebug debug``, the printed JSON must be the same
(``tests/test_debug_tune_semantics.py``). Function trainables only, so it takes seconds.

    python tune_semantics.py STORAGE_DIR
"""

import json
import os
import sys
import tempfile
import time
from pathlib import Path

import ray
from ray import tune
from ray.tune import report  # bound at import, before rldebug debug could patch it
from ray.tune.stopper import MaximumIterationStopper, Stopper

STORAGE = sys.argv[1]
seen = {}
# Ray sets these in the workers where trials run
ray.init(runtime_env={"env_vars": {"TUNE_SEMANTICS_FLAG": "on"}})


def scored(config):
    for i in range(10):
        report({"score": config["a"] * (i + 1), "ctx": tune.get_context().get_trial_id(),
                "flag": os.environ.get("TUNE_SEMANTICS_FLAG")})


class Hooks(tune.Callback):
    """What Tune's controller calls, in order (its step hooks, called per event-loop
    step, only counted)."""

    def __init__(self):
        self.calls, self.steps = [], 0

    def setup(self, stop=None, num_samples=None, total_num_samples=None, **info):
        self.calls.append(("setup", total_num_samples))

    def on_step_end(self, iteration, trials, **info):
        self.steps += 1

    def on_trial_start(self, iteration, trials, trial, **info):
        self.calls.append(("start", trial.config["a"], len(trials)))

    def on_trial_result(self, iteration, trials, trial, result, **info):
        self.calls.append(("result", trial.config["a"], result["training_iteration"],
                           result["trial_id"] == trial.trial_id, result.get("done"),
                           trial.status, trial.last_result.get("score")))
        result["added_by_a_callback"] = 7  # Tune stores and logs the result after this

    def on_checkpoint(self, iteration, trials, trial, checkpoint, **info):
        self.calls.append(("checkpoint", trial.config["a"], Path(checkpoint.path).name))

    def on_trial_save(self, iteration, trials, trial, **info):
        self.calls.append(("save", trial.config["a"]))

    def on_trial_complete(self, iteration, trials, trial, **info):
        self.calls.append(("complete", trial.config["a"], trial.last_result["score"]))

    def on_trial_error(self, iteration, trials, trial, **info):
        self.calls.append(("error", trial.config["a"]))

    def on_experiment_end(self, trials, **info):
        self.calls.append(("end", len(trials)))


class Printed(tune.logger.LoggerCallback):
    """A LoggerCallback, as RLlib's ray_tune/custom_logger.py example writes one, with
    state per trial (keyed by the trial, as Tune's own loggers key theirs)."""

    def __init__(self):
        self.lines, self.per_trial = [], {}

    def log_trial_start(self, trial):
        self.per_trial[trial] = 0

    def log_trial_result(self, iteration, trial, result):
        self.per_trial[trial] += 1
        self.lines.append(f"score {result['score']}")

    def log_trial_end(self, trial, failed=False):
        self.lines.append(f"end failed={failed} after {self.per_trial[trial]}")


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
seen["runtime_env_in_the_trials"] = [r.metrics["flag"] for r in grid]
seen["get_results_after_fit"] = len(tuner.get_results())
seen["dataframe_has_logdir"] = "logdir" in grid.get_dataframe().columns
try:
    grid.get_best_result(metric="not_reported", mode="max")
    seen["best_of_unreported"] = "returned"
except Exception as err:  # noqa: BLE001 - what Tune raises is what is compared
    seen["best_of_unreported"] = [type(err).__name__, str(err)]
analysis = tune.run(scored, config={"a": tune.grid_search([1, 2])}, verbose=0,
                    stop={"training_iteration": 1}, storage_path=STORAGE, name="tune_run")
seen["tune_run_best_of_unreported"] = analysis.get_best_trial("not_reported", "max")


def nan_at_the_end(config):
    for value in {1: [5.0, float("nan")], 2: [1.0, 2.0]}[config["a"]]:
        report({"score": value})


def now_and_then(config):
    """A metric reported at iterations 5 and 10 only, as an evaluation every 5 is."""
    for i in range(1, 11):
        report({"score": {1: {5: 1.0, 10: 3.0}, 2: {5: 1.5, 10: 1.5}}[config["a"]][i]}
               if i % 5 == 0 else {})


grid = run("now_and_then", trainable=now_and_then).fit()
seen["best_avg_now_and_then"] = grid.get_best_result("score", "max", scope="avg").config["a"]
grid = run("nan_at_the_end", trainable=nan_at_the_end).fit()
seen["best_with_nan"] = [
    grid.get_best_result("score", **how).config["a"]
    for how in ({"mode": "max"}, {"mode": "max", "filter_nan_and_inf": False},
                {"mode": "max", "scope": "all"}, {"mode": "min", "scope": "avg"},
                {"mode": "max", "scope": "last-5-avg"})]

# Tune's callbacks, a LoggerCallback's too; a trial that fails.
def scored_or_fails(config):
    if config["a"] == 2:
        raise ValueError("the second trial fails")
    for i in range(3):
        with tempfile.TemporaryDirectory() as folder:
            Path(folder, "state.txt").write_text(str(i))
            report({"score": i + 1}, checkpoint=tune.Checkpoint.from_directory(folder))


hooks, printed = Hooks(), Printed()
grid = run("callbacks", trainable=scored_or_fails, stop={"training_iteration": 2},
           callbacks=[hooks, printed, tune.logger.JsonLoggerCallback()]).fit()
seen["callbacks"] = hooks.calls
seen["callbacks_stepped"] = hooks.steps >= 2
seen["logger_callback"] = printed.lines
seen["callback_changed_the_result"] = (
    grid[0].metrics.get("added_by_a_callback"),
    [json.loads(line).get("added_by_a_callback")
     for line in Path(grid[0].path, "result.json").read_text().splitlines()])
seen["checkpoint_kept"] = Path(grid[0].checkpoint.path, "state.txt").read_text()


def raising_in(hook):
    """A callback whose ``hook`` raises."""
    def boom(self, *args, **kwargs):
        raise KeyError(f"from {hook}")
    return type("Raising", (tune.Callback,), {hook: boom})()


for hook in ("on_trial_result", "on_trial_complete"):
    try:
        grid = run(f"raising_{hook}", callbacks=[raising_in(hook)],
                   stop={"training_iteration": 2}).fit()
        seen[f"raising_{hook}"] = ["returned", grid.num_errors]
    except Exception as err:  # noqa: BLE001 - what Tune raises is what is compared
        seen[f"raising_{hook}"] = ["raised", type(err).__name__,
                                   str(err).strip().splitlines()[-1]]


def says_done(config):
    for i in range(5):
        report({"score": i, "done": i == 1})


grid = run("done", trainable=says_done, grid=(1,)).fit()
seen["done_stops"] = grid[0].metrics["training_iteration"]

try:
    run("metric_typo", tune_config=tune.TuneConfig(metric="scroe", mode="max")).fit()
    seen["metric_typo"] = "returned"
except Exception as err:  # noqa: BLE001 - what Tune raises is what is compared
    seen["metric_typo"] = [type(err).__name__, "scroe" in str(err)]

try:
    run("fail_fast_yes", failure_config=tune.FailureConfig(fail_fast="yes")).fit()
    seen["fail_fast_yes"] = "returned"
except ValueError as err:
    seen["fail_fast_yes"] = str(err)

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
    time.sleep(config["a"])  # a silent start counts against the budget too
    for i in range(50):
        time.sleep(0.2)
        report({"score": i})


grid = run("budget", trainable=slow, grid=(0,), tune_config=tune.TuneConfig(
    max_concurrent_trials=1, time_budget_s=2)).fit()
seen["time_budget"] = (len(grid), grid[0].metrics.get("training_iteration", 0) < 50)
grid = run("budget_silent_start", trainable=slow, grid=(3,), tune_config=tune.TuneConfig(
    max_concurrent_trials=1, time_budget_s=2)).fit()
# Tune stops the trial when the budget runs out (no result); in one process the result
# in flight then is kept: at most one
seen["time_budget_silent_start"] = [(r.metrics.get("training_iteration") or 0) <= 1
                                    for r in grid]


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

# The same experiment name twice: Tune's trial folders are new each time, also where a
# dirname creator gives every trial the same name.
again = [run("twice", stop={"training_iteration": 1}).fit() for _ in range(2)]
seen["twice"] = [(len(g), g.num_errors) for g in again]
seen["twice_folders"] = len({r.path for g in again for r in g})
grid = run("one_name", stop={"training_iteration": 1}, tune_config=tune.TuneConfig(
    max_concurrent_trials=1, trial_dirname_creator=lambda t: "trial")).fit()
seen["one_name"] = [len({r.path for r in grid}), grid.num_errors,
                    [len(Path(r.path, "result.json").read_text().splitlines()) for r in grid]]

# A config RLlib refuses: Tune validates it as it adds the trial, and fit() raises.
try:
    from ray.rllib.algorithms.ppo import PPOConfig

    tune.Tuner("PPO", param_space=PPOConfig().environment("CartPole-v1").training(
        model={"custom_model": "mine"}), run_config=tune.RunConfig(
        storage_path=STORAGE, name="refused_config", verbose=0)).fit()
    seen["refused_config"] = "returned"
except ValueError as err:
    seen["refused_config"] = str(err).split("!")[0]

print("SEEN " + json.dumps(seen, sort_keys=True))
