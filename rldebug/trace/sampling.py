"""What each EnvRunner (old stack: RolloutWorker) sampled: one record per ``sample()`` call.

Runs as an RLlibCallback inside every EnvRunner, local or remote; per-agent
episode returns are collected in ``on_episode_end`` (whole episodes, across
chunks) and written with the next sample record.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from rldebug.trace.stats import (
    describe,
    first_bad_row,
    first_non_finite,
    histogram,
    numeric_array,
    to_numpy,
)


def runner_identity(runner) -> dict:
    index = getattr(runner, "worker_index", 0) or 0
    config = getattr(runner, "config", None)
    return {"runner_index": int(index), "runner": "local" if index == 0 else "remote",
            "evaluation": bool(getattr(config, "in_evaluation", False))}


def episode_returns_new_stack(episode, prev_episode_chunks) -> dict[str, float]:
    chunks = list(prev_episode_chunks or []) + [episode]
    returns: dict[str, float] = defaultdict(float)
    for chunk in chunks:
        for agent_id, agent_episode in chunk.agent_episodes.items():
            returns[str(agent_id)] += float(agent_episode.get_return())
    return dict(returns)


def episode_returns_old_stack(episode) -> dict[str, float]:
    returns: dict[str, float] = defaultdict(float)
    for (agent_id, _policy), total in episode.agent_rewards.items():
        returns[str(agent_id)] += float(total)
    return dict(returns)


def _column_stats(out: dict, key: str, obs, actions, rewards, level: str, events: list,
                  where: dict) -> None:
    """Add per-column stats for one agent/module, and any non-finite values, to ``out``."""
    rewards = to_numpy(rewards)
    out["reward_sum"][key] = float(np.nansum(rewards))
    if level == "summary":
        return
    out["rewards"][key] = describe(rewards)
    out["obs"][key] = describe(obs)
    bad = first_bad_row(obs)
    if bad is not None:
        events.append({**where, "column": "obs", "step_in_batch": bad})
    out["actions"][key] = histogram(actions)


def sample_record_new_stack(episodes: list, level: str) -> tuple[dict, list]:
    """Counts and column stats of a list of MultiAgentEpisode chunks."""
    record = {"env_steps": 0, "episodes_started": 0, "episodes_finished": 0,
              "agent_steps": defaultdict(int), "module_steps": defaultdict(int),
              "terminated": 0, "truncated": 0, "reward_sum": {}, "rewards": {}, "obs": {},
              "actions": {}}
    per_agent: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    events: list = []
    for episode in episodes:
        record["env_steps"] += len(episode)
        record["episodes_started"] += int(episode.env_t_started == 0)
        if episode.is_done:
            record["episodes_finished"] += 1
            record["terminated"] += int(episode.is_terminated)
            record["truncated"] += int(episode.is_truncated)
        for agent_id, agent_episode in episode.agent_episodes.items():
            steps = len(agent_episode)
            record["agent_steps"][str(agent_id)] += steps
            record["module_steps"][str(episode.module_for(agent_id))] += steps
            if steps == 0:
                continue
            columns = per_agent[str(agent_id)]
            rewards = to_numpy(agent_episode.get_rewards())
            columns["rewards"].append(rewards)
            bad = first_non_finite(rewards)
            if bad is not None:
                # Reward i of a chunk comes from env step t_started + i + 1.
                events.append({"agent_id": str(agent_id), "column": "rewards",
                               "episode_id": episode.id_, "value": float(rewards[bad]),
                               "timestep": int(agent_episode.t_started) + bad + 1})
            if level != "summary":
                obs = numeric_array(agent_episode.get_observations())
                if obs is not None:  # Dict/Tuple observations have no single array
                    columns["obs"].append(obs[:steps])
                actions = numeric_array(agent_episode.get_actions())
                if actions is not None:
                    columns["actions"].append(actions)
    for agent_id, columns in per_agent.items():
        joined = {k: np.concatenate(v) for k, v in columns.items()}
        _column_stats(record, agent_id, joined.get("obs", []), joined.get("actions", []),
                      joined["rewards"], level, events, {"agent_id": agent_id})
    if level == "full":
        record["raw_rows"] = _raw_rows_new_stack(episodes)
    return record, events


def _raw_rows_new_stack(episodes, rows: int = 5) -> dict:
    from rldebug.trace.writer import RAW_ROWS

    raw: dict[str, list] = {}
    for episode in episodes:
        for agent_id, agent_episode in episode.agent_episodes.items():
            kept = raw.setdefault(str(agent_id), [])
            for t in range(min(len(agent_episode), RAW_ROWS - len(kept))):
                kept.append({"obs": to_numpy(agent_episode.get_observations(t)).tolist(),
                             "action": to_numpy(agent_episode.get_actions(t)).tolist(),
                             "reward": float(agent_episode.get_rewards(t))})
    return raw


def sample_record_old_stack(samples, level: str) -> tuple[dict, list]:
    """Counts and column stats of an old-stack SampleBatch or MultiAgentBatch."""
    from ray.rllib.policy.sample_batch import DEFAULT_POLICY_ID, MultiAgentBatch

    batches = (samples.policy_batches if isinstance(samples, MultiAgentBatch)
               else {DEFAULT_POLICY_ID: samples})
    env_steps = samples.env_steps() if isinstance(samples, MultiAgentBatch) else samples.count
    record = {"env_steps": int(env_steps), "episodes_started": 0, "episodes_finished": 0,
              "agent_steps": {}, "module_steps": {}, "terminated": 0, "truncated": 0,
              "reward_sum": {}, "rewards": {}, "obs": {}, "actions": {}}
    events: list = []
    started, finished = set(), set()
    for policy_id, batch in batches.items():
        record["module_steps"][str(policy_id)] = int(batch.count)
        if "agent_index" in batch:
            for index, count in zip(*np.unique(batch["agent_index"], return_counts=True)):
                key = f"agent_index_{int(index)}"
                record["agent_steps"][key] = record["agent_steps"].get(key, 0) + int(count)
        episode_ids = to_numpy(batch["eps_id"])
        started.update(episode_ids[to_numpy(batch["t"]) == 0].tolist())
        done = to_numpy(batch["terminateds"]) | to_numpy(batch["truncateds"])
        finished.update(episode_ids[done].tolist())
        record["terminated"] += int(to_numpy(batch["terminateds"]).sum())
        record["truncated"] += int(to_numpy(batch["truncateds"]).sum())
        bad = first_non_finite(batch["rewards"])
        if bad is not None:
            events.append({"module_id": str(policy_id), "column": "rewards",
                           "episode_id": int(episode_ids[bad]), "agent_index":
                           int(batch["agent_index"][bad]) if "agent_index" in batch else None,
                           "timestep": int(batch["t"][bad]) + 1,
                           "value": float(batch["rewards"][bad])})
        _column_stats(record, str(policy_id), batch["obs"], batch["actions"], batch["rewards"],
                      level, events, {"module_id": str(policy_id)})
    # Both agents of an arena step end together: count episodes, not agent ends.
    record["episodes_started"] = len(started)
    record["episodes_finished"] = len(finished)
    if level == "full":
        record["raw_rows"] = {str(pid): [{"obs": to_numpy(b["obs"][i]).tolist(),
                                          "action": to_numpy(b["actions"][i]).tolist(),
                                          "reward": float(b["rewards"][i])}
                                         for i in range(min(5, b.count))]
                              for pid, b in batches.items()}
    return record, events


__all__ = ["episode_returns_new_stack", "episode_returns_old_stack", "runner_identity",
           "sample_record_new_stack", "sample_record_old_stack"]
