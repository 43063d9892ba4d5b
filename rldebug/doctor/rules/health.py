"""Rule on numbers that must always be finite: losses, entropy, KL, returns."""

from __future__ import annotations

import math
from collections.abc import Sequence

from rldebug.doctor.findings import Finding
from rldebug.doctor.metrics import IterationMetrics
from rldebug.doctor.rules.base import Rule

_MODULE_FIELDS = ("total_loss", "policy_loss", "vf_loss", "vf_loss_unclipped", "entropy",
                  "kl", "vf_explained_var")


class NonFinite(Rule):
    """A loss, the entropy, the KL or the mean return is NaN or infinite."""

    rule_id = "non_finite"

    def observe(self, metrics: IterationMetrics, findings: Sequence[Finding]) -> list[Finding]:
        new: list[Finding] = []
        for module, stats in metrics.modules.items():
            bad = {name: getattr(stats, name) for name in _MODULE_FIELDS
                   if getattr(stats, name) is not None and not math.isfinite(getattr(stats, name))}
            if bad:
                new += self._report(module, bad, metrics.iteration)
        if metrics.return_mean is not None and not math.isfinite(metrics.return_mean):
            new += self._report(None, {"episode_return_mean": metrics.return_mean},
                                metrics.iteration)
        return new

    def _report(self, module: str | None, bad: dict[str, float], iteration: int):
        names = ", ".join(f"{k}={v}" for k, v in bad.items())
        where = f"of {module!r}" if module else "of the episodes"
        return self._once(
            module, "error", began_at_iteration=iteration, evidence=dict(bad),
            message=f"Non-finite values {where} at iteration {iteration}: {names}.",
            fix=("Lower lr and set grad_clip (e.g. config.training(grad_clip=0.5)); run "
                 "rldebug.check_env(...) to rule out NaN/inf observations or rewards; a NaN "
                 "KL means some action has ~zero probability: raise entropy_coeff or set "
                 "kl_coeff=0.0."),
        )


__all__ = ["NonFinite"]
