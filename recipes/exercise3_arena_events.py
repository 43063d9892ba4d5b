"""Exercise 3: count the fields agent1 discovers and how often agent2 blocks it.

ArenaEvents counts the events the arena reports in ``infos`` (``new_field``,
``collision``) per episode and logs their mean/min/max per iteration. Watch
new_fields rise as agent1 learns to explore, and collisions rise as agent2
learns to block.

    python recipes/exercise3_arena_events.py [--smoke] [--logdir DIR]
    tensorboard --logdir DIR      # tags ray/tune/env_runners/arena/...
"""

import argparse
import json

import rldebug
from rldebug.arena import ArenaEvents
from rldebug.arena.config import SMOKE_SETTINGS
from rldebug.callbacks import AgentReturns, add_callbacks


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, 2 iterations")
    parser.add_argument("--logdir", default=None)
    args = parser.parse_args(argv)

    if args.smoke:
        config = rldebug.arena_ppo_config(seed=0, **SMOKE_SETTINGS)
        stop = {"training_iteration": 2}
    else:
        config = rldebug.arena_ppo_config(seed=0)
        stop = {"env_runners/episode_return_mean": 15, "training_iteration": 300}

    config = add_callbacks(config, AgentReturns, ArenaEvents)
    result = rldebug.run(config, stop=stop, logdir=args.logdir, progress=not args.smoke)
    arena = result.last_result["env_runners"]["arena"]
    print(f"new fields per episode: {arena['new_fields_mean']:.1f} "
          f"(min {arena['new_fields_min']}, max {arena['new_fields_max']})")
    print(f"collisions per episode: {arena['collisions_mean']:.1f} "
          f"(min {arena['collisions_min']}, max {arena['collisions_max']})")
    print(f"TensorBoard: tensorboard --logdir {result.logdir}")
    result.algo.stop()

    # The check: agent2 earns +1 per collision and -0.1 per other step of a 100-step
    # episode, so its mean return in the first iteration (whose episodes both callbacks
    # saw) follows from the collisions ArenaEvents counted in the infos.
    with open(result.logdir / "result.json") as lines:
        first = json.loads(lines.readline())["env_runners"]
    collisions = first["arena"]["collisions_mean"]
    implied = collisions * 1.0 - 0.1 * (100 - collisions)
    gap = abs(implied - first["agent_returns"]["agent2_mean"])
    if gap > 1e-6:
        raise SystemExit(f"{collisions:.2f} collisions per episode imply agent2's return "
                         f"{implied:.3f}, AgentReturns logged {first['agent_returns']['agent2_mean']:.3f}")
    if not args.smoke and result.last_result["env_runners"]["episode_return_mean"] < 15:
        raise SystemExit("the arena's return stayed below the target 15")
    print(f"done: agent2's return implied by the counted collisions minus its logged return: "
          f"{gap:.2g}")
    return result


if __name__ == "__main__":
    main()
