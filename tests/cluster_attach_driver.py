"""Driver for tests/test_cluster_attach.py: one remote EnvRunner on the cluster's worker
node (the head has no CPUs) waits for VS Code through ``attach_remote``; prints what ran
where once training is done."""

import argparse
import json
import os

import ray
from event_envs import LeftRightWalk
from ray.rllib.algorithms.ppo import PPOConfig

from rldebug.ide import attach_remote


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--address", required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    ray.init(address=args.address)
    config = (PPOConfig().environment(LeftRightWalk)
              .env_runners(num_env_runners=1, rollout_fragment_length=50)
              .training(train_batch_size=100, minibatch_size=50, num_epochs=1))
    algo = attach_remote(config, runner_index=1, port=args.port).build_algo()
    result = algo.train()
    runner = algo.env_runner_group.foreach_env_runner(
        lambda _: (os.getpid(), os.uname().nodename, ray.get_runtime_context().get_node_id()),
        local_env_runner=False)[0]
    algo.stop()
    print("RESULT " + json.dumps({
        "driver_node": ray.get_runtime_context().get_node_id(),
        "runner_pid": runner[0], "runner_host": runner[1], "runner_node": runner[2],
        "env_steps": int(result["env_runners"]["num_env_steps_sampled"])}), flush=True)


if __name__ == "__main__":
    main()
