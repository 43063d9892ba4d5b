"""Rules for value-based and off-policy families: DQN/SAC Q-values, SAC's alpha, APPO's
importance ratios.

Keys (RLlib 2.60, new stack): DQN and SAC log ``qf_mean``, ``qf_max``, ``qf_min``
(DQN), ``td_error_mean`` and ``qf_loss`` per module; SAC ``alpha_value``; APPO
``mean_IS``/``var_IS``, the mean and variance of the importance ratio
pi_target / pi_behaviour over the train batch (``appo_torch_learner.py``). The old
stack logs ``mean_q``/``max_q``/``min_q`` (see :mod:`rldebug.shapes.results`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from rldebug.doctor.families import lower_lr_fix
from rldebug.doctor.findings import Finding
from rldebug.doctor.metrics import IterationMetrics
from rldebug.doctor.rules.base import Rule, Streaks, finite, fmt


class QValuesCollapsed(Rule):
    """The Q-network gives one value for every state and action it was asked about: the
    batch's largest and smallest Q-value are equal for ``Q_COLLAPSE_PATIENCE`` iterations
    in a row while it still trains (a finite Q loss). Its units died, typically after a
    step far too large: it can no longer tell actions apart, and the policy it drives
    learns nothing. (A healthy critic's Q-values spread as soon as it learns anything.)
    """

    rule_id = "q_values_collapsed"

    def __init__(self, thresholds, facts=None):
        super().__init__(thresholds, facts)
        self._flat = Streaks()

    def observe(self, metrics: IterationMetrics, findings: Sequence[Finding]) -> list[Finding]:
        new: list[Finding] = []
        for module, stats in metrics.modules.items():
            if not (finite(stats.q_max) and finite(stats.q_min) and finite(stats.q_mean)
                    and finite(stats.q_loss)):
                continue
            spread = stats.q_max - stats.q_min
            collapsed = spread <= Q_COLLAPSED_SPREAD * max(1.0, abs(stats.q_mean))
            streak = self._flat[module]
            if streak.update(collapsed, metrics.iteration) < Q_COLLAPSE_PATIENCE:
                continue
            new += self._once(
                module, "error", began_at_iteration=streak.start,
                evidence={"q_mean": stats.q_mean, "q_max": stats.q_max, "q_min": stats.q_min,
                          "q_loss": stats.q_loss, "lr": stats.lr,
                          "iterations": streak.length},
                message=(f"The Q-network of {module!r} gives one value, {fmt(stats.q_mean)}, "
                         f"for every state and action of its batches, {streak.length} "
                         f"iterations in a row (largest and smallest Q-value equal): its "
                         "units died, so it cannot tell actions apart and the policy learns "
                         "nothing from it."),
                fix=(f"{lower_lr_fix(metrics.family)}; a step far too large kills a "
                     "network's units, and they do not come back: retrain from scratch."),
            )
        return new


# Q-values within this fraction of their size of each other are one value; so many
# iterations in a row make a collapse (not one unlucky batch).
Q_COLLAPSED_SPREAD = 1e-6
Q_COLLAPSE_PATIENCE = 3


class QValuesDiverging(Rule):
    """Mean Q estimates outside any range the env's returns allow, or non-finite.

    A discounted return lies (roughly) between the lowest and the highest episode
    return the env has paid (and 0); the mean Q-value of the train batch leaving
    that range by more than ``q_range_slack`` times its span for two iterations
    means bootstrapping feeds on its own errors (an lr far too high, a target
    network updated too often). DQN with ``lr=1.0`` on CartPole drifts to Q=-260
    while every return is positive.
    """

    rule_id = "q_values_diverging"

    def __init__(self, thresholds, facts=None):
        super().__init__(thresholds, facts)
        self._returns: tuple[float, float] | None = None  # the lowest and highest seen
        self._outside = Streaks()

    def observe(self, metrics: IterationMetrics, findings: Sequence[Finding]) -> list[Finding]:
        t = self.thresholds
        for value in (metrics.return_mean, metrics.return_min, metrics.return_max):
            if finite(value):
                low_seen, high_seen = self._returns or (value, value)
                self._returns = (min(low_seen, value), max(high_seen, value))
        # the range Q is held to: the returns seen, and 0
        lowest, highest = (min(self._returns[0], 0.0), max(self._returns[1], 0.0)) \
            if self._returns else (0.0, 0.0)
        span = max(highest - lowest, 1.0)
        low, high = lowest - t.q_range_slack * span, highest + t.q_range_slack * span
        new: list[Finding] = []
        for module, stats in metrics.modules.items():
            q = {name: getattr(stats, name) for name in ("q_mean", "q_max", "q_min",
                                                          "td_error_mean")
                 if getattr(stats, name) is not None}
            if "q_mean" not in q:
                continue
            non_finite = [name for name, value in q.items() if not math.isfinite(value)]
            outside = not non_finite and not low <= q["q_mean"] <= high
            streak = self._outside[module]
            length = streak.update(bool(non_finite) or outside, metrics.iteration)
            if length < 2 and not non_finite:
                continue
            what = (f"{', '.join(non_finite)} non-finite" if non_finite else
                    f"the mean Q-value is {fmt(q['q_mean'])}, outside [{fmt(low)}, {fmt(high)}]"
                    f" for {length} iterations, while "
                    + (f"episode returns ranged {fmt(self._returns[0])}..{fmt(self._returns[1])}"
                       if self._returns else "no episode had ended"))
            new += self._once(
                module, "error", began_at_iteration=streak.start or metrics.iteration,
                evidence={**q, "lowest_return": self._returns and self._returns[0],
                          "highest_return": self._returns and self._returns[1],
                          "plausible_q": [low, high], "lr": stats.lr, "q_loss": stats.q_loss,
                          "iterations": length},
                message=(f"Q-values of {module!r} are diverging: {what}. Bootstrapped targets "
                         "are feeding on their own errors, so greedy actions follow noise."),
                fix=(f"{lower_lr_fix(metrics.family or 'dqn')}; update the target network "
                     "less often (DQN: target_network_update_freq; SAC: a smaller tau); "
                     "keep rewards O(1-10)."),
            )
        return new


class AlphaRunaway(Rule):
    """SAC's entropy temperature alpha explodes (rising to ``alpha_explode_factor`` x
    its first value, or rising ``alpha_rising_patience`` iterations in a row past its
    first value while the policy's entropy stays below ``target_entropy``) or collapses
    below ``alpha_collapse``.

    Exploding: the target entropy is out of the policy's reach, the entropy bonus
    drowns the Q-values and the policy stays random. Collapsed: exploration is off. The
    slow rise is read as a target out of reach only for a target above 0: one at or below
    0 is in reach of every tanh-squashed policy (RLlib's SAC logs the log-probability of
    its squashed actions in [-1, 1], whose entropy reaches about 0.68 per action dimension;
    discrete SAC's is at least 0), and alpha rising while the entropy is below it answers
    a policy that collapsed on its own updates (a user's SAC at lr x100: entropy -20.5
    under a target of -2). A tenfold rise under such a target is named for that collapse.
    """

    rule_id = "alpha_runaway"

    def __init__(self, thresholds, facts=None):
        super().__init__(thresholds, facts)
        self._first: dict[str, float] = {}
        self._last: dict[str, float] = {}
        self._rising = Streaks()

    def observe(self, metrics: IterationMetrics, findings: Sequence[Finding]) -> list[Finding]:
        t = self.thresholds
        new: list[Finding] = []
        for module, stats in metrics.modules.items():
            alpha = stats.alpha
            if not finite(alpha):
                continue
            first = self._first.setdefault(module, alpha)
            rising = self._rising[module].update(alpha > self._last.get(module, alpha),
                                                 metrics.iteration)
            self._last[module] = alpha
            # SAC logs the mean log-probability of its sampled actions: -logps estimates
            # the policy's entropy, which alpha pushes towards target_entropy.
            entropy = -stats.log_prob if finite(stats.log_prob) else None
            target = stats.target_entropy
            # A target <= 0 is in reach of every squashed policy (its entropy reaches ~0.68
            # per action dimension): alpha rising while the entropy is below it is the
            # temperature answering a policy that collapsed (its own updates), not a target
            # out of reach
            below = finite(target) and entropy is not None and entropy < target
            out_of_reach = below and target > 0
            collapsed = finite(target) and target <= 0  # a target any policy can reach
            evidence = {"alpha": alpha, "first_alpha": first, "rising_iterations": rising,
                        "policy_entropy": entropy, "target_entropy": target}
            # Rising while still below its first value is the temperature doing its job
            # (it fell while the policy was random, and rises back once the policy's
            # entropy drops below target); a runaway rises past where it started.
            if first > 0 and rising >= 2 and (alpha >= t.alpha_explode_factor * first or (
                    out_of_reach and rising >= t.alpha_rising_patience and alpha > first)):
                new += self._once(
                    module, "error", began_at_iteration=self._rising[module].start,
                    evidence=evidence,
                    message=(f"SAC's alpha of {module!r} has risen for {rising} iterations "
                             f"in a row to {fmt(alpha)} ({fmt(alpha / first)}x its first value "
                             f"{fmt(first)})"
                             + (f", and the policy's entropy ({fmt(entropy)}) stays below "
                                f"target_entropy={fmt(target)}" if below else "")
                             + ((": a target" if below else f": target_entropy={fmt(target)} is")
                                + " in reach of every squashed policy, so the policy collapsed "
                                "on its own updates and alpha keeps rising to push it back; the "
                                "entropy bonus grows towards drowning the Q-values."
                                if collapsed else
                                ": the target entropy is out of reach, so alpha grows without "
                                "bound, the entropy bonus drowns the Q-values and the policy "
                                "is pushed towards random.")),
                    fix=("Look at what collapsed the policy first: actor_lr (and critic_lr) "
                         "too high, or Q-values diverging (a finding of its own)."
                         if collapsed else
                         "Set target_entropy='auto' (RLlib's default, -dim(actions)) or "
                         "below the policy's reachable entropy; a lower alpha_lr slows the "
                         "runaway but does not fix it."),
                )
            elif alpha < t.alpha_collapse:
                new += self._once(
                    module, "warning", began_at_iteration=metrics.iteration, evidence=evidence,
                    message=(f"SAC's alpha of {module!r} collapsed to {fmt(alpha)} (from "
                             f"{fmt(first)}): the entropy bonus is gone and the policy stops "
                             "exploring."),
                    fix=("Raise target_entropy (e.g. 'auto'), or fix alpha "
                         "(initial_alpha with alpha_lr=0) if the task needs exploration "
                         "throughout."),
                )
        return new


class OffPolicyDrift(Rule):
    """APPO's mean importance ratio far from 1: the learner trains on data from a
    policy far from its own (stale EnvRunner weights, or updates too large)."""

    rule_id = "off_policy_drift"

    def __init__(self, thresholds, facts=None):
        super().__init__(thresholds, facts)
        self._far = Streaks()

    def observe(self, metrics: IterationMetrics, findings: Sequence[Finding]) -> list[Finding]:
        t = self.thresholds
        band = t.importance_ratio_band
        new: list[Finding] = []
        for module, stats in metrics.modules.items():
            ratio = stats.importance_ratio_mean
            if ratio is None:
                continue
            far = not math.isfinite(ratio) or ratio <= 0 or not 1 / band <= ratio <= band
            streak = self._far[module]
            length = streak.update(far, metrics.iteration)
            if length < t.kl_high_patience:
                continue
            new += self._once(
                module, "warning", began_at_iteration=streak.start,
                evidence={"importance_ratio_mean": ratio,
                          "importance_ratio_var": stats.importance_ratio_var,
                          "band": [1 / band, band], "iterations": length, "lr": stats.lr,
                          "kl": stats.kl},
                message=(f"The mean importance ratio pi/mu of {module!r} has been "
                         f"{fmt(ratio)} for {length} iterations (outside "
                         f"[{fmt(1 / band)}, {fmt(band)}]): the learner's policy is far from "
                         "the one that sampled its data, and V-trace clips most of the "
                         "correction."),
                fix=(f"{lower_lr_fix(metrics.family or 'appo')}; sync weights to the "
                     "EnvRunners more often (broadcast_interval=1) and keep "
                     "circular_buffer_iterations_per_batch small; use_kl_loss=True bounds "
                     "the drift."),
            )
        return new


__all__ = ["AlphaRunaway", "OffPolicyDrift", "QValuesCollapsed", "QValuesDiverging"]
