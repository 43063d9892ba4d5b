"""Wall time of the full probe suite on arena_ppo_config() and on a default DQN config.

Each config is probed in this process (one Ray instance, started before timing) and
the script prints the pass table and the seconds per probe and in total (goal: under
60 s each on 2 cores). ``--also`` adds RLlib's default PPO, APPO, IMPALA (CartPole)
and SAC (Pendulum) configs.

    python benchmarks/probes.py [--also] [--seed 0]
"""

from __future__ import annotations

import argparse
import time

GOAL_S = 60.0


def configs(also: bool) -> dict:
    from ray.rllib.algorithms.dqn import DQNConfig

    import rldebug

    found = {"arena_ppo_config()": rldebug.arena_ppo_config(),
             "DQNConfig() on CartPole-v1": DQNConfig().environment("CartPole-v1")}
    if also:
        from ray.rllib.algorithms.appo import APPOConfig
        from ray.rllib.algorithms.impala import IMPALAConfig
        from ray.rllib.algorithms.ppo import PPOConfig
        from ray.rllib.algorithms.sac import SACConfig

        found["PPOConfig() on CartPole-v1"] = PPOConfig().environment("CartPole-v1")
        found["APPOConfig() on CartPole-v1"] = APPOConfig().environment("CartPole-v1")
        found["IMPALAConfig() on CartPole-v1"] = IMPALAConfig().environment("CartPole-v1")
        found["SACConfig() on Pendulum-v1"] = SACConfig().environment("Pendulum-v1")
    return found


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--also", action="store_true", help="also PPO, APPO, IMPALA, SAC")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    import rldebug

    rldebug.start_ray()
    rows = []
    for name, config in configs(args.also).items():
        started = time.perf_counter()
        report = rldebug.probe(config, seed=args.seed)
        wall = time.perf_counter() - started
        rows.append((name, report, wall))
        print(report, flush=True)
        print(flush=True)
    print(f"{'config':32} {'wall s':>7}  goal  " + "  ".join(
        f"{r.name[:8]:>8}" for r in rows[0][1].results))
    for name, report, wall in rows:
        statuses = {r.name: f"{r.status} {r.seconds:.0f}s" for r in report.results}
        print(f"{name:32} {wall:7.1f}  {'met' if wall < GOAL_S else 'MISS'}  " + "  ".join(
            f"{statuses.get(r.name, '-'):>8}" for r in rows[0][1].results))
    return 0 if all(report.passed for _, report, _ in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
