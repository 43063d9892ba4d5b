"""BROKEN: multi-agent PPO, two modules, policies_to_train=["p0"] (p1 was added
later and never put in the list): agent_1's module p1 is never updated."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import pickle_by_value
from envs import TwoAgentCueEnv
from ray.rllib.algorithms.ppo import PPOConfig
from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig

pickle_by_value("envs", "common", __name__)


def policy_mapping_fn(agent_id, episode, **kwargs):
    return "p0" if agent_id == "agent_0" else "p1"


def make_config():
    return (
        PPOConfig()
        .environment(TwoAgentCueEnv, env_config={"with_id": False})
        .framework("torch")
        .env_runners(num_env_runners=0)
        .multi_agent(
            policies={"p0", "p1"},
            policy_mapping_fn=policy_mapping_fn,
            policies_to_train=["p0"],  # PLANTED BUG
        )
        .rl_module(model_config=DefaultModelConfig(fcnet_hiddens=[64, 64]))
        .training(lr=3e-4, train_batch_size_per_learner=512, minibatch_size=128)
    )
