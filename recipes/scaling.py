"""Scaling and resources: EnvRunners, envs per runner, CPUs per runner, Learners — and a cluster.

Every remote EnvRunner is an actor with ``num_cpus_per_env_runner`` CPUs; Ray
needs 1 CPU for the driver plus those (under Tune: 1 for the trainable plus 1
per runner, or the trial waits forever). The trace shows which runner (index,
pid, host) sampled what. With ``--address`` the run joins an existing Ray
cluster (``ray start --head`` on one machine, ``ray start --address=...`` on
others); the trace directory must then be on a filesystem every node sees.

    python recipes/scaling.py [--smoke] [--runners 2] [--envs-per-runner 5]
                              [--cpus-per-runner 1] [--learners 0] [--address HOST:PORT]
"""

import argparse
import tempfile
from pathlib import Path

import rldebug
from rldebug.arena.config import SMOKE_SETTINGS
from rldebug.inprocess.local import cpus_needed


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, 1 iteration")
    parser.add_argument("--runners", type=int, default=2)
    parser.add_argument("--envs-per-runner", type=int, default=5)
    parser.add_argument("--cpus-per-runner", type=int, default=1)
    parser.add_argument("--learners", type=int, default=0)
    parser.add_argument("--address", default=None, help="join this Ray cluster")
    parser.add_argument("--logdir", default=None)
    args = parser.parse_args(argv)

    sizes = dict(SMOKE_SETTINGS) if args.smoke else {}
    sizes["num_envs_per_env_runner"] = args.envs_per_runner
    config = rldebug.arena_ppo_config(seed=0, num_env_runners=args.runners, **sizes)
    config.env_runners(num_cpus_per_env_runner=args.cpus_per_runner)
    config.learners(num_learners=args.learners)
    logdir = Path(args.logdir or tempfile.mkdtemp(prefix="scaling_"))
    config = rldebug.trace(config, level="summary", out=logdir / "trace")

    needed = cpus_needed(config)
    print(f"{args.runners} EnvRunner(s) x {args.envs_per_runner} envs, "
          f"{args.cpus_per_runner} CPU(s) each, {args.learners} remote Learner(s): "
          f"Ray needs {needed} CPUs")
    rldebug.start_ray(address=args.address, num_cpus=None if args.address else needed)
    stop = {"training_iteration": 1} if args.smoke else {"training_iteration": 20}
    run = rldebug.run(config, stop=stop, logdir=logdir / "run", local=False,
                      progress=not args.smoke)
    run.algo.stop()

    samples = rldebug.load_trace(logdir / "trace").samples
    per_runner = samples.groupby(["runner_index", "pid", "host"])["env_steps"].sum()
    print("env steps sampled per runner (index, pid, host):")
    for (index, pid, host), steps in per_runner.items():
        print(f"  runner {index}  pid {pid}  host {host}: {steps}")
    print(f"trace in {logdir / 'trace'} (rldebug trace {logdir / 'trace'})")
    # The check: every remote EnvRunner sampled, each in its own process.
    runners = per_runner.groupby(level="runner_index").sum()
    expected = set(range(1, args.runners + 1)) if args.runners else {0}
    pids = {pid for _, pid, _ in per_runner.index}
    if set(runners.index) != expected or (runners <= 0).any() or len(pids) != len(expected):
        raise SystemExit(f"expected env steps from runners {sorted(expected)}, the trace has "
                         f"{runners.to_dict()} from processes {sorted(pids)}")
    print(f"done: {int(runners.sum())} env steps from {len(runners)} runner(s)")
    return samples


if __name__ == "__main__":
    main()
