"""BROKEN: my policy head ends in nn.Softmax ("the policy outputs probabilities"),
but RLlib's Categorical reads ACTION_DIST_INPUTS as logits: the acting distribution
is softmax(softmax(x)). With 4 actions no action can get p above e/(e+3) = 0.475."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import MLPActorCritic, pickle_by_value
from envs import CueEnv
from ray.rllib.algorithms.ppo import PPOConfig
from ray.rllib.core.rl_module.rl_module import RLModuleSpec
from torch import nn

pickle_by_value("envs", "common", __name__)


class SoftmaxHeadModule(MLPActorCritic):
    def setup(self):
        super().setup()
        h = int(self.model_config.get("hidden", 64))
        # PLANTED BUG: probabilities handed over where logits are expected.
        self.pi = nn.Sequential(nn.Linear(h, int(self.action_space.n)), nn.Softmax(dim=-1))


def make_config():
    return (
        PPOConfig()
        .environment(CueEnv, env_config={"n_actions": 4})
        .framework("torch")
        .env_runners(num_env_runners=0)
        .rl_module(rl_module_spec=RLModuleSpec(module_class=SoftmaxHeadModule,
                                               model_config={"hidden": 64}))
        .training(lr=3e-4, train_batch_size_per_learner=512, minibatch_size=128)
    )
