"""New API stack adapter: RLModule + Learner + MultiAgentEnvRunner with ConnectorV2.

Observations go through the local EnvRunner's own env-to-module pipeline (it holds
synced connector state such as observation filters) inside a throw-away episode;
actions come from the EnvRunner's inference-only module and its distribution
classes; values from the Learner's module (the EnvRunner's has no value head).
Single-agent algorithms (SingleAgentEnvRunner) use the subclass in ``_single_agent``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rldebug.inspect._common import agent_ids, map_agents, single_env
from rldebug.inspect._torch import forked_seed, layers_of, to_numpy


class NewStack:
    """Everything ``inspect``/``explain`` need from a multi-agent new-stack Algorithm."""

    name = "new"

    def __init__(self, algo):
        self.algo = algo
        self.runner = algo.env_runner
        self.env = single_env(algo)
        self.agents = agent_ids(self.env)
        self.mapping, self.mapping_error = map_agents(algo.config.policy_mapping_fn,
                                                      self.agents)

    # -- structure -----------------------------------------------------------

    def module_ids(self) -> list:
        return sorted(self.runner.module.keys())

    def raw_spaces(self, agent_id) -> tuple:
        return (self.env.get_observation_space(agent_id), self.env.get_action_space(agent_id))

    def module_spaces(self, module_id) -> tuple:
        module = self.runner_module(module_id)
        return module.observation_space, module.action_space

    def runner_module(self, module_id):
        """The EnvRunner's (inference-only) RLModule ``module_id``."""
        return self.runner.module[module_id]

    def connectors(self) -> list[str]:
        return [type(c).__name__ for c in self.runner._env_to_module.connectors]

    def module_details(self, module_id) -> dict:
        """Class, layers (with the value head), lr, trainable and distribution of a module."""
        def details(learner):
            module = learner.module[module_id]
            optimizers = learner.get_optimizers_for_module(module_id)
            lr = optimizers[0][1].param_groups[0]["lr"] if optimizers else None
            return {
                "module_class": type(module).__name__,
                "layers": layers_of(module),
                "lr": float(lr) if lr is not None else None,
                "trainable": bool(learner.should_module_be_updated(module_id)),
                "has_value_function": hasattr(module, "compute_values"),
            }

        info = self._on_learner(details)
        info["action_distribution"] = (
            self.runner_module(module_id).get_exploration_action_dist_cls().__name__)
        return info

    # -- forward -------------------------------------------------------------

    def module_input(self, agent_id, module_id, observations: list) -> dict:
        """Run the EnvRunner's env-to-module pipeline on one fresh episode per obs."""
        from ray.rllib.env.multi_agent_episode import MultiAgentEpisode

        obs_space, act_space = self.raw_spaces(agent_id)
        episodes = []
        for obs in observations:
            episode = MultiAgentEpisode(
                observation_space={agent_id: obs_space}, action_space={agent_id: act_space},
                agent_to_module_mapping_fn=lambda aid, ep: module_id)
            episode.add_env_reset(observations={agent_id: obs}, infos={agent_id: {}})
            episodes.append(episode)
        return self.env_to_module(episodes)[module_id]

    def env_to_module(self, episodes: list) -> dict:
        """The EnvRunner's env-to-module pipeline on ``episodes``, its state left as it was."""
        pipeline = self.runner._env_to_module
        # Filters such as MeanStdFilter update their statistics when called: restore them.
        state = pipeline.get_state()
        try:
            return pipeline(rl_module=self.runner.module, episodes=episodes, explore=False,
                            shared_data={}, metrics=None)
        finally:
            pipeline.set_state(state)

    def forward(self, agent_id, module_id, observations: list, seed: int | None) -> dict:
        """Logits, distribution outputs and values for raw observations of ``agent_id``."""
        import torch

        batch = self.module_input(agent_id, module_id, observations)
        module = self.runner_module(module_id)
        with torch.no_grad():
            inference_logits = module.forward_inference(batch)["action_dist_inputs"]
            explore_logits = module.forward_exploration(batch)["action_dist_inputs"]
            greedy = (module.get_inference_action_dist_cls().from_logits(inference_logits)
                      .to_deterministic().sample())
            dist = module.get_exploration_action_dist_cls().from_logits(explore_logits)
            with forked_seed(seed):
                sampled = dist.sample()
            entropy = dist.entropy()
        probs = _categorical_probs(dist)
        return {
            "module_input": to_numpy(batch["obs"]),
            "logits": to_numpy(explore_logits),
            "probs": probs,
            "entropy": to_numpy(entropy),
            "value": self.values(module_id, to_numpy(batch["obs"])),
            "greedy_action": to_numpy(greedy),
            "sampled_action": to_numpy(sampled),
        }

    def values(self, module_id, module_obs: np.ndarray) -> np.ndarray | None:
        """Value estimates from the Learner's module (None without a value function)."""
        def compute(learner):
            import torch

            module = learner.module[module_id]
            if not hasattr(module, "compute_values"):
                return None
            with torch.no_grad():
                return module.compute_values({"obs": torch.as_tensor(module_obs)}).cpu().numpy()

        return self._on_learner(compute)

    def _on_learner(self, fn) -> Any:
        """Run ``fn(learner)`` on the first Learner (local or remote) and return its result."""
        results = self.algo.learner_group.foreach_learner(fn)
        return next(iter(results)).get()


def _categorical_probs(dist) -> np.ndarray | None:
    """Action probabilities of a categorical distribution, None for continuous ones."""
    torch_dist = getattr(dist, "_dist", None)
    probs = getattr(torch_dist, "probs", None)
    return to_numpy(probs) if probs is not None else None
