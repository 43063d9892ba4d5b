"""Envs with rare, seed-dependent glitches, and a Learner a glitch poisons (reproduce tests).

Whether an episode glitches, and at which step, is drawn from the env's own
``np_random`` at reset, so only the episode's reset seed (and the actions, which
move the walker) decide it: the glitch is rare in training and exactly
reproducible from a recording.
"""

from __future__ import annotations

import os
import signal

import gymnasium as gym
import numpy as np
from ray.rllib.algorithms.dqn.torch.dqn_torch_learner import DQNTorchLearner
from ray.rllib.algorithms.ppo.torch.ppo_torch_learner import PPOTorchLearner
from ray.rllib.callbacks.callbacks import RLlibCallback
from ray.rllib.connectors.connector_v2 import ConnectorV2
from ray.rllib.env.multi_agent_env import MultiAgentEnv

MARKER = 50.0  # an observation value the planted Learner turns into a NaN loss


class _Walker:
    """One walker on a line; ``glitch`` is "nan" (NaN observation), "raise" (the env's step
    raises) or "marker"."""

    def __init__(self, rng, rate: float):
        self.rng = rng
        self.position = float(rng.uniform(-1.0, 1.0))
        self.t = 0
        self.glitch_at = int(rng.integers(2, 15)) if rng.random() < rate else None

    def obs(self) -> np.ndarray:
        return np.array([self.position, self.rng.normal()], np.float32)

    def step(self, action, glitch: str):
        self.position += (int(action) - 1) * 0.5 + float(self.rng.normal(0.0, 0.1))
        self.t += 1
        obs, info = self.obs(), {}
        if self.t == self.glitch_at:
            info["glitch"] = True
            if glitch == "nan":
                obs[:] = np.nan
            elif glitch == "raise":
                raise ValueError(f"walked into a wall at step {self.t}")
            else:
                obs[1] = MARKER
        return obs, -abs(self.position), info


class GlitchyWalk(gym.Env):
    """Single agent: Box(2) observations, Discrete(3) actions, 20 steps per episode."""

    def __init__(self, config=None):
        config = config or {}
        self.glitch = config.get("glitch", "nan")
        self.rate = float(config.get("rate", 0.1))
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (2,), np.float32)
        self.action_space = gym.spaces.Discrete(3)
        self.walker = None

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.walker = _Walker(self.np_random, self.rate)
        return self.walker.obs(), {}

    def step(self, action):
        obs, reward, info = self.walker.step(action, self.glitch)
        return obs, reward, False, self.walker.t >= 20, info


class NanInThirdEpisode(gym.Env):
    """Counts its episodes, as real envs do (curricula, level counters): its observation
    turns NaN at env step 17 of its third episode; ``info["episode"]`` says which."""

    observation_space = gym.spaces.Box(-1.0, 1.0, (3,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def __init__(self, config=None):
        self.episodes = 0
        self.t = 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.episodes += 1
        self.t = 0
        return np.zeros(3, np.float32), {"episode": self.episodes}

    def step(self, action):
        self.t += 1
        obs = np.full(3, 0.1 * int(action), np.float32)
        if self.episodes == 3 and self.t == 17:
            obs[:] = np.nan
        return obs, 1.0, False, self.t >= 20, {"episode": self.episodes}


class _Plain(gym.Env):
    observation_space = gym.spaces.Box(-1.0, 1.0, (3,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return np.zeros(3, np.float32), {}

    def step(self, action):
        return np.full(3, 0.1 * int(action), np.float32), 1.0, False, False, {}


class NanInThirdEpisodeWrapper(gym.Wrapper):
    """NanInThirdEpisode's counting done by a user's gym.Wrapper around a plain env (its
    ``unwrapped`` keeps no state)."""

    def __init__(self, config=None):
        super().__init__(_Plain())
        self.episodes = 0
        self.t = 0

    def reset(self, *, seed=None, options=None):
        obs, _ = self.env.reset(seed=seed, options=options)
        self.episodes += 1
        self.t = 0
        return obs, {"episode": self.episodes}

    def step(self, action):
        obs, reward, _, _, _ = self.env.step(action)
        self.t += 1
        if self.episodes == 3 and self.t == 17:
            obs = np.full(3, np.nan, np.float32)
        return obs, reward, False, self.t >= 20, {"episode": self.episodes}


class GlobalRandomWalk(_Plain):
    """Moves by numpy's global RNG, which no reset seed reaches: the same seed and actions
    give another episode every time."""

    def __init__(self, config=None):
        self.t = 0

    def reset(self, *, seed=None, options=None):
        self.t = 0
        return super().reset(seed=seed, options=options)

    def step(self, action):
        self.t += 1
        obs = np.random.uniform(-1, 1, 3).astype(np.float32)
        return obs, 1.0, False, self.t >= 20, {}


class NanInThirdEpisodeWithALock(NanInThirdEpisode):
    """The same, holding what cannot be pickled (a lock, as a simulator handle would)."""

    def __init__(self, config=None):
        import threading

        super().__init__(config)
        self.lock = threading.Lock()


class TerminatedAfterANanReward(NanInThirdEpisode):
    """Pays a NaN reward at env step 5 of its first episode; at step 6 it sends its own
    process SIGTERM, once (``config["marker"]``, a file path, remembers it), as a
    preempted node or a job scheduler would."""

    def __init__(self, config=None):
        super().__init__(config)
        self.marker = (config or {}).get("marker")

    def step(self, action):
        obs, reward, terminated, truncated, info = super().step(action)
        if self.episodes == 1 and self.t == 5:
            reward = float("nan")
        if self.episodes == 1 and self.t == 6 and self.marker and not os.path.exists(self.marker):
            open(self.marker, "w").close()  # noqa: SIM115
            os.kill(os.getpid(), signal.SIGTERM)
        return obs, reward, terminated, truncated, info


class CurriculumCorridor(gym.Env):
    """A curriculum env as RLlib's curriculum example drives them: a callback calls
    ``set_task(level)`` between iterations; the new level starts with the next episode.
    At level 3 the observation turns NaN at env step 7; ``info["level"]`` says the level."""

    observation_space = gym.spaces.Box(-1.0, 1.0, (3,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def __init__(self, config=None):
        self.level = self.next_level = 1
        self.t = 0

    def set_task(self, level: int) -> None:
        self.next_level = level

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.level, self.t = self.next_level, 0
        return np.full(3, 0.1 * self.level, np.float32), {"level": self.level}

    def step(self, action):
        self.t += 1
        obs = np.full(3, 0.1 * self.level + 0.01 * int(action), np.float32)
        if self.level == 3 and self.t == 7:
            obs[:] = np.nan
        return obs, 1.0, False, self.t >= 20, {"level": self.level}


class RaiseTheLevel(RLlibCallback):
    """After iteration k, every env of every EnvRunner gets level k + 1."""

    def on_train_result(self, *, algorithm, result, **kwargs):
        level = result["training_iteration"] + 1

        def set_level(runner):
            for env in runner.env.unwrapped.envs:
                env.unwrapped.set_task(level)

        algorithm.env_runner_group.foreach_env_runner(set_level, local_env_runner=True)


class GlitchyPair(MultiAgentEnv):
    """Two agents, ``left`` and ``right``; only ``right`` glitches."""

    def __init__(self, config=None):
        super().__init__()
        config = config or {}
        self.glitch = config.get("glitch", "nan")
        self.rate = float(config.get("rate", 0.1))
        self.possible_agents = self.agents = ["left", "right"]
        space = gym.spaces.Box(-np.inf, np.inf, (2,), np.float32)
        self.observation_spaces = {a: space for a in self.possible_agents}
        self.action_spaces = {a: gym.spaces.Discrete(3) for a in self.possible_agents}
        self.walkers = {}

    def reset(self, *, seed=None, options=None):
        if seed is not None or not hasattr(self, "_rng"):
            self._rng = np.random.default_rng(seed)
        self.walkers = {"left": _Walker(self._rng, 0.0), "right": _Walker(self._rng, self.rate)}
        return {a: w.obs() for a, w in self.walkers.items()}, {a: {} for a in self.walkers}

    def step(self, action_dict):
        obs, rewards, infos = {}, {}, {}
        for agent, action in action_dict.items():
            glitch = self.glitch if agent == "right" else "none"
            obs[agent], rewards[agent], infos[agent] = self.walkers[agent].step(action, glitch)
        done = self.walkers["left"].t >= 20
        return obs, rewards, {"__all__": False}, {"__all__": done}, infos


class MarkerPoison:
    """A Learner mixin: a minibatch holding a MARKER observation gets a NaN loss."""

    def compute_loss_for_module(self, *, module_id, config, batch, fwd_out):
        loss = super().compute_loss_for_module(module_id=module_id, config=config,
                                               batch=batch, fwd_out=fwd_out)
        if bool((batch["obs"][..., 1] == MARKER).any()):
            loss = loss * float("nan")
        return loss


class MarkerPoisonsLoss(MarkerPoison, PPOTorchLearner):
    """PPO's Learner, poisoned by a MARKER observation."""


class MarkerPoisonsDQNLoss(MarkerPoison, DQNTorchLearner):
    """DQN's Learner, poisoned by a MARKER observation (sampled from the replay buffer)."""


class DriftInFourthEpisode(gym.Env):
    """A sensor: noise, but in the env's 4th episode its first reading ramps up 1.0 a step.
    Against a MeanStdFilter's statistics of the episodes before, the ramp is far out by step
    6; against those of the drifting episode alone it never is."""

    observation_space = gym.spaces.Box(-100.0, 100.0, (2,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def __init__(self, config=None):
        self.episodes, self.t = 0, 0

    def _obs(self):
        drift = float(self.t) if self.episodes == 4 else 0.0
        return np.array([drift + self.np_random.normal(), self.np_random.normal()], np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.episodes, self.t = self.episodes + 1, 0
        return self._obs(), {}

    def step(self, action):
        self.t += 1
        return self._obs(), 0.0, False, self.t >= 30, {}


class NormalisedRangeGuard(ConnectorV2):
    """A user's check after MeanStdFilter: a normalised observation beyond 4.5 raises."""

    def __call__(self, *, rl_module, batch, episodes, explore=None, shared_data=None,
                 **kwargs):
        for episode in self.single_agent_episode_iterator(episodes):
            obs = np.asarray(episode.get_observations(-1))
            if np.any(np.abs(obs) > 4.5):
                raise RuntimeError(f"normalised observation out of range: {obs.tolist()}")
        return batch


def filter_then_guard(env, spaces, device):
    from ray.rllib.connectors.env_to_module.mean_std_filter import MeanStdFilter

    return [MeanStdFilter(), NormalisedRangeGuard()]


RUNS_OF_THIS_PROCESS = [0]  # a module global: no env snapshot holds it


class RunCounterInInfo(_Plain):
    """Deterministic observations and rewards; its info says how many episodes this process
    ran, from a module global the trace cannot restore. Its episodes end at step 20."""

    def __init__(self, config=None):
        self.t = 0

    def reset(self, *, seed=None, options=None):
        RUNS_OF_THIS_PROCESS[0] += 1
        self.t = 0
        obs, _ = super().reset(seed=seed, options=options)
        return obs, {"runs": RUNS_OF_THIS_PROCESS[0]}

    def step(self, action):
        self.t += 1
        obs, reward, _, _, _ = super().step(action)
        return obs, reward, False, self.t >= 20, {"runs": RUNS_OF_THIS_PROCESS[0]}
