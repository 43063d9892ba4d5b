"""Rule on numbers that must always be finite: losses, entropy, KL, returns."""

from __future__ import annotations

import math
from collections.abc import Sequence

from rldebug.doctor.families import lower_lr_fix
from rldebug.doctor.findings import Finding
from rldebug.doctor.metrics import IterationMetrics
from rldebug.doctor.rules.base import Rule

_MODULE_FIELDS = ("total_loss", "policy_loss", "vf_loss", "vf_loss_unclipped", "q_loss",
                  "td_error_mean", "q_mean", "entropy", "kl", "vf_explained_var", "alpha")


class NonFinite(Rule):
    """A loss, the entropy, the KL, a Q-value or alpha is NaN or infinite.

    Non-finite returns are :class:`~rldebug.doctor.rules.reward.NonFiniteReturn`'s:
    they come from the env, not from learning.
    """

    rule_id = "non_finite"

    def observe(self, metrics: IterationMetrics, findings: Sequence[Finding]) -> list[Finding]:
        new: list[Finding] = []
        for module, stats in metrics.modules.items():
            bad = {name: getattr(stats, name) for name in _MODULE_FIELDS
                   if getattr(stats, name) is not None and not math.isfinite(getattr(stats, name))}
            if bad:
                new += self._report(module, bad, metrics)
        return new

    def _report(self, module: str, bad: dict[str, float], metrics: IterationMetrics):
        names = ", ".join(f"{k}={v}" for k, v in bad.items())
        kl = (" A NaN KL means some action has ~zero probability: raise entropy_coeff or "
              "set kl_coeff=0.0." if "kl" in bad else "")
        return self._once(
            module, "error", began_at_iteration=metrics.iteration, evidence=dict(bad),
            message=(f"Non-finite learner statistics of {module!r} at iteration "
                     f"{metrics.iteration}: {names}."),
            fix=(f"{lower_lr_fix(metrics.family)}; run rldebug.check_env(...) to rule out "
                 f"NaN/inf observations or rewards.{kl}"),
        )


__all__ = ["NonFinite"]
