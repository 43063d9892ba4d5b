"""How far ``rldebug profile`` can trust RLlib's own timers on a run with no trace, on the
stored runs under ``tests/`` (real RLlib 2.60 runs made for the doctor, not for this):

- **against the trace**: where a stored run was traced too, each iteration's sampling and
  learner-update seconds read back from RLlib's running averages
  (``rldebug.tracing.rllib_timers``) are summed and compared with the seconds the trace
  measured in ``sample()`` on the EnvRunners and in the Learner's updates;
- **by family**: how many runs of each algorithm family are read as timed once per
  iteration (PPO's training step samples and updates once; DQN, SAC, APPO and IMPALA time
  their calls several times per iteration, which must not be read so). The family is
  taken from the run's name, as the stores name them. ::

    PYTHONPATH=. python benchmarks/rllib_timers.py
"""

from __future__ import annotations

import statistics
import warnings
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FAMILIES = ("appo", "impala", "dqn", "sac", "ppo")  # appo before ppo: names hold both


def _family(run: Path) -> str:
    return next((f for f in FAMILIES if f in run.name.lower()), "other")


def main() -> None:
    import rldebug
    from rldebug.doctor.reading import read_trial
    from rldebug.tracing.profile import profile
    from rldebug.tracing.rllib_timers import rllib_time

    warnings.simplefilter("ignore")
    runs = sorted(p.parent for p in (ROOT / "tests").rglob("runs/*/result.json"))
    read, accepted = Counter(), Counter()
    sampling, updates, traced = [], [], 0
    for run in runs:
        trial = read_trial(run, whole=True)
        time = rllib_time(trial.results)
        if time is None:
            continue
        read[_family(run)] += 1
        accepted[_family(run)] += bool(time.per_iteration)
        if not (run / "trace").is_dir():
            continue
        traced += 1
        if not time.per_iteration:
            continue
        summary = profile(rldebug.load_trace(run / "trace"))
        if summary.iterations != time.iterations:
            continue
        runner_s = sum(p.sample_s for p in summary.processes
                       if any(r.startswith("EnvRunner") for r in p.roles))
        learner_s = sum(p.update_s for p in summary.processes if "Learner" in p.roles)
        if runner_s and "sampling" in time.per_iteration:
            sampling.append(abs(time.per_iteration["sampling"] * time.iterations - runner_s)
                            / runner_s)
        if learner_s and "learner update" in time.per_iteration:
            updates.append(abs(time.per_iteration["learner update"] * time.iterations
                               - learner_s) / learner_s)
    print(f"{len(runs)} stored runs; read as timed once per iteration, by family:")
    for family in sorted(read):
        print(f"  {family:7} {accepted[family]:4} of {read[family]}")
    print(f"traced: {traced}; read once per iteration and compared with the trace: "
          f"sampling {len(sampling)}, learner updates {len(updates)}")
    for name, errors in (("sampling", sampling), ("learner update", updates)):
        if errors:
            print(f"  {name}: relative difference median {statistics.median(errors):.2%}, "
                  f"max {max(errors):.2%}")


if __name__ == "__main__":
    main()
