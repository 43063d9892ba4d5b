"""Wall time of the full probe suite on working configs, and on one that cannot pass.

Each config is probed in this process (one Ray instance, started before timing) and
the script prints the pass table and the seconds per probe and in total (goal: under
60 s each on 2 cores). The configs: ``arena_ppo_config()``, a default DQN config, and
PPO on RLlib's MultiAgentCartPole with ``policies_to_train=["p0"]`` (module p1 left
out: every probe agent 1 plays must fail naming policies_to_train, agent 0's checks
must hold). ``--also`` adds RLlib's default PPO, APPO, IMPALA (CartPole) and SAC
(Pendulum) configs.

    python benchmarks/probes.py [--also] [--seed 0]
"""

from __future__ import annotations

import argparse
import time

GOAL_S = 60.0


def policies_to_train_p0():
    """Two agents, agent i -> module p{i}, and only p0 trained (a module left out)."""
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.examples.envs.classes.multi_agent import MultiAgentCartPole

    return (PPOConfig().environment(MultiAgentCartPole, env_config={"num_agents": 2})
            .multi_agent(policies={"p0", "p1"},
                         policy_mapping_fn=lambda aid, *args, **kwargs: f"p{aid}",
                         policies_to_train=["p0"]))


def configs(also: bool) -> dict:
    """``{name: (config, expected to pass)}``."""
    from ray.rllib.algorithms.dqn import DQNConfig

    import rldebug

    found = {"arena_ppo_config()": (rldebug.arena_ppo_config(), True),
             "DQNConfig() on CartPole-v1": (DQNConfig().environment("CartPole-v1"), True),
             "PPO, policies_to_train=['p0']": (policies_to_train_p0(), False)}
    if also:
        from ray.rllib.algorithms.appo import APPOConfig
        from ray.rllib.algorithms.impala import IMPALAConfig
        from ray.rllib.algorithms.ppo import PPOConfig
        from ray.rllib.algorithms.sac import SACConfig

        found["PPOConfig() on CartPole-v1"] = (PPOConfig().environment("CartPole-v1"), True)
        found["APPOConfig() on CartPole-v1"] = (APPOConfig().environment("CartPole-v1"), True)
        found["IMPALAConfig() on CartPole-v1"] = (IMPALAConfig().environment("CartPole-v1"),
                                                  True)
        found["SACConfig() on Pendulum-v1"] = (SACConfig().environment("Pendulum-v1"), True)
    return found


def as_expected(report, expect_pass: bool) -> bool:
    """A working config passes; the p0-only config fails every probe agent 1 plays, with
    the cause named, while every check of agent 0 holds."""
    if expect_pass:
        return report.passed
    ran = [r for r in report.results if r.status not in ("n/a",)]
    return bool(ran) and all(
        r.status == "fail" and "policies_to_train" in r.config_cause
        and all(m.ok for m in r.measurements if m.agent == 0) for r in ran)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--also", action="store_true", help="also PPO, APPO, IMPALA, SAC")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    import rldebug

    rldebug.start_ray()
    rows = []
    for name, (config, expect_pass) in configs(args.also).items():
        started = time.perf_counter()
        report = rldebug.probe(config, seed=args.seed)
        wall = time.perf_counter() - started
        rows.append((name, report, wall, as_expected(report, expect_pass)))
        print(report, flush=True)
        print(flush=True)
    names = [r.name for r in rows[0][1].results] + ["credit", "shared", "turns"]
    names = list(dict.fromkeys(names))
    print(f"{'config':32} {'wall s':>7}  goal  outcome   " + "  ".join(
        f"{n[:8]:>8}" for n in names))
    for name, report, wall, ok in rows:
        statuses = {r.name: f"{r.status} {r.seconds:.0f}s" for r in report.results}
        print(f"{name:32} {wall:7.1f}  {'met' if wall < GOAL_S else 'MISS'}  "
              f"{'expected' if ok else 'WRONG':8}  " + "  ".join(
                  f"{statuses.get(n, '-'):>8}" for n in names))
    return 0 if all(ok and wall < GOAL_S for *_, wall, ok in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
