"""``AgentReturns``: per-agent episode returns (mean/min/max) and per-step reward histograms."""

from __future__ import annotations

from ray.rllib.callbacks.callbacks import RLlibCallback

from rldebug.shapes.episodes import (
    agent_returns,
    agent_rewards,
    finish_episode_means,
    log_episode_value,
    log_series,
    sub_env_failed,
)


class AgentReturns(RLlibCallback):
    """Log every agent's episode return and its per-step rewards.

    Works for single-agent envs (the agent is RLlib's ``default_agent``),
    multi-agent and turn-based envs, on both API stacks.
    New stack result keys: ``env_runners/agent_returns/<agent>_mean|_min|_max``
    and the histogram ``env_runners/agent_step_rewards/<agent>``. Old stack:
    ``env_runners/custom_metrics/agent_returns/<agent>_mean|_min|_max`` and
    ``env_runners/hist_stats/agent_step_rewards/<agent>``.
    RLlib's own ``agent_episode_returns_mean`` is a smoothed mean only; this adds
    the spread, which is where a stuck agent shows first.
    """

    #: per-step rewards kept per agent and iteration for the histogram
    reward_sample_size = 1000

    def on_episode_end(self, *, episode, prev_episode_chunks=None, metrics_logger=None,
                       **kwargs) -> None:
        if sub_env_failed(episode):
            return
        returns = agent_returns(episode, prev_episode_chunks)
        for agent_id, rewards in agent_rewards(episode, prev_episode_chunks).items():
            log_episode_value(episode, metrics_logger, ("agent_returns", agent_id),
                              returns.get(agent_id, sum(rewards)))
            log_series(episode, metrics_logger, ("agent_step_rewards", agent_id), rewards,
                       self.reward_sample_size)

    def on_train_result(self, *, result, **kwargs) -> None:
        finish_episode_means(result)  # each mean over the iteration's episodes


__all__ = ["AgentReturns"]
