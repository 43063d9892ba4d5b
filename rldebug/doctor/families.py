"""Which algorithm family a run belongs to, and the fixes that fit each family.

A fix must fit the algorithm: "lower the learning rate" means ``lr`` for PPO,
``lr`` plus ``grad_clip`` and a Huber TD loss for DQN, ``actor_lr``/``critic_lr``
for SAC. The family is read from what the Learner logs (RLlib 2.60: SAC logs
``alpha_value``, DQN ``qf_loss`` without alpha, APPO ``mean_IS``, PPO
``mean_kl_loss``/``vf_loss_unclipped``) and, where that is ambiguous (IMPALA
logs none of these), from the run's config keys (``vtrace``, ``initial_alpha``,
``double_q``, ``kl_target``; see each algorithm's ``AlgorithmConfig.__init__``).
"""

from __future__ import annotations

from rldebug.shapes.configs import family_from_config  # where the config's shape is read

FAMILIES = ("ppo", "appo", "impala", "dqn", "sac")


def family_from_stats(stats) -> str | None:
    """The family one module's :class:`~rldebug.doctor.metrics.ModuleStats` belongs to."""
    if stats.alpha is not None:
        return "sac"
    if stats.q_loss is not None or stats.td_error_mean is not None:
        return "dqn"
    if stats.importance_ratio_mean is not None:
        return "appo"
    if stats.kl is not None or stats.vf_loss_unclipped is not None:
        return "ppo"
    return None


# RLlib 2.60's default learning rate per family (SAC: actor_lr; its lr is None), from each
# AlgorithmConfig.__init__ (tests/test_doctor_families.py compares them with RLlib's).
DEFAULT_LR = {"ppo": 5e-5, "appo": 5e-4, "impala": 5e-4, "dqn": 5e-4, "sac": 3e-5}

_LOWER_LR = {
    "ppo": "Lower lr 10-100x (PPO usually trains with 1e-5..1e-3; RLlib's default is 5e-5) "
           "and keep grad_clip set (e.g. config.training(grad_clip=0.5))",
    "appo": "Lower lr 10x (APPO's default is 5e-4) and keep grad_clip=40 (its default)",
    "impala": "Lower lr 10x (IMPALA usually trains with 1e-4..1e-3) and keep grad_clip=40",
    "dqn": "Lower lr 10-1000x (DQN usually trains with 1e-4..1e-3; RLlib's default is 5e-4), "
           "keep grad_clip=40 and td_error_loss_fn='huber' (RLlib's defaults)",
    "sac": "Lower critic_lr/actor_lr 10x (RLlib's defaults are 3e-4 and 3e-5) and set "
           "grad_clip (e.g. 40)",
}


def lower_lr_fix(family: str | None) -> str:
    """How to lower the step size in ``family`` (a generic sentence when unknown)."""
    return _LOWER_LR.get(family or "", "Lower the learning rate 10x and set grad_clip "
                                       "(e.g. config.training(grad_clip=0.5))")


__all__ = ["DEFAULT_LR", "FAMILIES", "family_from_config", "family_from_stats", "lower_lr_fix"]
