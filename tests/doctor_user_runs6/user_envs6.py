"""Batch 6 envs, designed from scratch by a new RLlib user.

* StockRoomEnv / "StockRoom-v0" (registered with gymnasium): a shop orders stock that
  arrives 2 days later; weekly demand pattern; every reward is a cost (<= 0).
* ThermostatEnv (passed as a class): a room with a heater and a cooler, Box(2,)
  continuous action, a setpoint that follows an occupancy schedule.
* LiftEnv (passed as a class): one elevator, 6 floors, passengers one at a time; +10 per
  delivery (comes many steps after the moves that earn it), -0.1 per step, terminates
  after 3 deliveries.
* HiveEnv (MultiAgentEnv): two foragers ("forager_0", "forager_1" -> module
  "foragers") fetch nectar from a moving flower (+1 per delivery at the hive), one guard
  ("guard" -> module "guard") blocks the gate a wasp is heading for.

Env-side fault switches (env_config): reward_scale, reward_zero, reward_sign_flip,
nan_every (NaN reward every N-th step), reward_noise_std, obs_scale, obs_zero,
terminated_as_truncated; HiveEnv also agent1_reward_scale / agent1_nan_every (apply to
"forager_1" only).
"""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from ray.rllib.env.multi_agent_env import MultiAgentEnv


class _Faults:
    """Shared reward/observation fault switches."""

    def _init_faults(self, cfg):
        cfg = dict(cfg or {})
        self.reward_scale = float(cfg.get("reward_scale", 1.0))
        self.reward_zero = bool(cfg.get("reward_zero", False))
        self.reward_sign_flip = bool(cfg.get("reward_sign_flip", False))
        self.nan_every = int(cfg.get("nan_every", 0))
        self.reward_noise_std = float(cfg.get("reward_noise_std", 0.0))
        self.obs_scale = float(cfg.get("obs_scale", 1.0))
        self.obs_zero = bool(cfg.get("obs_zero", False))
        self.term_as_trunc = bool(cfg.get("terminated_as_truncated", False))
        self._fault_rng = np.random.default_rng(cfg.get("fault_seed", 123))
        self._total_steps = 0
        return cfg

    def _fault_reward(self, r):
        r = float(r) * self.reward_scale
        if self.reward_sign_flip:
            r = -r
        if self.reward_zero:
            r = 0.0
        if self.reward_noise_std:
            r += float(self._fault_rng.normal(0.0, self.reward_noise_std))
        if self.nan_every and self._total_steps % self.nan_every == 0:
            r = float("nan")
        return r

    def _fault_obs(self, obs):
        obs = np.asarray(obs, dtype=np.float32)
        if self.obs_zero:
            obs = np.zeros_like(obs)
        elif self.obs_scale != 1.0:
            obs = (obs * self.obs_scale).astype(np.float32)
        return obs

    def _fault_done(self, terminated, truncated):
        if self.term_as_trunc and terminated:
            return False, True
        return terminated, truncated


# --------------------------------------------------------------------------------------
class StockRoomEnv(_Faults, gym.Env):
    """Daily stock ordering.  Action: order 0/3/6/9/12 units, delivered LEAD days later.
    Demand follows a weekday pattern (2..7 units) plus Poisson noise.
    Reward = -(0.1 * units held overnight + 2.0 * unmet demand + 0.5 if an order was
    placed); always <= 0.  Episodes: 100 days (time limit from the gymnasium registration).
    Obs (13): stock/20, pipeline (2)/12, weekday one-hot (7), last demand/10, stockout flag,
    days-left fraction."""

    ORDER = (0, 3, 6, 9, 12)
    LEAD = 2
    PATTERN = (2, 3, 4, 5, 7, 6, 3)

    def __init__(self, env_config=None, **kwargs):
        cfg = self._init_faults({**(env_config or {}), **kwargs})
        self.horizon = int(cfg.get("horizon", 100))
        self.observation_space = spaces.Box(-1e6, 1e6, (13,), np.float32)
        self.action_space = spaces.Discrete(len(self.ORDER))
        self.rng = np.random.default_rng(cfg.get("seed", 0))

    def _obs(self):
        wd = np.zeros(7, np.float32)
        wd[self.day % 7] = 1.0
        o = np.concatenate([[self.stock / 20.0], np.array(self.pipeline, np.float32) / 12.0,
                            wd, [self.last_demand / 10.0, float(self.stockout),
                                 1.0 - self.day / self.horizon]])
        return self._fault_obs(o)

    def reset(self, *, seed=None, options=None):
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        self.day = int(self.rng.integers(0, 7))
        self.day0 = self.day
        self.stock = 8
        self.pipeline = [0] * self.LEAD
        self.last_demand = 0
        self.stockout = False
        return self._obs(), {}

    def step(self, action):
        order = self.ORDER[int(action)]
        arriving = self.pipeline.pop(0)
        self.pipeline.append(order)
        self.stock = min(self.stock + arriving, 60)
        demand = int(self.PATTERN[self.day % 7] + self.rng.poisson(1.0) - 1)
        demand = max(0, demand)
        sold = min(self.stock, demand)
        unmet = demand - sold
        self.stock -= sold
        self.last_demand = demand
        self.stockout = unmet > 0
        cost = 0.1 * self.stock + 2.0 * unmet + (0.5 if order > 0 else 0.0)
        self.day += 1
        self._total_steps += 1
        r = self._fault_reward(-cost)
        return self._obs(), r, False, False, {"unmet": unmet}


gym.register(id="StockRoom-v0", entry_point="user_envs6:StockRoomEnv",
             reward_threshold=-60.0, max_episode_steps=100)


# --------------------------------------------------------------------------------------
class ThermostatEnv(_Faults, gym.Env):
    """Room temperature control.  Action Box(2,) in [-1, 1]: heater, cooler power (each
    mapped to [0, 1]).  T' = T + 0.1 (T_out - T) + 1.5 heat - 1.5 cool.  Setpoint 21 C when
    occupied, 16 C otherwise (schedule in obs).  Reward = -|T - setpoint| - 0.2 (heat +
    cool).  120-step episodes (truncated)."""

    def __init__(self, env_config=None):
        cfg = self._init_faults(env_config)
        self.horizon = int(cfg.get("horizon", 120))
        self.observation_space = spaces.Box(-1e6, 1e6, (6,), np.float32)
        self.action_space = spaces.Box(-1.0, 1.0, (2,), np.float32)
        self.rng = np.random.default_rng(cfg.get("seed", 0))

    def _setpoint(self, t):
        return 21.0 if (t % 40) < 24 else 16.0

    def _outdoor(self, t):
        return self.out_mean + 8.0 * math.sin(2 * math.pi * t / 40.0 + self.phase)

    def _obs(self):
        t = self.t
        o = np.array([(self.T - 18.0) / 10.0, (self._outdoor(t) - 18.0) / 10.0,
                      (self._setpoint(t) - 18.0) / 5.0, (self._setpoint(t + 1) - 18.0) / 5.0,
                      math.sin(2 * math.pi * t / 40.0), math.cos(2 * math.pi * t / 40.0)],
                     np.float32)
        return self._fault_obs(o)

    def reset(self, *, seed=None, options=None):
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        self.t = int(self.rng.integers(0, 40))
        self.t0 = self.t
        self.out_mean = float(self.rng.uniform(5.0, 30.0))
        self.phase = float(self.rng.uniform(0, 2 * math.pi))
        self.T = float(self.rng.uniform(10.0, 28.0))
        return self._obs(), {}

    def step(self, action):
        a = np.clip(np.asarray(action, np.float32), -1.0, 1.0)
        heat, cool = (a + 1.0) / 2.0
        self.T += 0.1 * (self._outdoor(self.t) - self.T) + 1.5 * heat - 1.5 * cool
        self.t += 1
        err = abs(self.T - self._setpoint(self.t))
        self._total_steps += 1
        r = self._fault_reward(-min(err, 20.0) - 0.2 * (heat + cool))
        trunc = (self.t - self.t0) >= self.horizon
        return self._obs(), r, False, trunc, {}


# --------------------------------------------------------------------------------------
class LiftEnv(_Faults, gym.Env):
    """One elevator, 6 floors, one passenger request at a time.  Actions: 0 down, 1 up,
    2 open doors.  Opening at the pickup floor boards the passenger; opening at the
    destination with the passenger on board delivers (+10).  -0.1 per step.  Terminates
    after 3 deliveries; truncated at 100 steps.  Obs (19): car floor one-hot (6), on-board
    flag, pickup floor one-hot (6), destination one-hot (6)."""

    N = 6

    def __init__(self, env_config=None):
        cfg = self._init_faults(env_config)
        self.horizon = int(cfg.get("horizon", 100))
        self.deliveries_to_finish = int(cfg.get("deliveries", 3))
        self.observation_space = spaces.Box(-1e6, 1e6, (19,), np.float32)
        self.action_space = spaces.Discrete(3)
        self.rng = np.random.default_rng(cfg.get("seed", 0))

    def _new_request(self):
        self.pickup = int(self.rng.integers(0, self.N))
        self.dest = int((self.pickup + self.rng.integers(1, self.N)) % self.N)
        self.onboard = False

    def _obs(self):
        o = np.zeros(19, np.float32)
        o[self.floor] = 1.0
        o[6] = float(self.onboard)
        if not self.onboard:
            o[7 + self.pickup] = 1.0
        o[13 + self.dest] = 1.0
        return self._fault_obs(o)

    def reset(self, *, seed=None, options=None):
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        self.floor = int(self.rng.integers(0, self.N))
        self.t = 0
        self.delivered = 0
        self._new_request()
        return self._obs(), {}

    def step(self, action):
        action = int(action)
        r = -0.1
        if action == 0:
            self.floor = max(0, self.floor - 1)
        elif action == 1:
            self.floor = min(self.N - 1, self.floor + 1)
        else:
            if not self.onboard and self.floor == self.pickup:
                self.onboard = True
            elif self.onboard and self.floor == self.dest:
                r += 10.0
                self.delivered += 1
                self._new_request()
        self.t += 1
        self._total_steps += 1
        terminated = self.delivered >= self.deliveries_to_finish
        truncated = (not terminated) and self.t >= self.horizon
        terminated, truncated = self._fault_done(terminated, truncated)
        return self._obs(), self._fault_reward(r), terminated, truncated, {}


# --------------------------------------------------------------------------------------
class HiveEnv(_Faults, MultiAgentEnv):
    """Bee hive, 3 agents on 2 modules.

    Foragers (forager_0, forager_1): a line of 10 cells, hive at 0, one flower per forager
    somewhere in 4..9.  Actions 0 left / 1 stay / 2 right.  Reaching the flower picks up
    nectar; reaching the hive with nectar gives +1 and moves the flower.  -0.01 per step.
    Obs (4): pos/9, carrying, flower/9, (flower - pos)/9.
    Guard: each step a wasp heads for one of 3 gates (obs: noisy one-hot of the gate plus
    2 distractor dims); blocking the right gate gives +0.2.  Actions Discrete(3).
    100 steps per episode (truncated for all agents)."""

    FORAGERS = ("forager_0", "forager_1")

    def __init__(self, config=None):
        super().__init__()
        cfg = self._init_faults(config)
        self.horizon = int(cfg.get("horizon", 100))
        self.agent1_reward_scale = float(cfg.get("agent1_reward_scale", 1.0))
        self.agent1_nan_every = int(cfg.get("agent1_nan_every", 0))
        self.rng = np.random.default_rng(cfg.get("seed", 0))
        self.agents = self.possible_agents = ["forager_0", "forager_1", "guard"]
        f_obs = spaces.Box(-1e6, 1e6, (4,), np.float32)
        g_obs = spaces.Box(-1e6, 1e6, (5,), np.float32)
        self.observation_spaces = {"forager_0": f_obs, "forager_1": f_obs, "guard": g_obs}
        self.action_spaces = {a: spaces.Discrete(3) for a in self.possible_agents}
        self._agent1_steps = 0

    def _f_obs(self, a):
        p, c, f = self.pos[a], self.carry[a], self.flower[a]
        return self._fault_obs([p / 9.0, float(c), f / 9.0, (f - p) / 9.0])

    def _g_obs(self):
        o = np.zeros(5, np.float32)
        o[self.wasp] = 1.0
        o[:3] += self.rng.normal(0, 0.3, 3).astype(np.float32)
        o[3:] = self.rng.normal(0, 1.0, 2).astype(np.float32)
        return self._fault_obs(o)

    def _obs(self):
        d = {a: self._f_obs(a) for a in self.FORAGERS}
        d["guard"] = self._g_obs()
        return d

    def reset(self, *, seed=None, options=None):
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        self.t = 0
        self.pos = {a: 0 for a in self.FORAGERS}
        self.carry = {a: False for a in self.FORAGERS}
        self.flower = {a: int(self.rng.integers(4, 10)) for a in self.FORAGERS}
        self.wasp = int(self.rng.integers(0, 3))
        return self._obs(), {}

    def step(self, action_dict):
        raw = {}
        for a in self.FORAGERS:
            act = int(action_dict.get(a, 1))
            self.pos[a] = int(np.clip(self.pos[a] + act - 1, 0, 9))
            r = -0.01
            if not self.carry[a] and self.pos[a] == self.flower[a]:
                self.carry[a] = True
            elif self.carry[a] and self.pos[a] == 0:
                self.carry[a] = False
                r += 1.0
                self.flower[a] = int(self.rng.integers(4, 10))
            raw[a] = r
        raw["guard"] = 0.2 if int(action_dict.get("guard", -1)) == self.wasp else 0.0
        self.wasp = int(self.rng.integers(0, 3))
        self.t += 1
        self._total_steps += 1
        rewards = {}
        for a, r in raw.items():
            r = self._fault_reward(r)
            if a == "forager_1":
                self._agent1_steps += 1
                r *= self.agent1_reward_scale
                if self.agent1_nan_every and self._agent1_steps % self.agent1_nan_every == 0:
                    r = float("nan")
            rewards[a] = r
        trunc = self.t >= self.horizon
        terms = {"__all__": False}
        truncs = {a: trunc for a in self.possible_agents}
        truncs["__all__"] = trunc
        return self._obs(), rewards, terms, truncs, {}
