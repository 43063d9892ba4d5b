"""Rules on returns and episodes: flat returns, lagging modules, time limits."""

from __future__ import annotations

from collections.abc import Sequence

from rldebug.doctor.findings import Finding
from rldebug.doctor.metrics import IterationMetrics
from rldebug.doctor.rules.base import Rule, Streak, finite, fmt, reward_terms_note


class ReturnNotImproving(Rule):
    """After ``min_iterations``, the recent mean return is flat or below the
    random-policy baseline (measured, or the first iterations' mean)."""

    rule_id = "return_not_improving"
    answered_by_rise = "all"
    about_the_return = True

    def __init__(self, thresholds, facts=None):
        super().__init__(thresholds, facts)
        self._returns: list[float] = []
        self._spreads: list[float] = []
        self._first_iteration: int | None = None

    def observe(self, metrics: IterationMetrics, findings: Sequence[Finding]) -> list[Finding]:
        t = self.thresholds
        if self._first_iteration is None:
            self._first_iteration = metrics.iteration
        if not finite(metrics.return_mean):
            return []
        self._returns.append(metrics.return_mean)
        if finite(metrics.return_min) and finite(metrics.return_max):
            self._spreads.append(metrics.return_max - metrics.return_min)
        if len(self._returns) < max(t.min_iterations, t.baseline_iterations + t.window):
            return []
        early = self._returns[:t.baseline_iterations]
        baseline = t.random_baseline if t.random_baseline is not None else sum(early) / len(early)
        recent = sum(self._returns[-t.window:]) / t.window
        scale = max(self._spreads[:t.baseline_iterations] or
                    [max(self._returns) - min(self._returns)]) or 1.0
        change = recent - baseline
        evidence = {"recent_mean_return": recent, "baseline": baseline,
                    "baseline_source": ("random_baseline" if t.random_baseline is not None
                                        else f"mean of the first {len(early)} iterations"),
                    "return_scale": scale, "iterations": len(self._returns)}
        if change < -t.flat_tolerance * scale:
            collapsed = change < -t.collapse_fraction * scale
            return self._once(
                None, "error" if collapsed else "warning",
                began_at_iteration=metrics.iteration - t.window + 1,
                evidence=evidence,
                message=(f"Mean return of the last {t.window} iterations ({fmt(recent)}) is "
                         f"below the random-policy baseline {fmt(baseline)}: training made "
                         "the policy worse than acting at random."),
                fix=("Look for the findings that explain it (lr_too_high, kl_blowup, "
                     "entropy_collapse, q_values_diverging); check the reward sign and scale; "
                     "compare with a run at a 10x lower lr."),
            )
        if change < t.flat_tolerance * scale:
            terms_sentence, terms_evidence = reward_terms_note(metrics, None)
            if max(self._returns) <= 0:
                terms_sentence += (" No episode returned more than 0: if the task pays "
                                   "positive rewards, the policy never reaches them; if every "
                                   "reward is <= 0 by design (a cost), look at the learner.")
            return self._once(
                None, "warning", began_at_iteration=self._first_iteration,
                evidence={**evidence, **terms_evidence},
                message=(f"Mean return has not moved in {len(self._returns)} iterations: "
                         f"{fmt(recent)} over the last {t.window} vs {fmt(baseline)} at the "
                         f"start (less than {t.flat_tolerance:.0%} of the return range "
                         f"{fmt(scale)}).{terms_sentence}"),
                fix=("Look for the findings that explain it (reward_*, policy_stays_random, "
                     "updates_too_small, value and Q findings). If there are none, the task "
                     "may need more samples per iteration (train_batch_size), a denser reward, "
                     "or simply more iterations."),
            )
        return []


class ModuleNotLearning(Rule):
    """Multi-agent: one module's return improves while another's does not,
    or a module collects returns but reports no learner statistics (not trained)."""

    rule_id = "module_not_learning"
    answered_by_rise = "all"
    about_the_return = True

    def __init__(self, thresholds, facts=None):
        super().__init__(thresholds, facts)
        self._returns: dict[str, list[float]] = {}
        self._range: dict[str, tuple[float, float]] = {}

    def observe(self, metrics: IterationMetrics, findings: Sequence[Finding]) -> list[Finding]:
        t = self.thresholds
        new: list[Finding] = []
        for module, value in metrics.module_returns.items():
            if finite(value):
                self._returns.setdefault(module, []).append(value)
                low, high = self._range.get(module, (value, value))
                self._range[module] = (min(low, value), max(high, value))
        if metrics.modules:
            for module in metrics.module_returns:
                if module not in metrics.modules:
                    new += self._once(
                        module, "info", began_at_iteration=metrics.iteration,
                        evidence={"trained_modules": sorted(metrics.modules)},
                        message=(f"Module {module!r} acts in the env but has no learner "
                                 f"statistics: it is not trained (trained: "
                                 f"{sorted(metrics.modules)})."),
                        fix=("If it should learn, add it to "
                             "config.multi_agent(policies_to_train=[...])."),
                    )
        progress = {m: self._progress(m) for m, r in self._returns.items()
                    if len(r) >= max(t.min_iterations, 2 * t.window)}
        if len(progress) < 2:
            return new
        learning = [m for m, p in progress.items() if p >= 0.5]
        for module, p in progress.items():
            if learning and p <= t.flat_tolerance:
                returns = self._returns[module]
                new += self._once(
                    module, "warning", began_at_iteration=metrics.iteration - len(returns) + 1,
                    evidence={"progress": p, "learning_modules": learning,
                              "early_mean_return": sum(returns[:t.window]) / t.window,
                              "recent_mean_return": sum(returns[-t.window:]) / t.window},
                    message=(f"Module {module!r} is not improving (recent vs early return "
                             f"{p:+.0%} of its range) while {learning} improve."),
                    fix=("Compare its entropy/KL/explained variance with the learning "
                         "module(s); give it its own lr/entropy_coeff via "
                         "config.multi_agent(algorithm_config_overrides_per_module=...); in "
                         "competitive games its falling return may just mean the opponent "
                         "learns faster."),
                )
        return new

    def _progress(self, module: str) -> float:
        """(recent window mean - first window mean) / range of the module's returns."""
        w = self.thresholds.window
        returns = self._returns[module]
        low, high = self._range[module]
        spread = high - low
        if spread <= 0:
            return 0.0
        return (sum(returns[-w:]) - sum(returns[:w])) / w / spread


class AlwaysTruncated(Rule):
    """Every episode has the same length for several iterations: episodes end
    only at the time limit, never because the task was done or failed."""

    rule_id = "episodes_hit_time_limit"

    def __init__(self, thresholds, facts=None):
        super().__init__(thresholds, facts)
        self._streak = Streak()
        self._length: float | None = None

    def observe(self, metrics: IterationMetrics, findings: Sequence[Finding]) -> list[Finding]:
        mean = metrics.len_mean
        if not finite(mean):
            return []
        if finite(metrics.len_min) and finite(metrics.len_max):
            constant = metrics.len_min == metrics.len_max == mean
        else:
            constant = mean == self._length and float(mean).is_integer()
        if not constant or mean != self._length:
            self._streak.update(False, metrics.iteration)
        self._length = mean
        length = self._streak.update(constant, metrics.iteration)
        if length < self.thresholds.truncation_patience:
            return []
        return self._once(
            None, "info", began_at_iteration=self._streak.start,
            evidence={"episode_len": mean, "iterations": length},
            message=(f"Every episode in the last {length} iterations lasted exactly "
                     f"{mean:g} steps: episodes end only at the time limit."),
            fix=("If the task has a goal or failure state, return terminated=True from step() "
                 "when it happens; if the limit is the only end, return it as truncated=True "
                 "(not terminated) so PPO bootstraps the value; a shorter limit gives more "
                 "episodes per batch."),
        )


__all__ = ["AlwaysTruncated", "ModuleNotLearning", "ReturnNotImproving"]
