"""Audit envs: single-agent gymnasium envs and RLlib MultiAgentEnvs.

Buggy envs have exactly one planned bug (see labels.json). All constructors
take an optional env_config like RLlib calls them: cls(env_config).
"""
import gymnasium as gym
import numpy as np
from gymnasium import spaces
from ray.rllib.env.multi_agent_env import MultiAgentEnv


# ----------------------------------------------------------------------------
# Single-agent: a reusable, correct 1-D "walk to goal" core.
# ----------------------------------------------------------------------------
class GoodBoxEnv(gym.Env):
    """Correct: walk on a line towards a goal; Box obs, Discrete actions."""

    def __init__(self, config=None):
        config = config or {}
        self.max_steps = config.get("max_steps", 50)
        self.observation_space = spaces.Box(-1.0, 1.0, (4,), np.float32)
        self.action_space = spaces.Discrete(3)

    def _obs(self):
        return np.array(
            [self.pos / 10.0, self.goal / 10.0, (self.goal - self.pos) / 20.0,
             self.t / self.max_steps], dtype=np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.pos = float(self.np_random.integers(-10, 11))
        self.goal = float(self.np_random.integers(-10, 11))
        self.t = 0
        return self._obs(), {}

    def step(self, action):
        self.pos = float(np.clip(self.pos + (int(action) - 1), -10, 10))
        self.t += 1
        terminated = self.pos == self.goal
        truncated = (not terminated) and self.t >= self.max_steps
        reward = 1.0 if terminated else -0.01
        return self._obs(), reward, terminated, truncated, {}


class GoodDictObsEnv(gym.Env):
    """Correct: Dict observation (Box + Discrete), continuous Box actions."""

    def __init__(self, config=None):
        self.observation_space = spaces.Dict({
            "pos": spaces.Box(-10.0, 10.0, (2,), np.float32),
            "goal": spaces.Box(-10.0, 10.0, (2,), np.float32),
            "mode": spaces.Discrete(3),
        })
        self.action_space = spaces.Box(-1.0, 1.0, (2,), np.float32)

    def _obs(self):
        return {"pos": self.pos.copy(), "goal": self.goal.copy(), "mode": int(self.mode)}

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.pos = self.np_random.uniform(-5, 5, 2).astype(np.float32)
        self.goal = self.np_random.uniform(-5, 5, 2).astype(np.float32)
        self.mode = int(self.np_random.integers(3))
        self.t = 0
        return self._obs(), {}

    def step(self, action):
        a = np.clip(np.asarray(action, dtype=np.float32), -1, 1)
        self.pos = np.clip(self.pos + a, -10, 10).astype(np.float32)
        self.t += 1
        dist = float(np.linalg.norm(self.pos - self.goal))
        terminated = dist < 0.5
        truncated = (not terminated) and self.t >= 40
        return self._obs(), -dist / 10.0, terminated, truncated, {"dist": dist}


class GoodBigBoxEnv(gym.Env):
    """Correct: large unbounded Box obs (2048 floats), MultiDiscrete actions."""

    def __init__(self, config=None):
        self.observation_space = spaces.Box(-np.inf, np.inf, (2048,), np.float32)
        self.action_space = spaces.MultiDiscrete([3, 3])

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        self.state = self.np_random.normal(size=2048).astype(np.float32)
        return self.state.copy(), {}

    def step(self, action):
        self.t += 1
        shift = (int(action[0]) - 1) * 0.1 + (int(action[1]) - 1) * 0.05
        self.state = (self.state * 0.9 + shift).astype(np.float32)
        reward = float(-np.abs(self.state[:8]).mean())
        return self.state.copy(), reward, False, self.t >= 30, {}


class IntObsDtypeEnv(gym.Env):
    """Planned correct (int obs with matching int64 Box); relabeled: RLlib 2.60's
    default torch encoder crashes on int64 input (see labels.json)."""

    def __init__(self, config=None):
        self.observation_space = spaces.Box(0, 20, (3,), np.int64)
        self.action_space = spaces.Discrete(4)

    def _obs(self):
        return np.array([self.x, self.y, self.t], dtype=np.int64)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.x, self.y = (int(v) for v in self.np_random.integers(0, 21, 2))
        self.t = 0
        return self._obs(), {}

    def step(self, action):
        dx, dy = [(1, 0), (-1, 0), (0, 1), (0, -1)][int(action)]
        self.x = int(np.clip(self.x + dx, 0, 20))
        self.y = int(np.clip(self.y + dy, 0, 20))
        self.t += 1
        terminated = (self.x, self.y) == (10, 10)
        truncated = (not terminated) and self.t >= 20
        return self._obs(), float(terminated), terminated, truncated, {}


class Uint8ImageEnv(gym.Env):
    """Planned correct (uint8 42x42x3 images); relabeled: RLlib 2.60's default CNN
    crashes on uint8 input without a casting connector (see labels.json)."""

    def __init__(self, config=None):
        self.observation_space = spaces.Box(0, 255, (42, 42, 3), np.uint8)
        self.action_space = spaces.Discrete(2)

    def _obs(self):
        img = np.zeros((42, 42, 3), dtype=np.uint8)
        img[:, self.col, :] = 255
        return img

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.col = int(self.np_random.integers(42))
        self.t = 0
        return self._obs(), {}

    def step(self, action):
        self.col = int(np.clip(self.col + (1 if action == 1 else -1), 0, 41))
        self.t += 1
        terminated = self.col == 21
        return self._obs(), float(terminated), terminated, (not terminated) and self.t >= 25, {}


class GoodFloatImageEnv(Uint8ImageEnv):
    """Correct: float32 image observations in [0, 1], declared as such."""

    def __init__(self, config=None):
        super().__init__(config)
        self.observation_space = spaces.Box(0.0, 1.0, (42, 42, 3), np.float32)

    def _obs(self):
        return super()._obs().astype(np.float32) / 255.0


class GoodDiscreteObsEnv(gym.Env):
    """Correct: Discrete(16) observations (grid cell index), Discrete actions."""

    def __init__(self, config=None):
        self.observation_space = spaces.Discrete(16)
        self.action_space = spaces.Discrete(4)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.cell = int(self.np_random.integers(16))
        self.t = 0
        return self.cell, {}

    def step(self, action):
        r, c = divmod(self.cell, 4)
        dr, dc = [(1, 0), (-1, 0), (0, 1), (0, -1)][int(action)]
        self.cell = int(np.clip(r + dr, 0, 3) * 4 + np.clip(c + dc, 0, 3))
        self.t += 1
        terminated = self.cell == 15
        return self.cell, float(terminated), terminated, (not terminated) and self.t >= 20, {}


class GoodFloat64Env(GoodBoxEnv):
    """Unusual: float64 Box declared and returned consistently."""

    def __init__(self, config=None):
        super().__init__(config)
        self.observation_space = spaces.Box(-1.0, 1.0, (4,), np.float64)

    def _obs(self):
        return super()._obs().astype(np.float64)


# ------------------------- single-agent buggy envs ---------------------------
class OldGymStepEnv(GoodBoxEnv):
    """BUG: step() uses the old gym API: returns (obs, reward, done, info)."""

    def step(self, action):
        obs, reward, terminated, truncated, info = super().step(action)
        return obs, reward, terminated or truncated, info


class ObsShapeGrowsEnv(GoodBoxEnv):
    """BUG: user appended an extra feature but kept the declared shape (4,)."""

    def _obs(self):
        base = super()._obs()
        return np.append(base, np.float32(self.pos > self.goal)).astype(np.float32)


class IntObsFloatEnv(gym.Env):
    """BUG: declares an int64 Box but returns float64 positions (e.g. 3.5)."""

    def __init__(self, config=None):
        self.observation_space = spaces.Box(0, 10, (2,), np.int64)
        self.action_space = spaces.Discrete(4)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.p = self.np_random.uniform(0, 10, 2)
        self.t = 0
        return self.p.copy(), {}

    def step(self, action):
        d = [(0.5, 0), (-0.5, 0), (0, 0.5), (0, -0.5)][int(action)]
        self.p = np.clip(self.p + np.array(d), 0, 10)
        self.t += 1
        return self.p.copy(), -float(np.abs(self.p - 5).sum()), False, self.t >= 30, {}


class ImageFloatEnv(Uint8ImageEnv):
    """BUG: declared uint8 0..255 image, but the env 'normalizes' to float [0,1]."""

    def _obs(self):
        return super()._obs().astype(np.float32) / 255.0


class VectorRewardEnv(gym.Env):
    """BUG: reward is an array (per-dimension distance), not a scalar."""

    def __init__(self, config=None):
        self.observation_space = spaces.Box(-10, 10, (6,), np.float32)
        self.action_space = spaces.Box(-1, 1, (3,), np.float32)

    def _obs(self):
        return np.concatenate([self.pos, self.goal]).astype(np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.pos = self.np_random.uniform(-5, 5, 3).astype(np.float32)
        self.goal = self.np_random.uniform(-5, 5, 3).astype(np.float32)
        self.t = 0
        return self._obs(), {}

    def step(self, action):
        self.pos = np.clip(self.pos + np.clip(action, -1, 1), -10, 10).astype(np.float32)
        self.t += 1
        reward = -np.abs(self.pos - self.goal)  # forgot .sum()
        return self._obs(), reward, False, self.t >= 30, {}


class NoneRewardEnv(GoodBoxEnv):
    """BUG: 'sparse' reward returns None on steps where nothing happens."""

    def step(self, action):
        obs, _reward, terminated, truncated, info = super().step(action)
        return obs, (1.0 if terminated else None), terminated, truncated, info


class NaNRewardEnv(GoodBoxEnv):
    """BUG: reward = progress / |progress| (sign via division) -> NaN when staying."""

    def step(self, action):
        old = abs(self.goal - self.pos)
        obs, _, terminated, truncated, info = super().step(action)
        progress = np.float64(old - abs(self.goal - self.pos))
        with np.errstate(invalid="ignore"):
            reward = float(progress / np.abs(progress))
        return obs, reward, terminated, truncated, info


class UnseededResetEnv(GoodBoxEnv):
    """BUG: reset() accepts seed but ignores it (private unseeded RNG)."""

    def __init__(self, config=None):
        super().__init__(config)
        self._rng = np.random.default_rng()

    def reset(self, *, seed=None, options=None):
        self.pos = float(self._rng.integers(-10, 11))
        self.goal = float(self._rng.integers(-10, 11))
        self.t = 0
        return self._obs(), {}


class DiscreteStartEnv(GoodBoxEnv):
    """BUG: actions declared as Discrete(3, start=-1) meaning left/stay/right."""

    def __init__(self, config=None):
        super().__init__(config)
        self.action_space = spaces.Discrete(3, start=-1)
        self.actions_seen = []

    def step(self, action):
        self.actions_seen.append(int(action))
        # -1 / 0 / +1 as declared by the space; parent expects 0..2 so shift.
        return super().step(int(action) + 1)


class TimeLimitTerminatedEnv(GoodBoxEnv):
    """BUG: hitting the step limit is reported as terminated=True (not truncated)."""

    def step(self, action):
        obs, reward, terminated, truncated, info = super().step(action)
        return obs, reward, terminated or truncated, False, info


class SpacesInResetEnv(gym.Env):
    """BUG: observation/action spaces are only created inside reset()."""

    def __init__(self, config=None):
        self.n = (config or {}).get("n", 4)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.observation_space = spaces.Box(-1, 1, (self.n,), np.float32)
        self.action_space = spaces.Discrete(2)
        self.t = 0
        return self.observation_space.sample(), {}

    def step(self, action):
        self.t += 1
        return (self.np_random.uniform(-1, 1, self.n).astype(np.float32),
                float(action), False, self.t >= 20, {})


class DictMissingKeyEnv(gym.Env):
    """BUG: Dict obs declares 'goal' but step() forgets to include it."""

    def __init__(self, config=None):
        self.observation_space = spaces.Dict({
            "pos": spaces.Box(-10, 10, (2,), np.float32),
            "vel": spaces.Box(-1, 1, (2,), np.float32),
            "goal": spaces.Box(-10, 10, (2,), np.float32),
        })
        self.action_space = spaces.Box(-1, 1, (2,), np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.pos = self.np_random.uniform(-5, 5, 2).astype(np.float32)
        self.vel = np.zeros(2, np.float32)
        self.goal = self.np_random.uniform(-5, 5, 2).astype(np.float32)
        self.t = 0
        return {"pos": self.pos.copy(), "vel": self.vel.copy(), "goal": self.goal.copy()}, {}

    def step(self, action):
        self.vel = np.clip(np.asarray(action, np.float32), -1, 1)
        self.pos = np.clip(self.pos + self.vel, -10, 10).astype(np.float32)
        self.t += 1
        obs = {"pos": self.pos.copy(), "vel": self.vel.copy()}  # 'goal' forgotten
        return obs, -float(np.linalg.norm(self.pos - self.goal)), False, self.t >= 30, {}


class ResetNoKwargsEnv(GoodBoxEnv):
    """BUG: reset() written without the seed/options keyword arguments."""

    def reset(self):
        self.pos = float(self.np_random.integers(-10, 11))
        self.goal = float(self.np_random.integers(-10, 11))
        self.t = 0
        return self._obs(), {}


# ----------------------------------------------------------------------------
# Multi-agent envs
# ----------------------------------------------------------------------------
class _TwoPlayerBase(MultiAgentEnv):
    """Turn-based 'count to 21': players alternate adding 1..3 to a counter."""

    def __init__(self, config=None):
        super().__init__()
        config = config or {}
        self.max_turns = config.get("max_turns", 6)
        self.possible_agents = ["p0", "p1"]
        self.agents = list(self.possible_agents)
        obs_sp = spaces.Box(0.0, 1.0, (3,), np.float32)
        self.observation_spaces = {a: obs_sp for a in self.possible_agents}
        self.action_spaces = {a: spaces.Discrete(3) for a in self.possible_agents}

    def _obs(self, aid):
        return np.array([self.count / 21.0, self.turn / self.max_turns,
                         float(aid == "p0")], dtype=np.float32)

    def reset(self, *, seed=None, options=None):
        self.rng = np.random.default_rng(seed)
        self.count = int(self.rng.integers(0, 5))
        self.turn = 0
        self.cur = "p0"
        self.pending = {"p0": 0.0, "p1": 0.0}
        return {self.cur: self._obs(self.cur)}, {}


class MAGoodTurnBasedEnv(_TwoPlayerBase):
    """Correct turn-based env: only the mover gets obs; rewards flushed properly;
    at time limit both players get a final obs and truncated."""

    def step(self, action_dict):
        mover = self.cur
        other = "p1" if mover == "p0" else "p0"
        self.count = min(21, self.count + int(action_dict[mover]) + 1)
        self.turn += 1
        if self.count >= 21:
            rew = {mover: 1.0, other: -1.0}
            obs = {a: self._obs(a) for a in self.possible_agents}
            return obs, rew, {"__all__": True}, {"__all__": False}, {}
        if self.turn >= self.max_turns:
            obs = {a: self._obs(a) for a in self.possible_agents}
            return obs, {mover: 0.0, other: 0.0}, {"__all__": False}, {"__all__": True}, {}
        self.cur = other
        return ({other: self._obs(other)}, {mover: 0.0}, {"__all__": False},
                {"__all__": False}, {})


class MATurnTruncNoObsEnv(_TwoPlayerBase):
    """BUG: at the turn limit truncates the episode but only gives an obs to the
    next player; the player who just moved has no last observation."""

    def step(self, action_dict):
        mover = self.cur
        other = "p1" if mover == "p0" else "p0"
        self.count = min(21, self.count + int(action_dict[mover]) + 1)
        self.turn += 1
        if self.count >= 21:
            obs = {a: self._obs(a) for a in self.possible_agents}
            return obs, {mover: 1.0, other: -1.0}, {"__all__": True}, {"__all__": False}, {}
        self.cur = other
        truncated = self.turn >= self.max_turns
        return ({other: self._obs(other)}, {mover: 0.0}, {"__all__": False},
                {"__all__": truncated}, {})


class _SimulBase(MultiAgentEnv):
    """Simultaneous-move 2-agent env on a line."""

    def __init__(self, config=None):
        super().__init__()
        self.possible_agents = ["agent_0", "agent_1"]
        self.agents = list(self.possible_agents)
        self.observation_spaces = {
            a: spaces.Box(-1.0, 1.0, (2,), np.float32) for a in self.possible_agents}
        self.action_spaces = {a: spaces.Discrete(3) for a in self.possible_agents}
        self.max_steps = (config or {}).get("max_steps", 20)

    def _o(self, i):
        return np.array([self.pos[i] / 10.0, self.t / self.max_steps], np.float32)

    def reset(self, *, seed=None, options=None):
        self.rng = np.random.default_rng(seed)
        self.pos = [float(v) for v in self.rng.integers(-5, 6, 2)]
        self.t = 0
        return {a: self._o(i) for i, a in enumerate(self.possible_agents)}, {}

    def _move(self, action_dict):
        for i, a in enumerate(self.possible_agents):
            if a in action_dict:
                self.pos[i] = float(np.clip(self.pos[i] + int(action_dict[a]) - 1, -10, 10))
        self.t += 1


class MAMissingAllEnv(_SimulBase):
    """BUG: terminateds dict has per-agent flags but no '__all__' key."""

    def step(self, action_dict):
        self._move(action_dict)
        obs = {a: self._o(i) for i, a in enumerate(self.possible_agents)}
        rew = {a: -abs(self.pos[i]) / 10 for i, a in enumerate(self.possible_agents)}
        done = self.t >= self.max_steps
        terminateds = {a: done for a in self.possible_agents}  # no "__all__"
        return obs, rew, terminateds, {"__all__": False}, {}


class MARewardKeyMismatchEnv(_SimulBase):
    """BUG: rewards are keyed by agent index (0, 1) instead of agent id."""

    def step(self, action_dict):
        self._move(action_dict)
        obs = {a: self._o(i) for i, a in enumerate(self.possible_agents)}
        rew = {i: -abs(self.pos[i]) / 10 for i in range(2)}
        done = self.t >= self.max_steps
        return obs, rew, {"__all__": done}, {"__all__": False}, {}


class MAAgentAfterDoneEnv(_SimulBase):
    """BUG: agent_1 is terminated at step 5 but keeps being returned afterwards."""

    def step(self, action_dict):
        self._move(action_dict)
        obs = {a: self._o(i) for i, a in enumerate(self.possible_agents)}
        rew = {a: -abs(self.pos[i]) / 10 for i, a in enumerate(self.possible_agents)}
        terminateds = {"agent_1": self.t >= 5, "__all__": self.t >= self.max_steps}
        return obs, rew, terminateds, {"__all__": False}, {}


class MASharedBoxSpaceEnv(MultiAgentEnv):
    """BUG: defines one single observation_space/action_space (Box/Discrete) for
    all agents instead of per-agent observation_spaces/action_spaces dicts."""

    def __init__(self, config=None):
        super().__init__()
        self.possible_agents = ["agent_0", "agent_1"]
        self.agents = list(self.possible_agents)
        self.observation_space = spaces.Box(-1.0, 1.0, (2,), np.float32)
        self.action_space = spaces.Discrete(3)

    def reset(self, *, seed=None, options=None):
        self.rng = np.random.default_rng(seed)
        self.t = 0
        return {a: self.rng.uniform(-1, 1, 2).astype(np.float32) for a in self.agents}, {}

    def step(self, action_dict):
        self.t += 1
        obs = {a: self.rng.uniform(-1, 1, 2).astype(np.float32) for a in self.agents}
        rew = {a: float(action_dict[a] == 1) for a in action_dict}
        return obs, rew, {"__all__": self.t >= 20}, {"__all__": False}, {}


class MAUndeclaredJoinerEnv(_SimulBase):
    """BUG: a 'reinforcement' agent joins mid-episode but is not declared in
    possible_agents / observation_spaces / action_spaces."""

    def _obs_all(self):
        obs = {a: self._o(i) for i, a in enumerate(self.possible_agents)}
        if self.t >= 3:
            obs["reinforcement"] = np.array([0.0, self.t / self.max_steps], np.float32)
        return obs

    def step(self, action_dict):
        self._move(action_dict)
        obs = self._obs_all()
        rew = {a: -abs(self.pos[i]) / 10 for i, a in enumerate(self.possible_agents)}
        if "reinforcement" in action_dict:
            rew["reinforcement"] = 0.1
        return obs, rew, {"__all__": self.t >= self.max_steps}, {"__all__": False}, {}


class MAGoodJoinLeaveEnv(MultiAgentEnv):
    """Correct: 'scout' acts from the start and terminates at step 8 (with a final
    obs); 'medic' legitimately joins at step 3; episode ends at step 12."""

    def __init__(self, config=None):
        super().__init__()
        self.possible_agents = ["scout", "medic"]
        self.agents = ["scout"]
        self.observation_spaces = {
            "scout": spaces.Box(-1.0, 1.0, (3,), np.float32),
            "medic": spaces.Box(0.0, 1.0, (2,), np.float32),
        }
        self.action_spaces = {
            "scout": spaces.Discrete(4),
            "medic": spaces.Box(-1.0, 1.0, (1,), np.float32),
        }

    def _o(self, aid):
        if aid == "scout":
            return np.array([self.x / 10, self.t / 12, 0.5], np.float32)
        return np.array([self.t / 12, self.heal], np.float32)

    def reset(self, *, seed=None, options=None):
        self.rng = np.random.default_rng(seed)
        self.x = float(self.rng.integers(-5, 6))
        self.t = 0
        self.heal = 0.0
        self.agents = ["scout"]
        return {"scout": self._o("scout")}, {}

    def step(self, action_dict):
        self.t += 1
        obs, rew, term = {}, {}, {"__all__": False}
        if "scout" in action_dict:
            self.x = float(np.clip(self.x + int(action_dict["scout"]) - 1.5, -10, 10))
            rew["scout"] = -abs(self.x) / 10
            obs["scout"] = self._o("scout")
            if self.t >= 8:
                term["scout"] = True
                self.agents.remove("scout")
        if "medic" in action_dict:
            self.heal = float(np.clip(self.heal + 0.1 * float(action_dict["medic"][0]), 0, 1))
            rew["medic"] = self.heal
        if self.t == 3:
            self.agents.append("medic")
        if "medic" in self.agents:
            obs["medic"] = self._o("medic")
        if self.t >= 12:
            term["__all__"] = True
        return obs, rew, term, {"__all__": False}, {}


class MAGoodTupleObsEnv(MultiAgentEnv):
    """Correct: Tuple(Box, Discrete) observations, MultiDiscrete actions."""

    def __init__(self, config=None):
        super().__init__()
        self.possible_agents = ["red", "blue"]
        self.agents = list(self.possible_agents)
        self.observation_spaces = {
            a: spaces.Tuple((spaces.Box(-1.0, 1.0, (2,), np.float32), spaces.Discrete(5)))
            for a in self.possible_agents}
        self.action_spaces = {a: spaces.MultiDiscrete([2, 3]) for a in self.possible_agents}

    def _o(self, a):
        return (self.rng.uniform(-1, 1, 2).astype(np.float32), int(self.t % 5))

    def reset(self, *, seed=None, options=None):
        self.rng = np.random.default_rng(seed)
        self.t = 0
        return {a: self._o(a) for a in self.agents}, {}

    def step(self, action_dict):
        self.t += 1
        obs = {a: self._o(a) for a in self.agents}
        rew = {a: float(action_dict[a][0]) - 0.5 * float(action_dict[a][1]) for a in action_dict}
        return obs, rew, {"__all__": False}, {"__all__": self.t >= 15}, {}


class MAInPlaceObsEnv(_SimulBase):
    """Planned bug: returns its internal obs buffers and mutates them in place on
    the next step (see labels.json for whether this matters to RLlib 2.60)."""

    def reset(self, *, seed=None, options=None):
        obs, info = super().reset(seed=seed, options=options)
        self.buf = {a: obs[a] for a in self.possible_agents}
        return self.buf, info

    def step(self, action_dict):
        self._move(action_dict)
        for i, a in enumerate(self.possible_agents):
            self.buf[a][:] = self._o(i)  # in-place mutation of returned arrays
        rew = {a: -abs(self.pos[i]) / 10 for i, a in enumerate(self.possible_agents)}
        done = self.t >= self.max_steps
        return self.buf, rew, {"__all__": done}, {"__all__": False}, {}


class MAInfoGlobalKeyEnv(_SimulBase):
    """Planned bug: infos carry a non-agent top-level key 'global' (see labels)."""

    def reset(self, *, seed=None, options=None):
        obs, _ = super().reset(seed=seed, options=options)
        return obs, {"global": {"episode_seed": seed}}

    def step(self, action_dict):
        self._move(action_dict)
        obs = {a: self._o(i) for i, a in enumerate(self.possible_agents)}
        rew = {a: -abs(self.pos[i]) / 10 for i, a in enumerate(self.possible_agents)}
        done = self.t >= self.max_steps
        return obs, rew, {"__all__": done}, {"__all__": False}, {"global": {"t": self.t}}


SINGLE = ["GoodBoxEnv", "GoodDictObsEnv", "GoodBigBoxEnv", "IntObsDtypeEnv",
          "Uint8ImageEnv", "GoodFloatImageEnv", "GoodDiscreteObsEnv", "GoodFloat64Env", "OldGymStepEnv", "ObsShapeGrowsEnv", "IntObsFloatEnv",
          "ImageFloatEnv", "VectorRewardEnv", "NoneRewardEnv", "NaNRewardEnv",
          "UnseededResetEnv", "DiscreteStartEnv", "TimeLimitTerminatedEnv",
          "SpacesInResetEnv", "DictMissingKeyEnv", "ResetNoKwargsEnv"]
MULTI = ["MAGoodTurnBasedEnv", "MATurnTruncNoObsEnv", "MAMissingAllEnv",
         "MARewardKeyMismatchEnv", "MAAgentAfterDoneEnv", "MASharedBoxSpaceEnv",
         "MAUndeclaredJoinerEnv", "MAGoodJoinLeaveEnv", "MAGoodTupleObsEnv",
         "MAInPlaceObsEnv", "MAInfoGlobalKeyEnv"]
ALL = SINGLE + MULTI
