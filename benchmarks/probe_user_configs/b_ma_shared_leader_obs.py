"""BROKEN: one PPO module shared by both agents. A "centralised observation"
connector was meant to give every agent the team leader's view *in addition to*
its own, but replaces each agent's observation by the leader's (agent_0's), so the
shared module sees the same input for both agents and cannot tell them apart.
(In my env the id is in the observation; the connector throws it away too.)"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import pickle_by_value
from envs import TwoAgentCueEnv
from ray.rllib.algorithms.ppo import PPOConfig
from ray.rllib.connectors.env_to_module.observation_preprocessor import (
    MultiAgentObservationPreprocessor,
)
from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig

pickle_by_value("envs", "common", __name__)


class LeaderObservation(MultiAgentObservationPreprocessor):
    def preprocess(self, observations, episode):
        if not observations:
            return observations
        leader = "agent_0" if "agent_0" in observations else min(observations)
        # PLANTED BUG: should be concat(own obs, leader obs); own obs is dropped.
        return {aid: observations[leader] for aid in observations}


def make_config():
    return (
        PPOConfig()
        .environment(TwoAgentCueEnv, env_config={"with_id": True})
        .framework("torch")
        .env_runners(
            num_env_runners=0,
            env_to_module_connector=lambda env, spaces, device: LeaderObservation(),
        )
        .multi_agent(
            policies={"shared"},
            policy_mapping_fn=lambda agent_id, episode, **kw: "shared",
        )
        .rl_module(model_config=DefaultModelConfig(fcnet_hiddens=[64, 64]))
        .training(lr=3e-4, train_batch_size_per_learner=512, minibatch_size=128)
    )
