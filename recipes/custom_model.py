"""A custom torch model: a configurable dense stack with separate logits and value heads.

The tutorial's Keras ``MyModel`` becomes an RLModule (``rldebug.arena.model.DenseStackModule``)
on RLlib 2.60's new stack, set per policy through an ``RLModuleSpec``.
``rldebug.inspect`` shows the layers it built.

    python recipes/custom_model.py [--smoke] [--layers 128 128]
"""

import argparse

from rich.console import Console

import rldebug
from rldebug.arena.config import SMOKE_SETTINGS
from rldebug.arena.model import dense_stack_spec


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, 2 iterations")
    parser.add_argument("--layers", type=int, nargs="+", default=[128, 128])
    parser.add_argument("--logdir", default=None)
    args = parser.parse_args(argv)

    layers = [16] if args.smoke else args.layers
    config = rldebug.arena_ppo_config(seed=0, lr=5e-4,
                                      **(SMOKE_SETTINGS if args.smoke else {}))
    config.rl_module(rl_module_spec=dense_stack_spec(layers))
    stop = ({"training_iteration": 2} if args.smoke
            else {"env_runners/episode_return_mean": 15, "training_iteration": 300})
    run = rldebug.run(config, stop=stop, logdir=args.logdir, progress=not args.smoke)
    Console().print(rldebug.inspect(run.algo))
    e = rldebug.explain(run.algo, [0, 99], agent_id="agent1")
    print(f"agent1 at [0, 99]: probs {dict(zip(e.action_names, e.probs.round(3).tolist()))}, "
          f"value {e.value:.3f}")
    # The check: both policies act with the layers asked for (not RLlib's default model).
    built = {pid: [layer.out_features for layer in run.algo.get_module(pid).dense_layers
                   if hasattr(layer, "out_features")] for pid in ("pol1", "pol2")}
    run.algo.stop()
    ret = run.last_result["env_runners"]["episode_return_mean"]
    if any(sizes != layers for sizes in built.values()):
        raise SystemExit(f"asked for dense layers {layers}, the modules have {built}")
    if not args.smoke and ret < 15:
        raise SystemExit(f"the arena's return reached {ret:.2f}, below the target 15")
    print(f"TensorBoard: tensorboard --logdir {run.logdir}")
    print(f"done: dense layers {built['pol1']}, return {ret:.2f}")
    return run


if __name__ == "__main__":
    main()
