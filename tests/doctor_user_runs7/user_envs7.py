"""Batch 7 envs (my own designs): a large-reward ore mine, a tiny-reward two-asset
portfolio (continuous actions), a higher/lower card game paying +1/-1 only at the end,
and a 3-agent tag game (2 hunters sharing a module, 1 runner).

Every env takes ``env_config`` with fault switches:
  reward_scale (float, 1.0), reward_zero (bool), reward_sign_flip (bool),
  reward_noise_std (float, 0), nan_every (int env steps, 0 = never),
  obs_scale (float, 1.0), obs_zero (bool), terminated_as_truncated (bool),
  TagEnv only: agent1_reward_scale (float), agent1_nan_every (int hunter_1 steps).
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
from gymnasium import spaces


class _Faults:
    """Reward / observation fault switches shared by the single-agent envs."""

    def _init_faults(self, cfg):
        cfg = dict(cfg or {})
        self.reward_scale = float(cfg.get("reward_scale", 1.0))
        self.reward_zero = bool(cfg.get("reward_zero", False))
        self.reward_sign_flip = bool(cfg.get("reward_sign_flip", False))
        self.reward_noise_std = float(cfg.get("reward_noise_std", 0.0))
        self.nan_every = int(cfg.get("nan_every", 0))
        self.obs_scale = float(cfg.get("obs_scale", 1.0))
        self.obs_zero = bool(cfg.get("obs_zero", False))
        self.term_as_trunc = bool(cfg.get("terminated_as_truncated", False))
        self._global_steps = 0
        return cfg

    def _reward(self, r):
        self._global_steps += 1
        r = float(r) * self.reward_scale
        if self.reward_sign_flip:
            r = -r
        if self.reward_noise_std > 0:
            r += float(self.np_random.normal(0.0, self.reward_noise_std))
        if self.reward_zero:
            r = 0.0
        if self.nan_every and self._global_steps % self.nan_every == 0:
            r = float("nan")
        return r

    def _obs(self, o):
        o = np.asarray(o, dtype=np.float32) * np.float32(self.obs_scale)
        if self.obs_zero:
            o = np.zeros_like(o)
        return o

    def _ends(self, terminated, truncated):
        if self.term_as_trunc and terminated:
            return False, True
        return terminated, truncated


class MineEnv(_Faults, gym.Env):
    """Three ore veins. Mining vein i pays 3000 * grade_i - 1200 (operating cost) and
    depletes it (grade *= 0.8); idle veins regrow toward their cap (10% of the gap per
    step). Action 3 = stand down (reward 0, everything regrows). Obs: 3 grades, t/T.
    100 steps, truncated only. Natural rewards: -1200..+1800 per step, episode returns ~ -110k..+17k."""

    T = 100

    def __init__(self, env_config=None):
        self._init_faults(env_config)
        hi = 1e4 * max(1.0, self.obs_scale)
        self.observation_space = spaces.Box(-hi, hi, (4,), np.float32)
        self.action_space = spaces.Discrete(4)

    def _o(self):
        return self._obs(np.concatenate([self.g, [self.t / self.T]]))

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.cap = self.np_random.uniform(0.4, 1.0, 3)
        self.g = self.cap * self.np_random.uniform(0.3, 1.0, 3)
        self.t = 0
        return self._o(), {}

    def step(self, action):
        action = int(action)
        r = 0.0
        regrow = np.ones(3, bool)
        if action < 3:
            r = 3000.0 * self.g[action] - 1200.0
            self.g[action] *= 0.8
            regrow[action] = False
        self.g[regrow] += 0.1 * (self.cap[regrow] - self.g[regrow])
        self.t += 1
        truncated = self.t >= self.T
        return self._o(), self._reward(r), False, truncated, {}


class PortfolioEnv(_Faults, gym.Env):
    """Two assets with an observed AR(1) signal s_i; next return r_i = 0.003 s_i +
    0.003 eps. Action Box(2,) in [-1,1] = positions (short allowed). Reward = a.r -
    0.0005 |a - a_prev|_1. Obs: s (2), previous positions (2). 100 steps, truncated only.
    Natural rewards: ~0.002 per step, episode returns ~0.1."""

    T = 100

    def __init__(self, env_config=None):
        self._init_faults(env_config)
        hi = 10.0 * max(1.0, self.obs_scale)
        self.observation_space = spaces.Box(-hi, hi, (4,), np.float32)
        self.action_space = spaces.Box(-1.0, 1.0, (2,), np.float32)

    def _o(self):
        return self._obs(np.concatenate([self.s, self.pos]))

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.s = np.clip(self.np_random.normal(0, 1, 2), -3, 3)
        self.pos = np.zeros(2)
        self.t = 0
        return self._o(), {}

    def step(self, action):
        a = np.clip(np.asarray(action, dtype=np.float64), -1.0, 1.0)
        ret = 0.003 * self.s + 0.003 * self.np_random.normal(0, 1, 2)
        r = float(a @ ret - 0.0005 * np.abs(a - self.pos).sum())
        self.pos = a
        self.s = np.clip(0.9 * self.s + 0.436 * self.np_random.normal(0, 1, 2), -3, 3)
        self.t += 1
        return self._o(), self._reward(r), False, self.t >= self.T, {}


class HighLowEnv(_Faults, gym.Env):
    """Card game: a card 1..13 is shown; guess whether the next is higher (0) or lower
    (1) (a tie counts as right), or cash out (2). A wrong guess ends the game at -1;
    cashing out with a streak of >= 3 right guesses ends it at +1, earlier at -1. Every
    other step pays 0. Obs: one-hot card (13), min(streak, 3)/3. Truncated at 20 steps."""

    def __init__(self, env_config=None):
        self._init_faults(env_config)
        hi = max(1.0, self.obs_scale)
        self.observation_space = spaces.Box(0.0, hi, (14,), np.float32)
        self.action_space = spaces.Discrete(3)

    def _o(self):
        o = np.zeros(14, np.float32)
        o[self.card - 1] = 1.0
        o[13] = min(self.streak, 3) / 3.0
        return self._obs(o)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.card = int(self.np_random.integers(1, 14))
        self.streak = 0
        self.t = 0
        return self._o(), {}

    def step(self, action):
        action = int(action)
        self.t += 1
        r, terminated = 0.0, False
        if action == 2:
            r = 1.0 if self.streak >= 3 else -1.0
            terminated = True
        else:
            new = int(self.np_random.integers(1, 14))
            right = new >= self.card if action == 0 else new <= self.card
            if right:
                self.streak += 1
                self.card = new
            else:
                r, terminated = -1.0, True
        truncated = (not terminated) and self.t >= 20
        terminated, truncated = self._ends(terminated, truncated)
        return self._o(), self._reward(r), terminated, truncated, {}


from ray.rllib.env.multi_agent_env import MultiAgentEnv


class TagEnv(MultiAgentEnv):
    """7x7 grid, hunter_0 and hunter_1 chase the runner; Discrete(5) moves (stay, up,
    down, left, right), simultaneous. Capture (a hunter within Manhattan distance 1
    after the moves) ends the episode: each hunter +1, runner -1. Each step hunters
    -0.02, runner +0.02; the runner also gets +0.3 per coin picked (a new coin appears).
    Truncated at 50 steps. Obs (8,) for all: own x,y, the other two agents' relative
    positions, coin relative position (all /6)."""

    N = 7
    T = 50
    MOVES = np.array([[0, 0], [0, 1], [0, -1], [-1, 0], [1, 0]])

    def __init__(self, env_config=None):
        super().__init__()
        cfg = dict(env_config or {})
        self.agent1_reward_scale = float(cfg.get("agent1_reward_scale", 1.0))
        self.agent1_nan_every = int(cfg.get("agent1_nan_every", 0))
        self.term_as_trunc = bool(cfg.get("terminated_as_truncated", False))
        self.possible_agents = ["hunter_0", "hunter_1", "runner"]
        self.agents = list(self.possible_agents)
        box = spaces.Box(-2.0, 2.0, (8,), np.float32)
        self.observation_spaces = {a: box for a in self.possible_agents}
        self.action_spaces = {a: spaces.Discrete(5) for a in self.possible_agents}
        self.rng = np.random.default_rng()
        self._h1_steps = 0

    def _obs(self):
        p = self.pos
        out = {}
        order = {"hunter_0": ("hunter_1", "runner"), "hunter_1": ("hunter_0", "runner"),
                 "runner": ("hunter_0", "hunter_1")}
        for a in self.agents:
            o1, o2 = order[a]
            v = np.concatenate([p[a], p[o1] - p[a], p[o2] - p[a], self.coin - p[a]]) / 6.0
            out[a] = v.astype(np.float32)
        return out

    def _free_cell(self, taken):
        while True:
            c = self.rng.integers(0, self.N, 2)
            if all(np.abs(c - t).sum() > 2 for t in taken):
                return c

    def reset(self, *, seed=None, options=None):
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        self.agents = list(self.possible_agents)
        self.pos = {}
        self.pos["runner"] = self.rng.integers(0, self.N, 2)
        self.pos["hunter_0"] = self._free_cell([self.pos["runner"]])
        self.pos["hunter_1"] = self._free_cell([self.pos["runner"]])
        self.coin = self.rng.integers(0, self.N, 2)
        self.t = 0
        return self._obs(), {}

    def step(self, action_dict):
        for a, act in action_dict.items():
            self.pos[a] = np.clip(self.pos[a] + self.MOVES[int(act)], 0, self.N - 1)
        self.t += 1
        rew = {"hunter_0": -0.02, "hunter_1": -0.02, "runner": 0.02}
        if np.array_equal(self.pos["runner"], self.coin):
            rew["runner"] += 0.3
            self.coin = self.rng.integers(0, self.N, 2)
        caught = any(np.abs(self.pos[h] - self.pos["runner"]).sum() <= 1
                     for h in ("hunter_0", "hunter_1"))
        if caught:
            rew = {"hunter_0": rew["hunter_0"] + 1.0, "hunter_1": rew["hunter_1"] + 1.0,
                   "runner": rew["runner"] - 1.0}
        self._h1_steps += 1
        rew["hunter_1"] *= self.agent1_reward_scale
        if self.agent1_nan_every and self._h1_steps % self.agent1_nan_every == 0:
            rew["hunter_1"] = float("nan")
        truncated = (not caught) and self.t >= self.T
        terminated = caught
        if self.term_as_trunc and terminated:
            terminated, truncated = False, True
        obs = self._obs()
        terms = {a: terminated for a in self.agents}
        truncs = {a: truncated for a in self.agents}
        terms["__all__"] = terminated
        truncs["__all__"] = truncated
        return obs, rew, terms, truncs, {}


def register_all():
    """register_env('mine_v0') and register_env('highlow_v0')."""
    from ray.tune.registry import register_env

    register_env("mine_v0", lambda cfg: MineEnv(dict(cfg)))
    register_env("highlow_v0", lambda cfg: HighLowEnv(dict(cfg)))
