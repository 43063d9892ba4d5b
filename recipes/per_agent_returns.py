"""Per-agent returns in TensorBoard: the tutorial's reward callback on RLlib 2.60.

RLlib reports one smoothed mean per agent; AgentReturns adds each agent's
min/max episode return and a histogram of its per-step rewards, so an agent
stuck at its worst return shows up at a glance.

    python recipes/per_agent_returns.py [--smoke] [--logdir DIR]
    tensorboard --logdir DIR      # then open the "Scalars" and "Histograms" tabs
"""

import argparse
import json

import rldebug
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

    config = add_callbacks(config, AgentReturns)
    result = rldebug.run(config, stop=stop, logdir=args.logdir, progress=not args.smoke)
    returns = result.last_result["env_runners"]["agent_returns"]
    for agent in ("agent1", "agent2"):
        print(f"{agent}: mean {returns[agent + '_mean']:.2f}  "
              f"min {returns[agent + '_min']:.2f}  max {returns[agent + '_max']:.2f}")
    print(f"TensorBoard: tensorboard --logdir {result.logdir}")
    result.algo.stop()

    # The check: in the first iteration (fewer episodes than RLlib's smoothing window, so
    # both means cover the same episodes) the agents' returns add up to RLlib's episode return.
    with open(result.logdir / "result.json") as lines:
        first = json.loads(lines.readline())["env_runners"]
    summed = first["agent_returns"]["agent1_mean"] + first["agent_returns"]["agent2_mean"]
    gap = abs(summed - first["episode_return_mean"])
    if gap > 1e-6:
        raise SystemExit(f"agent returns add up to {summed:.4f}, RLlib's episode return is "
                         f"{first['episode_return_mean']:.4f} in iteration 1")
    if not args.smoke and result.last_result["env_runners"]["episode_return_mean"] < 15:
        raise SystemExit("the arena's return stayed below the target 15")
    print(f"done: agent returns minus RLlib's episode return in iteration 1: {gap:.2g}")
    return result


if __name__ == "__main__":
    main()
