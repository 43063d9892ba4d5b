"""Regenerate the memory-rule fixtures: two real RLlib runs, traced, then stripped to what
the RSS rule reads (time, pid, rss_mb, iteration, runner_index, source per record).

- ``sac_pendulum_control``: SAC on Pendulum-v1 as RLlib defaults it, local EnvRunner, 3
  iterations of at least 3 s. Nothing leaks: its RSS is flat, jumps ~125 MiB once at the
  first update (optimizers, the Learner's buffers), and is flat again.
- ``ppo_frames_kept``: PPO on CartPole with two remote EnvRunners, 6 iterations of 2000
  steps; the env keeps a 48 KiB frame of every step in a list it never clears (a leak:
  ~50 MiB per runner per iteration).

Both were made (2026-12-07) by an independent auditor's cases, with these settings, and
stripped by :func:`strip`. ::

    PYTHONPATH=. python tests/memory_traces/make_traces.py
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
        "evaluation")


class FramesKeptCartPole(gym.Env):
    """CartPole that 'records a video' of every step into a list it never clears."""

    def __init__(self, config=None):
        self.inner = gym.make("CartPole-v1")
        self.observation_space = self.inner.observation_space
        self.action_space = self.inner.action_space
        self.frames = []

    def _keep(self, obs):
        self.frames.append(np.full((64, 64, 3), obs[0], np.float32))  # 48 KiB

    def reset(self, *, seed=None, options=None):
        obs, info = self.inner.reset(seed=seed, options=options)
        self._keep(obs)
        return obs, info

    def step(self, action):
        obs, reward, terminated, truncated, info = self.inner.step(action)
        self._keep(obs)
        return obs, reward, terminated, truncated, info


def strip(trace: Path, into: Path) -> None:
    """Copy ``trace``'s record files into ``into`` with only the fields in :data:`KEPT`."""
    into.mkdir(parents=True, exist_ok=True)
    for path in sorted(trace.glob("*.jsonl")):
        rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        (into / path.name).write_text("".join(
            json.dumps({k: row[k] for k in KEPT if k in row}) + "\n" for row in rows))


def main() -> None:
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
    }
    for name, (config, iterations) in runs.items():
        with tempfile.TemporaryDirectory() as work:
            rldebug.run(config, logdir=work, max_iterations=iterations, trace="batches",
                        local=False, progress=False)
            shutil.rmtree(HERE / name, ignore_errors=True)
            strip(Path(work) / "trace", HERE / name / "trace")


if __name__ == "__main__":
    main()
