"""Rules on how the run is set up, read from its config and its metrics together: a
discount too short for its episodes, updates that never happen, a DQN target network
that never syncs, agents whose module changes from episode to episode, a gradient clip
that clips every update."""

from __future__ import annotations

import math
from collections.abc import Sequence

from rldebug.doctor.findings import Finding
from rldebug.doctor.fixes import config_fixes
from rldebug.doctor.metrics import IterationMetrics
from rldebug.doctor.rules.base import (
    HORIZON_SHORTFALL,
    KeptFinding,
    ReturnHistory,
    Rule,
    Streak,
    finite,
    fmt,
    return_change,
)
from rldebug.shapes.env_problems import CONSTANT_OBSERVATIONS
from rldebug.shapes.episodes import DEFAULT_AGENT_ID

# A discount that sees a few steps of episodes hundreds of steps long still learns what
# those steps teach (Acrobot at gamma=0.5 rises from -500 to about -450): where the env
# declares the return that counts as solved, a rise answers a horizon that short only once
# it has gone at least this share of the way there from the first return.
HORIZON_RISE_SHARE = 0.5
FIX_HORIZON = ("Raise gamma so that 1/(1-gamma) covers the steps between an action and its "
               "reward (0.99 looks ~100 steps ahead; RLlib's default is 0.99).")


def short_of_declared_success(progress: dict | None, env) -> float | None:
    """How far the return has gone from its start towards the return ``env`` declares as
    solved (:class:`~rldebug.doctor.facts.EnvFacts`; 0 at the start, 1 there), when that
    is less than :data:`HORIZON_RISE_SHARE`; else None, as when the env declares none or
    the run began at or beyond it."""
    success = env.reward_threshold
    if progress is None or success is None or success <= progress["early_mean_return"]:
        return None
    start = progress["early_mean_return"]
    share = (progress["recent_mean_return"] - start) / (success - start)
    return share if share < HORIZON_RISE_SHARE else None


class HorizonTooShort(Rule):
    """``gamma`` so low that its horizon ``1 / (1 - gamma)`` is a small fraction of the
    episodes, while the return is flat: rewards that come late (a goal, the end of an
    episode) never reach the actions that earned them (an error).

    ``gamma=0`` is named whatever the return does (a warning where it moved): it credits
    each action with its own step's reward only, which turns a task of many steps into
    one-step bandits; a return can still drift, or rise as far as those rewards teach,
    and nothing later than that step reaches any action. So it is named as soon as the
    episodes' length is known (a warning), not only once the return can be judged: a
    run can end before that (DQN at gamma 0 on a sparse reward crashes once every
    Q-value is 0), and the crash is then filed under it. Once the return is judged, the
    same finding says what it did (an error where it stayed flat).
    """

    rule_id = "horizon_too_short"
    answered_by_rise = "all"

    def __init__(self, thresholds, facts=None):
        super().__init__(thresholds, facts)
        self._history = ReturnHistory(thresholds)
        self._lengths: list[float] = []
        self._before_judged: Finding | None = None  # gamma=0, named before the return

    def observe(self, metrics: IterationMetrics, findings: Sequence[Finding]) -> list[Finding]:
        horizon = self.facts.horizon
        self._history.add_spread(metrics.return_min, metrics.return_max)
        self._history.add(None, metrics.return_mean)
        if finite(metrics.len_mean):
            self._lengths.append(metrics.len_mean)
        if horizon is None or not self._lengths:
            return []
        length = sum(self._lengths) / len(self._lengths)
        progress = self._history.progress(None)
        if horizon * HORIZON_SHORTFALL > length:
            return []
        if progress is None:
            return self._gamma_zero_before_judged(horizon, length, metrics.iteration)
        returns = f"({return_change(progress)})"
        short = short_of_declared_success(progress, self.facts.env)
        if progress["flat"]:
            severity, returns = "error", f"and the return has not improved {returns}"
        elif short is not None:
            severity, returns = "error", (
                f"and the return rose {returns} only {short:.0%} of the way to the "
                f"{fmt(self.facts.env.reward_threshold)} {self.facts.env.env_id} declares "
                "as solved, as far as a few steps teach")
        elif horizon <= 1:  # gamma 0
            severity, returns = "warning", (
                f"and the return moved {returns} only as far as each step's own reward "
                "teaches")
        else:
            return []
        evidence = {"gamma": self.facts.gamma, "horizon_steps": horizon,
                    "episode_len_mean": length, **progress,
                    # the rise it says is short of the success (the doctor's revisit
                    # says so only where the rule did not)
                    **({"rose_short_of_success": short}
                       if short is not None and not progress["flat"] else {}),
                    # a bandit's credit, whatever the return does: no rise answers it
                    "whatever_the_return": severity == "warning"}
        message = self._message(horizon, length, f", {returns}")
        early, self._before_judged = self._before_judged, None
        if early is not None:  # named before the return was judged: now it says what it did
            early.severity, early.message = severity, message
            early.evidence.update(evidence)
            self._reported.add((None, severity))
            return []
        return self._once(
            None, severity, began_at_iteration=metrics.iteration - progress["iterations"] + 1,
            evidence=evidence, message=message, fix=FIX_HORIZON)

    def _message(self, horizon: float, length: float, returns: str) -> str:
        return (f"gamma={fmt(self.facts.gamma)} looks only about {fmt(horizon)} step(s) "
                f"ahead, while episodes last {fmt(length)} steps on average{returns}: a "
                "reward that comes later than that never reaches the actions that earned it.")

    def _gamma_zero_before_judged(self, horizon: float, length: float,
                                  iteration: int) -> list[Finding]:
        """``gamma=0`` named before the return can be judged, once the first iterations'
        episodes tell their length."""
        if horizon > 1 or len(self._lengths) < self.thresholds.baseline_iterations:
            return []
        found = self._once(
            None, "warning", began_at_iteration=iteration - len(self._lengths) + 1,
            evidence={"gamma": self.facts.gamma, "horizon_steps": horizon,
                      "episode_len_mean": length, "whatever_the_return": True},
            message=self._message(horizon, length, "") + (
                " (The return is not judged yet: each step's own reward is all that "
                "reaches an action, whatever the return does.)"),
            fix=FIX_HORIZON)
        if found:
            self._before_judged = found[0]
        return found

    def rise_answers(self, finding: Finding, progress: dict) -> bool:
        """A horizon too short is answered only by a rise that has gone at least
        :data:`HORIZON_RISE_SHARE` of the way to the env's declared success (a rise short
        of it is said once); ``gamma=0`` by no rise (a bandit's credit, whatever the
        return does): said as an error while the return was flat, a later rise that is
        not short of a declared success makes it the warning it is where the return
        moved."""
        if finding.evidence.get("whatever_the_return"):
            return False
        share = short_of_declared_success(progress, self.facts.env)
        if share is None and finding.evidence.get("horizon_steps", math.inf) <= 1:
            finding.severity = "warning"  # gamma 0 said while the return was flat
            finding.evidence["whatever_the_return"] = True
            rose = finding.evidence["rose_later"] = return_change(progress)
            finding.message += (
                f" The return rose later ({rose}), only as far as each step's own reward "
                "teaches.")
            return False
        if share is None:
            return True
        if "rose_short_of_success" not in finding.evidence:
            finding.evidence["rose_short_of_success"] = share
            finding.message += (
                f" The return rose later ({return_change(progress)}), but only "
                f"{share:.0%} of the way "
                f"to the {fmt(self.facts.env.reward_threshold)} {self.facts.env.env_id} "
                "declares as solved.")
        return False


class NoUpdates(Rule):
    """Env steps are sampled iteration after iteration but no module reports a single
    update: learning never started (a warm-up longer than the run, no module to train)."""

    rule_id = "no_updates"

    def __init__(self, thresholds, facts=None):
        super().__init__(thresholds, facts)
        self._idle = Streak()

    def observe(self, metrics: IterationMetrics, findings: Sequence[Finding]) -> list[Finding]:
        # a loss reported at all (NaN included: an update that went wrong) is an update
        updated = any(value is not None for s in metrics.modules.values()
                      for value in (s.total_loss, s.q_loss, s.policy_loss, s.vf_loss))
        length = self._idle.update(not updated, metrics.iteration)
        if length < max(5, self.thresholds.window // 2):
            return []
        starts = self.facts.learning_starts
        steps = metrics.env_steps
        why = (f" num_steps_sampled_before_learning_starts={fmt(starts)} is more than the "
               f"{fmt(steps)} env steps sampled so far." if finite(starts) and finite(steps)
               and starts > steps else "")
        return self._once(
            None, "error", began_at_iteration=self._idle.start,
            evidence={"iterations_without_update": length, "env_steps": steps,
                      "learning_starts": starts},
            message=(f"No module was updated in {length} iterations"
                     + (f" ({fmt(steps)} env steps sampled)" if finite(steps) else "")
                     + f": the run samples but never learns.{why}"),
            fix=("Lower num_steps_sampled_before_learning_starts below the steps one run "
                 "samples (RLlib's DQN default is 1000); check policies_to_train lists the "
                 "modules to learn."),
        )


# A gradient whose global norm is at least this many times grad_clip is cut to 1 % of
# itself or less. Healthy runs of the fault-injection benchmark with RLlib's grad_clip=40
# (APPO, IMPALA, DQN) stay below 0.1x; APPO with rewards x1000 reached 63x at its median.
CLIP_FAR_BELOW = 100.0
# ... in this many consecutive iterations: not a spike the clip is there to catch.
CLIP_PATIENCE = 5


class GradClipTooSmall(Rule):
    """``grad_clip`` far below the gradients' norm at every update: the clip does not
    catch the occasional spike it is for, it rescales every gradient to the same norm.

    Read from the global norm RLlib's Learner logs before clipping
    (``gradients_default_optimizer_global_norm``), so only where ``grad_clip_by`` is
    ``"global_norm"`` (RLlib's default). Not on the old stack, whose ``grad_gnorm`` is
    the norm after clipping (``min(norm, grad_clip)`` summed over param groups): it says
    whether the clip was hit, never by how much, so this rule cannot fire there. The
    finding follows the first stretch of clipped iterations. A warning, not an
    error: Adam, the optimizer RLlib's torch Learners build, divides each gradient by its
    own running scale, so steps stay about ``lr`` in size and the run can still learn;
    what is lost is the size of each gradient relative to the others (a minibatch with a
    large advantage counts no more than one with none). On the fault-injection benchmark,
    PPO with ``grad_clip=1e-4`` learned Pendulum more slowly than its healthy controls
    and CartPole as well as they did.
    """

    rule_id = "grad_clip_too_small"

    def __init__(self, thresholds, facts=None):
        super().__init__(thresholds, facts)
        # per module: (iteration, norm) of the current stretch of iterations clipped far
        self._stretch: dict[str, list[tuple[int, float]]] = {}
        self._kept: dict[str, Finding] = {}

    def observe(self, metrics: IterationMetrics, findings: Sequence[Finding]) -> list[Finding]:
        clip = self.facts.grad_clip
        if not finite(clip) or clip <= 0 or self.facts.grad_clip_by not in (None, "global_norm"):
            return []
        new: list[Finding] = []
        for module, stats in metrics.modules.items():
            norm = stats.grad_norm
            stretch = self._stretch.setdefault(module, [])
            if not (finite(norm) and norm >= CLIP_FAR_BELOW * clip):
                stretch.clear()
                continue
            stretch.append((metrics.iteration, norm))
            if len(stretch) < CLIP_PATIENCE:
                continue
            norms, start = sorted(n for _, n in stretch), stretch[0][0]
            evidence = {"grad_clip": clip, "grad_norm_median": norms[len(norms) // 2],
                        "iterations": len(stretch)}
            evidence["grad_norm_over_clip"] = evidence["grad_norm_median"] / clip
            kept = self._kept.get(module)
            if kept is not None:
                if kept.began_at_iteration == start:
                    # the same stretch of clipped updates, grown longer
                    kept.evidence.update(evidence)
                    kept.message, kept.fix = self._message(module, evidence), self._fix(evidence)
                    kept.fix_config = config_fixes(kept, {}, metrics.family) or None
                continue
            found = self._once(module, "warning", began_at_iteration=start,
                               evidence=evidence, message=self._message(module, evidence),
                               fix=self._fix(evidence))
            self._kept.update((f.module, f) for f in found)
            new += found
        return new

    @staticmethod
    def _fix(evidence: dict) -> str:
        return (f"Set grad_clip above the gradients' usual norm (a few times "
                f"{fmt(evidence['grad_norm_median'])}; APPO, IMPALA and DQN default to 40) "
                "or to None; if the norm is large because the loss is (rewards in the "
                "thousands), scale the rewards down instead.")

    @staticmethod
    def _message(module: str, evidence: dict) -> str:
        clip, norm = evidence["grad_clip"], evidence["grad_norm_median"]
        return (f"Every update of {module!r} clips its gradient: the gradient's global norm "
                f"before clipping, {fmt(norm)} at its median, has been at least "
                f"{fmt(CLIP_FAR_BELOW)}x grad_clip={fmt(clip)} for {evidence['iterations']} "
                f"iterations ({fmt(norm / clip)}x at the median). A clip this far below the "
                "gradients does not catch spikes, it scales every gradient down to the same "
                "norm: the updates keep their direction but lose their size relative to "
                "each other. Under Adam (RLlib's optimizer) steps stay about lr in size, so "
                "the run may still learn, more slowly.")


class TargetNeverUpdated(Rule):
    """DQN's target network is never synced within the run: Q-values regress onto the
    outputs of the freshly initialised target net, so they cannot grow with the return."""

    rule_id = "target_never_updated"

    def __init__(self, thresholds, facts=None):
        super().__init__(thresholds, facts)
        self._learning = 0

    def observe(self, metrics: IterationMetrics, findings: Sequence[Finding]) -> list[Finding]:
        freq = self.facts.target_network_update_freq
        if metrics.family != "dqn" or not finite(metrics.env_steps):
            return []
        learning = [m for m, s in metrics.modules.items() if finite(s.q_loss)]
        if not learning:
            return []
        self._learning += 1
        synced = any(finite(metrics.modules[m].target_updates)
                     and metrics.modules[m].target_updates > 0 for m in learning)
        if synced or freq is None or freq <= metrics.env_steps or self._learning < 5:
            return []
        q = metrics.modules[learning[0]].q_mean
        return self._once(
            None, "error", began_at_iteration=metrics.iteration - self._learning + 1,
            evidence={"target_network_update_freq": freq, "env_steps": metrics.env_steps,
                      "q_mean": q, "return_mean": metrics.return_mean},
            message=(f"DQN's target network has not been updated once: "
                     f"target_network_update_freq={fmt(freq)} steps is more than the "
                     f"{fmt(metrics.env_steps)} env steps sampled so far. The Q-values learn "
                     "towards the untrained target network's outputs"
                     + (f" (mean Q {fmt(q)}, mean return {fmt(metrics.return_mean)})"
                        if finite(q) else "") + ", not towards the returns."),
            fix=("Set target_network_update_freq to a few hundred or thousand env steps "
                 "(RLlib's default is 500), or use soft updates (tau < 1)."),
        )


class ReplayTooSmall(Rule):
    """A new-stack DQN's or SAC's episode replay buffer holds fewer env steps
    (``replay_buffer_config["capacity"]``, in timesteps) than one update samples
    (``train_batch_size_per_learner`` times the Learners, RLlib's
    ``total_train_batch_size``): every batch is drawn from the last few steps sampled,
    so each update fits the same handful of transitions again and again. RLlib's
    prioritized buffer usually raises ``IndexError`` in ``add()`` first, its sum tree
    out of nodes (``trial_errored`` names that); the uniform ``EpisodeReplayBuffer``
    trains on (a new user's DQN fell from 273 to 187 per episode, below acting at
    random). Named from the config once a module learns, with ``rldebug check``'s limits
    (``replay_smaller_than_batch``: the new stack's ``*Episode*`` buffers; the old
    stack's may count episodes or sequences)."""

    rule_id = "replay_too_small"

    def observe(self, metrics: IterationMetrics, findings: Sequence[Finding]) -> list[Finding]:
        facts = self.facts
        if facts.train_batch is None or facts.new_stack is not True:
            return []
        capacity = facts.replay_capacity
        batch = facts.total_train_batch
        if metrics.family not in ("dqn", "sac") or capacity is None or \
                "Episode" not in (facts.replay_type or "") or not 0 < capacity < batch:
            return []
        learning = [m for m, s in metrics.modules.items()
                    if finite(s.q_loss) or finite(s.total_loss)]
        if not learning:
            return []
        return self._once(
            None, "warning", began_at_iteration=metrics.iteration,
            evidence={"capacity": capacity, "train_batch": batch,
                      "return_mean": metrics.return_mean},
            message=(f"The replay buffer holds {fmt(capacity)} env steps "
                     f"(replay_buffer_config capacity), fewer than one train batch of "
                     f"{fmt(batch)}: every batch is drawn from the last {fmt(capacity)} steps "
                     "or the current episode, whichever is longer, so each update fits the "
                     "same few transitions again and again instead of the agent's "
                     "experience."),
            fix=("Set replay_buffer_config['capacity'] far above the train batch (RLlib's "
                 "default is 50000 for DQN, 1000000 for SAC), or lower "
                 "train_batch_size_per_learner below it."),
        )


class MappingUnstable(Rule):
    """Multi-agent: each module's mean return equals no agent's, iteration after
    iteration, though there are as many modules as agents: the policy mapping sends an
    agent to different modules in different episodes."""

    rule_id = "mapping_unstable"
    patience = 5

    def __init__(self, thresholds, facts=None):
        super().__init__(thresholds, facts)
        self._unmatched = Streak()

    def observe(self, metrics: IterationMetrics, findings: Sequence[Finding]) -> list[Finding]:
        agents = {a: v for a, v in metrics.agent_returns.items() if finite(v)}
        modules = {m: v for m, v in metrics.module_returns.items() if finite(v)}
        if len(agents) < 2 or len(modules) != len(agents):
            self._unmatched.update(False, metrics.iteration)
            return []
        # a stable one-to-one mapping: the module returns are the agent returns, permuted
        matched = all(math.isclose(m, a, rel_tol=1e-9, abs_tol=1e-12) for m, a in
                      zip(sorted(modules.values()), sorted(agents.values()), strict=True))
        length = self._unmatched.update(not matched, metrics.iteration)
        if length < self.patience:
            return []
        return self._once(
            None, "warning", began_at_iteration=self._unmatched.start,
            evidence={"agent_returns": agents, "module_returns": modules,
                      "iterations": length},
            message=(f"For {length} iterations no module's mean return has equalled any "
                     f"agent's ({', '.join(f'{m} {fmt(v)}' for m, v in modules.items())} vs "
                     f"{', '.join(f'{a} {fmt(v)}' for a, v in agents.items())}), though there "
                     f"are {len(modules)} modules for {len(agents)} agents: the policy mapping "
                     "sends an agent to different modules in different episodes, so each "
                     "module learns a mix of roles."),
            fix=("Make policy_mapping_fn depend on the agent id only (e.g. "
                 "lambda agent_id, episode, **kw: f'pol_{agent_id}'), unless mixing roles "
                 "is intended (self-play against changing opponents)."),
        )


def _listed(iterations: list[int]) -> str:
    """The first 8 iterations, then "...": where a run-long counter rose."""
    return ", ".join(map(str, iterations[:8])) + (", ..." if len(iterations) > 8 else "")


class LearnerBound(Rule):
    """The Learners could not keep up with sampling: RLlib's LearnerGroup dropped env steps
    that remote Learners never trained on, because each still had
    ``max_requests_in_flight_per_learner`` updates outstanding (IMPALA, APPO with remote
    Learners), and counts them in ``learner_group/learner_group_ts_dropped_lifetime``.
    A warning from the first iteration that dropped any, kept up to date with how many,
    their share of all the env steps sampled so far (also in iterations that dropped
    none), and where. (APPO's circular buffer, which
    overwrites batches not yet trained on, reports its drops only to Prometheus.)"""

    rule_id = "learner_bound"

    def __init__(self, thresholds, facts=None):
        super().__init__(thresholds, facts)
        self._last = 0.0
        self._kept = KeptFinding(self, self._message, fix=(
            "Give the Learners more capacity (config.learners(num_learners=...)), make each "
            "update cheaper (a smaller model or train_batch_size_per_learner), or sample "
            "less per Learner (fewer EnvRunners); rldebug.trace the run to see each "
            "update's time (rldebug profile)."))

    def observe(self, metrics: IterationMetrics, findings: Sequence[Finding]) -> list[Finding]:
        total = metrics.learner_steps_dropped
        dropped_now = total is not None and total > self._last
        if dropped_now:
            self._last = total
        elif total is None or self._kept.finding is None:
            return []

        def revise(evidence: dict) -> None:
            # The share is of every env step sampled so far, also after the last drop.
            evidence["dropped_env_steps"] = self._last
            if metrics.env_steps is not None:
                evidence["env_steps_sampled"] = metrics.env_steps
            if dropped_now:
                evidence["iterations"].append(metrics.iteration)

        return self._kept.report(metrics.iteration, {"dropped_env_steps": None,
                                                     "env_steps_sampled": None,
                                                     "iterations": []}, revise)

    @staticmethod
    def _message(evidence: dict) -> str:
        iterations = evidence["iterations"]
        shown = _listed(iterations)
        sampled = evidence["env_steps_sampled"]
        share = (f", {evidence['dropped_env_steps'] / sampled:.0%} of the {fmt(sampled)} "
                 "sampled" if sampled else "")
        return (f"{fmt(evidence['dropped_env_steps'])} env steps were sampled and then dropped "
                f"before any Learner trained on them{share}, in {len(iterations)} "
                f"iteration(s) ({shown}): the Learners cannot keep up with sampling (each "
                "still had its maximum of update requests in flight), so RLlib discards "
                "batches without a warning, and the EnvRunners' time on them is lost.")


class RunnerHealth:
    """Per iteration, whether a remote EnvRunner had failed: fewer were healthy than
    configured (or than the most seen healthy, where the config is unknown), or RLlib
    restarted some since the last iteration."""

    def __init__(self, configured: float | None):
        self.configured = configured
        self.most_healthy = 0.0
        self.restarts = 0.0

    def observe(self, metrics: IterationMetrics) -> tuple[bool, bool]:
        """(fewer healthy than expected, restarted since the last iteration)."""
        healthy, restarts = metrics.runners_healthy, metrics.runner_restarts
        restarted = restarts is not None and restarts > self.restarts
        self.restarts = max(self.restarts, restarts or 0.0)
        short = False
        if healthy is not None:
            short = bool(self.expected) and healthy < self.expected
            self.most_healthy = max(self.most_healthy, healthy)
        return short, restarted

    @property
    def expected(self) -> float:
        return self.configured or self.most_healthy


class RunnersFailed(Rule):
    """Remote EnvRunners that failed (their ``sample()`` raised, or their process died)
    while RLlib's fault tolerance (``restart_failed_env_runners``, on by default) went on
    without them and restarted them later: RLlib logs it only in that worker's log. Read
    from ``fault_tolerance/num_healthy_workers`` and ``num_remote_worker_restarts``."""

    rule_id = "runners_failed"

    def __init__(self, thresholds, facts=None):
        super().__init__(thresholds, facts)
        self._health = RunnerHealth(self.facts.num_env_runners)
        self._kept = KeptFinding(self, self._message, fix=(
            "Find the exception: it is in the failed EnvRunner's worker log (`ray logs`, or "
            "the worker-*.err files in the Ray session's logs folder), or trace the run: "
            "rldebug.trace records an env's exception with its EnvRunner and step, and the "
            "doctor shows it. While debugging, fail fast with config.fault_tolerance("
            "restart_failed_env_runners=False); if the env fails now and then by nature, "
            "config.fault_tolerance(restart_failed_sub_environments=True) recreates only "
            "that env."))

    def observe(self, metrics: IterationMetrics, findings: Sequence[Finding]) -> list[Finding]:
        short, restarted = self._health.observe(metrics)
        if not (short or restarted):
            return []
        healthy = metrics.runners_healthy

        def revise(evidence: dict) -> None:
            if short:
                evidence["iterations"].append(metrics.iteration)
                evidence["fewest_healthy"] = min(evidence["fewest_healthy"] or healthy, healthy)
            if restarted:
                evidence["restarts"] = self._health.restarts
                evidence["restarted_by_iteration"] = metrics.iteration

        return self._kept.report(metrics.iteration, {
            "iterations": [], "fewest_healthy": None,
            "configured": self._health.expected or None, "restarts": self._health.restarts,
            "restarted_by_iteration": None}, revise)

    @staticmethod
    def _message(evidence: dict) -> str:
        iterations = evidence["iterations"]
        healthy, configured = evidence["fewest_healthy"], evidence["configured"]
        parts = []
        if iterations:
            parts.append(f"in {len(iterations)} iteration(s) ({_listed(iterations)}) as few "
                         f"as {fmt(healthy)} of {fmt(configured)} remote EnvRunners were "
                         "healthy")
        if evidence["restarts"]:
            parts.append(f"its fault tolerance restarted EnvRunners {fmt(evidence['restarts'])} "
                         f"time(s) (by iteration {evidence['restarted_by_iteration']})")
        return ("An EnvRunner failed (its sample() raised, or its process died) and RLlib "
                "went on without it: " + ", and ".join(parts)
                + ". Those iterations sampled from fewer runners, the failed runner's "
                "episodes in play were lost, and RLlib reported the exception only in that "
                "worker's log.")


class RunnersDropped(Rule):
    """EnvRunners whose ``sample()`` missed ``sample_timeout_s``: RLlib drops their samples
    from the iteration, warning only when no runner returned (ray-project/ray #63302), and
    counts them in
    ``fault_tolerance/num_env_runners_dropped_lifetime``. Reported once, at the first
    iteration that dropped any, and kept up to date with how many and where."""

    rule_id = "runners_dropped"

    def __init__(self, thresholds, facts=None):
        super().__init__(thresholds, facts)
        self._last: float | None = None
        self._failures = RunnerHealth(self.facts.num_env_runners)
        waited = self._waited(self.facts.sample_timeout_s)
        self._kept = KeptFinding(self, self._message, fix=(
            f"Find the slow EnvRunner (rldebug.trace the run: the doctor names a straggler, "
            f"rldebug profile shows each runner's time), or give it time: raise {waited} or "
            "lower rollout_fragment_length so one sample() call fits; restarts of crashed "
            "runners (fault_tolerance) also cost rounds."))

    def observe(self, metrics: IterationMetrics, findings: Sequence[Finding]) -> list[Finding]:
        failed = any(self._failures.observe(metrics))
        total = metrics.runners_dropped
        if total is None:
            return []
        dropped = total - (self._last or 0.0)
        self._last = total
        if dropped <= 0 or failed:  # a failed runner's lost response: runners_failed
            return []

        def revise(evidence: dict) -> None:
            evidence["dropped"] = total
            evidence["iterations"].append(metrics.iteration)

        return self._kept.report(metrics.iteration, {
            "dropped": None, "iterations": [],
            "sample_timeout_s": self.facts.sample_timeout_s}, revise)

    @staticmethod
    def _waited(timeout: float | None) -> str:
        return f"sample_timeout_s={fmt(timeout)} s" if timeout else "sample_timeout_s"

    @classmethod
    def _message(cls, evidence: dict) -> str:
        iterations = evidence["iterations"]
        shown = _listed(iterations)
        return (f"{fmt(evidence['dropped'])} EnvRunner response(s) were dropped in "
                f"{len(iterations)} iteration(s) ({shown}): their sample() did not return "
                f"within {cls._waited(evidence['sample_timeout_s'])}, so RLlib discarded "
                "that work from the iteration (it warns only when no EnvRunner returned at "
                "all); the iteration trained on fewer, and differently mixed, samples than "
                "configured.")


class ObservationConstant(Rule):
    """Every observation value an agent got was one number (a zeroed buffer, a wrapper
    that drops the state), as the passive env check counts it in runs ``rldebug.run``
    made (:mod:`rldebug.shapes.env_problems`): at least
    :data:`~rldebug.shapes.env_problems.CONSTANT_OBSERVATIONS_MINIMUM` from one env before
    it says so. Not judged where every episode lasts one step (a bandit, which may have
    nothing to see). A trace's observation statistics say the same
    (:func:`rldebug.doctor.traces.observation_findings`) and replace this finding."""

    rule_id = "observation_constant"

    def observe(self, metrics: IterationMetrics, findings: Sequence[Finding]) -> list[Finding]:
        if finite(metrics.len_max) and metrics.len_max <= 1:
            return []
        new: list[Finding] = []
        for agent, steps in metrics.env_problems.get(CONSTANT_OBSERVATIONS, {}).items():
            who = "The agent" if agent == DEFAULT_AGENT_ID else f"Agent {agent!r}"
            new += self._once(
                None if agent == DEFAULT_AGENT_ID else agent, "error",
                began_at_iteration=metrics.iteration,
                evidence={"agent": agent, "observations": steps},
                message=(f"{who} got the same observation at every step: the env check saw "
                         f"{fmt(steps)} observations from the env, every value of them one "
                         "number, from the env's first step on. The module sees nothing of "
                         "the state, so it cannot act on it."),
                fix=("Check what the env's reset()/step() return, and every wrapper around "
                     "the env (a copy of a zeroed buffer, an observation returned before it "
                     "was filled). If the task has no state to see, this is by design."))
        return new


__all__ = ["GradClipTooSmall", "HorizonTooShort", "MappingUnstable", "NoUpdates",
           "ObservationConstant",
           "ReplayTooSmall", "RunnerHealth", "RunnersDropped", "RunnersFailed",
           "TargetNeverUpdated"]
