"""rldebug.local_mode runs RLlib training, evaluation and callbacks in the test's process."""

import os

import pytest
from dap_client import free_port
from ray.rllib.callbacks.callbacks import RLlibCallback
from tiny import tiny_arena_config

from rldebug import is_local, local_mode, local_mode_changes

PIDS_SEEN = []


class RecordPid(RLlibCallback):
    """Appends the pid of whatever process steps the env (only visible here if it is us)."""

    def on_episode_step(self, **kwargs):
        PIDS_SEEN.append(os.getpid())


def remote_config(api_stack):
    config = tiny_arena_config(api_stack, num_env_runners=2)
    config.learners(num_learners=1)
    config.evaluation(evaluation_num_env_runners=1, evaluation_interval=1,
                      evaluation_duration=1)
    return config


def test_rejects_anything_but_an_algorithm_config():
    with pytest.raises(TypeError, match="expects an RLlib AlgorithmConfig"):
        local_mode({"env": "CartPole-v1"})


def test_rewrites_every_remote_setting_and_leaves_the_original(api_stack):
    config = remote_config(api_stack)
    local = local_mode(config)
    assert (local.num_env_runners, local.num_learners, local.evaluation_num_env_runners) == (0, 0, 0)
    assert (config.num_env_runners, config.num_learners) == (2, 1)
    assert local_mode_changes(config).changed["num_env_runners"] == (2, 0)
    assert is_local(local) and not is_local(config)


def test_offline_input_is_reported_as_still_remote():
    config = tiny_arena_config()
    config.offline_data(input_="/tmp/some_offline_data")
    with pytest.warns(UserWarning, match="Ray Data"):
        local_mode(config)


def test_training_and_evaluation_run_in_this_process(api_stack):
    config = local_mode(remote_config(api_stack).callbacks(RecordPid))
    PIDS_SEEN.clear()
    algo = config.build_algo()
    try:
        result = algo.train()
        assert algo.env_runner_group.num_remote_env_runners() == 0
        assert "evaluation" in result
        if api_stack == "new":
            assert algo.learner_group.is_local
            assert algo.learner_group._learner.module["pol1"] is not None
        else:
            assert algo.get_policy("pol1").model is not None
    finally:
        algo.stop()
    # Every env step of training and evaluation ran here (the callback saw our pid).
    assert PIDS_SEEN and set(PIDS_SEEN) == {os.getpid()}


def test_evaluations_envrunner_is_not_warned_as_overriding_the_users_env():
    """A second EnvRunner in this process re-registers RLlib's env wrapper, and gymnasium
    warned "Overriding environment rllib-single-agent-env-v0 already in registry" (an
    independent user's scripts with evaluation or a Tune grid, under rldebug debug)."""
    import warnings

    from event_envs import CartPolePenaltyOnFall
    from setups import ppo_cartpole

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        config = local_mode(ppo_cartpole().environment(CartPolePenaltyOnFall)
                            .evaluation(evaluation_interval=1, evaluation_duration=1))
        algo = config.build_algo()
        try:
            assert "evaluation" in algo.train()
        finally:
            algo.stop()
    assert not [w for w in seen if "already in registry" in str(w.message)], \
        [str(w.message) for w in seen]


def test_negative_control_remote_runner_steps_elsewhere():
    config = tiny_arena_config(num_env_runners=1).callbacks(RecordPid)
    PIDS_SEEN.clear()
    algo = config.build_algo()
    try:
        algo.train()
        remote_pids = algo.env_runner_group.foreach_env_runner(
            lambda runner: os.getpid(), local_env_runner=False)
    finally:
        algo.stop()
    assert PIDS_SEEN == []  # the callback ran in the remote actor, not in this process
    assert remote_pids and os.getpid() not in remote_pids


def test_cpus_needed_counts_auto_learners_and_fractions():
    from rldebug.inprocess.local import cpus_needed

    config = tiny_arena_config(num_env_runners=2)
    config.env_runners(num_cpus_per_env_runner=0.5)
    config.learners(num_learners=2)  # num_cpus_per_learner stays RLlib's "auto"
    assert cpus_needed(config) == 1 + 2 + 2


def test_local_mode_warns_that_attach_remote_has_no_runner_left():
    from rldebug.ide import attach_remote

    config = attach_remote(tiny_arena_config(num_env_runners=1), port=free_port())
    with pytest.warns(UserWarning, match="needs a remote EnvRunner"):
        local_mode(config)


def test_a_learner_to_attach_to_that_local_mode_brought_home_does_not_wait():
    """attach_remote(learner_index=0) on num_learners=1, then local_mode (as rldebug
    debug does): the Learner is built in the driver, which waited forever for a debugger
    on a listener no IDE would look for."""
    from ray.rllib.algorithms.ppo import PPOConfig

    from rldebug.ide import attach_remote
    from rldebug.inprocess.local import LocalModeWarning

    config = (PPOConfig().environment("CartPole-v1").learners(num_learners=1)
              .training(train_batch_size_per_learner=64, minibatch_size=32, num_epochs=1))
    config = local_mode(attach_remote(config, learner_index=0, port=free_port()))
    with pytest.warns(LocalModeWarning, match="the Learner runs in this process"):
        algo = config.build_algo()
    try:
        assert algo.train()["training_iteration"] == 1
    finally:
        algo.stop()




APPO_IN_PROCESS = """
import json, sys
import ray
import rldebug
from ray.rllib.algorithms.appo import APPOConfig

run = rldebug.run(APPOConfig().environment("CartPole-v1").debugging(seed=0),
                  max_iterations=1, progress=False, logdir=sys.argv[1])
print(json.dumps({"ray_started": ray.is_initialized(), "iterations": run.iterations,
                  "weights_seq_no": int(run.algo.env_runner._weights_seq_no)}))
run.algo.stop()
"""


def test_appo_learner_thread_weights_reach_the_in_process_runner(tmp_path):
    """RLlib's default APPO config, in process without Ray (a fresh process, not the test
    session's Ray): the learner thread ray.put()s the module state and the EnvRunner
    ray.get()s it only if it is a ray.ObjectRef, so the state must arrive as itself
    (it arrived wrapped, and the runner's set_state crashed on an object array)."""
    import json
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    done = subprocess.run([sys.executable, "-c", APPO_IN_PROCESS, str(tmp_path)], env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["ray_started"] is False and seen["iterations"] == 1
    assert seen["weights_seq_no"] > 0  # the runner took the learner thread's weights
