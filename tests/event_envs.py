"""A single-agent env that reports events in its infos (for InfoEvents and replay tests)."""

import time

import gymnasium as gym
import numpy as np


class LeftRightWalk(gym.Env):
    """Walk on 0..4 from 2; reaching an end ends the episode. Infos flag ``at_edge``."""

    INFO_EVENTS = ("at_edge",)
    ACTION_NAMES = ("left", "right")
    metadata = {"render_modes": ("rgb_array",)}

    def __init__(self, config=None):
        self.observation_space = gym.spaces.Box(0.0, 4.0, (1,), np.float32)
        self.action_space = gym.spaces.Discrete(2)
        self.position = 2
        self.steps = 0
        self.render_mode = "rgb_array"

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.position, self.steps = 2, 0
        return np.array([self.position], np.float32), {"at_edge": False}

    def step(self, action):
        self.position += 1 if int(action) == 1 else -1
        self.steps += 1
        at_edge = self.position in (0, 4)
        reward = 1.0 if self.position == 4 else 0.0
        obs = np.array([self.position], np.float32)
        return obs, reward, at_edge, self.steps >= 10, {"at_edge": at_edge}

    def render(self):
        frame = np.zeros((8, 40, 3), np.uint8)
        frame[:, self.position * 8:(self.position + 1) * 8] = 255
        return frame


class CostlyWalk(LeftRightWalk):
    """LeftRightWalk with a step cost, reporting its reward's parts as ``reward_terms``
    (``terms_off_by`` > 0 plants a reward part the terms do not name)."""

    def __init__(self, config=None):
        super().__init__(config)
        self.terms_off_by = float((config or {}).get("terms_off_by", 0.0))

    def step(self, action):
        obs, goal, terminated, truncated, info = super().step(action)
        terms = {"goal": goal, "step_cost": -0.1}
        info["reward_terms"] = terms
        return obs, goal - 0.1 + self.terms_off_by, terminated, truncated, info


class WalkThatCrashes(LeftRightWalk):
    """LeftRightWalk whose ``step`` raises on its ``crash_at``-th step (the env bug a
    post-mortem attach stops at), in every EnvRunner or only in ``crash_runner``;
    ``steps_taken`` is a local of the raising frame."""

    def __init__(self, config=None):
        super().__init__(config)
        self.crash_at = int((config or {}).get("crash_at", 7))
        runner = (config or {}).get("crash_runner")
        self.crashes = runner is None or getattr(config, "worker_index", 0) == runner
        self.total_steps = 0

    def step(self, action):
        self.total_steps += 1
        steps_taken = self.total_steps
        if self.crashes and steps_taken == self.crash_at:
            raise ValueError(f"walked off the map after {steps_taken} steps")  # CRASH-LINE
        return super().step(action)


class WalkThatBlocks(LeftRightWalk):
    """LeftRightWalk whose ``step`` blocks for ``block_s`` seconds on its ``block_at``-th step,
    in the EnvRunner ``block_runner`` only (a stall for the trace's stall watch to find)."""

    def __init__(self, config=None):
        super().__init__(config)
        config = config or {}
        self.block_at = int(config.get("block_at", 150))
        self.block_s = float(config.get("block_s", 10.0))
        self.blocks = getattr(config, "worker_index", 0) == int(config.get("block_runner", 1))
        self.total_steps = 0
        if config.get("own_tmpdir") and getattr(config, "worker_index", 0) > 0:
            # This EnvRunner's files go where the driver does not look, as on another
            # machine: no shared filesystem (set before rldebug's trace arms it).
            import tempfile

            tempfile.tempdir = str(config["own_tmpdir"])

    def step(self, action):
        self.total_steps += 1
        if self.blocks and self.total_steps == self.block_at:
            time.sleep(self.block_s)  # BLOCK-LINE
        return super().step(action)
