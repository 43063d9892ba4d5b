"""Envs for the memory and timing rules: one keeps 8 MiB of every episode it plays, one
does not; one is slow on the EnvRunner with worker_index 2 only."""

import time

import gymnasium as gym

# The RSS rule asks for a rise of at least 10 % of the process's size, and the process is
# the pytest worker that ran the in-process run, after the other test files it ran: at
# 2 MiB an episode (about 170 MiB over the judged iterations) a worker grown past ~1.7 GiB
# hid the leak (a fresh clone's `make test`, 2026-12-04).
KEPT_PER_EPISODE = 8 * 2**20


class CartPoleThatKeepsEpisodes(gym.Wrapper):
    """CartPole whose reset keeps 8 MiB in a list that is never emptied."""

    def __init__(self, config=None):
        super().__init__(gym.make("CartPole-v1"))
        self.kept = []

    def reset(self, **kwargs):
        self.kept.append(b"x" * KEPT_PER_EPISODE)  # KEPT-PER-EPISODE
        return super().reset(**kwargs)


class PlainCartPole(gym.Wrapper):
    """The same wrapper without the list: the control."""

    def __init__(self, config=None):
        super().__init__(gym.make("CartPole-v1"))


class CartPoleSlowOnRunner2(gym.Wrapper):
    """CartPole that sleeps ``delay_s`` (default 10 ms) per step on the EnvRunner with
    worker_index 2, and ``reset_delay_s`` (default 0) per reset on worker_index 1."""

    def __init__(self, config=None):
        super().__init__(gym.make("CartPole-v1"))
        delay = float((config or {}).get("delay_s", 0.010))
        self.delay = delay if getattr(config, "worker_index", 0) == 2 else 0.0
        reset_delay = float((config or {}).get("reset_delay_s", 0.0))
        self.reset_delay = reset_delay if getattr(config, "worker_index", 0) == 1 else 0.0

    def reset(self, **kwargs):
        if self.reset_delay:
            time.sleep(self.reset_delay)
        return super().reset(**kwargs)

    def step(self, action):
        if self.delay:
            time.sleep(self.delay)
        return super().step(action)


class PendulumThatKeepsEpisodes(gym.Wrapper):
    """Pendulum (200-step episodes) whose reset keeps 8 MiB, for the first
    ``kept_episodes`` episodes (default: all of them)."""

    def __init__(self, config=None):
        super().__init__(gym.make("Pendulum-v1"))
        self.kept_episodes = (config or {}).get("kept_episodes")
        self.kept = []

    def reset(self, **kwargs):
        if self.kept_episodes is None or len(self.kept) < self.kept_episodes:
            self.kept.append(b"x" * KEPT_PER_EPISODE)  # KEPT-PER-LONG-EPISODE
        return super().reset(**kwargs)
