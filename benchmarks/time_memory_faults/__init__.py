"""The doctor's time and memory rules, measured on planted problems: recall and precision.

Every case is a real RLlib 2.60 run with two remote EnvRunners, traced at level
"summary" with ``memory=True`` and the stall watch armed (``stall_factor=3``,
``stall_floor_s=8``), across five bases (PPO CartPole, APPO Pendulum, IMPALA Acrobot,
DQN CartPole, SAC Pendulum). One problem is planted per run (:mod:`.envs`), in one
EnvRunner:

- ``slow``: runner 2's env steps 20 ms slower: ``straggler`` must name runner 2;
- ``leak``: runner 1's env keeps 4 MiB per episode: ``allocation_growing`` must name the
  planted line, ``memory_growing`` runner 1's process;
- ``block``: runner 1's env blocks 30 s once, after a few iterations: ``stalled_iteration``
  must show runner 1 waiting at the planted line (synchronous families only: APPO and
  IMPALA go on sampling from the other runner, so nothing stalls);
- ``timeout``: runner 2's env steps 30 ms slower with ``sample_timeout_s=1``:
  ``runners_dropped`` must name the iterations (synchronous families only: the async
  ones have no sample timeout); ``straggler`` naming runner 2 is also right;
- ``crash``: runner 1's env raises in the second iteration (and again after each restart):
  ``runners_failed`` (from the results: RLlib's fault tolerance went on without the runner)
  or ``sampler_crashed`` (from the trace: the env's exception) must name it;
- ``clean``: nothing planted, the control.

Recall: planted runs where the rule names the right process or line. Precision: of every
time/memory finding at warning (on every run, controls included), the share that names a
planted problem. Both count the findings the report leads with: one another finding
explains (a stall in the iteration where a runner crashed, under the crash) is not counted. The console prints one table and the line
``recall R, precision P, false findings F on C clean runs, N runs``.

    python -m benchmarks.time_memory_faults [--only TEXT] [--keep DIR]

About 40 minutes on 2 cores (most runs 20-60 s; the crash cases wait for RLlib to
restart the runner, up to 7 minutes).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

#: the rules this benchmark measures (warning severity)
RULES = ("straggler", "memory_growing", "allocation_growing", "stalled_iteration",
         "runners_dropped", "runners_failed", "sampler_crashed")
SYNCHRONOUS = ("ppo", "dqn", "sac")


@dataclass(frozen=True)
class Base:
    name: str
    family: str
    env: str
    build: Callable[[dict], object]


def _model(config):
    from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig

    return config.rl_module(model_config=DefaultModelConfig(fcnet_hiddens=[32]))


def _ppo(env_config):
    from ray.rllib.algorithms.ppo import PPOConfig

    return _model(PPOConfig().environment(_env(), env_config=env_config)
                  .env_runners(num_env_runners=2, rollout_fragment_length=100)
                  .training(train_batch_size=200, minibatch_size=100, num_epochs=1))


def _vtrace(config_class, env_config):
    return _model(config_class().environment(_env(), env_config=env_config)
                  .env_runners(num_env_runners=2, rollout_fragment_length=50)
                  .training(train_batch_size_per_learner=100)
                  .reporting(min_time_s_per_iteration=1, min_sample_timesteps_per_iteration=200))


def _appo(env_config):
    from ray.rllib.algorithms.appo import APPOConfig

    return _vtrace(APPOConfig, env_config)


def _impala(env_config):
    from ray.rllib.algorithms.impala import IMPALAConfig

    return _vtrace(IMPALAConfig, env_config)


def _replay(config, env_config, **training):
    return _model(config.environment(_env(), env_config=env_config)
                  .env_runners(num_env_runners=2, rollout_fragment_length=50)
                  .training(num_steps_sampled_before_learning_starts=100, **training)
                  .reporting(min_sample_timesteps_per_iteration=200))


def _dqn(env_config):
    from ray.rllib.algorithms.dqn import DQNConfig

    return _replay(DQNConfig(), env_config, train_batch_size_per_learner=32)


def _sac(env_config):
    from ray.rllib.algorithms.sac import SACConfig

    return _replay(SACConfig(), env_config, train_batch_size_per_learner=64)


def _env():
    from benchmarks.time_memory_faults.envs import PlantedEnv

    return PlantedEnv


BASES = {b.name: b for b in (
    Base("ppo_cartpole", "ppo", "CartPole-v1", _ppo),
    Base("appo_pendulum", "appo", "Pendulum-v1", _appo),
    Base("impala_acrobot", "impala", "Acrobot-v1", _impala),
    Base("dqn_cartpole", "dqn", "CartPole-v1", _dqn),
    Base("sac_pendulum", "sac", "Pendulum-v1", _sac),
)}

ITERATIONS = 12
#: env steps each EnvRunner samples per iteration in every base (about: 100-step fragments
#: for PPO; 200 steps per iteration from two runners of 50-step fragments for the others)
STEPS_PER_RUNNER = 100
PLANTS = {
    "clean": {},
    "slow": {"slow_runner": 2, "delay_s": 0.020},
    "leak": {"leak_runner": 1, "leak_mb": 4},
    "block": {"block_runner": 1, "block_s": 30.0},  # block_at: per base, below
    "timeout": {"slow_runner": 2, "delay_s": 0.030},
    "crash": {"crash_runner": 1, "crash_at": STEPS_PER_RUNNER + 50},  # in iteration 2
}


@dataclass
class Case:
    base: Base
    plant: str

    @property
    def name(self) -> str:
        return f"{self.base.name}__{self.plant}"

    def applies(self) -> bool:
        return self.plant not in ("block", "timeout") or self.base.family in SYNCHRONOUS

    def config(self, out: Path):
        import rldebug

        env_config = {"env": self.base.env, **PLANTS[self.plant]}
        if self.plant == "block":  # in the 4th iteration, after 3 to judge the pace by
            env_config["block_at"] = 3 * STEPS_PER_RUNNER + 10
        config = self.base.build(env_config).debugging(seed=0)
        if self.plant == "timeout":
            config = config.env_runners(sample_timeout_s=1.0)
        return rldebug.trace(config, level="summary", out=out / "trace", memory=True,
                             stall_factor=3.0, stall_floor_s=8.0)


def cases(only: str | None = None) -> list[Case]:
    found = [Case(base, plant) for base in BASES.values() for plant in PLANTS]
    return [c for c in found if c.applies() and (only is None or only in c.name)]


def right(case: Case, finding) -> bool:
    """``finding`` names the problem planted in ``case``, in the right process or line."""
    from benchmarks.time_memory_faults.envs import marked_line

    evidence = finding.evidence
    if case.plant in ("slow", "timeout") and finding.rule_id == "straggler":
        return evidence.get("runner_index") == 2  # the planted slow runner
    if case.plant == "leak":
        if finding.rule_id == "allocation_growing":
            return str(evidence.get("file", "")).endswith("envs.py") and \
                evidence.get("line") == marked_line("PLANTED-LEAK")
        return finding.rule_id == "memory_growing" and \
            "EnvRunner 1" in evidence.get("roles", [])
    if case.plant == "block":
        waits = evidence.get("waiting_at") or {}
        return finding.rule_id == "stalled_iteration" and any(
            role.startswith("runner1") and f"envs.py:{marked_line('PLANTED-BLOCK')}" in str(at)
            for role, at in waits.items())
    if case.plant == "timeout":
        return finding.rule_id == "runners_dropped"
    if case.plant == "crash":
        return finding.rule_id == "runners_failed" or (
            finding.rule_id == "sampler_crashed" and "EnvRunner 1 " in finding.message
            and "planted: the simulator lost its connection" in finding.message)
    return False


#: the rule that must name each plant (leak: either of two; both are shown)
EXPECTED = {"slow": ("straggler",), "leak": ("allocation_growing", "memory_growing"),
            "block": ("stalled_iteration",), "timeout": ("runners_dropped",),
            "crash": ("runners_failed", "sampler_crashed")}


@dataclass
class Outcome:
    case: Case
    findings: list  # the RULES' findings at warning or above
    seconds: float
    error: str | None = None

    @property
    def hits(self) -> dict[str, bool]:
        return {rule: any(f.rule_id == rule and right(self.case, f) for f in self.findings)
                for rule in EXPECTED.get(self.case.plant, ())}


def run_case(case: Case, workdir: Path) -> Outcome:
    import rldebug
    from rldebug.doctor import diagnose

    out = workdir / case.name
    started = time.monotonic()
    try:
        result = rldebug.run(case.config(out), logdir=out,
                             stop={"training_iteration": ITERATIONS}, local=False,
                             progress=False)
        result.algo.stop()
        findings = [f for f in diagnose(out).findings
                    if f.rule_id in RULES and f.severity in ("warning", "error")
                    and f.explained_by is None]  # what the report leads with
        return Outcome(case, findings, time.monotonic() - started)
    except Exception as error:  # noqa: BLE001 - a failed case is reported, the others run
        return Outcome(case, [], time.monotonic() - started,
                       error=f"{type(error).__name__}: {error}")


def report(outcomes: list[Outcome]) -> str:
    lines = [f"{'case':28s} {'seconds':>7s}  planted problem named?  other findings"]
    hits = planted = true = raised = false_clean = 0
    for o in outcomes:
        named = ", ".join(f"{rule} {'yes' if hit else 'NO'}" for rule, hit in o.hits.items())
        wrong = [f.rule_id for f in o.findings if not right(o.case, f)]
        if o.case.plant != "clean":
            planted += 1
            hits += any(o.hits.values())
        raised += len(o.findings)
        true += len(o.findings) - len(wrong)
        false_clean += o.case.plant == "clean" and bool(o.findings)
        lines.append(f"{o.case.name:28s} {o.seconds:7.0f}  {named or '-':22s}  "
                     f"{', '.join(wrong) or '-'}" + (f"  FAILED: {o.error}" if o.error else ""))
    for rule in sorted({r for rules in EXPECTED.values() for r in rules}):
        judged = [o for o in outcomes if rule in o.hits]
        if not judged:
            continue
        found = sum(o.hits[rule] for o in judged)
        by_family = ", ".join(f"{o.case.base.family} {'y' if o.hits[rule] else 'n'}"
                              for o in judged)
        lines.append(f"  {rule:20s} {found}/{len(judged)}  ({by_family})")
    clean = sum(o.case.plant == "clean" for o in outcomes)
    lines.append(f"recall {hits}/{planted} = {hits / max(planted, 1):.2f}, precision "
                 f"{true}/{raised} = {true / max(raised, 1):.2f}, false findings "
                 f"{false_clean} on {clean} clean runs, {len(outcomes)} runs")
    return "\n".join(lines)


def main(only: str | None = None, keep: Path | None = None) -> int:
    import rldebug

    # remote EnvRunners import the planted env from this repository
    root = str(Path(__file__).resolve().parents[2])
    os.environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (root, os.environ.get("PYTHONPATH")) if p)
    selected = cases(only)
    if not selected:
        names = ", ".join(c.name for c in cases())
        raise SystemExit(f"--only {only!r} matches no case; the cases: {names}")
    rldebug.start_ray(num_cpus=4)
    workdir = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="time_memory_faults_"))
    outcomes = []
    for case in selected:
        outcome = run_case(case, workdir)
        print(f"{case.name}: {outcome.seconds:.0f} s, "
              f"{[f.rule_id for f in outcome.findings]}"
              + (f" FAILED: {outcome.error}" if outcome.error else ""), flush=True)
        outcomes.append(outcome)
    print(report(outcomes))
    if not keep:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0
