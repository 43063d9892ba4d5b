"""BROKEN: my custom module returns its value output .detach()ed ("values are only
targets, no grad needed"), so PPO's value loss has no gradient: V never trains."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import MLPActorCritic, pickle_by_value
from envs import CueEnv
from ray.rllib.algorithms.ppo import PPOConfig
from ray.rllib.core.rl_module.rl_module import RLModuleSpec

pickle_by_value("envs", "common", __name__)


class DetachedValueModule(MLPActorCritic):
    def compute_values(self, batch, embeddings=None):
        if embeddings is None:
            embeddings = self._encode(batch)
        # PLANTED BUG: the value output is cut from the graph.
        return self.vf(embeddings).squeeze(-1).detach()


def make_config():
    return (
        PPOConfig()
        .environment(CueEnv, env_config={"n_actions": 4})
        .framework("torch")
        .env_runners(num_env_runners=0)
        .rl_module(rl_module_spec=RLModuleSpec(module_class=DetachedValueModule,
                                               model_config={"hidden": 64}))
        .training(lr=3e-4, train_batch_size_per_learner=512, minibatch_size=128)
    )
