"""Rules on the reward signal itself: never positive, a cost the policy escapes by ending
episodes, constant, badly scaled, non-finite.

These read episode returns (per agent where RLlib reports them: the new stack's
``agent_episode_returns_mean``, the old stack's ``policy_reward_mean``), which
every run has. When a trace exists, :mod:`rldebug.doctor.traces` adds the
per-step evidence (the exact runner, agent and step of a NaN reward, per-step
reward min/max).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence

from rldebug.doctor.findings import Finding
from rldebug.doctor.metrics import IterationMetrics
from rldebug.doctor.rules.base import (
    KeptFinding,
    ReturnHistory,
    Rule,
    Streaks,
    finite,
    fmt,
    reward_terms_note,
)
from rldebug.shapes.env_problems import NON_FINITE_REWARD
from rldebug.shapes.episodes import DEFAULT_AGENT_ID


def _per_agent(metrics: IterationMetrics) -> dict[str | None, float | None]:
    """Mean return per agent (or policy), or the whole run's as subject None."""
    returns = metrics.agent_returns or metrics.module_returns
    if len(returns) > 1:
        return dict(returns)
    return {None: metrics.return_mean}


def rival_note(rivals: list[str]) -> str:
    """The sentence a ``reward_never_positive`` finding carries when other agents improve
    (a trace that shows the agent is never paid takes it out again)."""
    if not rivals:
        return ""
    return (f" Meanwhile {', '.join(map(repr, rivals))} improve: in a competitive game this "
            "agent may simply be losing.")


def _name(subject: str | None) -> str:
    return "the agent" if subject is None else f"agent {subject!r}"


# a rise "away from success" must come with episodes at most this share of their first
# iterations' length: ending episodes sooner is how a flipped cost per step is escaped
SHORTER_EPISODES = 0.9


class RewardNeverPositive(Rule):
    """An agent's return never rose above 0 and is not improving.

    Judged on the per-iteration mean return (and the best episode where RLlib
    reports it), with the flatness of :class:`ReturnHistory`, so a wobble of a
    few collisions does not hide it. A negative return that improves (Pendulum,
    a cost to minimise) is not a finding, and neither is any return of an env that
    declares a return <= 0 as success (gymnasium's ``reward_threshold``, Acrobot -100).
    A single-agent run is judged only when its env declares success as a positive
    return (CartPole: 475): otherwise a flat negative return is return_not_improving's,
    and "no positive reward" would be a guess about the env.
    A learner-side cause that explains the flat return (a clipped critic, a discount
    too short, no updates) outranks it (:mod:`rldebug.doctor.causes`).
    """

    rule_id = "reward_never_positive"
    answered_by_rise = "all"
    about_the_return = True

    def __init__(self, thresholds, facts=None):
        super().__init__(thresholds, facts)
        self._history = ReturnHistory(thresholds)
        self._best: dict[str | None, float] = {}
        self._mean_lengths: list[float] = []  # the mean episode length, per iteration

    def observe(self, metrics: IterationMetrics, findings: Sequence[Finding]) -> list[Finding]:
        new: list[Finding] = []
        self._history.add_spread(metrics.return_min, metrics.return_max)
        if finite(metrics.len_mean):
            self._mean_lengths.append(metrics.len_mean)
        returns = {s: v for s, v in _per_agent(metrics).items() if finite(v)}
        self._history.multi_agent = self._history.multi_agent or len(returns) > 1
        for subject, value in returns.items():  # every agent first: rivals are compared
            best = metrics.module_return_max.get(subject) if subject is not None \
                else metrics.return_max
            best = max(value, best if finite(best) else value)
            self._best[subject] = max(best, self._best.get(subject, best))
            self._history.add(subject, value)
        if self.facts.env.success_is_nonpositive:
            return new  # the env calls a return <= 0 success: its rewards may all be <= 0
        if len(returns) == 1 and None in returns and not self.facts.env.success_is_positive:
            # One agent and no word from the env on what success is: "never positive" would
            # only guess (every Pendulum reward is <= 0 by design); return_not_improving
            # reports the flat return.
            return new
        for subject in returns:
            if self._best[subject] > 0:
                continue
            progress = self._history.progress(subject)
            if progress is None:
                continue
            if not progress["flat"]:
                new += self._against_declared_success(subject, progress, metrics)
                continue
            # In a competitive game an agent's return stays negative while its opponent
            # learns: worth knowing, not a broken reward.
            rivals = [other for other in self._history.values if other != subject
                      and (p := self._history.progress(other)) is not None
                      and p["change_in_standard_errors"] >= self.thresholds.rival_improves]

            # Evidence that the env pays positive rewards at all: its declared success is
            # a positive return, or another agent of it has returned more than 0.
            paid = [other for other, best in self._best.items() if other != subject
                    and best > 0]
            expected = self.facts.env.success_is_positive or bool(paid)
            terms_sentence, terms_evidence = reward_terms_note(metrics, subject)
            new += self._once(
                subject, "info" if rivals or not expected else "warning",
                began_at_iteration=metrics.iteration - progress["iterations"] + 1,
                evidence={**progress, "best_return": self._best[subject],
                          "improving_agents": rivals, **terms_evidence},
                message=(f"The return of {_name(subject)} never rose above 0 in "
                         f"{progress['iterations']} iterations (best {fmt(self._best[subject])}"
                         f") and is not improving: {fmt(progress['early_mean_return'])} at the "
                         f"start, {fmt(progress['recent_mean_return'])} lately. Nothing it "
                         f"found earns it a reward to climb towards.{terms_sentence}"
                         f"{rival_note(rivals)}"
                         + ("" if expected else " No agent's return was ever above 0 and the "
                            "env declares no positive success return: it may pay only costs, "
                            "so this is worth knowing, not a fault.")),
                fix=("If the task pays positive rewards, check that this agent can reach "
                     "them (step the env by hand or with rldebug.check_env; look for a reward "
                     "wired to the wrong agent or clipped to <= 0), make them denser (reward "
                     "shaping) or raise exploration. If every reward is <= 0 by design (a "
                     "cost to minimise), the sign is no problem: look at the learner findings "
                     "instead. In competitive games check the opponent is not simply "
                     "unbeatable."),
            )
        return new

    def rise_answers(self, finding: Finding, progress: dict) -> bool:
        """A rise away from the env's declared success answers nothing: it is the
        finding itself (:meth:`_against_declared_success`)."""
        return not finding.evidence.get("against_declared_success")

    def _against_declared_success(self, subject, progress, metrics) -> list[Finding]:
        """A return that improves but was never above 0 while the env declares success as
        a positive return (CartPole: 475): the policy is climbing towards something
        other than what the env calls success — a flipped sign or a rewired reward
        (CartPole at -1 per step learns to fall as fast as it can)."""
        threshold = self.facts.env.reward_threshold
        if not self.facts.env.success_is_positive:
            return []
        early, recent = self._mean_lengths[:3], self._mean_lengths[-3:]
        if early and recent and sum(recent) / len(recent) >= \
                SHORTER_EPISODES * sum(early) / len(early):
            # Episodes did not get shorter (Taxi's run to its 200-step limit until the
            # policy delivers in time): the rise did not come from ending episodes sooner,
            # which is how a flipped cost per step is escaped (CartPole at -1 per step
            # learns to fall); it comes from the env's own penalties avoided, on the way
            # to its success, and says nothing of a sign.
            return []
        return self._once(
            subject, "warning", began_at_iteration=metrics.iteration - progress["iterations"] + 1,
            evidence={**progress, "best_return": self._best[subject],
                      "reward_threshold": threshold, "env_id": self.facts.env.env_id,
                      "against_declared_success": True},
            message=(f"{self.facts.env.env_id} declares success at a return of {fmt(threshold)}"
                     f" (gymnasium's reward_threshold), yet {_name(subject)} never returned "
                     f"more than 0 in {progress['iterations']} iterations (best "
                     f"{fmt(self._best[subject])}), while its return moved from "
                     f"{fmt(progress['early_mean_return'])} to "
                     f"{fmt(progress['recent_mean_return'])}: the policy climbs towards "
                     "something other than what the env calls success."),
            fix=("Check the reward's sign and wiring between the env and the learner (a "
                 "wrapper that negates or replaces it, a cost returned as a reward); with the "
                 "env's own reward the returns should approach its reward_threshold."),
        )


class EndsEpisodesToEscapeCost(Rule):
    """The policy's only progress is ending its episodes sooner, under a cost per step.

    Every episode returned <= 0, at about the same cost per step, and the return rose
    only as episodes got shorter, from episodes that the first policy already ended by
    itself at varying lengths (not at one length, a time limit). Ending the episode is
    the best a policy can do under a cost per step: right when the end is the goal
    (Acrobot, MountainCar, whose first episodes run into the time limit: a random policy
    rarely reaches a goal), wrong when the end is a failure it can cause at once
    (CartPole with its reward's sign flipped learns to fall). Not judged where the env
    declares what success is (:class:`RewardNeverPositive` then knows better) or in
    multi-agent runs (episode lengths are shared by every agent).
    """

    rule_id = "reward_sign"

    def __init__(self, thresholds, facts=None):
        super().__init__(thresholds, facts)
        self._history = ReturnHistory(thresholds)
        self._first: list[tuple[float, float]] = []  # (mean, max length) of early iterations
        self._lengths: list[float] = []  # mean episode length, beside each mean return
        self._ever_positive = False

    def observe(self, metrics: IterationMetrics, findings: Sequence[Finding]) -> list[Finding]:
        t = self.thresholds
        env = self.facts.env
        if env.success_is_positive or env.success_is_nonpositive or \
                len(_per_agent(metrics)) > 1:
            return []
        value, length = metrics.return_mean, metrics.len_mean
        if not finite(value) or not finite(length) or length <= 0:
            return []
        self._ever_positive = self._ever_positive or value > 0 or (
            finite(metrics.return_max) and metrics.return_max > 0)
        self._history.add_spread(metrics.return_min, metrics.return_max)
        self._history.add(None, value)
        self._lengths.append(length)
        if len(self._first) < t.baseline_iterations and finite(metrics.len_max):
            self._first.append((length, metrics.len_max))
        progress = self._history.progress(None)
        if self._ever_positive or progress is None or progress["flat"] or \
                len(self._first) < t.baseline_iterations:
            return []
        first_len = sum(m for m, _ in self._first) / len(self._first)
        capped = any(mean >= CAPPED_SHARE * longest for mean, longest in self._first)
        recent_len = sum(self._lengths[-t.window:]) / len(self._lengths[-t.window:])
        costs = [r / n for r, n in zip(self._history.values[None], self._lengths, strict=True)]
        sizes = [-c for c in costs if c < 0]
        steady_cost = len(sizes) == len(costs) and max(sizes) <= STEADY_COST * min(sizes)
        if capped or not steady_cost or recent_len > SHORTER * first_len:
            return []
        cost = -sum(sizes) / len(sizes)
        return self._once(
            None, "warning", began_at_iteration=metrics.iteration - progress["iterations"] + 1,
            evidence={"reward_per_step": cost, "first_episode_len": first_len,
                      "recent_episode_len": recent_len,
                      "first_longest_episode": max(m for _, m in self._first),
                      **progress},
            message=(f"Every episode returned <= 0, about {fmt(cost)} per step, and the "
                     f"policy learned only to end its episodes sooner: {fmt(first_len)} -> "
                     f"{fmt(recent_len)} steps, return {fmt(progress['early_mean_return'])} "
                     f"-> {fmt(progress['recent_mean_return'])}. Its first episodes already "
                     "ended by themselves, at varying lengths, not at a time limit: it found "
                     "an end it can cause, and under a cost per step ending the episode is "
                     "the best it can do. If that end is a failure (falling, crashing, "
                     "dying), the reward is working against the task."),
            fix=("Check the reward's sign (a wrapper that negates it, a cost returned as a "
                 "reward). Pay for surviving (e.g. +1 per step) instead of charging for "
                 "time when the episode's end is a failure, or make the failure cost more "
                 "than living does. If ending the episode is the goal, this is learning."),
        )


class LearnsToEarnNothing(Rule):
    """The policy learned to earn nothing at all: no episode ever returned > 0, some
    returned < 0, and now every episode returns exactly 0 and runs to about one length
    (a time limit), iteration after iteration. The only rewards it was ever paid were
    negative, and it learned to avoid what earned them: right when that is a failure's
    cost (a fall that costs -1), wrong when it is a goal's reward with its sign flipped
    (the policy learned never to reach the goal). Like :class:`EndsEpisodesToEscapeCost`,
    not judged where the env declares what success is, or in multi-agent runs.
    """

    rule_id = "reward_sign"

    def __init__(self, thresholds, facts=None):
        super().__init__(thresholds, facts)
        self._ever_positive = False
        self._worst: float | None = None  # the lowest episode return before the zeros
        self._nothing = 0  # consecutive iterations in which every episode returned 0

    def observe(self, metrics: IterationMetrics, findings: Sequence[Finding]) -> list[Finding]:
        env = self.facts.env
        if env.success_is_positive or env.success_is_nonpositive or \
                len(_per_agent(metrics)) > 1:
            return []
        low, high = metrics.return_min, metrics.return_max
        shortest, longest = metrics.len_min, metrics.len_max
        if not all(map(finite, (low, high, shortest, longest))):
            return []
        self._ever_positive = self._ever_positive or high > 0
        nothing = low == 0 and high == 0 and shortest >= CAPPED_SHARE * longest
        if not nothing:
            self._worst = low if self._worst is None else min(low, self._worst)
        self._nothing = self._nothing + 1 if nothing else 0
        if self._ever_positive or self._worst is None or self._worst >= 0 or \
                self._nothing < self.thresholds.window:
            return []
        return self._once(
            None, "warning", began_at_iteration=metrics.iteration - self._nothing + 1,
            evidence={"episode_len": longest, "iterations_earning_nothing": self._nothing,
                      "lowest_return_before": self._worst},
            message=(f"No episode ever returned > 0, and the policy learned to earn nothing "
                     f"at all: for {self._nothing} iterations every episode has returned "
                     f"exactly 0 and run about {fmt(longest)} steps, where earlier episodes "
                     f"returned as little as {fmt(self._worst)}. The only rewards it was paid "
                     "were negative, and it learned to avoid what earned them. If that was "
                     "reaching a goal, the goal's reward has the wrong sign; if it was a "
                     "failure (a fall, a crash), this is learning."),
            fix=("Check the sign of the reward paid when the task succeeds (a wrapper that "
                 "negates it, a cost returned as a reward): a goal should pay more than "
                 "wandering until the time limit does."),
        )


class StartsAtDeclaredSuccess(Rule):
    """The untrained policy already returns about what the env declares as solved.

    Iteration 1's episodes are sampled before any update, by the policy's initial
    weights: no env worth training on is half-solved by them (CartPole's first policy
    returns about 22 against its ``reward_threshold`` 475, LunarLander's about -180
    against 200). A first mean return within half the threshold's size of it
    (at least 100 where success is 200, -150 where it is -100) means the returns the
    learner sees are not the env's own: a flipped sign (a cost returned as a reward:
    LunarLander's crash costs -100, flipped it pays +100), rewards a wrapper added, or
    another env under the id. Judged once, on iteration 1 (a restored run starts later
    and is not judged), for one agent and per-step rewards of a usual size
    (:class:`RewardScale` names a scaled reward: a cost x1e-4 returns about 0, which
    sits above a negative threshold without any sign flipped).
    """

    rule_id = "reward_sign"

    def observe(self, metrics: IterationMetrics, findings: Sequence[Finding]) -> list[Finding]:
        env, t = self.facts.env, self.thresholds
        threshold, value, length = env.reward_threshold, metrics.return_mean, metrics.len_mean
        if metrics.iteration != 1 or threshold is None or len(_per_agent(metrics)) > 1 or \
                not finite(value) or not finite(length) or length <= 0 or \
                abs(value) / length > t.reward_scale_high:
            return []
        paid = RewardScale._largest_reward_at_least(metrics)
        if 0 < abs(value) / length < t.reward_scale_low and (paid is None or
                                                            paid < t.reward_scale_low):
            return []  # rewards as small as RewardScale's: a scale, not a sign
        near = threshold - STARTS_NEAR_SUCCESS * abs(threshold)
        if value < near:
            return []
        return self._once(
            None, "warning", began_at_iteration=1,
            evidence={"first_return": value, "reward_threshold": threshold,
                      "env_id": env.env_id, "near_success_from": near,
                      "best_first_return": metrics.return_max},
            message=(f"Before any update (iteration 1) the policy's episodes already "
                     f"returned {fmt(value)} on average, where {env.env_id} declares success "
                     f"at {fmt(threshold)} (gymnasium's reward_threshold): an untrained "
                     "policy does not come near solving an env, so the returns the learner "
                     "sees are not the env's own — most often a flipped sign (a cost "
                     "returned as a reward pays for what the env punishes), or rewards a "
                     "wrapper added."),
            fix=("Check the reward between the env and the learner: a wrapper or connector "
                 "that negates, adds to or replaces it (step the env by hand, or "
                 "rldebug.check_env). If you reshaped the reward on purpose, the env's "
                 "reward_threshold no longer measures success and this is no problem."),
        )


# The first policy's episodes ran into one length (a time limit) when their mean came
# this close to their longest; the cost per step is steady when its largest and
# smallest differ by less than this factor; "sooner" is at most this share of the first
# episodes' length.
CAPPED_SHARE = 0.8
STEADY_COST = 2.0
SHORTER = 0.6
# An untrained policy is "near" the declared success when its first return is within this
# share of the threshold's size of it (a random CartPole policy is at 5 % of 475).
STARTS_NEAR_SUCCESS = 0.5


class RewardConstant(Rule):
    """Every episode returns exactly the same value, iteration after iteration.

    Whatever the policy does, the return does not change: there is no learning
    signal (a reward that is always 0, or wired to a constant). When episode
    lengths vary while every episode returns 0, the per-step reward is (summed) 0.
    When they vary while every episode returns the same non-zero amount (a penalty
    when the pole falls), the policy sets when it comes, which discounting rewards:
    info, pointing at the episode length.

    Only a return that has been the same since the run began counts: one that
    settles after it changed did depend on the policy (a task solved every time,
    a goal reached in every episode). A reported return that changes later was a
    reward not yet found (every Acrobot episode at -500 until the first swing-up):
    the finding then turns into info and says when.
    """

    rule_id = "reward_constant"

    def __init__(self, thresholds, facts=None):
        super().__init__(thresholds, facts)
        self._same = Streaks()
        self._value: dict[str | None, float] = {}
        self._lengths: set[float] = set()
        self._changed: set[str | None] = set()
        self._open: dict[str | None, Finding] = {}

    def observe(self, metrics: IterationMetrics, findings: Sequence[Finding]) -> list[Finding]:
        new: list[Finding] = []
        for length in (metrics.len_min, metrics.len_max):
            if finite(length):
                self._lengths.add(length)
        subjects = _per_agent(metrics)
        spread_zero = (finite(metrics.return_min) and metrics.return_min == metrics.return_max)
        for subject, value in subjects.items():
            if not finite(value):
                continue
            same = value == self._value.get(subject, value)
            if subject is None and finite(metrics.return_min):
                same = same and spread_zero
            self._value[subject] = value
            streak = self._same[subject]
            length = streak.update(same, metrics.iteration)
            if not same:
                self._changed.add(subject)
                self._resolve(subject, value, metrics.iteration)
            if length < self.thresholds.stuck_patience or subject in self._changed:
                continue
            varied = len(self._lengths) > 1
            if varied and value != 0 and subject is None:
                new += self._timing_only(subject, value, length, streak.start)
            else:
                new += self._constant(subject, value, length, streak.start, varied)
            # kept open: a return that changes later says so
            self._open.update((f.module, f) for f in new if f.rule_id == self.rule_id)
        return new

    def _constant(self, subject, value: float, length: int, start: int,
                  varied: bool) -> list[Finding]:
        """Every episode returns 0 while lengths vary: the reward cannot depend on the
        policy (an error). An agent's mean alone, or fixed-length episodes, also fit a
        rewarding event that never happens (a warning)."""
        lengths = (f" although episodes lasted {fmt(min(self._lengths))} to "
                   f"{fmt(max(self._lengths))} steps" if varied else "")
        certain = subject is None and varied
        return self._once(
            subject, "error" if certain else "warning", began_at_iteration=start,
            evidence={"return": value, "iterations": length,
                      "episode_len_min": min(self._lengths, default=None),
                      "episode_len_max": max(self._lengths, default=None)},
            message=(f"Every episode{'' if subject is None else f' of {_name(subject)}'} "
                     f"returned exactly {fmt(value)} for {length} iterations{lengths}: "
                     + ("the reward does not depend on what the policy does, so there is "
                        "nothing to learn." if certain else
                        "nothing the policy did changed its return (a constant reward, or "
                        "its rewarding events never happen).")),
            fix=("Check the reward the env returns from step() (print it, or run "
                 "rldebug.check_env): it is constant — often a reward computed but not "
                 "returned, returned for the wrong agent, or overwritten by a wrapper."),
        )

    def _timing_only(self, subject, value: float, iterations: int, start: int) -> list[Finding]:
        """Every episode returns the same non-zero amount, but episodes last longer or
        shorter: a reward paid once (a -100 when the pole falls, a +1 at the goal) whose
        timing the policy sets. Discounted, a later penalty or a sooner bonus is worth
        more, so there is something to learn; the return cannot show it, the episode
        length can."""
        shortest, longest = min(self._lengths), max(self._lengths)
        return self._once(
            subject, "info", began_at_iteration=start,
            evidence={"return": value, "iterations": iterations,
                      "episode_len_min": shortest, "episode_len_max": longest},
            message=(f"Every episode returned exactly {fmt(value)} for {iterations} "
                     f"iterations, while episodes lasted {fmt(shortest)} to {fmt(longest)} "
                     "steps: the policy decides only when that reward comes, and discounted "
                     f"a {'later penalty' if value < 0 else 'sooner reward'} is worth more. "
                     "The return cannot show that learning; the episode length can."),
            fix=("Judge progress by env_runners/episode_len_mean; reward the steps in "
                 "between (a small per-step reward) if learning is slow."))

    def _resolve(self, subject: str | None, value: float, iteration: int) -> None:
        finding = self._open.pop(subject, None)
        if finding is None:
            return
        finding.severity = "info"
        finding.evidence["changed_at_iteration"] = iteration
        finding.message += (f" It changed at iteration {iteration} (to {fmt(value)}): the "
                            "reward does depend on the policy, which had not found it yet.")


class RewardScale(Rule):
    """Per-step rewards (return / episode length) far from O(0.01-10).

    Value targets and Q-values grow with the reward: at 1000 per step, returns
    reach 10^4-10^5, PPO's ``vf_clip_param=10`` clips every value error and a
    critic's regression target is many orders of magnitude away from its init.

    "Small" is about the rewards the env pays, not their mean over the steps that pay
    nothing: a sparse reward of 1 at a goal that a policy seldom reaches averages 1e-4
    per step. An episode's return spread over the longest episode bounds the largest
    reward it held from below, so rewards are small only when that bound is small too.
    """

    rule_id = "reward_scale"

    def __init__(self, thresholds, facts=None):
        super().__init__(thresholds, facts)
        self._per_step: dict[str | None, deque[float]] = {}
        self._largest: deque[float] = deque(maxlen=thresholds.window)
        self._seen: dict[str | None, int] = {}

    @staticmethod
    def _largest_reward_at_least(metrics: IterationMetrics) -> float | None:
        """A lower bound on the largest reward of the iteration's episodes: the return
        furthest from 0 spread over the longest episode (None when not logged)."""
        extremes = [abs(v) for v in (metrics.return_max, metrics.return_min) if finite(v)]
        length = metrics.len_max if finite(metrics.len_max) else metrics.len_mean
        if not extremes or not finite(length) or length <= 0:
            return None
        return max(extremes) / length

    def _paid_reward_size(self) -> float | None:
        """The median of the recent iterations' :meth:`_largest_reward_at_least` (None
        before any): the size of the rewards the env pays."""
        if not self._largest:
            return None
        return sorted(self._largest)[len(self._largest) // 2]

    def observe(self, metrics: IterationMetrics, findings: Sequence[Finding]) -> list[Finding]:
        t = self.thresholds
        if not finite(metrics.len_mean) or metrics.len_mean <= 0:
            return []
        new: list[Finding] = []
        largest = self._largest_reward_at_least(metrics)
        if largest is not None:
            self._largest.append(largest)
        paid = self._paid_reward_size()
        for subject, value in _per_agent(metrics).items():
            # the whole run's episodes bound the largest reward; one agent's are not known
            paid_small = subject is not None or paid is None or paid < t.reward_scale_low
            if not finite(value):
                continue
            history = self._per_step.setdefault(subject, deque(maxlen=t.window))
            history.append(abs(value) / metrics.len_mean)
            self._seen[subject] = self._seen.get(subject, 0) + 1
            if len(history) < t.baseline_iterations:
                continue
            typical = sorted(history)[len(history) // 2]  # median of the last `window`
            clips = metrics.family in (None, "ppo")  # only PPO clips its value loss
            if typical > t.reward_scale_high:
                kind, cost = "large", (
                    ("value targets of this size saturate PPO's vf_clip_param and make "
                     "critics" if clips else "value targets of this size make critics and "
                     "Q-functions") + " fit numbers far from their initial outputs")
            elif 0 < typical < t.reward_scale_low and paid_small:
                kind, cost = "small", ("differences between actions drown in the value "
                                       "function's noise")
            else:
                continue
            new += self._once(
                subject, "warning",
                began_at_iteration=metrics.iteration - self._seen[subject] + 1,
                evidence={"reward_per_step": typical, "mean_return": value,
                          "episode_len_mean": metrics.len_mean,
                          "limit": t.reward_scale_high if kind == "large" else t.reward_scale_low,
                          "largest_reward_at_least": (paid if subject is None else None)},
                message=(f"Rewards of {_name(subject)} are {kind}: about {fmt(typical)} per "
                         f"step (mean return {fmt(value)} over {fmt(metrics.len_mean)} steps); "
                         f"{cost}."),
                fix=("Scale rewards to O(0.1-10) per step in the env or a wrapper (e.g. "
                     f"divide by {fmt(10 ** round(math.log10(typical)))}), or normalise them "
                     "with a connector" + ("; for PPO raise vf_clip_param if you keep the "
                                           "scale." if clips else ".")),
            )
        return new


_LOSSES = ("total_loss", "policy_loss", "vf_loss", "q_loss", "td_error_mean")
_OUTPUTS = ("entropy", "q_mean")  # computed from the weights and observations only


NAN_REWARD_FIX = ("Find the step that returns it: run with rldebug.run(..., "
                  "trace='summary') and re-run `rldebug doctor` (it names the runner, agent "
                  "and step), or rldebug.check_env(env). Guard the reward computation "
                  "(division by zero, log(0), an overflow).")


class NonFiniteReturn(Rule):
    """A reward from the env was NaN/inf, seen in the results in one of two ways.

    - Episode returns are non-finite: a NaN reward made its episode's return NaN.
    - A module's losses are non-finite while what its network outputs (entropy,
      mean Q) is finite on the same batch: the weights and observations are fine
      (NaN weights or observations make the outputs NaN too), so the NaN entered
      through the rewards, via advantages, value or TD targets. RLlib's episode
      metrics can look finite meanwhile.
    - The passive env check (``rldebug.run`` adds it) counted steps with a NaN/inf
      reward (:mod:`rldebug.shapes.env_problems`): RLlib averages returns and losses
      with ``nanmean`` and zeroes NaN gradients, so on APPO and IMPALA nothing else in
      the results shows it.

    Not the env's fault when a module's network outputs went non-finite first (at or
    before the first non-finite return, with no reward-borne NaN seen before): a
    diverged actor samples NaN actions, and a physics env turns them into NaN rewards.

    A trace next to the run names the runner, agent and step
    (:mod:`rldebug.doctor.traces`).
    """

    rule_id = "non_finite_reward"

    def __init__(self, thresholds, facts=None):
        super().__init__(thresholds, facts)
        # the first iteration where a module's network outputs were non-finite: its
        # weights diverged, and what it then samples (NaN actions) can make the env's
        # rewards NaN without any env bug
        self._outputs_diverged: int | None = None
        self._rewards_seen_bad: int | None = None
        # what the env check counted over the run, in one finding
        self._counted = KeptFinding(self, self._counted_message, NAN_REWARD_FIX,
                                    severity="error", subject=_one_agent)

    def observe(self, metrics: IterationMetrics, findings: Sequence[Finding]) -> list[Finding]:
        diverged_before = self._outputs_diverged is not None  # an earlier iteration
        for module, stats in metrics.modules.items():
            if self._outputs_diverged is None and any(
                    getattr(stats, name) is not None and not math.isfinite(getattr(stats, name))
                    for name in _OUTPUTS):
                self._outputs_diverged = metrics.iteration
        bad = {}
        for key, value in (("episode_return_mean", metrics.return_mean),
                           ("episode_return_min", metrics.return_min),
                           ("episode_return_max", metrics.return_max)):
            if value is not None and not math.isfinite(value):
                bad[key] = value
        returns = metrics.agent_returns or metrics.module_returns
        bad_subjects = [subject for subject, value in returns.items()
                        if value is not None and not math.isfinite(value)]
        for subject in bad_subjects:
            bad[f"return of {subject}"] = returns[subject]
        counted = metrics.env_problems.get(NON_FINITE_REWARD, {})
        if (bad or counted) and self._rewards_seen_bad is None and diverged_before:
            return []  # the network diverged first: non_finite names it (lower lr)
        if bad:
            # one agent's (or module's) return of several: its rewards, not the run's
            alone = bad_subjects[0] if len(bad_subjects) == 1 and len(returns) > 1 else None
            return self._report(metrics, bad, alone, (
                f"From iteration {metrics.iteration} on, episode returns are non-finite ("
                + ", ".join(f"{k}={v}" for k, v in bad.items()) + ")"))
        if counted:
            return self._count(metrics, counted)
        for module, stats in metrics.modules.items():
            losses = {name: getattr(stats, name) for name in _LOSSES
                      if getattr(stats, name) is not None
                      and not math.isfinite(getattr(stats, name))}
            outputs = {name: getattr(stats, name) for name in _OUTPUTS
                       if finite(getattr(stats, name))}
            kl_fine = stats.kl is None or math.isfinite(stats.kl)  # inf KL: weights moved
            if losses and outputs and kl_fine and not diverged_before:
                self._rewards_seen_bad = metrics.iteration
                # one module of several: its agents' rewards, as the message says
                alone = module if len(metrics.modules) > 1 else None
                return self._report(
                    metrics, {**losses, **outputs, "kl": stats.kl}, alone,
                    f"From iteration {metrics.iteration} on, the losses of {module!r} are "
                    f"non-finite ({', '.join(f'{k}={v}' for k, v in losses.items())}) while "
                    "its network's outputs are finite ("
                    f"{', '.join(f'{k}={fmt(v)}' for k, v in outputs.items())}): the weights "
                    "and observations are fine, so the NaN entered through the rewards "
                    "(advantages, value or TD targets)")
        return []

    def _count(self, metrics: IterationMetrics, counted: dict[str, float]) -> list[Finding]:
        """The env check's counts of NaN/inf rewards, added up over the run into one
        finding (made at the first iteration with any, kept up to date after)."""
        if self._rewards_seen_bad is None:
            self._rewards_seen_bad = metrics.iteration

        def revise(evidence: dict) -> None:
            steps = evidence.setdefault("by_agent", {})
            for agent, n in counted.items():
                steps[agent] = steps.get(agent, 0.0) + n
            evidence["non_finite_reward_steps"] = sum(steps.values())
            evidence["iterations_with_them"] = evidence.get("iterations_with_them", 0) + 1

        return self._counted.report(metrics.iteration, {}, revise)

    def _counted_message(self, evidence: dict) -> str:
        steps = evidence["by_agent"]
        agents = [a for a in steps if a != DEFAULT_AGENT_ID]
        return self._said(
            f"The env check counted {fmt(evidence['non_finite_reward_steps'])} env steps with "
            f"a NaN/inf reward in {evidence['iterations_with_them']} iteration(s) from "
            f"iteration {self._rewards_seen_bad} on"
            + (f" ({', '.join(f'agent {a!r}: {fmt(steps[a])}' for a in agents)})"
               if agents else "")
            + ". RLlib averages returns and losses ignoring NaN and zeroes NaN "
            "gradients, so the other numbers of the run can look finite")

    @staticmethod
    def _said(seen: str) -> str:
        return f"{seen}: the env returned a NaN/inf reward. Non-finite losses are the " \
            "symptom, not the cause."

    def _report(self, metrics: IterationMetrics, bad: dict, subject: str | None,
                seen: str) -> list[Finding]:
        return self._once(
            subject, "error", began_at_iteration=metrics.iteration, evidence=dict(bad),
            message=self._said(seen), fix=NAN_REWARD_FIX)


def _one_agent(evidence: dict) -> str | None:
    """The agent whose rewards alone the env check found non-finite, when one of a
    multi-agent env's agents is (its id, as the finding's subject); None for the whole run
    (a single-agent env, or several agents)."""
    agents = [a for a, n in evidence.get("by_agent", {}).items() if n]
    return agents[0] if len(agents) == 1 and agents[0] != DEFAULT_AGENT_ID else None


__all__ = ["EndsEpisodesToEscapeCost", "NonFiniteReturn", "RewardConstant",
           "RewardNeverPositive", "RewardScale", "rival_note"]
