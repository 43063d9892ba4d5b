"""The arena written against gym 0.21's API, as 2021 code was (for rldebug's tests).

``reset()`` returns only the observations, ``step()`` returns
``(obs, rewards, dones, infos)`` with ``dones["__all__"]``, ``seed(n)`` seeds it,
and the time limit is reported the way gym's ``TimeLimit`` did, as
``info["TimeLimit.truncated"]``. Its dynamics and random draws are the native
arena's, so on the same seeds both give the same episodes.
"""

import numpy as np
from gymnasium.spaces import Discrete, MultiDiscrete
from gymnasium.utils import seeding
from ray.rllib.env.multi_agent_env import MultiAgentEnv

MOVES = {0: (-1, 0), 1: (0, 1), 2: (1, 0), 3: (0, -1)}


class Arena2021(MultiAgentEnv):
    def __init__(self, config=None):
        super().__init__()
        config = config or {}
        self.width, self.height = config.get("width", 10), config.get("height", 10)
        self.max_timesteps = config.get("max_timesteps", 100)
        n = self.width * self.height
        self.possible_agents = ["agent1", "agent2"]
        self.agents = list(self.possible_agents)
        self.observation_spaces = {a: MultiDiscrete([n, n]) for a in self.agents}
        self.action_spaces = {a: Discrete(4) for a in self.agents}
        self.np_random, _ = seeding.np_random(None)

    def seed(self, seed=None):
        self.np_random, _ = seeding.np_random(seed)
        return [seed]

    def reset(self):
        self.timestep = 0
        self.pos = {"agent1": [0, 0], "agent2": [self.height - 1, self.width - 1]}
        self.visited = set()
        return self._obs()

    def step(self, action_dict):
        self.timestep += 1
        order = ("agent1", "agent2") if self.np_random.random() > 0.5 else ("agent2", "agent1")
        collision = new_field = False
        for agent in order:
            blocked, entered = self._move(agent, int(action_dict[agent]))
            collision |= blocked
            new_field |= entered
        if collision:
            rewards = {"agent1": -1.0, "agent2": 1.0}
        elif new_field:
            rewards = {"agent1": 1.0, "agent2": -0.1}
        else:
            rewards = {"agent1": -0.5, "agent2": -0.1}
        done = self.timestep >= self.max_timesteps
        dones = {"agent1": done, "agent2": done, "__all__": done}
        infos = {a: {"collision": collision, "TimeLimit.truncated": done} for a in self.agents}
        return self._obs(), rewards, dones, infos

    def _move(self, agent, action):
        own = self.pos[agent]
        other = self.pos["agent2" if agent == "agent1" else "agent1"]
        target = [own[0] + MOVES[action][0], own[1] + MOVES[action][1]]
        if target == other:
            return True, False
        target = [min(max(target[0], 0), self.height - 1), min(max(target[1], 0), self.width - 1)]
        own[0], own[1] = target
        if agent == "agent1" and tuple(target) not in self.visited:
            self.visited.add(tuple(target))
            return False, True
        return False, False

    def _obs(self):
        p1 = self.pos["agent1"][0] * self.width + self.pos["agent1"][1]
        p2 = self.pos["agent2"][0] * self.width + self.pos["agent2"][1]
        return {"agent1": np.array([p1, p2], dtype=np.int64),
                "agent2": np.array([p2, p1], dtype=np.int64)}
