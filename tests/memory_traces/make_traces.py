"""Regenerate the memory-rule fixtures: real RLlib runs, traced, then stripped to what the
RSS rules read (time, pid, rss_mb, iteration, runner_index, source per record; a sample's
env steps and observation statistics, which say how fast a replay buffer fills).

- ``sac_pendulum_control``: SAC on Pendulum-v1 as RLlib defaults it, local EnvRunner, 3
  iterations of at least 3 s. Nothing leaks: its RSS is flat, jumps ~125 MiB once at the
  first update (optimizers, the Learner's buffers), and is flat again.
- ``ppo_frames_kept``: PPO on CartPole with two remote EnvRunners, 6 iterations of 2000
  steps; the env keeps a 48 KiB frame of every step in a list it never clears (a leak:
  ~50 MiB per runner per iteration).

Both were made (2026-12-07) by an independent auditor's cases, with these settings, and
stripped by :func:`strip`. Two more, after a second audit's DQN (16 KiB observations) had
its replay buffer filling called a leak:

- ``dqn_buffer_filling``: DQN with a local EnvRunner on CartPole whose observation is
  padded to 16384 float32s (64 KiB a step), capacity 50000: the driver grows as its
  buffer fills, nothing leaks.
- ``dqn_dict_buffer_filling``: the same DQN with the padded observation and CartPole's
  own as a Dict (:class:`PaddedDictCartPole`) that a ``FlattenObservations`` connector
  writes back into the episodes flattened, as float32 (65,552 bytes a step): what the
  trace records and the buffer keeps.
- ``dqn_frames_kept``: the same DQN on :class:`FramesKeptCartPole` (4-float
  observations) keeping 128x128x3 frames: the env in the driver keeps 192 KiB a step,
  far more than the buffer takes in.

::

    PYTHONPATH=. python tests/memory_traces/make_traces.py [NAME ...]
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import gymnasium as gym
import numpy as np

HERE = Path(__file__).resolve().parent
KEPT = ("time", "pid", "host", "source", "rss_mb", "iteration", "runner_index", "runner",
        "evaluation", "env_steps", "obs")


class FramesKeptCartPole(gym.Env):
    """CartPole that 'records a video' of every step into a list it never clears."""

    def __init__(self, config=None):
        self.inner = gym.make("CartPole-v1")
        self.observation_space = self.inner.observation_space
        self.action_space = self.inner.action_space
        self.side = int((config or {}).get("side", 64))  # 64: 48 KiB a frame
        self.frames = []

    def _keep(self, obs):
        self.frames.append(np.full((self.side, self.side, 3), obs[0], np.float32))

    def reset(self, *, seed=None, options=None):
        obs, info = self.inner.reset(seed=seed, options=options)
        self._keep(obs)
        return obs, info

    def step(self, action):
        obs, reward, terminated, truncated, info = self.inner.step(action)
        self._keep(obs)
        return obs, reward, terminated, truncated, info


class PaddedCartPole(gym.Env):
    """CartPole whose observation is padded with zeros to 16384 float32s (64 KiB)."""

    SIZE = 16384

    def __init__(self, config=None):
        self.inner = gym.make("CartPole-v1")
        low = np.full(self.SIZE, -np.inf, np.float32)
        self.observation_space = gym.spaces.Box(low, -low, dtype=np.float32)
        self.action_space = self.inner.action_space

    def _padded(self, obs):
        return np.concatenate([obs, np.zeros(self.SIZE - len(obs), np.float32)])

    def reset(self, *, seed=None, options=None):
        obs, info = self.inner.reset(seed=seed, options=options)
        return self._padded(obs), info

    def step(self, action):
        obs, reward, terminated, truncated, info = self.inner.step(action)
        return self._padded(obs), reward, terminated, truncated, info


class PaddedDictCartPole(PaddedCartPole):
    """:class:`PaddedCartPole` as a Dict observation: the 16384 padded float32s (64 KiB)
    and CartPole's own 4 as float64 (32 bytes)."""

    def __init__(self, config=None):
        super().__init__(config)
        low = np.full(4, -np.inf)
        self.observation_space = gym.spaces.Dict({
            "padded": self.observation_space, "cart": gym.spaces.Box(low, -low, dtype=np.float64)})

    def _padded(self, obs):
        return {"padded": super()._padded(obs), "cart": obs.astype(np.float64)}


def _dqn(env, env_config=None):
    from ray.rllib.algorithms.dqn import DQNConfig
    from ray.rllib.connectors.env_to_module import FlattenObservations

    flatten = (lambda env, spaces, device: FlattenObservations()) \
        if env is PaddedDictCartPole else None
    return (DQNConfig().environment(env, env_config=env_config or {})
            .env_runners(num_env_runners=0, env_to_module_connector=flatten)
            .training(replay_buffer_config={"type": "PrioritizedEpisodeReplayBuffer",
                                            "capacity": 50000},
                      num_steps_sampled_before_learning_starts=200)
            .rl_module(model_config={"fcnet_hiddens": [32]})
            .reporting(min_sample_timesteps_per_iteration=300).debugging(seed=5))


def strip(trace: Path, into: Path) -> None:
    """Copy ``trace``'s record files into ``into`` with only the fields in :data:`KEPT`."""
    into.mkdir(parents=True, exist_ok=True)
    for path in sorted(trace.glob("*.jsonl")):
        rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        (into / path.name).write_text("".join(
            json.dumps({k: row[k] for k in KEPT if k in row}) + "\n" for row in rows))


def main(names=()) -> None:
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.algorithms.sac import SACConfig

    import rldebug

    runs = {
        "sac_pendulum_control": (SACConfig().environment("Pendulum-v1")
                                 .env_runners(num_env_runners=0)
                                 .training(num_steps_sampled_before_learning_starts=500)
                                 .reporting(min_time_s_per_iteration=3)
                                 .debugging(seed=3), 3),
        "ppo_frames_kept": (PPOConfig().environment(FramesKeptCartPole)
                            .env_runners(num_env_runners=2)
                            .training(train_batch_size=2000, minibatch_size=250, num_epochs=2)
                            .debugging(seed=11), 6),
        "dqn_buffer_filling": (_dqn(PaddedCartPole), 8),
        "dqn_dict_buffer_filling": (_dqn(PaddedDictCartPole), 8),
        "dqn_frames_kept": (_dqn(FramesKeptCartPole, {"side": 128}), 8),
    }
    for name, (config, iterations) in runs.items():
        if names and name not in names:
            continue
        with tempfile.TemporaryDirectory() as work:
            rldebug.run(config, logdir=work, max_iterations=iterations, trace="batches",
                        local=False, progress=False)
            shutil.rmtree(HERE / name, ignore_errors=True)
            strip(Path(work) / "trace", HERE / name / "trace")


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
