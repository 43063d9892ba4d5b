"""A wrapper that plants a time or memory problem in any Gymnasium env, in one EnvRunner.

``env_config`` says which env (``"env"``: a registered id) and what to plant where; each
plant acts only in the EnvRunner whose ``worker_index`` it names, as a real problem on one
node or in one simulator instance would:

- ``slow_runner``/``delay_s``: every ``step()`` sleeps ``delay_s`` (a slower simulator);
- ``leak_runner``/``leak_mb``: every ``reset()`` keeps ``leak_mb`` MiB in a list that is never
  emptied (a per-episode cache without a bound);
- ``block_runner``/``block_at``/``block_s``: the ``block_at``-th ``step()`` blocks for
  ``block_s`` seconds (a hung call into an external process);
- ``crash_runner``/``crash_at``: the ``crash_at``-th ``step()`` raises (a restarted EnvRunner
  is a new process: it raises again at its own ``crash_at``-th step).
"""

from __future__ import annotations

import time

import gymnasium as gym


class PlantedEnv(gym.Wrapper):
    def __init__(self, config=None):
        config = config or {}
        super().__init__(gym.make(config.get("env", "CartPole-v1")))
        index = getattr(config, "worker_index", 0)
        self.delay_s = float(config.get("delay_s", 0.0)) \
            if index == config.get("slow_runner") else 0.0
        self.leak_bytes = int(float(config.get("leak_mb", 0.0)) * 2**20) \
            if index == config.get("leak_runner") else 0
        self.block_at = int(config.get("block_at", 0)) \
            if index == config.get("block_runner") else 0
        self.block_s = float(config.get("block_s", 0.0))
        self.crash_at = int(config.get("crash_at", 0)) \
            if index == config.get("crash_runner") else 0
        self.kept: list[bytes] = []
        self.steps = 0

    def reset(self, **kwargs):
        if self.leak_bytes:
            self.kept.append(b"x" * self.leak_bytes)  # PLANTED-LEAK
        return super().reset(**kwargs)

    def step(self, action):
        self.steps += 1
        if self.delay_s:
            time.sleep(self.delay_s)  # PLANTED-DELAY
        if self.block_at and self.steps == self.block_at:
            time.sleep(self.block_s)  # PLANTED-BLOCK
        if self.crash_at and self.steps == self.crash_at:
            raise RuntimeError("planted: the simulator lost its connection")  # PLANTED-CRASH
        return super().step(action)


def marked_line(marker: str) -> int:
    """The line of this file that carries ``marker`` (where a finding should point)."""
    with open(__file__) as f:
        return next(n for n, line in enumerate(f, start=1) if f"# {marker}" in line)
