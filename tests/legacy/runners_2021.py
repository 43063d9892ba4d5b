"""Two runners on a track, written the way 2021 multi-agent envs were (for rldebug's tests).

gym 0.21's API (``reset()`` returns only the observations, ``step()`` returns
``(obs, rewards, dones, infos)`` with ``dones["__all__"]``), and one shared
``self.observation_space`` / ``self.action_space`` for both agents, no
``possible_agents`` and no per-agent spaces, as multi-agent envs declared them
before RLlib 2.x. Each runner sees its own and the other's position; action 1 runs
(one cell forward with probability 0.8, reward +1), action 0 rests (reward -0.1).
The episode ends after ``length`` steps. ``info["moved"]`` says whether it moved.
"""

import numpy as np
from gymnasium.spaces import Box, Discrete
from gymnasium.utils import seeding
from ray.rllib.env.multi_agent_env import MultiAgentEnv


class Runners2021(MultiAgentEnv):
    def __init__(self, config=None):
        super().__init__()
        config = config or {}
        self.length = int(config.get("length", 10))
        self.observation_space = Box(0.0, 1.0, (2,), np.float32)
        self.action_space = Discrete(2)
        self.np_random, _ = seeding.np_random(None)

    def seed(self, seed=None):
        self.np_random, _ = seeding.np_random(seed)
        return [seed]

    def reset(self):
        self.t = 0
        self.pos = {"runner_0": 0, "runner_1": 0}
        return self._obs()

    def step(self, action_dict):
        self.t += 1
        rewards, infos = {}, {}
        for runner, action in action_dict.items():
            moved = int(action) == 1 and self.np_random.random() < 0.8
            self.pos[runner] += int(moved)
            rewards[runner] = 1.0 if moved else -0.1
            infos[runner] = {"moved": moved}
        done = self.t >= self.length
        dones = {"runner_0": done, "runner_1": done, "__all__": done}
        return self._obs(), rewards, dones, infos

    def _obs(self):
        scale = float(self.length)
        a, b = self.pos["runner_0"] / scale, self.pos["runner_1"] / scale
        return {"runner_0": np.array([a, b], np.float32),
                "runner_1": np.array([b, a], np.float32)}


class Runners(Runners2021):
    """The same env written natively for RLlib 2.60: gymnasium's reset/step and
    per-agent spaces (same dynamics and random draws on the same seed)."""

    def __init__(self, config=None):
        super().__init__(config)
        self.possible_agents = ["runner_0", "runner_1"]
        self.agents = list(self.possible_agents)
        self.observation_spaces = {a: self.observation_space for a in self.agents}
        self.action_spaces = {a: self.action_space for a in self.agents}

    def reset(self, *, seed=None, options=None):
        if seed is not None:
            self.seed(seed)
        return super().reset(), {}

    def step(self, action_dict):
        obs, rewards, dones, infos = super().step(action_dict)
        return obs, rewards, dones, {a: False for a in dones}, infos
