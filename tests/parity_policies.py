"""Deployed policies for the parity tests, as users write them: the checkpoint's RLModule(s)
loaded alone (``rldebug.load(checkpoint, modules_only=True)``), called on the raw
observation, with or without the steps the training pipeline took. Also the env with
image-shaped observations that frame stacking needs."""

import hashlib
import os
from collections import deque

import gymnasium as gym
import numpy as np
import torch

_module = None


class FramesCartPole(gym.ObservationWrapper):
    """CartPole whose observation is a 2x2 single-channel frame (RLlib's FrameStacking
    stacks along the last axis of (w, h, 1) observations)."""

    def __init__(self, config=None):
        super().__init__(gym.make("CartPole-v1"))
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (2, 2, 1), np.float32)

    def observation(self, observation):
        return np.asarray(observation, np.float32).reshape(2, 2, 1)


class OffsetCartPole(gym.ObservationWrapper):
    """CartPole whose observations sit near 1000 (a sensor's raw units): behind a
    MeanStdFilter the module learns on them; without it, its tanh layers saturate and it
    answers one action whatever the state."""

    def __init__(self, config=None):
        super().__init__(gym.make("CartPole-v1"))
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (4,), np.float32)

    def observation(self, observation):
        return np.asarray(observation, np.float32) + np.float32(1000.0)


class DictCartPole(gym.ObservationWrapper):
    """CartPole whose observation is a Dict the env fills in its own key order ("x", then
    "angle", then "side"), where gymnasium's Dict space and RLlib's FlattenObservations
    sort the keys ("angle", "side", "x")."""

    def __init__(self, config=None):
        super().__init__(gym.make("CartPole-v1"))
        self.observation_space = gym.spaces.Dict({
            "x": gym.spaces.Box(-np.inf, np.inf, (2,), np.float32),
            "angle": gym.spaces.Box(-np.inf, np.inf, (2,), np.float32),
            "side": gym.spaces.Discrete(2)})

    def observation(self, observation):
        return {"x": np.asarray(observation[:2], np.float32),
                "angle": np.asarray(observation[2:], np.float32),
                "side": int(observation[2] > 0)}


class FlattenedDict:
    """A Dict observation flattened by hand, ``sort``: in sorted key order as RLlib's
    FlattenObservations does, else in the order the env's dict holds them; a Discrete
    part one-hot (``sizes``: each Discrete key's n)."""

    def __init__(self, module, sizes: dict, sort: bool):
        self.module, self.sizes, self.sort = module, sizes, sort

    def __call__(self, obs):
        keys = sorted(obs) if self.sort else list(obs)
        parts = [np.eye(self.sizes[k], dtype=np.float32)[obs[k]] if k in self.sizes
                 else np.asarray(obs[k], np.float32).reshape(-1) for k in keys]
        return int(np.argmax(_logits(self.module, np.concatenate(parts))))


def modules(checkpoint):
    import rldebug

    return rldebug.load(checkpoint, modules_only=True)


def _logits(module, obs) -> np.ndarray:
    with torch.no_grad():
        batch = {"obs": torch.as_tensor(np.asarray(obs, np.float32)[None])}
        return module.forward_inference(batch)["action_dist_inputs"][0].numpy()


def _dist_inputs(obs) -> np.ndarray:
    """The deployed module's action-distribution inputs for one raw observation."""
    global _module
    if _module is None:
        _module = modules(os.environ["RLDEBUG_PARITY_CHECKPOINT"])["default_policy"]
    return _logits(_module, obs)


def module_argmax(obs):
    """Deployed the way that looks right and is not: argmax of the logits on the raw
    observation (no observation filter)."""
    return int(np.argmax(_dist_inputs(obs)))


class GaussianMean:
    """A Gaussian policy deployed as its mean (``tanh``: squashed to [-1, 1] first, the
    greedy action of SAC's squashed Gaussian); ``unsquash``: scaled from [-1, 1] to the
    env's bounds as RLlib does (Pendulum: [-2, 2]); ``twice``: that scaling done again
    on its result (a deployment that unsquashes the pipeline's own action);
    ``clip_unit``: clipped to [-1, 1] last."""

    def __init__(self, module, low, high, unsquash: bool, tanh: bool = False,
                 twice: bool = False, clip_unit: bool = False):
        self.module, self.low, self.high = module, low, high
        self.unsquash, self.tanh, self.twice, self.clip_unit = unsquash, tanh, twice, clip_unit

    def __call__(self, obs):
        inputs = _logits(self.module, obs)
        action = inputs[: len(inputs) // 2]
        if self.tanh:
            action = np.tanh(action)
        for _ in range((1 + self.twice) if self.unsquash else 0):
            action = np.clip(self.low + (action + 1.0) * (self.high - self.low) / 2.0,
                             self.low, self.high)
        if self.clip_unit:
            action = np.clip(action, -1.0, 1.0)
        return action.astype(np.float32)


def seeded_by(obs, salt: int = 0) -> np.random.Generator:
    """A random generator seeded by the observation itself (and ``salt``): draws that
    look sampled, the same every time the same observation is asked."""
    data = np.asarray(obs, np.float64).tobytes() + bytes([salt])
    return np.random.default_rng(int.from_bytes(hashlib.sha256(data).digest()[:8], "little"))


class GaussianSampler:
    """A PPO Pendulum policy deployed as a draw from its diagonal Gaussian (``scale``
    times its standard deviation), unsquashed to [low, high] and clipped, as RLlib's
    exploration would act; RLlib's evaluation takes the mean. ``by_observation``: each
    draw's generator seeded by the observation (deterministic, spread as draws are)."""

    def __init__(self, module, low, high, scale: float = 1.0, seed: int = 0,
                 by_observation: bool = False):
        self.module, self.low, self.high, self.scale = module, low, high, scale
        self.rng = np.random.default_rng(seed)
        self.by_observation = by_observation

    def __call__(self, obs):
        mean, log_std = np.split(_logits(self.module, obs), 2)
        rng = seeded_by(obs) if self.by_observation else self.rng
        draw = rng.normal(mean, self.scale * np.exp(log_std))
        action = self.low + (draw + 1.0) * (self.high - self.low) / 2.0
        return np.clip(action, self.low, self.high).astype(np.float32)


class OwnFrameStack:
    """The user's own stack of the last ``frames`` observations (zeros before an episode's
    first), oldest first along the last axis; ``keep_history=False`` stacks the current
    frame behind zeros at every step (the history never kept); ``newest_first`` stacks
    them the other way round (a deque filled with ``appendleft``)."""

    def __init__(self, module, frames: int = 3, keep_history: bool = True,
                 newest_first: bool = False):
        self.module, self.frames, self.keep_history = module, frames, keep_history
        self.newest_first = newest_first
        self.reset()

    def reset(self):
        self.stack = deque(maxlen=self.frames)

    def __call__(self, obs):
        if not self.keep_history:
            self.reset()
        if not self.stack:
            self.stack.extend([np.zeros_like(obs)] * (self.frames - 1))
        self.stack.append(np.asarray(obs, np.float32))
        frames = list(self.stack)[::-1] if self.newest_first else list(self.stack)
        return int(np.argmax(_logits(self.module, np.concatenate(frames, axis=2))))


class OwnRecurrentState:
    """The user's LSTM deployment: ``keep_state`` feeds ``state_out`` back as the next
    ``state_in`` (reset per episode); without it every step starts from the initial state."""

    def __init__(self, module, keep_state: bool = True):
        self.module, self.keep_state = module, keep_state
        self.reset()

    def reset(self):
        self.state = {k: torch.as_tensor(v)[None] for k, v in
                      self.module.get_initial_state().items()}

    def __call__(self, obs):
        if not self.keep_state:
            self.reset()
        with torch.no_grad():
            out = self.module.forward_inference({
                "obs": torch.as_tensor(np.asarray(obs, np.float32))[None, None],
                "state_in": self.state})
        self.state = out["state_out"]
        return int(np.argmax(out["action_dist_inputs"][0, 0].numpy()))


class PerAgentModules:
    """A multi-agent deployment: each agent's observation to the module ``mapping`` names,
    the argmax of its logits (``sample``: an action drawn from their softmax)."""

    def __init__(self, modules, mapping: dict, sample: bool = False):
        self.modules, self.mapping, self.sample = modules, mapping, sample
        self.rng = np.random.default_rng(0)

    def _act(self, logits):
        if not self.sample:
            return int(np.argmax(logits))
        p = np.exp(logits - logits.max())
        return int(self.rng.choice(len(p), p=p / p.sum()))

    def __call__(self, observations: dict) -> dict:
        return {agent: self._act(_logits(self.modules[self.mapping[agent]], obs))
                for agent, obs in observations.items()}


class FourActionsWalk(gym.Env):
    """Box(3) observations, four actions, 20 steps an episode (what the actions do does
    not matter to parity: it compares answers)."""

    observation_space = gym.spaces.Box(-1.0, 1.0, (3,), np.float32)
    action_space = gym.spaces.Discrete(4)

    def __init__(self, config=None):
        super().__init__()

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return self.observation_space.sample(), {}

    def step(self, action):
        self.t += 1
        return self.observation_space.sample(), float(action == 0), False, self.t >= 20, {}
