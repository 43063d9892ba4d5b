"""New API stack adapter for single-agent algorithms: SingleAgentEnvRunner + RLModule.

The same path as the multi-agent adapter (:class:`~._new_stack.NewStack`), with
what differs for one agent: the EnvRunner holds one plain RLModule (the Learner
still wraps it in a MultiRLModule under ``default_policy``), the env has no agent
ids, observations are wrapped in a ``SingleAgentEpisode`` and the pipeline's batch
is not keyed by module.
"""

from __future__ import annotations

from rldebug.inspection._new_stack import NewStack


class SingleAgentStack(NewStack):
    """Everything ``inspect``/``explain`` need from a single-agent new-stack Algorithm."""

    def __init__(self, algo):
        from ray.rllib.core import DEFAULT_AGENT_ID, DEFAULT_MODULE_ID

        super().__init__(algo)
        # RLlib's own name for the one agent (its metrics use it too); the policy
        # mapping fn plays no part in single-agent sampling.
        self.agents = [DEFAULT_AGENT_ID]
        self.mapping, self.mapping_error = {DEFAULT_AGENT_ID: [DEFAULT_MODULE_ID]}, None

    # -- structure -----------------------------------------------------------

    def module_ids(self) -> list:
        return list(self.mapping[self.agents[0]])

    def raw_spaces(self, agent_id) -> tuple:
        # The spaces the EnvRunner gives its own episodes (after any env wrappers).
        vector_env = getattr(self.runner, "env", None)
        if vector_env is not None:
            return vector_env.single_observation_space, vector_env.single_action_space
        return self.env.observation_space, self.env.action_space

    def runner_module(self, module_id):
        return self.runner.module

    # -- forward -------------------------------------------------------------

    def module_input(self, agent_id, module_id, observations: list) -> dict:
        """Run the EnvRunner's env-to-module pipeline on one fresh episode per obs."""
        from ray.rllib.env.single_agent_episode import SingleAgentEpisode

        obs_space, act_space = self.raw_spaces(agent_id)
        episodes = []
        for obs in observations:
            episode = SingleAgentEpisode(observation_space=obs_space, action_space=act_space)
            episode.add_env_reset(observation=obs, infos={})
            episodes.append(episode)
        return self.env_to_module(episodes)
