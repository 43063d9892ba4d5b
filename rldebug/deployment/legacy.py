"""The old API stack's evaluation pipeline, as :func:`rldebug.parity`'s reference.

An old-stack policy is a ``Policy`` behind its agent connectors: the observation
preprocessor (one-hot, flattening) and, with ``observation_filter="MeanStdFilter"``,
the filter with the statistics the checkpoint saved. ``Algorithm.compute_single_action(
obs, policy_id=..., explore=False)`` runs them in evaluation mode (statistics frozen) and
unsquashes or clips the action as the config says. :class:`OldStackPolicy` answers as
that does, per agent on a multi-agent env, with the same variants the new stack's
:class:`InferencePolicy` has where they apply: the filter left out, the action not
unsquashed, agents mapped to other policies.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np

from rldebug.deployment.pipeline import Variant
from rldebug.usage import UsageError

FILTER = "MeanStdFilter"


class OldStackPolicy:
    """``algo.compute_single_action(obs, policy_id=..., explore=False)`` as a policy."""

    #: how its policy mapping fn is asked (rldebug.shapes.mapping): as the old stack asks
    old_stack = True

    def __init__(self, algo, variant: Variant | None = None):
        from rldebug.shapes.env_meta import agent_spaces, env_of

        self.algo, self.variant = algo, variant or Variant()
        config = algo.config
        self.multi_agent = bool(config.is_multi_agent)
        runner_env = getattr(algo.env_runner, "env", None)  # as its wrappers leave it
        spaces = agent_spaces(runner_env if runner_env is not None else env_of(algo))
        self._parts = {"env": config.env, "env_config": dict(config.env_config or {}),
                       "mapping_fn": config.policy_mapping_fn if self.multi_agent else None,
                       "observation_space": {a: o for a, (o, _) in spaces.items()},
                       "action_space": {a: s for a, (_, s) in spaces.items()}}
        stateful = [pid for pid, policy in algo.env_runner.policy_map.items()
                    if policy.is_recurrent()]
        if stateful:
            raise UsageError(f"parity does not replay the recurrent state of old-stack "
                             f"policies ({stateful}); port the checkpoint to the new API "
                             "stack (RLModule with use_lstm) or compare by hand with "
                             "compute_single_action(obs, state=..., explore=False).")

    # -- the interface parity uses (as InferencePolicy's) --------------------------------
    @property
    def parts(self) -> dict:
        return dict(self._parts)

    @property
    def user_pieces(self) -> list[str]:
        from ray.rllib.connectors.agent.mean_std_filter import (
            MeanStdObservationFilterAgentConnector,
        )

        for policy in self.algo.env_runner.policy_map.values():
            connectors = policy.agent_connectors
            if connectors is not None and connectors[MeanStdObservationFilterAgentConnector]:
                return [FILTER]
        return []

    squashes_actions = False
    gaussian_actions = False  # the tanh(mean) variant is not replayed on the old stack
    unsquashes_actions = False  # the twice-unsquashed variant is not replayed on the old stack
    flattens_a_dict = False  # nor the Dict observation flattened in the env's key order
    stacks_frames = False  # nor RLlib's (new-stack) frame stack given newest first
    keeps_history = False  # recurrent policies are refused
    #: where a left-out piece's saved state lives
    state_location = ("the checkpoint's policies/<policy_id>/policy_state.pkl (the policy's "
                      "agent connectors; Algorithm.compute_single_action applies it)")

    def reset(self) -> None:
        """Nothing carries over between steps (recurrent policies are refused)."""

    def greedy_probability(self) -> None:
        return None

    def action_gaussian(self) -> None:
        """Not read from an old-stack policy: a sampler is not told from its actions."""

    def with_variant(self, **changes) -> OldStackPolicy:
        variant = replace(self.variant, **changes)
        if variant.forget_history or variant.squashed_mean:
            raise UsageError("not a variant of an old-stack policy")  # nothing to forget
        return OldStackPolicy(self.algo, variant)

    def act(self, obs: Any, reward: Any = 0.0, taken: Any = None) -> tuple[Any, Any]:
        if self.multi_agent:
            if not isinstance(obs, Mapping):
                raise UsageError("This policy was trained on a multi-agent env: call it with "
                                 "the env's observation dict {agent_id: obs}.")
            actions = {agent: self._one(agent, o) for agent, o in obs.items()}
            return actions, actions
        action = self._one(None, obs)
        return action, action

    # -- one agent's action --------------------------------------------------------------
    def _policy_id(self, agent) -> str:
        from ray.rllib.policy.sample_batch import DEFAULT_POLICY_ID

        if agent is None:
            return DEFAULT_POLICY_ID
        if self.variant.mapping is not None:
            return dict(self.variant.mapping)[agent]
        from rldebug.shapes.mapping import agent_modules, per_episode_text

        modules, error = agent_modules(self._parts["mapping_fn"], [agent], old_stack=True,
                                       worker=self.algo.env_runner)
        if error:
            raise UsageError(f"parity cannot tell which policy agent {agent!r} acts with: "
                             f"{error}. Fix the policy mapping fn.")
        if len(modules[agent]) > 1:
            raise UsageError(
                f"{per_episode_text(modules)}; parity on the old API stack asks one policy "
                "per agent. Train on the new API stack, whose parity plays each episode "
                "with the module the mapping fn picks for it.")
        return modules[agent][0]

    def _one(self, agent, obs):
        from ray.rllib.models.preprocessors import get_preprocessor
        from ray.rllib.utils.spaces.space_utils import clip_action, unsquash_action

        policy_id = self._policy_id(agent)
        if self.variant.without != FILTER:
            return self.algo.compute_single_action(
                obs, policy_id=policy_id, explore=False,
                unsquash_action=self.algo.config.normalize_actions and self.variant.to_env,
                clip_action=self.algo.config.clip_actions and self.variant.to_env)
        policy = self.algo.get_policy(policy_id)  # the filter left out: preprocessor only
        space = policy.observation_space
        original = getattr(space, "original_space", space)
        preprocessed = get_preprocessor(original)(original).transform(obs)
        action = policy.compute_single_action(obs=np.asarray(preprocessed), explore=False)[0]
        if self.variant.to_env and self.algo.config.normalize_actions:
            action = unsquash_action(action, policy.action_space_struct)
        elif self.variant.to_env and self.algo.config.clip_actions:
            action = clip_action(action, policy.action_space_struct)
        return action


__all__ = ["OldStackPolicy"]
