"""The doctor's view of one RLlib 2.60 result dict: :func:`extract` -> :class:`IterationMetrics`.

Which key holds what, on each API stack and for each algorithm family, is owned
by :mod:`rldebug.shapes.results` (its ``STAT_KEYS`` table); this module turns
one result into the per-iteration record the rules read. Results may be nested
(``result.json``, ``algo.train()``) or flat with ``/``-joined keys
(``progress.csv`` rows): flat ones are nested first.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from rldebug.shapes.env_problems import RESULT_KEY as ENV_PROBLEMS_KEY
from rldebug.shapes.env_problems import problems_from_result
from rldebug.shapes.results import (
    FAULT_TOLERANCE_KEY,
    LEARNER_GROUP_KEY,
    LEARNER_STEPS_DROPPED_KEY,
    NOT_MODULES,
    RUNNER_RESTARTS_KEY,
    RUNNERS_DROPPED_KEY,
    RUNNERS_HEALTHY_KEY,
    agent_returns,
    env_runner_stats,
    fault_tolerance_counts,
    is_new_stack_result,
    learner_steps_dropped,
    module_returns,
    number,
    numbers_by_key,
    pick_stats,
    raw_key_index,
    raw_learner_stats,
    raw_stat_keys,
    unflatten,
)
from rldebug.shapes.reward_terms import RESULT_KEY as REWARD_TERMS_KEY
from rldebug.shapes.reward_terms import terms_from_result
from rldebug.usage import UsageError, UsageTypeError

# The keys the adapters read (see relevant_path); readers may drop everything else.
_NEW_MODULE_KEYS = raw_stat_keys(new_stack=True)
_OLD_POLICY_KEYS = raw_stat_keys(new_stack=False)
_EPISODE_KEYS = frozenset(f"{name}_{stat}" for name in ("episode_return", "episode_reward",
                                                         "episode_len")
                          for stat in ("mean", "min", "max"))
ENV_STEPS_KEY = "num_env_steps_sampled_lifetime"
# Episodes that ended in the iteration: RLlib 2.60 reports NaN episode returns when
# none did (a train batch shorter than an episode), which is no NaN reward.
EPISODES_KEY = "num_episodes"
#: env steps the EnvRunners sampled in the iteration
ITERATION_STEPS_KEY = "num_env_steps_sampled"
# Tune counts iterations again from 1 after a trial was restored from a checkpoint
SINCE_RESTORE_KEY = "iterations_since_restore"
_PER_AGENT_KEYS = frozenset({"agent_episode_returns_mean", "agent_episode_return_mean",
                             "module_episode_returns_mean", "module_episode_return_mean",
                             "policy_reward_mean", "policy_reward_max"})


@dataclass(slots=True)
class ModuleStats:
    """One module's (new stack) or policy's (old stack) learner statistics.

    Field names follow :data:`rldebug.shapes.results.STAT_KEYS` (``vf_*`` are its
    ``value_loss``, ``value_loss_unclipped`` and ``explained_variance``).
    """

    entropy: float | None = None
    kl: float | None = None
    kl_coeff: float | None = None
    vf_explained_var: float | None = None
    vf_loss: float | None = None
    vf_loss_unclipped: float | None = None
    policy_loss: float | None = None
    total_loss: float | None = None
    lr: float | None = None
    q_loss: float | None = None
    td_error_mean: float | None = None
    q_mean: float | None = None
    q_max: float | None = None
    q_min: float | None = None
    alpha: float | None = None
    target_entropy: float | None = None
    log_prob: float | None = None
    importance_ratio_mean: float | None = None
    importance_ratio_var: float | None = None
    entropy_coeff: float | None = None
    grad_norm: float | None = None
    target_updates: float | None = None  # DQN: target-network syncs so far


_FIELD_OF_NAME = {"value_loss": "vf_loss", "value_loss_unclipped": "vf_loss_unclipped",
                  "explained_variance": "vf_explained_var"}
_FIELDS = frozenset(f.name for f in fields(ModuleStats))


@dataclass(slots=True)
class IterationMetrics:
    """What one training iteration reported, stack-independent.

    Returns are None until an episode has finished. ``agent_returns`` is per agent
    (new stack) and ``module_returns`` per module/policy (both stacks).
    """

    iteration: int
    stack: str
    family: str | None = None  # "ppo", "dqn", ... (set by the Doctor: rldebug.doctor.families)
    modules: dict[str, ModuleStats] = field(default_factory=dict)
    return_mean: float | None = None
    return_min: float | None = None
    return_max: float | None = None
    len_mean: float | None = None
    len_min: float | None = None
    len_max: float | None = None
    env_steps: float | None = None  # env steps sampled since the run began
    agent_returns: dict[str, float] = field(default_factory=dict)
    module_returns: dict[str, float] = field(default_factory=dict)
    module_return_max: dict[str, float] = field(default_factory=dict)
    # {agent: {term: mean per episode}}: the env's named reward parts, where the run
    # logged them (rldebug.callbacks.RewardTerms; rldebug.shapes.reward_terms)
    reward_terms: dict[str, dict[str, float]] = field(default_factory=dict)
    # {check: {agent: steps}}: problems the passive env check counted in the iteration
    # (rldebug.envcheck.PassiveEnvCheck; rldebug.shapes.env_problems)
    env_problems: dict[str, dict[str, float]] = field(default_factory=dict)
    # run-long counts RLlib keeps: EnvRunner responses dropped by sample_timeout_s, restarts
    runners_dropped: float | None = None
    runner_restarts: float | None = None
    runners_healthy: float | None = None  # remote EnvRunners healthy at the iteration's end
    learner_steps_dropped: float | None = None  # sampled, dropped before any Learner saw them
    # no EnvRunner reported anything in the iteration (RLlib's counts are NaN, not 0: its
    # remote EnvRunners had failed, or sample_timeout_s dropped them), so its NaN returns
    # are no NaN reward
    sampled_nothing: bool = False


def _iteration(result: Mapping[str, Any]) -> int:
    value = result.get("training_iteration")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise UsageError(
            "A result dict needs an int 'training_iteration' (RLlib's algo.train() and "
            f"Tune's result.json always have one); got {value!r} in a result with keys "
            f"{sorted(result)[:12]}."
        )
    return int(value)


def _episode_stats(metrics: IterationMetrics, runners: Mapping[str, Any], prefix: str) -> None:
    metrics.return_mean = number(runners.get(f"{prefix}_mean"))
    metrics.return_min = number(runners.get(f"{prefix}_min"))
    metrics.return_max = number(runners.get(f"{prefix}_max"))
    metrics.len_mean = number(runners.get("episode_len_mean"))
    metrics.len_min = number(runners.get("episode_len_min"))
    metrics.len_max = number(runners.get("episode_len_max"))
    metrics.env_steps = number(runners.get(ENV_STEPS_KEY))


# raw key -> (ModuleStats field, rank), per stack (True: new): the doctor reads
# thousands of results, so each raw key costs one lookup.
_FIELD_INDEX = {new_stack: {key: (_FIELD_OF_NAME.get(name, name), rank)
                            for key, (name, rank) in raw_key_index(new_stack).items()
                            if _FIELD_OF_NAME.get(name, name) in _FIELDS}
                for new_stack in (True, False)}


def _module_stats(raw: Mapping[str, Any], new_stack: bool) -> ModuleStats:
    """One module's stats, picked as :func:`rldebug.shapes.results.normalise_stats` does."""
    stats = ModuleStats()
    for attribute, (value, _) in pick_stats(raw, _FIELD_INDEX[new_stack]).items():
        setattr(stats, attribute, value)
    return stats


def _new_stack(result: Mapping[str, Any]) -> IterationMetrics:
    metrics = IterationMetrics(iteration=_iteration(result), stack="new")
    for module, raw in raw_learner_stats(result).items():
        metrics.modules[module] = _module_stats(raw, new_stack=True)
    runners = env_runner_stats(result)
    _episode_stats(metrics, runners, "episode_return")
    metrics.agent_returns = agent_returns(result)
    metrics.module_returns = module_returns(result)
    metrics.reward_terms = terms_from_result(result)
    metrics.env_problems = problems_from_result(result)
    _fault_tolerance(metrics, result)
    episodes = number(runners.get(EPISODES_KEY))
    steps = number(runners.get(ITERATION_STEPS_KEY))
    # NaN episodes: nothing reported, or (a multi-agent local runner) steps but no episode
    # ended, which a single-agent runner reports as 0 (an audit's SAC: 100 steps "nothing")
    metrics.sampled_nothing = episodes is not None and math.isnan(episodes) and \
        not (steps is not None and steps > 0)
    if episodes == 0 or (episodes is not None and math.isnan(episodes)):  # none ended:
        # no return to read (NaN: nothing sampled, or a multi-agent runner's none ended)
        metrics.return_mean = metrics.return_min = metrics.return_max = None
        metrics.len_mean = metrics.len_min = metrics.len_max = None
        metrics.agent_returns, metrics.module_returns = {}, {}
    if metrics.sampled_nothing:  # no update either: every learner stat is the NaN of an
        metrics.modules = {module: stats for module, stats in metrics.modules.items()
                           if not _all_nan(stats)}  # empty reduce, coefficients too
    return metrics


def _all_nan(stats: ModuleStats) -> bool:
    values = [v for v in (getattr(stats, f.name) for f in fields(stats))
              if isinstance(v, float)]
    return bool(values) and all(math.isnan(v) for v in values)


def _old_stack(result: Mapping[str, Any]) -> IterationMetrics:
    metrics = IterationMetrics(iteration=_iteration(result), stack="old")
    for policy, raw in raw_learner_stats(result).items():
        metrics.modules[policy] = _module_stats(raw, new_stack=False)
    runners = env_runner_stats(result)
    _episode_stats(metrics, runners, "episode_reward")
    if metrics.return_mean is None:
        _episode_stats(metrics, runners, "episode_return")
    metrics.module_returns = numbers_by_key(runners.get("policy_reward_mean"))
    metrics.module_return_max = numbers_by_key(runners.get("policy_reward_max"))
    _fault_tolerance(metrics, result)
    return metrics


def _fault_tolerance(metrics: IterationMetrics, result: Mapping[str, Any]) -> None:
    counts = fault_tolerance_counts(result)
    metrics.runners_dropped = counts.get(RUNNERS_DROPPED_KEY)
    metrics.runner_restarts = counts.get(RUNNER_RESTARTS_KEY)
    metrics.runners_healthy = counts.get(RUNNERS_HEALTHY_KEY)
    metrics.learner_steps_dropped = learner_steps_dropped(result)


def _is_flat(result: Mapping[str, Any]) -> bool:
    return not any(k in result for k in ("learners", "info", "env_runners")) and any(
        isinstance(k, str) and "/" in k for k in result)


def relevant_path(path: tuple[str, ...]) -> bool:
    """True if the adapters read the value at ``path`` (a key sequence into a result)."""
    depth, head = len(path), path[0]
    if head == "learners":
        return depth == 3 and path[1] not in NOT_MODULES and path[2] in _NEW_MODULE_KEYS
    if head == "info":
        return depth >= 4 and path[1] == "learner" and path[-1] in _OLD_POLICY_KEYS and (
            depth == 4 or (depth == 5 and path[3] == "learner_stats"))
    if head == FAULT_TOLERANCE_KEY:
        return depth == 2 and path[1] in (RUNNERS_DROPPED_KEY, RUNNER_RESTARTS_KEY,
                                          RUNNERS_HEALTHY_KEY)
    if head == LEARNER_GROUP_KEY:
        return depth == 2 and path[1] == LEARNER_STEPS_DROPPED_KEY
    if head == "env_runners":
        path = path[1:]
        depth -= 1
    if depth == 3 and path[0] in (REWARD_TERMS_KEY, ENV_PROBLEMS_KEY):
        return True
    if depth == 1:
        return path[0] in _EPISODE_KEYS or path[0] in (
            "training_iteration", ENV_STEPS_KEY, ITERATION_STEPS_KEY, EPISODES_KEY,
            SINCE_RESTORE_KEY)
    return depth == 2 and path[0] in _PER_AGENT_KEYS


def relevant_paths(result: Mapping[str, Any], prefix: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    """Every key path of a nested result that the adapters read (leaves only)."""
    paths = set()
    for key, value in result.items():
        path = prefix + (str(key),)
        if isinstance(value, Mapping):
            if len(path) < 5:
                paths |= relevant_paths(value, path)
        elif relevant_path(path):
            paths.add(path)
    return paths


def extract(result: Mapping[str, Any]) -> IterationMetrics:
    """The doctor's view of one result dict of either API stack.

    :param result: what ``algo.train()`` returned, a ``result.json`` line, or a
        flat ``progress.csv`` row (``"learners/pol1/entropy"`` keys).
    :raises TypeError: if ``result`` is not a dict.
    :raises ValueError: if it has no ``training_iteration``.
    """
    if not isinstance(result, dict):
        if not isinstance(result, Mapping):
            raise UsageTypeError(
                "The doctor reads RLlib result dicts (what algo.train() returns), got "
                f"{type(result).__name__}: {result!r:.100}.")
        result = dict(result)
    if _is_flat(result):
        result = unflatten(result)
    return _new_stack(result) if is_new_stack_result(result) else _old_stack(result)


__all__ = ["IterationMetrics", "ModuleStats", "extract", "relevant_path", "relevant_paths",
           "unflatten"]
