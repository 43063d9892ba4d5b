"""Four small envs a helper wrote as a new user would (not the benchmark's, not the arena),
with switchable bugs (cfg keys). Used only by make_runs.py."""
import gymnasium as gym
import numpy as np
from gymnasium import spaces
from ray.rllib.env.multi_agent_env import MultiAgentEnv

WALLS = {(1, 1), (1, 2), (1, 3), (3, 2), (3, 3), (3, 4), (4, 1)}


class GridGoal(gym.Env):
    """6x6 grid, walls, start (0,0), goal (5,5): +1 at the goal (terminates), 0 else.
    Time limit 40 steps (truncated). Obs: one-hot of the cell (36).
    bugs: term_as_trunc (goal reported as truncated), crash_at (raise at global step N)."""
    N = 6

    def __init__(self, cfg=None):
        cfg = cfg or {}
        self.term_as_trunc = cfg.get("term_as_trunc", False)
        self.crash_at = cfg.get("crash_at", None)
        self.observation_space = spaces.Box(0.0, 1.0, (self.N * self.N,), np.float32)
        self.action_space = spaces.Discrete(4)
        self.total = 0

    def _obs(self):
        o = np.zeros(self.N * self.N, np.float32)
        o[self.pos[0] * self.N + self.pos[1]] = 1.0
        return o

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.pos = (0, 0)
        self.t = 0
        return self._obs(), {}

    def step(self, a):
        self.total += 1
        if self.crash_at is not None and self.total >= self.crash_at:
            raise ValueError(f"GridGoal: simulated env failure at step {self.total}")
        dr, dc = [(-1, 0), (1, 0), (0, -1), (0, 1)][int(a)]
        r, c = self.pos[0] + dr, self.pos[1] + dc
        if 0 <= r < self.N and 0 <= c < self.N and (r, c) not in WALLS:
            self.pos = (r, c)
        self.t += 1
        at_goal = self.pos == (self.N - 1, self.N - 1)
        rew = 1.0 if at_goal else 0.0
        terminated = at_goal and not self.term_as_trunc
        truncated = (at_goal and self.term_as_trunc) or self.t >= 40
        return self._obs(), rew, terminated, truncated, {}


class Reach2D(gym.Env):
    """Point in [-1,1]^2 moves by 0.1*action toward a random target; reward -distance.
    50 steps, truncated. bugs: reward_zero, reward_scale, obs_const."""

    def __init__(self, cfg=None):
        cfg = cfg or {}
        self.reward_zero = cfg.get("reward_zero", False)
        self.reward_scale = cfg.get("reward_scale", 1.0)
        self.obs_const = cfg.get("obs_const", False)
        self.observation_space = spaces.Box(-2.0, 2.0, (4,), np.float32)
        self.action_space = spaces.Box(-1.0, 1.0, (2,), np.float32)

    def _obs(self):
        if self.obs_const:
            return np.zeros(4, np.float32)
        return np.concatenate([self.p, self.g]).astype(np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.p = self.np_random.uniform(-1, 1, 2)
        self.g = self.np_random.uniform(-1, 1, 2)
        self.t = 0
        return self._obs(), {}

    def step(self, a):
        a = np.clip(np.asarray(a, dtype=np.float64), -1, 1)
        self.p = np.clip(self.p + 0.1 * a, -1, 1)
        self.t += 1
        d = float(np.linalg.norm(self.p - self.g))
        rew = 0.0 if self.reward_zero else -d * self.reward_scale
        return self._obs(), rew, False, self.t >= 50, {}


class Pricing(gym.Env):
    """Contextual 'pricing' bandit, rewards in the thousands: context one-hot of 3,
    4 price levels; revenue table*1000 + noise. 20 steps per episode (truncated).
    bugs: nan_prob (reward NaN with this probability)."""
    TABLE = np.array([[0.5, 1.0, 3.0, 1.5],
                      [3.0, 1.0, 0.5, 1.5],
                      [1.0, 3.0, 1.0, 0.5]]) * 1000.0

    def __init__(self, cfg=None):
        cfg = cfg or {}
        self.nan_prob = cfg.get("nan_prob", 0.0)
        self.observation_space = spaces.Box(0.0, 1.0, (3,), np.float32)
        self.action_space = spaces.Discrete(4)

    def _obs(self):
        o = np.zeros(3, np.float32)
        o[self.ctx] = 1
        return o

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.ctx = int(self.np_random.integers(3))
        self.t = 0
        return self._obs(), {}

    def step(self, a):
        rew = float(self.TABLE[self.ctx, int(a)] + self.np_random.normal(0, 200))
        if self.nan_prob and self.np_random.random() < self.nan_prob:
            rew = float("nan")
        self.ctx = int(self.np_random.integers(3))
        self.t += 1
        return self._obs(), rew, False, self.t >= 20, {}


class CoopSignal(MultiAgentEnv):
    """2 agents, each sees a cue (one-hot of 3) for itself. Shared reward: +1 per agent whose
    action is right; agent 'a0' must answer the cue, 'a1' must answer (cue+1)%3.
    Each agent's obs also carries its id bit so modules can be shared or not. 25 steps."""

    def __init__(self, cfg=None):
        super().__init__()
        self.agents = self.possible_agents = ["a0", "a1"]
        self.observation_spaces = {a: spaces.Box(0.0, 1.0, (3,), np.float32) for a in self.agents}
        self.action_spaces = {a: spaces.Discrete(3) for a in self.agents}

    def _obs(self):
        out = {}
        for a in self.agents:
            o = np.zeros(3, np.float32)
            o[self.cue[a]] = 1
            out[a] = o
        return out

    def reset(self, *, seed=None, options=None):
        self.rng = np.random.default_rng(seed)
        self.cue = {a: int(self.rng.integers(3)) for a in self.agents}
        self.t = 0
        return self._obs(), {}

    def step(self, actions):
        right = 0
        if actions.get("a0") == self.cue["a0"]:
            right += 1
        if actions.get("a1") == (self.cue["a1"] + 1) % 3:
            right += 1
        rew = right / 2.0
        self.t += 1
        self.cue = {a: int(self.rng.integers(3)) for a in self.agents}
        done = self.t >= 25
        return (self._obs(), {a: rew for a in self.agents},
                {"__all__": False}, {a: done for a in self.agents} | {"__all__": done}, {})
