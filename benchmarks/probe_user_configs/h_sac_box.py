"""HEALTHY: SAC on a 1-D Box action in [-2, 2] (default normalize_actions=True)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import pickle_by_value
from envs import BoxTargetEnv
from ray.rllib.algorithms.sac import SACConfig
from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig

pickle_by_value("envs", "common", __name__)


def make_config():
    return (
        SACConfig()
        .environment(BoxTargetEnv, env_config={"a_low": -2.0, "a_high": 2.0})
        .framework("torch")
        .env_runners(num_env_runners=0)
        .rl_module(model_config=DefaultModelConfig(fcnet_hiddens=[64, 64]))
        .training(
            gamma=0.95, actor_lr=3e-4, critic_lr=3e-4, alpha_lr=3e-4,
            train_batch_size_per_learner=128,
            num_steps_sampled_before_learning_starts=200,
        )
    )
