"""Four envs of my own for RLlib 2.60 (batch 5).

SortingLineEnv   - parcel sorting conveyor, 500-step episodes, MultiDiscrete([3, 2]) action.
TightropeEnv     - balance a tightrope walker, +10 per step alive, Discrete(9) torques,
                   registered with gymnasium as "Tightrope-v0" (reward_threshold=4500).
SolarTrackerEnv  - turn a solar panel after the sun over a day, continuous action,
                   reward in Wh per step (episode returns in the thousands).
CourierSwarmEnv  - multi-agent grid deliveries: 3 drones (one shared module) and a van
                   (own module); drones join at different steps, every courier leaves
                   the episode once it delivered.

Faults are switched on through env_config flags (all default off):
  reward_scale (float), reward_zero, reward_sign_flip, reward_noise_std (float),
  nan_every (int, a NaN reward every N env steps), obs_scale (float), obs_zero,
  terminated_as_truncated, agent1_reward_scale / agent1_nan_every (CourierSwarmEnv:
  one agent's reward only).
"""

from __future__ import annotations

import math
from typing import ClassVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from ray.rllib.env.multi_agent_env import MultiAgentEnv


class _Faults:
    """Shared reward/observation hooks driven by env_config flags."""

    def _init_faults(self, config):
        config = dict(config or {})
        self._reward_scale = float(config.get("reward_scale", 1.0))
        self._reward_zero = bool(config.get("reward_zero", False))
        self._reward_sign_flip = bool(config.get("reward_sign_flip", False))
        self._reward_noise_std = float(config.get("reward_noise_std", 0.0))
        self._nan_every = int(config.get("nan_every", 0))
        self._obs_scale = float(config.get("obs_scale", 1.0))
        self._obs_zero = bool(config.get("obs_zero", False))
        self._term_as_trunc = bool(config.get("terminated_as_truncated", False))
        self._fault_rng = np.random.default_rng(config.get("fault_seed", 123))
        self._global_steps = 0

    def _fault_reward(self, reward: float) -> float:
        self._global_steps += 1
        reward = float(reward) * self._reward_scale
        if self._reward_zero:
            reward = 0.0
        if self._reward_sign_flip:
            reward = -reward
        if self._reward_noise_std:
            reward += float(self._fault_rng.normal(0.0, self._reward_noise_std))
        if self._nan_every and self._global_steps % self._nan_every == 0:
            reward = float("nan")
        return reward

    def _fault_obs(self, obs: np.ndarray) -> np.ndarray:
        obs = np.asarray(obs, dtype=np.float32)
        if self._obs_zero:
            return np.zeros_like(obs)
        if self._obs_scale != 1.0:
            return (obs * self._obs_scale).astype(np.float32)
        return obs


# ---------------------------------------------------------------------------------------
class SortingLineEnv(_Faults, gym.Env):
    """A conveyor brings one parcel per step. The parcel has a destination class (3) and
    is light or heavy. Action: MultiDiscrete([3, 2]) = (bin, pusher force soft/hard).

    Right bin: +1, right force: +0.5 more. Wrong bin: -1 and the line jams for 2 steps
    (parcels on a jammed line are lost, -0.5 each, actions ignored). 500 steps per episode
    (truncated). Obs: parcel class one-hot (3), heavy flag, scanner noise, jam counter / 2,
    day progress.
    """

    metadata: ClassVar[dict] = {"render_modes": []}
    EPISODE_LEN = 500

    def __init__(self, config=None):
        super().__init__()
        self._init_faults(config)
        hi = 1e4 * max(1.0, self._obs_scale)
        self.observation_space = spaces.Box(-hi, hi, shape=(7,), dtype=np.float32)
        self.action_space = spaces.MultiDiscrete([3, 2])
        self._rng = np.random.default_rng()

    def _new_parcel(self):
        self._cls = int(self._rng.integers(3))
        self._heavy = int(self._rng.random() < 0.4)

    def _obs(self):
        obs = np.zeros(7, dtype=np.float32)
        obs[self._cls] = 1.0
        obs[3] = self._heavy
        obs[4] = self._rng.normal(0.0, 0.3)
        obs[5] = self._jam / 2.0
        obs[6] = self._t / self.EPISODE_LEN
        return self._fault_obs(obs)

    def reset(self, *, seed=None, options=None):
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        self._t = 0
        self._jam = 0
        self._new_parcel()
        return self._obs(), {}

    def step(self, action):
        bin_, force = int(action[0]), int(action[1])
        if self._jam > 0:
            reward = -0.5
            self._jam -= 1
        elif bin_ == self._cls:
            reward = 1.0 + (0.5 if force == self._heavy else 0.0)
        else:
            reward = -1.0
            self._jam = 2
        self._t += 1
        self._new_parcel()
        truncated = self._t >= self.EPISODE_LEN
        return self._obs(), self._fault_reward(reward), False, truncated, {}


# ---------------------------------------------------------------------------------------
class TightropeEnv(_Faults, gym.Env):
    """A walker on a tightrope leans (angle theta, rate omega) and shifts a balance pole.

    Action: Discrete(9) pole torques from -1 to 1. +10 per step alive; the walker falls
    (terminated) when |theta| > 0.6 rad; the pole stops at +-1.5. 500 steps max
    (truncated). Wind gusts push the walker. Obs: theta, omega, pole position, pole speed.
    """

    metadata: ClassVar[dict] = {"render_modes": []}
    MAX_STEPS = 500
    TORQUES = np.linspace(-1.0, 1.0, 9)

    def __init__(self, config=None, **kwargs):
        # gym.make("Tightrope-v0", **env_config) passes the flags as keyword arguments
        super().__init__()
        self._init_faults({**dict(config or {}), **kwargs})
        hi = 1e4 * max(1.0, self._obs_scale)
        self.observation_space = spaces.Box(-hi, hi, shape=(4,), dtype=np.float32)
        self.action_space = spaces.Discrete(9)
        self._rng = np.random.default_rng()

    def _obs(self):
        return self._fault_obs(np.array(
            [self._theta / 0.6, self._omega, self._pole, self._pole_v], dtype=np.float32))

    def reset(self, *, seed=None, options=None):
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        self._theta = float(self._rng.uniform(-0.05, 0.05))
        self._omega = 0.0
        self._pole = 0.0
        self._pole_v = 0.0
        self._t = 0
        return self._obs(), {}

    def step(self, action):
        torque = float(self.TORQUES[int(action)])
        dt = 0.05
        # pole acceleration from the torque; the walker leans against the pole's motion
        pole_acc = 4.0 * torque - 0.5 * self._pole
        self._pole_v += dt * pole_acc
        self._pole_v *= 0.95
        self._pole = float(np.clip(self._pole + dt * self._pole_v, -1.5, 1.5))
        gust = float(self._rng.normal(0.0, 0.3))
        alpha = 5.0 * math.sin(self._theta) - 4.0 * torque + gust
        self._omega += dt * alpha
        self._theta += dt * self._omega
        self._t += 1
        fell = abs(self._theta) > 0.6
        truncated = self._t >= self.MAX_STEPS and not fell
        terminated = fell
        if self._term_as_trunc and terminated:
            terminated, truncated = False, True
        return self._obs(), self._fault_reward(10.0), terminated, truncated, {}


gym.register(id="Tightrope-v0", entry_point=TightropeEnv, reward_threshold=4500.0,
             max_episode_steps=None)


def make_tightrope(config=None):
    """The registered env (its spec carries reward_threshold=4500)."""
    return gym.make("Tightrope-v0", **dict(config or {}))


# ---------------------------------------------------------------------------------------
class SolarTrackerEnv(_Faults, gym.Env):
    """Turn a solar panel after the sun for one day (200 steps of ~4 minutes).

    Action: Box(-1, 1) = panel turning speed (max 0.05 rad/step); the motor costs
    2 Wh * |action|. Reward: Wh harvested this step = 60 * irradiance * cos(miss)^8,
    irradiance = sin(pi * t / T). Obs: sun angle, panel angle, miss angle, irradiance,
    time of day.
    """

    metadata: ClassVar[dict] = {"render_modes": []}
    T = 200

    def __init__(self, config=None):
        super().__init__()
        self._init_faults(config)
        hi = 1e4 * max(1.0, self._obs_scale)
        self.observation_space = spaces.Box(-hi, hi, shape=(5,), dtype=np.float32)
        self.action_space = spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)
        self._rng = np.random.default_rng()

    def _sun(self):
        return -1.2 + 2.4 * self._t / self.T

    def _obs(self):
        sun = self._sun()
        irr = math.sin(math.pi * self._t / self.T)
        return self._fault_obs(np.array(
            [sun, self._panel, sun - self._panel, irr, self._t / self.T], dtype=np.float32))

    def reset(self, *, seed=None, options=None):
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        self._t = 0
        self._panel = float(self._rng.uniform(-1.5, 1.5))
        return self._obs(), {}

    def step(self, action):
        a = float(np.clip(np.asarray(action, dtype=np.float64).reshape(-1)[0], -1.0, 1.0))
        self._panel = float(np.clip(self._panel + 0.05 * a, -1.6, 1.6))
        self._t += 1
        miss = self._sun() - self._panel
        irr = math.sin(math.pi * self._t / self.T)
        energy = 60.0 * irr * max(0.0, math.cos(miss)) ** 8
        reward = energy - 2.0 * abs(a)
        truncated = self._t >= self.T
        return self._obs(), self._fault_reward(reward), False, truncated, {}


# ---------------------------------------------------------------------------------------
class CourierSwarmEnv(_Faults, MultiAgentEnv):
    """An 8x8 city grid; each courier has a drop-off point. Drones drone_0..drone_2 start
    at steps 0, 4 and 8 (they join mid-episode); the van starts at step 0. The van's
    steering is rotated (its action k moves it as a drone's action k+1 would), so it
    needs its own policy. A courier at its drop-off gets +5 and leaves the episode
    (terminated); every step costs -0.1. The episode ends when all couriers delivered
    or after 60 steps.

    Obs per courier: (dx, dy) to its drop-off / 7, own (x, y) / 7, step / 60.
    Action: Discrete(5) stay, up, down, left, right.
    env_config: agent1_reward_scale, agent1_nan_every (fault on "drone_1" only).
    """

    DRONES: ClassVar[list] = ["drone_0", "drone_1", "drone_2"]
    START: ClassVar[dict] = {"drone_0": 0, "drone_1": 4, "drone_2": 8, "van": 0}
    MOVES: ClassVar[list] = [(0, 0), (0, 1), (0, -1), (-1, 0), (1, 0)]
    SIZE = 8
    MAX_STEPS = 60

    def __init__(self, config=None):
        super().__init__()
        config = dict(config or {})
        self._init_faults(config)
        self._agent1_scale = float(config.get("agent1_reward_scale", 1.0))
        self._agent1_nan_every = int(config.get("agent1_nan_every", 0))
        self._agent1_steps = 0
        self.possible_agents = self.DRONES + ["van"]
        self.agents = []
        hi = 1e4 * max(1.0, self._obs_scale)
        obs_space = spaces.Box(-hi, hi, shape=(5,), dtype=np.float32)
        self.observation_spaces = {a: obs_space for a in self.possible_agents}
        self.action_spaces = {a: spaces.Discrete(5) for a in self.possible_agents}
        self._rng = np.random.default_rng()

    def _obs_of(self, agent):
        x, y = self._pos[agent]
        gx, gy = self._goal[agent]
        s = self.SIZE - 1
        return self._fault_obs(np.array(
            [(gx - x) / s, (gy - y) / s, x / s, y / s, self._t / self.MAX_STEPS],
            dtype=np.float32))

    def _place(self, agent):
        s = self.SIZE
        while True:
            pos = (int(self._rng.integers(s)), int(self._rng.integers(s)))
            goal = (int(self._rng.integers(s)), int(self._rng.integers(s)))
            if abs(pos[0] - goal[0]) + abs(pos[1] - goal[1]) >= 4:
                break
        self._pos[agent] = pos
        self._goal[agent] = goal

    def reset(self, *, seed=None, options=None):
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        self._t = 0
        self._pos, self._goal = {}, {}
        self._done = set()
        self.agents = [a for a in self.possible_agents if self.START[a] == 0]
        for a in self.agents:
            self._place(a)
        return {a: self._obs_of(a) for a in self.agents}, {}

    def _reward(self, agent, reward):
        if agent == "drone_1":
            reward *= self._agent1_scale
            self._agent1_steps += 1
            if self._agent1_nan_every and self._agent1_steps % self._agent1_nan_every == 0:
                reward = float("nan")
        return self._fault_reward(reward)

    def step(self, action_dict):
        self._t += 1
        obs, rew, term, trunc = {}, {}, {}, {}
        for agent, action in action_dict.items():
            if agent not in self.agents:
                continue
            k = int(action)
            if agent == "van" and k > 0:
                k = k % 4 + 1  # rotated steering
            dx, dy = self.MOVES[k]
            x, y = self._pos[agent]
            x = min(max(x + dx, 0), self.SIZE - 1)
            y = min(max(y + dy, 0), self.SIZE - 1)
            self._pos[agent] = (x, y)
            r = -0.1
            if (x, y) == self._goal[agent]:
                r += 5.0
                term[agent] = True
                self._done.add(agent)
            rew[agent] = self._reward(agent, r)
        # couriers that join now
        for agent in self.possible_agents:
            if self.START[agent] == self._t and agent not in self._pos:
                self._place(agent)
                self.agents.append(agent)
        # leavers
        self.agents = [a for a in self.agents if a not in self._done]
        out_of_time = self._t >= self.MAX_STEPS
        for agent in self.agents:
            obs[agent] = self._obs_of(agent)
            if out_of_time:
                trunc[agent] = True
        for agent in term:
            obs[agent] = self._obs_of(agent)
        all_done = not self.agents and all(
            self.START[a] <= self._t for a in self.possible_agents)
        term["__all__"] = all_done
        trunc["__all__"] = out_of_time and not all_done
        if out_of_time:
            self.agents = []
        return obs, rew, term, trunc, {}
