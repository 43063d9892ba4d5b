"""Rules on the policy's updates: entropy collapse and KL blow-up."""

from __future__ import annotations

from collections.abc import Sequence

from rldebug.doctor.findings import Finding
from rldebug.doctor.metrics import IterationMetrics
from rldebug.doctor.rules.base import Rule, Streaks, finite, fmt
from rldebug.doctor.thresholds import Thresholds


class EntropyCollapse(Rule):
    """The policy's entropy fell below a fraction of its maximum, ``log|A|``.

    A collapse within the first few iterations is an error: the policy turned
    (nearly) deterministic before it could have learned anything, and PPO's
    sampled actions no longer explore.
    """

    rule_id = "entropy_collapse"

    def __init__(self, thresholds: Thresholds):
        super().__init__(thresholds)
        self._highest: dict[str, float] = {}
        self._first_iteration: int | None = None

    def observe(self, metrics: IterationMetrics, findings: Sequence[Finding]) -> list[Finding]:
        t = self.thresholds
        if self._first_iteration is None:
            self._first_iteration = metrics.iteration
        new: list[Finding] = []
        for module, stats in metrics.modules.items():
            entropy = stats.entropy
            if not finite(entropy):
                continue
            highest = self._highest[module] = max(entropy, self._highest.get(module, entropy))
            reference = t.reference_entropy(module)
            source = "log|A|"
            if reference is None:
                reference, source = highest, "the highest entropy seen so far"
            if reference <= 0 or entropy >= t.entropy_collapse_ratio * reference:
                continue
            ratio = entropy / reference
            age = metrics.iteration - self._first_iteration + 1
            early = age <= t.entropy_fast_collapse_iterations
            when = (f"within {age} iteration(s) of the start, before the policy can have "
                    "learned" if early else f"at iteration {metrics.iteration}")
            new += self._once(
                module, "error" if early else "warning",
                began_at_iteration=metrics.iteration,
                evidence={"entropy": entropy, "reference_entropy": reference,
                          "reference": source, "normalised_entropy": ratio,
                          "threshold": t.entropy_collapse_ratio,
                          "lr": stats.lr},
                message=(f"Policy entropy of {module!r} fell to {fmt(entropy)} nats, "
                         f"{ratio:.0%} of {source} ({fmt(reference)}), {when}: the policy "
                         "is (nearly) deterministic and stops exploring."),
                fix=("Lower the learning rate (e.g. 10x), use fewer num_epochs or a smaller "
                     "clip_param, and/or add an entropy bonus "
                     "(config.training(entropy_coeff=0.01)). If the policy has converged on "
                     "purpose, ignore this warning."),
            )
        return new


class KLBlowup(Rule):
    """The KL between the sampling policy and the updated one is far above ``kl_target``.

    RLlib raises the KL coefficient by 1.5x each iteration the KL exceeds
    ``2 * kl_target``; staying above it for several iterations means that
    controller is losing (warning); one iteration above
    ``kl_blowup_factor * kl_target`` means one update moved the policy far (error).
    """

    rule_id = "kl_blowup"

    def __init__(self, thresholds: Thresholds):
        super().__init__(thresholds)
        self._high = Streaks()
        self._first_coeff: dict[str, float] = {}

    def observe(self, metrics: IterationMetrics, findings: Sequence[Finding]) -> list[Finding]:
        t = self.thresholds
        target = t.kl_target
        new: list[Finding] = []
        for module, stats in metrics.modules.items():
            kl = stats.kl
            if finite(stats.kl_coeff):
                self._first_coeff.setdefault(module, stats.kl_coeff)
            if not finite(kl):
                continue
            streak = self._high[module]
            length = streak.update(kl > t.kl_high_factor * target, metrics.iteration)
            evidence = {"kl": kl, "kl_target": target, "kl_over_target": kl / target,
                        "kl_coeff": stats.kl_coeff,
                        "kl_coeff_at_start": self._first_coeff.get(module), "lr": stats.lr}
            fix = ("Lower the learning rate (e.g. 10x) or num_epochs so each update stays "
                   "close to the sampling policy; keep use_kl_loss=True with kl_coeff > 0 "
                   "and consider a smaller clip_param or grad_clip=0.5.")
            if kl > t.kl_blowup_factor * target:
                new += self._once(
                    module, "error", began_at_iteration=metrics.iteration, evidence=evidence,
                    message=(f"KL of {module!r} reached {fmt(kl)}, {fmt(kl / target)}x "
                             f"kl_target={fmt(target)} in one iteration (error above "
                             f"{fmt(t.kl_blowup_factor)}x): one update moved the policy far "
                             "from the one that collected the data."),
                    fix=fix)
            elif length >= t.kl_high_patience:
                evidence["iterations_above"] = length
                new += self._once(
                    module, "warning", began_at_iteration=streak.start, evidence=evidence,
                    message=(f"KL of {module!r} stayed above {fmt(t.kl_high_factor)}x "
                             f"kl_target={fmt(target)} for {length} iterations (now "
                             f"{fmt(kl)}); RLlib raises the KL coefficient 1.5x each such "
                             f"iteration (now {fmt(stats.kl_coeff)}) and is not catching up."),
                    fix=fix)
        return new


__all__ = ["EntropyCollapse", "KLBlowup"]
