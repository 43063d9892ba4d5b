"""The envs the fault benchmark trains on: gymnasium's and RLlib's own, wrapped to inject
one fault each, plus one sparse-reward task.

Every fault is a setting of :class:`Faulty` (single agent) or :class:`FaultyMultiAgent`
(one agent's reward of a multi-agent env), so a run's ``params.json`` says exactly
which fault it carries.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np


def inject_reward(reward: float, settings: dict, rng: np.random.Generator, step: int) -> float:
    """The reward after the reward faults of ``settings`` (a constant, scale, sign, noise,
    NaN)."""
    if "reward_constant" in settings:  # a reward wired to a constant: nothing to learn
        reward = settings["reward_constant"]
    reward = float(reward) * settings.get("reward_scale", 1.0)
    if settings.get("reward_sign_flipped"):
        reward = -reward
    if settings.get("reward_noise"):
        reward += float(rng.normal(0.0, settings["reward_noise"]))
    every = settings.get("nan_reward_every")
    if every and step % every == 0:
        reward = float("nan")
    return reward


class GoalCorridor(gym.Env):
    """A sparse-reward task: walk right along a corridor of ``length`` cells; +1 only on
    reaching the last cell (terminated), nothing otherwise; ``max_steps`` is the time limit
    (truncated). Which action steps right alternates from cell to cell (action 0 in even
    cells, 1 in odd ones; the other steps back), and the observation is the cell, one-hot:
    what is learned in one cell does not carry over to the next, so the reward must travel
    back cell by cell through the value function, and a short horizon (gamma) cuts it off.
    (With the position as one number and "right" always action 1, "go right" learned at
    the last cell generalised to every cell, and gamma 0 learned as fast as gamma 0.99.)"""

    def __init__(self, config=None):
        config = config or {}
        self.length = int(config.get("length", 10))
        self.max_steps = int(config.get("max_steps", 40))
        self.observation_space = gym.spaces.Box(0.0, 1.0, (self.length + 1,), np.float32)
        self.action_space = gym.spaces.Discrete(2)
        self.position = self.steps = 0

    def _obs(self):
        cell = np.zeros(self.length + 1, np.float32)
        cell[self.position] = 1.0
        return cell

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.position = self.steps = 0
        return self._obs(), {}

    def step(self, action):
        self.steps += 1
        forward = int(action) == self.position % 2
        self.position = max(0, self.position + (1 if forward else -1))
        reached = self.position >= self.length
        return self._obs(), float(reached), reached, self.steps >= self.max_steps, {}


def _make(name: str, config: dict):
    if name == "GoalCorridor":
        return GoalCorridor(config.get("env_config"))
    return gym.make(name)


class Faulty(gym.Wrapper):
    """``env_config["env"]`` (a gymnasium id, or "GoalCorridor") with the faults named in
    ``env_config``: ``reward_constant``, ``reward_scale``, ``reward_sign_flipped``,
    ``reward_noise`` (std),
    ``nan_reward_every`` (steps), ``obs_scale``, ``obs_zero``,
    ``terminated_as_truncated``."""

    def __init__(self, config=None):
        config = dict(config or {})
        super().__init__(_make(config.get("env", "CartPole-v1"), config))
        self.settings = config
        self.rng = np.random.default_rng(int(config.get("fault_seed", 0)))
        self.steps = 0
        scale = config.get("obs_scale")
        if scale or config.get("obs_zero"):
            low, high = self.env.observation_space.low, self.env.observation_space.high
            if scale:
                low, high = low * scale, high * scale
            self.observation_space = gym.spaces.Box(low.astype(np.float32),
                                                    high.astype(np.float32),
                                                    dtype=np.float32)

    def _observe(self, obs):
        if self.settings.get("obs_zero"):
            return np.zeros_like(obs)
        if self.settings.get("obs_scale"):
            return (obs * self.settings["obs_scale"]).astype(np.float32)
        return obs

    def reset(self, **kwargs):
        obs, info = self.env.reset(**kwargs)
        return self._observe(obs), info

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.steps += 1
        reward = inject_reward(reward, self.settings, self.rng, self.steps)
        if self.settings.get("terminated_as_truncated") and terminated:
            terminated, truncated = False, True
        return self._observe(obs), reward, terminated, truncated, info


def faulty_multi_agent_cartpole():
    """RLlib's MultiAgentCartPole (agents 0 and 1) whose agent ``fault_agent`` gets the
    reward faults of ``env_config`` (see :func:`inject_reward`)."""
    from ray.rllib.examples.envs.classes.multi_agent import MultiAgentCartPole

    class FaultyMultiAgentCartPole(MultiAgentCartPole):
        def __init__(self, config=None):
            config = dict(config or {})
            super().__init__({"num_agents": config.get("num_agents", 2)})
            self.settings = config
            self.rng = np.random.default_rng(0)
            self.steps = 0

        def step(self, action_dict):
            obs, rewards, terminateds, truncateds, infos = super().step(action_dict)
            agent = self.settings.get("fault_agent")
            if agent in rewards:
                self.steps += 1
                rewards[agent] = inject_reward(rewards[agent], self.settings, self.rng,
                                               self.steps)
            return obs, rewards, terminateds, truncateds, infos

    return FaultyMultiAgentCartPole
