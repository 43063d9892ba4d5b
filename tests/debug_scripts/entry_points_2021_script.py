"""A 2021 config dict through the other doors into an Algorithm (for rldebug's tests):
`tune.Tuner("PPO", param_space=<2021 dict>)` with an env that declares no spaces (the
policy specs carry them), and `get_trainable_cls("PPO")(config=<2021 dict>)`.

    python entry_points_2021_script.py STORAGE_PATH
"""

import sys
from pathlib import Path

from gymnasium.spaces import Box, Discrete
from ray import tune
from ray.tune.registry import get_trainable_cls

sys.path.insert(0, str(Path(__file__).parent.parent / "legacy"))
from runners_2021 import Runners2021


class SilentRunners(Runners2021):
    """Declares no spaces at all: 2021 code then put them in the policy specs."""

    def __init__(self, config=None):
        super().__init__(config)
        self.observation_space = self.action_space = None


spec = (None, Box(0.0, 1.0, (2,)), Discrete(2), {})
config = {
    "env": SilentRunners,
    "num_workers": 0,
    "train_batch_size": 100,
    "sgd_minibatch_size": 50,
    "num_sgd_iter": 1,
    "multiagent": {"policies": {"shared": spec},
                   "policy_mapping_fn": lambda agent_id, *args, **kwargs: "shared"},
}
grid = tune.Tuner("PPO", param_space=config, run_config=tune.RunConfig(
    stop={"training_iteration": 1}, storage_path=sys.argv[1], name="tuner")).fit()
print("TUNER_ERRORS", grid.num_errors)
print("TUNER_RETURN", grid[0].metrics["env_runners"]["episode_reward_mean"])

algo = get_trainable_cls("PPO")(config=config)
print("OLD_STACK", not algo.config.enable_rl_module_and_learner)
print("POLICY_REWARD_MEAN", sorted(algo.train()["env_runners"]["policy_reward_mean"]))
algo.stop()
