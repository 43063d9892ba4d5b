"""BROKEN: separate actor/critic encoders; the critic reads obs * critic_mask, a
buffer meant to be filled with 1s for the features the critic may see, never filled
(all zeros). The critic sees a constant input; the actor sees the observation."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch
from common import SeparateActorCritic, pickle_by_value
from envs import CueEnv
from ray.rllib.algorithms.ppo import PPOConfig
from ray.rllib.core.rl_module.rl_module import RLModuleSpec

pickle_by_value("envs", "common", __name__)


class MaskedCriticModule(SeparateActorCritic):
    def setup(self):
        super().setup()
        in_dim = int(self.observation_space.shape[0])
        # PLANTED BUG: "TODO: set 1s for the non-privileged features" never done.
        self.register_buffer("critic_mask", torch.zeros(in_dim))

    def _critic_input(self, obs):
        return obs * self.critic_mask


def make_config():
    return (
        PPOConfig()
        .environment(CueEnv, env_config={"n_actions": 4})
        .framework("torch")
        .env_runners(num_env_runners=0)
        .rl_module(rl_module_spec=RLModuleSpec(module_class=MaskedCriticModule,
                                               model_config={"hidden": 64}))
        .training(lr=3e-4, gamma=0.99, train_batch_size_per_learner=512, minibatch_size=128)
    )
