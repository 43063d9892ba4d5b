"""HEALTHY: PPO with my own TorchRLModule (shared tanh-MLP encoder, pi and value heads)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import MLPActorCritic, pickle_by_value
from envs import CueEnv
from ray.rllib.algorithms.ppo import PPOConfig
from ray.rllib.core.rl_module.rl_module import RLModuleSpec

pickle_by_value("envs", "common", __name__)


def make_config():
    return (
        PPOConfig()
        .environment(CueEnv, env_config={"n_actions": 4})
        .framework("torch")
        .env_runners(num_env_runners=0)
        .rl_module(
            rl_module_spec=RLModuleSpec(
                module_class=MLPActorCritic, model_config={"hidden": 64}
            )
        )
        .training(lr=3e-4, gamma=0.99, lambda_=0.95, train_batch_size_per_learner=512,
                  minibatch_size=128, num_epochs=6)
    )
