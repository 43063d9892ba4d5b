# ruff: noqa  -- a new user's script, kept as it was written (tests/doctor_user_runs8)
"""My own environments (batch8). Each supports fault switches via env_config."""
import math
import numpy as np
import gymnasium as gym
from gymnasium import spaces
from ray.rllib.env.multi_agent_env import MultiAgentEnv


class _Faults:
    def _init_faults(self, cfg):
        cfg = dict(cfg or {})
        self.reward_scale = float(cfg.get("reward_scale", 1.0))
        self.reward_sign_flip = bool(cfg.get("reward_sign_flip", False))
        self.nan_every = int(cfg.get("nan_every", 0) or 0)
        self.obs_scale = float(cfg.get("obs_scale", 1.0))
        self.obs_zero = bool(cfg.get("obs_zero", False))
        self.reward_noise_std = float(cfg.get("reward_noise_std", 0.0))
        self.terminated_as_truncated = bool(cfg.get("terminated_as_truncated", False))
        self._fault_steps = 0
        self._fault_rng = np.random.default_rng(cfg.get("seed", None))
        return cfg

    def _fobs(self, obs):
        obs = np.asarray(obs, dtype=np.float32)
        if self.obs_zero:
            obs = np.zeros_like(obs)
        return (obs * self.obs_scale).astype(np.float32)

    def _frew(self, r, count=True):
        r = float(r) * self.reward_scale
        if self.reward_sign_flip:
            r = -r
        if self.reward_noise_std > 0:
            r += float(self._fault_rng.normal(0.0, self.reward_noise_std))
        if count:
            self._fault_steps += 1
            if self.nan_every and self._fault_steps % self.nan_every == 0:
                r = float("nan")
        return r

    def _fterm(self, terminated, truncated):
        if self.terminated_as_truncated and terminated:
            return False, True
        return terminated, truncated


# ---------------------------------------------------------------- 1. irrigation
class IrrigationTankEnv(_Faults, gym.Env):
    """Farm water tank. Each step crops draw water (varying demand); the farmer
    chooses pump power {off, half, full}. Costs only (rewards <= 0): pumping cost,
    crop stress when the tank is low, spill when above 0.9. If the tank runs dry
    the pump is damaged: terminal with -10. Episode: 100 steps."""

    def __init__(self, config=None):
        cfg = self._init_faults(config)
        self.max_steps = int(cfg.get("max_steps", 100))
        self.observation_space = spaces.Box(-np.inf, np.inf, (4,), np.float32)
        self.action_space = spaces.Discrete(3)
        self.rng = np.random.default_rng(cfg.get("seed", None))

    def _obs(self):
        return self._fobs([self.level, self.demand * 10.0,
                           math.sin(2 * math.pi * self.t / 25), math.cos(2 * math.pi * self.t / 25)])

    def _demand(self):
        return 0.04 + 0.025 * math.sin(2 * math.pi * self.t / 25 + self.phase)

    def reset(self, *, seed=None, options=None):
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        self.t = 0
        self.phase = self.rng.uniform(0, 2 * math.pi)
        self.level = self.rng.uniform(0.3, 0.7)
        self.demand = self._demand()
        return self._obs(), {}

    def step(self, action):
        flow = [0.0, 0.045, 0.09][int(action)]
        self.level = self.level + flow - self.demand + self.rng.normal(0, 0.005)
        cost = 0.2 * flow / 0.09
        if self.level < 0.3:
            cost += 3.0 * (0.3 - self.level)
        if self.level > 0.9:
            cost += 3.0 * (self.level - 0.9)
        self.level = min(self.level, 1.0)
        terminated = False
        if self.level <= 0.0:
            self.level = 0.0
            cost += 10.0
            terminated = True
        self.t += 1
        self.demand = self._demand()
        truncated = self.t >= self.max_steps and not terminated
        terminated, truncated = self._fterm(terminated, truncated)
        return self._obs(), self._frew(-cost), terminated, truncated, {}


# ---------------------------------------------------------------- 2. warehouse
class WarehouseRobotEnv(_Faults, gym.Env):
    """Robot on an aisle of 7 slots (0 = packing dock). An order names a shelf
    (1..6). Actions: 0 left, 1 right, 2 pick/drop. Picking at the ordered shelf
    loads the item; dropping at the dock delivers it (+1, the only reward) and a
    new order appears. After 6 deliveries the shift ends (terminal).
    Episode cap: 60 steps."""

    N = 7

    def __init__(self, config=None):
        cfg = self._init_faults(config)
        self.max_steps = int(cfg.get("max_steps", 60))
        self.observation_space = spaces.Box(-np.inf, np.inf, (4,), np.float32)
        self.action_space = spaces.Discrete(3)
        self.rng = np.random.default_rng(cfg.get("seed", None))

    def _obs(self):
        n = self.N - 1
        return self._fobs([self.pos / n, self.order / n, float(self.carrying),
                           (self.order - self.pos) / n if not self.carrying else -self.pos / n])

    def reset(self, *, seed=None, options=None):
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        self.t, self.pos, self.carrying, self.delivered = 0, 0, False, 0
        self.order = int(self.rng.integers(1, self.N))
        return self._obs(), {}

    def step(self, action):
        a = int(action)
        r = 0.0
        if a == 0:
            self.pos = max(0, self.pos - 1)
        elif a == 1:
            self.pos = min(self.N - 1, self.pos + 1)
        else:
            if not self.carrying and self.pos == self.order:
                self.carrying = True
            elif self.carrying and self.pos == 0:
                self.carrying = False
                self.delivered += 1
                r = 1.0
                self.order = int(self.rng.integers(1, self.N))
        self.t += 1
        terminated = self.delivered >= 6
        truncated = self.t >= self.max_steps and not terminated
        terminated, truncated = self._fterm(terminated, truncated)
        return self._obs(), self._frew(r), terminated, truncated, {}


# ---------------------------------------------------------------- 3. heater (Box)
class RoomHeaterEnv(_Faults, gym.Env):
    """Room heater, continuous power in [-1, 1] (mapped to 0..1 of max power).
    Temperature relaxes towards the outside temperature and rises with power.
    Setpoint changes every 25 steps. Reward = -|T - setpoint|/5 - 0.1*power
    (always <= 0). Above 32 C the safety cut-off trips: terminal with -5.
    Episode: 50 steps."""

    def __init__(self, config=None):
        cfg = self._init_faults(config)
        self.max_steps = int(cfg.get("max_steps", 50))
        self.observation_space = spaces.Box(-np.inf, np.inf, (3,), np.float32)
        self.action_space = spaces.Box(-1.0, 1.0, (1,), np.float32)
        self.rng = np.random.default_rng(cfg.get("seed", None))

    def _obs(self):
        return self._fobs([(self.T - 20) / 5, (self.sp - 20) / 5, (self.Tout - 10) / 10])

    def reset(self, *, seed=None, options=None):
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        self.t = 0
        self.T = self.rng.uniform(12, 24)
        self.Tout = self.rng.uniform(0, 15)
        self.sp = self.rng.uniform(17, 24)
        return self._obs(), {}

    def step(self, action):
        p = float(np.clip(np.asarray(action).reshape(-1)[0], -1, 1))
        power = (p + 1) / 2
        self.T = self.T + 0.15 * (self.Tout - self.T) + 4.0 * power + self.rng.normal(0, 0.1)
        cost = abs(self.T - self.sp) / 5 + 0.1 * power
        terminated = False
        if self.T > 32:
            cost += 5.0
            terminated = True
        self.t += 1
        if self.t % 25 == 0:
            self.sp = self.rng.uniform(17, 24)
        truncated = self.t >= self.max_steps and not terminated
        terminated, truncated = self._fterm(terminated, truncated)
        return self._obs(), self._frew(-cost), terminated, truncated, {}


# ---------------------------------------------------------------- 4. fishery (multi-agent)
class SharedFisheryEnv(MultiAgentEnv):
    """Two fishing boats ("agent0", "agent1") share one fish stock S in [0,1].
    Each chooses effort {0: stay in port, 1: light, 2: heavy}; catch = 0.1*effort*S
    (reward = catch*10). Stock regrows logistically (r = 0.35). If S < 0.3 the
    fishery collapses: terminal, -3 to each boat. Episode: 50 steps."""

    def __init__(self, config=None):
        super().__init__()
        cfg = dict(config or {})
        self.cfg = cfg
        self.possible_agents = ["agent0", "agent1"]
        self.agents = list(self.possible_agents)
        self.max_steps = int(cfg.get("max_steps", 50))
        box = spaces.Box(-np.inf, np.inf, (4,), np.float32)
        self.observation_spaces = {a: box for a in self.possible_agents}
        self.action_spaces = {a: spaces.Discrete(3) for a in self.possible_agents}
        self.reward_scale = float(cfg.get("reward_scale", 1.0))
        self.reward_sign_flip = bool(cfg.get("reward_sign_flip", False))
        self.nan_every = int(cfg.get("nan_every", 0) or 0)
        self.obs_scale = float(cfg.get("obs_scale", 1.0))
        self.obs_zero = bool(cfg.get("obs_zero", False))
        self.reward_noise_std = float(cfg.get("reward_noise_std", 0.0))
        self.terminated_as_truncated = bool(cfg.get("terminated_as_truncated", False))
        self.agent1_reward_scale = float(cfg.get("agent1_reward_scale", 1.0))
        self.agent1_nan_every = int(cfg.get("agent1_nan_every", 0) or 0)
        self.rng = np.random.default_rng(cfg.get("seed", None))
        self._steps = 0

    def _obs(self):
        out = {}
        for i, a in enumerate(self.possible_agents):
            o = np.array([self.S, self.last[i] / 2, self.last[1 - i] / 2, self.t / self.max_steps],
                         dtype=np.float32)
            if self.obs_zero:
                o = np.zeros_like(o)
            out[a] = (o * self.obs_scale).astype(np.float32)
        return out

    def reset(self, *, seed=None, options=None):
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        self.agents = list(self.possible_agents)
        self.t = 0
        self.S = self.rng.uniform(0.5, 0.8)
        self.last = [0, 0]
        return self._obs(), {}

    def step(self, action_dict):
        eff = [int(action_dict.get(a, 0)) for a in self.possible_agents]
        catches = [0.1 * e * self.S for e in eff]
        self.S = max(0.0, self.S - sum(catches))
        self.S = min(1.0, self.S + 0.35 * self.S * (1 - self.S) + self.rng.normal(0, 0.01))
        self.last = eff
        self.t += 1
        self._steps += 1
        terminated = self.S < 0.3
        rews = {}
        for i, a in enumerate(self.possible_agents):
            r = catches[i] * 10 - (3.0 if terminated else 0.0)
            r *= self.reward_scale
            if self.reward_sign_flip:
                r = -r
            if self.reward_noise_std > 0:
                r += float(self.rng.normal(0, self.reward_noise_std))
            if a == "agent1":
                r *= self.agent1_reward_scale
                if self.agent1_nan_every and self._steps % self.agent1_nan_every == 0:
                    r = float("nan")
            if self.nan_every and self._steps % self.nan_every == 0:
                r = float("nan")
            rews[a] = r
        truncated = self.t >= self.max_steps and not terminated
        if self.terminated_as_truncated and terminated:
            terminated, truncated = False, True
        terms = {a: terminated for a in self.possible_agents}
        truncs = {a: truncated for a in self.possible_agents}
        terms["__all__"] = terminated
        truncs["__all__"] = truncated
        return self._obs(), rews, terms, truncs, {}


# ---------------------------------------------------------------- 5. battery arbitrage
class BatteryArbitrageEnv(_Faults, gym.Env):
    """Home battery trading on a day-ahead price curve (48 half-hour slots).
    Actions: 0 charge (buy 0.25 of capacity), 1 idle, 2 discharge (sell 0.25).
    Reward = money earned (negative when buying) minus a 0.02 wear cost per
    charge/discharge. Price = 1 + 0.6*sin(day phase) + noise. Infeasible actions
    (charge when full, sell when empty) do nothing but still cost wear.
    Episode: 48 steps, no terminal state."""

    def __init__(self, config=None):
        cfg = self._init_faults(config)
        self.max_steps = int(cfg.get("max_steps", 48))
        self.observation_space = spaces.Box(-np.inf, np.inf, (4,), np.float32)
        self.action_space = spaces.Discrete(3)
        self.rng = np.random.default_rng(cfg.get("seed", None))

    def _price(self):
        return 1.0 + 0.6 * math.sin(2 * math.pi * self.t / 48 + self.phase) + self.rng.normal(0, 0.05)

    def _obs(self):
        return self._fobs([self.charge, self.price - 1.0,
                           math.sin(2 * math.pi * self.t / 48 + self.phase),
                           math.cos(2 * math.pi * self.t / 48 + self.phase)])

    def reset(self, *, seed=None, options=None):
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        self.t = 0
        self.phase = self.rng.uniform(0, 2 * math.pi)
        self.charge = 0.5
        self.price = self._price()
        return self._obs(), {}

    def step(self, action):
        a = int(action)
        r = 0.0
        if a == 0:
            q = min(0.25, 1.0 - self.charge)
            self.charge += q
            r = -q * self.price - 0.02
        elif a == 2:
            q = min(0.25, self.charge)
            self.charge -= q
            r = q * self.price - 0.02
        self.t += 1
        self.price = self._price()
        truncated = self.t >= self.max_steps
        return self._obs(), self._frew(r), False, truncated, {}
