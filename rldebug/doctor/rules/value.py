"""Rules on the critic: not learning, exploding loss, and silent death by value clipping."""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from rldebug.doctor.findings import Finding
from rldebug.doctor.metrics import IterationMetrics
from rldebug.doctor.rules.base import (
    HORIZON_SHORTFALL,
    ModuleReturnHistory,
    ReturnRange,
    Rule,
    Streaks,
    finite,
    fmt,
    return_change,
)


class ValueNotLearning(Rule):
    """Explained variance at or below the floor (0) for several iterations.

    0 means the critic predicts no better than a constant, below 0 worse than
    that; advantages then carry no information from the critic.
    """

    rule_id = "value_not_learning"

    def __init__(self, thresholds, facts=None):
        super().__init__(thresholds, facts)
        self._low = Streaks()
        self._returns = ReturnRange()

    def _nothing_to_explain(self, stats) -> bool:
        """The value targets barely vary: with explained variance <= 0 their variance is
        at most the (unclipped) value loss, and a loss under ``TARGETS_CONSTANT`` times the
        squared return scale leaves them constant to within 1 % of it (a policy that
        learned to avoid the only reward: every target ~0). There is nothing to explain."""
        loss = stats.vf_loss_unclipped if finite(stats.vf_loss_unclipped) else (
            stats.vf_loss if finite(stats.vf_loss) and
            stats.vf_loss < VF_LOSS_BELOW_CLIP * self.thresholds.vf_clip_param else None)
        return loss is not None and loss <= TARGETS_CONSTANT * self._returns.scale ** 2

    def observe(self, metrics: IterationMetrics, findings: Sequence[Finding]) -> list[Finding]:
        t = self.thresholds
        new: list[Finding] = []
        self._returns.add_iteration(metrics)
        for module, stats in metrics.modules.items():
            ev = stats.vf_explained_var
            if not finite(ev) or self._nothing_to_explain(stats):
                self._low[module].update(False, metrics.iteration)
                continue
            streak = self._low[module]
            length = streak.update(ev <= t.explained_variance_floor, metrics.iteration)
            if length >= t.explained_variance_patience:
                new += self._once(
                    module, "warning", began_at_iteration=streak.start,
                    evidence={"vf_explained_var": ev, "iterations": length,
                              "floor": t.explained_variance_floor, "vf_loss": stats.vf_loss},
                    message=(f"Explained variance of {module!r}'s value function has been "
                             f"<= {fmt(t.explained_variance_floor)} for {length} iterations "
                             f"(now {fmt(ev)}): the critic predicts returns no better than a "
                             "constant."),
                    fix=("Check the vf_loss: if it sits at vf_clip_param raise vf_clip_param "
                         "(see critic_clipped); scale rewards so returns are O(1-10); try "
                         "vf_share_layers=False, a larger vf_loss_coeff or a lower lr. Check "
                         "too that the observations tell the return: observations that never "
                         "change (rldebug.run(config, trace='batches') lets the doctor check "
                         "them), or that leave out what the return depends on (the time left "
                         "in a time-limited episode), leave nothing to predict it from."),
                )
        return new


class ValueLossExploding(Rule):
    """Value loss grew ``vf_loss_explode_factor`` times above its lowest value
    while explained variance stayed at or below the floor."""

    rule_id = "value_loss_exploding"

    def __init__(self, thresholds, facts=None):
        super().__init__(thresholds, facts)
        self._lowest: dict[str, tuple[float, int]] = {}
        self._returns = ReturnRange()

    def observe(self, metrics: IterationMetrics, findings: Sequence[Finding]) -> list[Finding]:
        t = self.thresholds
        new: list[Finding] = []
        self._returns.add_iteration(metrics)
        # A squared value error below a hundredth of the squared return scale is no
        # explosion, however small the lowest loss was (a solved task's returns are all
        # alike, so its value loss falls to ~0 and any wobble is many times that); and
        # neither is one below the variance a constant guess could leave: returns within
        # a range of R vary by at most R^2/4 (Popoviciu), so a critic whose squared error
        # is under that still beats no critic (a 0/1 goal reward: 0.04 is no explosion).
        floor = max(VALUE_LOSS_FLOOR * self._returns.scale ** 2, self._returns.spread ** 2 / 4)
        for module, stats in metrics.modules.items():
            # The unclipped loss shows the real error; the clipped one saturates.
            loss = stats.vf_loss_unclipped if finite(stats.vf_loss_unclipped) else stats.vf_loss
            if not finite(loss):
                continue
            lowest, at = self._lowest.get(module, (loss, metrics.iteration))
            if loss < lowest:
                lowest, at = loss, metrics.iteration
            self._lowest[module] = (lowest, at)
            ev = stats.vf_explained_var
            if lowest > 0 and loss > max(t.vf_loss_explode_factor * lowest, floor) and \
                    (not finite(ev) or ev <= t.explained_variance_floor):
                new += self._once(
                    module, "warning", began_at_iteration=metrics.iteration,
                    evidence={"vf_loss": loss, "lowest_vf_loss": lowest,
                              "lowest_at_iteration": at, "growth": loss / lowest,
                              "vf_explained_var": ev},
                    message=(f"Value loss of {module!r} grew to {fmt(loss)}, "
                             f"{fmt(loss / lowest)}x its lowest ({fmt(lowest)} at iteration "
                             f"{at}), while explained variance is {fmt(ev)}."),
                    fix=("Scale or clip rewards so returns stay O(1-10), lower lr, set "
                         "grad_clip (e.g. 0.5); check the env's rewards with "
                         "rldebug.check_env."),
                )
        return new


# A value loss must exceed this fraction of the squared return scale to be "exploding".
VALUE_LOSS_FLOOR = 1e-2

# Value targets constant to within 1 % of the return scale: sd <= 0.01 * scale.
TARGETS_CONSTANT = 1e-4

# A clipped value loss this far below vf_clip_param is the real loss (not clipped).
VF_LOSS_BELOW_CLIP = 0.5

# Explained variance at or below this: the critic explains (next to) nothing of the returns.
CRITIC_EXPLAINS_NOTHING = 0.1


class CriticClipped(Rule):
    """The silent critic death: ``vf_loss`` sits at ``vf_clip_param``.

    RLlib clamps every sample's squared value error at ``vf_clip_param`` before
    averaging, and a clamped sample has zero gradient. When the mean clipped loss
    is at the clip value, (nearly) every sample is clamped and the critic stops
    learning; ``vf_loss_unclipped`` (new stack) shows how far off it really is.

    Reported as a warning when the clipping begins. Once the return can be judged
    (``min_iterations``) the finding says what it cost: an error when the return
    has not improved while the critic explains nothing (explained variance at or
    below its floor) — the clipped critic is then why the run does not learn (PPO on
    Pendulum with RLlib's defaults) — and info (worth knowing) when the return does
    improve (PPO on CartPole with RLlib's defaults reaches returns in the hundreds), or
    when it fell: at RLlib's ``lambda_=1`` an advantage is the return that followed less
    the critic's guess, so a critic without signal only leaves it without a baseline,
    which slows learning but does not make a policy worse than where it began.

    Unless GAE leans on the critic: an advantage sees ``1 / (1 - gamma * lambda_)`` steps
    of reward and takes the rest from the critic's predictions
    (:attr:`RunFacts.reward_horizon_without_critic`). Where that is a small share of the
    episodes (:data:`HORIZON_SHORTFALL`, as for a discount that short), the advantages of a
    clipped critic are those steps' rewards and a stale critic's guesses: the bandit's
    credit of ``gamma=0`` (``horizon_too_short``), which no rise answers. Its explained
    variance cannot vouch for it there (its targets are then mostly its own predictions of
    the next state: RLlib's own Pendulum settings with ``vf_clip_param`` 0.1 kept it near
    0.5 while the return fell). The clip is then an error whether the return stayed flat
    or fell (a bias, not noise: it can push the policy anywhere), and a warning where it
    rose (as far as those steps teach).
    """

    rule_id = "critic_clipped"
    answered_by_rise = "all"

    def __init__(self, thresholds, facts=None):
        super().__init__(thresholds, facts)
        self._saturated = Streaks()
        self._history = ModuleReturnHistory(thresholds)
        self._open: dict[str, Finding] = {}
        self._lengths: list[float] = []
        self._explained: dict[str, list[float]] = {}  # each module's explained variances

    def observe(self, metrics: IterationMetrics, findings: Sequence[Finding]) -> list[Finding]:
        t = self.thresholds
        clip = t.vf_clip_param
        new: list[Finding] = []
        if metrics.family not in (None, "ppo"):
            return new  # only PPO clips the value loss (APPO/IMPALA log an unclipped vf_loss)
        self._history.add_iteration(metrics)
        if finite(metrics.len_mean):
            self._lengths.append(metrics.len_mean)
        for module, stats in metrics.modules.items():
            if finite(stats.vf_explained_var):
                self._explained.setdefault(module, []).append(stats.vf_explained_var)
            self._judge(module)
            if not finite(stats.vf_loss):
                continue
            at_clip = stats.vf_loss >= t.vf_clip_saturation * clip
            has_unclipped = finite(stats.vf_loss_unclipped)
            if has_unclipped:
                at_clip = at_clip and stats.vf_loss_unclipped >= t.vf_clip_unclipped_factor * clip
            streak = self._saturated[module]
            length = streak.update(at_clip, metrics.iteration)
            if length < t.vf_clip_patience:
                continue
            unclipped = (f", while the unclipped loss is {fmt(stats.vf_loss_unclipped)}"
                         if has_unclipped else " (this stack does not log the unclipped loss)")
            found = self._once(
                module, "warning", began_at_iteration=streak.start,
                evidence={"vf_loss": stats.vf_loss,
                          "vf_loss_unclipped": stats.vf_loss_unclipped,
                          "vf_clip_param": clip, "iterations": length,
                          "vf_explained_var": stats.vf_explained_var},
                message=(f"Value loss of {module!r} has sat at vf_clip_param={fmt(clip)} for "
                         f"{length} iterations (now {fmt(stats.vf_loss)}){unclipped}: every "
                         "sample's value error is clipped, so the critic gets no gradient "
                         "and advantages come from a critic that stopped improving."),
                fix=("Raise vf_clip_param above the squared return scale, e.g. "
                     "config.training(vf_clip_param=float('inf')) or 10x the largest "
                     "vf_loss_unclipped you expect, or scale rewards down so returns are "
                     "O(1-10)."),
            )
            self._open.update((f.module, f) for f in found)
            new += found
            self._judge(module)  # a clip found late: judged now
        return new

    def _judge(self, module: str) -> None:
        """Once the return can be judged, say what the clipped critic cost."""
        finding = self._open.get(module)
        progress = self._history.progress(module)
        if finding is None or progress is None:
            return
        del self._open[module]
        ev = self._median_explained(module, progress)
        finding.evidence.update(progress, vf_explained_var_median=ev)
        explains_nothing = ev is None or ev <= CRITIC_EXPLAINS_NOTHING
        horizon = self._reward_horizon()
        if horizon is not None:
            self._judge_leaned_on(finding, progress, ev, horizon)
        elif progress["change"] < -progress["tolerance"]:
            # Advantages from a critic that explains nothing have no baseline: noisier,
            # slower learning, but not a policy driven worse than where it began.
            finding.severity = "info"
            finding.evidence["return_fell"] = True
            finding.message += (
                f" The return fell ({return_change(progress)} in {progress['iterations']} "
                "iterations): a critic that explains nothing leaves the advantages "
                "without a baseline, which slows learning but does not by itself make a "
                "policy worse, so something else moved it (see the other findings).")
        elif progress["flat"] and explains_nothing:
            finding.severity = "error"
            finding.message += (
                f" The return has not improved in {progress['iterations']} iterations "
                f"({return_change(progress)}) and the critic explains nothing "
                f"(median explained variance {fmt(ev)}): without a critic the advantages are too "
                "noisy to learn from. This is why the run does not learn.")
        elif not progress["flat"]:
            finding.severity = "info"  # worth knowing: the run learns regardless
            if "resolved_at_iteration" not in finding.evidence:  # not said already
                finding.message += (
                    f" The policy still learns (return {return_change(progress)}), only "
                    "less efficiently than it could.")

    def _median_explained(self, module: str, progress: dict) -> float | None:
        """The critic's median explained variance over the iterations the return was
        judged on (one iteration's can be noise)."""
        window = self._explained.get(module, [])[-progress["iterations"]:]
        return statistics.median(window) if window else None

    def _reward_horizon(self) -> float | None:
        """The steps of reward a GAE advantage sees on its own, where they are a small
        share of the episodes (:data:`HORIZON_SHORTFALL`); None otherwise or unknown."""
        horizon = self.facts.reward_horizon_without_critic
        length = self._mean_length()
        if horizon is None or length is None:
            return None
        return horizon if horizon * HORIZON_SHORTFALL <= length else None

    def _mean_length(self) -> float | None:
        return sum(self._lengths) / len(self._lengths) if self._lengths else None

    def _judge_leaned_on(self, finding: Finding, progress: dict, ev, horizon: float) -> None:
        """A clipped critic where GAE takes all but ``horizon`` steps of each advantage from
        it, whatever its explained variance ``ev``: an error where the return stayed flat
        or fell, a warning where it rose; no later rise answers it (:meth:`rise_answers`)."""
        facts, length = self.facts, self._mean_length()
        fell = progress["change"] < -progress["tolerance"]
        finding.severity = "warning" if not progress["flat"] and not fell else "error"
        finding.evidence.update(
            gamma=facts.gamma, gae_lambda=facts.gae_lambda, reward_horizon_steps=horizon,
            episode_len_mean=length, whatever_the_return=True)
        returns = f"{return_change(progress)} in {progress['iterations']} iterations"
        finding.message += (
            f" With gamma={fmt(facts.gamma)} and lambda_={fmt(facts.gae_lambda)}, each "
            f"advantage sees about {fmt(horizon)} step(s) of reward (1 / (1 - gamma * "
            "lambda_)) and takes the rest from the critic's predictions, while episodes "
            f"last {fmt(length)} steps. The clipped critic learns from (almost) no sample, "
            f"and its explained variance (median {fmt(ev)}) cannot vouch for it: at this "
            "lambda_ its targets are mostly its own predictions of the next state. So the "
            "advantages hold those steps' rewards and a stale critic's guesses, a biased "
            "signal that can push the policy anywhere, not only slowly. "
            + (f"The return rose ({returns}) only as far as those steps teach."
               if finding.severity == "warning" else
               f"The return {'fell' if fell else 'has not improved'} ({returns}): this is "
               "why the run does not learn."))
        finding.fix += (f" (At lambda_={fmt(facts.gae_lambda)} the advantages come almost "
                        "wholly from the critic, so a clipped one costs more than at a "
                        "lambda_ near 1, RLlib's default.)")

    def rise_answers(self, finding: Finding, progress: dict) -> bool:
        """A rise answers the claim that the return does not improve, but not a critic GAE
        leans on (:meth:`_judge_leaned_on`): its error becomes the warning it is where the
        return moved."""
        if not finding.evidence.get("whatever_the_return"):
            # not judged yet (the return is judged after this revisit): the judgement says
            return self._reward_horizon() is None
        if finding.severity == "error":
            finding.severity = "warning"
            rose = finding.evidence["rose_later"] = return_change(progress)
            finding.message += f" The return rose later ({rose}), as far as those steps teach."
        return False


__all__ = ["CriticClipped", "ValueLossExploding", "ValueNotLearning"]
