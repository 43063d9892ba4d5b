"""One reading of RLlib 2.60 result dicts: both API stacks, every algorithm family.

Results nest (``result["env_runners"]["episode_return_mean"]``); these helpers
take Tune-style slash-separated keys. Learner statistics are read under
normalised names (:data:`STAT_KEYS`), each keeping the raw key it came from:

==========================  ==============================================  ==============================
name                        new stack (``learners/<module>/...``)           old stack (``info/learner/
                                                                            <policy>/learner_stats/...``)
==========================  ==============================================  ==============================
policy_loss                 ``policy_loss`` (PPO, APPO, SAC), ``pi_loss``   ``policy_loss``, ``actor_loss``
                            (IMPALA)
value_loss                  ``vf_loss``                                     ``vf_loss``
q_loss                      ``qf_loss`` (DQN, SAC)                          ``critic_loss``, ``q_loss``?
entropy / kl                ``entropy`` / ``mean_kl_loss``                  ``entropy`` / ``kl``
td_error_mean               ``td_error_mean`` (DQN, SAC)                    ``mean_td_error``
q_mean, q_max, q_min        ``qf_mean``, ``qf_max``, ``qf_min``             ``mean_q``, ``max_q``, ``min_q``
alpha                       ``alpha_value`` (SAC)                           ``alpha_value``
importance_ratio_mean/var   ``mean_IS``, ``var_IS`` (APPO)                  --
lr                          ``default_optimizer_learning_rate``,            ``cur_lr``
                            SAC: ``policy_learning_rate``
grad_norm                   ``gradients_default_optimizer_global_norm``,    ``grad_gnorm`` (after
                            SAC: ``gradients_qf_global_norm`` (before       clipping: at most
                            clipping, with ``grad_clip_by="global_norm"``;  ``grad_clip``)
                            logged when ``grad_clip`` or ``log_gradients``
                            is set)
==========================  ==============================================  ==============================

Per-agent returns: a multi-agent runner reports ``agent_episode_returns_mean``
(a dict per agent), a single-agent one ``agent_episode_return_mean``; the old
stack ``policy_reward_mean`` (per policy).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_MISSING = object()

# Entries of result["learners"] that are not modules.
NOT_MODULES = frozenset({"__all_modules__"})

# normalised name -> raw keys, first present wins: (new stack, old stack).
STAT_KEYS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "total_loss": (("total_loss",), ("total_loss",)),
    "policy_loss": (("policy_loss", "pi_loss"), ("policy_loss", "actor_loss")),
    "value_loss": (("vf_loss",), ("vf_loss",)),
    "value_loss_unclipped": (("vf_loss_unclipped",), ()),
    "q_loss": (("qf_loss",), ("critic_loss",)),
    "q_twin_loss": (("qf_twin_loss",), ()),
    "entropy": (("entropy",), ("entropy",)),
    "kl": (("mean_kl_loss",), ("kl",)),
    "kl_coeff": (("curr_kl_coeff",), ("cur_kl_coeff",)),
    "entropy_coeff": (("curr_entropy_coeff",), ("entropy_coeff",)),
    "explained_variance": (("vf_explained_var",), ("vf_explained_var",)),
    "td_error_mean": (("td_error_mean",), ("mean_td_error",)),
    "q_mean": (("qf_mean",), ("mean_q",)),
    "q_max": (("qf_max",), ("max_q",)),
    "q_min": (("qf_min",), ("min_q",)),
    "alpha": (("alpha_value",), ("alpha_value",)),
    "alpha_loss": (("alpha_loss",), ("alpha_loss",)),
    "target_entropy": (("target_entropy",), ("target_entropy",)),
    "log_prob": (("logps",), ()),
    "importance_ratio_mean": (("mean_IS",), ()),
    "importance_ratio_var": (("var_IS",), ()),
    "lr": (("default_optimizer_learning_rate", "policy_learning_rate"), ("cur_lr",)),
    "grad_norm": (("gradients_default_optimizer_global_norm", "gradients_qf_global_norm",
                   "rldebug_grad_norm"),
                  ("grad_gnorm",)),
    "clip_fraction": (("rldebug_clip_fraction",), ("rldebug_clip_fraction",)),
    "target_updates": (("num_target_updates",), ()),
    "module_steps_trained": (("num_module_steps_trained",), ()),
}

# The loss a spike check watches, per family: the first of these a module reports.
MAIN_LOSS = ("total_loss", "q_loss", "policy_loss")


@dataclass(frozen=True)
class Stat:
    """One learner statistic: its normalised name, value and the key RLlib used."""

    name: str
    value: float
    raw_key: str


# -- paths ---------------------------------------------------------------------------


def get_path(result: Mapping, key: str, default: Any = None) -> Any:
    """Value at ``"a/b/c"`` in a nested result dict (or under the flat key itself). A key
    that holds a ``/`` itself is found too: ``metrics_logger.log_value("audit/goal")`` in
    a callback is stored as ``result["env_runners"]["audit/goal"]``, and its path is
    ``env_runners/audit/goal``."""
    if key in result:
        return result[key]
    found = _at(result, key.split("/"))
    return default if found is _MISSING else found


def _at(node: Any, parts: list[str]) -> Any:
    """The value ``parts`` lead to from ``node``, each step the longest key of the node
    that the next parts joined by ``/`` name (``_MISSING`` where none leads on)."""
    if not parts:
        return node
    if not isinstance(node, Mapping):
        return _MISSING
    for count in range(len(parts), 0, -1):
        head = "/".join(parts[:count])
        if head in node:
            found = _at(node[head], parts[count:])
            if found is not _MISSING:
                return found
    return _MISSING


def has_path(result: Mapping, key: str) -> bool:
    return get_path(result, key, _MISSING) is not _MISSING


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


def number(value: Any) -> float | None:
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


def _finite_or_none(value) -> float | None:
    value = number(value)
    return value if value is not None and math.isfinite(value) else None


# -- episodes and steps -------------------------------------------------------------


def env_runner_stats(result: Mapping) -> Mapping:
    """``result["env_runners"]`` (RLlib < 2.10 results keep these at the top level)."""
    runners = result.get("env_runners")
    return runners if isinstance(runners, Mapping) else result


def mean_total_return(result: Mapping) -> float | None:
    """Mean return per episode summed over agents (both stacks)."""
    runners = env_runner_stats(result)
    value = runners.get("episode_return_mean")
    if value is None:
        value = runners.get("episode_reward_mean")
    return _finite_or_none(value)


def numbers_by_key(mapping: Any) -> dict[str, float]:
    """The numeric values of a per-agent/per-module mapping (NaN kept), keys as strings."""
    if not isinstance(mapping, Mapping):
        return {}
    out = {}
    for key, value in mapping.items():
        value = number(value)
        if value is not None:
            out[str(key)] = value
    return out


def agent_returns(result: Mapping) -> dict[str, float]:
    """Mean episode return per agent (new stack, single- or multi-agent), NaN kept."""
    runners = env_runner_stats(result)
    for key in ("agent_episode_returns_mean", "agent_episode_return_mean"):
        if isinstance(runners.get(key), Mapping):
            return numbers_by_key(runners[key])
    return {}


def module_returns(result: Mapping) -> dict[str, float]:
    """Mean episode return per module (new stack) or policy (old stack), NaN kept."""
    runners = env_runner_stats(result)
    for key in ("module_episode_returns_mean", "module_episode_return_mean",
                "policy_reward_mean"):
        if isinstance(runners.get(key), Mapping):
            return numbers_by_key(runners[key])
    return {}


def per_agent_returns(result: Mapping) -> dict[str, float]:
    """Finite mean return per agent (new stack) or per policy (old stack): for display."""
    returns = agent_returns(result) or module_returns(result)
    return {k: v for k, v in returns.items() if math.isfinite(v)}


def env_steps_total(result: Mapping) -> int:
    """Env steps sampled since the start of the run (both stacks)."""
    for key in ("num_env_steps_sampled_lifetime", "env_runners/num_env_steps_sampled_lifetime",
                "timesteps_total"):
        value = get_path(result, key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return int(value)
    return 0


# -- learner statistics ---------------------------------------------------------------


# RLlib 2.60 counts, over the run, the remote EnvRunner responses a timeout-bounded
# foreach_env_runner call (sample_timeout_s during sampling) dropped: their samples were
# discarded (Algorithm._compile_iteration_results, "fault_tolerance").
FAULT_TOLERANCE_KEY = "fault_tolerance"
RUNNERS_DROPPED_KEY = "num_env_runners_dropped_lifetime"
RUNNER_RESTARTS_KEY = "num_remote_worker_restarts"
# ... and how many remote EnvRunners are healthy now (fewer than configured: one failed,
# and RLlib goes on without it until its fault tolerance restarts it)
RUNNERS_HEALTHY_KEY = "num_healthy_workers"


def fault_tolerance_counts(result: Mapping) -> dict[str, float]:
    """The run-long counts of dropped EnvRunner responses and EnvRunner restarts, and the
    number of healthy remote EnvRunners."""
    stats = result.get(FAULT_TOLERANCE_KEY)
    if not isinstance(stats, Mapping):
        return {}
    return {key: value for key in (RUNNERS_DROPPED_KEY, RUNNER_RESTARTS_KEY, RUNNERS_HEALTHY_KEY)
            if (value := number(stats.get(key))) is not None}


# RLlib 2.60's LearnerGroup counts, over the run, the env steps it dropped because a remote
# Learner still had max_requests_in_flight_per_learner async updates outstanding: sampled,
# never trained on (LearnerGroup._update, "learner_group").
LEARNER_GROUP_KEY = "learner_group"
LEARNER_STEPS_DROPPED_KEY = "learner_group_ts_dropped_lifetime"


def learner_steps_dropped(result: Mapping) -> float | None:
    """Env steps the LearnerGroup dropped since the run began (None where not logged)."""
    stats = result.get(LEARNER_GROUP_KEY)
    return number(stats.get(LEARNER_STEPS_DROPPED_KEY)) if isinstance(stats, Mapping) \
        else None


# Keys RLlib 2.60 writes into every result of either API stack (``env_runners`` always,
# ``learners`` on the new stack, ``info`` on the old), and those of results from before
# RLlib 2.10; a Tune trial of any other trainable reports none of them.
RLLIB_RESULT_KEYS = ("env_runners", "learners", "info", "sampler_results",
                     "episode_reward_mean")


def is_rllib_result(result: Mapping) -> bool:
    """``result`` came from an RLlib Algorithm (either stack), not another trainable."""
    return any(key in result for key in RLLIB_RESULT_KEYS)


def is_new_stack_result(result: Mapping) -> bool:
    learners = result.get("learners")
    return isinstance(learners, Mapping) and bool(learners.keys() - NOT_MODULES)


def raw_learner_stats(result: Mapping) -> dict[str, dict]:
    """``{module_id: raw stats dict}`` (new: ``learners/<mid>``, old: ``info/learner/<pid>/
    learner_stats`` plus the entries next to it, such as DQN's ``mean_td_error``)."""
    if is_new_stack_result(result):
        return {str(mid): dict(stats) for mid, stats in result["learners"].items()
                if mid not in NOT_MODULES and isinstance(stats, Mapping)}
    info = result.get("info")
    learner = info.get("learner") if isinstance(info, Mapping) else None
    out = {}
    for pid, entry in (learner.items() if isinstance(learner, Mapping) else ()):
        if not isinstance(entry, Mapping):
            continue
        stats = {k: v for k, v in entry.items() if k != "learner_stats"}
        if isinstance(entry.get("learner_stats"), Mapping):
            stats.update(entry["learner_stats"])
        out[str(pid)] = stats
    return out


def updated_modules(result: Mapping) -> set[str]:
    """Modules the learner updated in this iteration: new stack, those whose
    ``learners/<mid>/num_module_steps_trained`` is positive (a module left out of
    ``policies_to_train`` still reports its lr and parameter count there); old stack,
    the policies with an ``info/learner`` entry."""
    stats = raw_learner_stats(result)
    if not is_new_stack_result(result):
        return set(stats)
    return {mid for mid, entry in stats.items()
            if (number(entry.get("num_module_steps_trained")) or 0) > 0}


# raw key -> (normalised name, rank among that name's keys), per stack: one dict lookup
# per raw key instead of a scan of STAT_KEYS (the doctor reads thousands of results).
_BY_RAW_KEY = tuple({key: (name, rank) for name, keys in STAT_KEYS.items()
                     for rank, key in enumerate(keys[stack])} for stack in (0, 1))


def raw_key_index(new_stack: bool) -> dict[str, tuple[str, int]]:
    """``{raw key: (normalised name, rank)}`` of one stack; of a name's raw keys, the
    lowest rank that holds a number wins (see :func:`pick_stats`)."""
    return dict(_BY_RAW_KEY[0 if new_stack else 1])


def pick_stats(raw: Mapping,
               index: Mapping[str, tuple[Any, int]]) -> dict[Any, tuple[float, str]]:
    """``{target: (value, raw key)}`` from a module's raw stats: ``index`` maps a raw key
    to its target and rank (a :func:`raw_key_index`, or one derived from it); of a
    target's raw keys, the lowest rank that holds a number wins."""
    best: dict[Any, tuple[int, float, str]] = {}
    for key, value in raw.items():
        hit = index.get(key)
        if hit is None:
            continue
        value = number(value)
        if value is None:
            continue
        target, rank = hit
        if target not in best or rank < best[target][0]:
            best[target] = (rank, value, key)
    return {target: (value, key) for target, (_, value, key) in best.items()}


def normalise_stats(raw: Mapping, new_stack: bool) -> dict[str, Stat]:
    """A module's raw learner stats under the normalised names of :data:`STAT_KEYS`
    (of a name's raw keys, the first that holds a number wins)."""
    return {name: Stat(name, value, key) for name, (value, key)
            in pick_stats(raw, _BY_RAW_KEY[0 if new_stack else 1]).items()}


def learner_stats(result: Mapping) -> dict[str, dict[str, Stat]]:
    """``{module_id: {name: Stat}}``: every module's statistics under normalised names."""
    new_stack = is_new_stack_result(result)
    return {mid: normalise_stats(raw, new_stack)
            for mid, raw in raw_learner_stats(result).items()}


def main_loss(stats: Mapping[str, Stat]) -> Stat | None:
    """The loss to watch for spikes: total loss, else the Q loss, else the policy loss."""
    for name in MAIN_LOSS:
        if name in stats:
            return stats[name]
    return None


def raw_stat_keys(new_stack: bool) -> frozenset[str]:
    """Every raw key :func:`normalise_stats` may read on one stack."""
    return frozenset(k for keys in STAT_KEYS.values() for k in keys[0 if new_stack else 1])


def trial_storage(algo: Any) -> tuple[Any, str] | None:
    """Where the trial a built Algorithm reports to keeps its files, as ``(filesystem,
    directory)``: under Tune, the trial's directory on its storage filesystem (a pyarrow
    filesystem: where Tune writes params.json and result.json; ``algo.logdir`` is then
    a scratch working directory Tune does not keep by default); else ``(None,
    algo.logdir)``, a local directory. None when the Algorithm has neither."""
    storage = getattr(algo, "_storage", None)  # Tune's StorageContext of a Trainable
    if storage is not None and getattr(storage, "trial_dir_name", None):
        return storage.storage_filesystem, storage.trial_fs_path
    logdir = getattr(algo, "logdir", None)
    return (None, str(logdir)) if logdir else None


def local_trial_dir(algo: Any) -> str | None:
    """:func:`trial_storage`'s directory when it is on this machine's filesystem (a
    library that writes local files, like TensorBoard's, can write there), else None."""
    where = trial_storage(algo)
    if where is None:
        return None
    filesystem, directory = where
    if filesystem is not None and getattr(filesystem, "type_name", None) != "local":
        return None
    return directory


__all__ = [
    "FAULT_TOLERANCE_KEY",
    "LEARNER_GROUP_KEY",
    "LEARNER_STEPS_DROPPED_KEY",
    "MAIN_LOSS",
    "NOT_MODULES",
    "RLLIB_RESULT_KEYS",
    "RUNNERS_DROPPED_KEY",
    "RUNNERS_HEALTHY_KEY",
    "RUNNER_RESTARTS_KEY",
    "STAT_KEYS",
    "Stat",
    "agent_returns",
    "env_runner_stats",
    "env_steps_total",
    "fault_tolerance_counts",
    "get_path",
    "has_path",
    "is_new_stack_result",
    "is_rllib_result",
    "learner_stats",
    "learner_steps_dropped",
    "local_trial_dir",
    "main_loss",
    "mean_total_return",
    "module_returns",
    "normalise_stats",
    "number",
    "numbers_by_key",
    "per_agent_returns",
    "pick_stats",
    "raw_key_index",
    "raw_learner_stats",
    "raw_stat_keys",
    "trial_storage",
    "unflatten",
    "updated_modules",
]
