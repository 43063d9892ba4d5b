"""How often ``rldebug diff`` says two runs part, on the fault benchmark's stored runs
(``tests/doctor_faults``: real RLlib runs made for the doctor, not for diff).

Runs of one config must not part; a fault that made its run worse should. Measured on
the return, as ``rldebug diff`` compares it, for the shapes a user brings:

- **same config**: the 3 healthy seeds of each of the 17 bases, one against one (51
  pairs) and two against the third (51); every operator's runs at the draws' seeds split
  in two halves (seeds of one faulty config; 2+ against 2+), and its first two against
  the next two;
- **a fault that made the run worse** (``score.mark_changed``): each such run against its
  base's 3 healthy seeds and against each seed alone; each operator whose runs it made
  worse in most draws, all its seeds against the 3 healthy seeds, and its first two.

One trial per side measures no seed spread, only the curves' jitter: its rate of
parting on one config is what ``rldebug diff`` quotes then
(``rldebug.rundiff.curves.SEED_PAIRS_PARTED``). ::

    PYTHONPATH=. python benchmarks/diff_noise.py
"""

from __future__ import annotations

import itertools
import json
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STORE = ROOT / "tests" / "doctor_faults"


def _return_curve(path: Path):
    from rldebug.doctor.reading import read_experiment
    from rldebug.rundiff.curves import curve
    from rldebug.shapes.results import mean_total_return

    trials = [t for t in read_experiment(path, whole=True) if t.results]
    return curve(trials[0].name, trials[0].results, mean_total_return) if trials else None


def healthy_curves() -> dict[str, list]:
    """Each base's healthy seeds' return curves."""
    labels = json.loads((STORE / "labels.json").read_text())
    curves: dict[str, list] = defaultdict(list)
    for name, label in sorted(labels.items()):
        if label.get("healthy"):
            curves[label["base"]].append(_return_curve(STORE / "runs" / name))
    return dict(curves)


def _parts(side_a: list, side_b: list) -> bool:
    from rldebug.rundiff.curves import compare

    return compare("return", side_a, side_b).parts


def seed_pairs_parted(healthy: dict[str, list] | None = None) -> str:
    """``"P of N"``: pairs of healthy seeds of one config, one trial per side, that part."""
    healthy = healthy_curves() if healthy is None else healthy
    pairs = [(a, b) for runs in healthy.values() for a, b in itertools.combinations(runs, 2)]
    return f"{sum(_parts([a], [b]) for a, b in pairs)} of {len(pairs)}"


def faulty_runs() -> list[dict]:
    """Every stored draw's faulty run that trained: base, operator, seed, whether the
    fault made it worse, its return curve."""
    from benchmarks.doctor_faults.generate import store_of, stored_draws
    from benchmarks.doctor_faults.score import healthy_controls, score

    controls = healthy_controls()
    runs = []
    for seed in stored_draws():
        store = store_of(seed)
        for s in score(store, controls):
            found = _return_curve(store / "runs" / s.name)
            if found is not None:
                runs.append({"base": s.label["base"], "operator": s.label["operator"],
                             "seed": s.label["seed"], "worse": s.changed, "curve": found})
    return runs


def measure() -> list[tuple[str, str, int, int]]:
    """(comparison, sides, parted, compared) rows."""
    healthy = healthy_curves()
    rows = []

    def row(what: str, sides: str, pairs: list[tuple[list, list]]) -> None:
        rows.append((what, sides, sum(_parts(a, b) for a, b in pairs), len(pairs)))

    row("same config: healthy seeds", "1 v 1",
        [([a], [b]) for runs in healthy.values() for a, b in itertools.combinations(runs, 2)])
    row("same config: healthy seeds", "2 v 1",
        [([r for r in runs if r is not held], [held]) for runs in healthy.values()
         for held in runs])
    faulty = faulty_runs()
    by_operator: dict[tuple, list] = defaultdict(list)
    for run in faulty:
        by_operator[(run["base"], run["operator"])].append(run)
    split = [sorted(runs, key=lambda r: r["seed"]) for runs in by_operator.values()
             if len(runs) >= 4]
    row("same config: one fault's seeds, halves", "2+ v 2+",
        [([r["curve"] for r in runs[0::2]], [r["curve"] for r in runs[1::2]])
         for runs in split])
    row("same config: one fault's seeds", "2 v 2",
        [([r["curve"] for r in runs[:2]], [r["curve"] for r in runs[2:4]]) for runs in split])
    worse = [run for run in faulty if run["worse"]]
    row("a fault that made its run worse", "3 healthy v 1",
        [(healthy[run["base"]], [run["curve"]]) for run in worse])
    row("a fault that made its run worse", "1 healthy v 1",
        [([seed], [run["curve"]]) for run in worse for seed in healthy[run["base"]]])
    mostly_worse = [sorted(runs, key=lambda r: r["seed"]) for runs in by_operator.values()
                    if sum(r["worse"] for r in runs) > len(runs) / 2]
    row("a fault that made its runs worse", "3 healthy v all its seeds",
        [(healthy[runs[0]["base"]], [r["curve"] for r in runs]) for runs in mostly_worse])
    row("a fault that made its runs worse", "3 healthy v 2",
        [(healthy[runs[0]["base"]], [r["curve"] for r in runs[:2]])
         for runs in mostly_worse if len(runs) >= 2])
    return rows


def main() -> None:
    print(f"{'comparison':<42} {'sides':<26} parted")
    for what, sides, parted, compared in measure():
        print(f"{what:<42} {sides:<26} {parted}/{compared} = {parted / max(compared, 1):.2f}")
    print(f"one trial per side, same config: {seed_pairs_parted()} pairs part "
          "(rldebug.rundiff.curves.SEED_PAIRS_PARTED)")


if __name__ == "__main__":
    main()
