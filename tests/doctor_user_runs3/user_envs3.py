"""A new user's own envs (third batch).

QueueLight   traffic light at a 2-way crossing; action = which direction is green; switching
             costs one all-red step; reward -(cars waiting)/10 each step (always <= 0);
             200-step episodes, truncated only.
PointReach   2-D point, continuous velocity action in [-1, 1]^2, dense reward -distance to a
             random target; 40-step episodes, truncated only.
Delivery     7x7 grid, Dict observation {"agent", "goal", "time_left"}; +100 on reaching the
             goal (terminated), 0 otherwise; 30-step limit (truncated).
Forage       multi-agent grid foraging. mode="shared": 3 foragers, one food colour, meant to
             share one module. mode="duo": forager_0 eats red food, forager_1 eats blue food
             (the obs does not say which forager you are), one module each.

Every env takes "bug" switches in its env_config, the way the user's bugs crept in:
reward_scale, reward_sign_flipped, reward_constant, nan_reward_every, reward_noise,
obs_scale, obs_zero, terminated_as_truncated, and (multi-agent) fault_agent = index of
the one agent the reward bugs hit.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
from ray.rllib.env.multi_agent_env import MultiAgentEnv


class _Bugs:
    """The user's reward/observation bugs, switched on by env_config keys."""

    def _init_bugs(self, cfg):
        self.reward_scale = float(cfg.get("reward_scale", 1.0))
        self.reward_sign_flipped = bool(cfg.get("reward_sign_flipped", False))
        self.reward_constant = cfg.get("reward_constant")
        self.nan_reward_every = int(cfg.get("nan_reward_every", 0))
        self.reward_noise = float(cfg.get("reward_noise", 0.0))
        self.obs_scale = float(cfg.get("obs_scale", 1.0))
        self.obs_zero = bool(cfg.get("obs_zero", False))
        self.terminated_as_truncated = bool(cfg.get("terminated_as_truncated", False))
        self._reward_calls = 0
        self._bug_rng = np.random.default_rng(cfg.get("bug_seed", 12345))

    def _reward(self, r):
        self._reward_calls += 1
        if self.reward_constant is not None:
            r = float(self.reward_constant)
        r = r * self.reward_scale
        if self.reward_sign_flipped:
            r = -r
        if self.reward_noise:
            r = r + float(self._bug_rng.normal(0.0, self.reward_noise))
        if self.nan_reward_every and self._reward_calls % self.nan_reward_every == 0:
            r = float("nan")
        return float(r)

    def _obs(self, o):
        if self.obs_zero:
            return np.zeros_like(o)
        if self.obs_scale != 1.0:
            return (o * self.obs_scale).astype(o.dtype)
        return o


class QueueLight(_Bugs, gym.Env):
    """Two queues (north-south, east-west). Action 0: NS green, 1: EW green.

    Cars arrive each step (NS Bernoulli 2 x 0.35, EW Bernoulli 2 x 0.2); the green lane
    lets up to 2 cars through. Changing the green direction costs one all-red step in
    which nobody moves. Queues are capped at 40 (extra cars turn away). Reward is
    -(cars waiting)/10, so returns are in about [-1600, 0].
    """

    CAP = 40

    def __init__(self, config=None):
        cfg = dict(config or {})
        self._init_bugs(cfg)
        self.max_steps = int(cfg.get("max_steps", 200))
        high = np.array([self.CAP / 10, self.CAP / 10, 1.0, 1.0], dtype=np.float32)
        self.observation_space = gym.spaces.Box(0.0, high * self.obs_scale, dtype=np.float32)
        self.action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.q = np.array(self.np_random.integers(0, 5, size=2), dtype=np.int64)
        self.phase = int(self.np_random.integers(2))
        self.switched = 0
        self.t = 0
        return self._make_obs(), {}

    def _make_obs(self):
        o = np.array([self.q[0] / 10, self.q[1] / 10, self.phase, self.switched],
                     dtype=np.float32)
        return self._obs(o)

    def step(self, action):
        action = int(action)
        self.switched = int(action != self.phase)
        if self.switched:
            self.phase = action  # all-red this step
        else:
            self.q[self.phase] = max(0, self.q[self.phase] - 2)
        self.q[0] += self.np_random.binomial(2, 0.35)
        self.q[1] += self.np_random.binomial(2, 0.2)
        self.q = np.minimum(self.q, self.CAP)
        self.t += 1
        reward = self._reward(-float(self.q.sum()) / 10.0)
        truncated = self.t >= self.max_steps
        return self._make_obs(), reward, False, truncated, {}


class PointReach(_Bugs, gym.Env):
    """A point in [-1, 1]^2 moves by 0.1 * action; reward -||target - point||."""

    def __init__(self, config=None):
        cfg = dict(config or {})
        self._init_bugs(cfg)
        self.max_steps = int(cfg.get("max_steps", 40))
        self.observation_space = gym.spaces.Box(-2.0 * self.obs_scale, 2.0 * self.obs_scale,
                                                shape=(4,), dtype=np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.pos = self.np_random.uniform(-1, 1, size=2)
        self.target = self.np_random.uniform(-1, 1, size=2)
        self.t = 0
        return self._make_obs(), {}

    def _make_obs(self):
        o = np.concatenate([self.pos, self.target - self.pos]).astype(np.float32)
        return self._obs(o)

    def step(self, action):
        a = np.clip(np.asarray(action, dtype=np.float64), -1.0, 1.0)
        self.pos = np.clip(self.pos + 0.1 * a, -1.0, 1.0)
        self.t += 1
        reward = self._reward(-float(np.linalg.norm(self.target - self.pos)))
        return self._make_obs(), reward, False, self.t >= self.max_steps, {}


class Delivery(_Bugs, gym.Env):
    """Courier on a 7x7 grid; +100 when it reaches the drop-off point."""

    N = 7
    MOVES = np.array([[0, 1], [0, -1], [1, 0], [-1, 0]])

    def __init__(self, config=None):
        cfg = dict(config or {})
        self._init_bugs(cfg)
        self.max_steps = int(cfg.get("max_steps", 30))
        s = self.obs_scale
        self.observation_space = gym.spaces.Dict({
            "agent": gym.spaces.Box(0.0, s, shape=(2,), dtype=np.float32),
            "goal": gym.spaces.Box(0.0, s, shape=(2,), dtype=np.float32),
            "time_left": gym.spaces.Box(0.0, s, shape=(1,), dtype=np.float32),
        })
        self.action_space = gym.spaces.Discrete(4)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.pos = self.np_random.integers(0, self.N, size=2)
        self.goal = self.pos
        while np.array_equal(self.goal, self.pos):
            self.goal = self.np_random.integers(0, self.N, size=2)
        self.t = 0
        return self._make_obs(), {}

    def _make_obs(self):
        d = self.N - 1
        return {"agent": self._obs((self.pos / d).astype(np.float32)),
                "goal": self._obs((self.goal / d).astype(np.float32)),
                "time_left": self._obs(np.array([1 - self.t / self.max_steps],
                                                dtype=np.float32))}

    def step(self, action):
        self.pos = np.clip(self.pos + self.MOVES[int(action)], 0, self.N - 1)
        self.t += 1
        at_goal = bool(np.array_equal(self.pos, self.goal))
        reward = self._reward(100.0 if at_goal else 0.0)
        terminated = at_goal
        truncated = self.t >= self.max_steps and not at_goal
        if self.terminated_as_truncated and terminated:
            terminated, truncated = False, True
        return self._make_obs(), reward, terminated, truncated, {}


class Forage(_Bugs, MultiAgentEnv):
    """Foragers on a 6x6 grid eat food (+1 each); eaten food reappears elsewhere.

    Actions: 0 stay, 1 up, 2 down, 3 left, 4 right. 50-step episodes (truncated).
    shared: obs [x, y, dx, dy] to the nearest food; duo: [x, y, dx_red, dy_red, dx_blue,
    dy_blue] and forager_0 only eats red, forager_1 only blue.
    """

    N = 6
    MOVES = np.array([[0, 0], [0, 1], [0, -1], [-1, 0], [1, 0]])

    def __init__(self, config=None):
        super().__init__()
        cfg = dict(config or {})
        self._init_bugs(cfg)
        self.mode = cfg.get("mode", "shared")
        self.max_steps = int(cfg.get("max_steps", 50))
        n = 3 if self.mode == "shared" else 2
        self.agents = self.possible_agents = [f"forager_{i}" for i in range(n)]
        fa = cfg.get("fault_agent")
        self.fault_agent = None if fa is None else f"forager_{int(fa)}"
        dim = 4 if self.mode == "shared" else 6
        obs_space = gym.spaces.Box(-1.0 * self.obs_scale, self.obs_scale, shape=(dim,),
                                   dtype=np.float32)
        self.observation_spaces = {a: obs_space for a in self.agents}
        self.action_spaces = {a: gym.spaces.Discrete(5) for a in self.agents}
        self.colours = ["red"] if self.mode == "shared" else ["red", "blue"]
        self.n_food = 3 if self.mode == "shared" else 2
        self.eats = {a: ("red" if self.mode == "shared" or i == 0 else "blue")
                     for i, a in enumerate(self.agents)}

    def _free_cell(self):
        return self.np_random.integers(0, self.N, size=2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.pos = {a: self._free_cell() for a in self.agents}
        self.food = {c: [self._free_cell() for _ in range(self.n_food)] for c in self.colours}
        self.t = 0
        return self._all_obs(), {}

    def _nearest(self, p, colour):
        d = [f - p for f in self.food[colour]]
        return min(d, key=lambda v: (abs(v[0]) + abs(v[1]), v[0], v[1]))

    def _agent_obs(self, a):
        p = self.pos[a]
        parts = [p / (self.N - 1)]
        for c in self.colours:
            parts.append(self._nearest(p, c) / (self.N - 1))
        return self._obs(np.concatenate(parts).astype(np.float32))

    def _all_obs(self):
        return {a: self._agent_obs(a) for a in self.agents}

    def step(self, action_dict):
        rewards = {}
        for a in self.agents:
            self.pos[a] = np.clip(self.pos[a] + self.MOVES[int(action_dict[a])], 0, self.N - 1)
        for a in self.agents:
            r = 0.0
            foods = self.food[self.eats[a]]
            for k, f in enumerate(foods):
                if np.array_equal(f, self.pos[a]):
                    r += 1.0
                    foods[k] = self._free_cell()
                    break
            if self.fault_agent is None or a == self.fault_agent:
                r = self._reward(r)
            rewards[a] = r
        self.t += 1
        trunc = self.t >= self.max_steps
        terminateds = {"__all__": False}
        truncateds = {"__all__": trunc}
        return self._all_obs(), rewards, terminateds, truncateds, {}
