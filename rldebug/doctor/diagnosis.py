"""Run the rules over result streams: :class:`Doctor` (one run, streaming) and :func:`diagnose`."""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rldebug.doctor.agents import AgentsByReturns
from rldebug.doctor.audit import DEFAULT_WINDOW, audit_findings
from rldebug.doctor.causes import explain, explained_under
from rldebug.doctor.confidence import attach as attach_confidence
from rldebug.doctor.facts import RunFacts
from rldebug.doctor.families import family_from_config, family_from_stats
from rldebug.doctor.findings import Finding, severity_rank, worst_severity
from rldebug.doctor.fixes import attach as attach_fixes
from rldebug.doctor.metrics import IterationMetrics, extract
from rldebug.doctor.reading import (
    NotesOfAKind,
    TrialData,
    is_tune_experiment,
    read_experiment,
    trials_without_results,
)
from rldebug.doctor.rules import DEFAULT_RULES, Rule
from rldebug.doctor.rules.base import (
    ReturnHistory,
    clearly_rose,
    fmt,
    module_return,
    return_change,
)
from rldebug.doctor.thresholds import Thresholds
from rldebug.doctor.traces import (
    annotate_reward_findings,
    errored_finding,
    nan_from_the_data,
    read_trace_report,
)
from rldebug.shapes.configs import module_ids_from_config, stack_from_config
from rldebug.shapes.results import RLLIB_RESULT_KEYS, is_rllib_result
from rldebug.usage import (
    EXIT_FINDINGS,
    EXIT_OK,
    EXIT_UNUSABLE,
    UsageError,
    UsageTypeError,
    path_argument,
)

# The doctor's names for the one exit-code table (rldebug.usage).
EXIT_HEALTHY, EXIT_ERROR = EXIT_OK, EXIT_FINDINGS

def _check_thresholds(thresholds: Any) -> Thresholds:
    if thresholds is None:
        return Thresholds()
    if not isinstance(thresholds, Thresholds):
        raise UsageTypeError(
            "thresholds must be an rldebug.doctor.Thresholds (e.g. Thresholds(kl_target=0.02)) "
            f"or None for the defaults, got {type(thresholds).__name__}: {thresholds!r:.100}.")
    return thresholds


class Doctor:
    """Follows one run: feed it each result as it arrives, get the new findings.

    :param thresholds: the rules' thresholds (default :class:`Thresholds`).
    :param config: the run's config dict (``algo.config.to_dict()`` or
        ``params.json``); supplies ``kl_target`` and ``vf_clip_param``.
    :param trial: a name put on every finding.
    :param rules: rule classes to run (default: all of :data:`DEFAULT_RULES`).
    :param env_spec: what the run recorded of the env it built
        (:func:`rldebug.shapes.env_meta.declared_spec`: its gymnasium id and
        ``reward_threshold``), for a config that names only a class or registered name.
    """

    def __init__(self, thresholds: Thresholds | None = None,
                 config: Mapping[str, Any] | None = None, trial: str | None = None,
                 rules: Sequence[type[Rule]] = DEFAULT_RULES,
                 env_spec: Mapping[str, Any] | None = None):
        if config is not None and not isinstance(config, Mapping):
            raise UsageTypeError(f"config must be a dict (e.g. algo.config.to_dict()) or None, "
                                 f"got {type(config).__name__}.")
        self.thresholds = _check_thresholds(thresholds).with_config(config)
        self.trial = trial
        if env_spec is not None and not isinstance(env_spec, Mapping):
            raise UsageTypeError("env_spec must be a dict (what rldebug.shapes.env_meta."
                                 "declared_spec returns) or None, got "
                                 f"{type(env_spec).__name__}.")
        self.facts = RunFacts.from_config(config, env_spec)
        self.config = config
        self.rules = [rule(self.thresholds, self.facts) for rule in rules]
        # the rule that answers for each rule id's findings (the revisit asks it)
        self._rule_of = {rule.rule_id: rule for rule in reversed(self.rules)}
        self.findings: list[Finding] = []
        #: findings reported before whose severity rose in the last :meth:`feed` (a
        #: warning judged an error once the return could be judged)
        self.escalated: list[Finding] = []
        self.history: list[IterationMetrics] = []
        self.iterations = 0
        self.stack: str | None = None
        self.family = family_from_config(config)
        #: agent id -> the module acting for it: the config's only module, the module
        #: whose mean return matches the agent's one to one, or the module whose return its
        #: agents' returns add up to (:class:`~rldebug.doctor.agents.AgentsByReturns`)
        self.agent_modules: dict[str, str] = {}
        self._equal_returns: dict[str, str] = {}
        self._by_returns = AgentsByReturns()
        modules = module_ids_from_config(config)
        self._only_module = modules[0] if modules and len(modules) == 1 else None
        self._returns = ReturnHistory(self.thresholds)  # per subject, for _revisit
        self._recent = max(self.thresholds.baseline_iterations, self.thresholds.window // 2)

    def feed(self, result: Mapping[str, Any]) -> list[Finding]:
        """Analyse one result dict (``algo.train()``'s return value); return new findings.
        Findings reported before whose severity this result raised are in
        :attr:`escalated` (a live report says them again)."""
        metrics = extract(result)
        if self.family is None:
            self.family = next(filter(None, map(family_from_stats, metrics.modules.values())),
                               None)
        metrics.family = self.family
        self._match_agents(metrics)
        self.iterations += 1
        self.stack = metrics.stack
        self.history.append(metrics)
        self._record_returns(metrics)
        before = {id(f): severity_rank(f.severity) for f in self.findings}
        self._revisit(metrics.iteration)
        new: list[Finding] = []
        for rule in self.rules:
            new += self._add(rule.observe(metrics, self.findings))
        self.escalated = [f for f in self.findings
                          if id(f) in before and severity_rank(f.severity) > before[id(f)]]
        return new

    def _add(self, found: list[Finding]) -> list[Finding]:
        """Report a rule's new findings (with their confidence, fixes and trial)."""
        if found:
            attach_confidence(found)
            attach_fixes(found, self.config, self.family)
            for finding in found:
                finding.trial = self.trial
            self.findings.extend(found)
        return found

    def _record_returns(self, metrics: IterationMetrics) -> None:
        self._returns.multi_agent = self._returns.multi_agent or \
            len(metrics.module_returns) > 1 or len(metrics.agent_returns) > 1
        self._returns.add_spread(metrics.return_min, metrics.return_max)
        self._returns.add(None, metrics.return_mean)
        for module in metrics.modules:
            self._returns.add(module, module_return(metrics, module))
        for agent, value in metrics.agent_returns.items():
            self._returns.add(agent, value)

    def _revisit(self, iteration: int, needed: int | None = None) -> None:
        """A finding a clear rise of the return answers (its rule's
        :attr:`~rldebug.doctor.rules.Rule.answered_by_rise` and
        :meth:`~rldebug.doctor.rules.Rule.rise_answers`: a "the return does not improve",
        a warning of a cost), whose subject's return has since clearly risen (beyond the
        flat tolerance and two standard errors), was a slow start, not a broken run: it
        turns into info and says when (the live console showed it when it began).
        ``needed``: the returns a rise is judged on (default: as many as judge the return
        flat, :attr:`ReturnHistory.values_needed`)."""
        for finding in self.findings:
            rule = self._rule_of.get(finding.rule_id)
            if rule is None or not rule.answerable(finding):
                continue
            recent = self._recent if rule.about_the_return else None
            progress = self._returns.progress(finding.module, recent=recent, needed=needed)
            if not clearly_rose(progress) or not rule.rise_answers(finding, progress):
                continue
            finding.severity = "info"
            finding.evidence["resolved_at_iteration"] = iteration
            if needed is None:
                when = f"later: by iteration {iteration}"
            else:
                counted = progress["iterations"]
                when = ((f"in the run's {counted} iterations" if counted >= self.iterations
                         else f"in the {counted} iterations that reported one")
                        + " (too few to judge a flat return, enough to see a rise): by the last")
            finding.message += (
                f" The return rose {when} its recent mean was "
                f"{fmt(progress['recent_mean_return'])} against "
                f"{fmt(progress['early_mean_return'])} at the start, so the run learns "
                "despite it (a slow start, or a cost it can afford).")

    def finish(self) -> None:
        """The run ended. One too short for the return to be judged (fewer than
        :attr:`ReturnHistory.values_needed` iterations report one) still answers, from
        the returns it has, the findings a clear rise answers: its rise is measured as a
        longer run's is, a baseline and a window apart (``baseline_iterations`` +
        ``window``), and only ever turns a finding into info. Left out, a 15-iteration
        PPO run whose critic RLlib's default ``vf_clip_param`` clips while its return
        climbs was told its critic stops learning (a warning), as it is not at 20. Rules
        that can name a fault on those returns do (:meth:`Rule.finish`)."""
        if self._return_unjudged:
            needed = self._returns.values_for_a_rise
            self._revisit(self.history[-1].iteration, needed=needed)
            for rule in self.rules:
                self._add(rule.finish(needed, self.findings))

    @property
    def _return_unjudged(self) -> bool:
        """The run has iterations, but fewer report a return than the rules that weigh it
        need (:attr:`ReturnHistory.values_needed`)."""
        reported = len(self._returns.values.get(None, []))
        return bool(self.iterations) and reported < self._returns.values_needed

    def return_unjudged(self) -> str | None:
        """A note when the run's return was never judged (the rules that weigh it need
        :attr:`ReturnHistory.values_needed` iterations that report one): a verdict of
        healthy then says nothing about whether the run learns. None once it was."""
        if not self._return_unjudged:
            return None
        reported = len(self._returns.values.get(None, []))
        needed = self._returns.values_needed
        idle = sum(m.sampled_nothing for m in self.history)  # no EnvRunner reported
        # episodes ended, but their mean return was NaN or inf (a non-finite reward)
        non_finite = sum(m.return_mean is not None and not math.isfinite(m.return_mean)
                         for m in self.history)
        reasons = [text for count, text in (
            (idle, (f"{idle} sampled nothing: no EnvRunner reported, failed or dropped by "
                    "sample_timeout_s")),
            (non_finite, f"{non_finite} reported a non-finite return: see the findings"))
            if count]
        if reported >= self.iterations:
            why = ""
        elif reasons and reported + idle + non_finite >= self.iterations:
            why = f" ({'; '.join(reasons)})"
        else:
            why = (" (the others finished no episode: RLlib reports a return only for an "
                   "iteration that finishes one, so episodes longer than a training batch "
                   "leave most iterations without)")
        counted = (f"the run has {self.iterations} iterations" if reported >= self.iterations
                   else f"{reported} of its {self.iterations} iterations reported one{why}")
        some = self._returns.values_for_a_rise
        rise = self._returns.progress(None, needed=some)
        rest = "Train longer, or sample more steps per iteration, to have the rest judged."
        if clearly_rose(rise):
            return (f"the return was judged only for a rise: {counted}, too few for the rules "
                    f"that judge a flat or falling return ({needed}), enough to see it rise "
                    f"({return_change(rise)}). {rest}")
        if rise is not None:
            return (f"the return was judged only in part: {counted}, enough to judge a rise "
                    f"and updates too small to move the policy ({some}), too few for the "
                    f"rules that judge a flat or falling return ({needed}). {rest}")
        return (f"the return was not judged: {counted}, and the rules that weigh it need "
                f"{needed}. What this report says leaves out whether the run learns: train "
                "longer, or sample more steps per iteration.")

    def _match_agents(self, metrics: IterationMetrics) -> None:
        """Learn which module acts for which agent: RLlib reports mean returns per agent and
        per module but not the mapping; a module that serves one agent reports its value,
        a module that serves several their sum, and a config with one module maps every
        agent to it. An agent whose return equals one module's in one iteration is taken
        for that module's only where there are as many modules as agents (else a module
        serving two agents of return -1 would look like the other module of return -1);
        the sums, checked over iterations, win over it and are withdrawn when later ones
        contradict them."""
        if self._only_module is not None:
            for agent in metrics.agent_returns:
                self.agent_modules.setdefault(agent, self._only_module)
            return
        if len(metrics.module_returns) == len(metrics.agent_returns):
            for agent, value in metrics.agent_returns.items():
                if agent not in self._equal_returns and math.isfinite(value):
                    matches = [m for m, v in metrics.module_returns.items() if v == value]
                    if len(matches) == 1:
                        self._equal_returns[agent] = matches[0]
        if metrics.agent_returns:
            self._by_returns.observe(metrics.agent_returns, metrics.module_returns)
        self.agent_modules = {**self._equal_returns, **self._by_returns.mapping()}


@dataclass
class TrialDiagnosis:
    """The doctor's verdict on one trial.

    :param name: trial name (directory name, or ``"results"`` for in-memory results).
    :param path: the trial directory (None for in-memory results).
    :param iterations: how many results were analysed.
    :param stack: ``"new"`` or ``"old"`` RLlib API stack (None without results).
    :param findings: what the rules found, in the order they were found; a finding
        another one explains has ``explained_by`` set (:mod:`rldebug.doctor.causes`).
    :param notes: reading problems (truncated last line, skipped rows, ...).
    :param history: the doctor's view of every iteration, for plots.
    :param family: the algorithm family ("ppo", "dqn", ...; None when unknown).
    """

    name: str
    path: str | None
    iterations: int
    stack: str | None
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    history: list[IterationMetrics] = field(default_factory=list, repr=False)
    family: str | None = None
    agent_modules: dict[str, str] = field(default_factory=dict)

    def explained_by(self, cause: Finding) -> list[Finding]:
        """The findings ``cause`` explains (its evidence in the report)."""
        return explained_under(cause, self.findings, self.agent_modules)

    @property
    def causes(self) -> list[Finding]:
        """The top-level findings (those no other finding explains), worst first."""
        return sorted((f for f in self.findings if f.explained_by is None),
                      key=lambda f: -severity_rank(f.severity))

    @property
    def usable(self) -> bool:
        """Results were read, or the trial's error was (a crash before iteration 1)."""
        return self.iterations > 0 or any(f.rule_id == "trial_errored" for f in self.findings)

    @property
    def worst(self) -> str | None:
        return worst_severity(self.findings)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "path": self.path, "iterations": self.iterations,
                "stack": self.stack, "family": self.family, "usable": self.usable,
                "worst": self.worst,
                "notes": list(self.notes), "findings": [f.to_dict() for f in self.findings]}


@dataclass
class Diagnosis:
    """The doctor's verdict on a run or an experiment: one :class:`TrialDiagnosis` per trial."""

    trials: list[TrialDiagnosis]
    source: str | None = None
    #: trial directories of the experiment with no result yet (pending, in their first
    #: iteration, or interrupted before it ended): not diagnosed, named
    without_results: list[str] = field(default_factory=list)

    @property
    def findings(self) -> list[Finding]:
        """All trials' findings (each carries its ``trial`` name)."""
        return [f for trial in self.trials for f in trial.findings]

    @property
    def exit_code(self) -> int:
        """2 when no trial was readable, 1 when any error-severity finding exists, else 0."""
        if not any(trial.usable for trial in self.trials):
            return EXIT_UNUSABLE
        return EXIT_ERROR if worst_severity(self.findings) == "error" else EXIT_HEALTHY

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "exit_code": self.exit_code,
                "trials": [t.to_dict() for t in self.trials],
                "trials_without_results": list(self.without_results)}

    def __str__(self) -> str:
        """The console report as plain text (``print(diagnosis)``; ``render`` colours it)."""
        import io

        from rich.console import Console

        from rldebug.doctor.report import render

        out = io.StringIO()
        render(self, Console(file=out, width=100, color_system=None, force_terminal=False))
        return out.getvalue().rstrip("\n")


def not_rllib_results(results: Sequence[Mapping[str, Any]]) -> str | None:
    """A note when results were read but none came from RLlib (a Tune trial of another
    trainable: its rules would judge a run that has no env, learner or return); None
    when there is none, or any result is RLlib's."""
    if not results or any(is_rllib_result(r) for r in results):
        return None
    keys = sorted({str(k) for r in results for k in r} - _TUNE_KEYS)
    seen = "" if not keys else (
        f" (it reported {', '.join(keys[:8])}"
        + (f" and {len(keys) - 8} more" if len(keys) > 8 else "") + ")")
    return (f"not an RLlib run: none of its {len(results)} result(s) has "
            f"{', '.join(RLLIB_RESULT_KEYS[:-1])} or {RLLIB_RESULT_KEYS[-1]}, which RLlib "
            f"writes into every result{seen}; the doctor diagnoses RLlib Algorithms only.")


# what Tune adds to every trainable's result, RLlib's or not
_TUNE_KEYS = frozenset({
    "training_iteration", "timestamp", "checkpoint_dir_name", "done", "trial_id", "date",
    "time_this_iter_s", "time_total_s", "pid", "hostname", "node_ip", "config",
    "time_since_restore", "iterations_since_restore", "timesteps_since_restore",
    "experiment_tag", "should_checkpoint"})


def diagnose_trial(trial: TrialData, thresholds: Thresholds | None = None) -> TrialDiagnosis:
    """Run every rule over one trial read from disk."""
    notes = list(trial.notes)
    foreign = not_rllib_results(trial.results)
    if foreign is not None:
        return TrialDiagnosis(
            name=trial.name, path=str(trial.path), iterations=0, stack=None,
            notes=notes + [f"{foreign} Point it at an RLlib trial or experiment directory."])
    doctor = Doctor(thresholds, config=trial.config, trial=trial.name, env_spec=trial.env_spec)
    skipped = NotesOfAKind(notes, lambda count, first, last: (
        f"{count} more results skipped (results {first}-{last}), for the same kinds of "
        "reason."))
    for number, result in enumerate(trial.results, 1):
        try:
            doctor.feed(result)
        except ValueError as err:
            skipped.add(number, f"result {number} skipped: {err}")
    skipped.close()
    doctor.finish()
    unjudged = doctor.return_unjudged()
    if unjudged is not None:
        notes.append(unjudged)
    report = read_trace_report(trial.path, trial=trial.name,
                               replay_capacity=doctor.facts.replay_capacity,
                               new_stack=doctor.facts.new_stack)
    findings = doctor.findings
    if report is not None:
        notes += report.notes
        window = int((trial.config or {}).get("metrics_num_episodes_for_smoothing")
                     or DEFAULT_WINDOW)
        findings = merge_trace_findings(
            findings, report.findings + audit_findings(doctor.history, report.samples, window,
                                                       trial.name))
        annotate_reward_findings(findings, report.reward_steps)
    if trial.error is not None:
        errored = errored_finding(trial.error, trial.name, doctor.iterations,
                                  recovered=trial.recovered,
                                  failed_in=trial.restored_at[0] if trial.restored_at else None)
        findings.append(errored)
        inferred = nan_from_the_data(errored, doctor.iterations, trial.config)
        if inferred is not None and not any(f.rule_id == "non_finite_reward" for f in findings):
            findings.append(inferred)
    attach_confidence(findings)
    return TrialDiagnosis(name=trial.name, path=str(trial.path), iterations=doctor.iterations,
                          stack=doctor.stack or stack_from_config(trial.config), notes=notes,
                          findings=explain(findings, doctor.agent_modules),
                          history=doctor.history, family=doctor.family,
                          agent_modules=doctor.agent_modules)


def merge_trace_findings(findings: list[Finding], from_trace: list[Finding]) -> list[Finding]:
    """The results' findings plus the trace's; where both name the same rule for the
    same subject (a NaN reward), the trace's finding, which says where, replaces it."""
    traced = {(f.rule_id, f.module) for f in from_trace}
    traced_rules = {f.rule_id for f in from_trace}
    kept = [f for f in findings if (f.rule_id, f.module) not in traced
            and not (f.module is None and f.rule_id in traced_rules)]
    return kept + from_trace


def _tune_result_path(value: Any) -> str | None:
    """The directory of a Tune ``ResultGrid`` (``experiment_path``) or ``Result``
    (``path``), else None."""
    if type(value).__module__.startswith("ray.tune"):
        path = getattr(value, "experiment_path", None) or getattr(value, "path", None)
        return path if isinstance(path, str) else None
    return None


def diagnose(results_or_path: str | Path | Iterable[Mapping[str, Any]],
             thresholds: Thresholds | None = None,
             config: Mapping[str, Any] | None = None) -> Diagnosis:
    """Diagnose a finished run, an experiment, or a list of result dicts.

    :param results_or_path: a Tune experiment directory, one trial directory, an
        ``rldebug run`` logdir (or its ``result.json``), or an iterable of result
        dicts (what ``algo.train()`` returned, in order).
    :param thresholds: the rules' thresholds (default :class:`Thresholds`).
    :param config: for in-memory results, the run's config dict (``kl_target``,
        ``vf_clip_param``); on disk it comes from ``params.json``.
    :returns: a :class:`Diagnosis`; ``.findings`` lists every finding,
        ``.exit_code`` is what ``rldebug doctor`` exits with.
    :raises UnusableInputError: if the path holds no run.
    """
    thresholds = _check_thresholds(thresholds)
    if config is not None and not isinstance(config, Mapping):
        raise UsageTypeError(f"diagnose(config=...) takes the run's config dict "
                             f"(algo.config.to_dict()), got {type(config).__name__}: "
                             f"{config!r:.80}.")
    if isinstance(results_or_path, (bytes, os.PathLike)) or (
            isinstance(results_or_path, str) and not results_or_path.strip()):
        results_or_path = path_argument(results_or_path, "diagnose(results_or_path=...)",
                                        "the path of a run or experiment")
    if isinstance(results_or_path, (str, Path)):
        read, waiting = read_experiment(results_or_path), []
        if is_tune_experiment(results_or_path):
            waiting = [p.name for p in trials_without_results(results_or_path)]
            # in a Tune experiment, a trial whose result.json is still empty (Tune opens it
            # when the trial starts) has no result yet, as one with no directory content
            started = [t for t in read if not t.results and t.error is None]
            if len(started) < len(read):
                waiting += [t.name for t in started]
                read = [t for t in read if t not in started]
        trials = [diagnose_trial(t, thresholds) for t in read]
        return Diagnosis(trials=trials, source=str(results_or_path),
                         without_results=sorted(waiting))
    tune_path = _tune_result_path(results_or_path)
    if tune_path is not None:
        raise UsageTypeError(
            f"diagnose reads a run from disk: pass the path of this Tune "
            f"{type(results_or_path).__name__}, diagnose({tune_path!r}) (its "
            f"{'.experiment_path' if hasattr(results_or_path, 'experiment_path') else '.path'}).")
    if isinstance(results_or_path, Mapping) or not isinstance(results_or_path, Iterable):
        raise UsageTypeError(
            "diagnose expects a path to a run/experiment or a list of result dicts (one per "
            f"iteration), got {type(results_or_path).__name__}: {results_or_path!r:.100}. "
            "For a single result, pass [result].")
    results = list(results_or_path)
    if not results:
        raise UsageError("diagnose got an empty list of results: pass what algo.train() "
                         "returned, one result dict per iteration, in order.")
    foreign = not_rllib_results([r for r in results if isinstance(r, Mapping)])
    if foreign is not None:
        raise UsageError(f"diagnose: {foreign} Pass what algo.train() returned.")
    doctor = Doctor(thresholds, config=config, trial="results")
    for result in results:
        doctor.feed(result)
    doctor.finish()
    attach_confidence(doctor.findings)
    unjudged = doctor.return_unjudged()
    return Diagnosis(trials=[TrialDiagnosis(name="results", path=None,
                                            iterations=doctor.iterations, stack=doctor.stack,
                                            notes=[unjudged] if unjudged else [],
                                            findings=explain(doctor.findings,
                                                             doctor.agent_modules),
                                            history=doctor.history, family=doctor.family,
                                            agent_modules=doctor.agent_modules)])


__all__ = [
    "EXIT_ERROR",
    "EXIT_HEALTHY",
    "EXIT_UNUSABLE",
    "Diagnosis",
    "Doctor",
    "TrialDiagnosis",
    "diagnose",
    "diagnose_trial",
]
