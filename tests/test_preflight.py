"""Preflight: each known RLlib 2.60 trap reproduced on real RLlib, then named before training."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import preflight_configs as configs
import pytest
from tiny import tiny_arena_config

from rldebug.cli import main
from rldebug.traps import preflight, preflight_script

HERE = Path(__file__).parent


def names(traps, severity=None):
    return [t.name for t in traps if severity in (None, t.severity)]


def test_discrete_observations_without_a_connector():
    config = configs.frozen_lake()
    with pytest.raises(Exception, match="No default encoder config"):
        config.build_algo()
    trap = next(t for t in preflight(config) if t.name == "no_default_encoder")
    assert trap.severity == "error" and "FlattenObservations" in trap.fix
    assert trap.evidence["observation_space"] == "Discrete(16)"


@pytest.mark.slow  # waits 25 s for plain Tune to hang, by design
def test_an_unschedulable_tune_trial_hangs_and_is_named():
    """Plain Tune on a 2-CPU Ray with 3 EnvRunners: fit() never returns (killed after 25 s)."""
    script = textwrap.dedent(f"""
        import sys; sys.path.insert(0, {str(HERE)!r})
        import ray
        from ray import tune
        import preflight_configs
        ray.init(num_cpus=2, include_dashboard=False)
        config = preflight_configs.too_many_runners()
        tune.Tuner(config.algo_class, param_space=config,
                   run_config=tune.RunConfig(stop={{"training_iteration": 1}}, verbose=0)).fit()
        print("FIT RETURNED")
    """)
    with pytest.raises(subprocess.TimeoutExpired) as hung:
        subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                       timeout=25, check=False)
    assert b"FIT RETURNED" not in (hung.value.stdout or b"")
    trap = next(t for t in preflight(configs.too_many_runners(), cpus=2)
                if t.name == "unschedulable")
    assert trap.severity == "error" and trap.evidence["cpus_needed"] == 4.0
    assert "num_env_runners" in trap.fix
    # the sum said is the sum of the parts said (it read "need 3 CPUs (main process 1 +
    # EnvRunners 3 + ...)", a held-out audit)
    assert "The actors need 3 CPUs (EnvRunners 3 + Learners 0 + evaluation EnvRunners 0; " \
           "the main process needs 1 more under Tune)" in trap.message


def test_a_trial_only_tune_cannot_place_is_a_warning():
    """RLlib's default PPO (2 EnvRunners) on 2 CPUs: check said build_algo() would wait for
    actors that never start (error). Outside Tune the driver takes no CPU and it builds
    (measured by the next test); only Tune's placement group (the main process's CPU too)
    cannot be placed."""
    from ray.rllib.algorithms.ppo import PPOConfig

    (trap,) = [t for t in preflight(PPOConfig().environment("CartPole-v1"), cpus=2)
               if t.name == "unschedulable"]
    assert trap.severity == "warning" and trap.evidence["cpus_for_actors"] == 2.0
    assert "Under Tune the trial needs 3 CPUs" in trap.message
    assert "algo.build_algo() needs only its actors' 2 and starts" in trap.message


@pytest.mark.slow  # ~16 s: a Ray instance of its own in a subprocess
def test_rllibs_default_ppo_builds_outside_tune_on_2_cpus():
    """What the warning above says: build_algo() places both EnvRunners on 2 CPUs."""
    script = textwrap.dedent("""
        import ray
        from ray.rllib.algorithms.ppo import PPOConfig
        ray.init(num_cpus=2, include_dashboard=False)
        algo = PPOConfig().environment("CartPole-v1").build_algo()
        print("BUILT", algo.env_runner_group.num_healthy_remote_workers())
        algo.stop()
    """)
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    built = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                           timeout=180, check=False, env=env)
    assert "BUILT 2" in built.stdout, built.stderr[-2000:]


def test_model_dict_is_ignored_on_the_new_stack():
    config = configs.model_on_new_stack()
    algo = config.build_algo()
    try:
        first = next(m for m in algo.get_module().modules() if hasattr(m, "out_features"))
        assert first.out_features == 256  # RLlib's default, not the 7 asked for
    finally:
        algo.stop()
    trap = next(t for t in preflight(config) if t.name == "model_ignored")
    assert trap.severity == "warning" and "fcnet_hiddens" in trap.message
    # the network the module was built with (it said fcnet_hiddens=None)
    assert f"RLlib's default (fcnet_hiddens=[{first.out_features}, 256])" in trap.message
    assert "DefaultModelConfig" in trap.fix


def test_minibatch_larger_than_the_batch():
    config = configs.big_minibatch()
    with pytest.raises(ValueError, match="minibatch_size"):
        config.validate()
    assert names(preflight(config), "error") == ["minibatch_larger_than_batch"]


def test_2021_names_given_to_update_from_dict_are_kept_and_ignored():
    """RLlib 2.60 stores num_sgd_iter and sgd_minibatch_size on the config and trains with
    num_epochs and minibatch_size: the built Learner's config says so."""
    config = configs.clean()
    config.update_from_dict({"num_sgd_iter": 5, "sgd_minibatch_size": 64})
    algo = config.build_algo()
    try:
        assert (algo.config.num_epochs, algo.config.minibatch_size) != (5, 64)
    finally:
        algo.stop()
    traps = {t.evidence["key"]: t for t in preflight(config) if t.name == "old_key_ignored"}
    assert sorted(traps) == ["num_sgd_iter", "sgd_minibatch_size"]
    assert traps["num_sgd_iter"].severity == "error"
    assert "config.training(num_epochs=5)" in traps["num_sgd_iter"].fix
    assert "old_key_ignored" not in names(preflight(configs.clean()))


def test_dqn_on_box_actions_fails_to_build_and_is_named_first():
    with pytest.raises(ValueError, match="has been deprecated"):  # RLlib's own message
        configs.dqn_on_box_actions().build_algo()
    (trap,) = preflight(configs.dqn_on_box_actions())
    assert (trap.name, trap.severity) == ("action_space_unsupported", "error")
    assert "Box(-2.0, 2.0, (1,), float32)" in trap.message and "SAC or PPO" in trap.fix


def test_gamma_above_1_and_a_negative_lr_build_and_are_named():
    config = configs.gamma_and_lr_out_of_range()
    algo = config.build_algo()  # RLlib takes both
    algo.stop()
    traps = [t for t in preflight(config) if t.name == "setting_out_of_range"]
    assert [t.evidence["setting"] for t in traps] == ["gamma", "lr"]
    assert all(t.severity == "error" for t in traps)


def _moved_by_training(config) -> tuple[set, set, dict]:
    """The learner's weights one ``train()`` of ``config`` changed, every weight's name,
    and the result."""
    import numpy as np

    algo = config.build_algo()
    try:
        before = algo.learner_group.get_weights()["default_policy"]
        result = algo.train()
        after = algo.learner_group.get_weights()["default_policy"]
    finally:
        algo.stop()
    return {k for k in before if not np.array_equal(before[k], after[k])}, set(before), result


def test_sac_learning_rates_at_or_below_0_are_named_on_both_stacks():
    """SAC reads actor_lr, critic_lr and alpha_lr (the old stack: ``optimization``), not
    lr: check said "No known trap" for actor_lr=0, whose actor never moves (measured
    below) while the critic learns. alpha_lr=0 holds the temperature fixed: info."""
    from ray.rllib.algorithms.sac import SACConfig

    config = (SACConfig().environment("Pendulum-v1").env_runners(num_env_runners=0)
              .training(actor_lr=0.0, critic_lr=-1e-3, alpha_lr=0.0,
                        train_batch_size_per_learner=16,
                        num_steps_sampled_before_learning_starts=16)
              .reporting(min_sample_timesteps_per_iteration=32).debugging(seed=0))
    traps = {t.evidence["setting"]: t for t in preflight(config)
             if t.name == "setting_out_of_range"}
    assert {s: t.severity for s, t in traps.items()} == \
        {"actor_lr": "error", "critic_lr": "error", "alpha_lr": "info"}
    assert "the policy never moves" in traps["actor_lr"].message
    assert "initial_alpha=1.0" in traps["alpha_lr"].message
    old = SACConfig().api_stack(enable_rl_module_and_learner=False,
                                enable_env_runner_and_connector_v2=False).environment(
        "Pendulum-v1").training(optimization_config={
            "actor_learning_rate": 3e-4, "critic_learning_rate": 0,
            "entropy_learning_rate": 3e-4})
    assert [(t.evidence["setting"], t.severity) for t in preflight(old)
            if t.name == "setting_out_of_range"] == \
        [("optimization['critic_learning_rate']", "error")]
    assert not [t for t in preflight(SACConfig().environment("Pendulum-v1"))
                if t.name == "setting_out_of_range"]

    moved, weights, _ = _moved_by_training(config.training(critic_lr=3e-4))  # actor_lr=0
    assert any(k.startswith("pi") for k in weights)
    assert any(k.startswith("qf") for k in moved)
    assert not any(k.startswith("pi") for k in moved)


@pytest.mark.parametrize("by", ["global_norm", "norm", "value"])
def test_a_negative_grad_clip_turns_the_gradients_and_is_named(by):
    """grad_clip=-1: RLlib's own clipping (what its Learner calls) with it as given
    turns the gradient around (or, by value, sets it to -1); check said nothing."""
    import torch
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.utils.torch_utils import clip_gradients

    gradient = torch.tensor([3.0, -4.0])
    clipped = {"w": gradient.clone()}
    clip_gradients(clipped, grad_clip=-1.0, grad_clip_by=by)
    if by == "value":
        assert torch.equal(clipped["w"], torch.tensor([-1.0, -1.0]))
    else:
        assert torch.dot(clipped["w"], gradient) < 0  # a step along it climbs the loss
    config = PPOConfig().environment("CartPole-v1").training(grad_clip=-1.0, grad_clip_by=by)
    (trap,) = [t for t in preflight(config) if t.evidence.get("setting") == "grad_clip"]
    assert trap.severity == "error" and by in trap.message
    assert not [t for t in preflight(config.training(grad_clip=40.0))
                if t.evidence.get("setting") == "grad_clip"]


def test_vf_clip_param_0_freezes_ppo_s_critic_and_is_named():
    """vf_clip_param=0: RLlib clamps the squared value error to [0, 0]; one update moves
    the policy and leaves the value function's weights as they were."""
    from ray.rllib.algorithms.ppo import PPOConfig

    config = (PPOConfig().environment("CartPole-v1").env_runners(num_env_runners=0)
              .training(vf_clip_param=0.0, train_batch_size_per_learner=64,
                        minibatch_size=32, num_epochs=1).debugging(seed=0))
    (trap,) = [t for t in preflight(config) if t.evidence.get("setting") == "vf_clip_param"]
    assert trap.severity == "error" and "never learns" in trap.message
    moved, weights, _ = _moved_by_training(config)
    assert any(k.startswith("pi") for k in moved)
    assert any(k.startswith("vf") for k in weights)
    assert not any(k.startswith(("vf", "encoder.critic")) for k in moved)
    negative = config.training(vf_clip_param=10.0, vf_loss_coeff=-0.5,
                               entropy_coeff=[[0, 0.01], [1000, -0.01]])
    assert {t.evidence["setting"]: t.severity for t in preflight(negative)
            if t.name == "setting_out_of_range"} == \
        {"vf_loss_coeff": "error", "entropy_coeff": "warning"}


def test_vf_loss_coeff_0_leaves_the_critic_as_it_was_and_is_named():
    """An independent user's APPO at vf_loss_coeff=0 failed the value probes; check said
    nothing (only a negative weight was named). One PPO update moves the policy and leaves
    the value function's weights as they were."""
    from ray.rllib.algorithms.ppo import PPOConfig

    config = (PPOConfig().environment("CartPole-v1").env_runners(num_env_runners=0)
              .training(vf_loss_coeff=0.0, train_batch_size_per_learner=64,
                        minibatch_size=32, num_epochs=1).debugging(seed=0))
    moved, weights, _ = _moved_by_training(config)
    assert any(k.startswith("pi") for k in moved)
    assert any(k.startswith("vf") for k in weights)
    assert not any(k.startswith(("vf", "encoder.critic")) for k in moved)
    (trap,) = [t for t in preflight(config) if t.evidence.get("setting") == "vf_loss_coeff"]
    assert trap.severity == "warning" and "never learns" in trap.message
    assert "use_critic=False" in trap.fix
    assert "vf_loss_coeff" not in str(preflight(config.training(vf_loss_coeff=0.5)))
    assert "vf_loss_coeff" not in str(preflight(config.training(use_critic=False)))


def test_greedy_sampling_keeps_ppo_where_it_started_and_is_named():
    """env_runners(explore=False) on PPO: the training data are greedy. Measured in
    this session on PPO CartPole (1000-step batches, lr 3e-4): 9.3 per episode for 15
    iterations, against 18 -> 255 with explore=True. Here: two iterations whose episodes
    last ~9 steps, a greedy pole's (a random policy's last ~22)."""
    from ray.rllib.algorithms.appo import APPOConfig
    from ray.rllib.algorithms.ppo import PPOConfig

    config = (PPOConfig().environment("CartPole-v1").env_runners(num_env_runners=0,
                                                                 explore=False)
              .training(train_batch_size_per_learner=200, minibatch_size=100,
                        num_epochs=2).debugging(seed=0))
    (trap,) = [t for t in preflight(config) if t.name == "greedy_sampling"]
    assert trap.severity == "error" and "evaluation_config" in trap.fix
    algo = config.build_algo()
    try:
        runs = [algo.train()["env_runners"] for _ in range(2)]
    finally:
        algo.stop()
    assert all(r["episode_return_mean"] < 12 for r in runs), runs
    assert "greedy_sampling" in names(preflight(APPOConfig().environment("CartPole-v1")
                                                .env_runners(explore=False)))
    assert "greedy_sampling" not in names(preflight(config.env_runners(explore=True)))


def test_policies_to_train_that_trains_nothing_crashes_and_is_named():
    """policies_to_train=[]: RLlib builds, then its first update raises the
    UnboundLocalError num_epochs=0 gives; check said "No known trap"."""
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.examples.envs.classes.multi_agent import MultiAgentCartPole

    def config(to_train):
        return (PPOConfig().environment(MultiAgentCartPole, env_config={"num_agents": 2})
                .env_runners(num_env_runners=0)
                .training(train_batch_size_per_learner=64, minibatch_size=32, num_epochs=1)
                .multi_agent(policies={"p0", "p1"}, policies_to_train=to_train,
                             policy_mapping_fn=lambda aid, episode, **kw: f"p{aid}"))

    (trap,) = [t for t in preflight(config([])) if t.name == "no_module_trained"]
    assert trap.severity == "error" and trap.evidence["modules"] == ["p0", "p1"]
    assert "no_module_trained" in names(preflight(config(lambda mid, batch: False)))
    assert "no_module_trained" not in names(preflight(config(["p1"])))
    single = (PPOConfig().environment("CartPole-v1").env_runners(num_env_runners=0)
              .training(train_batch_size_per_learner=64, minibatch_size=32, num_epochs=1)
              .multi_agent(policies_to_train=[]))  # its one module, default_policy, left out
    assert "no_module_trained" in names(preflight(single))
    for crashing in (config([]), single):
        _first_update_has_no_loss(crashing)


def _first_train_raises(config, error: type, match: str) -> None:
    """RLlib builds ``config`` and its first ``train()`` raises ``error`` (matching
    ``match``)."""
    algo = config.build_algo()
    try:
        with pytest.raises(error, match=match):
            algo.train()
    finally:
        algo.stop()


def _first_update_has_no_loss(config) -> None:
    """RLlib builds ``config`` and its first update computes no loss: UnboundLocalError
    'loss_per_module', which names no setting."""
    _first_train_raises(config, UnboundLocalError, "loss_per_module")


def test_learning_rates_are_judged_where_rllib_reads_them():
    """IQL's and DreamerV3's configs have an actor_lr and no alpha_lr (check raised
    AttributeError, and DreamerV3's batch property a ValueError); the old stack's
    lr_schedule replaces lr; a module's own lr is that module's."""
    from ray.rllib.algorithms.dreamerv3 import DreamerV3Config
    from ray.rllib.algorithms.iql import IQLConfig
    from ray.rllib.algorithms.ppo import PPOConfig

    for config in (IQLConfig(), DreamerV3Config()):
        assert "setting_out_of_range" not in names(preflight(config, cpus=2))
    old = PPOConfig().api_stack(enable_rl_module_and_learner=False,
                                enable_env_runner_and_connector_v2=False)
    scheduled = old.training(lr=0.0, lr_schedule=[[0, 1e-3], [1000, 1e-4]])
    assert "setting_out_of_range" not in names(preflight(scheduled, cpus=2))
    assert "setting_out_of_range" in names(preflight(old.training(lr=0.0, lr_schedule=None),
                                                     cpus=2))
    own = PPOConfig().training(lr=0.0).multi_agent(
        policies={"p0", "p1"}, policy_mapping_fn=lambda aid, *a, **k: "p0",
        algorithm_config_overrides_per_module={"p0": PPOConfig.overrides(lr=1e-3)})
    assert "setting_out_of_range" not in names(preflight(own, cpus=2))


def test_a_modules_own_learning_rate_of_0_is_named():
    """An independent user's leftover: module p1 given lr=0 in its own settings. RLlib
    trains p0 and leaves p1's weights as they were; check said nothing (a module's own
    rate was not judged)."""
    import torch
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.algorithms.sac import SACConfig
    from ray.rllib.examples.envs.classes.multi_agent import MultiAgentCartPole

    config = (PPOConfig().environment(MultiAgentCartPole, env_config={"num_agents": 2})
              .env_runners(num_env_runners=0)
              .multi_agent(policies={"p0", "p1"},
                           policy_mapping_fn=lambda aid, *args, **kwargs: f"p{aid}")
              .rl_module(algorithm_config_overrides_per_module={
                  "p1": PPOConfig.overrides(lr=0.0)})
              .training(lr=1e-3, train_batch_size_per_learner=200, minibatch_size=100,
                        num_epochs=1))
    algo = config.build_algo()
    try:
        def weights(module_id):
            return torch.cat([p.detach().flatten().clone() for p in
                              algo.learner_group._learner.module[module_id].parameters()])
        before = {m: weights(m) for m in ("p0", "p1")}
        algo.train()
        moved = {m: float((weights(m) - before[m]).abs().max()) for m in ("p0", "p1")}
    finally:
        algo.stop()
    assert moved["p0"] > 0 and moved["p1"] == 0, moved
    (trap,) = [t for t in preflight(config, cpus=2) if t.name == "setting_out_of_range"]
    assert trap.severity == "error"
    assert trap.evidence == {"setting": "algorithm_config_overrides_per_module['p1'].lr",
                             "value": "0.0"}
    assert "algorithm_config_overrides_per_module={'p1': PPOConfig.overrides(lr=...)}" in \
        trap.fix and "policies_to_train" in trap.message
    sac = SACConfig().environment("Pendulum-v1").multi_agent(
        algorithm_config_overrides_per_module={"default_policy": SACConfig.overrides(
            critic_lr=0.0)})
    assert [t.evidence["setting"] for t in preflight(sac, cpus=2)
            if t.name == "setting_out_of_range"] == [
        "algorithm_config_overrides_per_module['default_policy'].critic_lr"]


def _dqn(**training):
    from ray.rllib.algorithms.dqn import DQNConfig

    return (DQNConfig().environment("CartPole-v1").env_runners(num_env_runners=0)
            .training(**{"train_batch_size_per_learner": 32,
                         "num_steps_sampled_before_learning_starts": 0, **training})
            .reporting(min_sample_timesteps_per_iteration=64).debugging(seed=0))


def test_a_prioritized_replay_smaller_than_an_episode_crashes_and_is_named():
    """capacity 16: a sum tree of 32 nodes, one per step held, and the newest episode is
    never evicted, so a CartPole episode over 32 steps raises RLlib's IndexError in add.
    "No known trap" before. Smaller than the batch alone is a warning (a plain buffer, or
    Pendulum's 200-step episodes in a prioritized buffer of 256 nodes)."""
    config = _dqn(replay_buffer_config={"type": "PrioritizedEpisodeReplayBuffer",
                                        "capacity": 16})
    (trap,) = [t for t in preflight(config) if t.name.startswith("replay_smaller")]
    assert (trap.name, trap.severity) == ("replay_smaller_than_episode", "error")
    assert trap.evidence == {"capacity": 16, "tree_nodes": 32, "max_episode_steps": 500}
    algo = config.build_algo()
    try:
        with pytest.raises(IndexError, match="pop from an empty deque") as raised:
            for _ in range(20):  # until an episode outgrows the tree
                algo.train()
    finally:
        algo.stop()
    assert any(entry.name == "_get_free_node_and_assign" for entry in raised.traceback)
    plain = config.training(replay_buffer_config={"type": "EpisodeReplayBuffer",
                                                  "capacity": 16})
    assert [(t.name, t.severity) for t in preflight(plain)
            if t.name.startswith("replay_smaller")] == [("replay_smaller_than_batch", "warning")]
    from ray.rllib.algorithms.sac import SACConfig

    pendulum = SACConfig().environment("Pendulum-v1").training(replay_buffer_config={
        "type": "PrioritizedEpisodeReplayBuffer", "capacity": 100})
    assert [t.name for t in preflight(pendulum) if t.name.startswith("replay_smaller")] == \
        ["replay_smaller_than_batch"]
    assert not [t for t in preflight(_dqn()) if t.name.startswith("replay_smaller")]


def test_a_replay_buffer_below_what_all_learners_sample_is_named():
    """RLlib's DQN samples total_train_batch_size (the per-Learner batch times the
    Learners) from its buffer at each update: 48 steps held under 2 Learners of 32 each
    was not named (check compared the capacity with one Learner's batch), while the
    doctor's replay_too_small counts the Learners."""
    buffer = {"type": "EpisodeReplayBuffer", "capacity": 48}
    one = _dqn(replay_buffer_config=buffer, train_batch_size_per_learner=32)
    assert not [t for t in preflight(one) if t.name.startswith("replay_smaller")]
    two = _dqn(replay_buffer_config=buffer).learners(num_learners=2)
    assert two.total_train_batch_size == 64
    (trap,) = [t for t in preflight(two) if t.name.startswith("replay_smaller")]
    assert trap.name == "replay_smaller_than_batch"
    assert (trap.evidence["train_batch"], trap.evidence["num_learners"]) == (64, 2)
    assert "train_batch_size_per_learner=32 x 2 Learners = 64" in trap.message


HIVE_BATCH = Path(__file__).parent / "doctor_user_runs6"


def _hive_runs():
    """The sixth user batch's make_runs.py (its hive's configs and mappings), loaded by
    path: every batch's script is named make_runs.py."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("hive_runs6", HIVE_BATCH / "make_runs.py")
    runs = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(runs)
    return runs


def test_a_mapping_that_swaps_agents_of_different_spaces_between_episodes_is_named():
    """The sixth user batch's hive (two 4-wide foragers on one module, a 5-wide guard on
    another) with modules swapped every other episode crashed in iteration 1 ("mat1 and
    mat2 shapes cannot be multiplied (1x5 and 4x64)", its stored error.txt): RLlib builds
    each module's spaces from one answer of the function at build, which did not swap,
    and check said nothing. The unswapped mapping is clean; every agent on one module
    is refused by RLlib at build (and named so)."""
    runs = _hive_runs()
    crashed = (HIVE_BATCH / "runs" / "hive_appo_modules_swap" / "error.txt").read_text()
    assert "mat1 and mat2 shapes cannot be multiplied (1x5 and 4x64)" in crashed
    swapped, _ = runs.hive_appo(mapping=runs.hive_mapping_swapped)
    traps = [t for t in preflight(swapped) if t.name == "mapping_mixes_spaces"]
    assert {(t.evidence["module"], t.evidence["in_every_episode"], t.severity)
            for t in traps} == {("foragers", False, "error"), ("guard", False, "error")}
    assert "Box(-1e+06, 1e+06, (5,), float32)" in traps[0].evidence["agents"].values()
    assert "mat1 and mat2 shapes cannot be multiplied" in traps[0].message
    healthy, _ = runs.hive_appo()
    assert not [t for t in preflight(healthy) if t.name == "mapping_mixes_spaces"]
    shared = runs.hive_appo()[0].multi_agent(
        policies={"shared"}, policy_mapping_fn=lambda agent_id, episode, **kwargs: "shared")
    (trap,) = [t for t in preflight(shared) if t.name == "mapping_mixes_spaces"]
    assert trap.evidence["in_every_episode"] is True and "RLlib refuses to build it" in \
        trap.message
    with pytest.raises(ValueError, match="different observation spaces"):
        shared.build_algo()


def test_an_appo_circular_buffer_of_no_batches_is_named():
    """circular_buffer_iterations_per_batch=0 (a held-out audit, 2026-12-07): RLlib builds
    APPO, and the Learner's first put() into its CircularBuffer of 0 entries raises
    IndexError; check said only that remote actors escape the debugger."""
    from ray.rllib.algorithms.appo import APPOConfig
    from ray.rllib.algorithms.appo.utils import CircularBuffer

    with pytest.raises(IndexError, match="deque index out of range"):
        CircularBuffer(num_batches=8, iterations_per_batch=0).put("a batch")
    config = APPOConfig().environment("CartPole-v1").training(
        circular_buffer_iterations_per_batch=0)
    (trap,) = [t for t in preflight(config) if t.name == "setting_out_of_range"]
    assert (trap.severity, trap.evidence) == (
        "error", {"setting": "circular_buffer_iterations_per_batch", "value": 0})
    assert not [t for t in preflight(APPOConfig().environment("CartPole-v1"))
                if t.name == "setting_out_of_range"]
    # a negative size (a review): RLlib's buffer refuses it when the Learner is built
    with pytest.raises(ValueError, match="maxlen must be non-negative"):
        CircularBuffer(num_batches=-1, iterations_per_batch=2)
    (negative,) = [t for t in preflight(APPOConfig().environment("CartPole-v1").training(
        circular_buffer_num_batches=-1)) if t.name == "setting_out_of_range"]
    assert "maxlen must be non-negative" in negative.message
    unused = APPOConfig().environment("CartPole-v1").training(
        use_circular_buffer=False, circular_buffer_num_batches=0)
    assert not [t for t in preflight(unused) if t.name == "setting_out_of_range"]


def test_the_summary_line_counts_notes_apart_from_traps(tmp_path, capsys, monkeypatch):
    """A config whose only finding is an info note printed "1 trap(s), 0 error(s)" (a
    held-out audit read it as its planted trap found)."""
    script = tmp_path / "configs.py"
    script.write_text("from ray.rllib.algorithms.ppo import PPOConfig\n"
                      "def make():\n    return PPOConfig().environment('CartPole-v1')"
                      ".env_runners(num_env_runners=1)\n")
    # CPUs enough to schedule it anywhere: only the remote EnvRunner's note is left
    monkeypatch.setattr("rldebug.traps.cluster_cpus", lambda: (16.0, "16 CPUs"))
    assert main(["check", f"{script}:make"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[-1] == "0 error(s), 0 warning(s), 1 info: no known RLlib 2.60 " \
        "trap, only notes", out


def _evaluated_cartpole(runners: int, duration: int, unit: str = "timesteps"):
    from ray.rllib.algorithms.ppo import PPOConfig

    return (PPOConfig().environment("CartPole-v1").env_runners(num_env_runners=0)
            .training(train_batch_size_per_learner=200, minibatch_size=100, num_epochs=1)
            .evaluation(evaluation_interval=1, evaluation_duration=duration,
                        evaluation_duration_unit=unit, evaluation_num_env_runners=runners))


def test_a_mapping_that_picks_modules_at_random_is_seen_to_mix_spaces():
    """random.choice of a module, the episode unread (Ray 1.x's multi_agent_cartpole): it
    was asked once per agent, so the hive's guard (5 wide) sent to the foragers' module
    (4 wide) in some episodes went unsaid (a review)."""
    import random

    runs = _hive_runs()
    picks = random.Random(0)
    config = runs.hive_appo(
        mapping=lambda agent_id, episode, **kwargs: picks.choice(["foragers", "guard"]))[0]
    traps = [t for t in preflight(config) if t.name == "mapping_mixes_spaces"]
    assert {t.evidence["module"] for t in traps} == {"foragers", "guard"}
    assert not any(t.evidence["in_every_episode"] for t in traps)


def test_evaluation_by_fewer_timesteps_than_an_episode_lasts_is_named():
    """A held-out audit (2026-12-07): evaluation_duration=10 timesteps on CartPole, whose
    random episodes last ~20 steps. A remote evaluation EnvRunner resets its env before
    each evaluation and reports only the episodes that end within it (the slow test below
    shows none in 8 iterations); check said nothing. Not named (a review's cases): the
    local EnvRunner and a runner without the reset, which carry episodes over and report
    each when it ends, evaluation on another env_config, a custom evaluation function."""
    from rldebug.traps import stepped_env_traps

    def named(config):
        return [t for t in stepped_env_traps(config)
                if t.name == "evaluation_shorter_than_episodes"]

    (remote,) = named(_evaluated_cartpole(1, 10))
    assert remote.severity == "warning" and remote.evidence["timesteps_per_env"] == 10
    assert "counts only episodes shorter than 10 steps" in remote.message
    assert not named(_evaluated_cartpole(0, 10))
    assert not named(_evaluated_cartpole(1, 10).evaluation(
        evaluation_config={"env_config": {"other": 1}}))
    assert not named(_evaluated_cartpole(1, 10).evaluation(
        custom_evaluation_function=lambda algorithm, eval_workers: {}))
    (split,) = named(_evaluated_cartpole(2, 30))
    assert split.evidence["timesteps_per_env"] == 15
    assert not named(_evaluated_cartpole(1, 1000))
    assert not named(_evaluated_cartpole(1, 10, unit="episodes"))
    assert not named(_evaluated_cartpole(1, 10).evaluation(
        evaluation_force_reset_envs_before_iteration=False))


@pytest.mark.slow  # ~40 s: two Algorithms with evaluation, 8 iterations each
def test_evaluation_by_fewer_timesteps_than_an_episode_lasts_reports_no_return():
    """What the trap above says, in RLlib 2.60: 10 evaluation timesteps per evaluation on
    CartPole; a remote evaluation EnvRunner (reset each time) reports no episode in 8
    iterations; the local one, which carries its episodes over, reports some (not named)."""
    reported = {}
    for runners in (1, 0):
        algo = _evaluated_cartpole(runners, 10).debugging(seed=0).build_algo()
        try:
            episodes = [algo.train()["evaluation"]["env_runners"].get("num_episodes", 0)
                        for _ in range(8)]
        finally:
            algo.stop()
        reported[runners] = sum(1 for n in episodes if n)
    assert reported[1] == 0
    assert reported[0] > 0


def test_tau_0_keeps_the_target_network_at_its_initial_weights_and_is_named():
    """tau=0: RLlib counts target updates while the target never moves (the doctor's
    target_never_updated reads the count), and check said nothing."""
    config = _dqn(tau=0.0, target_network_update_freq=32)
    (trap,) = [t for t in preflight(config) if t.evidence.get("setting") == "tau"]
    assert (trap.name, trap.severity) == ("target_never_moves", "error")
    moved, weights, result = _moved_by_training(config)
    assert result["learners"]["default_policy"]["num_target_updates"] > 0
    assert any(k.startswith("_target") for k in weights)
    assert any(not k.startswith("_target") for k in moved)  # the online network learned
    assert not any(k.startswith("_target") for k in moved)
    assert [t.name for t in preflight(_dqn(tau=2.0)) if t.evidence.get("setting") == "tau"] \
        == ["setting_out_of_range"]
    assert not [t for t in preflight(_dqn(tau=0.005)) if t.evidence.get("setting") == "tau"]


def test_an_n_step_longer_than_the_env_s_time_limit_is_named():
    """n_step=1000 on CartPole (500 steps at most): train() never returns (the slow test
    below shows RLlib's buffer waiting); a range whose low end fits is no trap."""
    (trap,) = [t for t in preflight(_dqn(n_step=1000))
               if t.name == "n_step_longer_than_episodes"]
    assert trap.severity == "error" and trap.evidence["max_episode_steps"] == 500
    assert "n_step_longer_than_episodes" not in names(preflight(_dqn(n_step=(1, 600))))
    assert "n_step_longer_than_episodes" not in names(preflight(_dqn(n_step=500)))


@pytest.mark.slow  # ~15 s: a subprocess that must be killed
def test_a_prioritized_buffer_waits_for_ever_for_an_n_step_no_episode_has():
    """RLlib's PrioritizedEpisodeReplayBuffer, holding 5-step episodes, asked for n_step=6,
    never returns (and returns at once for n_step=5)."""
    script = textwrap.dedent("""
        import sys
        import gymnasium as gym
        from ray.rllib.env.single_agent_episode import SingleAgentEpisode
        from ray.rllib.utils.replay_buffers import PrioritizedEpisodeReplayBuffer

        buffer = PrioritizedEpisodeReplayBuffer(capacity=100)
        for _ in range(4):
            episode = SingleAgentEpisode(observations=[0.0] * 6, actions=[0] * 5,
                                         rewards=[1.0] * 5, terminated=True,
                                         len_lookback_buffer=0)
            buffer.add([episode])
        buffer.sample(num_items=4, n_step=int(sys.argv[1]))
        print("sampled", flush=True)
    """)
    fits = subprocess.run([sys.executable, "-c", script, "5"], capture_output=True, check=False,
                          text=True, timeout=120)
    assert "sampled" in fits.stdout, fits.stderr[-2000:]
    with pytest.raises(subprocess.TimeoutExpired):
        subprocess.run([sys.executable, "-c", script, "6"], capture_output=True, check=False,
                       timeout=15)


def test_a_target_entropy_no_sac_policy_can_reach_is_named():
    """target_entropy=5 on a 1-D Box: alpha grows at every update (the benchmark's
    alpha_runaway). RLlib's own squashed Gaussian never holds more than log 2 per
    dimension, however wide, which is the bound check uses."""
    import math

    import torch
    from ray.rllib.algorithms.sac import SACConfig
    from ray.rllib.core.distribution.torch.torch_distribution import TorchSquashedGaussian

    torch.manual_seed(0)
    widest = max(-TorchSquashedGaussian(loc=torch.zeros(200_000, 1), scale=scale)
                 .sample_and_logp()[1].mean().item() for scale in (0.5, 0.8, 1.0, 2.0, 5.0))
    assert 0.5 < widest < math.log(2)

    def sac(target, env="Pendulum-v1"):
        return SACConfig().environment(env).training(target_entropy=target)

    (trap,) = [t for t in preflight(sac(5.0)) if t.name == "target_entropy_unreachable"]
    assert trap.severity == "error" and trap.evidence["most_entropy"] == round(math.log(2), 4)
    assert "target_entropy_unreachable" not in names(preflight(sac(0.5)))
    assert "target_entropy_unreachable" not in names(preflight(sac("auto")))
    assert "target_entropy_unreachable" in names(preflight(sac(1.2, "CartPole-v1")))
    assert "target_entropy_unreachable" not in names(preflight(sac(0.6, "CartPole-v1")))


def test_zero_epochs_builds_then_fails_without_naming_it_and_is_named():
    """num_epochs=0: RLlib builds it; its first update makes no minibatch and fails with
    an UnboundLocalError that does not name the setting. check said no trap."""
    from ray.rllib.algorithms.ppo import PPOConfig

    config = (PPOConfig().environment("CartPole-v1")
              .training(num_epochs=0, train_batch_size_per_learner=64, minibatch_size=32))
    _first_update_has_no_loss(config)
    (trap,) = [t for t in preflight(config) if t.name == "setting_out_of_range"]
    assert trap.severity == "error" and trap.evidence == {"setting": "num_epochs", "value": 0}
    assert "UnboundLocalError: 'loss_per_module'" in trap.message


def test_a_batch_below_one_timestep_is_named_not_a_minibatch_of_at_most_minus_5():
    """train_batch_size=-5 said only "minibatch_size to at most -5 (e.g. -2)"."""
    from ray.rllib.algorithms.ppo import PPOConfig

    config = PPOConfig().environment("CartPole-v1").env_runners(num_env_runners=0) \
        .training(train_batch_size=-5, minibatch_size=0)
    traps = preflight(config)
    assert [(t.name, t.evidence.get("setting")) for t in traps if t.severity == "error"] == [
        ("setting_out_of_range", "train_batch_size_per_learner"),
        ("setting_out_of_range", "minibatch_size")]
    assert not any("at most -5" in t.fix for t in traps)


@pytest.mark.parametrize("settings", [
    {"training": {"lr": [(1e-3, 0), (1e-5, 1_000_000)]}},  # (lr, timestep): swapped
    {"training": {"lr": {"0": 1e-3}}},
    {"env_runners": {"rollout_fragment_length": 1000},
     "training": {"train_batch_size_per_learner": 300, "minibatch_size": 100}},
], ids=["lr schedule swapped", "lr schedule as a dict", "fragments larger than the batch"])
def test_what_rllib_refuses_to_build_is_said_before_in_its_words(settings):
    """Configs RLlib's validate() refuses when it builds: check said 'No known RLlib 2.60
    trap found' and exit 0."""
    from ray.rllib.algorithms.ppo import PPOConfig

    config = PPOConfig().environment("CartPole-v1")
    for method, keywords in settings.items():
        config = getattr(config, method)(**keywords)
    with pytest.raises(ValueError) as refused:
        config.build_algo()
    (trap,) = [t for t in preflight(config, cpus=4) if t.severity == "error"]
    assert (trap.name, trap.severity) == ("rllib_refuses", "error")
    assert " ".join(str(refused.value).split())[:80] in trap.message
    # RLlib's own advice is the fix, where it gives one; never its switch for every check
    said = " ".join(str(refused.value).split())
    if "Try setting" in said:
        assert trap.fix.startswith("Try setting")
    assert "_validate_config" not in trap.fix


def test_tensorflow_on_the_new_stack():
    config = configs.clean().framework("tf2")
    assert "tf_on_new_stack" in names(preflight(config), "error")


def test_a_mapping_to_an_unknown_module():
    def mapping(agent_id, episode=None, **kwargs):
        return {"agent1": "pol1", "agent2": "pol3"}[agent_id]

    config = tiny_arena_config().multi_agent(policies={"pol1", "pol2"},
                                             policy_mapping_fn=mapping)
    trap = next(t for t in preflight(config) if t.name == "unknown_module")
    assert trap.severity == "error"
    assert (trap.evidence["agent"], trap.evidence["module"]) == ("agent2", "pol3")
    # a held-out audit (2026-12-07) got RLlib's "ValueError: The environment is expecting
    # an action for at least one agent" where check said "a KeyError": the module-less
    # agent gets no action, and what the env then raises is the env's
    assert "no module gives it an action, so env.step() gets none for it" in trap.message


def test_an_env_that_steps_on_without_the_module_less_agent_s_action_fails_in_rllib():
    """An env that does not read every agent's action (action_dict.get) steps on; RLlib
    then fails in its own episode bookkeeping with an AssertionError that says nothing,
    which the trap's message names."""
    import gymnasium as gym
    import numpy as np
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.env.multi_agent_env import MultiAgentEnv

    class Tolerant(MultiAgentEnv):
        def __init__(self, config=None):
            super().__init__()
            self.agents = self.possible_agents = ["a", "b"]
            self.observation_spaces = {a: gym.spaces.Box(-1, 1, (2,)) for a in self.agents}
            self.action_spaces = {a: gym.spaces.Discrete(2) for a in self.agents}

        def reset(self, *, seed=None, options=None):
            return {a: np.zeros(2, np.float32) for a in self.agents}, {}

        def step(self, action_dict):
            observations = {a: np.zeros(2, np.float32) for a in self.agents}
            rewards = {a: float(action_dict.get(a, 0)) for a in self.agents}
            return observations, rewards, {"__all__": False}, {"__all__": False}, {}

    config = (PPOConfig().environment(Tolerant).env_runners(num_env_runners=0)
              .multi_agent(policies={"p"}, policy_mapping_fn=lambda agent, episode=None,
                           **kwargs: "p" if agent == "a" else "q")
              .training(train_batch_size_per_learner=64, minibatch_size=32, num_epochs=1))
    (trap,) = [t for t in preflight(config) if t.name == "unknown_module"]
    assert (trap.severity, trap.evidence["agent"]) == ("error", "b")
    algo = config.build_algo()
    try:
        with pytest.raises(AssertionError) as raised:
            algo.train()
    finally:
        algo.stop()
    assert raised.traceback[-1].name == "add_env_step" and str(raised.value) == ""
    assert "MultiAgentEpisode.add_env_step with a bare AssertionError" in trap.message


def test_a_mapping_that_reads_the_episode_is_checked_as_rllib_asks_it():
    """Self-play's mapping (RLlib's examples: hash(episode.id_) % 2) was asked with
    episode=None: a warning that preflight could not check it, and a module it returns
    in some episodes that the config lacks went unsaid."""
    def self_play(agent_id, episode, **kwargs):
        return "pol1" if hash(episode.id_) % 2 else "pol2"

    def with_a_typo(agent_id, episode, **kwargs):
        return "pol1" if hash(episode.id_) % 2 else "plo2"

    config = tiny_arena_config().multi_agent(policies={"pol1", "pol2"},
                                             policy_mapping_fn=self_play)
    assert [t for t in preflight(config) if t.name == "unknown_module"] == []
    config = tiny_arena_config().multi_agent(policies={"pol1", "pol2"},
                                             policy_mapping_fn=with_a_typo)
    traps = [t for t in preflight(config) if t.name == "unknown_module"]
    assert {(t.severity, t.evidence["agent"], t.evidence["module"]) for t in traps} == {
        ("error", "agent1", "plo2"), ("error", "agent2", "plo2")}
    assert "(in some episodes)" in traps[0].message


def test_remote_actors_are_named_while_debugging():
    traps = preflight(configs.too_many_runners(), cpus=16)
    assert [(t.name, t.severity) for t in traps] == [("escapes_process", "info")]


@pytest.mark.parametrize("make", [configs.clean, tiny_arena_config])
def test_clean_configs_have_no_error(make):
    assert names(preflight(make()), "error") == []


def test_cli_check_exit_codes_and_json(capsys):
    def cli(spec, *extra):
        return subprocess.run([sys.executable, "-m", "rldebug.cli", "check",
                               f"{HERE / 'preflight_configs.py'}:{spec}", *extra],
                              capture_output=True, text=True, timeout=120, check=False)

    def in_process(spec, *extra) -> int:  # the same main(), without a new interpreter
        from rldebug.cli import main

        return main(["check", f"{HERE / 'preflight_configs.py'}:{spec}", *extra])

    bad = cli("big_minibatch")
    assert bad.returncode == 1 and "error[minibatch_larger_than_batch]" in bad.stdout
    capsys.readouterr()
    assert in_process("model_on_new_stack", "--json") == 0
    data = json.loads(capsys.readouterr().out)
    assert [t["name"] for t in data] == ["model_ignored"]
    assert in_process("clean") == 0


def test_bad_input():
    with pytest.raises(TypeError, match="AlgorithmConfig"):
        preflight({"env": "CartPole-v1"})
    with pytest.raises(ValueError, match="positive number"):
        preflight(configs.clean(), cpus=0)


def test_a_script_naming_the_algorithm_by_string(tmp_path):
    script = tmp_path / "train.py"
    script.write_text("from ray import tune\nimport ray\n\n"
                      "tune.Tuner('PPO', param_space={}).fit()\n"
                      "tune.run('DQN', config={})\n")
    done = subprocess.run([sys.executable, "-m", "rldebug.cli", "check", str(script)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0  # warnings only
    assert done.stdout.count("warning[string_algorithm_name]") == 2
    assert "from ray.rllib.algorithms.ppo import PPO" in done.stdout
    from rldebug.traps import preflight_script

    assert preflight_script(HERE / "debug_scripts" / "tune_grid.py") == []


@pytest.mark.parametrize("source, says", [
    (("from ray.rllib.algorithms.ppo import PPOConfig\n\ndef make():\n"
      "    return PPOConfig().environment('CartPole-v1')\n"),
     "For the traps of its config: rldebug check {script}:make."),
    (("from ray import tune\nfrom ray.rllib.algorithms.ppo import PPO, PPOConfig\n\n"
      "def main():  # it trains: check FILE.py:main would run it\n"
      "    config = PPOConfig().environment('CartPole-v1')\n"
      "    tune.Tuner(PPO, param_space=config, run_config=tune.RunConfig()).fit()\n\n"
      "def make():\n    config = PPOConfig().training(lr=1e-4)\n    return config\n"),
     "For the traps of its config: rldebug check {script}:make."),
    (("from ray import tune\n\ndef settings():\n    return tune.RunConfig(name='x')\n"),
     "put the config in a function and run rldebug check {script}:FUNC."),
    ("import ray\nconfig = {'env': 'CartPole-v1'}\n",
     "put the config in a function and run rldebug check {script}:FUNC."),
    ("print('hello')\n", "It does not import Ray: is it the training script?")])
def test_no_trap_in_a_script_says_what_reading_it_covers(source, says, tmp_path, capsys):
    """It said 'No known RLlib 2.60 trap found.' for a script it had read for three
    traps only, and for a script without RLlib."""
    script = tmp_path / "train.py"
    script.write_text(source)
    assert main(["check", str(script)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert out.startswith("No trap in the code of train.py. A script is read, not run"), out
    assert says.format(script=script) in out


def _agent_only(agent):  # the tutorial's policy_mapping_fn(agent)
    return "pol1" if agent == "agent1" else "pol2"


@pytest.mark.parametrize("stack", ["new", "old"])
def test_a_mapping_function_of_the_agent_alone_is_an_error_and_debug_adapts_it(stack):
    """RLlib 2.60 calls policy_mapping_fn(agent_id, episode[, worker=]): the tutorial's
    one-argument function failed with a raw TypeError at the first env step, and neither
    check nor migrate named it."""
    from rldebug.compat.legacy import adapt_config_mapping

    config = tiny_arena_config(stack).multi_agent(policy_mapping_fn=_agent_only)
    (trap,) = [t for t in preflight(config) if t.name == "mapping_signature"]
    assert trap.severity == "error" and "_agent_only(agent) cannot be called so" in \
        trap.message
    notices = []
    adapted = adapt_config_mapping(config, notices.append)
    assert "called with the agent id it takes" in notices[0]
    assert not [t for t in preflight(adapted) if t.name == "mapping_signature"]
    algo = adapted.build_algo()
    try:
        algo.train()  # the TypeError was here
    finally:
        algo.stop()


def test_a_multi_agent_env_without_policies_is_an_error_and_debug_shares_one_policy():
    """The tutorial's first tune.run names the arena and no policies: RLlib 2.60 samples it
    as one agent and fails with numpy's 'Output array has wrong dimensionality'."""
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.connectors.env_to_module import FlattenObservations

    from rldebug.arena import MultiAgentArena
    from rldebug.compat.legacy import adapt_config_shared_policy

    config = (PPOConfig().environment(MultiAgentArena, env_config={"max_timesteps": 20})
              .env_runners(num_env_runners=0, env_to_module_connector=lambda *args, **kw:
                           FlattenObservations(multi_agent=True))
              .training(train_batch_size=200, minibatch_size=100, num_epochs=1))
    (trap,) = [t for t in preflight(config) if t.name == "multi_agent_env_without_policies"]
    assert trap.severity == "error" and "names no policies" in trap.message
    notices = []
    shared = adapt_config_shared_policy(config, notices.append)
    assert "one shared policy, 'shared_policy'" in notices[0]
    assert not [t for t in preflight(shared) if t.severity == "error"]
    algo = shared.build_algo()
    try:
        result = algo.train()
    finally:
        algo.stop()
    returns = result["env_runners"]["agent_episode_returns_mean"]
    assert set(returns) == {"agent1", "agent2"}  # both agents, one policy
    assert set(result["env_runners"]["module_episode_returns_mean"]) == {"shared_policy"}


def test_check_reads_a_mapping_function_of_the_agent_alone_in_a_script(tmp_path, capsys):
    script = tmp_path / "train.py"
    script.write_text("def policy_mapping_fn(agent):\n    return agent\n\n"
                      "config = {'multiagent': {'policy_mapping_fn': policy_mapping_fn,\n"
                      "                         'policies': {'a'}}}\n"
                      "other = dict(policy_mapping_fn=lambda agent_id, *args, **kw: 'a')\n")
    assert main(["check", str(script)]) == 1
    out = " ".join(capsys.readouterr().out.split())
    assert "error[mapping_signature] train.py:1: policy_mapping_fn takes only the agent id" \
        in out
    assert out.count("mapping_signature") == 1  # the lambda takes what RLlib passes


def test_a_removed_module_a_2021_script_imports_is_named(tmp_path, capsys):
    """ray.rllib.agents (removed) and gym (not installed) are the first lines of a 2021
    script that break under plain Python; check named neither."""
    import importlib.util

    assert importlib.util.find_spec("ray.rllib.agents") is None
    script = tmp_path / "train.py"
    script.write_text("import gym\nfrom ray.rllib.agents.ppo import PPOTrainer\n"
                      "from ray.rllib.agents.callbacks import DefaultCallbacks\n")
    assert main(["check", str(script)]) == 1
    out = " ".join(capsys.readouterr().out.split())
    assert out.count("error[module_removed]") == (2 if importlib.util.find_spec("gym") is None
                                                  else 1)  # each module once
    assert "train.py:2: ray.rllib.agents was removed from RLlib" in out
    assert "rldebug debug train.py" in out


def test_a_script_with_code_that_stops_on_260_is_named(tmp_path):
    """ray.init(local_mode=True) raises (RuntimeError: `local_mode` is no longer supported)
    and training(sgd_minibatch_size=...) is refused (TypeError): `rldebug check train.py`
    said only that the algorithm was named by string. Each 2021 name is judged by what
    RLlib does with it by its route: num_sgd_iter= as a keyword RLlib translates (it was
    called refused), in a dict it keeps and never reads; evaluation_num_workers it
    translates both ways (it was called refused and ignored). A num_workers= of another
    library is not RLlib's."""
    from ray.rllib.algorithms.ppo import PPOConfig

    with pytest.raises(TypeError, match="sgd_minibatch_size"):
        PPOConfig().training(sgd_minibatch_size=128)
    assert PPOConfig().training(num_sgd_iter=10).num_epochs == 10
    assert PPOConfig().update_from_dict({"num_sgd_iter": 10}).num_epochs == 30  # not read
    assert PPOConfig().update_from_dict(
        {"evaluation_num_workers": 2}).evaluation_num_env_runners == 2
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent("""\
        import ray
        from ray.rllib.algorithms.ppo import PPOConfig
        from torch.utils.data import DataLoader

        config = PPOConfig().training(num_sgd_iter=10, sgd_minibatch_size=128)
        config.update_from_dict({"num_sgd_iter": 10, "evaluation_num_workers": 2})
        loader = DataLoader([], num_workers=2)
        ray.init(local_mode=True)
        """))
    done = subprocess.run([sys.executable, "-m", "rldebug.cli", "check", str(script)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 1, done.stderr
    assert "error[local_mode_removed] train.py:8:" in done.stdout
    assert done.stdout.count("error[old_config_name]") == 2, done.stdout
    assert ("error[old_config_name] train.py:5: sgd_minibatch_size is a 2021 config name, "
            "given as a keyword: RLlib 2.60 refuses it") in done.stdout
    assert ("error[old_config_name] train.py:6: num_sgd_iter is a 2021 config name, given "
            "in a config dict") in done.stdout and "never reads it" in done.stdout
    assert "evaluation_num_workers" not in done.stdout
    assert "fix: Use num_epochs (config.training(...));" in done.stdout
    assert "num_workers" not in done.stdout


def test_a_run_stopped_by_a_trap_says_the_trap(tmp_path, capsys):
    """`rldebug run` on Discrete observations without a connector printed RLlib's
    ValueError and exited 1; it now says the trap and its fix, exit 2."""
    from rldebug import run
    from rldebug.cli import main

    code = main(["run", "--config", f"{HERE / 'preflight_configs.py'}:frozen_lake",
                 "--stop-iters", "1", "--logdir", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert code == 2, err[-2000:]
    assert "the run raised ValueError (No default encoder config for obs space=Discrete(16)" \
        in err
    assert "rldebug check names why: error[no_default_encoder]" in err
    assert "FlattenObservations" in err and "Traceback" not in err
    # an env id nothing registered: said as `rldebug check` says it, not gymnasium's words
    code = main(["run", "--config", f"{HERE / 'preflight_configs.py'}:unknown_env_id",
                 "--stop-iters", "1", "--logdir", str(tmp_path / "typo")])
    err = capsys.readouterr().err
    assert code == 2, err[-2000:]
    assert ("The config's env 'CartPol-v1' is neither a gymnasium id nor an env registered "
            "with ray.tune.register_env") in err and "Did you mean: `CartPole`?" in err
    assert "Traceback" not in err and not (tmp_path / "typo").exists()  # refused first
    with pytest.raises(ValueError, match=r"'CartPol-v1' is neither a gymnasium id"):
        run(configs.unknown_env_id(), max_iterations=1, logdir=tmp_path / "api")


def test_debug_mode_off_takes_its_stand_in_modules_away():
    """`rldebug reproduce` turns debug mode on and off in-process; off, it left its
    stand-in ray.rllib.agents (and gym) in sys.modules, where importlib.util.find_spec
    raises "ray.rllib.agents.__spec__ is None" and `import gym` kept giving gymnasium."""
    import importlib.util
    import sys

    from rldebug.inprocess.debugging import debug_mode, is_debug_mode

    assert not is_debug_mode()
    gym_installed = importlib.util.find_spec("gym") is not None
    debug_mode(True, preflight=False)
    try:
        from ray.rllib.agents.ppo import PPOTrainer  # noqa: F401 - the stand-in
        assert "ray.rllib.agents" in sys.modules
        if not gym_installed:  # a submodule imported through the gym stand-in
            from gym.envs.classic_control import CartPoleEnv  # noqa: F401
    finally:
        debug_mode(False)
    assert not any(name == "ray.rllib.agents" or name.startswith("ray.rllib.agents.")
                   for name in sys.modules)
    assert importlib.util.find_spec("ray.rllib.agents") is None
    if not gym_installed:
        assert not any(name == "gym" or name.startswith("gym.") for name in sys.modules)


@pytest.mark.parametrize("old_stack", [False, True], ids=["new_stack", "old_stack"])
def test_a_discrete_action_space_that_does_not_start_at_0_is_sent_the_index(old_stack):
    config, env = configs.offset_discrete(old_stack=old_stack)
    algo = config.build_algo()
    try:  # RLlib itself: the env gets 0..2, not its space's 1..3
        if old_stack:
            algo.env_runner.sample()
        else:
            algo.env_runner.sample(num_timesteps=100)
    finally:
        algo.stop()
    assert 0 in env.seen and 3 not in env.seen
    (trap,) = [t for t in preflight(config, cpus=2) if t.name == "discrete_start_ignored"]
    assert trap.severity == "warning" and trap.evidence["role"] == "action"
    assert "Discrete(3, start=1)" in trap.message and "ActionWrapper" in trap.fix


def test_a_discrete_observation_that_does_not_start_at_0_fails_the_one_hot():
    config, _ = configs.offset_discrete(offset_obs=True)
    with pytest.raises(Exception, match="larger than depth"):  # RLlib's own assertion
        algo = config.build_algo()  # its one sample of the space may draw 3 already
        try:
            algo.env_runner.sample(num_timesteps=100)  # the env returns 3 at step 2
        finally:
            algo.stop()
    (trap,) = [t for t in preflight(config, cpus=2) if t.name == "discrete_start_ignored"]
    assert trap.severity == "error" and trap.evidence["role"] == "observation"
    assert "FlattenObservations" in trap.message
    # the old stack's preprocessor (gymnasium's flatten) honours start: no trap
    assert not [t for t in preflight(configs.offset_discrete(offset_obs=True, old_stack=True)[0],
                                     cpus=2) if t.name == "discrete_start_ignored"]
    # without FlattenObservations building fails for want of an encoder, which is said
    bare = config.copy(copy_frozen=False).env_runners(env_to_module_connector=None)
    assert [t.name for t in preflight(bare, cpus=2) if t.severity == "error"] == \
        ["no_default_encoder"]


def test_keys_rllib_never_reads_are_named_with_their_replacement():
    """config["num_workers"] = 1 and update_from_dict({"horizon": ...}) set attributes
    RLlib 2.60 never reads: the built algorithm runs with its defaults."""
    config = configs.keys_rllib_never_reads()
    assert config.num_env_runners == 0  # not the 1 the user asked for
    traps = {t.evidence["key"]: t for t in preflight(config) if t.name == "old_key_ignored"}
    assert sorted(traps) == ["horizon", "lamda", "num_workers"]
    assert "num_env_runners" in traps["num_workers"].message
    assert "TimeLimit" in traps["horizon"].message
    assert "not a setting of PPOConfig" in traps["lamda"].message
    assert [traps[k].severity for k in ("horizon", "lamda", "num_workers")] == \
        ["error", "warning", "error"]  # a key of the user's own may be read by their code


def test_a_schedule_at_0_a_negative_clip_and_lambda_above_1_are_named():
    traps = [t for t in preflight(configs.schedule_and_clip_out_of_range())
             if t.name == "setting_out_of_range"]
    assert [t.evidence["setting"] for t in traps] == ["lr", "clip_param", "lambda_"]
    decaying = configs.clean().training(lr=[[0, 1e-3], [1000, 0.0]])
    assert "setting_out_of_range" not in names(preflight(decaying))


def test_a_multi_agent_env_with_one_shared_space_is_an_error_on_the_new_stack():
    import gymnasium as gym
    import numpy as np
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.env.multi_agent_env import MultiAgentEnv

    class Shared(MultiAgentEnv):
        def __init__(self, config=None):
            super().__init__()
            self.possible_agents = self.agents = ["a", "b"]
            self.observation_space = gym.spaces.Box(-1, 1, (2,), np.float32)
            self.action_space = gym.spaces.Discrete(2)

    def config(old_stack):
        return (PPOConfig().environment(Shared).env_runners(num_env_runners=0)
                .api_stack(enable_rl_module_and_learner=not old_stack,
                           enable_env_runner_and_connector_v2=not old_stack)
                .multi_agent(policies={"p"}, policy_mapping_fn=lambda aid, *a, **k: "p"))

    (trap,) = [t for t in preflight(config(False)) if t.name == "agent_spaces_shared"]
    assert trap.severity == "error" and "object is not iterable" in trap.message
    assert "self.observation_spaces = {agent_id:" in trap.fix
    assert "agent_spaces_shared" not in names(preflight(config(True)))


def test_check_steps_the_configs_env_and_says_what_rllib_cannot_sample(capsys):
    # what RLlib does with it: gymnasium's vector env takes the array for the info dict
    with pytest.raises(AttributeError, match="has no attribute 'items'"):
        algo = configs.env_with_obs_only_reset().build_algo()
        try:
            algo.env_runner.sample(num_timesteps=10)
        finally:
            algo.stop()
    assert preflight(configs.env_with_obs_only_reset()) == []  # building alone shows nothing
    assert main(["check", f"{HERE / 'preflight_configs.py'}:env_with_obs_only_reset"]) == 1
    out = capsys.readouterr().out
    assert "error[env_check_failed]" in out and "(gymnasium_api)" in out
    assert "old gym API" in out and out.count("error[") == 1


def test_check_lists_the_stepped_envs_errors_before_the_configs_warnings(capsys):
    config = configs.env_with_obs_only_reset()
    config.update_from_dict({"my_own_setting": 3})  # unknown: a warning
    assert [t.severity for t in preflight(config)] == ["warning"]
    spec = f"{HERE / 'preflight_configs.py'}:env_with_obs_only_reset_and_own_key"
    assert main(["check", spec]) == 1
    out = capsys.readouterr().out
    assert out.index("error[env_check_failed]") < out.index("warning[old_key_ignored]")


def test_an_env_that_raises_when_built_is_said_with_what_it_was_given(tmp_path, capsys):
    script = tmp_path / "needs_size.py"
    script.write_text(textwrap.dedent("""
        import gymnasium as gym
        from ray.rllib.algorithms.ppo import PPOConfig

        class NeedsSize(gym.Env):
            def __init__(self, config):
                self.size = config["size"]

        def config():
            return PPOConfig().environment(NeedsSize).env_runners(num_env_runners=0)
    """))
    assert main(["check", f"{script}:config"]) == 2
    err = capsys.readouterr().err
    assert "Building the env raised KeyError: 'size'" in err
    assert "NeedsSize(env_config={})" in err and "Traceback" not in err


@pytest.mark.parametrize("spec", ["rllib_multi_agent_cartpole", "rllib_double_row_corridor"])
def test_check_steps_rllibs_own_multi_agent_envs_without_a_false_error(spec, capsys):
    """Stepping an agent after it was done (RLlib never does) made MultiAgentCartPole
    'fail'; a truncateds dict without '__all__', which RLlib reads as False, made
    DoubleRowCorridorEnv 'fail'. RLlib samples both, its modules acting."""
    config = getattr(configs, spec)()
    algo = config.build_algo()
    try:
        algo.env_runner.sample(num_timesteps=300)
    finally:
        algo.stop()
    assert main(["check", f"{HERE / 'preflight_configs.py'}:{spec}"]) == 0, \
        capsys.readouterr().out


# -- traps an independent user's configs found unnamed (2026-12-06) --------------------


class _Callbacks2021:
    """Hooks as 2021 tutorials wrote them (old API stack keywords)."""

    def on_episode_end(self, *, worker, base_env, policies, episode, env_index=None,
                       **kwargs):
        episode.custom_metrics["steps"] = episode.length


def _ppo(**training):
    return (configs.clean().env_runners(num_env_runners=0)
            .training(**{"train_batch_size_per_learner": 200, "minibatch_size": 50,
                         "num_epochs": 1, **training}))


def test_a_2021_callbacks_class_raises_at_the_first_episode_end_and_is_named():
    from ray.rllib.callbacks.callbacks import RLlibCallback

    old = type("Old", (_Callbacks2021, RLlibCallback), {})
    config = _ppo().callbacks(old)
    _first_train_raises(config, TypeError, "missing 3 required keyword-only arguments")
    (trap,) = [t for t in preflight(config) if t.name == "callback_signature"]
    assert trap.severity == "error" and "Old.on_episode_end" in trap.message
    assert "worker, base_env, policies are the old API stack's" in trap.message
    assert "rldebug debug" in trap.fix and "metrics_logger" in trap.fix
    # a function given to config.callbacks(): RLlib passes every keyword to it too
    taking_the_episode_only = _ppo().callbacks(on_episode_start=lambda episode: None)
    assert names(preflight(taking_the_episode_only)) == ["callback_signature"]
    # the same class on the old stack, which passes worker, base_env and policies; a
    # new-stack hook; RLlib's own classes
    old_stack = config.copy(copy_frozen=False).api_stack(
        enable_rl_module_and_learner=False, enable_env_runner_and_connector_v2=False)
    new = type("New", (RLlibCallback,), {"on_episode_end": lambda self, *, episode,
                                         metrics_logger=None, **kw: None})
    for fine in (old_stack, _ppo().callbacks(new), _ppo()):
        assert "callback_signature" not in names(preflight(fine))


def _optimizer_lr(algo, module="default_policy", optimizer="default_optimizer") -> float:
    learner = algo.learner_group._learner
    return learner.get_optimizer(module, optimizer).param_groups[0]["lr"]


def test_settings_the_new_stack_never_reads_are_named():
    """observation_filter, SAC's optimization_config and PolicySpec(config=...) are the
    old stack's: the new one builds without them and without a word."""
    from ray.rllib.algorithms.sac import SACConfig
    from ray.rllib.connectors.env_to_module.mean_std_filter import MeanStdFilter
    from ray.rllib.policy.policy import PolicySpec

    filtered = _ppo().env_runners(observation_filter="MeanStdFilter")
    algo = filtered.build_algo()
    try:
        pieces = algo.env_runner._env_to_module.connectors
        assert not any(isinstance(piece, MeanStdFilter) for piece in pieces)
    finally:
        algo.stop()
    (trap,) = [t for t in preflight(filtered) if t.name == "setting_ignored"]
    assert trap.evidence["setting"] == "observation_filter" and "MeanStdFilter(" in trap.fix

    sac = (SACConfig().environment("Pendulum-v1").env_runners(num_env_runners=0)
           .training(optimization_config={"actor_learning_rate": 1e-3,
                                          "critic_learning_rate": 1e-3,
                                          "entropy_learning_rate": 1e-3}))
    algo = sac.build_algo()
    try:
        assert _optimizer_lr(algo, optimizer="policy") == pytest.approx(3e-5)  # actor_lr
    finally:
        algo.stop()
    (trap,) = [t for t in preflight(sac) if t.name == "setting_ignored"]
    assert trap.evidence["setting"] == "optimization_config" and "actor_lr=3e-05" in \
        trap.message

    frozen = (configs.rllib_multi_agent_cartpole().env_runners(num_env_runners=0)
              .multi_agent(policies={"p0": PolicySpec(config={"lr": 0.0}), "p1": PolicySpec()},
                           policy_mapping_fn=lambda agent, *a, **k: f"p{agent}"))
    algo = frozen.build_algo()
    try:
        assert _optimizer_lr(algo, "p0") == pytest.approx(frozen.lr)  # not 0
    finally:
        algo.stop()
    (trap,) = [t for t in preflight(frozen) if t.name == "setting_ignored"]
    assert trap.evidence == {"setting": "PolicySpec.config", "modules": ["p0"]}
    assert "algorithm_config_overrides_per_module" in trap.fix
    assert "setting_ignored" not in names(preflight(_ppo()))

    noisy = _dqn(noisy=True)  # RLlib builds the same plain layers as without it
    shapes = []
    for config in (noisy, _dqn()):
        algo = config.build_algo()
        try:
            module = algo.get_module("default_policy")
            shapes.append([(n, tuple(p.shape)) for n, p in module.named_parameters()])
        finally:
            algo.stop()
    assert shapes[0] == shapes[1] and not any("noise" in n or "sigma" in n for n, _ in shapes[0])
    (trap,) = [t for t in preflight(noisy) if t.name == "setting_ignored"]
    assert trap.evidence["setting"] == "noisy" and "epsilon-greedy" in trap.message
    assert "setting_ignored" not in names(preflight(_dqn()))


def test_rl_module_model_config_on_the_old_stack_is_named():
    old = _ppo().api_stack(enable_rl_module_and_learner=False,
                           enable_env_runner_and_connector_v2=False) \
        .rl_module(model_config={"fcnet_hiddens": [7]})
    algo = old.build_algo()
    try:
        first = dict(algo.get_policy().model.named_modules())["_hidden_layers.0._model.0"]
        assert first.out_features == 256  # the model dict's default, not 7
    finally:
        algo.stop()
    (trap,) = [t for t in preflight(old) if t.name == "setting_ignored"]
    assert trap.evidence == {"setting": "model_config"} and "training(model=" in trap.fix


def test_an_old_stack_replay_buffer_named_by_string_crashes_new_stack_dqn_and_is_named():
    config = _dqn(replay_buffer_config={"type": "MultiAgentPrioritizedReplayBuffer",
                                        "capacity": 1000})
    _first_train_raises(config, AttributeError, "as_multi_agent")
    assert names(preflight(config), "error") == ["replay_buffer_old_stack"]
    assert "replay_buffer_old_stack" not in names(preflight(_dqn()))


def test_a_schedule_that_ends_before_the_first_update_is_named():
    """lr=[[0, 5e-4], [20, 1e-6]] read as 20 iterations: RLlib steps it by sampled env
    steps, so from the second update on the lr is 1e-6."""
    config = _ppo(lr=[[0, 5e-4], [20, 1e-6]])
    algo = config.build_algo()
    try:
        rates = [algo.train()["learners"]["default_policy"]["default_optimizer_learning_rate"]
                 for _ in range(2)]
    finally:
        algo.stop()
    assert rates[-1] == pytest.approx(1e-6)
    (trap,) = [t for t in preflight(config) if t.name == "schedule_over_before_learning"]
    assert trap.severity == "warning" and trap.evidence["first_update_after"] == 200
    assert not [t for t in preflight(_ppo(lr=[[0, 5e-4], [100_000, 1e-6]]))
                if t.name == "schedule_over_before_learning"]


def test_an_observation_of_another_shape_than_its_space_is_an_error(capsys):
    from ray.rllib.env.single_agent_env_runner import SingleAgentEnvRunner

    with pytest.raises(ValueError, match="wrong shape"):
        SingleAgentEnvRunner(config=configs.obs_longer_than_its_space()).sample(
            num_timesteps=10)
    spec = f"{HERE / 'preflight_configs.py'}:obs_longer_than_its_space"
    assert main(["check", spec]) == 1
    out = capsys.readouterr().out
    assert "error[env_check_failed]" in out and "wrong shape" in out


def test_complete_episodes_of_an_env_without_ends_is_named(capsys):
    """An EnvRunner's sample(), as RLlib's training loop calls it, returns whole episodes
    only: with episodes of 3000 steps and a 200-step batch, it returns 3000."""
    from ray.rllib.env.single_agent_env_runner import SingleAgentEnvRunner

    runner = SingleAgentEnvRunner(config=configs.complete_episodes_of_a_continuing_task(3000))
    try:
        episodes = runner.sample()
    finally:
        runner.stop()
    assert sum(len(e) for e in episodes) == 3000
    spec = f"{HERE / 'preflight_configs.py'}:complete_episodes_of_a_continuing_task"
    assert main(["check", spec]) == 0
    assert "warning[episodes_never_end]" in capsys.readouterr().out
    assert main(["check", f"{HERE / 'preflight_configs.py'}:clean"]) == 0
    assert "episodes_never_end" not in capsys.readouterr().out


def test_check_json_of_a_script_says_what_reading_it_covers(tmp_path, capsys):
    script = tmp_path / "train.py"
    script.write_text("import ray\nprint('training')\n")
    assert main(["check", "--json", str(script)]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out) == [] and "read, not run" in captured.err


@pytest.mark.parametrize("stack, call, setting", [
    ("old", '.rl_module(model_config={"use_lstm": True})', "model_config"),
    ("new", '.training(model={"fcnet_hiddens": [7]})', "model"),
])
def test_a_script_configuring_its_network_where_its_stack_does_not_read_it(stack, call,
                                                                          setting, tmp_path):
    """A script is read, not run: a network asked for through the other API stack's
    setting (rl_module(model_config=) on the old stack, training(model=) on the new; each
    shown ignored on real RLlib by the FUNC-mode tests above) is named at its line; the
    stack's own setting is not."""
    api = (".api_stack(enable_rl_module_and_learner=False,\n"
           "           enable_env_runner_and_connector_v2=False)\n" if stack == "old" else "")
    script = tmp_path / "train.py"
    script.write_text("from ray.rllib.algorithms.ppo import PPOConfig\n\nconfig = (\n"
                      f"    PPOConfig()\n    {api}    .environment('CartPole-v1')\n"
                      f"    {call}\n)\n")
    (trap,) = preflight_script(script)
    line = script.read_text().splitlines().index(f"    {call}") + 1
    assert (trap.name, trap.evidence) == ("setting_ignored", {"line": line, "setting": setting})
    own = ('.training(model={"use_lstm": True})' if stack == "old" else
           '.rl_module(model_config={"fcnet_hiddens": [7]})')
    script.write_text(script.read_text().replace(call, own))
    assert preflight_script(script) == []


def _dqn_with_target(tau: float, freq: int):
    """DQN on CartPole whose iteration samples freq + 100 env steps."""
    from ray.rllib.algorithms.dqn import DQNConfig

    return (DQNConfig().environment("CartPole-v1").env_runners(num_env_runners=0)
            .training(tau=tau, target_network_update_freq=freq, lr=1e-3,
                      train_batch_size_per_learner=32,
                      num_steps_sampled_before_learning_starts=32)
            .reporting(min_time_s_per_iteration=0,
                       min_sample_timesteps_per_iteration=freq + 100)
            .debugging(seed=0))


def _target_gap(tau: float, freq: int):
    """Train DQN on CartPole for freq + 100 env steps: the target network's distance from the
    Q-network as a fraction of how far the Q-network moved from the start, the target
    updates RLlib counted, and the config."""
    import torch

    config = _dqn_with_target(tau, freq)
    algo = config.build_algo()
    try:
        module = algo.learner_group._learner.module["default_policy"]
        ((main_net, target_net), *_) = module.get_target_network_pairs()
        def flat(net):
            return torch.cat([p.detach().flatten() for p in net.parameters()])

        start = flat(main_net).clone()
        result = algo.train()
        gap = (flat(target_net) - flat(main_net)).norm() / (flat(main_net) - start).norm()
        return float(gap), result["learners"]["default_policy"]["num_target_updates"], config
    finally:
        algo.stop()


@pytest.mark.slow  # ~15 s of DQN training; the trap itself: the test below
def test_dqn_moves_its_target_tau_of_the_way_once_per_period():
    """DQN moves its target tau of the way once every target_network_update_freq env steps:
    with a period of 200, tau=1.0 copies the Q-network at step 200, tau=0.005 leaves the
    target where it started (its gap to the Q-network ~ all of the Q-network's move)."""
    lagging, updates, _ = _target_gap(0.005, 200)
    copied, copies, _ = _target_gap(1.0, 200)
    assert updates == copies == 1
    assert lagging > 0.99 and copied < 0.8, (lagging, copied)


def test_a_polyak_tau_with_a_hard_copys_period_is_named():
    """What the test above measures: tau=0.005 once per 200 env steps leaves the target
    where it started."""
    from ray.rllib.algorithms.sac import SACConfig

    config, hard = _dqn_with_target(0.005, 200), _dqn_with_target(1.0, 200)
    (trap,) = [t for t in preflight(config) if t.name == "target_barely_moves"]
    assert trap.evidence == {"tau": 0.005, "target_network_update_freq": 200,
                             "lag_env_steps": 39900}
    assert "target_network_update_freq=1" in trap.fix and "tau=1.0" in trap.fix
    soft = config.copy(copy_frozen=False).training(target_network_update_freq=1)
    for fine in (hard, soft, hard.copy(copy_frozen=False).training(target_network_update_freq=8000),
                 SACConfig().environment("Pendulum-v1")):
        assert "target_barely_moves" not in names(preflight(fine))
    sac = SACConfig().environment("Pendulum-v1").training(target_network_update_freq=500)
    assert "target_barely_moves" in names(preflight(sac))


def test_appo_s_target_update_period_given_in_env_steps_is_named():
    """APPO multiplies target_network_update_freq by its circular buffer's batches, their
    reuse and the train batch: 5000 meant as env steps is 500,000 here (2 x 1 x 50 each),
    so after 1000 trained steps, five times the default period (2 x 100), the target
    network has never moved."""
    from ray.rllib.algorithms.appo import APPOConfig

    config = (APPOConfig().environment("CartPole-v1").env_runners(num_env_runners=0)
              .training(train_batch_size_per_learner=50, circular_buffer_num_batches=2,
                        circular_buffer_iterations_per_batch=1,
                        target_network_update_freq=5000)
              .reporting(min_time_s_per_iteration=0, min_sample_timesteps_per_iteration=200)
              .debugging(seed=0))
    algo = config.build_algo()
    try:
        for _ in range(5):
            result = algo.train()
    finally:
        algo.stop()
    assert result["env_runners"]["num_env_steps_sampled_lifetime"] >= 1000
    assert not result["learners"]["default_policy"].get("num_target_updates")
    (trap,) = [t for t in preflight(config) if t.name == "target_update_period_units"]
    assert trap.evidence == {"target_network_update_freq": 5000, "unit_env_steps": 100,
                             "period_env_steps": 500_000}
    default = config.copy(copy_frozen=False).training(target_network_update_freq=2)
    assert "target_update_period_units" not in names(preflight(default))


def _multi_agent_dqn(**buffer):
    """DQN on RLlib's MultiAgentCartPole (agent ids 0 and 1), both agents on one module."""
    from ray.rllib.examples.envs.classes.multi_agent import MultiAgentCartPole

    return _dqn(**({"replay_buffer_config": buffer} if buffer else {})).environment(
        MultiAgentCartPole, env_config={"num_agents": 2}).multi_agent(
        policies={"shared"}, policy_mapping_fn=lambda agent, *args, **kwargs: "shared")


def test_an_episode_buffer_rllib_cannot_sample_is_named():
    """Multi-agent DQN with RLlib's default (single-agent) buffer, and a prioritized buffer
    given without beta (a new type replaces RLlib's whole default dict): RLlib builds both
    and raises TypeError at the first sample; check said "No known trap"."""
    single = _multi_agent_dqn()
    _first_train_raises(single, TypeError, "unhashable type: 'slice'")
    assert names(preflight(single), "error") == ["replay_buffer_single_agent"]
    no_beta = _multi_agent_dqn(type="MultiAgentPrioritizedEpisodeReplayBuffer", capacity=1000)
    _first_train_raises(no_beta, TypeError, "'>=' not supported")
    (trap,) = [t for t in preflight(no_beta) if t.severity == "error"]
    assert trap.name == "replay_buffer_without_beta" and "'beta': 0.4" in trap.fix
    for fine in (_dqn(), _dqn(replay_buffer_config={"type": "PrioritizedEpisodeReplayBuffer",
                                                    "capacity": 1000})):  # merged: beta kept
        assert not {"replay_buffer_single_agent", "replay_buffer_without_beta"} & set(
            names(preflight(fine)))


def test_int_agent_ids_that_no_checkpoint_can_hold_are_named(tmp_path):
    """Multi-agent DQN on int agent ids trains, and saving it raises TypeError in RLlib's
    MetricsLogger (the buffer's metrics are keyed by agent id)."""
    config = _multi_agent_dqn(type="MultiAgentPrioritizedEpisodeReplayBuffer", capacity=1000,
                              alpha=0.6, beta=0.4)
    algo = config.build_algo()
    try:
        algo.train()
        with pytest.raises(TypeError, match="expected str instance, int found"):
            algo.save_to_path(str(tmp_path / "checkpoint"))
    finally:
        algo.stop()
    (trap,) = [t for t in preflight(config) if t.name == "checkpoint_int_agent_ids"]
    assert trap.severity == "warning" and trap.evidence == {"agent_id_types": ["int"]}
    # rldebug.run's checkpoint_at_end raised RLlib's TypeError with no word of the run
    import rldebug

    with pytest.raises(TypeError, match="expected str instance") as raised:
        rldebug.run(config, stop={"training_iteration": 1}, logdir=tmp_path / "run",
                    checkpoint_at_end=True, progress=False)
    note = " ".join(raised.value.__notes__)
    assert "training finished (1 iteration" in note and "rldebug check" in note
    assert (tmp_path / "run" / "result.json").is_file()
    assert "checkpoint_int_agent_ids" not in names(preflight(_dqn()))


def test_debug_mode_says_when_the_config_as_given_could_not_start_here(capsys):
    """A config plain RLlib cannot schedule on this machine trained under rldebug debug
    without a word (an independent user's default PPO, APPO and IMPALA on 2 CPUs)."""
    from setups import ppo_cartpole

    from rldebug.inprocess.debugging import debug_mode, in_process
    from rldebug.traps import cluster_cpus

    debug_mode(True, preflight=False)
    try:
        in_process(ppo_cartpole().env_runners(num_env_runners=int(cluster_cpus()[0]) + 2),
                   "PPO")
        fits = in_process(ppo_cartpole().env_runners(num_env_runners=0)
                          .evaluation(evaluation_num_env_runners=0, evaluation_interval=1),
                          "PPO")
    finally:
        debug_mode(False)
    err = capsys.readouterr().err
    assert "PPO, as the script gives it: error[unschedulable] The actors need" in err, err
    assert "(Under rldebug debug it trains in this process all the same.)" in err
    assert err.count("unschedulable") == 1 and fits is not None


def test_a_large_entropy_bonus_on_ppo_is_named_and_appo_impala_are_not():
    """A new user's old-stack PPO at entropy_coeff=1.0 (tests/doctor_user_runs5,
    sort_ppo_old_entropy1) ended at 14.5 per episode against its healthy twin's 503, its
    entropy at 92% of the maximum, and nothing named it. The figures the trap quotes are
    the fault benchmark's (entropy_coeff_1): PPO below its healthy runs everywhere, APPO
    and IMPALA not."""
    import json
    from pathlib import Path

    from ray.rllib.algorithms.appo import APPOConfig
    from ray.rllib.algorithms.impala import IMPALAConfig
    from ray.rllib.algorithms.ppo import PPOConfig

    (trap,) = [t for t in preflight(PPOConfig().environment("CartPole-v1")
                                    .training(entropy_coeff=1.0))
               if t.name == "entropy_bonus_high"]
    assert trap.severity == "warning" and trap.evidence["value"] == 1.0
    assert "112 of 112 runs" in trap.message and "0-0.01" in trap.fix
    old = (PPOConfig().api_stack(enable_rl_module_and_learner=False,
                                 enable_env_runner_and_connector_v2=False)
           .environment("CartPole-v1").training(entropy_coeff=0.5))
    assert "entropy_bonus_high" in names(preflight(old))
    for fine in (PPOConfig().environment("CartPole-v1").training(entropy_coeff=0.01),
                 PPOConfig().environment("CartPole-v1").training(entropy_coeff=0.1),
                 PPOConfig().environment("CartPole-v1").training(
                     entropy_coeff=[[0, 1.0], [10000, 0.0]]),
                 APPOConfig().environment("CartPole-v1").training(entropy_coeff=1.0),
                 IMPALAConfig().environment("CartPole-v1").training(entropy_coeff=1.0)):
        assert "entropy_bonus_high" not in names(preflight(fine))
    # the user's run: its params.json's entropy_coeff, and how far below its twin it ended
    runs = Path(__file__).parent / "doctor_user_runs5" / "runs"
    assert json.loads((runs / "sort_ppo_old_entropy1" / "params.json").read_text())[
        "entropy_coeff"] == 1.0
    last = {name: json.loads((runs / name / "result.json").read_text().splitlines()[-1])
            ["env_runners"]["episode_return_mean"]
            for name in ("sort_ppo_old_entropy1", "sort_ppo_old_healthy")}
    assert last["sort_ppo_old_entropy1"] < 0.1 * last["sort_ppo_old_healthy"]


def test_an_image_rllib_has_no_default_cnn_for_is_an_error_unless_conv_filters_are_set():
    import gymnasium as gym
    import numpy as np
    from ray.rllib.algorithms.ppo import PPOConfig

    class Small(gym.Env):
        observation_space = gym.spaces.Box(0.0, 1.0, (16, 16, 3), np.float32)
        action_space = gym.spaces.Discrete(2)

        def __init__(self, config=None):
            pass

        def reset(self, *, seed=None, options=None):
            return np.zeros((16, 16, 3), np.float32), {}

        def step(self, action):
            return np.zeros((16, 16, 3), np.float32), 1.0, True, False, {}

    config = PPOConfig().environment(Small)
    (trap,) = [t for t in preflight(config) if t.name == "no_default_encoder"]
    assert trap.severity == "error" and "[16, 16, 3]" in trap.message
    config.rl_module(model_config={"conv_filters": [[16, [4, 4], 2], [32, [4, 4], 2]]})
    assert "no_default_encoder" not in names(preflight(config))
    config.build_algo().stop()  # RLlib builds it with the filters


def test_what_check_env_says_rllib_refuses_is_an_error_of_rldebug_check_too():
    """A held-out audit's envs (2026-12-07): rewards keyed by agent index fail RLlib's own
    multi-agent check, which its new-stack EnvRunners run on every env they build; an
    agent that appears undeclared; a float observation in an integer space (single
    agent). check_env failed them; rldebug check said "No known RLlib 2.60 trap found"
    for the first."""
    from ray.rllib.algorithms.ppo import PPOConfig
    from test_check_env import FloatsInAnIntegerSpace, JoinsUndeclared, RewardsByIndex

    from rldebug.traps import stepped_env_traps

    def checked(env, multi_agent=True):
        config = PPOConfig().environment(env).env_runners(num_env_runners=0)
        if multi_agent:
            config = config.multi_agent(policies={"p"},
                                        policy_mapping_fn=lambda aid, *a, **k: "p")
        return {t.evidence.get("check") for t in stepped_env_traps(config)
                if t.name == "env_check_failed"}

    assert checked(RewardsByIndex) == {"rllib"}
    assert "agent_ids" in checked(JoinsUndeclared)
    assert checked(FloatsInAnIntegerSpace, multi_agent=False) >= {"observation_dtype"}


def test_a_tune_search_space_is_checked_as_one_variant_not_refused():
    """A correct config with tune.grid_search/uniform/choice (a Tuner's param_space) got
    error[rllib_refuses], exit 1: RLlib's validate() reads {'grid_search': [...]} as the
    lr itself, while Tune gives every trial one value (a third held-out audit)."""
    from ray import tune
    from ray.rllib.algorithms.ppo import PPOConfig

    from rldebug.traps import preflight

    config = (PPOConfig().environment("CartPole-v1").env_runners(num_env_runners=0)
              .training(lr=tune.grid_search([1e-4, 3e-4]), entropy_coeff=tune.uniform(0, 0.01),
                        minibatch_size=tune.choice([100, 250]), num_epochs=5,
                        train_batch_size_per_learner=1000))
    with pytest.raises(ValueError, match="grid_search"):  # RLlib's reading of it
        config.copy(copy_frozen=False).validate()
    traps = preflight(config, cpus=2)
    assert [(t.name, t.severity) for t in traps] == [("search_space", "info")], traps
    assert "lr=0.0001, minibatch_size=100, entropy_coeff=0.005" in traps[0].message
    # the variant is checked like any config: a first grid value RLlib cannot train with
    bad = config.copy(copy_frozen=False).training(lr=tune.grid_search([-1.0, 1e-4]))
    assert "setting_out_of_range" in [t.name for t in preflight(bad, cpus=2)]


def test_a_policies_to_train_function_of_the_module_alone_is_named(tmp_path):
    """RLlib 2.60 calls policies_to_train(module_id, batch): a one-argument function
    (as a policy_mapping_fn of the agent alone) fails at the first update with a bare
    TypeError; check said nothing (a third held-out audit)."""
    import rldebug
    from rldebug.traps import preflight

    def one_argument(module_id):
        return module_id == "pol1"

    config = tiny_arena_config().multi_agent(policies_to_train=one_argument)
    (trap,) = [t for t in preflight(config, cpus=2) if t.severity == "error"]
    assert trap.name == "policies_to_train_signature"
    assert "calls policies_to_train(module_id, batch)" in trap.message
    with pytest.raises(TypeError, match="positional argument"):  # RLlib, at the update
        rldebug.run(config, stop={"training_iteration": 1}, logdir=tmp_path / "bad",
                    progress=False)
    fixed = config.copy(copy_frozen=False).multi_agent(
        policies_to_train=lambda module_id, batch=None: module_id == "pol1")
    assert [t.name for t in preflight(fixed, cpus=2) if t.severity == "error"] == []


def test_a_schedule_whose_timesteps_do_not_rise_is_named(tmp_path):
    """RLlib validates only a schedule's first timestep; its PiecewiseSchedule asserts the
    rest are sorted when the Learner builds it: a bare AssertionError (a third held-out
    audit's APPO: the learner thread died and train() hung)."""
    import rldebug
    from rldebug.traps import preflight

    config = tiny_arena_config().training(entropy_coeff=[[0, 0.01], [4000, 0.001],
                                                         [2000, 0.005]])
    (trap,) = [t for t in preflight(config, cpus=2) if t.severity == "error"]
    assert trap.name == "schedule_unsorted" and trap.evidence["timesteps"] == [0, 4000, 2000]
    assert "entropy_coeff=[[0, 0.01], [2000, 0.005], [4000, 0.001]]" in trap.fix
    config.validate()  # RLlib's own validation takes it
    with pytest.raises(AssertionError):  # PPO's Learner, building the schedule
        rldebug.run(config, stop={"training_iteration": 1}, logdir=tmp_path / "run",
                    progress=False)


class _PendulumRecordingActions(__import__("gymnasium").Wrapper):
    """Pendulum-v1 that keeps the largest |action| step() was given (class-wide)."""

    largest = 0.0

    def __init__(self, config=None):
        import gymnasium as gym

        super().__init__(gym.make("Pendulum-v1"))

    def step(self, action):
        type(self).largest = max(type(self).largest, float(abs(action[0])))
        return super().step(action)


def test_sac_without_normalized_actions_on_a_box_beyond_one_is_named(tmp_path):
    """SAC's squashed Gaussian samples in [-1, 1]; normalize_actions=False leaves them
    so: an env acting in [0, 10] got only actions in [-1, 1] (a third held-out audit).
    Checked on what Pendulum's step() receives (its Box is [-2, 2])."""
    from ray.rllib.algorithms.sac import SACConfig

    from rldebug.traps import preflight

    config = (SACConfig().environment(_PendulumRecordingActions)
              .env_runners(num_env_runners=0)
              .rl_module(model_config={"fcnet_hiddens": [16]}))
    assert "actions_not_scaled" not in [t.name for t in preflight(config, cpus=2)]
    unscaled = config.copy(copy_frozen=False).environment(normalize_actions=False)
    (trap,) = [t for t in preflight(unscaled, cpus=2) if t.name == "actions_not_scaled"]
    assert trap.severity == "error" and "Box(-2.0, 2.0, (1,), float32)" in trap.message
    largest = {}
    for name, built in (("scaled", config), ("unscaled", unscaled)):
        _PendulumRecordingActions.largest = 0.0
        algo = built.copy(copy_frozen=False).build_algo()
        try:
            algo.env_runner.sample(num_timesteps=300, random_actions=False)
        finally:
            algo.stop()
        largest[name] = _PendulumRecordingActions.largest
    assert largest["unscaled"] <= 1.0 < largest["scaled"], largest


def test_search_spaces_anywhere_in_the_config_are_checked_as_one_variant(tmp_path, capsys):
    """A grid in env_config reached the env as {'grid_search': [...]} when check stepped
    it, and a sample_from(lambda spec: ...) raised out of preflight (a reviewer's)."""
    from ray import tune

    from rldebug.traps import preflight

    script = tmp_path / "configs.py"
    script.write_text(textwrap.dedent("""
        import gymnasium as gym
        from ray import tune
        from ray.rllib.algorithms.ppo import PPOConfig

        class Sized(gym.Env):
            def __init__(self, config):
                n = int(config["n"])
                self.observation_space = gym.spaces.Box(-1, 1, (n,))
                self.action_space = gym.spaces.Discrete(2)
            def reset(self, *, seed=None, options=None):
                return self.observation_space.sample() * 0, {}
            def step(self, action):
                return self.observation_space.sample() * 0, 1.0, False, True, {}

        def config():
            return (PPOConfig().environment(Sized, env_config={"n": tune.grid_search([2, 4])})
                    .env_runners(num_env_runners=0))
    """))
    assert main(["check", f"{script}:config"]) == 0
    out = capsys.readouterr().out
    assert "info[search_space]" in out and "env_config={'n': 2}" in out
    from ray.rllib.algorithms.ppo import PPOConfig

    spec = PPOConfig().environment("CartPole-v1").env_runners(num_env_runners=0).training(
        lr=tune.sample_from(lambda spec: 1e-4 * spec.config.num_epochs))
    (note,) = preflight(spec, cpus=2)
    assert note.name == "search_space" and "a sample_from only Tune can resolve" in note.message


class _HundredPerStep(__import__("gymnasium").Wrapper):
    """CartPole paying 100 per step."""

    def __init__(self, config=None):
        import gymnasium as gym

        super().__init__(gym.make("CartPole-v1"))

    def step(self, action):
        obs, reward, terminated, truncated, info = super().step(action)
        return obs, 100.0 * reward, terminated, truncated, info


def test_clip_rewards_on_the_new_stack_is_named_as_ignored():
    """Only the old stack's RolloutWorker clips rewards: on the new stack rewards of 100
    reached the Learner (a third held-out audit's IMPALA, vf_loss 2.3e8)."""
    from ray.rllib.algorithms.impala import IMPALAConfig

    from rldebug.traps import preflight

    config = (IMPALAConfig().environment(_HundredPerStep, clip_rewards=True)
              .env_runners(num_env_runners=0).rl_module(model_config={"fcnet_hiddens": [16]}))
    (trap,) = [t for t in preflight(config, cpus=2) if t.evidence.get("setting") ==
               "clip_rewards"]
    assert (trap.name, trap.severity) == ("setting_ignored", "warning")
    algo = config.build_algo()
    try:
        episodes = algo.env_runner.sample(num_timesteps=50, random_actions=True)
    finally:
        algo.stop()
    assert max(float(r) for e in episodes for r in e.get_rewards()) == 100.0  # unclipped


def test_evaluation_runners_without_an_interval_never_evaluate_and_are_named():
    """RLlib builds the evaluation EnvRunner, yet train() never evaluates: no result of
    two iterations has an 'evaluation' entry. With an interval it is no trap."""
    from ray.rllib.algorithms.ppo import PPOConfig

    config = (PPOConfig().environment("CartPole-v1")
              .env_runners(num_env_runners=0)
              .training(train_batch_size_per_learner=64, minibatch_size=32, num_epochs=1)
              .rl_module(model_config={"fcnet_hiddens": [8]})
              .evaluation(evaluation_num_env_runners=1))
    (trap,) = [t for t in preflight(config, cpus=2) if t.name == "evaluation_never_runs"]
    assert trap.severity == "warning" and "evaluation_interval=None" in trap.message
    algo = config.build_algo()
    try:
        assert algo.eval_env_runner_group is not None  # built, holding its CPU
        results = [algo.train() for _ in range(2)]
    finally:
        algo.stop()
    assert not any("evaluation" in result for result in results)
    every = config.copy(copy_frozen=False).evaluation(evaluation_interval=1)
    assert "evaluation_never_runs" not in names(preflight(every, cpus=2))


def test_a_distributional_dqn_support_narrower_than_the_envs_returns_is_named(capsys):
    """CartPole pays 1 a step: under random actions about half of its steps have a
    discounted return above C51's default v_max of 10, which RLlib's DQN Learner clamps
    every target to. A support that holds them is no trap, nor is DQN without atoms."""
    from ray.rllib.algorithms.dqn import DQNConfig

    from rldebug.traps import stepped_env_traps

    narrow = DQNConfig().environment("CartPole-v1").training(num_atoms=51)
    (trap,) = [t for t in stepped_env_traps(narrow) if t.name == "support_too_narrow"]
    assert trap.severity == "warning"
    assert trap.evidence["v_max"] == 10 and trap.evidence["furthest"] > 10
    assert 0.3 < trap.evidence["share_outside"] < 0.9
    wide = DQNConfig().environment("CartPole-v1").training(num_atoms=51, v_min=0, v_max=100)
    assert "support_too_narrow" not in names(stepped_env_traps(wide))
    # the module's own support is the one its Learner reads (a reviewer's case)
    own = DQNConfig().environment("CartPole-v1").training(num_atoms=51).multi_agent(
        algorithm_config_overrides_per_module={"default_policy": {"v_min": 0, "v_max": 100}})
    assert "support_too_narrow" not in names(stepped_env_traps(own))
    # the old stack's clip_rewards: the loss gets each reward's sign, 1 where the env
    # pays 100 (the new stack ignores clip_rewards: its rewards of 100 stay)
    old = DQNConfig().api_stack(enable_rl_module_and_learner=False,
                                enable_env_runner_and_connector_v2=False)
    clipped = old.environment(_HundredPerStep, clip_rewards=True).training(
        num_atoms=51, v_min=0, v_max=100)
    assert "support_too_narrow" not in names(stepped_env_traps(clipped))
    assert "support_too_narrow" in names(stepped_env_traps(
        clipped.copy(copy_frozen=False).environment(clip_rewards=False)))
    assert "support_too_narrow" in names(stepped_env_traps(
        DQNConfig().environment(_HundredPerStep, clip_rewards=True).training(
            num_atoms=51, v_min=0, v_max=100)))
    assert "support_too_narrow" not in names(stepped_env_traps(
        DQNConfig().environment("CartPole-v1")))


def test_a_quantized_log_or_normal_search_space_is_checked_at_a_value_tune_could_give():
    """A range's middle is the geometric one for a log range and rounded to its q as Tune
    rounds each sample: tune.qloguniform(1e-4, 1e-2, 5e-5) was checked at the arithmetic
    middle 0.00505, qrandint(1, 10, 3) at 5 (Tune gives 3, 6 or 9); a normal's mean, not
    a random draw (a seed-dependent check)."""
    from ray import tune
    from ray.rllib.algorithms.ppo import PPOConfig

    from rldebug.traps import preflight

    config = (PPOConfig().environment("CartPole-v1").env_runners(num_env_runners=0)
              .training(lr=tune.qloguniform(1e-4, 1e-2, 5e-5), num_epochs=tune.qrandint(1, 10, 3),
                        entropy_coeff=tune.qrandn(0.01, 0.001, 0.005),
                        minibatch_size=tune.qlograndint(10, 1000, 5),
                        train_batch_size_per_learner=1000))
    (note,) = [t for t in preflight(config, cpus=2) if t.name == "search_space"]
    settings = dict(s.split("=", 1) for s in note.evidence["settings"])
    assert float(settings["lr"]) == pytest.approx(1e-3)
    assert settings["num_epochs"] == "6" and settings["minibatch_size"] == "100"
    assert float(settings["entropy_coeff"]) == pytest.approx(0.01)
    samples = [tune.qrandint(1, 10, 3).sample() for _ in range(50)]
    assert set(samples) <= {3, 6, 9}  # what Tune gives: each a multiple of q
    # randint leaves its upper bound out: the middle of randint(1, 2) is 1, not 2
    from rldebug.traps import _first_value

    assert [_first_value(tune.randint(lower, lower + 1))[0] for lower in (1, 3)] == [1, 3]
