"""HEALTHY (in its own env): one PPO module shared by both agents; the ENV's observation
carries a one-hot agent id, which is how the shared module tells the agents apart."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import pickle_by_value
from envs import TwoAgentCueEnv
from ray.rllib.algorithms.ppo import PPOConfig
from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig

pickle_by_value("envs", "common", __name__)


def make_config():
    return (
        PPOConfig()
        .environment(TwoAgentCueEnv, env_config={"with_id": True})
        .framework("torch")
        .env_runners(num_env_runners=0)
        .multi_agent(
            policies={"shared"},
            policy_mapping_fn=lambda agent_id, episode, **kw: "shared",
        )
        .rl_module(model_config=DefaultModelConfig(fcnet_hiddens=[64, 64]))
        .training(lr=3e-4, train_batch_size_per_learner=512, minibatch_size=128)
    )
