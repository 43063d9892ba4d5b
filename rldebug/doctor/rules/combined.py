"""Rule that combines other findings: a learning rate too high for PPO."""

from __future__ import annotations

from collections.abc import Sequence

from rldebug.doctor.families import lower_lr_fix
from rldebug.doctor.findings import Finding
from rldebug.doctor.metrics import IterationMetrics
from rldebug.doctor.rules.base import Rule, fmt


class LearningRateTooHigh(Rule):
    """A KL blow-up (or, for APPO, which logs no KL without ``use_kl_loss``, an
    off-policy drift of its importance ratios) and an entropy collapse of the same
    module within ``combination_window`` iterations: the signature of a learning
    rate far too high (the tutorial's ``lr=0.5``: KL 29 and entropy 0.09 after one
    iteration, entropy 0.0 after three)."""

    rule_id = "lr_too_high"

    def __init__(self, thresholds):
        super().__init__(thresholds)
        self._lr: dict[str, float] = {}
        self._seen = 0
        self._kl: dict[str, Finding] = {}
        self._entropy: dict[str, Finding] = {}

    def observe(self, metrics: IterationMetrics, findings: Sequence[Finding]) -> list[Finding]:
        for module, stats in metrics.modules.items():
            if stats.lr is not None:
                self._lr[module] = stats.lr
        for finding in findings[self._seen:]:
            if (finding.rule_id == "kl_blowup" and finding.severity == "error") or \
                    finding.rule_id == "off_policy_drift":
                self._kl.setdefault(finding.module, finding)
            elif finding.rule_id == "entropy_collapse":
                self._entropy.setdefault(finding.module, finding)
        self._seen = len(findings)
        new: list[Finding] = []
        for module, kl in self._kl.items():
            entropy = self._entropy.get(module)
            if entropy is None or abs(entropy.began_at_iteration - kl.began_at_iteration) > \
                    self.thresholds.combination_window:
                continue
            lr = self._lr.get(module)
            began = min(kl.began_at_iteration, entropy.began_at_iteration)
            if kl.rule_id == "kl_blowup":
                moved = (f"KL blew up to {fmt(kl.evidence['kl'])} at iteration "
                         f"{kl.began_at_iteration}")
                measure = {"kl": kl.evidence["kl"], "kl_at_iteration": kl.began_at_iteration}
            else:
                ratio = kl.evidence["importance_ratio_mean"]
                moved = (f"the mean importance ratio drifted to {fmt(ratio)} from iteration "
                         f"{kl.began_at_iteration}")
                measure = {"importance_ratio_mean": ratio,
                           "drift_at_iteration": kl.began_at_iteration}
            new += self._once(
                module, "error", began_at_iteration=began,
                evidence={"lr": lr, **measure,
                          "entropy": entropy.evidence["entropy"],
                          "normalised_entropy": entropy.evidence["normalised_entropy"],
                          "entropy_at_iteration": entropy.began_at_iteration},
                message=(f"Learning rate too high for {module!r}"
                         f"{'' if lr is None else f' (lr={fmt(lr)})'}: {moved} and entropy "
                         f"collapsed to {fmt(entropy.evidence['entropy'])} at iteration "
                         f"{entropy.began_at_iteration}."),
                fix=(f"{lower_lr_fix(metrics.family)}; then re-run `rldebug doctor` on the new "
                     "run."),
            )
        return new


__all__ = ["LearningRateTooHigh"]
