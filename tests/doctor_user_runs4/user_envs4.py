"""A new user's own envs (fourth batch).

Catch     an 8x6 "screen" (Box (8, 6, 2): channel 0 the falling ball, channel 1 the
          paddle), read by a flat MLP through a FlattenObservations connector.
          Discrete(3): paddle left / stay / right. +1 when the ball is caught at the
          bottom row, -1 when it is missed (so rewards of both signs, each one 7 steps
          after the ball appears); 10 balls = 70 steps, then terminated.
Battery   a grid battery trading on a day-ahead price curve (cheap at night, dear in the
          afternoon, noisy). Discrete(3): buy 1 MWh / idle / sell 1 MWh (90% round-trip
          efficiency). Reward = dollars earned this step (-price when buying, +0.9 price
          when selling), so rewards of both signs and returns in the hundreds to
          thousands; 240-step episodes (a day of 6-minute ticks), truncated.
Hover     a 2-D drone in a box, continuous thrust Box(-1, 1, (2,)), gravity and gusty
          wind. +1 per step alive; terminated when it leaves the box (hits the floor,
          the ceiling or a wall); 300-step limit (truncated).
Canal     4 farms along an irrigation canal (multi-agent): the river flow reaches farm_0
          first, what each farm takes is gone for the ones downstream. Discrete(3): take
          0/1/2 units of water. Each farm's soil moisture rises with the water it takes and
          falls with evaporation; reward +1 while the moisture is in the crop's band [3, 7],
          -1 outside it. 100-step episodes (truncated). Farms 0, 1 use module "head",
          farms 2, 3 module "tail".

Every env takes "bug" switches in env_config, the way the user's bugs crept in:
reward_scale, reward_sign_flipped, reward_constant, nan_reward_every, reward_noise,
obs_scale, obs_zero, terminated_as_truncated, and (Canal) fault_agent = the index of the
one farm the reward bugs hit.
"""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
from ray.rllib.env.multi_agent_env import MultiAgentEnv


class BugSwitches:
    """Reward / observation / episode-end bugs, each off unless env_config turns it on."""

    def setup_bugs(self, cfg):
        self.b_reward_scale = float(cfg.get("reward_scale", 1.0))
        self.b_sign = bool(cfg.get("reward_sign_flipped", False))
        self.b_constant = cfg.get("reward_constant")
        self.b_nan_every = int(cfg.get("nan_reward_every", 0))
        self.b_noise = float(cfg.get("reward_noise", 0.0))
        self.b_obs_scale = float(cfg.get("obs_scale", 1.0))
        self.b_obs_zero = bool(cfg.get("obs_zero", False))
        self.b_term_as_trunc = bool(cfg.get("terminated_as_truncated", False))
        self.b_count = 0
        self.b_rng = np.random.default_rng(int(cfg.get("bug_seed", 7)))

    def bug_reward(self, r: float) -> float:
        self.b_count += 1
        if self.b_constant is not None:
            r = float(self.b_constant)
        r *= self.b_reward_scale
        if self.b_sign:
            r = -r
        if self.b_noise:
            r += float(self.b_rng.normal(0.0, self.b_noise))
        if self.b_nan_every and self.b_count % self.b_nan_every == 0:
            r = math.nan
        return float(r)

    def bug_obs(self, o: np.ndarray) -> np.ndarray:
        if self.b_obs_zero:
            return np.zeros_like(o)
        if self.b_obs_scale != 1.0:
            return (o * self.b_obs_scale).astype(o.dtype)
        return o

    def bug_ends(self, terminated: bool, truncated: bool):
        if self.b_term_as_trunc and terminated:
            return False, True
        return terminated, truncated


class Catch(BugSwitches, gym.Env):
    H, W = 8, 6
    BALLS = 10

    def __init__(self, config=None):
        cfg = dict(config or {})
        self.setup_bugs(cfg)
        self.observation_space = gym.spaces.Box(0.0, self.b_obs_scale, (self.H, self.W, 2),
                                                np.float32)
        self.action_space = gym.spaces.Discrete(3)

    def _new_ball(self):
        self.ball_row = 0
        self.ball_col = int(self.np_random.integers(self.W))

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.paddle = int(self.np_random.integers(self.W))
        self.balls_left = self.BALLS
        self._new_ball()
        return self._screen(), {}

    def _screen(self):
        s = np.zeros((self.H, self.W, 2), np.float32)
        s[self.ball_row, self.ball_col, 0] = 1.0
        s[self.H - 1, self.paddle, 1] = 1.0
        return self.bug_obs(s)

    def step(self, action):
        self.paddle = int(np.clip(self.paddle + int(action) - 1, 0, self.W - 1))
        self.ball_row += 1
        reward = 0.0
        terminated = False
        if self.ball_row == self.H - 1:
            reward = 1.0 if self.paddle == self.ball_col else -1.0
            self.balls_left -= 1
            if self.balls_left == 0:
                terminated = True
                self.ball_row = self.H - 1
            else:
                self._new_ball()
        terminated, truncated = self.bug_ends(terminated, False)
        return self._screen(), self.bug_reward(reward), terminated, truncated, {}


class Battery(BugSwitches, gym.Env):
    STEPS = 240
    CAPACITY = 20

    def __init__(self, config=None):
        cfg = dict(config or {})
        self.setup_bugs(cfg)
        s = self.b_obs_scale
        self.observation_space = gym.spaces.Box(
            np.array([0, 0, -1, -1], np.float32) * s, np.array([1, 2, 1, 1], np.float32) * s,
            dtype=np.float32)
        self.action_space = gym.spaces.Discrete(3)

    def _price(self):
        base = 50.0 - 35.0 * math.cos(2 * math.pi * self.t / self.STEPS)
        return max(1.0, base * self.day_level + float(self.np_random.normal(0.0, 5.0)))

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        self.soc = int(self.np_random.integers(0, self.CAPACITY // 2 + 1))
        self.day_level = float(self.np_random.uniform(0.8, 1.2))
        self.price = self._price()
        return self._obs(), {}

    def _obs(self):
        phase = 2 * math.pi * self.t / self.STEPS
        o = np.array([self.soc / self.CAPACITY, self.price / 100.0, math.sin(phase),
                      math.cos(phase)], np.float32)
        return self.bug_obs(o)

    def step(self, action):
        action = int(action)
        dollars = 0.0
        if action == 0 and self.soc < self.CAPACITY:
            self.soc += 1
            dollars = -self.price
        elif action == 2 and self.soc > 0:
            self.soc -= 1
            dollars = 0.9 * self.price
        self.t += 1
        self.price = self._price()
        truncated = self.t >= self.STEPS
        return self._obs(), self.bug_reward(dollars), False, truncated, {}


class Hover(BugSwitches, gym.Env):
    DT = 0.05
    MAX_STEPS = 300

    def __init__(self, config=None):
        cfg = dict(config or {})
        self.setup_bugs(cfg)
        s = self.b_obs_scale
        self.observation_space = gym.spaces.Box(-5.0 * s, 5.0 * s, (5,), np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.x = float(self.np_random.uniform(-0.3, 0.3))
        self.y = float(self.np_random.uniform(0.7, 1.3))
        self.vx = float(self.np_random.uniform(-0.3, 0.3))
        self.vy = float(self.np_random.uniform(-0.3, 0.3))
        self.wind = 0.0
        self.t = 0
        return self._obs(), {}

    def _obs(self):
        o = np.clip(np.array([self.x, self.y - 1.0, self.vx, self.vy, self.wind],
                             np.float32), -5.0, 5.0)
        return self.bug_obs(o)

    def step(self, action):
        ax, ay = np.clip(np.asarray(action, np.float64), -1.0, 1.0)
        self.wind = 0.9 * self.wind + float(self.np_random.normal(0.0, 0.15))
        self.vx += (1.5 * ax + self.wind) * self.DT
        self.vy += (2.0 * ay + 1.0 - 2.0) * self.DT  # thrust (hovering at ay=0.5) - gravity
        self.x += self.vx * self.DT
        self.y += self.vy * self.DT
        self.t += 1
        crashed = abs(self.x) > 1.0 or self.y < 0.0 or self.y > 2.0
        terminated, truncated = self.bug_ends(crashed, self.t >= self.MAX_STEPS and not crashed)
        return self._obs(), self.bug_reward(1.0), terminated, truncated, {}


class Canal(BugSwitches, MultiAgentEnv):
    FARMS = 4
    STEPS = 100

    def __init__(self, config=None):
        super().__init__()
        cfg = dict(config or {})
        self.setup_bugs(cfg)
        self.agents = self.possible_agents = [f"farm_{i}" for i in range(self.FARMS)]
        fault = cfg.get("fault_agent")
        self.fault_farm = None if fault is None else f"farm_{int(fault)}"
        s = self.b_obs_scale
        space = gym.spaces.Box(0.0, 1.0 * s, (4,), np.float32)
        self.observation_spaces = {a: space for a in self.agents}
        self.action_spaces = {a: gym.spaces.Discrete(3) for a in self.agents}

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        self.moist = self.np_random.integers(0, 11, size=self.FARMS).astype(np.float64)
        self.flow = int(self.np_random.integers(3, 8))
        self.inflow = np.zeros(self.FARMS)
        self.inflow[0] = self.flow
        return self._all_obs(), {}

    def _all_obs(self):
        return {a: self.bug_obs(np.array([self.moist[i] / 10.0, min(self.inflow[i], 8) / 8.0,
                                           self.flow / 8.0, i / (self.FARMS - 1)],
                                          np.float32))
                for i, a in enumerate(self.agents)}

    def step(self, action_dict):
        water = float(self.flow)
        rewards = {}
        evap = self.np_random.integers(0, 3, size=self.FARMS)
        for i, a in enumerate(self.agents):
            self.inflow[i] = water
            take = min(float(action_dict[a]), water)
            water -= take
            self.moist[i] = float(np.clip(self.moist[i] + take - evap[i], 0, 10))
            r = 1.0 if 3 <= self.moist[i] <= 7 else -1.0
            if self.fault_farm is None or a == self.fault_farm:
                r = self.bug_reward(r)
            rewards[a] = r
        self.t += 1
        self.flow = int(self.np_random.integers(3, 8))
        self.inflow[0] = self.flow  # farm_0 sees the river; the others what reached them
        done = self.t >= self.STEPS
        return self._all_obs(), rewards, {"__all__": False}, {"__all__": done}, {}
