"""BROKEN: separate actor/critic encoders; the actor "quantises" its input with
obs.long() (copied from a module for integer observations). On a Box(-1, 1)
observation that truncates every value strictly inside (-1, 1) to 0: the policy
sees (almost always) all zeros. The critic sees the real observation."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import SeparateActorCritic, pickle_by_value
from envs import CueEnv
from ray.rllib.algorithms.ppo import PPOConfig
from ray.rllib.core.rl_module.rl_module import RLModuleSpec

pickle_by_value("envs", "common", __name__)


class TruncatedActorModule(SeparateActorCritic):
    def _actor_input(self, obs):
        # PLANTED BUG: integer cast truncates toward zero.
        return obs.long().float()


def make_config():
    return (
        PPOConfig()
        .environment(CueEnv, env_config={"n_actions": 4, "obs_low": -1.0, "obs_high": 1.0})
        .framework("torch")
        .env_runners(num_env_runners=0)
        .rl_module(rl_module_spec=RLModuleSpec(module_class=TruncatedActorModule,
                                               model_config={"hidden": 64}))
        .training(lr=3e-4, gamma=0.99, train_batch_size_per_learner=512, minibatch_size=128)
    )
