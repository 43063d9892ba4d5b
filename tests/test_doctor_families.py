"""The doctor's rules for every family and the reward, on synthetic streams with 2.60's keys.

Each rule is also scored on real runs in test_doctor_corpus.py; these pin the
edges (what fires, what must not, severities, explained_by).
"""

import pytest
from doctor_streams import BUILDERS, new_result

from rldebug.doctor import diagnose
from rldebug.doctor.causes import explain
from rldebug.doctor.families import family_from_config
from rldebug.doctor.findings import Finding


def run(stream, config=None):
    return diagnose(stream, config=config).findings


def rules(findings):
    return {f.rule_id for f in findings}


def flat_returns(n=25, level=22.0):
    return [level + (i % 3) - 1 for i in range(n)]


def stream(per_iteration, returns, stack="new", len_range=(10.0, 22.0, 60.0)):
    build = BUILDERS[stack]
    return [build(i, {"default_policy": stats}, {"default_policy": returns[i - 1]}, len_range)
            for i, stats in enumerate(per_iteration, 1)]


@pytest.mark.parametrize("stack", ["new", "old"])
def test_policy_stays_random_names_a_high_entropy_coeff(stack):
    stats = [{"entropy": 0.693, "kl": 1e-4, "entropy_coeff": 1.0}] * 25
    findings = [f for f in run(stream(stats, flat_returns(), stack))
                if f.rule_id == "policy_stays_random"]
    assert [(f.severity, f.began_at_iteration) for f in findings] == [("error", 1)]
    assert "entropy_coeff" in findings[0].fix and findings[0].evidence["entropy_coeff"] == 1.0
    assert "updates_too_small" not in rules(run(stream(stats, flat_returns(), stack)))
    # the message counts what the evidence counts: the whole run so far, not the first
    # 10 iterations it was found in
    assert findings[0].evidence["iterations"] == 25
    assert "in 25 of 25 iterations" in findings[0].message


def test_a_kl_blowup_under_a_huge_entropy_coeff_is_the_coefficients_doing():
    # PPO Pendulum at entropy_coeff=1: the Gaussian's std grows with every update, so the
    # KL is far above target from iteration 1; lowering lr would not help
    stats = [{"entropy": 1.4 + 0.1 * i, "kl": 5.0, "entropy_coeff": 1.0} for i in range(25)]
    diagnosis = diagnose(stream(stats, flat_returns()))
    trial = diagnosis.trials[0]
    assert [(f.rule_id, f.severity) for f in trial.causes] == [("policy_stays_random", "error")]
    assert {f.explained_by for f in trial.findings if f.rule_id == "kl_blowup"} == \
        {"policy_stays_random"}
    # the same KL without the coefficient stays its own root cause
    plain = [{**s, "entropy_coeff": 0.0} for s in stats]
    assert "kl_blowup" in [f.rule_id for f in diagnose(stream(plain, flat_returns()))
                           .trials[0].causes]


def test_an_agent_kept_random_earns_no_positive_reward_because_of_it():
    # the arena at entropy_coeff=1: agent2 never returns more than 0 while agent1 is paid
    stats = {"entropy": 1.6, "kl": 1e-4, "entropy_coeff": 1.0}
    results = [new_result(i, {"pol1": stats, "pol2": stats},
                          {"pol1": 3.0 + (i % 3), "pol2": -8.0 - (i % 2)})
               for i in range(1, 26)]
    trial = diagnose(results).trials[0]
    never = [f for f in trial.findings if f.rule_id == "reward_never_positive"]
    assert [(f.module, f.explained_by) for f in never] == [("agent2", "policy_stays_random")]
    assert {(f.rule_id, f.module) for f in trial.causes} == {
        ("policy_stays_random", "pol1"), ("policy_stays_random", "pol2")}


def test_a_learning_policy_with_high_entropy_is_not_random():
    stats = [{"entropy": 0.69}] * 25
    rising = [20.0 + 5 * i for i in range(25)]
    assert "policy_stays_random" not in rules(run(stream(stats, rising)))


def test_updates_too_small_from_the_kl_and_it_explains_the_flat_return():
    stats = [{"entropy": 0.693, "kl": 1e-11, "lr": 1e-7}] * 25
    findings = run(stream(stats, flat_returns()))
    tiny = [f for f in findings if f.rule_id == "updates_too_small"]
    assert [f.severity for f in tiny] == ["error"] and tiny[0].evidence["lr"] == 1e-7
    assert "Raise lr" in tiny[0].fix
    explained = {f.rule_id: f.explained_by for f in findings}
    assert explained["updates_too_small"] is None
    assert explained["policy_stays_random"] == "updates_too_small"
    assert explained["return_not_improving"] == "updates_too_small"


def test_tiny_updates_with_a_tiny_grad_clip_blame_the_lr_not_the_clip():
    # Adam rescales a clipped gradient back to steps of ~lr (measured on the benchmark:
    # tests/test_doctor_faults.py), so a tiny grad_clip is named only as not the step's cause
    stats = [{"entropy": 0.693, "kl": 1e-11, "lr": 1e-7}] * 25
    (tiny,) = [f for f in run(stream(stats, flat_returns()), config={"grad_clip": 1e-4})
               if f.rule_id == "updates_too_small"]
    assert tiny.evidence["grad_clip"] == 1e-4
    assert "grad_clip=0.0001 does not shrink the steps" in tiny.message
    assert "Raise lr" in tiny.fix and "grad_clip" not in tiny.fix


def test_updates_too_small_from_the_lr_where_no_kl_is_logged():
    stats = [{"raw": {"qf_loss": 0.1, "td_error_mean": 0.1, "qf_mean": 1.0, "qf_max": 2.0},
              "lr": 1e-8, "kl": None}] * 25
    assert "updates_too_small" in rules(run(stream(stats, flat_returns())))


def test_updates_too_small_from_an_lr_far_below_the_familys_default():
    # APPO logs KL 0.0 without use_kl_loss; an lr 100x below its default 5e-4, a flat
    # return, and an entropy that wobbles with the data (so "entropy still" cannot tell)
    stats = [{"raw": {"mean_IS": 1.0}, "lr": 5e-6, "kl": 0.0,
              "entropy": 0.674 * (1 + 0.005 * (-1) ** i)} for i in range(25)]
    findings = run(stream(stats, flat_returns()))
    small = [f for f in findings if f.rule_id == "updates_too_small"]
    assert small and "over 50x below RLlib's default 0.0005 for APPO" in small[0].message
    # the same lr is PPO's default/10: not tiny for PPO (no KL logged, entropy moving)
    ppo = [{"lr": 5e-6, "kl": None, "entropy": 0.674 * (1 + 0.005 * (-1) ** i)}
           for i in range(25)]
    assert "updates_too_small" not in rules(run(stream(ppo, flat_returns())))


def test_the_default_learning_rates_are_rllibs():
    from ray.rllib.algorithms.appo import APPOConfig
    from ray.rllib.algorithms.dqn import DQNConfig
    from ray.rllib.algorithms.impala import IMPALAConfig
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.algorithms.sac import SACConfig

    from rldebug.doctor.families import DEFAULT_LR

    configs = {"ppo": PPOConfig(), "appo": APPOConfig(), "impala": IMPALAConfig(),
               "dqn": DQNConfig(), "sac": SACConfig()}
    assert DEFAULT_LR == {family: c.lr if c.lr is not None else c.actor_lr
                          for family, c in configs.items()}


def dqn_stats(q, td=1.0, lr=1.0):
    return {"raw": {"qf_loss": td, "td_error_mean": td, "qf_mean": q, "qf_max": q,
                    "qf_min": q / 2}, "lr": lr}


def test_a_q_network_that_gives_one_value_for_everything_took_steps_far_too_large():
    # SAC Pendulum at 100x its learning rates (tests/doctor_faults, lr_x100): from
    # iteration 4 every Q-value of every batch is the same number, drifting down
    raw = [{"raw": {"qf_loss": 0.5, "td_error_mean": 3.9, "qf_mean": q, "qf_max": q + spread,
                    "qf_min": q, "alpha_value": 0.5}, "lr": 0.02}
           for q, spread in [(0.04, 0.05), (-5.0, 0.4), (-12.0, 0.01)]
           + [(-21.0 - 3 * i, 0.0) for i in range(12)]]
    trial = diagnose(stream(raw, flat_returns(15, -1260.0))).trials[0]
    [collapsed] = [f for f in trial.findings if f.rule_id == "q_values_collapsed"]
    assert collapsed.began_at_iteration == 4 and collapsed.explained_by == "lr_too_high"
    [cause] = trial.causes[:1]
    assert cause.rule_id == "lr_too_high" and "collapsed to one value" in cause.message
    assert "critic_lr" in cause.fix  # SAC's knobs
    # a critic whose Q-values spread is no collapse, however small the spread
    spread = [{"raw": {**r["raw"], "qf_max": r["raw"]["qf_mean"] + 0.01}} for r in raw]
    assert "q_values_collapsed" not in rules(run(stream(spread, flat_returns(15, -1260.0))))


def test_q_values_diverging_and_the_fix_never_says_raise_lr():
    qs = [5.0, 8.0, 400.0, 5e4, 1e7, 1e9] + [1e9] * 19
    findings = run(stream([dqn_stats(q) for q in qs], flat_returns()))
    q = [f for f in findings if f.rule_id == "q_values_diverging"]
    assert [(f.severity, f.began_at_iteration) for f in q] == [("error", 3)]
    assert "Lower lr" in q[0].fix and "DQN" in q[0].fix
    # the returns seen, not the range Q is held to, which includes 0
    assert "episode returns ranged 16..28" in q[0].message, q[0].message  # min/max spread
    for finding in findings:
        assert "higher lr" not in finding.fix and "Raise lr" not in finding.fix


def test_q_values_within_the_return_scale_are_fine():
    returns = [20.0 + 8 * i for i in range(25)]
    findings = run(stream([dqn_stats(min(100.0, 10.0 + 4 * i), lr=5e-4) for i in range(25)],
                          returns))
    assert "q_values_diverging" not in rules(findings)


def test_non_finite_q_is_divergence_with_a_dqn_fix():
    findings = run(stream([dqn_stats(5.0), dqn_stats(float("nan"))], [20.0, 20.0]))
    assert {"q_values_diverging", "non_finite"} <= rules(findings)
    nan = next(f for f in findings if f.rule_id == "non_finite")
    assert "td_error_loss_fn='huber'" in nan.fix and nan.explained_by == "q_values_diverging"


def test_sac_alpha_explodes():
    alphas = [1.0, 1.3, 2.0, 4.0, 9.0, 15.0, 30.0]
    findings = run(stream([{"raw": {"alpha_value": a, "qf_loss": 1.0}} for a in alphas],
                          [-1200.0] * 7))
    alpha = [f for f in findings if f.rule_id == "alpha_runaway"]
    assert [(f.severity, f.began_at_iteration) for f in alpha] == [("error", 2)]
    assert "target_entropy" in alpha[0].fix


def test_sac_alpha_rising_towards_an_unreachable_target_entropy():
    alphas = [1.0 + 0.08 * i for i in range(8)]
    raw = [{"raw": {"alpha_value": a, "qf_loss": 1.0, "logps": -0.68, "target_entropy": 5.0}}
           for a in alphas]
    alpha = [f for f in run(stream(raw, [-1200.0] * 8)) if f.rule_id == "alpha_runaway"]
    assert [(f.severity, f.began_at_iteration) for f in alpha] == [("error", 2)]
    assert alpha[0].evidence["target_entropy"] == 5.0
    raw = [{"raw": {**r["raw"], "target_entropy": -1.0}} for r in raw]
    assert "alpha_runaway" not in rules(run(stream(raw, [-1200.0] * 8)))


def test_sac_alpha_rising_under_a_reachable_target_is_a_collapse_not_a_runaway():
    """A user's SAC at lr x100 (tests/doctor_user_runs7): the policy's entropy fell to
    -20.5 under target_entropy -2, and alpha rose 1.28x answering it; "the target entropy
    is out of reach" was said. Every squashed policy can reach a target <= 0."""
    def raw(target, alphas):
        return [{"raw": {"alpha_value": a, "qf_loss": 1.0, "logps": 20.5,
                         "target_entropy": target}} for a in alphas]

    slow = [1.0 + 0.08 * i for i in range(8)]  # 1.56x at most
    assert "alpha_runaway" not in rules(run(stream(raw(-2.0, slow), [-1200.0] * 8)))
    assert "alpha_runaway" in rules(run(stream(raw(5.0, slow), [-1200.0] * 8)))
    tenfold = [1.0, 1.5, 2.5, 4.0, 7.0, 12.0]
    (alpha,) = [f for f in run(stream(raw(-2.0, tenfold), [-1200.0] * 6))
                if f.rule_id == "alpha_runaway"]
    assert "out of reach" not in alpha.message and "collapsed" in alpha.message
    assert "actor_lr" in alpha.fix


def test_sac_alpha_settling_is_fine():
    alphas = [1.0, 0.5, 0.2, 0.1, 0.08, 0.07, 0.07]
    findings = run(stream([{"raw": {"alpha_value": a, "qf_loss": 1.0}} for a in alphas],
                          [-1200.0 + 50 * i for i in range(7)]))
    assert "alpha_runaway" not in rules(findings)


def test_sac_alpha_rising_back_after_it_fell_is_the_temperature_at_work():
    # healthy SAC Pendulum (tests/doctor_faults, seed 0): alpha falls from 1 while the
    # policy is random, and rises back once its entropy drops below target_entropy
    alphas = [1.0, 0.754, 0.538, 0.384, 0.274, 0.198, 0.15, 0.12, 0.104, 0.098, 0.095,
              0.096, 0.098, 0.1, 0.103, 0.106, 0.11, 0.114, 0.117, 0.121]
    raw = [{"raw": {"alpha_value": a, "qf_loss": 1.0, "logps": 1.13, "target_entropy": -1.0}}
           for a in alphas]
    returns = [-1200.0 + 50 * i for i in range(len(alphas))]
    assert "alpha_runaway" not in rules(run(stream(raw, returns)))


def test_appo_importance_ratio_far_from_one():
    ratios = [1.0, 1.1, 4.0, 6.0, 9.0]
    findings = run(stream([{"raw": {"mean_IS": r, "var_IS": r}} for r in ratios], [20.0] * 5))
    drift = [f for f in findings if f.rule_id == "off_policy_drift"]
    assert [(f.severity, f.began_at_iteration) for f in drift] == [("warning", 3)]


def test_reward_constant_zero_although_lengths_vary():
    results = [new_result(i, {"default_policy": {}}, {"default_policy": 0.0}) for i in
               range(1, 12)]
    for result in results:  # every episode returned 0
        result["env_runners"].update(episode_return_min=0.0, episode_return_max=0.0)
    findings = run(results)
    constant = [f for f in findings if f.rule_id == "reward_constant"]
    assert [(f.severity, f.began_at_iteration) for f in constant] == [("error", 1)]
    assert "although episodes lasted 40 to 80" in constant[0].message


def test_reward_scale_large_explains_the_clipped_critic():
    stats = [{"vf_loss": 10.0, "vf_loss_unclipped": 1e8}] * 5
    findings = run(stream(stats, [22000.0] * 5))
    scale = [f for f in findings if f.rule_id == "reward_scale"]
    assert [(f.severity, f.began_at_iteration) for f in scale] == [("warning", 1)]
    assert scale[0].evidence["reward_per_step"] == pytest.approx(1000.0)
    clipped = next(f for f in findings if f.rule_id == "critic_clipped")
    assert clipped.explained_by == "reward_scale"


def test_nan_return_is_named_as_a_reward_problem_and_explains_the_nan_losses():
    results = [new_result(i, {"default_policy": {"total_loss": float("nan")} if i > 1 else {}},
                          {"default_policy": float("nan") if i > 1 else 20.0})
               for i in (1, 2)]
    findings = run(results)
    reward = next(f for f in findings if f.rule_id == "non_finite_reward")
    assert reward.began_at_iteration == 2 and reward.explained_by is None
    assert next(f for f in findings if f.rule_id == "non_finite").explained_by == \
        "non_finite_reward"


def test_a_nan_reward_of_one_agent_of_several_names_that_agent():
    # agent2's return is NaN, agent1's finite: the finding concerns agent2 (its rewards),
    # still explaining every module's NaN losses (one NaN reward poisons a shared batch)
    nan = float("nan")
    one = [new_result(1, {"pol1": {}, "pol2": {}}, {"pol1": 3.0, "pol2": 2.0}),
           new_result(2, {"pol1": {"total_loss": nan}, "pol2": {"total_loss": nan}},
                      {"pol1": 3.0, "pol2": nan})]
    findings = run(one)
    reward = next(f for f in findings if f.rule_id == "non_finite_reward")
    assert reward.module == "agent2"
    assert {f.explained_by for f in findings if f.rule_id == "non_finite"} == \
        {"non_finite_reward"}
    both = [one[0], new_result(2, {"pol1": {}, "pol2": {}}, {"pol1": nan, "pol2": nan})]
    assert next(f for f in run(both) if f.rule_id == "non_finite_reward").module is None


def test_the_env_checks_nan_rewards_of_one_agent_name_it_until_another_has_some():
    def counted(iteration, by_agent):
        result = new_result(iteration, {"pol1": {}, "pol2": {}}, {"pol1": 3.0, "pol2": 2.0})
        result["env_runners"]["rldebug_env_check"] = {"finite_rewards": by_agent}
        return result

    first = [counted(1, {}), counted(2, {"agent2": 3.0})]
    reward = next(f for f in run(first) if f.rule_id == "non_finite_reward")
    assert reward.module == "agent2" and reward.evidence["by_agent"] == {"agent2": 3.0}
    later = run(first + [counted(3, {"agent1": 1.0})])
    reward = next(f for f in later if f.rule_id == "non_finite_reward")
    assert reward.module is None and reward.evidence["non_finite_reward_steps"] == 4.0
    single = next(f for f in run([counted(1, {"default_agent": 2.0})])
                  if f.rule_id == "non_finite_reward")
    assert single.module is None


def test_a_nan_return_after_the_network_diverged_is_not_blamed_on_the_env():
    # A diverged actor: its outputs (entropy) are NaN at iteration 2; the NaN actions it
    # then samples make a physics env's reward NaN at iteration 3. The env is no cause.
    nan = float("nan")
    results = [new_result(1, {"default_policy": {"kl": 50.0}}, {"default_policy": -900.0}),
               new_result(2, {"default_policy": {"entropy": nan, "kl": nan,
                                                 "total_loss": nan}},
                          {"default_policy": -950.0}),
               new_result(3, {"default_policy": {"entropy": nan, "total_loss": nan}},
                          {"default_policy": nan})]
    diagnosis = diagnose(results)
    assert not [f for f in diagnosis.findings if f.rule_id == "non_finite_reward"]
    causes = [f.rule_id for f in diagnosis.trials[0].causes]
    assert causes[0] in ("lr_too_high", "kl_blowup", "non_finite"), causes
    non_finite = next(f for f in diagnosis.findings if f.rule_id == "non_finite")
    assert non_finite.began_at_iteration == 2


def test_explained_by_needs_the_same_module():
    cause = Finding("lr_too_high", "error", "m", "f", 1, module="pol1")
    same = Finding("kl_blowup", "error", "m", "f", 1, module="pol1")
    other = Finding("kl_blowup", "error", "m", "f", 1, module="pol2")
    explain([cause, same, other])
    assert (same.explained_by, other.explained_by, cause.explained_by) == \
        ("lr_too_high", None, None)
    assert same.to_dict()["explained_by"] == "lr_too_high"


def test_a_clip_cut_by_rewards_in_the_thousands_is_the_reward_scales_symptom():
    """Rewards that large make every gradient large, so a sensible grad_clip (RLlib's 40)
    cuts every one: the fix is the reward scale, and the report leads with it. Rewards
    too small do not explain it (scaling them up would cut the gradients more)."""
    large = Finding("reward_scale", "warning", "m", "f", 1,
                    evidence={"reward_per_step": 1000.0, "limit": 100.0})
    clip = Finding("grad_clip_too_small", "warning", "m", "f", 1, module="default_policy")
    explain([large, clip])
    assert (clip.explained_by, large.explained_by) == ("reward_scale", None)
    small = Finding("reward_scale", "warning", "m", "f", 1,
                    evidence={"reward_per_step": 1e-4, "limit": 1e-3})
    explain([small, clip])
    assert clip.explained_by is None


def test_a_module_fed_by_an_unstable_mapping_that_stays_random_is_the_mappings_symptom():
    mapping = Finding("mapping_unstable", "warning", "m", "f", 5)
    random = Finding("policy_stays_random", "warning", "m", "f", 1, module="pol1")
    explain([mapping, random])
    assert random.explained_by == "mapping_unstable"


def test_a_stall_in_an_iteration_where_a_runner_failed_is_the_failures():
    """RLlib waits for a failed EnvRunner and restarts it inside the iteration: a stall
    there is explained by the crash; a stall in another iteration is a hang of its own."""
    crash = Finding("sampler_crashed", "error", "m", "f", 2,
                    evidence={"again_at_iterations": [6]})
    failed = Finding("runners_failed", "warning", "m", "f", 2,
                     evidence={"iterations": [2, 3], "restarted_by_iteration": 4})
    stalls = {at: Finding("stalled_iteration", "warning", "m", "f", at) for at in (2, 4, 6, 9)}
    explain([crash, failed, *stalls.values()])
    assert {at: f.explained_by for at, f in stalls.items()} == {
        2: "sampler_crashed", 4: "sampler_crashed", 6: "sampler_crashed", 9: None}
    explain([failed, *stalls.values()])  # untraced: no crash record, the results' failure
    assert {at: f.explained_by for at, f in stalls.items()} == {
        2: "runners_failed", 4: "runners_failed", 6: None, 9: None}


@pytest.mark.parametrize(("config", "family"), [
    ({"kl_target": 0.01, "vf_clip_param": 10.0}, "ppo"),
    ({"vtrace": True, "use_kl_loss": False}, "appo"),
    ({"vtrace": True}, "impala"),
    ({"double_q": True, "dueling": True}, "dqn"),
    ({"initial_alpha": 1.0, "target_entropy": "auto"}, "sac"),
    ({}, None),
])
def test_family_from_config(config, family):
    assert family_from_config(config) == family


def test_family_from_real_config_dicts():
    from ray.rllib.algorithms.appo import APPOConfig
    from ray.rllib.algorithms.dqn import DQNConfig
    from ray.rllib.algorithms.impala import IMPALAConfig
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.algorithms.sac import SACConfig

    assert [family_from_config(c().to_dict()) for c in
            (PPOConfig, APPOConfig, IMPALAConfig, DQNConfig, SACConfig)] == \
        ["ppo", "appo", "impala", "dqn", "sac"]


def test_sgd_steps_per_batch_read_from_real_config_dicts():
    """params.json holds ``to_dict()``: the per-Learner batch is written as
    ``_train_batch_size_per_learner`` beside RLlib's unused ``train_batch_size=4000``;
    without it the batch is ``train_batch_size`` over the Learners (new stack), or whole
    (old stack). 1000-step batches, 250-step minibatches, 4 epochs: 16 SGD steps."""
    from ray.rllib.algorithms.ppo import PPOConfig

    from rldebug.doctor.facts import RunFacts

    def steps(config):
        return RunFacts.from_config(config.to_dict()).sgd_steps

    per_learner = PPOConfig().training(train_batch_size_per_learner=1000, minibatch_size=250,
                                       num_epochs=4)
    assert per_learner.to_dict()["train_batch_size"] == 4000  # what was read before
    assert steps(per_learner) == 16
    split = PPOConfig().training(train_batch_size=2000, minibatch_size=250,
                                 num_epochs=4).learners(num_learners=2)
    assert steps(split) == 16
    old = PPOConfig().api_stack(enable_rl_module_and_learner=False,
                                enable_env_runner_and_connector_v2=False).training(
        train_batch_size=1000, minibatch_size=250, num_epochs=4)
    assert steps(old) == 16


def test_a_slow_start_that_learns_later_is_resolved_to_info():
    stats = [{"entropy": 0.69, "kl": 1e-3}] * 35
    returns = flat_returns(25) + [40.0 + 15 * i for i in range(10)]
    found = [f for f in run(stream(stats, returns)) if f.rule_id == "policy_stays_random"]
    assert [f.severity for f in found] == ["info"]
    assert found[0].evidence["resolved_at_iteration"] > 20
    assert "started learning later" in found[0].message


def test_dropped_env_runner_responses_are_named_with_their_iterations():
    rows = stream([{"total_loss": 1.0}] * 12, [20.0 + i for i in range(12)])
    for row, dropped in zip(rows, [0, 0, 0, 2, 2, 2, 3, 3, 3, 3, 3, 3]):
        row["fault_tolerance"] = {"num_healthy_workers": 2, "num_remote_worker_restarts": 0,
                                  "num_env_runners_dropped_lifetime": dropped}
    found = [f for f in run(rows, config={"sample_timeout_s": 2.0})
             if f.rule_id == "runners_dropped"]
    assert len(found) == 1 and found[0].severity == "warning"
    assert found[0].began_at_iteration == 4
    assert found[0].evidence["iterations"] == [4, 7] and found[0].evidence["dropped"] == 3
    assert "sample_timeout_s=2 s" in found[0].message


def test_a_failed_runner_is_named_and_its_lost_response_is_not_a_timeout():
    """RLlib counts a failed EnvRunner's missing response among the dropped ones; the
    healthy count and restarts say it failed."""
    rows = stream([{"total_loss": 1.0}] * 8, [20.0 + i for i in range(8)])
    for row, healthy, restarts, dropped in zip(rows, [2, 1, 1, 1, 2, 2, 2, 2],
                                               [0, 0, 0, 0, 1, 1, 1, 1],
                                               [0, 1, 1, 1, 1, 1, 1, 1]):
        row["fault_tolerance"] = {"num_healthy_workers": healthy,
                                  "num_remote_worker_restarts": restarts,
                                  "num_env_runners_dropped_lifetime": dropped}
    found = run(rows, config={"num_env_runners": 2, "sample_timeout_s": 60.0})
    assert "runners_dropped" not in rules(found)
    failed = [f for f in found if f.rule_id == "runners_failed"]
    assert len(failed) == 1 and failed[0].severity == "warning"
    assert failed[0].evidence["iterations"] == [2, 3, 4]
    assert failed[0].evidence["restarts"] == 1
    assert failed[0].evidence["restarted_by_iteration"] == 5
    assert "restarted EnvRunners 1 time(s) (by iteration 5)" in failed[0].message


def test_no_dropped_responses_no_finding():
    rows = stream([{"total_loss": 1.0}] * 12, [20.0 + i for i in range(12)])
    for row in rows:
        row["fault_tolerance"] = {"num_env_runners_dropped_lifetime": 0}
    assert "runners_dropped" not in rules(run(rows))


def test_a_finding_is_handed_up_only_to_its_own_modules_cause():
    """Two modules with clipped critics: pol1's clip error sits under pol1's entropy bonus
    (policy kept random), pol2's clip is a note that explains pol2's dead critic. pol2's
    warning stays under pol2's clip, not handed up to pol1's cause (where no report would
    list it)."""
    random1 = Finding("policy_stays_random", "error", "m", "f", 1, module="pol1")
    clip1 = Finding("critic_clipped", "error", "m", "f", 1, module="pol1")
    clip2 = Finding("critic_clipped", "info", "m", "f", 1, module="pol2",
                    evidence={"resolved_at_iteration": 12})
    dead2 = Finding("value_not_learning", "warning", "m", "f", 5, module="pol2")
    explain([random1, clip1, clip2, dead2])
    assert clip1.explained_by == "policy_stays_random" and random1.explained_by is None
    assert (clip2.explained_by, dead2.explained_by) == (None, "critic_clipped")


def test_no_finding_is_explained_by_itself():
    """Every pair of rules, each at error for one module: no finding ends up its own
    cause (a cycle would drop both from the report's root causes)."""
    from rldebug.doctor.causes import EXPLAINS

    rules = sorted(set(EXPLAINS) | {r for explained in EXPLAINS.values() for r in explained})
    for a in rules:
        for b in rules:
            if a == b:
                continue
            first = Finding(a, "error", "m", "f", 1, module="p")
            second = Finding(b, "error", "m", "f", 1, module="p")
            explain([first, second])
            assert first.explained_by != a and second.explained_by != b, (a, b)
            assert not (first.explained_by == b and second.explained_by == a), (a, b)


def test_a_kl_blowup_explains_no_constant_return_that_came_before_it():
    """One agent of a two-agent env paid 0 whatever it does (a user's run, 2026-12-05):
    its return was 0 from iteration 1, in episodes sampled before any update, and its
    module's KL left the target at iteration 1. The blow-up moved no policy away from a
    reward it had found, so both lead. A constant that began after the blow-up (a policy
    the updates moved off the reward it reached) is still the blow-up's doing."""
    def findings(constant_from):
        blowup = Finding("kl_blowup", "warning", "m", "f", 1, module="p1")
        constant = Finding("reward_constant", "warning", "m", "f", constant_from, module="a1")
        explain([blowup, constant], {"a1": "p1"})
        return blowup.explained_by, constant.explained_by

    assert findings(constant_from=1) == (None, None)
    assert findings(constant_from=5) == (None, "kl_blowup")
