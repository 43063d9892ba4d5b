"""``RewardTerms``: per agent and episode, the sum of each named reward part the env reports.

The env reports ``info["reward_terms"] = {"idle": -0.5, ...}`` per agent and step
(the convention in :mod:`rldebug.shapes.reward_terms`); this callback sums each term
over an episode and logs the sums' mean per iteration:
``env_runners/reward_terms/<agent>/<term>_mean`` on the new stack (TensorBoard shows
them under ``ray/tune/env_runners/reward_terms/...``), RLlib's
``custom_metrics/reward_terms/<agent>/<term>_mean`` on the old stack. A term an agent has
reported before counts 0 in an episode that never names it (a bonus named only when it
is paid). When an agent's terms do not add up to its reward, a term is NaN or infinite
(that episode's sum is left out of the mean and counted, as RLlib's return leaves out an
episode with a NaN reward), or (single-agent) a step pays a reward and names no terms, it
warns once, with the numbers. In a multi-agent env, terms reported for an agent at a step
where it gets no observation (a turn-based game's mover) count with the step where RLlib
adds their reward (:func:`rldebug.shapes.reward_terms.watch_unobserved_terms`).
"""

from __future__ import annotations

import logging
import math
import warnings

from ray.rllib.callbacks.callbacks import RLlibCallback

from rldebug.shapes.episodes import (
    MULTI,
    SINGLE,
    agent_returns,
    count_every_episode,
    finish_episode_means,
    kind_of,
    last_step,
    log_episode_count,
    log_episode_value,
    store,
    sub_env_failed,
)
from rldebug.shapes.reward_terms import (
    RESULT_KEY,
    add_terms,
    held_terms,
    terms_of,
    watch_unobserved_terms,
)

logger = logging.getLogger(__name__)
_KEY = "_rldebug_reward_terms"
TOLERANCE = 1e-4


class RewardTermsWarning(UserWarning):
    """An env's reward terms are missing or do not add up to its reward."""


class RewardTerms(RLlibCallback):
    """Sum the env's named reward parts per agent and episode, and log them."""

    def __init__(self):
        super().__init__()
        self._warned: set[str] = set()
        self._known: dict[str, set[str]] = {}  # per agent, every term it has reported

    def on_environment_created(self, *, env, **kwargs) -> None:
        # a multi-agent env's terms for an agent without an observation: RLlib drops
        # that info and adds the reward to the agent's next observed step
        watch_unobserved_terms(env)

    def on_episode_step(self, *, episode, env=None, env_index=0, **kwargs) -> None:
        sums = store(episode).setdefault(_KEY, {})
        holder = held_terms(env, env_index) if kind_of(episode) == MULTI else None
        for agent_id, step in last_step(episode).items():
            terms = terms_of(step.info)
            # RLlib adds the held reward where the agent next observes (or at the end)
            held = holder.take(agent_id) if holder is not None and step.obs is not None \
                else {}
            if held:
                terms = dict(terms or {})
                add_terms(terms, held)
            if terms is None:
                # single-agent only: RLlib pays a multi-agent env's waiting agent at a step
                # whose info it does not get (the env named the terms where it paid)
                if kind_of(episode) == SINGLE and step.reward is not None and \
                        abs(step.reward) > TOLERANCE and str(agent_id) in self._known:
                    self._warn("missing", f"RewardTerms: agent {agent_id!r} was paid "
                                          f"{step.reward:g} at a step whose info has no "
                                          "reward_terms; that part of the reward is in no "
                                          "term. Report every term at every step.")
                continue
            add_terms(sums.setdefault(str(agent_id), {}), terms)
            self._known.setdefault(str(agent_id), set()).update(terms)
            bad = {name: value for name, value in terms.items() if not math.isfinite(value)}
            if bad:
                self._warn("non_finite", f"RewardTerms: agent {agent_id!r} reported "
                                         f"reward_terms {bad} at a step (reward "
                                         f"{step.reward}): the episode's sum of each is "
                                         "left out of its mean and counted in "
                                         "<term>_nonfinite (new stack). Find the step with "
                                         "rldebug.check_env(env) or a trace.")
            if step.reward is not None and abs(sum(terms.values()) - step.reward) > TOLERANCE:
                self._warn("sum", f"RewardTerms: agent {agent_id!r}'s reward_terms {terms} add "
                                  f"up to {sum(terms.values()):g}, but its reward is "
                                  f"{step.reward:g}; a part of the reward is not named.")

    def on_episode_end(self, *, episode, metrics_logger=None, **kwargs) -> None:
        if sub_env_failed(episode):
            return
        sums = store(episode).pop(_KEY, None) or {}
        holder = held_terms(kwargs.get("env"), kwargs.get("env_index")) \
            if kind_of(episode) == MULTI else None
        # held for agents done without a final observation, in whichever chunk they left
        for agent_id, held in (holder.take_all() if holder is not None else {}).items():
            add_terms(sums.setdefault(agent_id, {}), held)
            self._known.setdefault(agent_id, set()).update(held)
        if not sums and not self._known:
            self._warn("none", "RewardTerms: the env reports no info['reward_terms'] (see "
                               "rldebug.shapes.reward_terms for the convention); nothing "
                               "is logged.")
            return
        # an agent whose terms this episode never named (a short episode) still counts
        for agent_id in agent_returns(episode):
            if agent_id in self._known:
                sums.setdefault(agent_id, {})
        for agent_id, terms in sums.items():
            known = self._known.get(agent_id, set())
            # a term the env names only on the steps it pays (a goal bonus) is 0 in an
            # episode without it, not missing from the mean
            for name in sorted(known - set(terms)):
                terms[name] = 0.0
            for name, total in terms.items():
                log_episode_value(episode, metrics_logger, (RESULT_KEY, agent_id, name), total,
                                  stats=("mean",))
            # the new stack: each term's mean over every episode of the agent (a term
            # first named late counts 0 in the earlier ones too)
            log_episode_count(episode, metrics_logger, (RESULT_KEY, agent_id))

    def on_train_result(self, *, result, **kwargs) -> None:
        for runners in (result.get("env_runners"),
                        (result.get("evaluation") or {}).get("env_runners")):
            for node in ((runners or {}).get(RESULT_KEY) or {}).values():
                count_every_episode(node)
        finish_episode_means(result)  # each mean over the iteration's episodes

    def _warn(self, kind: str, message: str) -> None:
        if kind in self._warned:
            return
        self._warned.add(kind)
        warnings.warn(message, RewardTermsWarning, stacklevel=3)
        logger.warning(message)


__all__ = ["RewardTerms", "RewardTermsWarning"]
