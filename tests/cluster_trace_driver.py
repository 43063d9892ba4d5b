"""Driver for tests/test_cluster_traces.py: trains on a Ray cluster and prints what it saw.

Two remote EnvRunners (on the cluster's worker node: the head has no CPUs), runner 1's
env crashing every 10 steps, traced to ``--out`` and watched by ``break_on``.
"""

import argparse
import json
import os

import ray
from cluster_envs import FlaggedCartPole
from setups import crashing_cartpole

import rldebug


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--address", required=True)
    parser.add_argument("--out", required=True, help="trace URI or path")
    parser.add_argument("--look", required=True, help="a path to list from the worker node")
    args = parser.parse_args()
    ray.init(address=args.address)

    config = rldebug.break_on(rldebug.trace(crashing_cartpole(FlaggedCartPole), out=args.out),
                              events=("rare",), non_finite=False, mode="log")
    algo = config.build_algo()
    results = []
    for iteration in range(1, 11):
        results.append(algo.train())
        events = rldebug.load_trace(args.out).events
        crashes = 0 if events.empty else int((events["source"] == "env").sum())
        if iteration >= 4 and crashes >= 2:
            break
    algo.stop()

    @ray.remote(num_cpus=1)
    def listing(path):
        found = []
        for root, _, files in os.walk(path):
            found += [os.path.join(root, f) for f in files]
        return os.uname().nodename, ray.get_runtime_context().get_node_id(), found

    _, worker_node, on_worker = ray.get(listing.remote(args.look))
    records = rldebug.break_records()
    print("RESULT " + json.dumps({
        "driver_pid": os.getpid(),
        "driver_node": ray.get_runtime_context().get_node_id(),
        "worker_node": worker_node,
        "files_seen_by_worker_node": on_worker,
        "iterations": len(results),
        "env_steps_lifetime": results[-1]["env_runners"]["num_env_steps_sampled_lifetime"],
        "break_on_result": results[-1].get("break_on"),
        "break_records": [{"pid": r.pid, "kind": r.kind, "agent_id": r.agent_id}
                          for r in records],
    }))


if __name__ == "__main__":
    main()
