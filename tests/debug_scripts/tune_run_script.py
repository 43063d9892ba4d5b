"""A `tune.run` script with a dict config and a string trainable, as 2021-2023 code wrote it
(for rldebug's tests)."""

import sys

from ray import tune

analysis = tune.run(
    "PPO",
    config={"env": "CartPole-v1", "lr": tune.grid_search([1e-3, 1e-4]),
            "num_env_runners": 1, "train_batch_size": 200, "minibatch_size": 100,
            "num_epochs": 1},
    stop={"training_iteration": 1},
    storage_path=sys.argv[1], name="run",
)
print("TRIALS", len(analysis.results_df))
print("BEST_LR", analysis.get_best_config("env_runners/episode_return_mean", "max")["lr"])
