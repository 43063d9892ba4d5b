"""Small gymnasium / RLlib envs for the probe audit cases (written by the auditor).

None of these is a probe env: the probe swaps them out. They exist so that each
case is a config a user could really train, and so `algo.train()` can be checked.
"""
import gymnasium as gym
import numpy as np
from ray.rllib.env.multi_agent_env import MultiAgentEnv


def _bucket(x, low, high, n):
    frac = (float(x) - low) / (high - low)
    return int(min(max(int(frac * n), 0), n - 1))


class CueEnv(gym.Env):
    """Each step shows a random cue vector; the right action is the bucket of cue[0].

    Reward 1 for the right action, else 0; `horizon` steps per episode.
    env_config: n_actions (4), obs_low (-1), obs_high (1), obs_dim (3), horizon (8).
    """

    def __init__(self, config=None):
        config = dict(config or {})
        self.n = int(config.get("n_actions", 4))
        self.low = float(config.get("obs_low", -1.0))
        self.high = float(config.get("obs_high", 1.0))
        self.dim = int(config.get("obs_dim", 3))
        self.horizon = int(config.get("horizon", 8))
        self.observation_space = gym.spaces.Box(
            self.low, self.high, (self.dim,), np.float32
        )
        self.action_space = gym.spaces.Discrete(self.n)

    def _new_cue(self):
        self._cue = self.np_random.uniform(self.low, self.high, self.dim).astype(
            np.float32
        )
        return self._cue

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return self._new_cue(), {}

    def step(self, action):
        target = _bucket(self._cue[0], self.low, self.high, self.n)
        reward = 1.0 if int(action) == target else 0.0
        self.t += 1
        return self._new_cue(), reward, self.t >= self.horizon, False, {}


class DictCueEnv(gym.Env):
    """Dict observation {"cue": Box(-1,1,(2,)), "flip": Discrete(2)}, 2 actions.

    Right action = (cue[0] > 0) XOR flip.  8 steps per episode.
    """

    def __init__(self, config=None):
        self.observation_space = gym.spaces.Dict(
            {
                "cue": gym.spaces.Box(-1.0, 1.0, (2,), np.float32),
                "flip": gym.spaces.Discrete(2),
            }
        )
        self.action_space = gym.spaces.Discrete(2)
        self.horizon = 8

    def _new_obs(self):
        self._obs = {
            "cue": self.np_random.uniform(-1, 1, 2).astype(np.float32),
            "flip": int(self.np_random.integers(2)),
        }
        return self._obs

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return self._new_obs(), {}

    def step(self, action):
        target = int(self._obs["cue"][0] > 0) ^ self._obs["flip"]
        reward = 1.0 if int(action) == target else 0.0
        self.t += 1
        return self._new_obs(), reward, self.t >= self.horizon, False, {}


class BoxTargetEnv(gym.Env):
    """Continuous action: act = the point of [a_low, a_high] that cue[0] indicates.

    obs Box(-1,1,(2,)), action Box(a_low, a_high, (1,)).  Reward 1 - 2|a - target|/range
    (the env clips the action into its box first).  8 steps per episode.
    """

    def __init__(self, config=None):
        config = dict(config or {})
        self.a_low = float(config.get("a_low", -2.0))
        self.a_high = float(config.get("a_high", 2.0))
        self.observation_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
        self.action_space = gym.spaces.Box(self.a_low, self.a_high, (1,), np.float32)
        self.horizon = 8

    def _new_obs(self):
        self._cue = self.np_random.uniform(-1, 1, 2).astype(np.float32)
        return self._cue

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return self._new_obs(), {}

    def step(self, action):
        rng = self.a_high - self.a_low
        target = self.a_low + (float(self._cue[0]) + 1.0) / 2.0 * rng
        a = float(np.clip(np.asarray(action, np.float32).reshape(-1)[0], self.a_low, self.a_high))
        reward = 1.0 - 2.0 * abs(a - target) / rng
        self.t += 1
        return self._new_obs(), reward, self.t >= self.horizon, False, {}


class TwoAgentCueEnv(MultiAgentEnv):
    """Two agents act simultaneously; each sees its own cue (Box(-1,1,(3,))).

    agent_0's right action is bucket(cue[0]) of 4; agent_1's is the mirror image,
    3 - bucket(cue[0]), so one module serving both must tell them apart.
    env_config: with_id (False) appends a one-hot agent id to each observation
    (obs dim 5 then).  8 steps per episode, reward 1 for the right action.
    """

    AGENTS = ("agent_0", "agent_1")

    def __init__(self, config=None):
        super().__init__()
        config = dict(config or {})
        self.with_id = bool(config.get("with_id", False))
        self.horizon = 8
        self.agents = self.possible_agents = list(self.AGENTS)
        dim = 3 + (2 if self.with_id else 0)
        self.observation_spaces = {
            a: gym.spaces.Box(-1.0, 1.0, (dim,), np.float32) for a in self.AGENTS
        }
        self.action_spaces = {a: gym.spaces.Discrete(4) for a in self.AGENTS}

    def _new_obs(self):
        self._cues = {}
        obs = {}
        for i, a in enumerate(self.AGENTS):
            cue = self.np_random.uniform(-1, 1, 3).astype(np.float32)
            self._cues[a] = cue
            if self.with_id:
                one_hot = np.zeros(2, np.float32)
                one_hot[i] = 1.0
                cue = np.concatenate([cue, one_hot]).astype(np.float32)
            obs[a] = cue
        return obs

    def reset(self, *, seed=None, options=None):
        if seed is not None:
            self._rng_seed = seed
        self.np_random, _ = gym.utils.seeding.np_random(seed)
        self.t = 0
        return self._new_obs(), {}

    def step(self, action_dict):
        rewards = {}
        for a, act in action_dict.items():
            b = _bucket(self._cues[a][0], -1.0, 1.0, 4)
            target = b if a == "agent_0" else 3 - b
            rewards[a] = 1.0 if int(act) == target else 0.0
        self.t += 1
        done = self.t >= self.horizon
        obs = self._new_obs()
        terminateds = {a: done for a in self.AGENTS}
        terminateds["__all__"] = done
        truncateds = {a: False for a in self.AGENTS}
        truncateds["__all__"] = False
        return obs, rewards, terminateds, truncateds, {}
