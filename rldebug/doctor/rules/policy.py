"""Rules on the policy's updates: entropy collapse and KL blow-up."""

from __future__ import annotations

import math
from collections.abc import Sequence

from rldebug.doctor.families import DEFAULT_LR, lower_lr_fix
from rldebug.doctor.findings import Finding
from rldebug.doctor.metrics import IterationMetrics
from rldebug.doctor.rules.base import (
    ModuleReturnHistory,
    Rule,
    Streaks,
    clearly_rose,
    finite,
    fmt,
    return_change,
)
from rldebug.doctor.thresholds import Thresholds


class EntropyCollapse(Rule):
    """The policy's entropy fell below a fraction of its maximum, ``log|A|``.

    A collapse within the first few iterations is an error: the policy turned
    (nearly) deterministic before it could have learned anything, and PPO's
    sampled actions no longer explore — unless the return rose meanwhile: an easy
    task learnt fast (a goal reached in every episode) is a policy that converged,
    which is worth knowing (info), not a fault.
    """

    rule_id = "entropy_collapse"
    answered_by_rise = "warnings"

    def __init__(self, thresholds: Thresholds, facts=None):
        super().__init__(thresholds, facts)
        self._highest: dict[str, float] = {}
        self._first_iteration: int | None = None
        self._returns = ModuleReturnHistory(thresholds)

    def _converged(self, module: str) -> bool:
        """The module's return rose clearly above its first value (beyond the episode
        spread's flat tolerance): it learnt before its entropy fell."""
        values = self._returns.values.get(module, [])
        if len(values) < 2:
            return False
        spread = max(self._returns.spreads, default=0.0)
        tolerance = max(self.thresholds.flat_tolerance * spread, 1e-9)
        return values[-1] > values[0] + tolerance and values[-1] >= max(values) - tolerance

    def observe(self, metrics: IterationMetrics, findings: Sequence[Finding]) -> list[Finding]:
        t = self.thresholds
        if self._first_iteration is None:
            self._first_iteration = metrics.iteration
        self._returns.add_iteration(metrics)
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
            converged = self._converged(module)
            when = (f"within {age} iteration(s) of the start, before the policy can have "
                    "learned" if early and not converged else f"at iteration {metrics.iteration}")
            if converged:
                when += (" after its return rose to the best seen so far: it converged; if "
                         "that return is below what the task allows, it stopped exploring "
                         "too soon")
            new += self._once(
                module, "info" if converged else "error" if early else "warning",
                began_at_iteration=metrics.iteration,
                evidence={"entropy": entropy, "reference_entropy": reference,
                          "reference": source, "normalised_entropy": ratio,
                          "threshold": t.entropy_collapse_ratio,
                          "lr": stats.lr},
                message=(f"Policy entropy of {module!r} fell to {fmt(entropy)} nats, "
                         f"{ratio:.0%} of {source} ({fmt(reference)}), {when}: the policy "
                         "is (nearly) deterministic and stops exploring."),
                fix=(("Nothing, if that return is what the task allows. If it is less, "
                      "keep the policy exploring longer: add an entropy bonus "
                      "(config.training(entropy_coeff=0.01)).")
                     if converged else
                     (f"{lower_lr_fix(metrics.family)}, use fewer num_epochs or a smaller "
                      "clip_param, and/or add an entropy bonus "
                      "(config.training(entropy_coeff=0.01)). If the policy has converged on "
                      "purpose, ignore this warning.")),
            )
        return new


class KLBlowup(Rule):
    """The KL between the sampling policy and the updated one is far above ``kl_target``.

    RLlib raises the KL coefficient by 1.5x each iteration the KL exceeds
    ``2 * kl_target``; staying above it for several iterations means that
    controller is losing (warning); one iteration above
    ``kl_blowup_factor * kl_target`` means one update moved the policy far (error).
    A warning whose KL then stays below ``2 * kl_target`` for as many iterations as
    it took to raise it, and for the rest of the run, was the controller catching
    up: it turns into info and says when — unless it began before the return could
    be judged and the return has not improved since. The controller catches up by
    raising the KL coefficient, which then holds back every later update, and the
    updates that blew up had already moved the policy away from what it had learned:
    the blow-up is then why the run does not learn, and stays a warning.

    A blow-up from the first iterations (before the return could be judged: the step size
    against a fresh policy, not a policy that sharpened as it learned) is answered neither
    by a catch-up nor by a rise of the return while the controller still holds the
    coefficient at ``KL_COEFF_RAISED`` times its start or more. The controller lowers it
    only in iterations whose KL is under ``kl_target / 2``, so after a blow-up it can stay
    raised for the rest of the run: every later update pays a KL penalty that many times
    the configured one, and the run learns at the pace that penalty allows, unless its
    return has reached the env's declared success (a cost it could afford).
    """

    rule_id = "kl_blowup"
    answered_by_rise = "warnings"

    def __init__(self, thresholds: Thresholds, facts=None):
        super().__init__(thresholds, facts)
        self._high = Streaks()
        self._low = Streaks()
        self._first_coeff: dict[str, float] = {}
        self._latest_coeff: dict[str, float] = {}
        self._held_said: dict[str, str] = {}  # what _still_held added to a message
        self._streak_high: dict[str, float] = {}
        self._open: dict[str, tuple[Finding, str]] = {}  # warnings, with their first message
        self._returns = ModuleReturnHistory(thresholds)

    def _caught_up(self, module: str, high_for: int, iteration: int) -> None:
        """An open warning becomes info once the KL has stayed under control for
        ``kl_high_patience`` iterations; a warning again if it stays high that long
        once more (the controller lost again)."""
        if module not in self._open:
            return
        finding, message = self._open[module]
        if "resolved_at_iteration" in finding.evidence:
            del self._open[module]  # the return rose since: the diagnosis says so instead
            return
        low = self._low[module]
        low.update(high_for == 0, iteration)
        patience = self.thresholds.kl_high_patience
        if high_for >= patience:
            finding.severity, finding.message = "warning", message
            for key in ("caught_up_at_iteration", *_FLAT_SINCE):
                finding.evidence.pop(key, None)
        elif low.length >= patience and "caught_up_at_iteration" not in finding.evidence:
            finding.evidence["caught_up_at_iteration"] = low.start
        if "caught_up_at_iteration" in finding.evidence:
            self._judge_caught_up(module, finding)

    def _judge_caught_up(self, module: str, finding: Finding) -> None:
        """Info, once the controller caught up; a warning while a blow-up from before the
        return could be judged is followed by a return that has not improved."""
        t, evidence = self.thresholds, finding.evidence
        finding.severity = "info"
        finding.message = (
            f"KL of {module!r} stayed above {fmt(t.kl_high_factor)}x "
            f"kl_target={fmt(evidence['kl_target'])} for {evidence['iterations_above']} "
            f"iterations from iteration {finding.began_at_iteration} (up to "
            f"{fmt(evidence.get('kl_highest', evidence['kl']))}, the KL coefficient raised to "
            f"{fmt(evidence['kl_coeff'])}), and RLlib's controller caught up: from "
            f"iteration {evidence['caught_up_at_iteration']} on it has not stayed above "
            f"that for {t.kl_high_patience} iterations again.")
        for key in _FLAT_SINCE:
            evidence.pop(key, None)
        progress = self._returns.progress(module)
        if finding.began_at_iteration >= t.min_iterations or progress is None or \
                not progress["flat"]:
            self._still_held(module, finding, progress)
            return
        self._forget_held(module, finding)  # the message below says what the raise costs
        finding.severity = "warning"
        evidence.update(return_flat_since=True, early_mean_return=progress["early_mean_return"],
                        recent_mean_return=progress["recent_mean_return"])
        start, now = evidence.get("kl_coeff_at_start"), evidence.get("kl_coeff")
        raised = now / start if finite(start) and finite(now) and start > 0 else None
        finding.message += (
            f" But the return has not improved since ({return_change(progress)} in "
            f"{progress['iterations']} "
            "iterations): updates that large moved the policy away from what it had "
            "learned, and the controller caught up by raising the KL coefficient"
            + (f" {fmt(raised)}x" if raised else "")
            + ", which holds back every update that follows.")

    def rise_answers(self, finding: Finding, progress: dict) -> bool:
        """A rise of the return answers the warning only once the controller has let the
        coefficient fall back, or the return has reached the env's declared success
        (:meth:`_still_held`)."""
        return not self._still_held(finding.module, finding, progress)

    def _still_held(self, module: str, finding: Finding, progress: dict | None) -> bool:
        """True, with the finding a warning that says so, while RLlib's controller still
        holds the KL coefficient at :data:`KL_COEFF_RAISED` times its start or more after
        a blow-up from the first ``min_iterations``, and the return has not reached the
        env's declared success."""
        self._forget_held(module, finding)
        first, latest = self._first_coeff.get(module), self._latest_coeff.get(module)
        success = self.facts.env.reward_threshold
        if finding.began_at_iteration >= self.thresholds.min_iterations or \
                first is None or first <= 0 or latest is None or \
                latest < KL_COEFF_RAISED * first * (1.0 - 1e-6) or \
                (success is not None and progress is not None
                 and progress["recent_mean_return"] >= success):
            return False
        rose = progress is not None and not progress["flat"]
        said = (" " + (f"The return rose ({return_change(progress)}), but RLlib's" if rose
                       else "RLlib's")
                + f" controller still holds the KL coefficient at {fmt(latest)}, "
                f"{fmt(latest / first)}x where it started (it lowers it only in iterations "
                "whose KL is under kl_target/2): every update pays a KL penalty that many "
                "times the configured one, so the run learns at the pace that penalty "
                "allows.")
        finding.message += said
        self._held_said[module] = said
        finding.severity = "warning"
        finding.evidence.update(kl_coeff_held=latest / first, kl_coeff_latest=latest)
        return True

    def _forget_held(self, module: str, finding: Finding) -> None:
        """Take what :meth:`_still_held` last said off the finding's message and evidence."""
        said = self._held_said.pop(module, "")
        if said and finding.message.endswith(said):
            finding.message = finding.message[:-len(said)]
        for key in ("kl_coeff_held", "kl_coeff_latest"):
            finding.evidence.pop(key, None)

    def observe(self, metrics: IterationMetrics, findings: Sequence[Finding]) -> list[Finding]:
        t = self.thresholds
        target = t.kl_target
        new: list[Finding] = []
        self._returns.add_iteration(metrics)
        for module, stats in metrics.modules.items():
            kl = stats.kl
            if finite(stats.kl_coeff):
                self._latest_coeff[module] = stats.kl_coeff
                if module not in self._first_coeff:
                    self._first_coeff[module] = self._starting_coeff(stats, metrics.stack)
            if kl is None or math.isnan(kl):
                continue  # an infinite KL is the largest blow-up there is; NaN is non_finite's
            streak = self._high[module]
            length = streak.update(kl > t.kl_high_factor * target, metrics.iteration)
            # the highest KL of the current run of high iterations
            self._streak_high[module] = (max(kl, self._streak_high.get(module, kl))
                                         if length > 1 else kl)
            self._caught_up(module, length, metrics.iteration)
            evidence = {"kl": kl, "kl_highest": self._streak_high[module],
                        "kl_target": target, "kl_over_target": kl / target,
                        "kl_coeff": stats.kl_coeff,
                        "kl_coeff_at_start": self._first_coeff.get(module), "lr": stats.lr}
            fix = ("Lower the learning rate (e.g. 10x) or num_epochs so each update stays "
                   "close to the sampling policy; keep use_kl_loss=True with kl_coeff > 0 "
                   "and consider a smaller clip_param or grad_clip=0.5.")
            if kl > t.kl_blowup_factor * target:
                new += self._once(
                    module, "error", began_at_iteration=metrics.iteration, evidence=evidence,
                    message=(f"KL of {module!r} reached {fmt(kl)}, "
                             + (f"{fmt(kl / target)}x" if math.isfinite(kl) else
                                "beyond any multiple of")
                             + f" kl_target={fmt(target)} in one iteration (error above "
                             f"{fmt(t.kl_blowup_factor)}x): one update moved the policy far "
                             "from the one that collected the data."),
                    fix=fix)
            elif length >= t.kl_high_patience and self._controller_losing(module, stats):
                evidence["iterations_above"] = length
                warned = self._once(
                    module, "warning", began_at_iteration=streak.start, evidence=evidence,
                    message=(f"KL of {module!r} stayed above {fmt(t.kl_high_factor)}x "
                             f"kl_target={fmt(target)} for {length} iterations (now "
                             f"{fmt(kl)}); RLlib raises the KL coefficient 1.5x each such "
                             f"iteration (now {fmt(stats.kl_coeff)}) and is not catching up."),
                    fix=fix)
                self._open.update((f.module, (f, f.message)) for f in warned)
                new += warned
        for module, (finding, _) in self._open.items():
            # a caught-up warning is _judge_caught_up's; one a rise answered stays answered
            if not {"caught_up_at_iteration", "resolved_at_iteration"} & finding.evidence.keys():
                self._still_held(module, finding, self._returns.progress(module))
        return new

    def _starting_coeff(self, stats, stack: str) -> float:
        """The KL coefficient before the first update: the config's ``kl_coeff``, else the
        first one logged. The new stack's PPO Learner logs the coefficient after its
        controller moved it for that iteration's KL (``_update_module_kl_coeff``: 1.5x
        above ``2 * kl_target``, 0.5x below ``0.5 * kl_target``), so that step is undone."""
        configured = self.facts.kl_coeff
        if configured is not None and configured > 0:
            return configured
        coeff, kl, target = stats.kl_coeff, stats.kl, self.thresholds.kl_target
        if stack == "new" and finite(kl):
            if kl > 2.0 * target:
                return coeff / 1.5
            if kl < 0.5 * target:
                return coeff * 2.0
        return coeff

    def _controller_losing(self, module: str, stats) -> bool:
        """RLlib's KL controller has raised the coefficient (1.5x per high-KL iteration)
        to at least ``KL_COEFF_RAISED`` times where it started, and the KL is still high.
        A KL above target whose coefficient has not grown (it fell again in between) is
        the controller doing its job. Unknown without a logged coefficient."""
        first = self._first_coeff.get(module)
        if not finite(stats.kl_coeff) or first is None or first <= 0:
            return True
        # the coefficient is logged as float32: 0.2 raised twice reads 0.45000001
        return stats.kl_coeff >= KL_COEFF_RAISED * first * (1.0 - 1e-6)


# "Most of the run": the share of iterations a forced-random policy spends near its maximum;
# "near" for a policy held random by its entropy bonus: within 5 % of the maximum (or of the
# first value). A healthy CartPole policy keeps ~80-90 % of log 2 while it learns, and APPO
# and IMPALA, whose advantages are not standardised, learn through entropy_coeff=1 as their
# controls do (measured on the fault benchmark): the 90 % band of an unforced policy is too
# wide to say that an entropy bonus holds the policy at its maximum.
MOST_OF_THE_RUN = 0.8
HELD_RANDOM_RATIO = 0.95


# Evidence of a caught-up blow-up followed by a return that did not improve.
_FLAT_SINCE = ("return_flat_since", "early_mean_return", "recent_mean_return")
# The KL coefficient raised this many times its start: 1.5^2, two raises with no effect.
KL_COEFF_RAISED = 2.25


class PolicyStaysRandom(Rule):
    """The entropy stays near its maximum (or its first value) while the return is flat.

    The policy still acts (nearly) at random after ``min_iterations``: either the
    entropy bonus outweighs the advantages (``entropy_coeff`` far too high) or
    the policy gets no learning signal at all. If the return later rises clearly
    (two standard errors, beyond the flat tolerance), it was a slow start: the
    finding turns into info and says when.
    """

    rule_id = "policy_stays_random"

    def __init__(self, thresholds: Thresholds, facts=None):
        super().__init__(thresholds, facts)
        self._history = ModuleReturnHistory(thresholds)
        self._first: dict[str, float] = {}
        # per module: the iterations whose entropy was near the reference, and the first
        self._near: dict[str, list[int]] = {}
        self._since: dict[str, int] = {}
        self._open: dict[str, Finding] = {}
        self._held: dict[str, list[bool]] = {}  # per iteration: within 5 % of the maximum
        self._forced_open: dict[str, Finding] = {}

    def _resolve(self, module: str, iteration: int) -> None:
        """A reported module whose return has since clearly risen was a slow start: its
        finding becomes info, saying so (the live console showed it when it began)."""
        finding = self._open.get(module)
        if finding is None:
            return
        latest = self._history.values.get(module, [None])[-1]
        if latest is None or latest <= finding.evidence["early_mean_return"] + \
                finding.evidence["tolerance"]:
            return  # cheap: the newest return has not even left the flat band
        progress = self._history.progress(module)
        if not clearly_rose(progress):
            return
        del self._open[module]
        finding.severity = "info"
        finding.evidence["resolved_at_iteration"] = iteration
        finding.message += (f" It started learning later: by iteration {iteration} the mean "
                            f"return rose from {fmt(progress['early_mean_return'])} to "
                            f"{fmt(progress['recent_mean_return'])}.")

    def observe(self, metrics: IterationMetrics, findings: Sequence[Finding]) -> list[Finding]:
        t = self.thresholds
        self._history.add_iteration(metrics)
        new: list[Finding] = []
        for module, stats in metrics.modules.items():
            self._resolve(module, metrics.iteration)
            if not finite(stats.entropy) or module in self._open or (
                    (module, "error") in self._reported and module not in self._forced_open):
                continue
            first = self._first.setdefault(module, stats.entropy)
            reference = t.reference_entropy(module)
            source = "log|A|" if reference is not None else "its first value"
            reference = first if reference is None else reference
            near = stats.entropy >= t.random_entropy_ratio * reference if reference > 0 \
                else stats.entropy >= reference
            # exactly 0: a deterministic (collapsed) policy, never a random one, also
            # against a first value of 0 (a Gaussian's differential entropy is never
            # exactly 0 in practice)
            near = near and stats.entropy != 0
            since = self._since.setdefault(module, metrics.iteration)
            nears = self._near.setdefault(module, [])
            if near:
                nears.append(metrics.iteration)
            history = self._held.setdefault(module, [])
            history.append(stats.entropy >= HELD_RANDOM_RATIO * reference if reference > 0
                           else near)
            coeff = stats.entropy_coeff if finite(stats.entropy_coeff) else \
                self.facts.entropy_coeff
            if finite(coeff) and coeff > t.entropy_coeff_high and len(history) >= t.window:
                held = sum(history) >= MOST_OF_THE_RUN * len(history)
                if module in self._forced_open:
                    self._revisit_forced(module, held, history, stats.entropy,
                                         metrics.iteration)
                elif held:
                    found = self._forced(module, stats, coeff, reference, source, history,
                                         metrics.iteration)
                    self._forced_open.update((f.module, f) for f in found)
                    new += found
                if module in self._forced_open or held:
                    continue
            # Near it now and in most of the last min_iterations iterations: one that
            # dipped below for an iteration or two still acts (nearly) at random; one that
            # is below now has begun to commit (a slow start, not a random policy).
            # (Iterations without an entropy, or without the module, count as not near.)
            first = metrics.iteration - t.min_iterations + 1
            recent = self._near[module] = [it for it in nears if it >= first]
            if not near or since > first or len(recent) < MOST_OF_THE_RUN * t.min_iterations:
                continue
            length, began = len(recent), recent[0]
            progress = self._history.progress(module)
            if progress is None or not progress["flat"]:
                continue
            # Broken (error) when the config forces it; with no visible cause it may
            # still be a slow start (APPO on CartPole starts learning after ~17
            # iterations here), so a warning.
            severity = "error" if finite(coeff) and coeff > t.entropy_coeff_high else "warning"
            if severity == "error":
                cause = (f"entropy_coeff={fmt(coeff)} rewards randomness more than any "
                         "advantage rewards acting well")
                fix = (f"Lower entropy_coeff from {fmt(coeff)} to 0.0-0.01 "
                       "(config.training(entropy_coeff=0.01)); RLlib's PPO default is 0.0.")
            else:
                cause = "the policy gets no learning signal"
                fix = ("Look at the reward and update-size findings (reward_constant, "
                       "updates_too_small); check the advantages in a trace "
                       "(rldebug.run(..., trace='batches')): all ~0 means no signal. If "
                       "acting at random rarely reaches the reward (episodes that run to "
                       "the time limit), the policy must explore to find it: more env "
                       "steps per iteration, a small entropy_coeff (0.01), or a shaped "
                       "reward.")
            found = self._once(
                module, severity, began_at_iteration=began,
                evidence={"entropy": stats.entropy, "reference_entropy": reference,
                          "reference": source, "entropy_coeff": coeff, "lr": stats.lr,
                          "iterations_near_reference": length,
                          **progress},
                message=(f"The policy of {module!r} still acts (nearly) at random: its "
                         f"entropy was at least {t.random_entropy_ratio:.0%} of {source} "
                         f"({fmt(reference)}) in {length} of the last {t.min_iterations} "
                         f"iterations (now {fmt(stats.entropy)}"
                         + (f", {stats.entropy / reference:.0%}" if reference > 0 else "")
                         + ") and the return has not improved "
                         f"({return_change(progress)}); {cause}."),
                fix=fix,
            )
            self._open.update((f.module, f) for f in found)
            new += found
        return new

    def _revisit_forced(self, module: str, held: bool, history: list[bool],
                        entropy: float, iteration: int) -> None:
        """A policy said to be held random whose entropy has since left the top 5 % for
        more than a fifth of the run was not held there: info, saying so; an error
        again if it returns there for most of the run. The message gives the counts its
        evidence does: the run's so far."""
        finding = self._forced_open[module]
        finding.evidence.update(iterations_near_maximum=sum(history),
                                iterations=len(history), entropy=entropy)
        if held:
            finding.severity = "error"
            finding.message = self._held_text(module, finding.evidence, entropy)
            finding.evidence.pop("resolved_at_iteration", None)
            return
        if finding.severity == "error":
            finding.severity = "info"
            finding.evidence["resolved_at_iteration"] = iteration
        evidence = finding.evidence
        finding.message = (
            f"entropy_coeff={fmt(evidence['entropy_coeff'])} did not hold the policy of "
            f"{module!r} random: its entropy was at least {HELD_RANDOM_RATIO:.0%} of "
            f"{evidence['reference']} ({fmt(evidence['reference_entropy'])}) in only "
            f"{evidence['iterations_near_maximum']} of {evidence['iterations']} iterations "
            f"(now {fmt(entropy)}); it looked held until iteration "
            f"{evidence['resolved_at_iteration']}. An algorithm whose advantages are not "
            "standardised, as APPO's and IMPALA's, can outweigh the bonus.")

    @staticmethod
    def _held_text(module, evidence, entropy) -> str:
        """What a policy held random says, with the run's counts so far."""
        return (f"entropy_coeff={fmt(evidence['entropy_coeff'])} keeps the policy of "
                f"{module!r} (nearly) random: its entropy was at least "
                f"{HELD_RANDOM_RATIO:.0%} of {evidence['reference']} "
                f"({fmt(evidence['reference_entropy'])}) in "
                f"{evidence['iterations_near_maximum']} of {evidence['iterations']} "
                f"iterations (now {fmt(entropy)}). The entropy bonus rewards randomness "
                "more than any advantage rewards acting well, so the policy cannot commit "
                "to what it learns.")

    def _forced(self, module, stats, coeff, reference, source, history, iteration):
        """The entropy bonus keeps the policy at its maximum entropy for most of the run:
        a finding whatever the return does (a random policy's return can drift too)."""
        evidence = {"entropy": stats.entropy, "reference_entropy": reference,
                    "reference": source, "entropy_coeff": coeff,
                    "iterations_near_maximum": sum(history), "iterations": len(history)}
        return self._once(
            module, "error", began_at_iteration=iteration - len(history) + 1,
            evidence=evidence, message=self._held_text(module, evidence, stats.entropy),
            fix=(f"Lower entropy_coeff from {fmt(coeff)} to 0.0-0.01 "
                 "(config.training(entropy_coeff=0.01)); RLlib's PPO default is 0.0."),
        )


class UpdatesTooSmall(Rule):
    """Each update barely changes the policy while the return is flat.

    Measured by the KL between the sampling and the updated policy where it is
    logged (PPO, APPO with ``use_kl_loss``); else by the policy's entropy, which
    an update that moves the policy must move too (less than 0.1% from its first
    value, every iteration), or by the learning rate itself (Adam moves each weight
    by about ``lr`` per step). The finding names the knob that keeps the steps small:
    the learning rate. Not ``grad_clip``, however small: Adam, the optimizer RLlib's
    torch Learners build, divides each gradient by its own running scale, so clipping
    the gradient's norm rescales the gradient but not the step (measured on the
    fault-injection benchmark: PPO with ``grad_clip=1e-4`` had the KL per update of its
    healthy controls, and on CartPole learned as well as they did).
    """

    rule_id = "updates_too_small"
    answered_by_rise = "all"

    def __init__(self, thresholds: Thresholds, facts=None):
        super().__init__(thresholds, facts)
        self._history = ModuleReturnHistory(thresholds)
        self._tiny = Streaks()
        self._first_entropy: dict[str, float] = {}
        # each module's latest measure: (its stats, the family, what was measured)
        self._latest: dict[str, tuple] = {}

    def _measure(self, module: str, stats, family: str | None) -> tuple[bool, str] | None:
        t = self.thresholds
        if finite(stats.kl) and stats.kl != 0.0:  # APPO logs 0.0 without use_kl_loss
            limit = t.kl_tiny_factor * t.kl_target
            return abs(stats.kl) < limit, f"KL {fmt(stats.kl)} < {fmt(limit)}"
        if finite(stats.lr) and stats.lr < t.lr_tiny:
            return True, f"lr {fmt(stats.lr)} < {fmt(t.lr_tiny)}"
        default = DEFAULT_LR.get(family or "")
        if finite(stats.lr) and default and stats.lr < default / LR_BELOW_DEFAULT:
            return True, (f"lr {fmt(stats.lr)} is over {LR_BELOW_DEFAULT}x below RLlib's default "
                          f"{fmt(default)} for {family.upper()}")
        if finite(stats.entropy) and stats.entropy != 0.0:
            first = self._first_entropy.setdefault(module, stats.entropy)
            drift = abs(stats.entropy / first - 1.0)
            return drift < ENTROPY_STILL, f"entropy within {drift:.2%} of its first value"
        if finite(stats.lr):
            return False, ""
        return None

    def observe(self, metrics: IterationMetrics, findings: Sequence[Finding]) -> list[Finding]:
        t = self.thresholds
        self._history.add_iteration(metrics)
        new: list[Finding] = []
        for module, stats in metrics.modules.items():
            if finite(stats.entropy_coeff) and stats.entropy_coeff > t.entropy_coeff_high:
                continue  # a large entropy bonus keeps the policy still: policy_stays_random
            measured = self._measure(module, stats, metrics.family)
            if measured is None:
                continue
            tiny, measure = measured
            streak = self._tiny[module]
            length = streak.update(tiny, metrics.iteration)
            self._latest[module] = (stats, metrics.family, measure)
            if length < t.min_iterations:
                continue
            new += self._judge(module, self._history.progress(module), findings)
        return new

    def finish(self, needed: int, findings: Sequence[Finding]) -> list[Finding]:
        """A run too short for the return to be judged: updates too small through at
        least ``needed`` iterations, while the return over them is flat, are named as a
        longer run's are (a learning rate 1000 times too low shows in its first KL)."""
        new: list[Finding] = []
        for module in self._latest:
            if self._tiny[module].length >= needed:
                new += self._judge(module, self._history.progress(module, needed=needed),
                                   findings)
        return new

    def _judge(self, module: str, progress: dict | None,
               findings: Sequence[Finding]) -> list[Finding]:
        """The finding for ``module``'s run of tiny updates, judged on ``progress``."""
        if progress is None or not progress["flat"]:
            return []
        t = self.thresholds
        stats, family, measure = self._latest[module]
        streak = self._tiny[module]
        clip = self.facts.grad_clip
        default = DEFAULT_LR.get(family or "")
        not_small = finite(stats.lr) and default and stats.lr >= default
        blowup = next((f for f in findings if f.module == module and f.severity == "error"
                       and f.rule_id in BLOWUPS), None)
        if not_small and blowup is not None:
            # the blown-up policy saturated and moves no more: that finding's aftermath
            blowup.evidence.setdefault("policy_still_from_iteration", streak.start)
            return []
        if not_small:
            # Not a small step: the policy's gradients vanish (no advantage signal, or
            # units saturated by a blow-up).
            severity = "warning"
            why = (f"the learning rate {fmt(stats.lr)} is not small (RLlib's default for "
                   f"{family.upper()} is {fmt(default)}), so the gradients "
                   "vanish: no advantage signal, or a policy saturated by an earlier "
                   "blow-up")
            fix = ("Look at the findings before this one (a KL blow-up, a constant "
                   "reward) and at the advantages in a trace (rldebug.run(..., "
                   "trace='batches')): all ~0 means no signal.")
        else:
            severity = "error"
            why = (f"the learning rate{'' if stats.lr is None else f' {fmt(stats.lr)}'} "
                   "is too low to learn anything in this budget")
            fix = ("Raise lr to the usual range (PPO 1e-5..1e-3, DQN/SAC 1e-4..1e-3); "
                   "check an lr schedule does not start near 0; with a KL, aim for one "
                   f"near kl_target={fmt(t.kl_target)}.")
        if finite(clip) and clip < GRAD_CLIP_TINY:
            why += (f" (grad_clip={fmt(clip)} does not shrink the steps: Adam, RLlib's "
                    "default optimizer, rescales the clipped gradient back to steps of "
                    "about lr; grad_clip_too_small says whether it cuts every gradient)")
        return self._once(
            module, severity, began_at_iteration=streak.start,
            evidence={"kl": stats.kl, "kl_target": t.kl_target, "lr": stats.lr,
                      "grad_clip": clip, "iterations": streak.length, **progress},
            message=(f"Updates of {module!r} barely change the policy ({measure} for "
                     f"{streak.length} iterations) and the return has not moved "
                     f"({return_change(progress)}): {why}."),
            fix=fix,
        )


# Findings of updates far too large: a policy they blew up can saturate and then barely
# move, which is their aftermath, not steps too small.
BLOWUPS = frozenset({"kl_blowup", "lr_too_high", "entropy_collapse", "non_finite"})
# An entropy within this fraction of its first value, iteration after iteration: the
# updates do not move the policy.
ENTROPY_STILL = 1e-3
# An lr this many times below RLlib's default for the family counts as tiny (PPO's
# lr_tiny=1e-6 is its default 5e-5 / 50; the same ratio for every family).
LR_BELOW_DEFAULT = 50
# A gradient-norm clip this small is worth a word when updates are tiny: it does not
# shrink Adam's steps (see UpdatesTooSmall), which a user may expect it to.
GRAD_CLIP_TINY = 1e-2


__all__ = ["EntropyCollapse", "KLBlowup", "PolicyStaysRandom", "UpdatesTooSmall"]
