"""Verified fixes: train a finding's suggested config changes beside the original and
report what changed, in numbers.

``rldebug.verify_fix(run)`` / ``rldebug doctor RUN --verify``:

1. diagnoses the run and picks the finding to verify (the first top-level warning or
   error whose fix is a config change, :mod:`rldebug.doctor.fixes`; or the rule asked for);
2. rebuilds the run's config: the one given (an ``AlgorithmConfig``, a function, or
   ``FILE.py:FUNC``), else the one ``rldebug.run`` stored next to the run, else the
   run's ``params.json`` (:mod:`rldebug.shapes.configs`);
3. trains the original and each candidate in this process for K iterations on S seeds
   (K: the iteration where the doctor first named the finding on the original run,
   plus half again, at least 3 more; never more than the original ran, never fewer
   than 4, below which returns cannot part; a ``DoctorCallback(stop_on=...)`` in the
   config does not end these runs early), seed by seed so
   a budget cut still leaves every candidate compared, and drops a candidate once it
   is clearly worse (on every seed so far the finding stays and the return is lower);
4. re-runs the doctor on every new run (is the finding gone?) and ``rldebug.diff`` on
   the original's seeds against each candidate's (did the return part beyond its noise
   across seeds, and which way?).

Runs are stored as Tune-style experiments, ``<out>/<candidate>/seed_<s>/``, which
``rldebug doctor`` and ``rldebug diff`` read. A candidate *works* when the finding is
gone on every seed and the return is not lower beyond its noise; the best working
candidate is the one with the highest final return. Exit code 0 when one works.
"""

from __future__ import annotations

import difflib
import json
import re
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rldebug.doctor.findings import Finding, severity_rank
from rldebug.rundiff.curves import SUSTAIN
from rldebug.usage import UsageError, UsageTypeError

DEFAULT_SEEDS = 2
MIN_MARGIN = 3  # iterations past the one where the doctor named the finding
# the fewest iterations whose returns can part (rundiff's SUSTAIN points in a row, after
# iteration 1, which samples before any update)
MIN_ITERATIONS = SUSTAIN + 1
VERIFY_DIR = "rldebug_verify"
ORIGINAL = "original"


@dataclass
class SeedRun:
    """One training run of a candidate on one seed."""

    seed: int
    path: Path
    iterations: int = 0
    final_return: float | None = None
    finding_present: bool | None = None  # None when the run failed
    problems: list[tuple[str, str | None, str]] = field(default_factory=list)  # warnings/errors
    returns: list[float | None] = field(default_factory=list)  # mean return per iteration
    error: str | None = None
    elapsed_s: float = 0.0
    stopped_by: str | None = None  # why it ended before the iterations asked for

    def to_dict(self) -> dict[str, Any]:
        return {"seed": self.seed, "path": str(self.path), "iterations": self.iterations,
                "final_return": self.final_return, "finding_present": self.finding_present,
                "problems": [list(p) for p in self.problems], "returns": self.returns,
                "error": self.error, "elapsed_s": round(self.elapsed_s, 2),
                "stopped_by": self.stopped_by}


@dataclass
class Candidate:
    """The original config or one candidate fix, with its runs and how it compares."""

    name: str
    changes: dict[str, Any]
    runs: list[SeedRun] = field(default_factory=list)
    dropped: str | None = None  # why no more seeds were run
    return_change: str | None = None  # "higher", "lower", "within noise" (vs the original)
    parted_at_iteration: float | None = None
    symptoms_left: list[str] = field(default_factory=list)  # of the finding, still seen
    new_findings: list[str] = field(default_factory=list)  # warnings/errors the original has not

    @property
    def finding_gone(self) -> bool:
        """Every seed ran and none shows the finding."""
        return bool(self.runs) and all(r.finding_present is False for r in self.runs)

    @property
    def finding_on_seeds(self) -> tuple[int, int]:
        """(seeds whose run shows the finding, seeds whose run finished)."""
        seen = [r for r in self.runs if r.finding_present is not None]
        return sum(bool(r.finding_present) for r in seen), len(seen)

    def mean_curve(self) -> list[float | None]:
        """The mean return per iteration across the seeds that reached it."""
        longest = max((len(r.returns) for r in self.runs), default=0)
        curve = []
        for i in range(longest):
            values = [r.returns[i] for r in self.runs
                      if i < len(r.returns) and r.returns[i] is not None]
            curve.append(sum(values) / len(values) if values else None)
        return curve

    @property
    def mean_return(self) -> float | None:
        values = [r.final_return for r in self.runs if r.final_return is not None]
        return sum(values) / len(values) if values else None

    @property
    def trained(self) -> bool:
        """At least one of its runs trained (did not fail)."""
        return any(r.error is None for r in self.runs)

    @property
    def works(self) -> bool:
        """The finding is gone on every seed, no error it explained is left, and the
        return is not lower beyond its noise."""
        return (self.finding_gone and self.return_change != "lower" and self.dropped is None
                and not any(s.startswith("error ") for s in self.symptoms_left))

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "changes": self.changes, "works": self.works,
                "finding_gone": self.finding_gone, "mean_return": self.mean_return,
                "return_change": self.return_change,
                "parted_at_iteration": self.parted_at_iteration,
                "symptoms_left": self.symptoms_left, "new_findings": self.new_findings, "dropped": self.dropped,
                "runs": [r.to_dict() for r in self.runs]}


@dataclass
class Verification:
    """What ``verify_fix`` measured: the original re-trained and each candidate fix."""

    run: str
    trial: str
    finding: Finding
    config_source: str
    iterations: int
    seeds: list[int]
    out: Path
    original: Candidate
    candidates: list[Candidate]
    elapsed_s: float = 0.0
    budget_cut: str | None = None
    config_differs: list[str] = field(default_factory=list)  # given config vs params.json
    diagnosis: Any = field(default=None, repr=False)  # the original run's, for its HTML page

    @property
    def reproduced(self) -> bool:
        """The finding came back in at least one of the original's re-runs."""
        return any(r.finding_present for r in self.original.runs)

    @property
    def best(self) -> Candidate | None:
        """The working candidate with the highest mean final return."""
        working = [c for c in self.candidates if c.works]
        return min(working, key=lambda c: (len(c.symptoms_left), -(
            c.mean_return if c.mean_return is not None else float("-inf"))), default=None)

    @property
    def cause_unconfirmed(self) -> bool:
        """The finding said it is why the return is flat (``flat`` in its evidence, at
        error), and the best candidate removed it while the return stayed within noise:
        the finding is gone, the flat return is not (MountainCar's clipped critic, whose
        goal no policy reached either way)."""
        best = self.best
        return best is not None and self.finding.severity == "error" and \
            bool(self.finding.evidence.get("flat")) and best.return_change == "within noise"

    @property
    def exit_code(self) -> int:
        """0 when a candidate removes the finding without lowering the return (and, for a
        finding that said it is why the return is flat, raises it), else 1."""
        return 0 if self.reproduced and self.best is not None and \
            not self.cause_unconfirmed else 1

    def to_dict(self) -> dict[str, Any]:
        best = self.best
        return {"run": self.run, "trial": self.trial, "finding": self.finding.to_dict(),
                "config_source": self.config_source, "iterations": self.iterations,
                "seeds": self.seeds, "out": str(self.out), "reproduced": self.reproduced,
                "best": None if best is None else best.name, "exit_code": self.exit_code,
                "cause_unconfirmed": self.cause_unconfirmed,
                "elapsed_s": round(self.elapsed_s, 1), "budget_cut": self.budget_cut,
                "config_differs": self.config_differs,
                "original": self.original.to_dict(),
                "candidates": [c.to_dict() for c in self.candidates]}

    def __str__(self) -> str:
        f = self.finding
        subject = f" for {f.module!r}" if f.module else ""
        out = [(f"Verifying {f.rule_id}{subject} ({f.severity}, named at iteration "
               f"{f.began_at_iteration}) in {self.trial}"),
               (f"  config: {self.config_source}; {self.iterations} iterations x seeds "
               f"{self.seeds}; runs in {self.out}")]
        if self.config_differs:
            out.append("  note: the config given differs from the run's params.json, so the "
                       "original re-trained is not the run read: "
                       + "; ".join(self.config_differs))
        out.append("")
        rows = [self.original] + self.candidates
        width = max(len(c.name) for c in rows)
        for c in rows:
            present, seen = c.finding_on_seeds
            mean = "-" if c.mean_return is None else f"{c.mean_return:.4g}"
            line = (f"  {c.name:<{width}}  {f.rule_id} in {present}/{seen} seed(s)  "
                    f"final return {mean}")
            if c is not self.original:
                change = c.return_change or "not compared"
                if c.parted_at_iteration is not None:
                    change += f" (parts from iteration {c.parted_at_iteration:g})"
                line += f"  vs original: {change}"
                line += ("  -> works" if c.works else "  -> does not work" if c.trained
                         else "  -> could not train")
            out.append(line)
            for r in c.runs:
                if r.error:
                    out.append(f"      seed {r.seed} failed: {r.error}")
                elif r.stopped_by:
                    out.append(f"      seed {r.seed} ended after {r.iterations} of "
                               f"{self.iterations} iterations: {r.stopped_by}")
            if c.symptoms_left:
                out.append(f"      what {f.rule_id} explained, still seen: "
                           f"{', '.join(c.symptoms_left)}")
            if c.new_findings:
                out.append(f"      new findings: {', '.join(c.new_findings)}")
            if c.dropped:
                out.append(f"      stopped early: {c.dropped}")
        out.append("")
        if self.budget_cut:
            out.append(f"Budget: {self.budget_cut}")
        if self.original.runs and not self.original.trained:
            out.append("Could not verify: every re-run of the original failed (above), so "
                       "nothing was measured. Fix what failed" + (
                           "." if self.config_source.startswith("--config") else
                           ", or pass the run's config: --config my_file.py:make_config."))
        elif not self.reproduced:
            out.append(f"Inconclusive: {f.rule_id} did not come back in the original's "
                       f"{len(self.original.runs)} re-run(s) of {self.iterations} iterations, "
                       "so a candidate that lacks it proves nothing. Raise --iterations, or "
                       "verify on the seeds the run used.")
        elif self.cause_unconfirmed:
            b = self.best
            out.append(f"Removed, not confirmed as the cause: {b.name} removes {f.rule_id} "
                       f"on every seed, but the return stayed within noise "
                       f"({_fmt(self.original.mean_return)} -> {_fmt(b.mean_return)}), and "
                       f"{f.rule_id} said it is why the return is flat. Something else keeps "
                       "it flat: read the findings it explained (rldebug doctor --all), "
                       "or verify with more --iterations.")
        elif self.best is not None:
            b = self.best
            out.append(f"Verified: {b.name} removes {f.rule_id} on every seed and the return "
                       f"is {b.return_change} ({_fmt(self.original.mean_return)} -> "
                       f"{_fmt(b.mean_return)}). Set it with "
                       f"config.update_from_dict({b.changes!r}).")
        else:
            out.append(f"Not verified: no candidate removed {f.rule_id} on every seed "
                       "without lowering the return. The suggested fix does not work here; "
                       "read the other findings, or try your own with --fix KEY=VALUE.")
        return "\n".join(out)


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def _check_fixes(base, fixes: list[dict[str, Any]]) -> None:
    """Refuse, before training, a fix that names no setting of the config, gives a number
    setting a value that is not one, or changes nothing (RLlib's update_from_dict would
    take each silently, and the verification would measure the original twice)."""
    current = base.to_dict()
    refused_in_run = _refused_traps(base)
    for fix in fixes:
        for key, value in fix.items():
            name = base._translate_special_keys(key, warn_deprecated=False)
            if key != "multiagent" and not hasattr(base, name):
                close = difflib.get_close_matches(key, list(current), n=3)
                raise UsageError(f"--fix {key}=...: {type(base).__name__} has no setting "
                                 f"{key!r}" + (f" (did you mean {', '.join(close)}?)"
                                               if close else "") +
                                 "; name one of config.to_dict()'s keys, e.g. --fix lr=1e-4.")
            was = current.get(key, getattr(base, name, None))
            # text where the run has a number or a flag ("auto" and None are RLlib's own)
            if isinstance(value, str) and value != "auto" and (
                    _is_number(was) or isinstance(was, bool)):
                raise UsageError(f"--fix {key}={value!r}: {key} is "
                                 f"{type(was).__name__} ({was!r} in the run), not "
                                 f"{type(value).__name__}; write e.g. --fix {key}={was!r}"
                                 .replace("True", "true").replace("False", "false"))
            if value is None and was is not None:  # RLlib would train with another value
                raise UsageError(f"--fix {key}=null: {key} is {was!r} in the run; None is "
                                 "no setting RLlib trains with (it falls back to another "
                                 "value: for lr, the optimizer's own default). Give a value.")
        if all(json.dumps(current.get(k), default=repr) == json.dumps(v, default=repr)
               for k, v in fix.items()):
            raise UsageError(f"--fix {_slug(fix)} is the run's config already: the candidate "
                             "would re-train the original. Give a new value.")
        _check_trained_as_given(base, fix, refused_in_run)


# what `rldebug check` says of a candidate that makes it refuse it: RLlib would train
# something else than the value given (it ignores the setting, or falls back)
_REFUSED_TRAPS = ("model_ignored", "old_key_ignored", "discrete_start_ignored")


def _refused_traps(config) -> set | None:
    """What `rldebug check` says of ``config`` that a fix may not bring in (errors, and
    settings RLlib ignores); None when checking it raised (the training says why)."""
    from rldebug.traps import preflight

    try:
        return {(t.name, t.message, t.fix) for t in preflight(config)
                if t.severity == "error" or t.name in _REFUSED_TRAPS}
    except UsageError:
        raise
    except Exception:  # noqa: BLE001 - the candidate's own training says what fails
        return None


def _check_trained_as_given(base, fix: dict[str, Any], refused_in_run: set | None) -> None:
    """Refuse a fix that `rldebug check` calls an error, or a setting RLlib ignores, where
    the run's own config (``refused_in_run``: :func:`_refused_traps` of it) had no such
    trap: a "Verified" would recommend a value RLlib never trained with (lr=-1 trains at
    RLlib's default lr)."""
    try:
        candidate = base.copy(copy_frozen=False).update_from_dict(fix)
    except UsageError:
        raise
    except Exception:  # noqa: BLE001 - the candidate's own training says what fails
        return
    refused = _refused_traps(candidate)
    if refused is None or refused_in_run is None:
        return
    new = refused - refused_in_run
    if new:
        name, message, how = min(new)
        shown = ",".join(f"{k}={json.dumps(v, default=repr)}" for k, v in fix.items())
        raise UsageError(f"--fix {shown}: rldebug check names a trap in it, "
                         f"{name}: {message} ({how}) Give a value RLlib trains with.")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _output_folder(out: str | Path | None, default: Path) -> Path:
    """Where the runs go: ``out``, refused when it already holds files; by default a
    folder under the run, a new one (``_2``, ``_3``, ...) beside an earlier
    verification, so re-verifying (with more iterations, say) keeps the earlier one."""
    from rldebug.inprocess.runlog import check_writable

    if out is not None:
        folder = Path(out).expanduser()
        if folder.is_dir() and any(folder.iterdir()):
            raise UsageError(f"out={str(folder)!r} (--out) already holds files (an earlier "
                             "verification?); its runs would mix with new ones. Pass a new "
                             "folder, or leave --out out for one under the run.")
        return check_writable(folder, "out")
    folder, number = default, 1
    while folder.is_dir() and any(folder.iterdir()):
        number += 1
        folder = default.with_name(f"{default.name}_{number}")
    return check_writable(folder, "out")


def _slug(changes: Mapping[str, Any]) -> str:
    text = ",".join(f"{k}={v}" for k, v in changes.items())
    return re.sub(r"[^A-Za-z0-9_.=,+-]", "_", text)[:80] or "unchanged"


def _label(rule: str, module: str | None) -> str:
    return rule + (f" ({module})" if module else "")


# ---- choosing the finding -------------------------------------------------------------

def _pick(diagnosis, rule: str | None, module: str | None, own_fixes: bool):
    """(trial diagnosis, finding) to verify: the one asked for, else the first top-level
    warning or error with a config fix (any, when the user brings the fixes)."""
    offered = []
    for trial in diagnosis.trials:
        for finding in trial.findings:
            if finding.explained_by is not None or severity_rank(finding.severity) < 1:
                continue
            offered.append((trial, finding))
    if rule is not None:
        chosen = [(t, f) for t, f in offered if f.rule_id == rule
                  and (module is None or f.module == module)]
        if not chosen:
            names = sorted({_label(f.rule_id, f.module) for _, f in offered})
            raise UsageError(f"The run has no top-level warning or error {rule!r}"
                             + (f" for {module!r}" if module else "")
                             + (f"; it has: {', '.join(names)}." if names else
                                "; it has no warning or error at all."))
        return chosen[0]
    fixable = [(t, f) for t, f in offered if f.fix_config or own_fixes]
    if not fixable:
        names = sorted({f.rule_id for _, f in offered})
        if not names:
            raise UsageError(
                "The doctor found no warning or error in this run, so there is no finding "
                "for a fix to remove. To see whether a change of your own trains better, "
                "train it and compare the two runs: rldebug diff RUN NEW_RUN (run seeds of "
                "both to measure what a seed alone changes).")
        raise UsageError(
            f"No top-level warning or error of this run has a fix that is a config change "
            f"({', '.join(names)} are fixed in the env or the code), so there is nothing to "
            "verify by training. To try a change of your own against one of them, pass "
            "--rule RULE --fix KEY=VALUE.")
    return fixable[0]


def _named_at(trial_data, finding: Finding, thresholds=None) -> int:
    """The iteration where the doctor first names ``finding`` at its severity when fed the
    run's results one by one (the rules need some iterations past the onset to be sure; a
    warning that became the error later, once the return could be judged, is named where
    it became the error, so a fix is trained long enough to judge the return too)."""
    from rldebug.doctor.diagnosis import Doctor

    doctor = Doctor(thresholds, config=trial_data.config, trial=trial_data.name,
                    env_spec=trial_data.env_spec)
    first: int | None = None  # named at any severity (its severity fell since)
    for number, result in enumerate(trial_data.results, 1):
        try:
            new = doctor.feed(result)
        except ValueError:
            continue
        named = [f for f in new + doctor.escalated
                 if f.rule_id == finding.rule_id and f.module == finding.module]
        if any(f.severity == finding.severity for f in named):
            return number
        if named and first is None:
            first = number
    return first if first is not None else len(trial_data.results)


# ---- the config ------------------------------------------------------------------------

def _rebuild(trial_data, config: Any) -> tuple[Any, str]:
    """(an AlgorithmConfig to copy, where it came from)."""
    from ray.rllib.algorithms.algorithm_config import AlgorithmConfig

    from rldebug.shapes.configs import config_from_params, stored_config

    source = "given"
    if isinstance(config, str):
        from rldebug.usage import load_function

        source, config = f"--config {config}", load_function(config, "--config")
    if callable(config) and not isinstance(config, AlgorithmConfig):
        name = getattr(config, "__name__", "the function")
        source, config = (source if source != "given" else f"{name}()"), config()
    if config is not None:
        if not isinstance(config, AlgorithmConfig):
            raise UsageTypeError(f"verify_fix(config=...) takes an AlgorithmConfig, a function "
                                 f"returning one, or 'FILE.py:FUNC'; got {type(config).__name__}.")
        return config, source
    stored = stored_config(trial_data.path)
    if stored is not None:
        return stored, "the config rldebug.run stored with the run"
    from rldebug.rundiff.configs import algorithm_of

    algorithm = algorithm_of(trial_data.config, trial_data.name)
    if not trial_data.config or algorithm is None:
        raise UsageError(
            f"{trial_data.path} holds no config verify can rebuild (no rldebug_config.pkl, "
            "and params.json is missing or does not say the algorithm). Pass it: "
            "--config my_file.py:make_config.")
    return config_from_params(algorithm, trial_data.config), f"params.json ({algorithm})"


def _differences(trial_data, base) -> list[str]:
    """Where a config the user gave differs from the run's params.json ("lr: run 0.5,
    given 0.001"): then the "original" re-trained is not the run the doctor read."""
    if not trial_data.config:
        return []
    from rldebug.rundiff.configs import algorithm_of, config_rows

    algorithm = algorithm_of(trial_data.config, trial_data.name)
    given = getattr(getattr(base, "algo_class", None), "__name__", None) or algorithm
    rows = config_rows(trial_data.config, base.to_dict(), algorithm, algorithm)
    said = [f"{r.key}: run {_short(r.a)}, given {_short(r.b)}" for r in rows
            if r.key not in _NOT_COMPARED and not r.a_default
            and not (_names_code(r.a) and _names_code(r.b))]
    if algorithm and given and given != algorithm:
        said.insert(0, f"the algorithm: run {algorithm}, given {given}")
    if len(said) > _DIFFERENCES_SHOWN:  # `rldebug diff` lists them all
        said = said[:_DIFFERENCES_SHOWN] + [
            f"and {len(said) - _DIFFERENCES_SHOWN} more settings"]
    return said


_DIFFERENCES_SHOWN = 8


def _short(value: Any, width: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= width else text[:width - 3] + "..."


def _names_code(value) -> bool:
    """A function or class as params.json names it (``<function <lambda>>``): its code is
    not stored, so two names that differ (a lambda defined elsewhere) say nothing."""
    return callable(value) or isinstance(value, str) and \
        value.startswith(("<function ", "<bound method ", "<class ", "<built-in "))


# Set by verify itself (seed) or by Tune/RLlib while the run trained.
_NOT_COMPARED = frozenset({"seed", "(algorithm)"})


def _seed_of(config) -> int:
    seed = getattr(config, "seed", None)
    return seed if isinstance(seed, int) else 0


# ---- training and judging -----------------------------------------------------------------

def _train(base, changes: Mapping[str, Any], seed: int, iterations: int, logdir: Path,
           finding: Finding) -> SeedRun:
    from rldebug.doctor.diagnosis import diagnose_trial
    from rldebug.inprocess.training import run
    from rldebug.shapes.results import mean_total_return

    record = SeedRun(seed=seed, path=logdir)
    started = time.time()
    config = base.copy(copy_frozen=False)
    if changes:
        config.update_from_dict(dict(changes))
    config.debugging(seed=seed)
    try:
        result = run(config, stop={"training_iteration": iterations}, logdir=logdir,
                     progress=False, on_result=_doctor_does_not_stop)
    except Exception as err:  # noqa: BLE001 - a candidate that crashes is a measured outcome
        record.error = f"{type(err).__name__}: {str(err)[:300]}"
        record.elapsed_s = time.time() - started
        return record
    result.algo.stop()
    record.iterations = result.iterations
    if result.iterations < iterations:
        record.stopped_by = result.stopped_by
    record.final_return = mean_total_return(result.last_result)
    from rldebug.doctor.reading import read_trial

    trial = read_trial(logdir)
    record.returns = [mean_total_return(r) for r in trial.results]
    found = [f for f in diagnose_trial(trial).findings if severity_rank(f.severity) >= 1]
    record.problems = sorted({(f.rule_id, f.module, f.severity) for f in found}, key=str)
    record.finding_present = any(
        f.rule_id == finding.rule_id and f.module == finding.module for f in found)
    record.elapsed_s = time.time() - started
    return record


def _doctor_does_not_stop(result: dict) -> bool:
    """The run's own ``DoctorCallback(stop_on=...)`` ends a run at its first error: the
    original and every candidate with any error would be compared after one iteration.
    Verifying trains each the iterations asked for; the findings are judged after."""
    doctor = result.get("doctor")
    if result.get("done") is True and isinstance(doctor, dict) and doctor.get("stopped_by"):
        result["done"] = False
    return False


def _compare(original_dir: Path, candidate: Candidate, candidate_dir: Path) -> None:
    from rldebug.rundiff import diff

    if not any(r.iterations for r in candidate.runs):
        return
    try:
        compared = diff(original_dir, candidate_dir)
    except ValueError:
        return
    main = compared.main
    if main is not None:
        parted = main.by_iteration or main.by_env_steps
        if parted is None or main.final_a is None or main.final_b is None:
            candidate.return_change = "within noise"
        else:
            candidate.return_change = "higher" if main.final_b > main.final_a else "lower"
            if main.by_iteration is not None:
                candidate.parted_at_iteration = main.by_iteration.at


def _judge_findings(candidate: Candidate, original: Candidate, symptoms: set) -> None:
    """What the finding explained that the candidate still shows (with its worst
    severity), and the warnings/errors the original's re-runs never showed."""
    seen: dict[tuple, str] = {}
    for r in candidate.runs:
        for rule, module, severity in r.problems:
            key = (rule, module)
            if key not in seen or severity_rank(severity) > severity_rank(seen[key]):
                seen[key] = severity
    before = {(rule, module) for r in original.runs for rule, module, _ in r.problems}
    candidate.symptoms_left = sorted(f"{seen[k]} {_label(*k)}" for k in seen if k in symptoms)
    candidate.new_findings = sorted(_label(*k) for k in seen
                                    if k not in before and k not in symptoms)


def _clearly_worse(candidate: Candidate, original: Candidate) -> bool:
    """On every seed run so far the finding stayed and the return was below the
    original's on the same seed."""
    pairs = [(c, o) for c in candidate.runs for o in original.runs if c.seed == o.seed]
    return bool(pairs) and all(
        c.finding_present and c.final_return is not None and o.final_return is not None
        and c.final_return < o.final_return for c, o in pairs)


def _parse_budget(budget: float | str | None) -> float | None:
    if budget is None:
        return None
    if isinstance(budget, str):
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", budget)
        if not match:
            raise UsageError(f"budget {budget!r} is not a duration: write e.g. '300', "
                             "'90s', '5m' or '1h'.")
        budget = float(match[1]) * {"": 1, "s": 1, "m": 60, "h": 3600}[match[2]]
    if isinstance(budget, bool) or not isinstance(budget, (int, float)) or budget <= 0:
        raise UsageError(f"budget must be a positive number of seconds, got {budget!r}.")
    return float(budget)


def verify_fix(run: str | Path, *, rule: str | None = None, module: str | None = None,
               config: Any = None, fixes: Sequence[Mapping[str, Any]] | None = None,
               iterations: int | None = None, seeds: int = DEFAULT_SEEDS,
               budget: float | str | None = None, out: str | Path | None = None,
               progress: bool | Callable[[str], None] = True) -> Verification:
    """Train a finding's suggested fixes beside the original run and measure them.

    :param run: an ``rldebug run`` logdir, a Tune trial or experiment directory.
    :param rule: the finding to verify (a rule id such as ``"lr_too_high"``); default: the
        first top-level warning or error whose fix is a config change.
    :param module: with ``rule``: the module/agent the finding names.
    :param config: the run's config when it cannot be rebuilt from the run: an
        ``AlgorithmConfig``, a function returning one, or ``"FILE.py:FUNC"``.
    :param fixes: your own candidate changes (dicts of AlgorithmConfig settings), tried
        instead of the doctor's suggestions (``finding.fix_config``).
    :param iterations: iterations per run (default: where the doctor named the finding
        on the original, plus half again, at least 3 more; at most what the original ran,
        and never fewer than ``MIN_ITERATIONS`` (4), below which returns cannot part).
    :param seeds: seeds per candidate (default 2); their spread is the noise.
    :param budget: seconds (or ``"5m"``) after which no new run starts.
    :param out: where the runs go (default ``<run>/rldebug_verify/<rule>``).
    :param progress: print one line per finished run to stderr (or call this function).
    :returns: a :class:`Verification`; ``print`` it, ``.to_dict()``, ``.exit_code``.
    """
    from rldebug.doctor.diagnosis import diagnose
    from rldebug.doctor.fixes import config_fixes
    from rldebug.doctor.reading import changed_settings_text, read_trial

    if not isinstance(seeds, int) or isinstance(seeds, bool) or seeds < 1:
        raise UsageError(f"seeds (--seeds) must be a positive int, got {seeds!r}.")
    if module is not None and rule is None:
        raise UsageError(f"module={module!r} (--module) names whose finding to verify: give "
                         "the finding's rule too, rule= (--rule), e.g. --rule lr_too_high "
                         f"--module {module}.")
    if iterations is not None and (not isinstance(iterations, int)
                                   or isinstance(iterations, bool) or iterations < 1):
        raise UsageError(f"iterations (--iterations) must be a positive int, got "
                         f"{iterations!r}.")
    if iterations is not None and iterations < MIN_ITERATIONS:
        raise UsageError(
            f"iterations={iterations} (--iterations) is too few to compare returns: a "
            f"return parts from the original's only when the curves stay apart {SUSTAIN} "
            f"iterations in a row, and iteration 1 samples before any update, so any "
            f"candidate would read 'within noise'. Give --iterations {MIN_ITERATIONS} or more.")
    budget_s = _parse_budget(budget)
    own = [dict(f) for f in (fixes or ())]
    if any(not f or not all(isinstance(k, str) for k in f) for f in own):
        raise UsageError(f"fixes must be non-empty dicts of AlgorithmConfig settings, got "
                         f"{fixes!r}.")
    say = progress if callable(progress) else (
        (lambda line: print(line, file=sys.stderr, flush=True)) if progress else
        (lambda line: None))
    started = time.time()

    diagnosis = diagnose(run)
    trial, finding = _pick(diagnosis, rule, module, own_fixes=bool(own))
    trial_data = read_trial(trial.path)
    if trial_data.config_changes and config is None:
        first = min(trial_data.config_changes)
        said = changed_settings_text(trial_data.config_changes[first], most=4)
        raise UsageError(
            f"{trial.name} did not train with one config: from iteration {first} on a "
            f"restore changed it ({said}; PBT's exploit does). --verify would re-train "
            "params.json's config, the last one, from scratch, which is not how the run that "
            f"showed {finding.rule_id} trained. Pass the config it ran with: --config "
            "FILE.py:make_config.")
    base, source = _rebuild(trial_data, config)
    differs = _differences(trial_data, base) if config is not None else []
    suggested = own or finding.fix_config or \
        config_fixes(finding, base.to_dict(), trial.family)
    if not suggested:
        raise UsageError(f"{finding.rule_id} has no config change to verify (its fix: "
                         f"{finding.fix}). Try your own with --fix KEY=VALUE.")
    if own:
        _check_fixes(base, own)
    named_at = _named_at(trial_data, finding)
    if iterations is None:
        iterations = max(MIN_ITERATIONS, min(len(trial_data.results),
                                             named_at + max(MIN_MARGIN, named_at // 2)))
    first_seed = _seed_of(base)
    seed_list = [first_seed + i for i in range(seeds)]
    out_dir = _output_folder(out, Path(trial.path) / VERIFY_DIR / (
        finding.rule_id + (f"_{finding.module}" if finding.module else "")))

    original = Candidate(ORIGINAL, {})
    candidates = [Candidate(_slug(c), dict(c)) for c in suggested]
    budget_cut = None
    total = len(seed_list) * (1 + len(candidates))
    done = 0
    for seed in seed_list:
        for candidate in [original] + candidates:
            if candidate.dropped:
                continue
            if budget_s is not None and time.time() - started > budget_s:
                budget_cut = (f"{budget_s:g} s spent after {done} of {total} runs; the rest "
                              "were not started")
                break
            record = _train(base, candidate.changes, seed, iterations,
                            out_dir / candidate.name / f"seed_{seed}", finding)
            candidate.runs.append(record)
            done += 1
            state = ("failed" if record.error else
                     f"{finding.rule_id} {'present' if record.finding_present else 'gone'}")
            say(f"[{done}/{total}] {candidate.name} seed {seed}: {record.iterations} "
                f"iterations, return {_fmt(record.final_return)}, {state} "
                f"({record.elapsed_s:.1f} s)")
        if budget_cut:
            break
        for candidate in candidates:
            if not candidate.dropped and seed != seed_list[-1] and \
                    _clearly_worse(candidate, original):
                candidate.dropped = ("the finding stayed and the return was below the "
                                     "original's on every seed so far")
    symptoms = {(f.rule_id, f.module) for f in trial.findings
                if f.explained_by == finding.rule_id}
    for candidate in candidates:
        if original.runs:
            _compare(out_dir / ORIGINAL, candidate, out_dir / candidate.name)
        _judge_findings(candidate, original, symptoms)
    verification = Verification(
        run=str(run), trial=trial.name, finding=finding, config_source=source,
        iterations=iterations, seeds=seed_list, out=out_dir, original=original,
        candidates=candidates, elapsed_s=time.time() - started, budget_cut=budget_cut,
        config_differs=differs, diagnosis=diagnosis)
    (out_dir / "verification.json").write_text(
        json.dumps(verification.to_dict(), indent=2, default=str))
    return verification


__all__ = ["Candidate", "SeedRun", "Verification", "verify_fix"]
