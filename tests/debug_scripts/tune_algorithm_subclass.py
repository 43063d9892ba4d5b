"""A Tuner over a custom Algorithm subclass with Tune's default checkpointing, then the
same experiment restored (``tests/test_debug_tune_semantics.py``).

    python tune_algorithm_subclass.py STORAGE_DIR
"""

import json
import sys

from ray import tune
from ray.rllib.algorithms.ppo import PPO, PPOConfig


class MyPPO(PPO):
    """PPO that counts its training steps (RLlib's examples subclass so for a custom
    training_step, e.g. centralized_critic.py)."""

    steps = 0

    def training_step(self):
        type(self).steps += 1
        return super().training_step()


config = (PPOConfig().environment("CartPole-v1")
          .env_runners(num_env_runners=0, rollout_fragment_length=64)
          .training(train_batch_size=64, minibatch_size=32, num_epochs=1))
grid = tune.Tuner(MyPPO, param_space=config, run_config=tune.RunConfig(
    storage_path=sys.argv[1], name="subclass", stop={"training_iteration": 1},
    verbose=0)).fit()
print("SEEN " + json.dumps({"my_training_steps": MyPPO.steps,
                            "checkpoint": grid[0].checkpoint is not None,
                            "errors": grid.num_errors}))
if "--restore" in sys.argv:
    tune.Tuner.restore(str(grid.experiment_path), trainable=MyPPO).fit()
