"""rldebug.probe on real RLlib: probe envs in the user's spaces, planted bugs localised,
working configs (arena, default PPO/DQN/SAC, APPO, IMPALA) passing."""

from __future__ import annotations

import json
import re

import gymnasium as gym
import numpy as np
import pytest
from probe_bugs import (
    FourActions,
    only_p0,
    p0_once_sampled,
    ppo,
    ppo_detached_value,
    ppo_module_left_out,
    ppo_zeroed_observations,
    swapping_mapping_fn,
)

import rldebug
from rldebug.probes import PROBES, UnsupportedSpace, probe
from rldebug.probes.envs import MultiAgentProbeEnv, ProbeEnv
from rldebug.probes.spaces import action_hits, action_reward, observation, target_action

SPACES = {
    "box": gym.spaces.Box(-2.0, 2.0, (3,), np.float32),
    "unbounded_box": gym.spaces.Box(-np.inf, np.inf, (4,), np.float32),
    "discrete": gym.spaces.Discrete(16),
    "multi_discrete": gym.spaces.MultiDiscrete([5, 7]),
    "multi_binary": gym.spaces.MultiBinary(3),
    "dict": gym.spaces.Dict({"pos": gym.spaces.Box(0, 1, (2,)),
                             "cell": gym.spaces.Discrete(4)}),
    "tuple": gym.spaces.Tuple((gym.spaces.Discrete(3), gym.spaces.Box(-1, 1, (1,)))),
}


def _statuses(report) -> dict:
    return {r.name: r.status for r in report.results}


# --- probe states and targets in the user's spaces --------------------------------------

@pytest.mark.parametrize("family", sorted(SPACES))
def test_both_probe_states_are_distinct_observations_of_the_users_space(family):
    space = SPACES[family]
    first, second = observation(space, 0), observation(space, 1)
    assert space.contains(first) and space.contains(second)
    assert gym.spaces.flatten(space, first).tolist() != gym.spaces.flatten(space, second).tolist()


@pytest.mark.parametrize("space", [gym.spaces.Discrete(2), gym.spaces.Discrete(5),
                                   gym.spaces.Box(-2.0, 2.0, (2,), np.float32)])
def test_the_two_targets_differ_and_only_the_target_earns_full_reward(space):
    first, second = target_action(space, 0), target_action(space, 1)
    _only_the_target_earns_full_reward(space, first, second)


def test_a_discrete_action_from_1_is_rewarded_by_the_index_rllib_sends():
    """RLlib sends the index 0..n-1 whatever the start: the probe rewarded the value, so
    a policy that learned the rewarded index was failed."""
    space = gym.spaces.Discrete(3, start=1)
    first, second = target_action(space, 0), target_action(space, 1)
    _only_the_target_earns_full_reward(space, first - 1, second - 1)


def _only_the_target_earns_full_reward(space, first, second):
    assert not np.array_equal(np.asarray(first), np.asarray(second))
    for which, target in ((0, first), (1, second)):
        assert action_reward(space, target, which) == pytest.approx(1.0)
        assert action_hits(space, target, which)
        other = second if which == 0 else first
        assert action_reward(space, other, which) < 0
        assert not action_hits(space, other, which)


def test_spaces_the_probes_cannot_write_are_refused_with_the_reason():
    with pytest.raises(UnsupportedSpace, match="Text"):
        from rldebug.probes.spaces import check_observation_space

        check_observation_space(gym.spaces.Text(5), "your env")
    from rldebug.probes.spaces import check_action_space

    with pytest.raises(UnsupportedSpace, match="single action"):
        check_action_space(gym.spaces.Discrete(1), "your env")


@pytest.mark.parametrize("probe_name", ["constant", "observation", "delayed", "action",
                                        "observation_action"])
@pytest.mark.parametrize("family", ["box", "dict", "discrete"])
def test_single_agent_probe_envs_pass_gymnasiums_env_checker(probe_name, family):
    from gymnasium.utils.env_checker import check_env

    env = ProbeEnv({"probe": probe_name, "seed": 0,
                    "agents": {"default_agent": (SPACES[family], gym.spaces.Discrete(3))}})
    check_env(env, skip_render_check=True)


def test_probe_env_rewards_follow_the_probe_rules():
    obs_space, act_space = SPACES["box"], gym.spaces.Discrete(3)
    env = ProbeEnv({"probe": "delayed", "agents": {"a": (obs_space, act_space)}})
    obs, _ = env.reset(seed=0)
    assert np.array_equal(obs, observation(obs_space, 0))
    obs, reward, terminated, _, _ = env.step(0)
    assert (reward, terminated) == (0.0, False) and np.array_equal(obs,
                                                                    observation(obs_space, 1))
    _, reward, terminated, _, _ = env.step(0)
    assert (reward, terminated) == (1.0, True)

    env = ProbeEnv({"probe": "observation_action", "agents": {"a": (obs_space, act_space)}})
    for seed in range(6):
        obs, info = env.reset(seed=seed)
        state = info["probe_state"]
        assert np.array_equal(obs, observation(obs_space, state))
        assert env.step(target_action(act_space, state))[1] == 1.0
        env.reset(seed=seed)
        assert env.step(target_action(act_space, 1 - state))[1] == -1.0


def test_turns_probe_pays_an_agents_reward_while_only_the_other_agent_acts():
    space = (SPACES["discrete"], gym.spaces.Discrete(4))
    env = MultiAgentProbeEnv({"probe": "turns", "agents": {"white": space, "black": space}})
    obs, _ = env.reset(seed=0)
    assert list(obs) == ["white"] and obs["white"] == observation(space[0], 0)
    obs, rewards, terminateds, _, _ = env.step({"white": target_action(space[1], 0)})
    assert list(obs) == ["black"] and rewards == {"white": 1.0}
    assert obs["black"] == observation(space[0], 1)  # the second agent sees state 1
    assert not terminateds["__all__"]
    obs, rewards, terminateds, _, _ = env.step({"black": 0})
    assert set(obs) == {"white", "black"} and rewards == {"black": -1.0}
    assert terminateds["__all__"]


# --- bad input --------------------------------------------------------------------------

def test_probe_rejects_bad_input_with_the_fix():
    with pytest.raises(TypeError, match="AlgorithmConfig"):
        probe({"env": "CartPole-v1"})
    from ray.rllib.algorithms.ppo import PPOConfig

    with pytest.raises(ValueError, match="no env"):
        probe(PPOConfig())
    with pytest.raises(ValueError, match="Unknown probe"):
        probe(ppo(), only=["constnat"])
    with pytest.raises(TypeError, match="list of probe names"):
        probe(ppo(), only="constant")
    with pytest.raises(ValueError, match="multi-agent env"):
        probe(ppo(), only=["credit"])
    with pytest.raises(ValueError, match="max_iterations"):
        probe(ppo(), max_iterations=0)
    # one iteration can never pass (a check must hold twice in a row): it blamed the config
    with pytest.raises(ValueError, match=r"--max-iterations\) must be an int >= 2 \(a check "
                                         r"must hold for 2 iterations in a row to pass\), "
                                         r"got 1"):
        probe(ppo(), max_iterations=1)


class TextObservationEnv(gym.Env):
    observation_space = gym.spaces.Text(8)
    action_space = gym.spaces.Discrete(2)

    def __init__(self, config=None):
        pass


def test_probe_names_an_observation_space_it_cannot_write_in():
    from ray.rllib.algorithms.ppo import PPOConfig

    with pytest.raises(UnsupportedSpace, match="your env's observation space is Text"):
        probe(PPOConfig().environment(TextObservationEnv))


def test_cli_reports_unusable_input_with_exit_2(capsys, tmp_path):
    from rldebug.cli import main

    assert main(["probe", str(tmp_path / "missing.py:config")]) == 2
    assert "does not exist" in capsys.readouterr().err
    script = tmp_path / "configs.py"
    script.write_text("from probe_bugs import ppo\n\ndef config():\n    return ppo()\n")
    assert main(["probe", f"{script}:config", "--only", "nope"]) == 2
    assert "Unknown probe" in capsys.readouterr().err


# --- working configs pass ---------------------------------------------------------------

@pytest.mark.slow  # ~55 s; the default run's planted-bug tests pass PPO's other probes
def test_arena_config_passes_every_probe_and_the_mapping_is_recorded():
    report = rldebug.probe(rldebug.arena_ppo_config(seed=0))
    assert report.passed, str(report)
    statuses = _statuses(report)
    assert statuses["shared"] == "n/a"  # pol1 and pol2 serve one agent each
    assert all(statuses[name] == "pass" for name in PROBES if name != "shared")
    credit = report.result("credit")
    mapping = [m for m in credit.measurements if m.quantity.startswith("module")]
    assert {m.agent: m.module for m in mapping} == {"agent1": "pol1", "agent2": "pol2"}
    delayed = report.result("delayed").measurements
    assert any(m.quantity == "V(state 0)" and m.agent == "agent2" and m.ok for m in delayed)
    json.dumps(report.to_dict())  # the --json table is plain data


def test_the_cli_exits_0_when_every_probe_it_runs_passes(capsys, tmp_path):
    from rldebug.cli import main

    script = tmp_path / "configs.py"
    script.write_text("from probe_bugs import ppo\n\ndef config():\n    return ppo()\n")
    assert main(["probe", f"{script}:config", "--only", "constant", "--json"]) == 0
    table = json.loads(capsys.readouterr().out)
    assert table["passed"] is True and [p["probe"] for p in table["probes"]] == ["constant"]


@pytest.mark.slow
def test_default_ppo_passes_and_the_cli_exits_0(capsys, tmp_path):
    from rldebug.cli import main

    script = tmp_path / "configs.py"
    script.write_text("from ray.rllib.algorithms.ppo import PPOConfig\n\n"
                      "def config():\n    return PPOConfig().environment('CartPole-v1')\n")
    assert main(["probe", f"{script}:config", "--json"]) == 0
    table = json.loads(capsys.readouterr().out)
    assert table["passed"] is True and table["algorithm"] == "PPO"
    assert [p["status"] for p in table["probes"]] == ["pass"] * 5
    assert table["changes"]["train_batch_size_per_learner"] == ["4000", "256"]


@pytest.mark.slow
def test_default_dqn_passes_every_probe_with_q_values():
    from ray.rllib.algorithms.dqn import DQNConfig

    report = probe(DQNConfig().environment("CartPole-v1"))
    assert report.passed, str(report)
    assert report.family == "q_learning"
    assert "epsilon" in report.changes


@pytest.mark.slow
def test_default_sac_passes_every_probe_with_continuous_actions():
    from ray.rllib.algorithms.sac import SACConfig

    report = probe(SACConfig().environment("Pendulum-v1"))
    assert report.passed, str(report)
    assert report.family == "actor_critic"


@pytest.mark.parametrize("algo,env,only,family", [
    ("DQN", "CartPole-v1", "observation", "q_learning"),
    ("SAC", "Pendulum-v1", "constant", "actor_critic")])
def test_each_family_passes_a_probe_in_the_default_run(algo, env, only, family):
    """The default configs' full probe suites are slow tests; one probe each runs here."""
    from ray.rllib.algorithms.dqn import DQNConfig
    from ray.rllib.algorithms.sac import SACConfig

    config = {"DQN": DQNConfig, "SAC": SACConfig}[algo]().environment(env)
    report = probe(config, only=[only])
    assert report.passed, str(report)
    assert report.family == family and [r.name for r in report.results] == [only]


@pytest.mark.slow
def test_small_sac_learns_the_soft_value_of_the_delayed_reward():
    from ray.rllib.algorithms.sac import SACConfig
    from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig

    config = (SACConfig().environment("Pendulum-v1")
              .rl_module(model_config=DefaultModelConfig(fcnet_hiddens=[64, 64])))
    report = probe(config, only=["delayed"])
    assert report.passed, str(report)
    soft = [m for m in report.result("delayed").measurements if m.quantity == "V(state 0)"]
    # SAC's soft value: gamma * (Q + alpha * entropy) at state 1, not gamma alone
    assert float(soft[0].expected.split()[0]) != pytest.approx(0.99, abs=0.01)


@pytest.mark.parametrize("algo", [pytest.param("APPO", marks=pytest.mark.slow), "IMPALA"])
def test_vtrace_algorithms_pass_a_value_and_a_policy_probe(algo):
    from ray.rllib.algorithms.appo import APPOConfig
    from ray.rllib.algorithms.impala import IMPALAConfig

    config_class = {"APPO": APPOConfig, "IMPALA": IMPALAConfig}[algo]
    only = {"APPO": ["observation"], "IMPALA": ["observation_action"]}[algo]
    report = probe(config_class().environment("CartPole-v1"), only=only)
    assert report.passed, str(report)


class DictObservationEnv(gym.Env):
    """A user env with a Dict observation and continuous actions."""

    observation_space = gym.spaces.Dict({"pos": gym.spaces.Box(-1, 1, (2,), np.float32),
                                         "mode": gym.spaces.Discrete(3)})
    action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)

    def __init__(self, config=None):
        pass


def _flatten(env=None, spaces=None, device=None):
    from ray.rllib.connectors.env_to_module import FlattenObservations

    return FlattenObservations()


def test_dict_observations_and_box_actions_go_through_the_users_connector():
    config = ppo(DictObservationEnv).env_runners(env_to_module_connector=_flatten)
    report = probe(config, only=["observation_action"])
    assert report.passed, str(report)
    assert report.agents["default_agent"]["observation_space"].startswith("Dict")


def test_dict_observations_without_a_flattening_connector_are_an_error_naming_rllibs_message():
    report = probe(ppo(DictObservationEnv), only=["constant"])
    assert _statuses(report) == {"constant": "error"}
    assert "encoder" in report.result("constant").note
    assert not report.passed


# --- planted bugs are localised ---------------------------------------------------------

def test_gamma_zero_fails_the_delayed_reward_probe_only():
    report = probe(ppo(gamma=0.0), max_iterations=15)
    assert _statuses(report) == {"constant": "pass", "observation": "pass", "delayed": "fail",
                                 "action": "pass", "observation_action": "pass"}, str(report)
    gamma = [m for m in report.result("delayed").measurements if m.quantity == "gamma"]
    assert gamma[0].got == "0" and not gamma[0].ok
    assert "discounting" in " ".join(report.diagnosis())


def test_a_connector_that_zeroes_observations_fails_probes_2_and_5():
    report = probe(ppo_zeroed_observations(), max_iterations=3)
    assert _statuses(report) == {"constant": "pass", "observation": "fail", "delayed": "pass",
                                 "action": "pass", "observation_action": "fail"}, str(report)
    assert "connectors" in report.diagnosis()[0]
    said = " ".join(report.diagnosis())  # probes 1 and 4 passed: what that rules out
    assert "Probe 1 passing rules out the value loss" in said
    assert "Probe 4 passing rules out the policy gradient" in said


def test_a_detached_value_output_fails_the_value_probes():
    report = probe(ppo_detached_value(), max_iterations=3)
    assert _statuses(report) == {"constant": "fail", "observation": "fail", "delayed": "fail",
                                 "action": "pass", "observation_action": "pass"}, str(report)
    assert any("value function is not trained" in line for line in report.diagnosis())


def test_a_mapping_that_swaps_the_agents_between_episodes_fails_the_credit_probe():
    config = rldebug.arena_ppo_config(seed=0).multi_agent(policy_mapping_fn=swapping_mapping_fn)
    report = probe(config, only=["credit"], max_iterations=10)
    credit = report.result("credit")
    assert credit.status == "fail", str(report)
    mapping = {m.agent: m for m in credit.measurements if m.quantity.startswith("module")}
    assert not mapping["agent1"].ok and "pol1" in mapping["agent1"].got \
        and "pol2" in mapping["agent1"].got
    assert "mapping" in report.diagnosis()[0]
    # the modules it picks, asked as RLlib asks (with episodes), not one of them
    assert report.agents["agent1"]["module"] == ["pol1", "pol2"]
    # counted over the episodes RLlib sampled (one env step each), not explain's questions
    counted = int(re.search(r"of (\d+) episodes", mapping["agent1"].got).group(1))
    assert 0 < counted <= credit.env_steps, (counted, credit.env_steps)


def test_the_cli_exits_1_when_a_probe_fails(capsys, tmp_path):
    from rldebug.cli import main

    script = tmp_path / "configs.py"
    script.write_text("from probe_bugs import ppo_zeroed_observations as config\n")
    assert main(["probe", f"{script}:config", "--only", "observation",
                 "--max-iterations", "2"]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and "connectors" in out


# --- multi-agent setups other than the arena --------------------------------------------

@pytest.mark.slow
def test_turn_based_env_with_a_shared_module_passes_turns_and_shared():
    from setups import tic_tac_toe

    config = tic_tac_toe().multi_agent(policies={"both"},
                                       policy_mapping_fn=lambda aid, *a, **k: "both")
    report = probe(config, only=["shared", "turns", "credit"], max_iterations=20)
    statuses = _statuses(report)
    assert statuses == {"credit": "n/a", "shared": "pass", "turns": "pass"}, str(report)


@pytest.mark.slow
def test_an_old_stack_config_is_probed_through_its_policy():
    from setups import old_ppo_cartpole

    report = probe(old_ppo_cartpole(), only=["constant", "observation_action"])
    assert report.api_stack == "old" and report.passed, str(report)


# --- probes that cannot pass stop early and say why ---------------------------------------

@pytest.mark.parametrize("policies_to_train", [["p0", "p2"], only_p0],
                         ids=["list", "callable"])
def test_policies_to_train_is_read_as_rllibs_learner_reads_it(policies_to_train):
    from rldebug.probes.run import untrained_agents
    from rldebug.shapes.env_meta import module_is_trained

    assert module_is_trained(policies_to_train, "p0") is True
    assert module_is_trained(policies_to_train, "p1") is False
    assert module_is_trained(None, "p1") is True
    assert module_is_trained(p0_once_sampled, "p1") is None  # needs the batch: unknown
    assert set(untrained_agents(policies_to_train, {0: "p0", 1: "p1"})) == {1}


@pytest.mark.parametrize("policies_to_train", [
    ("p0",), pytest.param(only_p0, marks=pytest.mark.slow)],  # the callable: ~12 s more
    ids=["list", "callable"])
def test_a_module_left_out_of_policies_to_train_fails_its_agents_probes_at_once(
        policies_to_train):
    lines = []
    report = probe(ppo_module_left_out(policies_to_train), only=["constant", "credit"],
                   progress=lines.append)
    for result in report.results:
        assert result.status == "fail", str(report)
        assert "module 'p1' is never updated" in result.config_cause
        assert "agent 1 maps to it" in result.config_cause
        assert "policies_to_train" in result.config_cause
        # Agent 0 learned its checks; agent 1's failure is the config fact, not trained for.
        assert all(m.ok for m in result.measurements if m.agent == 0), str(report)
        assert [m.quantity for m in result.measurements if not m.ok] == [
            "module updated by the learner"]
        assert result.iterations < 10, str(report)  # stopped once agent 0 passed
    diagnosis = " ".join(report.diagnosis())
    assert "fail because of the config" in diagnosis and "value function" not in diagnosis
    assert lines and all(line.startswith("probe ") for line in lines)
    assert report.to_dict()["probes"][0]["localises"] is None


def test_a_modules_own_learning_rate_of_0_is_read_from_its_own_settings():
    """What the slow test below trains: the cause the probes give for p1, read from the
    config before any training (p0 keeps the config's lr)."""
    from ray.rllib.algorithms.ppo import PPOConfig

    from rldebug.probes.run import _learning_rate_zero

    config = ppo_module_left_out(policies_to_train=("p0", "p1")).rl_module(
        algorithm_config_overrides_per_module={"p1": PPOConfig.overrides(lr=0.0)})
    assert _learning_rate_zero(config, "p1") == (
        "lr=0 in its own settings (algorithm_config_overrides_per_module): the optimizer "
        "never moves its weights")
    assert _learning_rate_zero(config, "p0") == ""


@pytest.mark.slow  # ~12 s, two probe runs (the cause itself, read from the config: above)
def test_a_modules_own_learning_rate_of_0_fails_its_agents_probes_at_once():
    """An independent user's config: two modules, p1 given lr=0 in its own settings (a
    leftover of an experiment that froze it). Every probe trained to its limit and
    stalled, 188 s, and the report blamed the value head, the observations, discounting,
    the policy loss, the mapping and turn-taking, one sentence each."""
    from ray.rllib.algorithms.ppo import PPOConfig

    config = ppo_module_left_out(policies_to_train=("p0", "p1")).rl_module(
        algorithm_config_overrides_per_module={"p1": PPOConfig.overrides(lr=0.0)})
    report = probe(config, only=["constant"])
    constant = report.result("constant")
    assert constant.status == "fail", str(report)
    assert constant.config_cause == (
        "module 'p1' is never updated (lr=0 in its own settings "
        "(algorithm_config_overrides_per_module): the optimizer never moves its weights): "
        "it can never learn; agent 1 maps to it")
    assert all(m.ok for m in constant.measurements if m.agent == 0), str(report)
    (said,) = report.diagnosis()
    assert "Give the learning rate a value above 0 in the module's own settings " \
        "(algorithm_config_overrides_per_module)" in said and "value function" not in said
    # a module's own vf_loss_coeff=0 alike, for the value's probes
    config = ppo_module_left_out(policies_to_train=("p0", "p1")).rl_module(
        algorithm_config_overrides_per_module={"p1": PPOConfig.overrides(vf_loss_coeff=0.0)})
    (said,) = probe(config, only=["constant"]).diagnosis()
    assert "the value function of module 'p1' is never updated (vf_loss_coeff=0 in its own " \
        "settings" in said
    assert "Every other agent's checks hold. Give vf_loss_coeff a value above 0" in said


def test_a_probe_whose_every_agent_maps_to_an_untrained_module_is_not_trained():
    config = ppo_module_left_out().multi_agent(
        policy_mapping_fn=lambda aid, *args, **kwargs: "p1")
    report = probe(config, only=["action"])
    action = report.result("action")
    assert action.status == "fail" and action.iterations == 0
    assert "the probe was not trained" in action.note
    assert {m.agent for m in action.measurements} == {0, 1}


def test_a_module_that_gets_no_update_stops_its_probe_early():
    # policies_to_train reads the batch, so only training can tell that p1 is left out.
    report = probe(ppo_module_left_out(p0_once_sampled), only=["constant"])
    constant = report.result("constant")
    assert constant.status == "fail", str(report)
    assert "'p1' got no update from the learner" in constant.note
    assert constant.iterations <= 6, str(report)


def test_a_probe_whose_checks_stop_moving_stops_before_its_iteration_limit():
    report = probe(ppo_detached_value(), only=["constant"], max_iterations=40)
    constant = report.result("constant")
    assert constant.status == "fail", str(report)
    assert constant.note.startswith("stalled"), str(report)
    assert constant.iterations < 40


def test_the_time_budget_writes_the_report_with_the_rest_not_run():
    report = probe(ppo_detached_value(), only=["constant", "action"], budget_s=0.5)
    statuses = _statuses(report)
    assert statuses == {"constant": "stopped", "action": "not run"}, str(report)
    assert report.result("constant").measurements and not report.passed
    assert report.unfinished == ["constant", "action"] and report.failed == []
    assert "time budget" in str(report)


@pytest.mark.parametrize("budget", [0, -1.0, "60", True])
def test_a_bad_budget_is_refused(budget):
    with pytest.raises(ValueError, match="budget_s"):
        probe(ppo(), budget_s=budget)


def test_the_cli_prints_progress_on_stderr_and_honours_its_budget(capsys, tmp_path):
    from rldebug.cli import main

    script = tmp_path / "configs.py"
    script.write_text("from probe_bugs import ppo_detached_value as config\n")
    assert main(["probe", f"{script}:config", "--only", "constant,action",
                 "--budget", "0.5"]) == 1
    captured = capsys.readouterr()
    assert "probe constant: iteration 1/40" in captured.err
    assert "STOPPED" in captured.out and "NOT RUN" in captured.out
    assert main(["probe", f"{script}:config", "--budget", "-3"]) == 2
    assert "budget_s" in capsys.readouterr().err


class TwoDimensionalReach(gym.Env):
    """A user env with a 2-D Box(-2, 2) action (as the new user's who found the stall)."""

    observation_space = gym.spaces.Box(-1.0, 1.0, (3,), np.float32)
    action_space = gym.spaces.Box(-2.0, 2.0, (2,), np.float32)

    def __init__(self, config=None):
        pass


def test_a_continuous_action_that_starts_near_its_target_is_not_called_stalled():
    """RLlib's default PPO on a 2-D Box(-2, 2) action: its untrained greedy action held the
    check at iteration 1, overshot, and closed in again from iteration 5 (gaps measured
    in that run, below). Judged against that lucky start, it was 'stalled' at iteration
    11 and the config blamed; judged from the furthest it got, it passes."""
    from ray.rllib.algorithms.ppo import PPOConfig

    from rldebug.probes.run import STALL_ITERATIONS, _stalled

    measured = [0.0, 0.006, 0.047, 0.054, 0.059, 0.048, 0.044, 0.039, 0.032, 0.011, 0.015]
    assert not _stalled(measured, STALL_ITERATIONS)
    assert _stalled([0.05, 0.06, 0.05] + [0.05] * STALL_ITERATIONS, STALL_ITERATIONS)
    report = probe(PPOConfig().environment(TwoDimensionalReach), only=["action"])
    assert report.passed, str(report)


def test_dqn_with_n_step_is_probed_at_n_step_1_instead_of_waiting_forever(tmp_path):
    """n_step=3: RLlib's prioritized buffer samples a step only where 3 steps follow it,
    none does in a probe's one-step episodes, and sample() retried forever (at 100% CPU,
    past --budget). Run in a subprocess, so a regression fails instead of hanging."""
    import subprocess
    import sys

    (tmp_path / "cfg.py").write_text(
        "from ray.rllib.algorithms.dqn import DQNConfig\n\n\ndef make():\n"
        "    return DQNConfig().environment('CartPole-v1').training(n_step=3)\n")
    done = subprocess.run([sys.executable, "-m", "rldebug.cli", "probe",
                           f"{tmp_path / 'cfg.py'}:make", "--only", "constant", "--json"],
                          capture_output=True, text=True, timeout=300, check=False)
    report = json.loads(done.stdout)
    assert done.returncode == 0, done.stderr[-2000:]
    assert report["changes"]["n_step"] == ["3", "1"]  # as the JSON report spells them
    assert [p["status"] for p in report["probes"]] == ["pass"]


def test_a_learning_rate_the_config_does_not_train_with_is_not_called_zero():
    """lr=0 beside a module's own lr (or an old-stack lr_schedule) trains that module: it
    is not the config's "lr=0" failure; the modules without a rate of their own are."""
    from ray.rllib.algorithms.ppo import PPOConfig

    from rldebug.probes.run import _learning_rate_zero

    assert _learning_rate_zero(PPOConfig().training(lr=0.0)).startswith("lr=0")
    overridden = PPOConfig().training(lr=0.0).multi_agent(
        algorithm_config_overrides_per_module={"p0": PPOConfig.overrides(lr=1e-3)})
    assert _learning_rate_zero(overridden, "p0") == ""
    assert _learning_rate_zero(overridden, "p1") == \
        "lr=0: the optimizer never moves its weights"
    old = PPOConfig().api_stack(enable_rl_module_and_learner=False,
                                enable_env_runner_and_connector_v2=False)
    old.lr, old.lr_schedule = 0.0, [[0, 1e-3], [1000, 1e-4]]
    assert _learning_rate_zero(old) == ""


def test_sacs_critic_at_lr_0_is_named_as_its_policy_learns_only_from_it():
    """SAC's critic_lr=0 alone was not named (both rates had to be 0): the probes then
    trained to their limit and advised raising max_iterations."""
    from ray.rllib.algorithms.sac import SACConfig

    from rldebug.probes.run import _learning_rate_zero

    assert _learning_rate_zero(SACConfig().training(critic_lr=0.0)).startswith("critic_lr=0")
    assert _learning_rate_zero(SACConfig().training(actor_lr=0.0, critic_lr=0.0)) == \
        "actor_lr=0 and critic_lr=0: the optimizer never moves its weights"
    assert _learning_rate_zero(SACConfig().training(alpha_lr=0.0)) == ""  # a fixed alpha


def test_sacs_actor_at_lr_0_fails_the_policy_probes_at_once_and_trains_the_value_ones():
    """SAC's actor_lr=0 alone (its critic learns): rldebug check called it an error, while
    the probes trained the action probe to its limit and blamed the policy loss. The
    policy's probes now fail at once from the config, naming actor_lr; the value's train.
    (And critic_lr=0's fix said to add the module to policies_to_train.)"""
    from ray.rllib.algorithms.sac import SACConfig

    report = probe(SACConfig().environment("Pendulum-v1").training(actor_lr=0.0),
                   only=["constant", "action"], max_iterations=2)
    action = next(r for r in report.results if r.name == "action")
    constant = next(r for r in report.results if r.name == "constant")
    assert action.status == "fail" and action.iterations == 0
    assert "actor_lr=0" in action.config_cause and "the policy of module" in action.note
    assert constant.iterations > 0 and not constant.config_cause  # the critic learns
    said = " ".join(report.diagnosis())
    assert "Give actor_lr a value above 0." in said and "policies_to_train" not in said
    critic = probe(SACConfig().environment("Pendulum-v1").training(critic_lr=0.0),
                   only=["action"])
    said = " ".join(critic.diagnosis())
    assert "Give critic_lr a value above 0." in said and "policies_to_train" not in said


def test_a_learning_rate_of_zero_fails_every_probe_from_the_config():
    """DQN at lr=0 passed probes 1 and 4 at seed 0 (untrained weights met the checks by
    chance, and a check that holds from the start holds for ever) and the report blamed
    the observation pipeline."""
    from ray.rllib.algorithms.dqn import DQNConfig

    report = probe(DQNConfig().environment("CartPole-v1").training(lr=0.0))
    assert set(_statuses(report).values()) == {"fail"}
    assert report.family == "q_learning"  # from the config: no module was asked
    assert all(r.iterations == 0 for r in report.results)  # not trained: nothing can move
    said = " ".join(report.diagnosis())
    assert "lr=0: the optimizer never moves its weights" in said
    assert "Give the learning rate a value above 0." in said
    assert "policies_to_train" not in said and "connectors" not in said


def test_ppo_without_a_critic_is_not_probed_for_a_value_function():
    """use_critic=False (advantages are the returns) failed probes 1-3 and blamed
    "vf_loss_coeff = 0"."""
    report = probe(ppo(use_critic=False), only=["constant", "observation", "action"],
                   max_iterations=15)
    assert _statuses(report) == {"constant": "n/a", "observation": "n/a", "action": "pass"}, \
        str(report)
    assert "use_critic=False" in report.result("constant").note
    assert report.passed


def test_the_turns_probe_of_a_module_without_a_critic_is_not_applicable_either():
    """turns checks a value too: without a critic it failed and blamed rewards paid while
    an agent waits."""
    from setups import tic_tac_toe

    config = tic_tac_toe().training(use_critic=False)
    report = probe(config, only=["turns"], max_iterations=5)
    assert _statuses(report) == {"turns": "n/a"}, str(report)
    assert "use_critic=False" in report.result("turns").note


def test_a_sentence_that_needs_another_probe_to_pass_is_said_only_then():
    """"Probe 4 passing rules out the policy gradient" was printed when probe 4 failed;
    and probe 5 failing with it was read as "the policy ignores the observation" (an
    independent user's configs whose policy could learn no action at all). An entropy
    bonus that is not the cause is said not to be, trained again without it."""
    report = probe(ppo(lr=1e-12, entropy_coeff=0.01), only=["action", "observation_action"],
                   max_iterations=6)
    said = " ".join(report.diagnosis())
    assert _statuses(report) == {"action": "fail", "observation_action": "fail"}, str(report)
    assert "Probe 4 passing" not in said and "ignores the observation" not in said
    assert "probe 5 (observation- and action-dependent reward) fails too, which follows " \
        "from probe 4's failure" in said
    assert report.result("action").retried["status"] == "fail"
    assert "Trained again with entropy_coeff=0.0 it fails too: entropy_coeff is not the " \
        "cause." in said


def test_a_value_loss_without_weight_fails_the_value_probes_at_once_from_the_config():
    """An independent user's APPO at vf_loss_coeff=0: the value probes trained to a stall
    and the report listed the value head, detached outputs and critic learning rates. Read
    from the config now; the policy's probes still train."""
    report = probe(ppo(vf_loss_coeff=0.0), only=["constant", "delayed", "action"])
    constant, action = report.result("constant"), report.result("action")
    assert constant.status == "fail" and constant.iterations == 0, str(report)
    assert constant.config_cause == (
        "the value function of module 'default_policy' is never updated (vf_loss_coeff=0: "
        "the value loss has no weight in the total loss): it can never learn; agent "
        "default_agent maps to it")
    assert action.status == "pass" and action.iterations > 0, str(report)
    (said,) = report.diagnosis()  # not also "the value probes fail while the policy learns"
    assert "Give vf_loss_coeff a value above 0" in said


def test_an_entropy_bonus_that_keeps_the_policy_uniform_is_named_by_training_without_it():
    """An independent user's PPO at entropy_coeff=5 (4 actions): probe 4 stalled at
    p(target) = 0.34 and the report listed five possible causes. Trained again at 0 it
    passes: the bonus is named, with the measurement."""
    report = probe(ppo(FourActions, entropy_coeff=5.0), only=["action"])
    action = report.result("action")
    assert action.status == "fail", str(report)
    assert action.retried == {"setting": "entropy_coeff", "yours": "5.0", "tried": "0.0",
                              "status": "pass", "iterations": action.retried["iterations"],
                              "config": "PPOConfig", "default": "0.0"}
    (said,) = report.diagnosis()
    assert said.startswith("probe 4 (action-dependent reward) fails because of "
                           "entropy_coeff=5.0: trained again with entropy_coeff=0.0 it passes")
    assert "lower entropy_coeff (PPOConfig's default is 0.0)" in said
    assert "trained again with entropy_coeff=0.0: PASS" in str(report)


@pytest.mark.parametrize("stack", ["new", "old", "spec"])
def test_a_recurrent_model_is_refused_before_any_training(stack):
    """use_lstm trained each of the five probes once, then said "Explain a non-recurrent
    module" five times: the user ran probe, not explain."""
    import time

    from ray.rllib.core.rl_module.rl_module import RLModuleSpec

    config = ppo()
    if stack == "new":
        config = config.rl_module(model_config={"use_lstm": True})
    elif stack == "spec":  # set through an RLModuleSpec
        config = config.rl_module(rl_module_spec=RLModuleSpec(model_config={"use_lstm": True}))
    else:
        config = config.api_stack(enable_rl_module_and_learner=False,
                                  enable_env_runner_and_connector_v2=False) \
            .training(model={"use_lstm": True})
    started = time.perf_counter()
    with pytest.raises(ValueError, match=r"model is recurrent \(use_lstm=True\).*Probes do "
                                         r"not take recurrent models yet"):
        probe(config)
    assert time.perf_counter() - started < 5  # nothing was built


def test_an_action_space_the_probes_cannot_write_is_unusable_input(tmp_path, capsys):
    from rldebug.cli import main

    (tmp_path / "cfg.py").write_text(
        "import gymnasium as gym\nfrom ray.rllib.algorithms.ppo import PPOConfig\n\n\n"
        "class Env(gym.Env):\n"
        "    observation_space = gym.spaces.Box(-1, 1, (2,))\n"
        "    action_space = gym.spaces.MultiDiscrete([3, 2])\n\n"
        "    def __init__(self, config=None):\n        super().__init__()\n\n\n"
        "def make():\n    return PPOConfig().environment(Env)\n")
    assert main(["probe", f"{tmp_path / 'cfg.py'}:make"]) == 2  # was 1, as a failed run
    assert "rldebug probe: error:" in capsys.readouterr().err


def test_a_wrapped_env_is_probed_in_the_spaces_its_wrappers_give_rllib():
    """A Dict env inside gymnasium's FlattenObservation trains under RLlib (its module
    sees a Box), but the probes read the inner env's Dict space and failed every probe
    with RLlib's "No default encoder config for obs space=Dict"; a discretising
    ActionWrapper was probed with a Box policy."""
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.tune.registry import register_env

    class Discretised(gym.ActionWrapper):
        def __init__(self, env):
            super().__init__(env)
            self.action_space = gym.spaces.Discrete(5)

        def action(self, action):
            return np.array([-2.0 + action], np.float32)

    register_env("rldebug_test_flat_dict",
                 lambda cfg: gym.wrappers.FlattenObservation(_DictEnv()))
    register_env("rldebug_test_discretised", lambda cfg: Discretised(gym.make("Pendulum-v1")))
    flat = probe(PPOConfig().environment("rldebug_test_flat_dict"), only=["constant"])
    assert _statuses(flat) == {"constant": "pass"}, str(flat)
    assert flat.agents["default_agent"]["observation_space"].startswith("Box(")
    discrete = probe(PPOConfig().environment("rldebug_test_discretised"), only=["action"])
    assert discrete.agents["default_agent"]["action_space"] == "Discrete(5)"
    assert _statuses(discrete) == {"action": "pass"}, str(discrete)


class _DictEnv(gym.Env):
    observation_space = gym.spaces.Dict({"pos": gym.spaces.Box(0, 1, (2,), np.float32),
                                         "cell": gym.spaces.Discrete(4)})
    action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        return self.observation_space.sample(), {}

    def step(self, action):
        return self.observation_space.sample(), 0.0, True, False, {}


@pytest.mark.slow  # ~10 s of training
def test_a_healthy_config_with_actions_from_1_passes_the_action_probe():
    """RLlib sends the index 0..n-1 whatever the start; the probe env rewarded the value,
    failed a policy that learned the rewarded index, and blamed the policy gradient."""
    from preflight_configs import offset_discrete

    config, _ = offset_discrete()
    report = probe(config, only=["action"], max_iterations=8)
    assert _statuses(report) == {"action": "pass"}, str(report)


def test_actions_that_never_reach_the_env_near_the_target_are_named_with_their_range():
    """A connector clipping a [0, 10] action to [-1, 1] failed probe 4 with the probe's
    general list of suspects (an independent user's config): the env's side of it, the
    range of actions it received, is measured and said."""
    from probe_bugs import TenWideActions, ppo_actions_clipped_to_unit_range

    report = probe(ppo_actions_clipped_to_unit_range(), only=["action"], max_iterations=4)
    result = report.result("action")
    assert result.status == "fail", str(report)
    assert re.search(r"never received an action near the rewarded action ≈ \[7\.5\]: every "
                     r"action it got lay between \[-1\] and \[1\]", result.unreached), \
        result.unreached
    assert result.unreached in report.diagnosis()[0]
    assert "module-to-env connector" in report.diagnosis()[0]
    assert json.loads(json.dumps(report.to_dict()))["probes"][0]["unreached"]
    # The same env and module without the clip, failing for another reason (a learning
    # rate too small to move it in 2 iterations): its env got the whole range.
    slow = probe(ppo(TenWideActions, lr=1e-7), only=["action"], max_iterations=2)
    assert slow.result("action").status == "fail", str(slow)
    assert not slow.result("action").unreached, str(slow)
