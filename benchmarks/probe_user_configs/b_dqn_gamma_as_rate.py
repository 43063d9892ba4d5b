"""BROKEN: DQN with gamma=0.1: the user read gamma as the discount *rate* (1 - gamma)
and meant 0.9. Future rewards are worth 10% per step: bootstrapping barely carries value."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import pickle_by_value
from envs import CueEnv
from ray.rllib.algorithms.dqn import DQNConfig
from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig

pickle_by_value("envs", "common", __name__)


def make_config():
    return (
        DQNConfig()
        .environment(CueEnv, env_config={"n_actions": 3})
        .framework("torch")
        .env_runners(num_env_runners=0)
        .rl_module(model_config=DefaultModelConfig(fcnet_hiddens=[64, 64], fcnet_activation="relu"))
        .training(
            lr=5e-4,
            gamma=0.1,  # PLANTED BUG
            train_batch_size_per_learner=64, target_network_update_freq=500,
            num_steps_sampled_before_learning_starts=200,
            epsilon=[(0, 1.0), (2000, 0.05)],
        )
    )
