"""Exercise 1: step the arena with random actions and add up each agent's return.

No RLlib yet: this is the loop every EnvRunner runs. Note the gymnasium API
(reset -> (obs, infos); step -> (obs, rewards, terminateds, truncateds, infos)
with "__all__") and the events the arena reports in infos.

    python recipes/env_loop.py [--smoke] [--episodes 10] [--seed 0]
"""

import argparse

import numpy as np

from rldebug.arena import MultiAgentArena


def run_episode(env, rng, seed=None):
    """One episode of uniformly random actions; returns per-agent returns and event counts."""
    obs, infos = env.reset(seed=seed)
    returns = {agent: 0.0 for agent in obs}
    events = {"new_field": 0, "collision": 0, "steps": 0}
    while True:
        actions = {agent: int(rng.integers(env.action_spaces[agent].n)) for agent in obs}
        obs, rewards, terminateds, truncateds, infos = env.step(actions)
        for agent, reward in rewards.items():
            returns[agent] += reward
        events["new_field"] += infos["agent1"]["new_field"]
        events["collision"] += infos["agent1"]["collision"]
        events["steps"] += 1
        if terminateds["__all__"] or truncateds["__all__"]:
            return returns, events


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="one short episode")
    parser.add_argument("--episodes", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--logdir", default=None, help="unused; accepted like every recipe")
    args = parser.parse_args(argv)

    env = MultiAgentArena({"render_mode": "ansi",
                           **({"max_timesteps": 20} if args.smoke else {})})
    rng = np.random.default_rng(args.seed)
    totals = []
    for episode in range(1 if args.smoke else args.episodes):
        returns, events = run_episode(env, rng, seed=args.seed + episode)
        totals.append(sum(returns.values()))
        print(f"episode {episode}: " + ", ".join(f"{a} {r:+.1f}" for a, r in returns.items())
              + f", total {totals[-1]:+.1f}; new fields {events['new_field']}, "
              f"collisions {events['collision']}")
        # The check: agent2's reward is +1 per collision and -0.1 per other step, so its
        # return follows from the collisions the infos reported.
        implied = events["collision"] - 0.1 * (events["steps"] - events["collision"])
        if abs(returns["agent2"] - implied) > 1e-9:
            raise SystemExit(f"agent2's return {returns['agent2']:.3f} does not match the "
                             f"{events['collision']} collisions reported ({implied:.3f})")
    print(env.render())  # the last episode's final state: 1, 2 = agents, + = visited
    print(f"done: mean total return of a random policy {np.mean(totals):+.2f} "
          f"over {len(totals)} episode(s)")
    return totals


if __name__ == "__main__":
    main()
