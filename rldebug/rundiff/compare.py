"""``rldebug.diff(run_a, run_b)``: what differs between two runs, and from when.

A run is anything ``rldebug doctor`` reads: an ``rldebug run`` logdir, one Tune
trial, or a Tune experiment (its trials are taken as seeds of one config).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from rldebug.rundiff.configs import algorithm_of, config_rows
from rldebug.rundiff.curves import compare, curve
from rldebug.rundiff.report import FindingDiff, RunDiff
from rldebug.rundiff.speed import speed_rows
from rldebug.rundiff.traces import trace_rows
from rldebug.usage import UsageError, UsageTypeError, path_argument

DEFAULT_METRIC = "return"
# Learner statistics compared per module (normalised names, rldebug.shapes.results).
LEARNER_STATS = ("total_loss", "policy_loss", "value_loss", "q_loss", "entropy", "kl")


def _reported(value) -> bool:
    """A number a curve can be drawn from (NaN and inf count: they are reported)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _metrics(results: list[dict]) -> dict[str, Callable[[dict], float | None]]:
    """Metric name -> how to read it from a result, for what these results report."""
    from rldebug.shapes.results import learner_stats, mean_total_return, per_agent_returns
    from rldebug.shapes.reward_terms import terms_from_result

    found: dict[str, Callable] = {DEFAULT_METRIC: mean_total_return}
    agents, stats = set(), set()
    for result in results:
        agents.update(per_agent_returns(result))
        for module, module_stats in learner_stats(result).items():
            stats.update((module, name) for name in module_stats if name in LEARNER_STATS)
    if len(agents) > 1:
        for agent in sorted(agents):
            found[f"return/{agent}"] = (lambda r, a=agent: per_agent_returns(r).get(a))
    terms = sorted({(agent, term) for result in results
                    for agent, per_term in terms_from_result(result).items()
                    for term in per_term})
    for agent, term in terms:
        found[f"reward_terms/{agent}/{term}"] = (
            lambda r, a=agent, n=term: terms_from_result(r).get(a, {}).get(n))
    for module, name in sorted(stats):
        found[f"{module}/{name}"] = (
            lambda r, m=module, n=name: _stat(learner_stats(r).get(m, {}).get(n)))
    return found


def _is_learner_stat(name: str) -> bool:
    """``<module>/<stat>`` of :data:`LEARNER_STATS` (not a return, nor a reward term)."""
    head, _, tail = name.rpartition("/")
    return bool(head) and tail in LEARNER_STATS and not name.startswith(
        ("return/", "reward_terms/"))


def _stat(stat) -> float | None:
    return None if stat is None else stat.value


def _path_metric(metric: str) -> Callable[[dict], float | None]:
    from rldebug.shapes.results import get_path, number

    return lambda result: number(get_path(result, metric))


def _read(run: Any, side: str):
    from rldebug.doctor.reading import read_experiment

    run = path_argument(run, f"diff(run_{side}=...)", "a run's path (an rldebug run logdir, "
                        "a Tune trial or experiment directory)")
    read = read_experiment(run, whole=True)
    # a run that crashed before its first result is compared by its config and its crash
    trials = [t for t in read if t.results] or [t for t in read if t.error and t.config]
    if not trials:
        # what the reading said of its lines (one that is no JSON), not that none was read
        notes = [note for t in read for note in t.notes if "no readable result" not in note]
        raise UsageError(f"run_{side} ({run}) holds no readable result"
                         + (f" ({notes[0].rstrip('.')})" if notes else "")
                         + ": nothing to compare. Pass a run that trained for at least one "
                         "iteration.")
    _one_config(trials, run, side)
    return trials


def _both_rllib_or_neither(trials_a: list, trials_b: list, run_a: Any, run_b: Any) -> None:
    """Refuse an RLlib run compared with a folder of something else (another trainable's
    results, a stray result.json): every metric but Tune's own would be "only in a"."""
    from rldebug.doctor.diagnosis import not_rllib_results

    note_a = not_rllib_results([r for t in trials_a for r in t.results])
    note_b = not_rllib_results([r for t in trials_b for r in t.results])
    if bool(note_a) != bool(note_b):
        side, run, note = ("a", run_a, note_a) if note_a else ("b", run_b, note_b)
        what = note.split("; the doctor")[0]
        raise UsageError(f"run_{side} ({run}) is {what}; the other run is RLlib's, so there "
                         "is nothing to compare. Pass two RLlib runs (rldebug run logdirs, "
                         "Tune trials or experiments).")


# what may differ between the trials of one side: they are seeds of one config
_SEED_KEYS = frozenset({"seed", "(algorithm)"})


def _names_a_seed(key: str) -> bool:
    """The top-level seed, or an inner setting naming one (``env_config.seed``)."""
    return key in _SEED_KEYS or ("." in key and "seed" in key.rsplit(".", 1)[-1].lower())


def _seeds_per_side(rows: list, trials_a: list, trials_b: list) -> list:
    """The config rows, a seed's row holding each side's seeds where a side's trials have
    several (``seed: [0, 1] -> [2, 3]``; it showed each side's first, and nothing where
    those were alike: {0, 1} against {0, 2})."""
    from rldebug.rundiff.configs import ConfigRow, value_at

    def seeds(trials: list, key: str) -> list:
        return [value_at(t.config, key) for t in trials]

    def shown(values: list):
        return values if len({repr(v) for v in values}) > 1 else values[0]

    keys = [row.key for row in rows]
    if "seed" not in keys and \
            sorted(map(repr, seeds(trials_a, "seed"))) != sorted(map(repr, seeds(trials_b, "seed"))):
        rows = sorted([*rows, ConfigRow("seed", None, None, False, False)],
                      key=lambda row: (row.key != "(algorithm)", row.key))
    for row in rows:
        if row.key != "(algorithm)" and _names_a_seed(row.key):
            row.a, row.b = shown(seeds(trials_a, row.key)), shown(seeds(trials_b, row.key))
    return rows


def _one_config(trials: list, run: Any, side: str) -> None:
    """Refuse a side whose trials are not seeds of one config (a Tune grid over lr): their
    spread would be taken for noise, and the first trial's config for the side's."""
    first = trials[0]
    algorithm = algorithm_of(first.config, first.name)
    for other in trials[1:]:
        rows = [r for r in config_rows(first.config, other.config, algorithm,
                                       algorithm_of(other.config, other.name))
                if not _names_a_seed(r.key)]
        if rows:
            said = "; ".join(f"{r.key}: {r.a!r} in {first.name}, {r.b!r} in {other.name}"
                             for r in rows[:3]) + ("; ..." if len(rows) > 3 else "")
            raise UsageError(
                f"run_{side} ({run}) holds trials of different configs ({said}): diff takes "
                "the trials of one side as seeds of one config, their spread as its noise. "
                "Pass one trial directory per side (or a directory holding only seeds of "
                "one config).")


def _nearest(metric: str, names: list[str], results: list[dict]) -> str:
    """`` (did you mean ...?)`` naming the metric or numeric '/'-path of the results
    nearest to a mistyped ``metric`` ("" when none is near)."""
    import difflib

    def paths(node: Any, prefix: str = "", depth: int = 0):
        for key, value in node.items():
            path = f"{prefix}{key}"
            if isinstance(value, dict) and depth < 4:
                yield from paths(value, f"{path}/", depth + 1)
            elif _reported(value):
                yield path

    candidates = set(names)
    for result in results[:1] + results[-1:]:
        candidates.update(paths(result))
    near = difflib.get_close_matches(metric, sorted(candidates), n=1, cutoff=0.8)
    return f" (did you mean {near[0]}?)" if near else ""


def _not_a_number(metric: str, results: list[dict]) -> str | None:
    """Where the runs report ``metric`` but never as a number: what they hold instead."""
    from rldebug.shapes.results import get_path, has_path

    kinds = sorted({type(get_path(r, metric)).__name__ for r in results
                    if has_path(r, metric)})
    if not kinds:
        return None
    return (f"The runs report {metric!r}, but as {' and '.join(kinds)}, never a number: "
            "diff draws a metric's curve from numbers. Pass a numeric key or a '/'-path "
            "into it (e.g. env_runners/episode_len_mean, or env_runners/"
            "agent_episode_returns_mean/<agent id>).")


def _finding_diffs(findings_a: set, findings_b: set) -> list[FindingDiff]:
    """The findings one run has and the other has not, each with the severity the other
    run gives the same rule and subject, if it names them at all."""
    def other(rule, module, findings) -> str | None:
        return next((s for r, m, s in sorted(findings) if (r, m) == (rule, module)), None)

    return [FindingDiff(rule, module, severity, side, other(rule, module, others))
            for side, own, others in (("a", findings_a, findings_b), ("b", findings_b, findings_a))
            for rule, module, severity in sorted(own - others, key=str)]


def _findings(run, trials: list) -> tuple[set[tuple[str, str | None, str]], str | None,
                                          str | None]:
    """The doctor's findings; what it says of a crash before the first result (None if
    there was none); and of a crash that ended a trial with results (None if none did:
    a trial Tune restored and that went on is no crash; with several trials, it is named)."""
    from rldebug.doctor import diagnose

    findings = diagnose(run).findings
    crash = next((f.message for f in findings if f.rule_id == "trial_errored"), None)
    measured = {t.name for t in trials if t.results}
    later = [f for f in findings if f.rule_id == "trial_errored" and f.severity == "error"
             and f.trial in measured]
    said = None
    if later:
        said = later[0].message if len(trials) == 1 else \
            f"trial {later[0].trial}: {later[0].message}"
    return {(f.rule_id, f.module, f.severity) for f in findings}, crash, said


def diff(run_a: str | Path, run_b: str | Path, metric: str = DEFAULT_METRIC) -> RunDiff:
    """Compare two runs: configs, metrics by iteration and env steps, traces, findings.

    :param run_a, run_b: an ``rldebug run`` logdir, a Tune trial directory, or a Tune
        experiment (its trials are seeds of one config: their spread is the noise).
    :param metric: the metric whose parting point decides :attr:`RunDiff.parts`:
        ``"return"`` (mean total episode return, the default), ``"return/<agent>"``,
        ``"<module>/<stat>"`` (``entropy``, ``total_loss``, ``value_loss``, ...),
        ``"reward_terms/<agent>/<term>"`` (the env's named reward parts), or any
        ``/``-path into RLlib's result dict (``env_runners/episode_len_mean``).
    :returns: a :class:`RunDiff`; ``print`` it, ``.to_dict()``, ``.write_html(path)``.
    :raises TypeError, ValueError, UnusableInputError: for paths that hold no run, or a
        metric neither run reports.
    """
    if not isinstance(metric, str) or not metric:
        raise UsageTypeError(f"diff(metric=...) takes a metric name or result path, got "
                             f"{metric!r}.")
    trials_a, trials_b = _read(run_a, "a"), _read(run_b, "b")
    paths_a = [Path(t.path).resolve() for t in trials_a]
    paths_b = [Path(t.path).resolve() for t in trials_b]
    if paths_a == paths_b:
        raise UsageError(f"diff compares two runs; both sides are {str(run_a)!r} (the same "
                         "trials). Pass another run as the second, e.g. the one before a "
                         "change.")
    shared = sorted(p.name for p in set(paths_a) & set(paths_b))
    if shared:
        raise UsageError(f"diff compares two runs; the trial(s) {', '.join(shared[:3])} are "
                         f"on both sides ({str(run_a)!r} and {str(run_b)!r}: one holds the "
                         "other). Pass two separate runs.")
    _both_rllib_or_neither(trials_a, trials_b, run_a, run_b)
    results = [r for t in trials_a + trials_b for r in t.results]
    algorithm_a = algorithm_of(trials_a[0].config, trials_a[0].name)
    algorithm_b = algorithm_of(trials_b[0].config, trials_b[0].name)
    metrics = _metrics(results)
    if algorithm_a and algorithm_b and algorithm_a != algorithm_b:
        # PPO's total_loss and DQN's measure different things: no curve of one parts
        # from the other's (one asked for by name is still compared)
        metrics = {name: value_of for name, value_of in metrics.items()
                   if name == metric or not _is_learner_stat(name)}
    known = ", ".join([name for name, value_of in metrics.items()
                       if any(_reported(value_of(r)) for r in results)][:12])
    if metric not in metrics:
        metrics[metric] = _path_metric(metric)
    comparisons = []
    unmeasured = not all(t.results for t in trials_a + trials_b)  # a side that crashed
    for name, value_of in ({} if unmeasured else metrics).items():
        curves_a = [curve(t.name, t.results, value_of) for t in trials_a]
        curves_b = [curve(t.name, t.results, value_of) for t in trials_b]
        if not any(c.values.size and (c.values == c.values).any() for c in curves_a + curves_b):
            if name == metric:
                keys = sorted({k for r in results for k, v in r.items() if _reported(v)})
                raise UsageError(
                    _not_a_number(metric, results) or f"Neither run reports {metric!r}"
                    + _nearest(metric, [n for n in metrics if n != metric], results) + ". "
                    + (f"Metrics both can be compared on: {known} (or a '/'-path into the "
                       "result dict, e.g. env_runners/episode_len_mean)." if known else
                       "They report none of RLlib's metrics; pass --metric with a key or "
                       f"'/'-path of their results: {', '.join(keys[:12]) or 'none'}."))
            continue
        comparisons.append(compare(name, curves_a, curves_b))
    comparisons.sort(key=lambda c: c.metric != metric)
    findings_a, crash_a, later_a = _findings(run_a, trials_a)
    findings_b, crash_b, later_b = _findings(run_b, trials_b)
    return RunDiff(
        run_a=str(run_a), run_b=str(run_b), metric=metric,
        trials_a=[t.name for t in trials_a], trials_b=[t.name for t in trials_b],
        algorithm_a=algorithm_a, algorithm_b=algorithm_b,
        config=_seeds_per_side(config_rows(trials_a[0].config, trials_b[0].config,
                                           algorithm_a, algorithm_b), trials_a, trials_b),
        metrics=comparisons, traces=trace_rows(trials_a, trials_b),
        findings=_finding_diffs(findings_a, findings_b),
        crashed_a=None if trials_a[0].results else crash_a or "it crashed",
        crashed_b=None if trials_b[0].results else crash_b or "it crashed",
        crashed_later_a=later_a, crashed_later_b=later_b,
        speed=[] if unmeasured else speed_rows(trials_a, trials_b))


__all__ = ["DEFAULT_METRIC", "LEARNER_STATS", "diff"]
