"""BROKEN: my module wraps _forward in torch.no_grad() "for faster inference", but
defines no _forward_train, so RLlib's train forward falls back to _forward: the policy
logits carry no gradient (the value path, via compute_values, still trains)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch
from common import MLPActorCritic, pickle_by_value
from envs import CueEnv
from ray.rllib.algorithms.ppo import PPOConfig
from ray.rllib.core.columns import Columns
from ray.rllib.core.rl_module.rl_module import RLModuleSpec

pickle_by_value("envs", "common", __name__)


class NoGradForwardModule(MLPActorCritic):
    def _forward(self, batch, **kwargs):
        # PLANTED BUG: no_grad here also covers training (see _forward_train below).
        with torch.no_grad():
            return {Columns.ACTION_DIST_INPUTS: self.pi(self._encode(batch))}

    def _forward_train(self, batch, **kwargs):
        # Same as RLlib's default (RLModule._forward_train -> self._forward).
        return self._forward(batch, **kwargs)


def make_config():
    return (
        PPOConfig()
        .environment(CueEnv, env_config={"n_actions": 4})
        .framework("torch")
        .env_runners(num_env_runners=0)
        .rl_module(rl_module_spec=RLModuleSpec(module_class=NoGradForwardModule,
                                               model_config={"hidden": 64}))
        .training(lr=3e-4, train_batch_size_per_learner=512, minibatch_size=128)
    )
