"""The doctor's rules on synthetic result streams: one stream per rule, both API stacks."""

import math

import pytest
from doctor_streams import BUILDERS, healthy_stream, new_result, old_result

from rldebug.doctor import Doctor, Finding, Thresholds, diagnose
from rldebug.doctor.metrics import extract

STACKS = ["new", "old"]


def run(stream, thresholds=None, config=None):
    return diagnose(stream, thresholds=thresholds, config=config).findings


def only(findings, rule_id):
    return [f for f in findings if f.rule_id == rule_id]


def stream_of(stack, per_iteration, returns=None, modules=("pol1",)):
    """One result per entry of ``per_iteration`` (module stats, same for every module)."""
    build = BUILDERS[stack]
    return [build(i, {m: stats for m in modules},
                  None if returns is None else {m: returns[i - 1] for m in modules})
            for i, stats in enumerate(per_iteration, 1)]


@pytest.mark.parametrize("stack", STACKS)
def test_healthy_stream_has_no_findings(stack):
    assert run(healthy_stream(stack)) == []


@pytest.mark.parametrize("stack", STACKS)
def test_both_stacks_key_names_are_read(stack):
    metrics = extract(healthy_stream(stack, iterations=1)[0])
    assert metrics.stack == stack
    assert sorted(metrics.modules) == ["pol1", "pol2"]
    stats = metrics.modules["pol1"]
    assert stats.entropy == pytest.approx(1.375) and stats.kl is not None
    assert stats.vf_explained_var is not None and stats.lr == 3e-4
    assert (stats.vf_loss_unclipped is not None) == (stack == "new")
    assert metrics.return_mean == pytest.approx(3.0)
    assert metrics.module_returns == {"pol1": 1.5, "pol2": 1.5}


def test_flat_progress_csv_rows_are_read():
    flat = {"training_iteration": 1.0, "learners/pol1/entropy": 0.5,
            "learners/pol1/mean_kl_loss": 0.01, "env_runners/episode_return_mean": 2.0}
    metrics = extract(flat)
    assert metrics.modules["pol1"].entropy == 0.5 and metrics.return_mean == 2.0


@pytest.mark.parametrize("stack", STACKS)
def test_entropy_collapse_early_is_an_error(stack):
    findings = only(run(stream_of(stack, [{"entropy": 1.38}, {"entropy": 0.5},
                                          {"entropy": 0.05}], returns=[5.0, 5.0, 5.0])),
                    "entropy_collapse")
    assert [(f.severity, f.began_at_iteration, f.module) for f in findings] == \
        [("error", 3, "pol1")]
    assert findings[0].evidence["normalised_entropy"] == pytest.approx(0.05 / 1.38)


def test_an_early_collapse_after_the_return_rose_to_its_best_is_convergence():
    # an easy task solved in three iterations: deterministic on purpose
    findings = only(run(stream_of("new", [{"entropy": 1.38}, {"entropy": 0.5},
                                          {"entropy": 0.05}], returns=[0.5, 5.0, 20.0])),
                    "entropy_collapse")
    assert [f.severity for f in findings] == ["info"] and "converged" in findings[0].message


def test_entropy_collapse_late_is_a_warning():
    stats = [{"entropy": 1.38}] * 15 + [{"entropy": 0.1}]
    findings = only(run(stream_of("new", stats, returns=[5.0] * 16)), "entropy_collapse")
    assert [(f.severity, f.began_at_iteration) for f in findings] == [("warning", 16)]


def test_entropy_reference_log_a_flags_a_first_iteration_collapse():
    stream = stream_of("new", [{"entropy": 0.1}])
    assert only(run(stream), "entropy_collapse") == []  # max seen is 0.1 itself
    found = only(run(stream, Thresholds(entropy_reference=math.log(4))), "entropy_collapse")
    assert found and found[0].evidence["reference"] == "log|A|"


@pytest.mark.parametrize("stack", STACKS)
def test_kl_blowup_single_iteration_is_an_error(stack):
    findings = only(run(stream_of(stack, [{"kl": 0.01}, {"kl": 0.5}])), "kl_blowup")
    assert [(f.severity, f.began_at_iteration) for f in findings] == [("error", 2)]
    assert findings[0].evidence["kl_over_target"] == pytest.approx(50)


def test_kl_high_for_several_iterations_is_a_warning_from_its_start():
    # RLlib's controller raises the KL coefficient 1.5x per high-KL iteration, in vain
    stats = [{"kl": 0.01, "kl_coeff": 0.2}, {"kl": 0.03, "kl_coeff": 0.3},
             {"kl": 0.04, "kl_coeff": 0.45}, {"kl": 0.05, "kl_coeff": 0.675}]
    findings = only(run(stream_of("new", stats)), "kl_blowup")
    assert [(f.severity, f.began_at_iteration) for f in findings] == [("warning", 2)]


def test_the_kl_coefficient_is_judged_from_where_it_started_not_from_its_first_log():
    """RLlib's PPO Learner logs the KL coefficient after its controller moved it for that
    iteration's KL, so the first logged value (0.3 for kl_coeff=0.2 after a high KL) is
    already one raise up: PPO Acrobot at lr x100 (seed 6) logged 0.3, 0.45, 0.675 as
    float32 beside a KL 12x, 4x and 3x its target and got no finding. Its start is the
    config's kl_coeff, or, without a config, the first log with that step undone."""
    f32 = [0.30000001192092896, 0.45000001788139343, 0.675000011920929]
    stats = [{"kl": kl, "kl_coeff": c} for kl, c in zip([0.119, 0.043, 0.030], f32)]
    for config in ({"kl_coeff": 0.2}, None):
        [kl] = only(run(stream_of("new", stats), config=config), "kl_blowup")
        assert (kl.severity, kl.began_at_iteration) == ("warning", 1)
        assert kl.evidence["kl_coeff_at_start"] == pytest.approx(0.2)
    # a config that started at 0.4: the coefficient has not been raised twice from there
    assert not only(run(stream_of("new", stats), config={"kl_coeff": 0.4}), "kl_blowup")


def test_a_high_kl_the_controller_is_handling_is_no_finding():
    # a healthy CartPole run: KL 0.03-0.04 for a few iterations while the coefficient
    # stays near its start (RLlib lowers it again between the high iterations)
    stats = [{"kl": 0.01, "kl_coeff": 0.2}, {"kl": 0.03, "kl_coeff": 0.3},
             {"kl": 0.04, "kl_coeff": 0.2}, {"kl": 0.035, "kl_coeff": 0.3}]
    assert not only(run(stream_of("new", stats)), "kl_blowup")


def test_kl_target_comes_from_the_config():
    stream = stream_of("new", [{"kl": 0.5}])
    assert only(run(stream), "kl_blowup")
    assert not only(run(stream, config={"kl_target": 0.1}), "kl_blowup")


@pytest.mark.parametrize("stack", STACKS)
def test_value_not_learning(stack):
    findings = only(run(stream_of(stack, [{"ev": 0.3}] + [{"ev": -0.01}] * 10)),
                    "value_not_learning")
    assert [(f.severity, f.began_at_iteration) for f in findings] == [("warning", 2)]


def test_value_not_learning_needs_patience():
    assert not only(run(stream_of("new", [{"ev": -0.01}] * 9)), "value_not_learning")


def test_value_loss_exploding():
    stats = [{"vf_loss": 1.0, "vf_loss_unclipped": 1.0, "ev": 0.0},
             {"vf_loss": 10.0, "vf_loss_unclipped": 500.0, "ev": -0.5}]
    findings = only(run(stream_of("new", stats)), "value_loss_exploding")
    assert findings and findings[0].evidence["growth"] == pytest.approx(500)


def test_a_value_loss_below_what_a_constant_guess_leaves_is_no_explosion():
    # the goal corridor (reward 1 at the goal only): the first batch held no reward, so
    # the lowest loss was 8e-05; 0.04 later is far below the 0.25 a constant guess of
    # returns in [0, 1] can leave
    results = []
    for i, loss in enumerate([8e-05] + [0.03 + 0.01 * (i % 3) for i in range(20)], 1):
        result = new_result(i, {"pol1": {"vf_loss": loss, "vf_loss_unclipped": loss,
                                         "ev": -0.02}}, {"pol1": 0.2 if i == 1 else 1.0})
        result["env_runners"].update(episode_return_min=0.0, episode_return_max=1.0)
        results.append(result)
    assert not only(run(results), "value_loss_exploding")


def test_critic_clipped_is_a_warning_until_the_return_can_be_judged():
    stats = [{"vf_loss": 10.0, "vf_loss_unclipped": 480.0}] * 3
    findings = only(run(stream_of("new", stats)), "critic_clipped")
    assert [(f.severity, f.began_at_iteration) for f in findings] == [("warning", 1)]
    assert "no gradient" in findings[0].message


def test_a_clipped_critic_that_explains_nothing_is_why_a_flat_return_does_not_learn():
    # PPO on Pendulum with RLlib's defaults: returns around -1100, every value error
    # clipped at 10, explained variance ~0; every reward <= 0 by design.
    stats = [{"vf_loss": 10.0, "vf_loss_unclipped": 1e5, "ev": 0.001}] * 30
    returns = [-1100.0 + (7 * i) % 13 for i in range(30)]
    diagnosis = diagnose(stream_of("new", stats, returns=returns),
                         config={"env": "Pendulum-v1"})
    trial = diagnosis.trials[0]
    clipped = only(trial.findings, "critic_clipped")
    assert [f.severity for f in clipped] == ["error"] and "why the run does not learn" in \
        clipped[0].message
    assert trial.causes[0].rule_id == "critic_clipped"
    assert all(f.explained_by == "critic_clipped" for f in trial.findings
               if f.rule_id in ("reward_never_positive", "return_not_improving"))
    assert diagnosis.exit_code == 1


def test_a_clipped_critic_beside_a_rising_return_says_the_policy_still_learns():
    """Once, in the words of the rise that answered it (both said it, one after the
    other: "so the run learns despite it ... The policy still learns ...")."""
    stats = [{"vf_loss": 10.0, "vf_loss_unclipped": 480.0, "ev": 0.0}] * 30
    findings = only(run(stream_of("new", stats, returns=[10.0 * i for i in range(30)])),
                    "critic_clipped")
    assert [f.severity for f in findings] == ["info"]
    assert findings[0].message.count("learns") == 1
    assert "so the run learns despite it" in findings[0].message


def test_critic_not_flagged_when_unclipped_loss_is_close():
    stats = [{"vf_loss": 10.0, "vf_loss_unclipped": 12.0}] * 5
    assert not only(run(stream_of("new", stats)), "critic_clipped")


def test_critic_clipped_old_stack_is_a_warning_and_clip_comes_from_config():
    stats = [{"vf_loss": 20.0}] * 3
    assert [f.severity for f in only(run(stream_of("old", stats)), "critic_clipped")] == \
        ["warning"]
    assert not only(run(stream_of("old", stats), config={"vf_clip_param": 100.0}),
                    "critic_clipped")


@pytest.mark.parametrize("stack", STACKS)
def test_reward_never_positive_despite_a_wobble(stack):
    """pol2 sits at -50 +- 2 (a collision or two) for 25 iterations; pol1 does not learn
    either (a warning); when pol1 learns, pol2 may just be losing a game (info)."""
    build = BUILDERS[stack]
    agent2 = "agent2" if stack == "new" else "pol2"

    def findings(pol1):
        stream = [build(i, {"pol1": {}, "pol2": {}},
                        {"pol1": pol1(i), "pol2": -50.0 + 2.0 * ((i * 7) % 3 - 1)})
                  for i in range(1, 26)]
        return [(f.module, f.severity, f.began_at_iteration)
                for f in only(run(stream), "reward_never_positive")]

    assert findings(lambda i: 3.0 + i % 2) == [(agent2, "warning", 1)]
    assert findings(lambda i: float(i)) == [(agent2, "info", 1)]


def test_an_improving_negative_return_is_not_never_positive():
    """Pendulum-like: every reward is a cost, but the return improves."""
    stream = [new_result(i, {"pol1": {}}, {"pol1": -1400.0 + 30.0 * i}) for i in range(1, 26)]
    assert not only(run(stream), "reward_never_positive")


@pytest.mark.parametrize("stack", STACKS)
def test_non_finite_loss(stack):
    stats = [{}, {"total_loss": float("nan"), "kl": float("inf")}]
    findings = only(run(stream_of(stack, stats)), "non_finite")
    assert [(f.severity, f.began_at_iteration) for f in findings] == [("error", 2)]
    assert set(findings[0].evidence) == {"total_loss", "kl"}


def test_return_flat():
    returns = [1.0 + 0.01 * (i % 2) for i in range(25)]
    findings = only(run(stream_of("new", [{}] * 25, returns)), "return_not_improving")
    assert [(f.severity, f.began_at_iteration) for f in findings] == [("warning", 1)]
    assert "not moved" in findings[0].message


def test_return_below_random_baseline():
    returns = [0.0] * 3 + [-10.0] * 22
    findings = only(run(stream_of("new", [{}] * 25, returns)), "return_not_improving")
    assert findings and "below the random-policy baseline" in findings[0].message
    measured = only(run(stream_of("new", [{}] * 25, returns),
                        Thresholds(random_baseline=-20.0)), "return_not_improving")
    assert not measured


@pytest.mark.parametrize("stack", STACKS)
def test_module_not_learning(stack):
    build = BUILDERS[stack]
    stream = [build(i, {"pol1": {}, "pol2": {}}, {"pol1": float(i), "pol2": 5.0 + (i % 3)})
              for i in range(1, 31)]
    findings = only(run(stream), "module_not_learning")
    assert [(f.module, f.severity) for f in findings] == [("pol2", "warning")]


def test_module_without_learner_stats_is_not_trained():
    stream = [new_result(i, {"pol1": {}}, {"pol1": float(i), "pol2": 1.0}) for i in (1, 2)]
    findings = only(run(stream), "module_not_learning")
    assert [(f.module, f.severity) for f in findings] == [("pol2", "info")]


def test_episodes_always_hit_the_time_limit():
    stream = [new_result(i, {"pol1": {}}, len_range=(100.0, 100.0, 100.0)) for i in range(1, 6)]
    findings = only(run(stream), "episodes_hit_time_limit")
    assert [(f.severity, f.began_at_iteration) for f in findings] == [("info", 1)]
    assert findings[0].evidence["episode_len"] == 100.0


def test_lr_too_high_combines_kl_blowup_and_entropy_collapse():
    stats = [{"entropy": 1.38, "kl": 3.8, "lr": 0.5}, {"entropy": 0.6, "kl": 0.1, "lr": 0.5},
             {"entropy": 0.0, "kl": 0.0, "lr": 0.5}]
    findings = only(run(stream_of("new", stats)), "lr_too_high")
    assert [(f.severity, f.began_at_iteration) for f in findings] == [("error", 1)]
    assert findings[0].evidence["lr"] == 0.5


def test_tutorial_lr_05_numbers_are_flagged_at_iteration_1():
    """The tutorial's printed old-stack learner stats for lr=0.5 (iterations 1 and 3)."""
    stream = [old_result(1, {"default_policy": {"entropy": 0.0856, "kl": 29.17, "lr": 0.5,
                                                "ev": -0.006, "vf_loss": 35.6}}),
              old_result(3, {"default_policy": {"entropy": 0.0, "kl": 0.0, "lr": 0.5,
                                                "ev": -0.001, "vf_loss": 111.9}})]
    findings = run(stream)
    assert ("kl_blowup", "error", 1) in [(f.rule_id, f.severity, f.began_at_iteration)
                                         for f in findings]
    assert only(findings, "lr_too_high")[0].severity == "error"


def test_doctor_streams_findings_as_they_arise():
    doctor = Doctor()
    assert doctor.feed(new_result(1, {"pol1": {}})) == []
    new = doctor.feed(new_result(2, {"pol1": {"kl": 1.0}}))
    assert [f.rule_id for f in new] == ["kl_blowup"]
    assert doctor.feed(new_result(3, {"pol1": {"kl": 1.0}})) == []  # reported once


def test_a_finding_whose_severity_rises_is_listed_as_escalated_once():
    # gamma=0: a warning at iteration 3 (the episodes' length is known), the same finding
    # an error at iteration 20, when its flat return is judged: not new, but escalated
    doctor = Doctor(config={"gamma": 0.0})
    seen = {}
    for i in range(1, 23):
        new = doctor.feed(new_result(i, {"pol1": {}}, {"pol1": 0.1},
                                     len_range=(30.0, 40.0, 40.0)))
        for f in new:
            seen.setdefault(("new", f.rule_id, f.severity), i)
        for f in doctor.escalated:
            seen.setdefault(("escalated", f.rule_id, f.severity), i)
    assert seen[("new", "horizon_too_short", "warning")] == 3
    assert seen[("escalated", "horizon_too_short", "error")] == 20
    assert ("new", "horizon_too_short", "error") not in seen
    assert not doctor.escalated  # only the feed that raised it lists it


def test_bad_inputs_are_rejected_with_clear_messages():
    with pytest.raises(TypeError, match="list of result dicts"):
        diagnose(42)
    with pytest.raises(TypeError, match=r"pass \[result\]"):
        diagnose({"training_iteration": 1})
    with pytest.raises(ValueError, match="training_iteration"):
        diagnose([{"learners": {}}])
    with pytest.raises(TypeError, match="Thresholds"):
        diagnose([], thresholds={"kl_target": 0.1})
    with pytest.raises(ValueError, match="kl_high_patience must be an int >= 1, got 0"):
        Thresholds(kl_high_patience=0)
    with pytest.raises(ValueError, match="entropy_reference"):
        Thresholds(entropy_reference={"pol1": -1.0})
    with pytest.raises(ValueError, match="severity must be one of"):
        Finding("x", "fatal", "m", "f", 1)


def _costly_stream(returns, lengths):
    return [new_result(i, {"default_policy": {}}, {"default_policy": r},
                       len_range=(length - 5, length, length + 5))
            for i, (r, length) in enumerate(zip(returns, lengths), 1)]


def test_a_return_below_zero_on_an_env_whose_success_is_positive_is_a_flipped_reward():
    # CartPole-v1 declares success at 475; at -1 per step the policy learns to fall fast:
    # the return "improves" from -22 to -9 as its episodes shorten, never above 0.
    returns = [-22.0 + 0.5 * i for i in range(26)]
    stream = _costly_stream(returns, [-r for r in returns])
    findings = only(run(stream, config={"env": "CartPole-v1"}), "reward_never_positive")
    assert [f.severity for f in findings] == ["warning"]
    assert "declares success at a return of 475" in findings[0].message
    # without the env's word on success, a rising negative return is no finding
    assert not only(run(stream), "reward_never_positive")


def test_a_negative_return_rising_in_episodes_as_long_as_ever_is_progress():
    """Taxi-v3 (success at 8) at PPO's defaults: every episode runs to its 200-step limit
    while the return rises from -887 to -225 (fewer illegal moves, first deliveries).
    It was told that 'the policy climbs towards something other than what the env calls
    success' and to check the reward's sign."""
    returns = [-887.0 + 30 * i for i in range(23)]
    stream = _costly_stream(returns, [200.0] * len(returns))
    assert not only(run(stream, config={"env": "Taxi-v3"}), "reward_never_positive")


def test_a_dip_below_random_that_recovers_is_no_longer_a_finding():
    # SAC on Pendulum: worse than its random start in the middle of the run (the critic
    # learns first), then far better in its last iterations
    returns = [-1050.0, -1000.0, -1100.0] + [-1450.0 + 20 * (i % 3) for i in range(15)] + \
        [-800.0, -700.0, -650.0, -500.0, -450.0, -430.0]
    findings = only(run(stream_of("new", [{}] * len(returns), returns)),
                    "return_not_improving")
    assert [f.severity for f in findings] == ["info"]
    assert "below the random-policy baseline" in findings[0].message
    assert findings[0].evidence["resolved_at_iteration"] == 23  # the first iteration whose latest five clearly beat the start
    assert "The return rose later" in findings[0].message


def test_a_crippling_setting_is_not_answered_by_a_few_good_iterations():
    # gamma=0 on 455-step episodes: PPO Acrobot's returns (tests/doctor_faults, gamma_0),
    # whose last five iterations rise
    returns = [-410.0, -500, -500, -500, -500, -500, -346, -432, -410, -442, -326, -373, -373,
               -470, -500, -500, -500, -500, -500, -500, -500, -500, -500, -500, -458, -336,
               -329, -346, -207, -208]
    results = [new_result(i, {"pol1": {}}, {"pol1": r}, len_range=(300.0, 455.0, 500.0))
               for i, r in enumerate(returns, 1)]
    horizon = only(run(results, config={"gamma": 0.0}), "horizon_too_short")
    assert [f.severity for f in horizon] == ["error"]


def test_gamma_zero_is_named_whatever_the_return_does():
    # gamma=0 on 400-step episodes whose return drifts up from -500 to about -400 (PPO
    # Acrobot at another seed did): each action is credited with its own step's reward
    # only, so a warning, which the return's rise does not answer; gamma 0.5 beside the
    # same rise is no finding (the rise says its horizon reaches far enough)
    returns = [-500.0] * 10 + [-424, -284, -377, -248, -218, -320, -278, -306, -262, -242,
                               -394, -465, -446, -437, -331, -340, -500, -348, -426, -500]
    results = [new_result(i, {"pol1": {}}, {"pol1": r}, len_range=(200.0, 400.0, 500.0))
               for i, r in enumerate(returns, 1)]
    [horizon] = only(run(results, config={"gamma": 0.0}), "horizon_too_short")
    assert horizon.severity == "warning" and "resolved_at_iteration" not in horizon.evidence
    assert "only as far as each step's own reward teaches" in horizon.message
    assert not only(run(results, config={"gamma": 0.5}), "horizon_too_short")


def test_gamma_zero_said_as_flat_stays_a_warning_when_the_return_rises_later():
    # gamma=0 on 90-step episodes with a reward at a goal: the return is flat for the
    # first 20 iterations (an error), then rises as each step's own reward teaches. A
    # rise answers no gamma 0: the error becomes the warning it is where the return
    # moved, not info (it was taken back as info, as a slow start's finding is)
    returns = [2.0] * 22 + [4.0, 5, 6, 7, 8, 8, 8, 8]
    results = [new_result(i, {"pol1": {}}, {"pol1": r}, len_range=(60.0, 90.0, 100.0))
               for i, r in enumerate(returns, 1)]
    [horizon] = only(run(results, config={"gamma": 0.0}), "horizon_too_short")
    assert horizon.severity == "warning" and "resolved_at_iteration" not in horizon.evidence
    assert "The return rose later" in horizon.message
    assert "only as far as each step's own reward teaches" in horizon.message
    # gamma 0.9 (a 10-step horizon on 90-step episodes) beside the same rise: answered
    answered = only(run(results, config={"gamma": 0.9}), "horizon_too_short")
    assert [f.severity for f in answered] in ([], ["info"])


def test_gamma_zero_is_named_before_the_return_can_be_judged():
    # gamma=0 on 40-step episodes: a warning once the first iterations tell the episodes'
    # length, long before the 20 returns the return-based rules need (a run can crash
    # first); the same finding becomes the error once its flat return is judged
    results = [new_result(i, {"pol1": {}}, {"pol1": 0.1}, len_range=(30.0, 40.0, 40.0))
               for i in range(1, 26)]
    early = only(run(results[:3], config={"gamma": 0.0}), "horizon_too_short")
    assert [f.severity for f in early] == ["warning"]
    assert "The return is not judged yet" in early[0].message
    assert not only(run(results[:2], config={"gamma": 0.0}), "horizon_too_short")
    [judged] = only(run(results, config={"gamma": 0.0}), "horizon_too_short")
    assert judged.severity == "error" and judged.began_at_iteration == 1
    assert "the return has not improved" in judged.message
    assert "not judged yet" not in judged.message
    # a horizon short but not 0 waits for the return
    assert not only(run(results[:10], config={"gamma": 0.5}), "horizon_too_short")


def test_a_sparse_goal_reached_in_every_episode_has_converged_not_stalled():
    # reward 1000 at the goal only; the mean return jumps to the best episode's and stays
    # (every episode reaches the goal): its rise is noisy, the run is not stuck
    returns = [150.0, 620.0, 900.0] + [1000.0] * 22
    results = []
    for i, r in enumerate(returns, 1):
        result = new_result(i, {"pol1": {"vf_loss": 10.0, "vf_loss_unclipped": 9e5,
                                         "ev": 0.0}}, {"pol1": r})
        result["env_runners"].update(episode_return_min=0.0 if r < 1000 else 1000.0,
                                     episode_return_max=1000.0)
        results.append(result)
    findings = run(results)
    assert [f.severity for f in only(findings, "critic_clipped")] == ["info"]
    assert not only(findings, "return_not_improving")
    # a policy stuck at its best-and-only return (nothing rose) is still flat
    stuck = [new_result(i, {"pol1": {}}, {"pol1": -200.0}) for i in range(1, 26)]
    for result in stuck:
        result["env_runners"].update(episode_return_min=-200.0, episode_return_max=-200.0)
    assert only(run(stuck), "return_not_improving")


def _cost_per_step_run(lengths, longest):
    """-1 per step: each iteration's return is minus its mean episode length."""
    results = []
    for i, (length, top) in enumerate(zip(lengths, longest), 1):
        result = new_result(i, {"pol1": {}}, {"pol1": -length},
                            len_range=(min(length, 8.0), length, top))
        result["env_runners"].update(episode_return_min=-top, episode_return_max=-8.0)
        results.append(result)
    return results


def test_a_policy_that_learns_to_end_episodes_under_a_cost_per_step_is_named():
    # CartPole with its reward's sign flipped: -1 per step, it learns to fall at once
    lengths = [24.0, 18, 14, 12, 11] + [9.5 + 0.1 * (i % 3) for i in range(20)]
    found = only(run(_cost_per_step_run(lengths, [82.0] * 25)), "reward_sign")
    assert [f.severity for f in found] == ["warning"]
    assert "learned only to end its episodes sooner: 18.7 -> 9.6" in found[0].message
    # Acrobot: the same -1 per step, but its first episodes ran into the time limit
    # (a random policy rarely reaches the goal): shorter episodes are the goal
    acrobot = [490.0, 480, 470] + [450 - 15 * i for i in range(22)]
    assert not only(run(_cost_per_step_run(acrobot, [500.0] * 25)), "reward_sign")
    # and an env that declares its success keeps that rule's verdict instead
    declared = run(_cost_per_step_run(lengths, [82.0] * 25), config={"env": "CartPole-v1"})
    assert not only(declared, "reward_sign") and only(declared, "reward_never_positive")


def test_a_rule_with_an_unknown_answered_by_rise_is_refused_when_defined():
    from rldebug.doctor.rules.base import Rule

    with pytest.raises(TypeError, match="answered_by_rise is 'warning'; it must be one of"):
        class Misspelt(Rule):  # a new rule whose misspelling would mean "never answered"
            rule_id = "misspelt"
            answered_by_rise = "warning"
