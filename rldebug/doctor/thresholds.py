"""Thresholds of the doctor's rules, each with the reason for its default.

Sources:

- **KL**: RLlib's PPO learner (``algorithms/ppo/torch/ppo_torch_learner.py``,
  ``_update_module_kl_coeff``) multiplies the KL coefficient by 1.5 whenever
  the mean KL exceeds ``2 * kl_target`` (and halves it below ``0.5 * kl_target``);
  ``kl_target`` defaults to 0.01 and ``kl_coeff`` to 0.2 (``algorithms/ppo/ppo.py``).
  A KL that stays above ``2 * kl_target`` means RLlib's own controller is losing;
  a KL many times the target means one update moved the policy far.
- **Entropy** is compared with its maximum, ``log|A|`` for a ``Discrete(|A|)``
  action space (the uniform policy), so one threshold fits every action count.
  When ``|A|`` is unknown (offline, without :attr:`Thresholds.entropy_reference`)
  the highest entropy seen so far stands in for it.
- **Explained variance**: RLlib logs ``max(-1, 1 - Var(y - v) / Var(y))``
  (``utils/torch_utils.py``). As Stable-Baselines3's logger documentation
  explains, 1 is a perfect value prediction, 0 is no better than predicting a
  constant, and below 0 is worse than that: a critic at or below 0 for many
  iterations has not learned anything.
- **Value clipping**: RLlib clips each squared value error at ``vf_clip_param``
  (default 10.0) before averaging, so a logged ``vf_loss`` at ``vf_clip_param``
  means every sample is clipped and the value gradient is zero.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from rldebug.usage import UsageError

# RLlib 2.60's PPO defaults (algorithms/ppo/ppo.py), used when the run's config is unknown.
RLLIB_KL_TARGET = 0.01
RLLIB_VF_CLIP_PARAM = 10.0


@dataclass(frozen=True)
class Thresholds:
    """Every number the doctor's rules compare against. All fields are optional.

    :param kl_target: PPO's ``kl_target``; None reads it from the run's config
        (RLlib's default 0.01 when there is none).
    :param kl_high_factor: KL above ``kl_high_factor * kl_target`` is "high";
        2.0 is RLlib's own threshold for raising the KL coefficient.
    :param kl_high_patience: consecutive high-KL iterations before a warning.
    :param kl_blowup_factor: KL above ``kl_blowup_factor * kl_target`` in a single
        iteration is an error (the tutorial's ``lr=0.5`` run reached 29, 2900 x).
    :param entropy_reference: the maximum entropy, ``log|A|``, as one float or
        a dict per module id; None: derived from the action space when known
        (live), else the highest entropy seen so far.
    :param entropy_collapse_ratio: entropy below this fraction of the reference
        counts as collapsed (a near-deterministic policy stops exploring).
    :param entropy_fast_collapse_iterations: a collapse that starts within this
        many iterations is an error (the policy cannot have learned yet),
        later it is a warning (it may have converged).
    :param explained_variance_floor: explained variance at or below this is "not learning".
    :param explained_variance_patience: consecutive iterations at or below the floor.
    :param vf_loss_explode_factor: value loss this many times its lowest value
        so far, while explained variance is at or below the floor, is exploding.
    :param vf_clip_param: PPO's ``vf_clip_param``; None reads it from the config
        (RLlib's default 10.0 when there is none).
    :param vf_clip_saturation: ``vf_loss >= vf_clip_saturation * vf_clip_param``
        means (nearly) every sample's value error is clipped.
    :param vf_clip_unclipped_factor: and ``vf_loss_unclipped`` at least this many
        times ``vf_clip_param`` ("far larger").
    :param vf_clip_patience: consecutive iterations of both before the finding.
    :param stuck_patience: consecutive iterations every episode (or an agent's mean
        return) must return exactly the same value before "the reward is constant".
    :param min_iterations: iterations before the return-based rules judge progress.
    :param window: iterations averaged for "recent" returns.
    :param baseline_iterations: the first iterations whose mean return stands
        in for a random policy's (a fresh policy acts nearly uniformly).
    :param random_baseline: a measured random-policy return; overrides the estimate.
    :param flat_tolerance: improvement below this fraction of the return range
        (max - min over the run) counts as flat.
    :param collapse_fraction: a recent mean return this fraction of the return
        range below the start is a collapse (an error), not just a decline.
    :param rival_improves: another agent whose mean return rose this many
        standard errors is learning (a flat negative return beside it is
        reported as info: it may just be losing a competitive game).
    :param random_entropy_ratio: entropy at or above this fraction of its
        maximum (or of its first value) is "still acting at random".
    :param kl_tiny_factor: a KL below ``kl_tiny_factor * kl_target`` means an
        update barely changed the policy (lr=1e-7 gives ~1e-11, lr=1e-6 on Pendulum
        1e-6..2e-5); RLlib's controller halves the KL coefficient every such
        iteration, while a learning run's KL stays within ~10x of the target.
    :param lr_tiny: a learning rate below this barely moves Adam's weights
        (used where no KL is logged: DQN, SAC, IMPALA).
    :param entropy_coeff_high: an entropy coefficient above this outweighs a
        typical advantage (PPO usually uses 0..0.01).
    :param q_range_slack: a mean Q-value more than this fraction of the return
        span outside [min(0, lowest return), max(0, highest return)] is diverging:
        a discounted return cannot leave that range by much.
    :param alpha_explode_factor: SAC's alpha this many times its first value,
        and still rising, has run away.
    :param alpha_rising_patience: iterations alpha rises in a row, with the
        policy's entropy below ``target_entropy``, before "out of reach".
    :param alpha_collapse: SAC's alpha below this has switched exploration off.
    :param importance_ratio_band: APPO's mean importance ratio outside
        ``[1 / band, band]`` means the learner trains on data from a policy far
        from its own (for samples from the behaviour policy mu, E[pi/mu] = 1).
    :param reward_scale_high: per-step rewards (or returns divided by episode
        length) larger than this in size make value targets hard to fit.
    :param reward_scale_low: non-zero per-step rewards smaller than this in size
        drown in the value function's noise.
    :param truncation_patience: consecutive iterations where every episode has
        the same length before "always hits the time limit".
    :param combination_window: iterations within which a KL blow-up and an
        entropy collapse (or a return drop) together mean "learning rate too high".
    """

    kl_target: float | None = None
    kl_high_factor: float = 2.0
    kl_high_patience: int = 3
    kl_blowup_factor: float = 20.0
    entropy_reference: float | Mapping[str, float] | None = None
    entropy_collapse_ratio: float = 0.1
    entropy_fast_collapse_iterations: int = 10
    explained_variance_floor: float = 0.0
    explained_variance_patience: int = 10
    vf_loss_explode_factor: float = 100.0
    vf_clip_param: float | None = None
    vf_clip_saturation: float = 0.95
    vf_clip_unclipped_factor: float = 10.0
    vf_clip_patience: int = 3
    stuck_patience: int = 10
    min_iterations: int = 20
    window: int = 10
    baseline_iterations: int = 3
    random_baseline: float | None = None
    flat_tolerance: float = 0.05
    collapse_fraction: float = 0.5
    rival_improves: float = 1.5
    random_entropy_ratio: float = 0.9
    kl_tiny_factor: float = 1e-2
    lr_tiny: float = 1e-6
    entropy_coeff_high: float = 0.1
    q_range_slack: float = 0.5
    alpha_explode_factor: float = 10.0
    alpha_rising_patience: int = 5
    alpha_collapse: float = 1e-4
    importance_ratio_band: float = 1.5
    reward_scale_high: float = 100.0
    reward_scale_low: float = 1e-3
    truncation_patience: int = 5
    combination_window: int = 5

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "entropy_reference":
                _check_reference(value)
            elif f.name.endswith(("patience", "iterations", "window")):
                if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                    raise UsageError(f"Thresholds.{f.name} must be an int >= 1, got {value!r}.")
            elif value is None and f.name in ("kl_target", "vf_clip_param", "random_baseline"):
                continue
            elif f.name == "vf_clip_param" and value == math.inf:
                continue  # no clipping (config.training(vf_clip_param=float("inf")))
            elif isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or not math.isfinite(value):
                raise UsageError(f"Thresholds.{f.name} must be a finite number, got {value!r}.")
            elif f.name not in ("explained_variance_floor", "random_baseline") and value <= 0:
                raise UsageError(f"Thresholds.{f.name} must be > 0, got {value!r}.")

    def with_config(self, config: Mapping[str, Any] | None) -> Thresholds:
        """A copy with ``kl_target``/``vf_clip_param`` filled from a run's config dict.

        Values set explicitly win; missing ones fall back to RLlib's PPO defaults.
        """
        from rldebug.doctor.facts import config_number

        updates = {}
        for name, default in (("kl_target", RLLIB_KL_TARGET),
                              ("vf_clip_param", RLLIB_VF_CLIP_PARAM)):
            if getattr(self, name) is None:
                value = config_number(config, name)
                updates[name] = value if value is not None and value > 0 else default
        return replace(self, **updates)

    def reference_entropy(self, module: str) -> float | None:
        """The configured maximum entropy of ``module`` (None when not configured)."""
        ref = self.entropy_reference
        if isinstance(ref, Mapping):
            return ref.get(module)
        return ref


def _check_reference(value: Any) -> None:
    items = value.items() if isinstance(value, Mapping) else [("", value)]
    for key, ref in items:
        if ref is None and not key:
            continue
        if isinstance(ref, bool) or not isinstance(ref, (int, float)) or not ref > 0 \
                or not math.isfinite(ref):
            raise UsageError(
                "Thresholds.entropy_reference must be None, a positive float (log|A|, "
                "e.g. math.log(4) for Discrete(4)) or a dict {module_id: log|A|}; got "
                f"{value!r}."
            )


__all__ = ["RLLIB_KL_TARGET", "RLLIB_VF_CLIP_PARAM", "Thresholds"]
