"""One view of an episode step for both API stacks, so callbacks hold no stack branches.

New stack: ``MultiAgentEpisode`` (per-step rewards and infos, ``custom_data``,
metrics through the EnvRunner's ``MetricsLogger``). Old stack: ``EpisodeV2``
(per-agent reward history, ``last_info_for``, ``user_data``, ``custom_metrics``
and ``hist_data``, which RLlib reduces to ``<name>_mean/_min/_max``).
"""

from __future__ import annotations

from typing import Any


def is_old_stack_episode(episode) -> bool:
    return hasattr(episode, "user_data") and hasattr(episode, "agent_rewards")


def episode_store(episode) -> dict:
    """A dict that lives as long as the episode (across new-stack chunks)."""
    return episode.user_data if is_old_stack_episode(episode) else episode.custom_data


def last_step(episode) -> tuple[dict[str, float], dict[str, dict]]:
    """(rewards, infos) per agent of the step just taken."""
    if is_old_stack_episode(episode):
        # EpisodeV2's per-agent reward history: stateless, so any number of
        # callbacks can ask in the same step and all get the same answer.
        history = episode._agent_reward_history
        rewards = {aid: float(history[aid][-1]) for aid in episode.get_agents()
                   if history.get(aid)}
        infos = {aid: episode.last_info_for(aid) or {} for aid in episode.get_agents()}
        return rewards, infos
    return dict(episode.get_rewards(-1)), dict(episode.get_infos(-1))


def log_episode_value(episode, metrics_logger, key: tuple[str, ...], value: float,
                      stats: tuple[str, ...] = ("mean", "min", "max")) -> None:
    """Log one per-episode value so the result has its mean/min/max per iteration.

    New stack: ``env_runners/<key...>_<stat>``; old stack: RLlib's
    ``custom_metrics/<key joined by '/'>_<stat>``.
    """
    if is_old_stack_episode(episode):
        episode.custom_metrics["/".join(key)] = value
        return
    for stat in stats:
        metrics_logger.log_value(key[:-1] + (f"{key[-1]}_{stat}",), value, reduce=stat)


def log_series(episode, metrics_logger, key: tuple[str, ...], values: list[Any],
               window: int) -> None:
    """Log a list of values as a histogram (bounded to ``window`` per iteration)."""
    if is_old_stack_episode(episode):
        episode.hist_data["/".join(key)] = list(values)[-window:]
        return
    for value in values:
        metrics_logger.log_value(key, value, reduce="item_series", window=window)


__all__ = ["episode_store", "is_old_stack_episode", "last_step", "log_episode_value",
           "log_series"]
