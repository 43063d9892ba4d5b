"""An unmodified Tune script using what RLlib scripts commonly use beside a param grid: a
tune.Stopper, a function trainable that builds its own Algorithm and reports with a
checkpoint, TuneConfig's metric/mode for get_best_result(), CheckpointConfig,
Result.metrics_dataframe and get_dataframe(filter_metric=...), evaluation set to run
beside training for as long as training takes, and an env whose rewards are bools.
It prints one JSON line of what it saw.

    python tests/debug_scripts/tune_features.py STORAGE_DIR
    rldebug debug tests/debug_scripts/tune_features.py STORAGE_DIR
"""

import json
import sys
import tempfile

import gymnasium as gym
import numpy as np
from ray import tune
from ray.rllib.algorithms.algorithm import Algorithm
from ray.rllib.algorithms.ppo import PPOConfig
from ray.tune.stopper import MaximumIterationStopper


class BoolReward(gym.Wrapper):
    """CartPole paying np.True_ for a step and np.False_ at its end (RLlib adds them up)."""

    def __init__(self, config=None):
        super().__init__(gym.make("CartPole-v1"))

    def step(self, action):
        obs, _, terminated, truncated, info = self.env.step(action)
        return obs, np.bool_(not terminated), terminated, truncated, info


def tiny(lr=3e-4):
    return (PPOConfig().environment(BoolReward)
            .training(lr=lr, train_batch_size_per_learner=100, minibatch_size=50,
                      num_epochs=1))


def evaluated():
    return (tiny().env_runners(num_env_runners=1)
            .evaluation(evaluation_interval=1, evaluation_num_env_runners=1,
                        evaluation_parallel_to_training=True, evaluation_duration="auto"))


def function_trainable(config):
    # in the trial's own actor: no actors of its own without tune.with_resources
    algo = tiny(config["lr"]).env_runners(num_env_runners=0).build_algo()
    for _ in range(3):
        result = algo.train()
        with tempfile.TemporaryDirectory() as folder:
            algo.save_to_path(folder)
            tune.report({"ret": result["env_runners"]["episode_return_mean"]},
                        checkpoint=tune.Checkpoint.from_directory(folder))
    algo.stop()


if __name__ == "__main__":
    storage = sys.argv[1]
    seen = {}
    grid = tune.Tuner(
        "PPO", param_space=evaluated().training(lr=tune.grid_search([1e-3, 1e-4])),
        tune_config=tune.TuneConfig(metric="env_runners/episode_return_mean", mode="max"),
        run_config=tune.RunConfig(stop=MaximumIterationStopper(2), storage_path=storage,
                                  name="classes",
                                  checkpoint_config=tune.CheckpointConfig(
                                      checkpoint_at_end=True))).fit()
    best = grid.get_best_result()
    seen["iterations"] = [r.metrics["training_iteration"] for r in grid]
    seen["restored"] = type(Algorithm.from_checkpoint(best.checkpoint.path)).__name__
    seen["history_rows"] = len(best.metrics_dataframe)
    seen["best_checkpoints"] = len(best.best_checkpoints or [])
    seen["filtered_rows"] = len(grid.get_dataframe(
        filter_metric="env_runners/episode_return_mean", filter_mode="max"))
    functions = tune.Tuner(
        function_trainable, param_space={"lr": tune.grid_search([1e-3, 1e-4])},
        run_config=tune.RunConfig(stop={"training_iteration": 2}, storage_path=storage,
                                  name="functions")).fit()
    seen["function_iterations"] = [r.metrics["training_iteration"] for r in functions]
    seen["function_returns"] = [r.metrics["ret"] for r in functions]
    seen["function_checkpoint"] = type(
        Algorithm.from_checkpoint(functions[0].checkpoint.path)).__name__
    print(json.dumps(seen))
