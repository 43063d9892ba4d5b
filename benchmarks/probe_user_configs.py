"""The probes on a new user's configs: each probe's outcome against what the user said.

``benchmarks/probe_user_configs/`` holds 23 configs an independent user wrote on envs of
its own (2026-12-07; it had read the probes' documentation, not their code), 8 correct
and 15 with one bug each, and ``expectations.json``: for every config, written before
the probes ran, the probes that must fail, those that must pass, and those it was unsure
of. This script probes every config in this process (``rldebug.probe``, the defaults)
and prints, per config, the probes that failed, the expected ones missed and the
expected passes that failed, then one line:

    correct configs passed C/8, broken configs failed as expected B/15, probes failed
    that the user expected to pass F

    PYTHONPATH=. python benchmarks/probe_user_configs.py [--only NAME,...] [--json FILE]

About 25 minutes on 2 cores. The configs are the user's, only reformatted by the linter.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path

CASES = Path(__file__).parent / "probe_user_configs"
FAILED = ("fail", "stopped")


def load_config(name: str):
    """The ``make_config()`` of ``CASES/<name>.py``."""
    spec = importlib.util.spec_from_file_location(f"probe_user_{name}", CASES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module.make_config()


def score(name: str, expected: dict, statuses: dict[str, str]) -> dict:
    failing = sorted(p for p, s in statuses.items() if s in FAILED)
    return {"config": name, "correct": expected["healthy"], "statuses": statuses,
            "failing": failing,
            "missed": sorted(set(expected["expected_failing_probes"]) - set(failing)),
            "false_failures": sorted(set(expected["expected_passing_probes"]) & set(failing))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated config names")
    parser.add_argument("--json", type=Path, help="write the rows here")
    args = parser.parse_args()
    import rldebug

    expectations = json.loads((CASES / "expectations.json").read_text())
    names = args.only.split(",") if args.only else list(expectations)
    unknown = sorted(set(names) - set(expectations))
    if unknown:
        parser.error(f"no such config(s) {unknown}; the configs: {sorted(expectations)}")
    rows = []
    for name in names:
        report = rldebug.probe(load_config(name))
        row = score(name, expectations[name], {r.name: r.status for r in report.results})
        row["diagnosis"] = report.diagnosis()
        rows.append(row)
        print(f"{name:34} {'correct' if row['correct'] else 'broken':8} "
              f"failing={row['failing']} missed={row['missed']} "
              f"false_failures={row['false_failures']} ({report.seconds:.0f} s)", flush=True)
    correct = [r for r in rows if r["correct"]]
    broken = [r for r in rows if not r["correct"]]
    print(f"correct configs passed {sum(not r['failing'] for r in correct)}/{len(correct)}, "
          f"broken configs failed as expected "
          f"{sum(bool(r['failing']) and not r['missed'] for r in broken)}/{len(broken)}, "
          f"probes failed that the user expected to pass "
          f"{sum(len(r['false_failures']) for r in rows)}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
