"""Read the numbers the doctor needs out of one RLlib 2.60 result dict.

The two API stacks keep the same quantities under different keys:

========================  ============================================  ==============================================
quantity                  new stack (RLModule/Learner)                  old stack (Policy)
========================  ============================================  ==============================================
entropy, KL               ``learners/<module>/entropy, mean_kl_loss``   ``info/learner/<policy>/learner_stats/entropy, kl``
KL coefficient, lr        ``curr_kl_coeff, default_optimizer_           ``cur_kl_coeff, cur_lr``
                          learning_rate``
value function            ``vf_explained_var, vf_loss,                  ``vf_explained_var, vf_loss`` (no unclipped loss)
                          vf_loss_unclipped``
returns                   ``env_runners/episode_return_mean``,          ``env_runners/episode_reward_mean``,
                          ``agent_episode_returns_mean/<agent>``,       ``policy_reward_mean/<policy>``
                          ``module_episode_returns_mean/<module>``
========================  ============================================  ==============================================

Each stack has its own adapter (:func:`_new_stack`, :func:`_old_stack`);
:func:`extract` picks one. Results may be nested (``result.json``, ``algo.train()``)
or flat with ``/``-joined keys (``progress.csv`` rows): flat ones are nested first.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# Entries of result["learners"] that are not modules.
_NOT_MODULES = frozenset({"__all_modules__"})
# The keys the adapters read (see relevant_path); readers may drop everything else.
_NEW_MODULE_KEYS = frozenset({"entropy", "mean_kl_loss", "curr_kl_coeff", "vf_explained_var",
                              "vf_loss", "vf_loss_unclipped", "policy_loss", "total_loss",
                              "default_optimizer_learning_rate"})
_OLD_POLICY_KEYS = frozenset({"entropy", "kl", "cur_kl_coeff", "vf_explained_var", "vf_loss",
                              "policy_loss", "total_loss", "cur_lr"})
_EPISODE_KEYS = frozenset(f"{name}_{stat}" for name in ("episode_return", "episode_reward",
                                                         "episode_len")
                          for stat in ("mean", "min", "max"))
_PER_AGENT_KEYS = frozenset({"agent_episode_returns_mean", "module_episode_returns_mean",
                             "policy_reward_mean", "policy_reward_max"})


@dataclass(slots=True)
class ModuleStats:
    """One module's (new stack) or policy's (old stack) learner statistics."""

    entropy: float | None = None
    kl: float | None = None
    kl_coeff: float | None = None
    vf_explained_var: float | None = None
    vf_loss: float | None = None
    vf_loss_unclipped: float | None = None
    policy_loss: float | None = None
    total_loss: float | None = None
    lr: float | None = None


@dataclass(slots=True)
class IterationMetrics:
    """What one training iteration reported, stack-independent.

    Returns are None until an episode has finished. ``agent_returns`` is per agent
    (new stack) and ``module_returns`` per module/policy (both stacks).
    """

    iteration: int
    stack: str
    modules: dict[str, ModuleStats] = field(default_factory=dict)
    return_mean: float | None = None
    return_min: float | None = None
    return_max: float | None = None
    len_mean: float | None = None
    len_min: float | None = None
    len_max: float | None = None
    agent_returns: dict[str, float] = field(default_factory=dict)
    module_returns: dict[str, float] = field(default_factory=dict)
    module_return_max: dict[str, float] = field(default_factory=dict)


def unflatten(flat: Mapping[str, Any], delimiter: str = "/") -> dict[str, Any]:
    """Nest ``{"a/b": 1}`` into ``{"a": {"b": 1}}`` (the inverse of Tune's flattening)."""
    nested: dict[str, Any] = {}
    for key, value in flat.items():
        parts = str(key).split(delimiter)
        node = nested
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[parts[-1]] = value
    return nested


def _number(value: Any) -> float | None:
    """A float for int/float-like values (NaN and inf kept), None otherwise."""
    kind = type(value)
    if kind is float:
        return value
    if kind is int:
        return float(value)
    if value is None or kind is bool or kind is str:
        return None
    try:  # numpy scalars, 0-d tensors
        return float(value)
    except (TypeError, ValueError):
        return None


def _numbers(mapping: Any) -> dict[str, float]:
    if not isinstance(mapping, dict):
        return {}
    out = {}
    for key, value in mapping.items():
        number = _number(value)
        if number is not None:
            out[str(key)] = number
    return out


def _iteration(result: Mapping[str, Any]) -> int:
    value = result.get("training_iteration")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(
            "A result dict needs an int 'training_iteration' (RLlib's algo.train() and "
            f"Tune's result.json always have one); got {value!r} in a result with keys "
            f"{sorted(result)[:12]}."
        )
    return int(value)


def _env_runner_stats(result: Mapping[str, Any]) -> Mapping[str, Any]:
    runners = result.get("env_runners")
    # Results from RLlib < 2.10 (the 2021 tutorial) keep these at the top level.
    return runners if isinstance(runners, dict) else result


def _episode_stats(metrics: IterationMetrics, runners: Mapping[str, Any], prefix: str) -> None:
    metrics.return_mean = _number(runners.get(f"{prefix}_mean"))
    metrics.return_min = _number(runners.get(f"{prefix}_min"))
    metrics.return_max = _number(runners.get(f"{prefix}_max"))
    metrics.len_mean = _number(runners.get("episode_len_mean"))
    metrics.len_min = _number(runners.get("episode_len_min"))
    metrics.len_max = _number(runners.get("episode_len_max"))


def _new_stack(result: Mapping[str, Any]) -> IterationMetrics:
    metrics = IterationMetrics(iteration=_iteration(result), stack="new")
    for module, stats in result["learners"].items():
        if module in _NOT_MODULES or not isinstance(stats, dict):
            continue
        metrics.modules[str(module)] = ModuleStats(
            entropy=_number(stats.get("entropy")),
            kl=_number(stats.get("mean_kl_loss")),
            kl_coeff=_number(stats.get("curr_kl_coeff")),
            vf_explained_var=_number(stats.get("vf_explained_var")),
            vf_loss=_number(stats.get("vf_loss")),
            vf_loss_unclipped=_number(stats.get("vf_loss_unclipped")),
            policy_loss=_number(stats.get("policy_loss")),
            total_loss=_number(stats.get("total_loss")),
            lr=_number(stats.get("default_optimizer_learning_rate")),
        )
    runners = _env_runner_stats(result)
    _episode_stats(metrics, runners, "episode_return")
    metrics.agent_returns = _numbers(runners.get("agent_episode_returns_mean"))
    metrics.module_returns = _numbers(runners.get("module_episode_returns_mean"))
    return metrics


def _old_stack(result: Mapping[str, Any]) -> IterationMetrics:
    metrics = IterationMetrics(iteration=_iteration(result), stack="old")
    info = result.get("info")
    learner = info.get("learner") if isinstance(info, dict) else None
    for policy, entry in (learner.items() if isinstance(learner, dict) else ()):
        stats = entry.get("learner_stats") if isinstance(entry, dict) else None
        if not isinstance(stats, dict):
            continue
        metrics.modules[str(policy)] = ModuleStats(
            entropy=_number(stats.get("entropy")),
            kl=_number(stats.get("kl")),
            kl_coeff=_number(stats.get("cur_kl_coeff")),
            vf_explained_var=_number(stats.get("vf_explained_var")),
            vf_loss=_number(stats.get("vf_loss")),
            policy_loss=_number(stats.get("policy_loss")),
            total_loss=_number(stats.get("total_loss")),
            lr=_number(stats.get("cur_lr")),
        )
    runners = _env_runner_stats(result)
    _episode_stats(metrics, runners, "episode_reward")
    if metrics.return_mean is None:
        _episode_stats(metrics, runners, "episode_return")
    metrics.module_returns = _numbers(runners.get("policy_reward_mean"))
    metrics.module_return_max = _numbers(runners.get("policy_reward_max"))
    return metrics


def _is_flat(result: Mapping[str, Any]) -> bool:
    return not any(k in result for k in ("learners", "info", "env_runners")) and any(
        isinstance(k, str) and "/" in k for k in result)


def relevant_path(path: tuple[str, ...]) -> bool:
    """True if the adapters read the value at ``path`` (a key sequence into a result)."""
    depth, head = len(path), path[0]
    if head == "learners":
        return depth == 3 and path[1] not in _NOT_MODULES and path[2] in _NEW_MODULE_KEYS
    if head == "info":
        return (depth == 5 and path[1] == "learner" and path[3] == "learner_stats"
                and path[4] in _OLD_POLICY_KEYS)
    if head == "env_runners":
        path = path[1:]
        depth -= 1
    if depth == 1:
        return path[0] in _EPISODE_KEYS or path[0] == "training_iteration"
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
            raise TypeError(
                "The doctor reads RLlib result dicts (what algo.train() returns), got "
                f"{type(result).__name__}: {result!r:.100}.")
        result = dict(result)
    if _is_flat(result):
        result = unflatten(result)
    learners = result.get("learners")
    if isinstance(learners, dict) and any(k not in _NOT_MODULES for k in learners):
        return _new_stack(result)
    return _old_stack(result)


__all__ = ["IterationMetrics", "ModuleStats", "extract", "relevant_path", "relevant_paths",
           "unflatten"]
