"""Train PPO on the arena and read the results RLlib 2.60 reports.

``algo.train()`` runs one iteration: sample episodes with the EnvRunner(s),
update both policies with the Learner. The result dict nests its metrics:
``env_runners/*`` for what was sampled, ``learners/<module>/*`` for what was learned.

    python recipes/first_ppo.py [--smoke] [--logdir DIR]
"""

import argparse

import rldebug
from rldebug.arena.config import SMOKE_SETTINGS


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, 2 iterations")
    parser.add_argument("--logdir", default=None)
    args = parser.parse_args(argv)

    config = rldebug.arena_ppo_config(seed=0, **(SMOKE_SETTINGS if args.smoke else {}))
    stop = ({"training_iteration": 2} if args.smoke
            else {"env_runners/episode_return_mean": 15, "training_iteration": 300})
    run = rldebug.run(config, stop=stop, logdir=args.logdir, progress=not args.smoke)

    result = run.last_result
    runners = result["env_runners"]
    print(f"iteration {result['training_iteration']}, "
          f"{result['num_env_steps_sampled_lifetime']} env steps sampled")
    print(f"episode return mean {runners['episode_return_mean']:.2f} "
          f"(min {runners['episode_return_min']:.2f}, max {runners['episode_return_max']:.2f}), "
          f"length {runners['episode_len_mean']:.0f}")
    for agent, value in runners["agent_episode_returns_mean"].items():
        print(f"  {agent}: {value:.2f}")
    for module in ("pol1", "pol2"):
        stats = result["learners"][module]
        print(f"{module}: policy_loss {stats['policy_loss']:.3f}  vf_loss {stats['vf_loss']:.3f}  "
              f"entropy {stats['entropy']:.3f}  kl {stats['mean_kl_loss']:.4f}")
    print(f"stopped: {run.stopped_by}")
    print(f"TensorBoard: tensorboard --logdir {run.logdir}")
    run.algo.stop()
    # The goal: the tutorial's target return 15 (the smoke run only checks it trained).
    if not args.smoke and runners["episode_return_mean"] < 15:
        raise SystemExit(f"the arena's return reached {runners['episode_return_mean']:.2f} "
                         "in 300 iterations, below the target 15")
    print(f"done: return {runners['episode_return_mean']:.2f} after "
          f"{result['training_iteration']} iteration(s)")
    return run


if __name__ == "__main__":
    main()
