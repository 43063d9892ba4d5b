"""Look inside a trained algorithm: modules, network, logits, distribution, a sampled action.

``rldebug.inspect`` summarises every module; ``rldebug.explain`` sends a raw env
observation through the env-to-module connectors and the module, and returns
the logits, probabilities, entropy, value and the greedy and a sampled action.

    python recipes/look_inside.py [--smoke] [--obs 0 99]
"""

import argparse

import numpy as np
from rich.console import Console

import rldebug
from rldebug.arena.config import SMOKE_SETTINGS


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, 1 iteration")
    parser.add_argument("--obs", type=int, nargs=2, default=[0, 99],
                        help="agent1's field index and agent2's (0..99)")
    parser.add_argument("--logdir", default=None)
    args = parser.parse_args(argv)

    config = rldebug.arena_ppo_config(seed=0, **(SMOKE_SETTINGS if args.smoke else {}))
    run = rldebug.run(config, stop={"training_iteration": 1 if args.smoke else 40},
                      logdir=args.logdir, progress=not args.smoke)
    algo = run.algo
    console = Console()
    console.print(rldebug.inspect(algo))

    agent1_obs = list(args.obs)
    agent2_obs = [args.obs[1], args.obs[0]]  # each agent sees (own, other)
    entropies = {}
    for agent, obs in (("agent1", agent1_obs), ("agent2", agent2_obs)):
        explanation = rldebug.explain(algo, obs, agent_id=agent, seed=0)
        console.print(explanation)
        best = explanation.action_names[explanation.greedy_action]
        print(f"{agent} at {obs}: greedy {best}, sampled "
              f"{explanation.action_names[explanation.sampled_action]}, "
              f"entropy {explanation.entropy:.3f}, value {explanation.value:.3f}")
        # The check: the explanation is one distribution: probabilities that sum to 1,
        # the greedy action its most likely one, the entropy its entropy.
        probs = explanation.probs.astype(float)
        entropy = -float(np.sum(probs * np.log(np.clip(probs, 1e-12, None))))
        if (abs(probs.sum() - 1) > 1e-5 or explanation.greedy_action != int(np.argmax(probs))
                or abs(entropy - explanation.entropy) > 1e-4):
            raise SystemExit(f"{agent}'s explanation is inconsistent: probs {probs}, greedy "
                             f"{explanation.greedy_action}, entropy {explanation.entropy}")
        entropies[agent] = explanation.entropy
    algo.stop()
    print(f"done: agent1's entropy at {agent1_obs}: {entropies['agent1']:.3f} "
          f"(uniform: {np.log(4):.3f})")
    return run


if __name__ == "__main__":
    main()
