"""Score the doctor on the benchmark's stored runs: recall, precision, false errors.

- **recall**: faulty runs where one of the leading root causes (the first
  ``MAX_CAUSES`` the report shows, at warning or error) names the injected fault
  (a rule of the operator's label) for the right agent or module;
- **precision**: of the top-level warnings and errors on every run, the share
  that name the run's injected fault (a healthy run has none to name);
- **false errors**: healthy controls the doctor calls broken (exit code 1);
- **contradictions**: findings whose stated cause contradicts the env: "no
  positive reward" (reward_never_positive) where every reward is <= 0 by design.

A fault that left its run as good as the healthy controls (its last returns not
below theirs, nothing raised, nothing non-finite: an "equivalent mutant" in
mutation-testing terms, or one that helped) is still scored, and recall is also
shown over the faults that changed their run for the worse. The runs split in two:
the **test split**, the bases in :data:`TEST_BASES`, which were not looked at while
the rules were revised and which the doctor's code may not cite
(``tests/test_doctor_faults.py`` checks), and the **tuning split**, every other base.
Each split's score has its own line; the test split's is the figure to quote. A
**second draw** (``generate --seed N``: every fault once more, at a seed of its own,
made after the rules) is scored against the benchmark's healthy controls, in a line of
its own: it measures how much of the score is fit to the runs the rules were revised
against.

Each rule's precision on the runs no rule was revised with (:func:`held_out`: the test
split, and of the second draws, those whose tuning split was not read, the test split
of the others, :data:`READ_DRAWS`; never a run of :data:`SEEN_RUNS`) is what the
doctor reports as its ``confidence``
(``--write-confidence`` stores it in ``rldebug/doctor/confidence.json``, with the
benchmark's and each draw's totals).
"""

from __future__ import annotations

import json
import math
import shutil
import sys
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.doctor_faults.bases import BASES
from benchmarks.doctor_faults.generate import STORE, store_of, stored_draws

# The test split: bases whose runs were not read while the doctor's rules were revised
# (held out since 2026-12-02; dqn_goal, appo_goal and ppo_lunar_continuous added
# 2026-12-04, made after the rules); the rules may not cite them. (ppo_lunar was made as
# one too, scored once, then read to revise critic_clipped: it is tuning data since.)
TEST_BASES = frozenset({"dqn_acrobot", "ppo_tictactoe", "impala_cartpole", "old_ppo_cartpole",
                        "dqn_goal", "appo_goal", "ppo_lunar_continuous"})


def split_of(label: dict) -> str:
    """``"test"`` or ``"tuning"``: which split a run's base belongs to."""
    return "test" if label["base"] in TEST_BASES else "tuning"


def split_line(scores: list, split: str) -> str:
    """One split's recall, precision and false errors, as ``report`` prints it."""
    t = totals([s for s in scores if split_of(s.label) == split])
    bases = sorted({s.label["base"] for s in scores if split_of(s.label) == split})
    named = f" ({', '.join(bases)})" if split == "test" else f" ({len(bases)} bases)"
    return (f"{split} split{named}: {_runs_recall_precision(t)}, false errors "
            f"{t.false_errors} on {t.healthy} healthy runs")


def _runs_recall_precision(t: Totals) -> str:
    """``"57 runs, recall 28/36 = 0.78, precision 29/29 = 1.00"``: how a split's or a
    draw's figures read in the lines ``score`` prints."""
    return (f"{t.runs} runs, recall {_ratio(t.hits, t.faulty)}, "
            f"precision {_ratio(t.true, t.top_level)}")

ROOT = Path(__file__).resolve().parents[2]
CONFIDENCE = ROOT / "rldebug" / "doctor" / "confidence.json"


@dataclass
class RunScore:
    name: str
    label: dict
    hit: bool | None  # None for a healthy run
    top_level: list = field(default_factory=list)  # (rule_id, severity, module, true)
    false_error: bool = False
    contradictions: list = field(default_factory=list)
    final_return: float | None = None
    # (env steps sampled so far, mean return) per iteration with a return
    curve: list[tuple[float, float]] = field(default_factory=list)
    broke: bool = False  # raised, or a non-finite return
    reward_scale: float = 1.0  # the env's rewards were multiplied by this (a fault; -1: sign)
    reward_replaced: bool = False  # the env's rewards were replaced by a constant (a fault)
    changed: bool = True  # the fault made the run differ from the healthy controls
    noted: bool = False  # missed, but a leading info-level root cause names the fault

    @property
    def healthy(self) -> bool:
        return bool(self.label.get("healthy"))


def _names(finding, label: dict, aliases: dict) -> bool:
    """``finding`` names the run's injected fault for the right agent/module."""
    if finding.rule_id not in set(label.get("expect", ())):
        return False
    subject = label.get("module")
    if subject is None or finding.module is None:
        return subject is None or finding.rule_id in ("trial_errored",)
    return subject in (finding.module, aliases.get(finding.module))


def score_run(path: Path, label: dict) -> RunScore:
    from rldebug.doctor import diagnose
    from rldebug.doctor.report import MAX_CAUSES

    diagnosis = diagnose(path)
    trial = diagnosis.trials[0]
    aliases = trial.agent_modules
    shown = [f for f in trial.causes if f.severity != "info"]
    top = [(f.rule_id, f.severity, f.module, _names(f, label, aliases)) for f in shown]
    hit = None if label.get("healthy") else any(
        _names(f, label, aliases) for f in shown[:MAX_CAUSES])
    notes = [f for f in trial.causes if f.severity == "info"]
    noted = hit is False and any(_names(f, label, aliases) for f in notes[:MAX_CAUSES])
    base = BASES.get(label.get("base"))
    nonpositive = base is not None and base.rewards_nonpositive and \
        label.get("operator") != "reward_sign_flipped"
    contradictions = [f.rule_id for f in trial.findings
                      if nonpositive and f.rule_id == "reward_never_positive"
                      and f.severity != "info"]
    returns = [h.return_mean for h in trial.history if h.return_mean is not None]
    final = sum(returns[-5:]) / len(returns[-5:]) if returns else None
    curve = [(h.env_steps, h.return_mean) for h in trial.history
             if h.return_mean is not None and h.env_steps is not None]
    broke = any(f.rule_id == "trial_errored" for f in trial.findings) or \
        (final is not None and not math.isfinite(final)) or \
        any(not math.isfinite(r) for r in returns)
    env_config = json.loads((path / "params.json").read_text()).get("env_config") or {}
    return RunScore(path.name, label, hit, top,
                    false_error=bool(label.get("healthy")) and diagnosis.exit_code == 1,
                    contradictions=contradictions, final_return=final, curve=curve,
                    broke=broke,
                    # a flipped sign is a scale of -1: judged in the env's own units
                    reward_scale=float(env_config.get("reward_scale", 1.0))
                    * (-1.0 if env_config.get("reward_sign_flipped") else 1.0),
                    reward_replaced="reward_constant" in env_config, noted=noted)


def _return_after(curve: list[tuple[float, float]], low: float, high: float) -> float | None:
    """A control's mean return over the iterations that had sampled ``low``..``high`` env
    steps; its last five iterations' when it never sampled that many."""
    inside = [r for steps, r in curve if low <= steps <= high]
    if not inside:
        before = [r for steps, r in curve if steps <= high]
        inside = before[-5:] if before else [r for _, r in curve[:1]]
    return sum(inside) / len(inside) if inside else None


def mark_changed(scores: list[RunScore], healthy: list[RunScore] | None = None) -> None:
    """A faulty run "changed" when its last returns fall below every healthy control's
    after the same number of env steps (or it raised, or went non-finite): a fault that
    left the run as good as its controls, or made it better, left nothing wrong for a
    doctor to find. Compared at equal env steps, not iterations: an operator that
    shrinks the batch (``epochs_x10_small_batch``) samples less per iteration. A run
    whose env's rewards were scaled is compared in the env's own units (its returns
    divided by the scale; a flipped sign is a scale of -1); where one agent's rewards
    were scaled, the summed return mixes units, and where the rewards were replaced by a
    constant, the returns are in none (a run that cannot learn the task): both always
    count as changed. The controls are ``healthy`` (default: the healthy runs among
    ``scores``)."""
    controls: dict[str, list[RunScore]] = defaultdict(list)
    for s in scores if healthy is None else healthy:
        if s.healthy and s.final_return is not None and math.isfinite(s.final_return):
            controls[s.label["base"]].append(s)
    for s in scores:
        if s.healthy:
            continue
        mixed = (s.label.get("multi_agent") and s.reward_scale != 1.0) or s.reward_replaced
        window = [steps for steps, _ in s.curve[-5:]]
        band = [r for c in controls.get(s.label["base"], ())
                if (r := _return_after(c.curve, min(window), max(window)) if window
                    else c.final_return) is not None]
        s.changed = s.broke or mixed or not band or s.final_return is None or \
            s.final_return / s.reward_scale < min(band)


def score(store: Path = STORE, controls: list[RunScore] | None = None) -> list[RunScore]:
    """Every run stored in ``store``, scored; a faulty run is judged worse or not against
    the healthy runs among ``controls`` (default: ``store``'s own; a second draw's are the
    benchmark's, :func:`healthy_controls`)."""
    scores = _score_stored(store)
    mark_changed(scores, controls)
    return scores


def healthy_controls(store: Path = STORE) -> list[RunScore]:
    """The benchmark's healthy runs (stored in ``store``), scored (where the benchmark
    itself was scored, its scores serve as the controls as they are: :func:`mark_changed`
    takes their healthy runs)."""
    return _score_stored(store, healthy_only=True)


def _score_stored(store: Path, healthy_only: bool = False) -> list[RunScore]:
    labels = json.loads((store / "labels.json").read_text())
    return [score_run(store / "runs" / name, label) for name, label in sorted(labels.items())
            if label.get("healthy") or not healthy_only]


@dataclass
class Totals:
    runs: int
    healthy: int
    faulty: int
    hits: int
    top_level: int
    true: int
    false_errors: int
    contradictions: int

    @property
    def recall(self) -> float:
        return self.hits / max(self.faulty, 1)

    @property
    def precision(self) -> float:
        return self.true / max(self.top_level, 1)


def totals(scores: list[RunScore]) -> Totals:
    return Totals(runs=len(scores), healthy=sum(s.healthy for s in scores),
                  faulty=sum(not s.healthy for s in scores),
                  hits=sum(bool(s.hit) for s in scores),
                  top_level=sum(len(s.top_level) for s in scores),
                  true=sum(t[3] for s in scores for t in s.top_level),
                  false_errors=sum(s.false_error for s in scores),
                  contradictions=sum(len(s.contradictions) for s in scores))


def changed_recall(scores: list[RunScore]) -> tuple[int, int]:
    """(named, faulty runs the fault made worse): recall without the equivalent mutants."""
    changed = [s for s in scores if not s.healthy and s.changed]
    return sum(bool(s.hit) for s in changed), len(changed)


def rule_precision(scores: list[RunScore]) -> dict[str, dict]:
    """Per rule: how many top-level warnings/errors it raised and how many were true."""
    table: dict[str, dict] = defaultdict(lambda: {"top_level": 0, "true": 0})
    for s in scores:
        for rule, _, _, true in s.top_level:
            table[rule]["top_level"] += 1
            table[rule]["true"] += bool(true)
    for row in table.values():
        row["precision"] = round(row["true"] / row["top_level"], 3)
    return dict(sorted(table.items()))


def _ratio(a: int, b: int) -> str:
    return f"{a}/{b} = {a / b:.2f}" if b else "-"


def report(scores: list[RunScore], draws: dict[int, list[RunScore]] | None = None) -> str:
    """The score table; each second draw's line (``draws``) before the final line."""
    lines = [f"{'run':44} {'expected':28} top-level warnings/errors (* = names the fault)"]
    for s in scores:
        expected = "healthy" if s.healthy else "/".join(s.label["expect"])
        shown = ", ".join(f"{sev[0]}:{rule}{'' if mod is None else f'[{mod}]'}"
                          f"{'*' if true else ''}" for rule, sev, mod, true in s.top_level)
        mark = "" if s.healthy else ("  HIT" if s.hit else "  MISS") + \
            ("" if s.changed else " (as good as the healthy controls)")
        lines.append(f"{s.name:44} {expected:28} {shown or '-'}{mark}")
    lines += ["", "per operator (recall):", f"  {'operator':26} runs  named"]
    by_op: dict[str, list[RunScore]] = defaultdict(list)
    for s in scores:
        by_op[s.label.get("operator", "healthy")].append(s)
    for op, group in sorted(by_op.items()):
        if op != "healthy":
            lines.append(f"  {op:26} {len(group):4}  {_ratio(sum(bool(s.hit) for s in group), len(group))}")
    lines += ["", "per rule (precision of its top-level warnings/errors):",
              f"  {'rule':26} {'raised':>6}  true"]
    for rule, row in rule_precision(scores).items():
        lines.append(f"  {rule:26} {row['top_level']:6}  {_ratio(row['true'], row['top_level'])}")
    header = f"  {'family':12} {'runs':>4} {'healthy':>7}  {'recall':18}  {'precision':18}  " \
             "false errors"
    lines += ["", "per family:", header]
    by_family: dict[str, list[RunScore]] = defaultdict(list)
    for s in scores:
        by_family[s.label["family"] + ("/old" if s.label.get("stack") == "old" else "")
                  + ("/multi" if s.label.get("multi_agent") else "")].append(s)
    for family, group in sorted(by_family.items()):
        t = totals(group)
        lines.append(f"  {family:12} {t.runs:4} {t.healthy:7}  {_ratio(t.hits, t.faulty):18}"
                     f"  {_ratio(t.true, t.top_level):18}  {t.false_errors}")
    t = totals(scores)
    lines.append(f"recall over the faults that made their run worse: "
                 f"{_ratio(*changed_recall(scores))}")
    noted = [s.name for s in scores if s.noted]
    lines.append(f"missed, but named by a leading info-level root cause (the run was called "
                 f"healthy, with notes): {len(noted)}" + "".join(f"\n  {n}" for n in noted))
    lines += [split_line(scores, "tuning"), split_line(scores, "test")]
    contradicting = [f"{s.name}: {', '.join(s.contradictions)}" for s in scores
                     if s.contradictions]
    lines += ["", f"findings that contradict the env: {t.contradictions}"
              + "".join(f"\n  {c}" for c in contradicting)]
    lines += [draw_line(seed, draw) for seed, draw in (draws or {}).items()]
    if draws:
        lines.append(held_out_line(scores, draws))
    lines.append(f"recall {t.recall:.2f}, precision {t.precision:.2f}, false errors "
                 f"{t.false_errors} on {t.healthy} healthy runs, {t.runs} runs")
    return "\n".join(lines)


def _summary(scores: list[RunScore]) -> dict:
    t = totals(scores)
    named, worse = changed_recall(scores)
    return {"runs": t.runs, "healthy": t.healthy, "recall": t.recall,
            "recall_where_worse": named / max(worse, 1), "precision": t.precision,
            "false_errors": t.false_errors}


# Second draws whose tuning-split runs were read to revise rules; their test split stays
# held out. Seed 3's, 2026-12-04: kl_blowup from its LunarLander lr x100 run,
# horizon_too_short from its PPO Acrobot gamma-0 run. Seed 4's, scored once when made,
# read later that day: kl_blowup's change reverted for what it did there, reward_sign's
# new rule from the LunarLander sign flips at seeds 0, 3 and 4, mapping_unstable
# explaining the arena's reward_never_positive at seeds 3 and 4. Seed 5's, scored once
# with the rules frozen at 903832d, then with the rules of b156943 (before that revert):
# kl_blowup's change named three more faults there and took three false findings off,
# so it was restored (measured on two draws made apart from it: 4 and 5). Seed 6's, scored
# once with the rules frozen at f1aa46e, read 2026-12-04 (late): kl_blowup's starting
# coefficient from its PPO Acrobot lr x100 run, reward_scale's paid rewards from its
# corridor gamma-0 run, horizon_too_short's share of the declared success from its PPO
# Acrobot gamma-0.5 run (and seed 5's). That session also listed the false findings of
# every draw's test split once (appo_goal's reward_scale among them, which the
# reward_scale change then took off): those test splits are less clean than before.
# Seed 7's, scored once with the rules frozen at b5013c1, read the same night: a
# reward_constant warning beside a named cause (its corridor's lr x100, its DQN Acrobot's
# learning that never starts, and seed 6's Acrobot runs) is that cause's doing.
# Seed 8's, scored once with the rules frozen at 0cc2d78, read 2026-12-05: kl_blowup held
# against a rise while RLlib's controller keeps the coefficient raised (its PPO CartPole,
# Acrobot, LunarLander and MultiAgentCartPole runs at lr x100), critic_clipped judged the
# iteration it is found (its CartPole at 40 epochs, found at the last iteration).
READ_DRAWS = frozenset({3, 4, 5, 6, 7, 8})
# Runs of a split otherwise held out that a rule was revised from, so no longer held out.
# DQN's corridor at gamma 0 crashed before its return could be judged at seeds 3, 9 and
# 10 (test split; seen in their scores, 2026-12-05): gamma 0 is now named from the
# episodes' length before the return is judged, and the crash is filed under it.
# 2026-12-06: PPO Pendulum's vf_clip_param 0.1 at seeds 9 to 14 were read to find why the
# clipped critic was told apart from a KL blow-up (critic_clipped now weighs GAE's lambda_).
SEEN_RUNS = frozenset({"dqn_goal__gamma_0__s3", "dqn_goal__gamma_0__s9",
                       "dqn_goal__gamma_0__s10",
                       *(f"ppo_pendulum__vf_clip_low__s{seed}" for seed in range(9, 15))})


def held_out(scores: list[RunScore], draws: dict[int, list[RunScore]]) -> list[RunScore]:
    """The runs no rule was revised with: the test split's of the benchmark and of every
    second draw, and every run of a draw whose tuning split was not read either; never
    one of :data:`SEEN_RUNS`."""
    runs = [s for s in scores if split_of(s.label) == "test"] + \
        [s for seed, draw in draws.items() for s in draw
         if seed not in READ_DRAWS or split_of(s.label) == "test"]
    return [s for s in runs if s.name not in SEEN_RUNS]


def store_confidence(scores: list[RunScore], draws: dict[int, list[RunScore]],
                     path: Path = CONFIDENCE) -> None:
    """confidence.json: each rule's precision on the runs no rule was revised with
    (:func:`held_out`), the benchmark's totals, and each second draw's totals (the
    tests guard them all)."""
    unseen = held_out(scores, draws)
    t = totals(unseen)
    path.write_text(json.dumps({
        "measured_on": (f"{t.runs} real RLlib 2.60 runs ({t.healthy} healthy) of the "
                        "fault-injection benchmark that no rule was revised with (its test "
                        "split, and of its second draws at seeds "
                        f"{', '.join(map(str, draws)) or '-'} those whose tuning split was "
                        "not read, the test split of the others; less the runs a rule was "
                        "revised from), across PPO, APPO, "
                        "IMPALA, DQN and SAC (python -m benchmarks.doctor_faults score "
                        "--write-confidence)"),
        "totals": _summary(scores),
        "second_draws": {str(seed): _summary(draw) for seed, draw in draws.items()},
        "held_out": _summary(unseen),
        "rules": rule_precision(unseen)}, indent=1, sort_keys=True) + "\n")


def draw_line(seed: int, scores: list[RunScore]) -> str:
    """A second draw's figures in one line (``score`` prints it under the benchmark's);
    for a draw whose tuning split was read, its test split's too."""
    t = totals(scores)
    line = (f"second draw at seed {seed} ("
            + ("its tuning split read to revise the rules" if seed in READ_DRAWS else
               "not read while the rules were revised")
            + f"): {t.runs} runs, recall {_ratio(t.hits, t.faulty)}, "
            f"{_ratio(*changed_recall(scores))} over the faults that made their run worse, "
            f"precision {_ratio(t.true, t.top_level)}")
    if seed in READ_DRAWS:
        line += "; its test split: " + _runs_recall_precision(
            totals([s for s in scores if split_of(s.label) == "test"]))
    return line


def cut_store(store: Path, first: int, into: Path) -> None:
    """``store``'s labels and runs copied into ``into``, each run cut to its first
    ``first`` results: the run a user who stopped it there would have (its first
    iterations do not depend on when it stops). A crash after them is left out, and a
    trace's records written after the driver's record of iteration ``first``."""
    (into / "runs").mkdir(parents=True)
    shutil.copy(store / "labels.json", into / "labels.json")
    for run in sorted((store / "runs").iterdir()):
        cut = into / "runs" / run.name
        cut.mkdir()
        results = (run / "result.json").read_text().splitlines()
        for path in run.iterdir():
            if path.name == "result.json":
                (cut / path.name).write_text("".join(line + "\n" for line in results[:first]))
            elif path.name == "trace":
                _cut_trace(path, first, cut / "trace")
            elif path.name != "error.txt" or len(results) < first:
                # (a crash with N results came in iteration N + 1)
                shutil.copy(path, cut / path.name)


def _cut_trace(trace: Path, first: int, into: Path) -> None:
    """``trace``'s records up to the driver's record of iteration ``first`` (all of them
    where it has none: the run ended sooner)."""
    def records(path: Path) -> list[dict]:
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    ends = [r["time"] for path in trace.glob("iterations-*.jsonl") for r in records(path)
            if r.get("iteration") == first]
    into.mkdir()
    for path in sorted(trace.glob("*.jsonl")):
        kept = [r for r in records(path) if not ends or r.get("time", 0) <= min(ends)]
        (into / path.name).write_text("".join(json.dumps(r) + "\n" for r in kept))


def held_out_line(scores: list[RunScore], draws: dict[int, list[RunScore]]) -> str:
    """The figures on the runs no rule was revised with (:func:`held_out`), in one line."""
    unseen = held_out(scores, draws)
    t = totals(unseen)
    return (f"held out ({t.runs} runs no rule was revised with): recall "
            f"{_ratio(t.hits, t.faulty)}, {_ratio(*changed_recall(unseen))} over the faults "
            f"that made their run worse, precision {_ratio(t.true, t.top_level)}, false "
            f"errors {t.false_errors} on {t.healthy} healthy runs")


def main(write_confidence: bool = False, seed: int | None = None,
         first: int | None = None) -> int:
    """Score the stored runs and print the table (``seed``: one second draw alone;
    ``first``: every run cut to its first ``first`` iterations, a shorter run's score)."""
    if seed is not None and not (store_of(seed) / "labels.json").is_file():
        print(f"No second draw at seed {seed} is stored ({store_of(seed).relative_to(ROOT)}"
              f" has no labels.json); make it with: python -m benchmarks.doctor_faults "
              f"generate --seed {seed}", file=sys.stderr)
        return 2
    if first is None:
        return _score_and_print(STORE, write_confidence, seed)
    with tempfile.TemporaryDirectory(prefix="doctor_faults_first") as tmp:
        for draw in [None, *(stored_draws() if seed is None else [seed])]:
            cut_store(store_of(draw), first, store_of(draw, root=Path(tmp)))
        print(f"every run cut to its first {first} iterations (a user's shorter run of the "
              "same config)\n")
        return _score_and_print(Path(tmp), False, seed)


def _score_and_print(root: Path, write_confidence: bool, seed: int | None) -> int:
    """:func:`main`'s work on the runs stored under ``root`` (the benchmark's folder, its
    draws in ``seed<N>`` below it)."""
    if seed is None:
        scores = score(root)
        draws = {draw: score(store_of(draw, root), controls=scores)
                 for draw in stored_draws()}
    else:
        draws = {}  # a second draw is scored alone, beside no other
        scores = score(store_of(seed, root), controls=healthy_controls(root))
        print(f"a second draw: every fault once at seed {seed}, judged against the "
              f"benchmark's healthy controls\n")
    print(report(scores, draws))
    if write_confidence:
        store_confidence(scores, draws)
        print(f"wrote {CONFIDENCE.relative_to(ROOT)}")
    return 0
