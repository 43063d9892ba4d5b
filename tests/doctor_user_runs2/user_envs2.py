"""Four envs a new user wrote (not the benchmark's, not the earlier user batch), each with
switchable bugs via env_config keys. Used only by make_runs.py."""
import gymnasium as gym
import numpy as np
from gymnasium import spaces
from ray.rllib.env.multi_agent_env import MultiAgentEnv


class Inventory(gym.Env):
    """Shop stock control. Each day: order 0..8 units (arrive at once), then demand
    ~Poisson(weekday mean) is served. Cost: 0.1/unit held, 1.0/unit of unmet demand, 0.5
    fixed per order. Reward = -cost (always <= 0). Stock cap 20. 50 days (truncated).
    Obs: stock/20, weekday one-hot(7).
    bugs: sign_flipped (reward = +cost), obs_zero (obs all zeros)."""
    MEANS = np.array([2, 3, 4, 6, 7, 5, 3], float)

    def __init__(self, cfg=None):
        cfg = cfg or {}
        self.sign_flipped = cfg.get("sign_flipped", False)
        self.obs_zero = cfg.get("obs_zero", False)
        self.observation_space = spaces.Box(0.0, 1.0, (8,), np.float32)
        self.action_space = spaces.Discrete(9)

    def _obs(self):
        o = np.zeros(8, np.float32)
        if not self.obs_zero:
            o[0] = self.stock / 20.0
            o[1 + self.day % 7] = 1.0
        return o

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.stock = 5
        self.day = int(self.np_random.integers(7))
        self.t = 0
        return self._obs(), {}

    def step(self, a):
        order = int(a)
        self.stock = min(20, self.stock + order)
        demand = int(self.np_random.poisson(self.MEANS[self.day % 7]))
        sold = min(self.stock, demand)
        unmet = demand - sold
        self.stock -= sold
        cost = 0.1 * self.stock + 1.0 * unmet + (0.5 if order > 0 else 0.0)
        rew = cost if self.sign_flipped else -cost
        self.day += 1
        self.t += 1
        return self._obs(), float(rew), False, self.t >= 50, {}


class KeyDoor(gym.Env):
    """5x5 room: start (0,0), key at (4,0), door at (0,4). Stepping on the key picks it up;
    reaching the door holding the key pays +1 and ends the episode (terminated). Nothing
    else pays. Time limit 100 steps (truncated). Obs: one-hot cell (25) + has-key bit.
    bugs: door_truncates (door reported as truncated), nan_every (a NaN reward every N
    env steps, counted over the env's life)."""
    N = 5

    def __init__(self, cfg=None):
        cfg = cfg or {}
        self.door_truncates = cfg.get("door_truncates", False)
        self.nan_every = cfg.get("nan_every", 0)
        self.observation_space = spaces.Box(0.0, 1.0, (self.N * self.N + 1,), np.float32)
        self.action_space = spaces.Discrete(4)
        self.steps = 0

    def _obs(self):
        o = np.zeros(self.N * self.N + 1, np.float32)
        o[self.pos[0] * self.N + self.pos[1]] = 1.0
        o[-1] = float(self.key)
        return o

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.pos, self.key, self.t = (0, 0), False, 0
        return self._obs(), {}

    def step(self, a):
        dr, dc = [(-1, 0), (1, 0), (0, -1), (0, 1)][int(a)]
        r, c = self.pos[0] + dr, self.pos[1] + dc
        if 0 <= r < self.N and 0 <= c < self.N:
            self.pos = (r, c)
        self.t += 1
        self.steps += 1
        if self.pos == (self.N - 1, 0):
            self.key = True
        opened = self.key and self.pos == (0, self.N - 1)
        rew = 1.0 if opened else 0.0
        if self.nan_every and self.steps % self.nan_every == 0:
            rew = float("nan")
        terminated = opened and not self.door_truncates
        truncated = (opened and self.door_truncates) or self.t >= 100
        return self._obs(), rew, terminated, truncated, {}


class Thermostat(gym.Env):
    """Room temperature control, 1-D Box action (heating/cooling power in [-1,1]).
    T' = T + 1.5*a + 0.05*(T_out - T) + N(0, 0.2). Target in [18,24] and T_out in [0,35]
    drawn per episode, T starts in [10,30]. Reward -|T - target| per step. 60 steps
    (truncated). Obs: (T-20)/10, (target-20)/10, (T_out-20)/20."""

    def __init__(self, cfg=None):
        self.observation_space = spaces.Box(-5.0, 5.0, (3,), np.float32)
        self.action_space = spaces.Box(-1.0, 1.0, (1,), np.float32)

    def _obs(self):
        return np.array([(self.T - 20) / 10, (self.target - 20) / 10,
                         (self.T_out - 20) / 20], np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.T = float(self.np_random.uniform(10, 30))
        self.target = float(self.np_random.uniform(18, 24))
        self.T_out = float(self.np_random.uniform(0, 35))
        self.t = 0
        return self._obs(), {}

    def step(self, a):
        a = float(np.clip(np.asarray(a, dtype=np.float64).reshape(-1)[0], -1, 1))
        self.T += 1.5 * a + 0.05 * (self.T_out - self.T) + float(self.np_random.normal(0, 0.2))
        self.T = float(np.clip(self.T, -10, 50))
        self.t += 1
        return self._obs(), -abs(self.T - self.target), False, self.t >= 60, {}


class TurnTrack(MultiAgentEnv):
    """Two players take turns on a 1-D track of 9 cells (p0 then p1 then p0 ...). Each has
    its own target cell drawn per episode; on its turn a player moves -1/0/+1 (it cannot
    enter the other's cell). The mover's reward: +1 if it ends on its target, else -0.1.
    20 turns each (40 env steps), truncated. Obs (mover): own pos, own target, other pos,
    each one-hot of 9 (27).
    bugs: a1_scale (player 'p1' rewards x this), a1_nan_every (p1's reward NaN every N of
    its turns, counted over the env's life)."""
    L = 9

    def __init__(self, cfg=None):
        super().__init__()
        cfg = cfg or {}
        self.a1_scale = cfg.get("a1_scale", 1.0)
        self.a1_nan_every = cfg.get("a1_nan_every", 0)
        self.agents = self.possible_agents = ["p0", "p1"]
        self.observation_spaces = {a: spaces.Box(0.0, 1.0, (3 * self.L,), np.float32)
                                   for a in self.agents}
        self.action_spaces = {a: spaces.Discrete(3) for a in self.agents}
        self.p1_turns = 0

    def _obs(self, a):
        o = np.zeros(3 * self.L, np.float32)
        other = "p1" if a == "p0" else "p0"
        o[self.pos[a]] = 1
        o[self.L + self.goal[a]] = 1
        o[2 * self.L + self.pos[other]] = 1
        return o

    def reset(self, *, seed=None, options=None):
        self.rng = np.random.default_rng(seed)
        cells = self.rng.choice(self.L, 4, replace=False)
        self.pos = {"p0": int(cells[0]), "p1": int(cells[1])}
        self.goal = {"p0": int(cells[2]), "p1": int(cells[3])}
        self.turn, self.t = "p0", 0
        return {"p0": self._obs("p0")}, {}

    def step(self, actions):
        a = self.turn
        other = "p1" if a == "p0" else "p0"
        new = int(np.clip(self.pos[a] + int(actions[a]) - 1, 0, self.L - 1))
        if new != self.pos[other]:
            self.pos[a] = new
        rew = 1.0 if self.pos[a] == self.goal[a] else -0.1
        if a == "p1":
            self.p1_turns += 1
            rew *= self.a1_scale
            if self.a1_nan_every and self.p1_turns % self.a1_nan_every == 0:
                rew = float("nan")
        self.t += 1
        done = self.t >= 40
        self.turn = other
        obs = {a: self._obs(a), other: self._obs(other)} if done else {other: self._obs(other)}
        return (obs, {a: rew}, {"__all__": False},
                {"p0": done, "p1": done, "__all__": done}, {})
