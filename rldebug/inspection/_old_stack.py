"""Old API stack adapter: Policy + ModelV2 + RolloutWorker with agent connectors.

Observations are preprocessed the way ``Algorithm.compute_single_action`` does
it (the policy's ObsPreprocessor and MeanStd filter agent connectors, or the
worker's preprocessors and filters), then go through ``policy.model`` and
``policy.dist_class``; values come from ``model.value_function()``.
"""

from __future__ import annotations

import copy

import numpy as np

from rldebug.inspection._common import agent_ids
from rldebug.inspection._torch import layers_of
from rldebug.shapes.env_meta import env_of, is_multi_agent_env, map_agents
from rldebug.shapes.episodes import DEFAULT_AGENT_ID, DEFAULT_MODULE_ID
from rldebug.shapes.outputs import env_action, seeded, to_numpy


class OldStack:
    """Everything ``inspect``/``explain`` need from an old-stack Algorithm."""

    name = "old"

    def __init__(self, algo):
        self.algo = algo
        self.worker = algo.env_runner
        self.env = env_of(algo)
        if is_multi_agent_env(self.env):
            self.agents = agent_ids(self.env)
            self.mapping, self.mapping_error = map_agents(algo.config.policy_mapping_fn,
                                                          self.agents)
        else:  # one agent: the same name the new stack gives it
            self.agents = [DEFAULT_AGENT_ID]
            self.mapping, self.mapping_error = {DEFAULT_AGENT_ID: DEFAULT_MODULE_ID}, None

    # -- structure -----------------------------------------------------------

    def module_ids(self) -> list:
        return sorted(self.worker.policy_map.keys())

    def raw_spaces(self, agent_id) -> tuple:
        get_obs = getattr(self.env, "get_observation_space", None)
        if get_obs is not None:
            return get_obs(agent_id), self.env.get_action_space(agent_id)
        return self.env.observation_space, self.env.action_space

    def module_spaces(self, module_id) -> tuple:
        policy = self.algo.get_policy(module_id)
        return policy.observation_space, policy.action_space

    def is_recurrent(self, module_id) -> bool:
        """Whether the policy's model carries a state across steps (use_lstm,
        use_attention)."""
        return bool(self.algo.get_policy(module_id).is_recurrent())

    def connectors(self) -> list[str]:
        policy = self.algo.get_policy(self.module_ids()[0])
        pipeline = getattr(policy, "agent_connectors", None)
        if pipeline is None:
            return []
        return [type(c).__name__ for c in pipeline.connectors]

    def module_details(self, module_id) -> dict:
        policy = self.algo.get_policy(module_id)
        is_trained = self.worker.is_policy_to_train
        trainable = True if is_trained is None else bool(is_trained(module_id, None))
        lr = getattr(policy, "cur_lr", None)
        return {
            "module_class": f"{type(policy).__name__} / {type(policy.model).__name__}",
            "layers": layers_of(policy.model),
            "lr": float(lr) if lr is not None else None,
            "trainable": trainable,
            "has_value_function": hasattr(policy.model, "value_function"),
            "action_distribution": policy.dist_class.__name__ if policy.dist_class else None,
        }

    # -- forward -------------------------------------------------------------

    def module_input(self, module_id, observations: list) -> np.ndarray:
        """Preprocess raw observations like ``Algorithm.compute_single_action`` does."""
        from ray.rllib.connectors.agent.mean_std_filter import (
            MeanStdObservationFilterAgentConnector,
        )
        from ray.rllib.connectors.agent.obs_preproc import ObsPreprocessorConnector
        from ray.rllib.connectors.connector import AgentConnectorDataType

        policy = self.algo.get_policy(module_id)
        pipeline = getattr(policy, "agent_connectors", None)
        processed = []
        for obs in observations:
            if pipeline is not None:
                for kind in (ObsPreprocessorConnector, MeanStdObservationFilterAgentConnector):
                    for connector in pipeline[kind]:
                        if getattr(connector, "is_identity", lambda: False)():
                            continue
                        # A copy in eval mode: filters must not update their statistics.
                        connector = copy.deepcopy(connector)
                        connector.in_eval()
                        connector.reset(env_id="0")
                        data = AgentConnectorDataType("0", "0", {"obs": obs})
                        obs = connector([data])[0].data["obs"]
            else:
                preprocessor = self.worker.preprocessors.get(module_id)
                if preprocessor is not None:
                    obs = preprocessor.transform(obs)
                obs = self.worker.filters[module_id](obs, update=False)
            processed.append(np.asarray(obs))
        return np.stack(processed)

    def forward(self, agent_id, module_id, observations: list, seed: int | None) -> dict:
        """Logits, distribution outputs and values through ``policy.model``/``dist_class``."""
        import torch
        from ray.rllib.policy.sample_batch import SampleBatch

        policy = self.algo.get_policy(module_id)
        module_input = self.module_input(module_id, observations)
        model = policy.model
        was_training = model.training
        model.eval()
        try:
            with torch.no_grad():
                obs = torch.as_tensor(module_input, device=policy.device)
                logits, _ = model(SampleBatch({"obs": obs}), [], None)
                value = model.value_function() if hasattr(model, "value_function") else None
                dist = policy.dist_class(logits, model)
                greedy = dist.deterministic_sample()
                with seeded(seed):
                    sampled = dist.sample()
                entropy = dist.entropy()
                log_prob = dist.logp(sampled)
        finally:
            model.train(was_training)
        probs = getattr(getattr(dist, "dist", None), "probs", None)
        gaussian = getattr(dist, "dist", None)  # DiagGaussian: a torch Normal(mean, std)
        mean, std = (gaussian.mean, gaussian.stddev) \
            if isinstance(gaussian, torch.distributions.Normal) else (None, None)
        return {
            "mean": to_numpy(mean),
            "std": to_numpy(std),
            "family": "policy_gradient",
            "distribution": type(dist).__name__,
            "module_input": module_input,
            "logits": to_numpy(logits),
            "probs": to_numpy(probs),
            "entropy": to_numpy(entropy),
            "log_prob": to_numpy(log_prob),
            "value": to_numpy(value),
            "greedy_action": to_numpy(greedy),
            "sampled_action": to_numpy(sampled),
            "env_action": env_action(to_numpy(sampled), policy.action_space, self.algo.config),
            "greedy_env_action": env_action(to_numpy(greedy), policy.action_space,
                                            self.algo.config),
        }
