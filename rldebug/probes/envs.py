"""The probe environments: tiny envs whose correct values and policy are known exactly.

One rule table (:func:`step_rule`) defines every single-agent probe; :class:`ProbeEnv`
plays it as a gymnasium env, :class:`MultiAgentProbeEnv` plays it for every agent of a
multi-agent config at once (each agent in its own spaces) and adds the probes that only
exist with several agents. States and actions are written in the user's own spaces
(:mod:`.spaces`), so the user's connectors, encoders and action distribution see the
kind of input they were built for.

``env_config`` (plain data, built by :mod:`.config`)::

    {"probe": "delayed", "agents": {agent_id: (observation_space, action_space)},
     "seed": 0, "token": "<the run's token>"}
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from ray.rllib.env.multi_agent_env import MultiAgentEnv

from rldebug.probes.spaces import action_reward, agent_target, observation
from rldebug.usage import UsageError

# Per probe run (env_config["token"]) and agent (None for a single-agent env): the
# smallest and largest Box action the env received, per dimension. Probes train
# in-process, so the probe's env and its report share this.
_RECEIVED: dict[str, dict[Any, tuple[np.ndarray, np.ndarray]]] = {}


def _note_action(token: str | None, agent: Any, space: Any, action: Any) -> None:
    if token is None or not isinstance(space, gym.spaces.Box):
        return
    action = np.asarray(action, dtype=np.float64).reshape(space.shape)
    seen = _RECEIVED.setdefault(token, {})
    low, high = seen.get(agent, (action, action))
    seen[agent] = (np.minimum(low, action), np.maximum(high, action))


def received_actions(token: str) -> dict[Any, tuple[np.ndarray, np.ndarray]]:
    """``{agent: (lowest, highest)}`` Box actions the probe's env received in the run
    named ``token`` (then forgotten); agent None in a single-agent env."""
    return _RECEIVED.pop(token, {})

# Probes whose state is drawn at random (0 or 1) at every reset.
RANDOM_STATE = ("observation", "observation_action")
SINGLE_AGENT_PROBES = ("constant", "observation", "delayed", "action", "observation_action")
MULTI_AGENT_PROBES = ("credit", "shared", "turns")


def step_rule(probe: str, state: int, t: int, action: Any,
              action_space: Any) -> tuple[float, bool, int]:
    """One step of a single-agent probe: ``(reward, terminated, next_state)``."""
    if probe == "constant":
        return 1.0, True, state
    if probe == "observation":
        return (1.0 if state == 1 else -1.0), True, state
    if probe == "delayed":
        return (0.0, False, 1) if t == 0 else (1.0, True, 1)
    if probe == "action":
        return action_reward(action_space, action, which=1), True, state
    if probe == "observation_action":
        return action_reward(action_space, action, which=state), True, state
    raise UsageError(f"unknown single-agent probe {probe!r}; known: {SINGLE_AGENT_PROBES}.")


def _check_config(config: dict, known: tuple) -> None:
    probe = config.get("probe")
    if probe not in known:
        raise UsageError(f"probe env_config['probe'] must be one of {known}, got {probe!r}.")
    if not config.get("agents"):
        raise UsageError("probe env_config['agents'] must map agent ids to "
                         "(observation_space, action_space).")


class ProbeEnv(gym.Env):
    """A single-agent probe in the user's observation and action spaces."""

    def __init__(self, config: dict | None = None):
        config = dict(config or {})
        _check_config(config, SINGLE_AGENT_PROBES)
        self.probe = config["probe"]
        ((self.observation_space, self.action_space),) = config["agents"].values()
        self._token = config.get("token")
        self._rng = np.random.default_rng(config.get("seed"))
        self._state = 0
        self._t = 0

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        self._t = 0
        self._state = int(self._rng.integers(2)) if self.probe in RANDOM_STATE else 0
        return observation(self.observation_space, self._state), {"probe_state": self._state}

    def step(self, action):
        _note_action(self._token, None, self.action_space, action)
        reward, terminated, self._state = step_rule(self.probe, self._state, self._t, action,
                                                    self.action_space)
        self._t += 1
        return (observation(self.observation_space, self._state), reward, terminated, False,
                {"probe_state": self._state})


class MultiAgentProbeEnv(MultiAgentEnv):
    """The probes for a multi-agent config, with the user's own agent ids and spaces.

    A single-agent probe is played by every agent at once, each with its own state.
    The multi-agent probes (one step each, a constant reward scale of +1/-1):

    - ``credit``: every agent sees the same state; agent ``i`` is rewarded for target
      action ``i % 2`` only. Each module learns its agents' action only if every
      agent's experience reaches the module the mapping gives it, every episode.
    - ``shared``: agent ``i`` sees state ``i % 2`` and is rewarded for target ``i % 2``;
      a module serving several agents must tell them apart by what they see.
    - ``turns``: agents act one after another, one per step, agent ``i`` seeing state
      ``i % 2`` (so a shared module can tell them apart) and rewarded for target
      ``i % 2``; an agent's reward is paid on the next agent's step, while it does not
      act (RLlib must carry it to the agent's last action).
    """

    def __init__(self, config: dict | None = None):
        super().__init__()
        config = dict(config or {})
        _check_config(config, SINGLE_AGENT_PROBES + MULTI_AGENT_PROBES)
        self.probe = config["probe"]
        self._token = config.get("token")
        spaces = config["agents"]
        self.possible_agents = list(spaces)
        self.agents = list(spaces)
        self.observation_spaces = {aid: obs for aid, (obs, _) in spaces.items()}
        self.action_spaces = {aid: act for aid, (_, act) in spaces.items()}
        self._index = {aid: i for i, aid in enumerate(self.possible_agents)}
        self._rng = np.random.default_rng(config.get("seed"))
        self._state: dict = {}
        self._t = 0
        self._pending: dict = {}

    def _obs(self, agents) -> dict:
        return {aid: observation(self.observation_spaces[aid], self._state[aid])
                for aid in agents}

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        self._t = 0
        self._pending = {}
        if self.probe in RANDOM_STATE:
            self._state = {aid: int(self._rng.integers(2)) for aid in self.possible_agents}
        elif self.probe in ("shared", "turns"):
            self._state = {aid: agent_target(i) for aid, i in self._index.items()}
        else:
            self._state = {aid: 0 for aid in self.possible_agents}
        first = self.possible_agents[:1] if self.probe == "turns" else self.possible_agents
        return self._obs(first), {}

    def step(self, action_dict: dict):
        if self.probe == "turns":
            return self._turn(action_dict)
        rewards = {}
        done = True
        for aid, action in action_dict.items():
            _note_action(self._token, aid, self.action_spaces[aid], action)
            if self.probe in SINGLE_AGENT_PROBES:
                reward, terminated, self._state[aid] = step_rule(
                    self.probe, self._state[aid], self._t, action, self.action_spaces[aid])
            else:  # credit, shared: one step, the agent's own target
                which = agent_target(self._index[aid])
                reward, terminated = action_reward(self.action_spaces[aid], action, which), True
            rewards[aid] = reward
            done = done and terminated
        self._t += 1
        return (self._obs(action_dict), rewards, {"__all__": done}, {"__all__": False}, {})

    def _turn(self, action_dict: dict):
        (aid, action), = action_dict.items()
        _note_action(self._token, aid, self.action_spaces[aid], action)
        which = agent_target(self._index[aid])
        self._pending[aid] = action_reward(self.action_spaces[aid], action, which)
        self._t += 1
        if self._t < len(self.possible_agents):
            nxt = self.possible_agents[self._t]
            # Rewards so far are paid now, while only the next agent acts.
            rewards, self._pending = self._pending, {}
            return self._obs([nxt]), rewards, {"__all__": False}, {"__all__": False}, {}
        rewards, self._pending = self._pending, {}
        return (self._obs(self.possible_agents), rewards, {"__all__": True},
                {"__all__": False}, {})


__all__ = [
    "MULTI_AGENT_PROBES",
    "RANDOM_STATE",
    "SINGLE_AGENT_PROBES",
    "MultiAgentProbeEnv",
    "ProbeEnv",
    "step_rule",
]
