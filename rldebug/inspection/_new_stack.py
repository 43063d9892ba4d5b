"""New API stack adapter: RLModule + Learner + MultiAgentEnvRunner with ConnectorV2.

Observations go through the local EnvRunner's own env-to-module pipeline (it holds
synced connector state such as observation filters) inside a throw-away episode;
actions come from the EnvRunner's inference-only module and its distribution
classes; values from the Learner's module (the EnvRunner's has no value head).
Single-agent algorithms (SingleAgentEnvRunner) use the subclass in ``_single_agent``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from rldebug.inspection._common import agent_ids
from rldebug.inspection._torch import layers_of
from rldebug.inspection.checkpoint import RESTORED_FROM
from rldebug.shapes.env_meta import env_of
from rldebug.shapes.mapping import agent_modules
from rldebug.shapes.outputs import (
    ACTOR_CRITIC,
    Q_LEARNING,
    distribution_name,
    env_action,
    explain_actor_critic,
    explain_policy_gradient,
    explain_q_learning,
    family_of,
    to_numpy,
)

# what a checkpoint of SAC cannot give back (tests/test_explain_continuous.py shows it)
ALPHA_NOT_RESTORED = (
    "alpha is SAC's initial_alpha again, not the alpha the run learned: RLlib 2.60's "
    "checkpoints do not hold it (SACLearner keeps curr_log_alpha out of its state), so "
    "training resumed from this checkpoint restarts it too.")


def _value_function(module) -> str | None:
    """What explain shows as a module's value (see ModuleSummary.value_function)."""
    import gymnasium as gym

    if hasattr(module, "compute_values"):
        return "V(s)"
    family = family_of(module)
    if family == Q_LEARNING or (family == ACTOR_CRITIC and isinstance(
            getattr(module, "action_space", None), gym.spaces.Discrete)):
        return "max over a of Q(s, a)"  # discrete SAC too: explain's value is the max Q
    return "Q(s, a)" if family == ACTOR_CRITIC else None


class NewStack:
    """Everything ``inspect``/``explain`` need from a multi-agent new-stack Algorithm."""

    name = "new"

    def __init__(self, algo):
        self.algo = algo
        self.runner = algo.env_runner
        self.env = env_of(algo)
        self.agents = agent_ids(self.env)
        # agent -> the modules the policy mapping fn sends it to (one unless it reads
        # the episode)
        self.mapping, self.mapping_error = agent_modules(algo.config.policy_mapping_fn,
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

    def is_recurrent(self, module_id) -> bool:
        """Whether the module carries a state across an episode's steps (use_lstm, a
        stateful RLModule)."""
        return bool(self.runner_module(module_id).is_stateful())

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
                "value_function": _value_function(module),
            }

        info = self._on_learner(details)
        info["action_distribution"] = distribution_name(
            self.runner_module(module_id).get_exploration_action_dist_cls())
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
        from rldebug.shapes.connectors import statistics_frozen

        pipeline = self.runner._env_to_module
        # a MeanStdFilter normalises with the statistics the checkpoint saved, as the
        # export does: updating them first would count the observation (and each row
        # of a batch, the rows before it); the state is restored for other pieces' sake
        state = pipeline.get_state()
        try:
            with statistics_frozen(pipeline):
                return pipeline(rl_module=self.runner.module, episodes=episodes,
                                explore=False, shared_data={}, metrics=None)
        finally:
            pipeline.set_state(state)

    def forward(self, agent_id, module_id, observations: list, seed: int | None) -> dict:
        """What the module makes of raw observations of ``agent_id``, per algorithm family."""
        batch = self.module_input(agent_id, module_id, observations)
        module = self.runner_module(module_id)
        family = family_of(module)
        if family == Q_LEARNING:
            lifetime = getattr(self.runner, "num_env_steps_sampled_lifetime", None)
            out = explain_q_learning(module, batch, seed, timestep=lifetime)
        elif family == ACTOR_CRITIC:
            out = explain_actor_critic(module, batch, seed,
                                       lambda obs, actions: self.q_values(module_id, obs, actions))
            out["alpha"] = self.alpha(module_id)
        else:
            out = explain_policy_gradient(module, batch, seed,
                                          lambda obs: self.values(module_id, to_numpy(obs)))
        _, action_space = self.module_spaces(module_id)
        out.update(family=family, module_input=to_numpy(batch["obs"]),
                   env_action=env_action(out["sampled_action"], action_space, self.algo.config),
                   greedy_env_action=env_action(out["greedy_action"], action_space,
                                                self.algo.config))
        notes = list(self.history_notes())
        alpha = out.get("alpha")
        if family == ACTOR_CRITIC and getattr(self.algo, RESTORED_FROM, None) and \
                alpha is not None and math.isclose(alpha, self.algo.config.initial_alpha,
                                                   rel_tol=1e-5):
            notes.append(ALPHA_NOT_RESTORED)  # not once the loaded algorithm learns
        out["notes"] = tuple(notes)
        return out

    def history_notes(self) -> list[str]:
        """What the one-step episode :meth:`module_input` builds cannot show: the pieces
        of the env-to-module pipeline that read earlier steps."""
        from rldebug.shapes.connectors import history_pieces

        known, unknown = history_pieces(self.runner._env_to_module)
        notes = []
        if known:
            notes.append(
                f"{', '.join(known)} build{'s' if len(known) == 1 else ''} the module's "
                "input from earlier steps of the episode too; explain runs the pipeline "
                "on a fresh episode holding only this observation, so it saw none: the "
                "answer is the policy's at an episode's first step, not later in one.")
        if unknown:
            notes.append(
                f"Your connector piece{'s' if len(unknown) > 1 else ''} {', '.join(unknown)} "
                "ran on a fresh episode holding only this observation: if "
                f"{'they read' if len(unknown) > 1 else 'it reads'} earlier steps, "
                "module_input is an episode's first step's.")
        return notes

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

    def q_values(self, module_id, module_obs, actions) -> np.ndarray | None:
        """Q(s, a) from the Learner's module (actions None: Q of every discrete action)."""
        def compute(learner):
            import torch

            module = learner.module[module_id]
            batch = {"obs": torch.as_tensor(to_numpy(module_obs))}
            if actions is not None:  # SAC's Q encoder reads "obs" and "actions"
                batch["actions"] = torch.as_tensor(actions, dtype=batch["obs"].dtype)
            with torch.no_grad():
                return module.compute_q_values(batch).cpu().numpy()

        return self._on_learner(compute)

    def alpha(self, module_id) -> float | None:
        """SAC's entropy temperature in force (``exp(curr_log_alpha)``), from the Learner."""
        def read(learner):
            per_module = getattr(learner, "curr_log_alpha", None)
            if per_module is None:
                return None
            return float(per_module[module_id].detach().exp().reshape(-1)[0])

        return self._on_learner(read)

    def _on_learner(self, fn) -> Any:
        """Run ``fn(learner)`` on the first Learner (local or remote) and return its result."""
        results = self.algo.learner_group.foreach_learner(fn)
        return next(iter(results)).get()
