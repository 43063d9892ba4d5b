"""``RewardTerms``: per agent and episode, the sum of each named reward part the env reports.

The env reports ``info["reward_terms"] = {"idle": -0.5, ...}`` per agent and step
(the convention in :mod:`rldebug.shapes.reward_terms`); this callback sums each term
over an episode and logs the sums' mean per iteration:
``env_runners/reward_terms/<agent>/<term>_mean`` on the new stack (TensorBoard shows
them under ``ray/tune/env_runners/reward_terms/...``), RLlib's
``custom_metrics/reward_terms/<agent>/<term>_mean`` on the old stack. When an agent's
terms do not add up to its reward it warns once, with the step and the numbers.
"""

from __future__ import annotations

import logging
import warnings

from ray.rllib.callbacks.callbacks import RLlibCallback

from rldebug.shapes.episodes import (
    finish_episode_means,
    last_step,
    log_episode_value,
    store,
    sub_env_failed,
)
from rldebug.shapes.reward_terms import RESULT_KEY, add_terms, terms_of

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

    def on_episode_step(self, *, episode, **kwargs) -> None:
        sums = store(episode).setdefault(_KEY, {})
        for agent_id, step in last_step(episode).items():
            terms = terms_of(step.info)
            if terms is None:
                continue
            add_terms(sums.setdefault(str(agent_id), {}), terms)
            if step.reward is not None and abs(sum(terms.values()) - step.reward) > TOLERANCE:
                self._warn("sum", f"RewardTerms: agent {agent_id!r}'s reward_terms {terms} add "
                                  f"up to {sum(terms.values()):g}, but its reward is "
                                  f"{step.reward:g}; a part of the reward is not named.")

    def on_episode_end(self, *, episode, metrics_logger=None, **kwargs) -> None:
        if sub_env_failed(episode):
            return
        sums = store(episode).pop(_KEY, None)
        if not sums:
            self._warn("none", "RewardTerms: the env reports no info['reward_terms'] (see "
                               "rldebug.shapes.reward_terms for the convention); nothing "
                               "is logged.")
            return
        for agent_id, terms in sums.items():
            for name, total in terms.items():
                log_episode_value(episode, metrics_logger, (RESULT_KEY, agent_id, name), total,
                                  stats=("mean",))

    def on_train_result(self, *, result, **kwargs) -> None:
        finish_episode_means(result)  # each mean over the iteration's episodes

    def _warn(self, kind: str, message: str) -> None:
        if kind in self._warned:
            return
        self._warned.add(kind)
        warnings.warn(message, RewardTermsWarning, stacklevel=3)
        logger.warning(message)


__all__ = ["RewardTerms", "RewardTermsWarning"]
