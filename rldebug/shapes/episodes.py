"""One reading of RLlib's episodes, whichever kind a callback is handed.

RLlib 2.60 hands callbacks three kinds of episode:

=================  ========================================  ==========================================
kind               where                                     what differs
=================  ========================================  ==========================================
``single``         new stack, ``SingleAgentEnvRunner``       one agent (RLlib's ``default_agent``),
                   (``SingleAgentEpisode``)                  scalar ``get_rewards(-1)``, ``t_started``
``multi``          new stack, ``MultiAgentEnvRunner``        per-agent dicts holding only the agents of
                   (``MultiAgentEpisode``)                   that env step (turn-based envs, agents that
                                                             join late or leave early), ``env_t_started``
``old``            old stack, ``RolloutWorker``              per-agent reward history, ``last_info_for``,
                   (``EpisodeV2``)                           ``user_data``, ``custom_metrics``/``hist_data``
=================  ========================================  ==========================================

Every tool reads episodes through these functions; none branches on the kind itself.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rldebug.usage import UsageTypeError

SINGLE, MULTI, OLD = "single", "multi", "old"
DEFAULT_AGENT_ID = "default_agent"  # ray.rllib.core.DEFAULT_AGENT_ID
DEFAULT_MODULE_ID = "default_policy"  # ray.rllib.core.DEFAULT_MODULE_ID
OLD_STACK_SINGLE_AGENT = "agent0"  # ray.rllib.env.base_env._DUMMY_AGENT_ID


@dataclass
class AgentStep:
    """One agent's part of the env step an episode has just recorded.

    Fields are None when the agent had no such item in that step. An agent has a
    reward, an observation and an info when the step completed one of its own steps (it
    got an observation): the reward as RLlib records it, what the env paid it since its
    last observation. In a turn-based env the agent that moved has its action, and the
    one to move next its observation, info and the reward of its previous move with what
    it was paid while it waited.
    """

    obs: Any = None
    action: Any = None
    reward: float | None = None
    info: dict = field(default_factory=dict)


@dataclass
class AgentChunk:
    """The steps one agent has in one episode chunk, as a ``SingleAgentEpisode`` view."""

    agent_id: str
    module_id: str
    episode: Any  # SingleAgentEpisode

    @property
    def steps(self) -> int:
        return len(self.episode)

    @property
    def first_timestep(self) -> int:
        """The agent's own timestep of its first step in this chunk."""
        return int(self.episode.t_started)


def kind_of(episode) -> str:
    """``"single"``, ``"multi"`` or ``"old"`` (see the module docstring)."""
    if hasattr(episode, "agent_episodes"):
        return MULTI
    if hasattr(episode, "user_data") and hasattr(episode, "agent_rewards"):
        return OLD
    if hasattr(episode, "t_started") and hasattr(episode, "get_rewards"):
        return SINGLE
    raise UsageTypeError(
        f"Not an RLlib episode: {type(episode).__name__}. rldebug reads SingleAgentEpisode, "
        "MultiAgentEpisode (new API stack) and EpisodeV2 (old API stack).")


def sub_env_failed(episode) -> bool:
    """Whether ``on_episode_end`` was handed the exception of a failed sub-env instead of
    an episode: with ``fault_tolerance(restart_failed_sub_environments=True)`` the old
    stack's EnvRunnerV2 ends that episode so (``end_episode(env_id, episode_or_exception)``)
    and restarts the sub-env. The episode has no return; the env's exception itself is
    what a trace records."""
    return isinstance(episode, BaseException)


def is_old_stack(episode) -> bool:
    return kind_of(episode) == OLD


def store(episode) -> dict:
    """A dict that lives as long as the episode (new stack: across its chunks)."""
    return episode.user_data if kind_of(episode) == OLD else episode.custom_data


def episode_id(episode) -> str:
    return str(episode.episode_id if kind_of(episode) == OLD else episode.id_)


def env_steps(episode) -> int:
    """Env steps in this episode (new stack: in this chunk)."""
    return int(episode.length if kind_of(episode) == OLD else len(episode))


def env_t(episode) -> int:
    """Env steps since the episode's reset, over all its chunks (the step just taken is this one)."""
    kind = kind_of(episode)
    if kind == MULTI:
        return int(episode.env_t)
    if kind == SINGLE:
        return int(episode.t)
    return int(episode.length)


def starts_at_reset(episode) -> bool:
    """True for the chunk that begins with the env's reset (not a continuation)."""
    kind = kind_of(episode)
    if kind == MULTI:
        return episode.env_t_started == 0
    if kind == SINGLE:
        return episode.t_started == 0
    return episode.length == 0


# -- the step just taken --------------------------------------------------------


def _last_column_value(collector, column: str) -> Any:
    """Newest value of a column in an old-stack AgentCollector, which keeps it flattened
    per component: put back into its structure (a Dict observation without the
    preprocessor, a Tuple action) as the collector does when it builds a batch."""
    components = collector.buffers.get(column) if collector is not None else None
    if not components:
        return None
    values = [component[-1] for component in components if component]
    if len(values) == 1:
        return values[0]
    struct = getattr(collector, "buffer_structs", {}).get(column)
    if struct is not None and len(values) == len(components):
        import tree

        return tree.unflatten_as(struct, values)
    return np.asarray(values)


def _old_stack_names(episode) -> dict:
    """The old stack calls a gymnasium env's one agent ``agent0``; rldebug says
    ``default_agent`` on both stacks. Multi-agent ids are kept as they are."""
    worker = getattr(episode, "worker", None)
    env = getattr(worker, "env", None)
    from ray.rllib.env.multi_agent_env import MultiAgentEnv

    single = env is not None and not isinstance(getattr(env, "unwrapped", env), MultiAgentEnv)
    return {OLD_STACK_SINGLE_AGENT: DEFAULT_AGENT_ID} if single else {}


def _took_part_old(collector, episode) -> bool:
    """Whether an old-stack agent's collector gained this env step: its newest ``t`` is
    the step's (EnvRunnerV2 stamps each agent's step with the episode's length before
    ``episode.step()``). An agent that waited, left or has not joined keeps an older one;
    its last reward and info belong to an earlier step."""
    t = _last_column_value(collector, "t")
    return t is not None and int(np.asarray(t).reshape(-1)[0]) == episode.length - 1


def _last_step_old(episode) -> dict[str, AgentStep]:
    # EpisodeV2's per-agent reward history is stateless: any number of callbacks
    # may ask in the same step and all get the same answer.
    history = episode._agent_reward_history
    names = _old_stack_names(episode)
    steps = {}
    for aid in episode.get_agents():
        collector = episode._agent_collectors.get(aid)
        if not _took_part_old(collector, episode):
            continue
        steps[names.get(aid, aid)] = AgentStep(
            obs=_last_column_value(collector, "obs"),
            action=_last_column_value(collector, "actions"),
            reward=float(history[aid][-1]) if history.get(aid) else None,
            # An agent that joined in this step has only its first observation's info,
            # which EpisodeV2 keeps in the collector, not as its last info.
            info=(episode.last_info_for(aid) if history.get(aid) else
                  _last_column_value(collector, "infos")) or {})
    return steps


def _copied_last_step(agent_episode, added: int = 0) -> bool:
    """Whether RLlib completed a terminated agent's last step with copies of its previous
    observation and info (``MultiAgentEpisode.add_env_step``: an agent that acted and was
    terminated without a final observation, as a turn-based env's last mover may be).
    The copies are the very objects of the step before; the env sent no new info.
    ``added``: steps RLlib's learner connector appended after it (:func:`_rllib_added_a_step`)."""
    if agent_episode is None or not agent_episode.is_terminated:
        return False
    last = -1 - added
    infos = agent_episode.get_infos()
    if len(infos) < 2 - last or infos[last] is not infos[last - 1]:
        return False
    observations = getattr(agent_episode.observations, "data", None)
    return not isinstance(observations, list) or observations[last] is observations[last - 1]


def _completed_reward(episode, agent_id) -> float | None:
    """The reward of an agent's step that this env step completed (it got an observation),
    as RLlib records it: what the env paid the agent since its last observation, while it
    waited for its turn included. ``MultiAgentEpisode.get_rewards(-1)`` gives instead the
    running sum of a step still open (the mover's, in a turn-based env) and nothing for
    the step completed, so a reward paid to a waiting player was never seen."""
    agent = episode.agent_episodes.get(agent_id)
    if agent is None or len(agent) == 0:  # its first observation: nothing earned yet
        return None
    return _float_or_none(agent.get_rewards(-1))


def _last_env_step(episode, name: str) -> dict:
    """``episode.get_<name>(-1)``: per agent, its value at the episode's last env step.
    RLlib 2.60 raises IndexError there for an agent that was terminated in an earlier
    chunk of the episode (``env_t_started > 0``); read agent by agent then, leaving out
    the agents it cannot read (they did not step)."""
    get = getattr(episode, f"get_{name}")
    try:
        return get(-1)
    except IndexError:
        values = {}
        for aid in episode.agent_episodes:
            try:
                values.update(get(-1, agent_ids=[aid]))
            except IndexError:
                continue
        return values


def _last_step_multi(episode) -> dict[str, AgentStep]:
    columns = {name: _last_env_step(episode, name)
               for name in ("observations", "actions", "infos")}
    # In the env's own order (its dicts'), not the episode's set of agent ids.
    agents = list(dict.fromkeys(aid for values in columns.values() for aid in values))
    copied = {aid for aid in agents if _copied_last_step(episode.agent_episodes.get(aid))}
    stepped = columns["observations"]
    # A copied step's action is the agent's last; get_actions(-1) leaves it out (it
    # ignores the step RLlib completed), so the last mover's final action went unseen.
    actions = {**columns["actions"], **{aid: episode.agent_episodes[aid].get_actions(-1)
                                        for aid in copied}}
    return {aid: AgentStep(obs=None if aid in copied else stepped.get(aid),
                           action=actions.get(aid),
                           reward=_completed_reward(episode, aid) if aid in stepped else None,
                           info={} if aid in copied else columns["infos"].get(aid) or {})
            for aid in agents}


def _last_step_single(episode) -> dict[str, AgentStep]:
    if len(episode) == 0:  # only the reset so far
        return {DEFAULT_AGENT_ID: AgentStep(obs=episode.get_observations(-1),
                                            info=episode.get_infos(-1) or {})}
    return {DEFAULT_AGENT_ID: AgentStep(obs=episode.get_observations(-1),
                                        action=episode.get_actions(-1),
                                        reward=_float_or_none(episode.get_rewards(-1)),
                                        info=episode.get_infos(-1) or {})}


def last_step(episode) -> dict[str, AgentStep]:
    """Per agent, what happened in the env step the episode has just recorded."""
    kind = kind_of(episode)
    if kind == OLD:
        return _last_step_old(episode)
    if kind == MULTI:
        return _last_step_multi(episode)
    return _last_step_single(episode)


def _float_or_none(value) -> float | None:
    return None if value is None else float(value)


# -- whole episodes ----------------------------------------------------------------


def agent_chunks(episode) -> Iterator[AgentChunk]:
    """Each agent's steps in one new-stack episode chunk (the unit ``on_sample_end`` gets)."""
    kind = kind_of(episode)
    if kind == MULTI:
        for agent_id, agent_episode in episode.agent_episodes.items():
            yield AgentChunk(str(agent_id), str(episode.module_for(agent_id)), agent_episode)
    elif kind == SINGLE:
        yield AgentChunk(DEFAULT_AGENT_ID, str(episode.module_id or DEFAULT_MODULE_ID), episode)
    else:
        raise UsageTypeError("agent_chunks reads new-stack episodes; the old stack hands "
                             "on_sample_end a SampleBatch, not episodes.")


def _rllib_added_a_step(chunk, episode) -> bool:
    """Whether a finished episode's earlier chunk carries the artificial step that RLlib's
    learner connector ``AddOneTsToEpisodesAndTruncate`` (PPO, APPO, IMPALA) appends to
    every chunk it trains on: a copy of the last observation, action and info with
    reward 0.0. It also appends ``_<i>`` to the chunk's id. An in-process EnvRunner keeps
    those same chunk objects until the episode ends; a remote one's were copies."""
    chunk_id, episode_id_ = str(chunk.id_), str(episode.id_)
    return chunk is not episode and chunk_id.startswith(f"{episode_id_}_")


def agent_steps(episode, prev_chunks=None) -> dict[str, dict[str, list]]:
    """Per agent of a finished new-stack episode (all its chunks), the ``rewards`` of its
    steps and the ``infos`` the env sent with them, in its own step order: what the env
    sent, without the steps RLlib adds (a chunk's artificial bootstrap step, the copied
    info of an agent terminated without a final observation)."""
    steps: dict[str, dict[str, list]] = {}
    for chunk in [*(prev_chunks or ()), episode]:
        added = 1 if _rllib_added_a_step(chunk, episode) else 0
        for agent in agent_chunks(chunk):
            count = agent.steps - added
            if count <= 0:
                continue
            rewards = np.asarray(agent.episode.get_rewards()).ravel()[:count]
            # A chunk's first info belongs to the step before it (or the reset).
            infos = list(agent.episode.get_infos()[1:count + 1])
            if _copied_last_step(agent.episode, added):
                infos[-1] = {}
            mine = steps.setdefault(agent.agent_id, {"rewards": [], "infos": []})
            mine["rewards"] += [float(r) for r in rewards]
            mine["infos"] += infos
    return steps


def agent_returns(episode, prev_chunks=None) -> dict[str, float]:
    """Per agent, the return of a finished episode (all its chunks), as RLlib counts it."""
    if kind_of(episode) == OLD:
        names = _old_stack_names(episode)
        returns: dict[str, float] = defaultdict(float)
        for (agent_id, _policy), total in episode.agent_rewards.items():
            returns[str(names.get(agent_id, agent_id))] += float(total)
        return dict(returns)
    returns = defaultdict(float)
    for chunk in [*(prev_chunks or ()), episode]:
        for agent in agent_chunks(chunk):
            returns[agent.agent_id] += float(agent.episode.get_return())
    return dict(returns)


def agent_rewards(episode, prev_chunks=None) -> dict[str, list[float]]:
    """Per agent, every reward of a finished episode in its own step order.

    These are the rewards RLlib trains on: in a turn-based env a reward that
    arrives while an agent waits for its turn is added to its next step's reward.
    """
    if kind_of(episode) == OLD:
        names = _old_stack_names(episode)
        return {str(names.get(aid, aid)): [float(r) for r in history]
                for aid, history in episode._agent_reward_history.items()}
    return {agent: steps["rewards"]
            for agent, steps in agent_steps(episode, prev_chunks).items()}


def old_stack_newest(episode, agent_id, column: str):
    """An old-stack agent's newest ``column`` ("rewards", "actions", "obs") in its
    episode, whether or not it took part in the last step (2021's
    ``prev_reward_for``); None before it has one."""
    if column == "rewards":
        history = episode._agent_reward_history.get(agent_id)
        return float(history[-1]) if history else None
    return _last_column_value(episode._agent_collectors.get(agent_id), column)


def old_stack_agent_indices(episode) -> dict[int, str]:
    """An old-stack episode's ``agent_index`` (the column its SampleBatch rows carry in
    place of the agent id) -> agent id, as rldebug names agents on both stacks."""
    names = _old_stack_names(episode)
    return {int(index): str(names.get(aid, aid))
            for aid, index in getattr(episode, "_agent_to_index", {}).items()}


def old_stack_ending(episode) -> str:
    """How an old-stack episode that has ended did: "truncated" when any of its agents
    was (a time limit), else "terminated". The SampleBatch says it per agent row, and an
    agent that ends early is no end of the episode."""
    agents = episode.get_agents()
    return "truncated" if any(episode.is_truncated(aid) for aid in agents) else "terminated"


# -- logging per-episode values where each stack reports them ------------------------


# What the new stack's "_mean" is made from: sums RLlib adds up over every sample() call
# and EnvRunner, divided in on_train_result by finish_episode_means. RLlib's own mean
# stats weigh each sample() call's mean equally, whatever number of episodes it ended.
_SUM, _EPISODES, _NONFINITE = "__sum", "__episodes", "__nonfinite"


def log_episode_value(episode, metrics_logger, key: tuple[str, ...], value: float,
                      stats: tuple[str, ...] = ("mean", "min", "max")) -> None:
    """Log one per-episode value so the result has its mean/min/max per iteration, over
    the episodes that ended in it (the mean is completed by
    :func:`finish_episode_means`, which the callback calls in ``on_train_result``).

    New stack: ``env_runners/<key...>_<stat>``; old stack: RLlib's
    ``custom_metrics/<key joined by '/'>_<stat>``. A NaN or infinite value is left out of
    the mean, the min and the max (RLlib's ``episode_return_mean`` leaves a NaN out and
    turns infinite with an inf), and counted: on the new stack in ``<key>_nonfinite``,
    the iteration's count, from the first one on (the old stack's custom metrics drop it
    silently).
    """
    finite = math.isfinite(value)
    if kind_of(episode) == OLD:
        if finite:
            episode.custom_metrics["/".join(key)] = value
        return
    for stat in stats:
        if stat == "mean":  # over the finite values, as RLlib's episode_return_mean
            metrics_logger.log_value(key[:-1] + (key[-1] + _SUM,), value if finite else 0.0,
                                     reduce="sum")
            metrics_logger.log_value(key[:-1] + (key[-1] + _EPISODES,), int(finite),
                                     reduce="sum")
            # from the first one on (the MetricsLogger keeps a key after each reduce)
            if not finite or key[:-1] + (key[-1] + _NONFINITE,) in metrics_logger:
                metrics_logger.log_value(key[:-1] + (key[-1] + _NONFINITE,), int(not finite),
                                         reduce="sum")
        elif finite:
            metrics_logger.log_value(key[:-1] + (f"{key[-1]}_{stat}",), value, reduce=stat)


def _number(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def finish_episode_means(result: dict) -> None:
    """Turn the sums :func:`log_episode_value` logged into ``<name>_mean`` (their sum over
    the iteration's finite values / the number of those), in place, under
    ``env_runners`` and ``evaluation/env_runners``; idempotent. An iteration in which no
    episode ended has a NaN mean, as RLlib's ``episode_return_mean``; keys of the user's
    own that merely end in ``__sum`` are left alone."""
    def walk(node: dict) -> None:
        for key in [k for k in node if isinstance(k, str) and k.endswith(_SUM)]:
            name = key[:-len(_SUM)]
            if name + _EPISODES not in node:
                continue  # not one of log_episode_value's
            total, count = node.pop(key), node.pop(name + _EPISODES)
            nonfinite = node.pop(name + _NONFINITE, None)
            try:  # numpy numbers too, as RLlib's merged stats give them
                total, count = float(total), float(count)
            except (TypeError, ValueError):
                continue
            # an iteration in which no episode ended reduces RLlib's sums to NaN
            total, count = (0.0, 0.0) if math.isnan(count) else (total, count)
            node[f"{name}_mean"] = total / count if count > 0 else float("nan")
            if nonfinite is not None:
                nonfinite = _number(nonfinite)
                node[f"{name}_nonfinite"] = int(nonfinite) if math.isfinite(nonfinite) else 0
        for value in node.values():
            if isinstance(value, dict):
                walk(value)

    for runners in (result.get("env_runners"),
                    (result.get("evaluation") or {}).get("env_runners")):
        if isinstance(runners, dict):
            walk(runners)


def log_episode_count(episode, metrics_logger, key: tuple[str, ...]) -> None:
    """Count an episode under ``key`` (a node of values :func:`log_episode_value` logs):
    :func:`count_every_episode` then divides each value's sum by these episodes, so a
    value an episode did not log counts 0 there. New stack only (the old stack's custom
    metrics average over the episodes that set them)."""
    if kind_of(episode) != OLD:
        metrics_logger.log_value(key + (_EPISODES,), 1, reduce="sum")


def count_every_episode(node: dict) -> None:
    """In a result node :func:`log_episode_count` counted, make each mean's denominator
    every counted episode (less those whose value was not finite), before
    :func:`finish_episode_means`; in place."""
    if not isinstance(node, dict) or _EPISODES not in node:
        return
    try:
        episodes = float(node.pop(_EPISODES))
    except (TypeError, ValueError):
        return
    if math.isnan(episodes):
        return
    for key in [k for k in node if isinstance(k, str) and k.endswith(_EPISODES)]:
        name = key[:-len(_EPISODES)]
        nonfinite = _number(node.get(name + _NONFINITE, 0))
        node[key] = episodes - (nonfinite if math.isfinite(nonfinite) else 0.0)


def log_series(episode, metrics_logger, key: tuple[str, ...], values: list[Any],
               window: int) -> None:
    """Log a list of values as a histogram (bounded to ``window`` per iteration). NaN and
    infinite values are left out: TensorBoard drops a histogram that holds one, and the
    iteration's whole histogram was missing."""
    values = [value for value in values if math.isfinite(_number(value))]
    if kind_of(episode) == OLD:
        episode.hist_data["/".join(key)] = values[-window:]
        return
    for value in values:
        metrics_logger.log_value(key, value, reduce="item_series", window=window)


__all__ = [
    "DEFAULT_AGENT_ID",
    "DEFAULT_MODULE_ID",
    "MULTI",
    "OLD",
    "SINGLE",
    "AgentChunk",
    "AgentStep",
    "agent_chunks",
    "agent_returns",
    "agent_rewards",
    "agent_steps",
    "count_every_episode",
    "env_steps",
    "episode_id",
    "finish_episode_means",
    "is_old_stack",
    "kind_of",
    "last_step",
    "log_episode_count",
    "log_episode_value",
    "log_series",
    "old_stack_agent_indices",
    "old_stack_ending",
    "old_stack_newest",
    "starts_at_reset",
    "store",
    "sub_env_failed",
]
