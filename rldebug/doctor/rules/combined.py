"""Rule that combines other findings: a learning rate too high for PPO."""

from __future__ import annotations

from collections.abc import Sequence

from rldebug.doctor.families import lower_lr_fix
from rldebug.doctor.findings import Finding
from rldebug.doctor.metrics import IterationMetrics
from rldebug.doctor.rules.base import Rule, fmt


class LearningRateTooHigh(Rule):
    """A KL blow-up (or, for APPO, which logs no KL without ``use_kl_loss``, an
    off-policy drift of its importance ratios) and an entropy collapse or non-finite
    statistics within ``combination_window`` iterations: the signature of updates far
    too large (the tutorial's ``lr=0.5``: KL 29 and entropy 0.09 after one iteration,
    entropy 0.0 after three). An update's size is the learning rate times the SGD steps
    each batch gets (``num_epochs`` x minibatches), so the finding names both.

    One root cause per mechanism: modules that share the learning rate (no
    per-module overrides) get one run-wide finding, which explains every module's
    symptoms — the lr that blew up one module's KL also made another's loss NaN.

    For Q-learners (DQN, SAC), whose updates no KL measures, a Q-network that collapsed
    to one value for every state and action (``q_values_collapsed``: its units died) is
    the signature on its own.
    """

    rule_id = "lr_too_high"

    def __init__(self, thresholds, facts=None):
        super().__init__(thresholds, facts)
        self._lr: dict[str, float] = {}
        self._seen = 0
        self._kl: dict[str, Finding] = {}
        self._broken: dict[str, Finding] = {}  # entropy_collapse, else non_finite
        self._collapsed: dict[str, Finding] = {}  # q_values_collapsed

    def observe(self, metrics: IterationMetrics, findings: Sequence[Finding]) -> list[Finding]:
        for module, stats in metrics.modules.items():
            if stats.lr is not None:
                self._lr[module] = stats.lr
        for finding in findings[self._seen:]:
            if (finding.rule_id == "kl_blowup" and finding.severity == "error") or \
                    finding.rule_id == "off_policy_drift":
                self._kl.setdefault(finding.module, finding)
            elif finding.rule_id == "q_values_collapsed":
                self._collapsed.setdefault(finding.module, finding)
            elif finding.rule_id == "entropy_collapse" or (
                    finding.rule_id == "non_finite" and finding.module not in self._broken):
                self._broken[finding.module] = finding
        self._seen = len(findings)
        new: list[Finding] = []
        for module, kl in self._kl.items():
            shared = self._sharing(module)
            broken = [self._broken[m] for m in shared if m in self._broken and abs(
                self._broken[m].began_at_iteration - kl.began_at_iteration)
                <= self.thresholds.combination_window]
            if not broken:
                continue
            symptom = next((f for f in broken if f.module == module), broken[0])
            new += self._report(module, kl, symptom, shared, metrics)
        for module, collapsed in self._collapsed.items():
            new += self._report_collapse(module, collapsed, metrics)
        return new

    def _report_collapse(self, module, collapsed, metrics) -> list[Finding]:
        lr = self._lr.get(module)
        return self._once(
            module, "error", began_at_iteration=collapsed.began_at_iteration,
            evidence={"lr": lr, "q_mean": collapsed.evidence["q_mean"],
                      "q_values_collapsed_at_iteration": collapsed.began_at_iteration},
            message=(f"Updates far too large for {module!r}: lr"
                     f"{'' if lr is None else f'={fmt(lr)}'}; its Q-network collapsed to one "
                     f"value ({fmt(collapsed.evidence['q_mean'])}) for every state and action "
                     f"from iteration {collapsed.began_at_iteration}: a step that large killed "
                     "its units."),
            fix=f"{lower_lr_fix(metrics.family)}; then re-run `rldebug doctor` on the new run.",
        )

    def _sharing(self, module: str) -> list[str]:
        """``module`` and the modules trained with the same learning rate."""
        lr = self._lr.get(module)
        if self.facts.per_module_overrides or lr is None:
            return [module]
        return [module] + sorted(m for m, other in self._lr.items()
                                 if m != module and other == lr)

    def _report(self, module, kl, symptom, shared, metrics) -> list[Finding]:
        lr = self._lr.get(module)
        subject = None if len(shared) > 1 else module
        began = min(kl.began_at_iteration, symptom.began_at_iteration)
        if kl.rule_id == "kl_blowup":
            moved = (f"the KL of {module!r} blew up to {fmt(kl.evidence['kl'])} at iteration "
                     f"{kl.began_at_iteration}")
            measure = {"kl": kl.evidence["kl"], "kl_at_iteration": kl.began_at_iteration}
        else:
            ratio = kl.evidence["importance_ratio_mean"]
            moved = (f"the mean importance ratio of {module!r} drifted to {fmt(ratio)} from "
                     f"iteration {kl.began_at_iteration}")
            measure = {"importance_ratio_mean": ratio,
                       "drift_at_iteration": kl.began_at_iteration}
        if symptom.rule_id == "entropy_collapse":
            broke = (f"the entropy of {symptom.module!r} collapsed to "
                     f"{fmt(symptom.evidence['entropy'])} at iteration "
                     f"{symptom.began_at_iteration}")
            measure.update(entropy=symptom.evidence["entropy"],
                           normalised_entropy=symptom.evidence["normalised_entropy"])
        else:
            broke = (f"the statistics of {symptom.module!r} turned non-finite at iteration "
                     f"{symptom.began_at_iteration}")
        measure[f"{symptom.rule_id}_at_iteration"] = symptom.began_at_iteration
        steps = self.facts.sgd_steps
        size = "" if steps is None else (
            f" with {fmt(steps)} SGD steps per batch (num_epochs={fmt(self.facts.num_epochs)} x "
            f"{fmt(self.facts.minibatches)} minibatches)")
        who = f"{module!r}" if subject else f"modules {shared} (they share it)"
        return self._once(
            subject, "error", began_at_iteration=began,
            evidence={"lr": lr, **measure, "modules": shared, "sgd_steps_per_batch": steps},
            message=(f"Updates far too large for {who}: lr"
                     f"{'' if lr is None else f'={fmt(lr)}'}{size}; {moved} and {broke}."),
            fix=(f"{lower_lr_fix(metrics.family)}"
                 + ("; or fewer SGD steps per batch (num_epochs, or a larger minibatch_size)"
                    if steps is not None and steps > 20 else "")
                 + "; then re-run `rldebug doctor` on the new run."),
        )


__all__ = ["LearningRateTooHigh"]
