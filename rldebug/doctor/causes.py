"""Root causes first: which finding explains which.

One cause shows up in many rules: a learning rate far too high blows up the KL,
collapses the entropy, saturates the critic and makes losses NaN; a NaN reward
makes every loss NaN. :func:`explain` marks each finding that a present cause
accounts for with ``explained_by``, so a report leads with the causes and lists
their evidence under them.

:data:`EXPLAINS` is ordered from the most fundamental cause down: a finding is
attributed to the first cause in this order that explains it (the pairs of
:data:`PAIRS_BEFORE_THE_ORDER`, checked first, do not follow the order: an entropy
bonus that keeps a policy random explains the clipped critic's error beside it), and a
cause that is itself explained (``reward_scale`` under ``non_finite_reward``) passes
its findings up to the top-level one for the same module.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

from rldebug.doctor.findings import Finding, severity_rank

# cause rule id -> rule ids it explains (for the same module/agent, or for the whole run).
EXPLAINS: dict[str, frozenset[str]] = {
    "trial_errored": frozenset({"return_not_improving", "env_runner_crashes"}),
    # the trace's record of the exception a failed EnvRunner raised explains its failure
    "sampler_crashed": frozenset({"runners_failed", "env_runner_crashes"}),
    # a failed EnvRunner's lost responses are counted as dropped; its restart stalls
    # (_stall_during_a_failure)
    "runners_failed": frozenset({"runners_dropped"}),
    "non_finite_reward": frozenset({
        "non_finite", "non_finite_in_trace", "kl_blowup", "entropy_collapse",
        "value_loss_exploding", "value_not_learning", "critic_clipped", "q_values_diverging",
        "return_not_improving", "lr_too_high", "reward_scale", "reward_never_positive",
        "module_not_learning", "updates_too_small", "policy_stays_random"}),
    # observations without signal leave the policy one distribution to push on noise
    # advantages: its updates' size is the data's doing, as for observation_scale
    "observation_constant": frozenset({
        "return_not_improving", "policy_stays_random", "value_not_learning",
        "module_not_learning", "reward_never_positive", "updates_too_small",
        "horizon_too_short", "kl_blowup", "entropy_collapse"}),
    "termination_misreported": frozenset({
        "return_not_improving", "policy_stays_random", "value_not_learning",
        "reward_never_positive", "module_not_learning"}),
    "no_updates": frozenset({
        "return_not_improving", "policy_stays_random", "reward_never_positive",
        "module_not_learning", "horizon_too_short"}),
    # a reward beyond the discount's reach leaves the advantages without it, as data
    # without signal does (observation_constant): the policy is pushed on noise
    "horizon_too_short": frozenset({
        "return_not_improving", "reward_never_positive", "policy_stays_random",
        "value_not_learning", "module_not_learning", "reward_constant", "kl_blowup",
        "entropy_collapse"}),
    # a constant reward has no sign to flip: where its constant puts the first return
    # against the env's declared success is its doing
    "reward_constant": frozenset({
        "return_not_improving", "value_not_learning", "policy_stays_random",
        "updates_too_small", "reward_never_positive", "module_not_learning",
        "horizon_too_short", "reward_sign"}),
    # rewards this large make every gradient, so every step, too large: the lr that kills
    # a Q-network at this scale is fine at the env's own; rewards this small leave the
    # critic's initial outputs in the advantages, which PPO standardises: its policy steps
    # at full size on noise. Either way the policy's updates are the scale's doing.
    "reward_scale": frozenset({
        "critic_clipped", "value_loss_exploding", "value_not_learning", "q_values_diverging",
        "non_finite", "return_not_improving", "observation_scale", "policy_stays_random",
        "q_values_collapsed", "lr_too_high", "kl_blowup", "entropy_collapse"}),
    "observation_scale": frozenset({
        "kl_blowup", "entropy_collapse", "non_finite", "lr_too_high", "value_not_learning",
        "value_loss_exploding", "return_not_improving", "policy_stays_random",
        "grad_clip_too_small"}),
    "lr_too_high": frozenset({
        "kl_blowup", "entropy_collapse", "non_finite", "non_finite_in_trace",
        "critic_clipped", "value_loss_exploding", "value_not_learning",
        "return_not_improving", "module_not_learning", "reward_never_positive",
        "off_policy_drift", "q_values_collapsed", "alpha_runaway", "updates_too_small"}),
    "updates_too_small": frozenset({
        "policy_stays_random", "return_not_improving", "value_not_learning",
        "reward_never_positive", "module_not_learning", "horizon_too_short"}),
    "target_never_updated": frozenset({
        "return_not_improving", "reward_never_positive", "q_values_diverging",
        "horizon_too_short"}),
    # updates that fit the last few steps over and over: what the policy learns is theirs
    "replay_too_small": frozenset({
        "return_not_improving", "reward_never_positive", "q_values_diverging",
        "q_values_collapsed", "module_not_learning", "alpha_runaway"}),
    # a module fed another agent's experience every other episode gets no consistent
    # signal: it can stay random, and an agent served by it may never find its reward
    "mapping_unstable": frozenset({"module_not_learning", "return_not_improving",
                                   "policy_stays_random", "reward_never_positive"}),
    "off_policy_drift": frozenset({"non_finite", "return_not_improving", "kl_blowup"}),
    # as lr_too_high: a policy its updates moved too far can stop reaching its reward
    "kl_blowup": frozenset({"entropy_collapse", "non_finite", "return_not_improving",
                            "policy_stays_random", "critic_clipped", "value_not_learning",
                            "value_loss_exploding", "reward_never_positive"}),
    # advantages from a critic that explains nothing carry no signal: the policy can stay
    # random
    "critic_clipped": frozenset({"value_not_learning", "value_loss_exploding",
                                 "return_not_improving", "reward_never_positive",
                                 "policy_stays_random"}),
    "reward_never_positive": frozenset({"return_not_improving", "module_not_learning",
                                        "value_not_learning", "policy_stays_random"}),
    "policy_stays_random": frozenset({
        "return_not_improving", "value_not_learning", "module_not_learning"}),
    "alpha_runaway": frozenset({"return_not_improving", "reward_never_positive",
                                "q_values_diverging"}),
    "q_values_diverging": frozenset({"non_finite", "return_not_improving",
                                     "reward_never_positive"}),
    "q_values_collapsed": frozenset({"return_not_improving", "reward_never_positive",
                                     "policy_stays_random", "alpha_runaway"}),
    "entropy_collapse": frozenset({"return_not_improving"}),
}
_ORDER = {rule: rank for rank, rule in enumerate(EXPLAINS)}
# Errors that explain a flat return on their own, without the critic: the policy kept
# random, updates that do not move it, data without signal, no updates at all. None of
# them is explained by critic_clipped (at error), so neither can explain the other.
FLAT_RETURN_CAUSES = frozenset({"policy_stays_random", "updates_too_small",
                                "observation_constant", "no_updates", "reward_constant",
                                "horizon_too_short", "mapping_unstable"})
# Findings that are a root cause themselves at error severity, explained then only by a
# run-wide cause: policy_stays_random is an error when entropy_coeff forces the policy to
# stay random, whatever else the run shows (a random policy earns no positive reward).
CAUSES_AT_ERROR = frozenset({"policy_stays_random"})
# Causes that concern the whole run whatever subject they name: a NaN reward of one
# agent poisons every loss computed from a batch that holds it; a crash ends everything.
RUN_WIDE = frozenset({"trial_errored", "non_finite_reward"})


def _outranked_by_itself(finding: Finding, findings: list[Finding]) -> bool:
    """The same rule reported the same subject at a higher severity too (a KL above
    target for some iterations, then a blow-up): the report leads with the worse one."""
    rank = severity_rank(finding.severity)
    return any(other is not finding and other.rule_id == finding.rule_id
               and other.module == finding.module and severity_rank(other.severity) > rank
               for other in findings)


# Evidence keys of a finding that the rest of the run took back to info: the return rose
# after all, RLlib's KL controller caught up, the entropy bonus did not hold the policy,
# the return fell beside a clipped critic (which cannot make a policy worse).
TAKEN_BACK = ("resolved_at_iteration", "caught_up_at_iteration", "return_fell")


def _taken_back(cause: Finding) -> bool:
    """A cause the run itself took back (info since) explains no warning or error: what
    it said turned out not to be a problem, so it cannot be one's root. (The predicates
    :func:`explain` checks first may still apply: a clip taken back is still why its
    critic learns nothing.)"""
    return cause.severity == "info" and any(key in cause.evidence for key in TAKEN_BACK)


def _nan_crash_after_nan_reward(cause: Finding, finding: Finding,
                                aliases: Mapping[str, str]) -> bool:
    """A trial that crashed on a NaN (``trial_errored`` whose error RLlib raises for a
    NaN) after the env returned a NaN reward: the crash is that NaN's symptom."""
    return cause.rule_id == "non_finite_reward" and finding.rule_id == "trial_errored" and \
        bool(finding.evidence.get("non_finite"))


def _no_q_to_draw_from(cause: Finding, finding: Finding,
                       aliases: Mapping[str, str]) -> bool:
    """DQN crashed because no action of an observation had a Q-value other than 0, NaN or
    -inf (``trial_errored`` with ``q_values_zero_or_nan``: RLlib reads such actions as
    masked) after a finding that makes every target 0 (a horizon too short to see the
    reward, a constant reward) or NaN (a NaN reward)."""
    return cause.rule_id in ("horizon_too_short", "reward_constant", "non_finite_reward") \
        and finding.rule_id == "trial_errored" \
        and bool(finding.evidence.get("q_values_zero_or_nan"))


def _large_rewards_cut_by_the_clip(cause: Finding, finding: Finding,
                                   aliases: Mapping[str, str]) -> bool:
    """Rewards far too large make every gradient large, so even a sensible grad_clip cuts
    each one: the reward scale is the fix (not for rewards too small, whose fix, scaling
    them up, would make the clipping worse)."""
    return cause.rule_id == "reward_scale" and finding.rule_id == "grad_clip_too_small" and \
        (cause.evidence.get("reward_per_step") or 0) > (cause.evidence.get("limit") or math.inf)


def _kept_random_explains(cause: Finding, finding: Finding,
                          aliases: Mapping[str, str]) -> bool:
    """A policy kept random by a large entropy_coeff (``policy_stays_random`` at error)
    explains its module's KL blow-up (the entropy bonus, not the step size, moves the
    policy: a Gaussian's std grows with every update, so "lower the lr" is no fix) and its
    agent's return that never turns positive (a random policy earns none)."""
    return cause.rule_id == "policy_stays_random" and cause.severity == "error" and \
        finding.rule_id in KEPT_RANDOM_EXPLAINS and _covers(cause, finding, aliases)


KEPT_RANDOM_EXPLAINS = frozenset({"kl_blowup", "reward_never_positive"})


def _clip_starves_the_critic(cause: Finding, finding: Finding,
                             aliases: Mapping[str, str]) -> bool:
    """A value loss clipped at every sample is why its critic learns nothing, whatever the
    return did (also when the run learned regardless and the clip is only info)."""
    return cause.rule_id == "critic_clipped" and finding.rule_id == "value_not_learning" \
        and _covers(cause, finding, aliases)


def _critic_leaned_on(cause: Finding, finding: Finding,
                      aliases: Mapping[str, str]) -> bool:
    """A clipped critic that explains nothing, where GAE takes all but a few steps of each
    advantage from it (``critic_clipped`` with ``reward_horizon_steps``: lambda_ far below
    1), leaves the policy advantages that are each step's own reward: a biased signal its
    updates follow anywhere, as observations without signal do. Its module's KL above
    target, its entropy that grew or collapsed are that push, not a step size to lower.
    (It outranks the KL blow-up that :data:`EXPLAINS` lets explain a clipped critic: a
    learning rate that breaks the critic comes first in the order, and explains both.)"""
    return cause.rule_id == "critic_clipped" and cause.severity != "info" and \
        "reward_horizon_steps" in cause.evidence and \
        finding.rule_id in LEANED_ON_CRITIC_EXPLAINS and \
        not (finding.severity == "error" and finding.rule_id in CAUSES_AT_ERROR) and \
        _covers(cause, finding, aliases)


LEANED_ON_CRITIC_EXPLAINS = frozenset({"kl_blowup", "entropy_collapse", "policy_stays_random"})


def _another_reason_for_a_flat_return(cause: Finding, finding: Finding,
                                      aliases: Mapping[str, str]) -> bool:
    """A clipped critic is why the return is flat only when nothing else explains it: an
    error that explains a flat return on its own for the same module (an entropy bonus
    that keeps the policy random, updates too small to move it, observations without
    signal) explains the clipped critic's error or warning beside it. (RLlib's default
    vf_clip_param=10 clips the critic of every run whose returns are in the hundreds,
    healthy ones included; a run stopped before its return is judged keeps the clip a
    warning, beside an lr far too low named from its first 13 iterations.)"""
    return finding.rule_id == "critic_clipped" and finding.severity != "info" and \
        cause.severity == "error" and cause.rule_id in FLAT_RETURN_CAUSES and \
        _covers(cause, finding, aliases)


def _rewarding_events_never_found(cause: Finding, finding: Finding,
                                  aliases: Mapping[str, str]) -> bool:
    """``reward_constant`` at warning (fixed-length episodes, or one agent's mean) says
    nothing the policy did changed its return: a constant reward, *or rewarding events
    the policy never finds*, the same claim as ``reward_never_positive``. What explains
    an agent that never finds its reward (no updates, updates that blew the policy up, a
    critic that cannot learn) explains that reading too: a greedy DQN that was never
    updated never swings Acrobot up, and every episode returns -500. (At error, where
    episode lengths varied and the return did not, the reward itself is constant.) A KL
    blow-up moves a policy away from what it found, so it explains no constant that was
    there before it (in episodes sampled before the updates it measured): one agent of a
    multi-agent env that is paid 0 whatever it does, beside its module's KL above target."""
    return finding.rule_id == "reward_constant" and finding.severity == "warning" and \
        cause.rule_id != "reward_constant" and \
        "reward_never_positive" in EXPLAINS.get(cause.rule_id, ()) and \
        not (cause.rule_id == "kl_blowup" and
             finding.began_at_iteration <= cause.began_at_iteration) and \
        not _taken_back(cause) and _covers(cause, finding, aliases)


def _stall_during_a_failure(cause: Finding, finding: Finding,
                            aliases: Mapping[str, str]) -> bool:
    """An EnvRunner that failed stalls the iteration in which RLlib waits for it and
    restarts it: a stall in that iteration is the failure's, not a hang of its own."""
    if finding.rule_id != "stalled_iteration" or \
            cause.rule_id not in ("sampler_crashed", "runners_failed"):
        return False
    at = finding.began_at_iteration
    if cause.rule_id == "sampler_crashed":
        return at == cause.began_at_iteration or \
            at in cause.evidence.get("again_at_iterations", ())
    return at in cause.evidence.get("iterations", ()) or \
        at == cause.evidence.get("restarted_by_iteration")


# Pairs checked before the general order, each (cause, finding, aliases) -> bool: each
# holds where a general check would refuse it (a cause later in EXPLAINS' order, one the
# run took back, a finding that is a cause at error, a pair EXPLAINS does not list).
PAIRS_BEFORE_THE_ORDER = (
    _nan_crash_after_nan_reward, _no_q_to_draw_from, _large_rewards_cut_by_the_clip,
    _kept_random_explains, _clip_starves_the_critic, _critic_leaned_on,
    _another_reason_for_a_flat_return,
    _rewarding_events_never_found, _stall_during_a_failure)


def _covers(cause: Finding, finding: Finding, aliases: Mapping[str, str]) -> bool:
    """True if ``cause`` concerns the same module/agent as ``finding``, or the whole run.

    ``aliases`` maps agent ids to the module that acts for them, so that an agent's
    reward finding covers its module's learner findings.
    """
    if cause.rule_id in RUN_WIDE or cause.module is None or finding.module is None:
        return True
    subject = {cause.module, aliases.get(cause.module, cause.module)}
    return bool(subject & {finding.module, aliases.get(finding.module, finding.module)})


def explained_under(cause: Finding, findings: Iterable[Finding],
                    aliases: Mapping[str, str] | None = None) -> list[Finding]:
    """The findings that :func:`explain` put under ``cause``; not the same rule's finding
    that ``cause`` outranks (a KL warning under its error reads as the error explaining
    itself)."""
    return [f for f in findings if f is not cause and f.explained_by == cause.rule_id
            and f.rule_id != cause.rule_id and _covers(cause, f, aliases or {})]


def explain(findings: Iterable[Finding],
            aliases: Mapping[str, str] | None = None) -> list[Finding]:
    """Set each finding's ``explained_by`` to its root cause's rule id (None when it is
    one); returns the findings in their original order.

    :param aliases: agent id -> module id, where known (:attr:`Doctor.agent_modules`).
    """
    findings = list(findings)
    aliases = dict(aliases or {})
    causes = sorted((f for f in findings if f.rule_id in EXPLAINS),
                    key=lambda f: _ORDER[f.rule_id])
    for finding in findings:
        finding.explained_by = None
    for finding in findings:
        if _outranked_by_itself(finding, findings):
            finding.explained_by = finding.rule_id
            continue
        for cause in causes:
            if any(pair(cause, finding, aliases) for pair in PAIRS_BEFORE_THE_ORDER):
                finding.explained_by = cause.rule_id
                break
            if cause is finding or _ORDER.get(finding.rule_id, len(_ORDER)) <= \
                    _ORDER[cause.rule_id]:
                continue
            if any(pair(finding, cause, aliases) for pair in PAIRS_BEFORE_THE_ORDER):
                continue  # the pair makes this finding the cause's cause
            if _taken_back(cause) and finding.severity != "info":
                continue
            if finding.severity == "error" and finding.rule_id in CAUSES_AT_ERROR and \
                    cause.rule_id not in RUN_WIDE:
                continue
            if finding.rule_id in EXPLAINS[cause.rule_id] and \
                    _covers(cause, finding, aliases):
                finding.explained_by = cause.rule_id
                break
    # A cause explained by a deeper one hands its findings up to that one: the cause's
    # finding for this finding's module (or the run), never another module's.
    by_rule: dict[str, list[Finding]] = {}
    for finding in findings:
        by_rule.setdefault(finding.rule_id, []).append(finding)
    for finding in findings:
        seen: set[str] = set()
        while finding.explained_by is not None and finding.explained_by not in seen:
            seen.add(finding.explained_by)
            parent = next((f for f in by_rule.get(finding.explained_by, ())
                           if f is not finding and _covers(f, finding, aliases)), None)
            if parent is None or parent.explained_by is None or \
                    parent.explained_by in seen:
                break
            finding.explained_by = parent.explained_by
    return findings


__all__ = ["EXPLAINS", "RUN_WIDE", "explain", "explained_under"]
