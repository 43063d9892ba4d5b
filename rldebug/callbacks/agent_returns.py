"""``AgentReturns``: per-agent episode returns (mean/min/max) and per-step reward histograms."""

from __future__ import annotations

from ray.rllib.callbacks.callbacks import RLlibCallback

from rldebug.callbacks._episodes import episode_store, last_step, log_episode_value, log_series

_KEY = "_rldebug_agent_returns"


class AgentReturns(RLlibCallback):
    """Log every agent's episode return and its per-step rewards.

    New stack result keys: ``env_runners/agent_returns/<agent>_mean|_min|_max``
    and the histogram ``env_runners/agent_step_rewards/<agent>``. Old stack:
    ``env_runners/custom_metrics/agent_returns/<agent>_mean|_min|_max`` and
    ``env_runners/hist_stats/agent_step_rewards/<agent>``.
    RLlib's own ``agent_episode_returns_mean`` is a smoothed mean only; this adds
    the spread, which is where a stuck agent shows first.
    """

    #: per-step rewards kept per agent and iteration for the histogram
    reward_sample_size = 1000

    def on_episode_step(self, *, episode, **kwargs) -> None:
        rewards, _ = last_step(episode)
        per_agent = episode_store(episode).setdefault(_KEY, {})
        for agent_id, reward in rewards.items():
            per_agent.setdefault(str(agent_id), []).append(float(reward))

    def on_episode_end(self, *, episode, metrics_logger=None, **kwargs) -> None:
        per_agent = episode_store(episode).pop(_KEY, {})
        for agent_id, rewards in per_agent.items():
            log_episode_value(episode, metrics_logger, ("agent_returns", agent_id), sum(rewards))
            log_series(episode, metrics_logger, ("agent_step_rewards", agent_id), rewards,
                       self.reward_sample_size)


__all__ = ["AgentReturns"]
