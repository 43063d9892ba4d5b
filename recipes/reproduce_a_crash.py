"""A run that dies after hours? Trace it reproducibly, ask the doctor, replay the very step.

The loop: trace -> doctor -> reproduce -> fix -> diff, on a water-tank env of the
kind users write: its observation divides by the outflow, and on a rare pump
stall (drawn from the env's seeded RNG) the outflow is 0. RLlib then dies in
sampling with torch's "probability tensor contains either inf, nan or element < 0".

1. ``rldebug.run(config, trace="batches", reproducible=True)`` records every episode's
   reset seed and actions, recent weights, and the events (the NaN observation, then
   the crash) as they happen.
2. ``rldebug.diagnose(run)`` names the NaN observation behind the crash and prints the
   command that replays it.
3. ``rldebug.reproduce(run, event=N)`` rebuilds the algorithm in this process and
   replays that episode to the step of the NaN: under a debugger (press Debug on this
   file, or on "recipe: reproduce_a_crash") it stops there with ``obs``, ``action``,
   ``reward``, ``info`` and ``episode`` as locals; unattended it records the stop.
4. The fix (``guard=True``: no division by a stalled pump) trains on.
5. ``rldebug.diff(before, after)`` shows what changed between the two runs.

    python recipes/reproduce_a_crash.py [--smoke] [--logdir DIR]
"""

import argparse
from pathlib import Path

import gymnasium as gym
import numpy as np

import rldebug


class WaterTank(gym.Env):
    """Keep the level near 5 with a valve (close, hold, open); the pump sometimes stalls."""

    def __init__(self, config=None):
        config = config or {}
        self.guard = bool(config.get("guard", False))
        self.stall_rate = float(config.get("stall_rate", 0.01))
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (2,), np.float32)
        self.action_space = gym.spaces.Discrete(3)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.level, self.t = float(self.np_random.uniform(3.0, 7.0)), 0
        return self._obs(inflow=0.5, outflow=0.5), {}

    def step(self, action):
        inflow = 0.5 * int(action)
        stalled = self.np_random.random() < self.stall_rate
        outflow = 0.0 if stalled else float(self.np_random.uniform(0.3, 0.7))
        self.level = max(0.0, self.level + inflow - outflow)
        self.t += 1
        reward = -abs(self.level - 5.0)
        return (self._obs(inflow, outflow), reward, False, self.t >= 50,
                {"pump_stalled": stalled, "valve": int(action)})

    def _obs(self, inflow, outflow):
        if self.guard and inflow + outflow == 0:  # the fix: nothing flows, nothing drains
            share = 0.0
        else:  # the bug: 0/0 = NaN when the valve is closed while the pump stalls
            with np.errstate(invalid="ignore"):
                share = np.float32(outflow) / np.float32(inflow + outflow)
        return np.array([self.level, share], np.float32)


def make_config(guard: bool, smoke: bool):
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig

    # A stall with the valve closed: every few thousand (smoke) or ~30000 env steps.
    stall_rate = 0.001 if smoke else 0.0003
    return (PPOConfig().environment(WaterTank, env_config={"guard": guard,
                                                           "stall_rate": stall_rate})
            .env_runners(num_env_runners=0, num_envs_per_env_runner=2)
            .training(train_batch_size=400 if smoke else 2000, minibatch_size=100,
                      num_epochs=2 if smoke else 5, lr=3e-4)
            .rl_module(model_config=DefaultModelConfig(fcnet_hiddens=[32, 32]))
            .debugging(seed=0))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes")
    parser.add_argument("--logdir", default=None, help="where the two runs go")
    args = parser.parse_args(argv)
    root = Path(args.logdir or Path.home() / "rldebug_results" / "reproduce_a_crash")
    iterations = 8 if args.smoke else 30

    # 1. Trace the failing run, reproducibly.
    before = root / "before"
    try:
        rldebug.run(make_config(guard=False, smoke=args.smoke), logdir=before,
                    max_iterations=iterations, trace="batches", reproducible=True,
                    progress=False)
        raise SystemExit("the run did not crash this time (the stall is rare): nothing to "
                         "reproduce; rerun with more iterations")
    except Exception as err:  # noqa: BLE001 - the crash is the point of this recipe
        print(f"1. training crashed: {type(err).__name__}: {str(err)[:100]}")

    # 2. The doctor names the cause and how to replay it.
    diagnosis = rldebug.diagnose(before)
    crash = next(f for f in diagnosis.findings if f.rule_id == "sampler_crashed")
    print(f"2. doctor: {crash.message}\n   replay: {crash.evidence['reproduce']}")

    # 3. Replay that episode to the step of the NaN (stops here under a debugger).
    event = int(crash.evidence["reproduce"].split()[-1])
    replayed = rldebug.reproduce(before, event=event)
    print("3. " + replayed.summary())
    replayed.close()
    if not replayed.reproduced:
        raise SystemExit("the replay did not reproduce the event: " + "; ".join(
            replayed.problems))

    # 4. The fix, trained as long as the failing run was meant to.
    after = root / "after"
    rldebug.run(make_config(guard=True, smoke=args.smoke), logdir=after,
                max_iterations=iterations, trace="batches", reproducible=True, progress=False)
    print(f"4. with guard=True the run trained {iterations} iterations")

    # 5. What differs between the two runs.
    print("5. " + str(rldebug.diff(before, after)).replace("\n", "\n   "))
    print(f"done: the crash was traced, named, replayed to env step {replayed.env_step}, "
          "fixed and compared")


if __name__ == "__main__":
    main()
