"""What each EnvRunner (old stack: RolloutWorker) sampled: one record per ``sample()`` call.

Called from the trace's RLlibCallback inside every EnvRunner, local or remote;
episodes are read through :mod:`rldebug.shapes.episodes`, so single-agent,
multi-agent and turn-based episodes give the same record.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from rldebug.shapes.episodes import (
    agent_chunks,
    env_steps,
    env_t,
    episode_id,
    starts_at_reset,
)
from rldebug.shapes.outputs import to_numpy
from rldebug.tracing.stats import (
    describe,
    first_bad_row,
    first_non_finite,
    histogram,
    numeric_array,
)
from rldebug.tracing.writer import RAW_ROWS


def runner_identity(runner) -> dict:
    index = getattr(runner, "worker_index", 0) or 0
    config = getattr(runner, "config", None)
    return {"runner_index": int(index), "runner": "local" if index == 0 else "remote",
            "evaluation": bool(getattr(config, "in_evaluation", False))}


def _column_stats(out: dict, key: str, obs, actions, rewards, level: str, events: list,
                  where: dict) -> None:
    """Add per-column stats for one agent/module, and any non-finite values, to ``out``."""
    rewards = to_numpy(rewards)
    out["reward_sum"][key] = float(np.sum(rewards))  # NaN when one is: no hidden NaN
    if level == "summary":
        return
    out["rewards"][key] = describe(rewards)
    out["obs"][key] = describe(obs)
    bad = first_bad_row(obs)
    if bad is not None:
        events.append({**where, "column": "obs", "step_in_batch": bad})
    out["actions"][key] = histogram(actions)


def _agents_column_stats(record: dict, per_agent: dict, level: str, events: list) -> None:
    """:func:`_column_stats` per agent of ``per_agent`` (agent -> column -> arrays of the
    call's chunks or batches, joined here), keyed by agent on both stacks."""
    for agent_id, columns in per_agent.items():
        joined = {k: np.concatenate(v) for k, v in columns.items()}
        _column_stats(record, agent_id, joined.get("obs", []), joined.get("actions", []),
                      joined["rewards"], level, events, {"agent_id": agent_id})


def sample_record_new_stack(episodes: list, level: str) -> tuple[dict, list]:
    """Counts and column stats of the episode chunks one ``sample()`` call returned.

    Single-agent chunks count as one agent, RLlib's ``default_agent``; in
    multi-agent chunks every agent counts its own steps (a turn-based agent has
    fewer than the env).
    """
    record = {"env_steps": 0, "episodes_started": 0, "episodes_finished": 0,
              "agent_steps": defaultdict(int), "module_steps": defaultdict(int),
              "terminated": 0, "truncated": 0, "truncated_len_min": None,
              "truncated_len_max": None, "reward_sum": {}, "rewards": {}, "obs": {},
              "actions": {}}
    per_agent: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    events: list = []
    for episode in episodes:
        record["env_steps"] += env_steps(episode)
        record["episodes_started"] += int(starts_at_reset(episode))
        if episode.is_done:
            record["episodes_finished"] += 1
            record["terminated"] += int(episode.is_terminated)
            record["truncated"] += int(episode.is_truncated)
            if episode.is_truncated:  # a time limit truncates at one length
                length = env_t(episode)
                record["truncated_len_min"] = min(record["truncated_len_min"] or length,
                                                  length)
                record["truncated_len_max"] = max(record["truncated_len_max"] or 0, length)
        for agent in agent_chunks(episode):
            record["agent_steps"][agent.agent_id] += agent.steps
            record["module_steps"][agent.module_id] += agent.steps
            if agent.steps == 0:
                continue
            columns = per_agent[agent.agent_id]
            rewards = to_numpy(agent.episode.get_rewards())
            columns["rewards"].append(rewards)
            bad = first_non_finite(rewards)
            if bad is not None:
                # Reward i of a chunk comes from the agent's step t_started + i + 1.
                events.append({"agent_id": agent.agent_id, "column": "rewards",
                               "episode_id": episode_id(episode), "value": float(rewards[bad]),
                               "timestep": agent.first_timestep + bad + 1})
            if level != "summary":
                obs = numeric_array(agent.episode.get_observations())
                if obs is not None:  # Dict/Tuple observations have no single array
                    columns["obs"].append(obs[:agent.steps])
                actions = numeric_array(agent.episode.get_actions())
                if actions is not None:
                    columns["actions"].append(actions)
    _agents_column_stats(record, per_agent, level, events)
    if level == "full":
        record["raw_rows"] = _raw_rows_new_stack(episodes)
    return record, events


def _raw_rows_new_stack(episodes) -> dict:
    raw: dict[str, list] = {}
    for episode in episodes:
        for agent in agent_chunks(episode):
            kept = raw.setdefault(agent.agent_id, [])
            for t in range(min(agent.steps, RAW_ROWS - len(kept))):
                kept.append({"obs": to_numpy(agent.episode.get_observations(t)).tolist(),
                             "action": to_numpy(agent.episode.get_actions(t)).tolist(),
                             "reward": float(agent.episode.get_rewards(t))})
    return raw


def sample_record_old_stack(samples, level: str, agent_names: dict | None = None,
                            ended: dict | None = None) -> tuple[dict, list]:
    """Counts and column stats of an old-stack SampleBatch or MultiAgentBatch, per agent
    as on the new stack (an agent's rows may come from several policies' batches).

    :param agent_names: episode id -> {agent_index: agent id}
        (:func:`~rldebug.shapes.episodes.old_stack_agent_indices`), to name each row's
        agent; without it, ``agent_index_<n>`` (a batch without ``agent_index``: its
        policy id).
    :param ended: episode id -> ("terminated" / "truncated", length in env steps) of the
        episodes that ended in this sample (seen in ``on_episode_end``); without it, an
        episode counts as ended where one of its agents' rows is done, which an agent that
        ends early is not.
    """
    from ray.rllib.policy.sample_batch import DEFAULT_POLICY_ID, MultiAgentBatch

    batches = (samples.policy_batches if isinstance(samples, MultiAgentBatch)
               else {DEFAULT_POLICY_ID: samples})
    env_steps = samples.env_steps() if isinstance(samples, MultiAgentBatch) else samples.count
    record = {"env_steps": int(env_steps), "episodes_started": 0, "episodes_finished": 0,
              "agent_steps": {}, "module_steps": {}, "terminated": 0, "truncated": 0,
              "truncated_len_min": None, "truncated_len_max": None,
              "reward_sum": {}, "rewards": {}, "obs": {}, "actions": {}}
    events: list = []
    started, finished = set(), set()
    per_agent: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    raw: dict[str, list] = {}
    for policy_id, batch in batches.items():
        record["module_steps"][str(policy_id)] = int(batch.count)
        episode_ids = to_numpy(batch["eps_id"])
        agents = _old_stack_row_agents(batch, episode_ids, str(policy_id), agent_names)
        for key in agents:
            record["agent_steps"][key] = record["agent_steps"].get(key, 0) + 1
        started.update(episode_ids[to_numpy(batch["t"]) == 0].tolist())
        done = to_numpy(batch["terminateds"]) | to_numpy(batch["truncateds"])
        finished.update(episode_ids[done].tolist())
        record["terminated"] += int(to_numpy(batch["terminateds"]).sum())
        record["truncated"] += int(to_numpy(batch["truncateds"]).sum())
        rewards = to_numpy(batch["rewards"])
        bad = first_non_finite(rewards)
        if bad is not None:
            events.append({"agent_id": agents[bad], "module_id": str(policy_id),
                           "column": "rewards", "episode_id": int(episode_ids[bad]),
                           "agent_index": int(batch["agent_index"][bad])
                           if "agent_index" in batch else None,
                           "timestep": int(batch["t"][bad]) + 1,
                           "value": float(rewards[bad])})
        rows_of = defaultdict(list)
        for row, key in enumerate(agents):
            rows_of[key].append(row)
        for key, rows in rows_of.items():
            columns = per_agent[key]
            columns["rewards"].append(rewards[rows])
            if level != "summary":
                columns["obs"].append(to_numpy(batch["obs"])[rows])
                columns["actions"].append(to_numpy(batch["actions"])[rows])
            if level == "full":
                kept = raw.setdefault(key, [])
                kept.extend({"obs": to_numpy(batch["obs"][i]).tolist(),
                             "action": to_numpy(batch["actions"][i]).tolist(),
                             "reward": float(rewards[i])}
                            for i in rows[:RAW_ROWS - len(kept)])
    _agents_column_stats(record, per_agent, level, events)
    record["episodes_started"] = len(started)
    record["episodes_finished"] = len(finished)
    if ended is not None:  # count episodes, not agent ends
        record["episodes_finished"] = len(ended)
        record["terminated"] = sum(how == "terminated" for how, _ in ended.values())
        record["truncated"] = sum(how == "truncated" for how, _ in ended.values())
        lengths = [length for how, length in ended.values() if how == "truncated"]
        if lengths:  # a time limit truncates at one length
            record["truncated_len_min"], record["truncated_len_max"] = min(lengths), max(lengths)
    if level == "full":
        record["raw_rows"] = raw
    return record, events


def _old_stack_row_agents(batch, episode_ids, policy_id: str,
                          agent_names: dict | None) -> list[str]:
    """The agent id of each row of one policy's old-stack batch."""
    if "agent_index" not in batch:
        return [policy_id] * int(batch.count)
    return [(agent_names or {}).get(episode, {}).get(int(index), f"agent_index_{int(index)}")
            for episode, index in zip(episode_ids.tolist(),
                                      to_numpy(batch["agent_index"]).tolist())]


__all__ = ["runner_identity", "sample_record_new_stack", "sample_record_old_stack"]
