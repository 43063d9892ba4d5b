"""The doctor on runs a new user made on envs of their own, in eight batches
(tests/doctor_user_runs, tests/doctor_user_runs2 to tests/doctor_user_runs8, each made by
its make_runs.py;
labelled by how each run was made before the doctor read it).

An independent check beside the fault-injection benchmark: the faults the doctor names
here stay named, and no healthy run gets an error. (Its misses are listed by
``benchmarks/doctor_user_runs.py`` and in docs/explanation/doctor-benchmark.md.)
"""

from __future__ import annotations

import json

import pytest

from benchmarks.doctor_user_runs import BATCHES, USER_RUNS, scored_runs
from rldebug.doctor import diagnose

# per batch: the faulty runs the doctor named when the runs were first read (batch 1 on
# 2026-12-05, batch 2 on 2026-12-06), then the zeroed observations the passive env check
# counts since (each batch's run regenerated with it), then (read again, not regenerated)
# one agent's NaN rewards named for that agent, and gamma 0 kept a warning after the
# return rose; and the number of healthy runs
NAMED = {
    "doctor_user_runs": {"grid_ppo_entropy1", "grid_ppo_gamma0", "grid_ppo_term_as_trunc",
                         "pricing_ppo_nan", "reach_ppo_lr100x", "reach_ppo_reward_zero",
                         "reach_sac_scale1e4", "tune_lr__0.03", "reach_ppo_obs_const"},
    "doctor_user_runs2": {"inventory_appo_lr100", "keydoor_dqn_no_target",
                          "keydoor_dqn_tiny_replay", "keydoor_ppo_door_trunc",
                          "keydoor_ppo_entropy1", "inventory_appo_obs_zero",
                          "turntrack_ppo_p1_nan", "keydoor_ppo_gamma0"},
    # read once on 2026-12-07 (13 of 17), then one forager's x1000 rewards named for the
    # module its config's only module is (every agent maps to it)
    "doctor_user_runs3": {"delivery_dqn_no_target", "delivery_ppo_entropy1",
                          "delivery_ppo_gamma0", "delivery_ppo_goal_trunc",
                          "delivery_ppo_reward_zero", "forage_duo_a1_nan", "forage_duo_swap",
                          "point_sac_nan", "point_sac_no_learn", "point_sac_target_ent",
                          "queue_appo_gradclip", "queue_ppo_lr100", "queue_ppo_obs1e4",
                          "forage_shared_a1_x1000"},
    # read once on 2026-12-07 (11 of 19), then farm_1's NaN and x1000 rewards named for
    # module 'head', which serves two farms (its return is their returns' sum)
    "doctor_user_runs4": {"battery_appo_nan", "battery_oldppo_lr100", "battery_ppo_gradclip",
                          "battery_ppo_rew1e-4", "catch_dqn_no_target", "catch_dqn_replay16",
                          "catch_dqn_rew1000", "catch_ppo_epochs40", "catch_ppo_obs_zero",
                          "hover_sac_crash_trunc", "hover_sac_target_ent",
                          "canal_ppo_farm1_nan", "canal_ppo_farm1_x1000"},
    # read once on 2026-12-07 (8 of 12), then the replay buffer below the train batch
    # named from the config (replay_too_small; RLlib's uniform buffer trains on)
    "doctor_user_runs5": {"courier_ppo_agent1_x1000", "rope_dqn_target_never",
                          "rope_dqn_term_as_trunc", "solar_sac_learning_never_starts",
                          "solar_sac_target_entropy_high", "sort_ppo_old_lr_x100",
                          "sort_ppo_old_obs_zero", "sort_ppo_old_vf_clip_low",
                          "rope_dqn_replay_below_batch"},
    # read once on 2026-12-07 (13 of 20), then reward_sign no longer taking the stock
    # room's costs x1e-4 (about 0, above its threshold of -60) for a flipped sign
    "doctor_user_runs6": {"hive_appo_agent1_nan", "hive_appo_entropy1",
                          "hive_appo_grad_clip_tiny", "lift_dqn_gamma_0.5",
                          "lift_dqn_learning_never_starts", "lift_dqn_lr_div1000",
                          "stock_impala_obs_zeroed", "stock_ppo_epochs_x10",
                          "stock_ppo_gamma_0", "stock_ppo_nan_traced",
                          "stock_ppo_reward_x1e-4", "thermo_sac_replay_below_batch",
                          "thermo_sac_target_entropy_high"},
    # read once on 2026-12-07 (12 of 20), then alpha_runaway no longer claiming a target
    # out of reach at target_entropy -2 (SAC lr x100: a collapsed policy; its q-values'
    # divergence leads now)
    "doctor_user_runs7": {"hl_dqn_learning_never_starts", "hl_dqn_nan_reward",
                          "hl_dqn_target_never_updated", "hl_dqn_term_as_trunc",
                          "mine_impala_obs_zeroed", "mine_impala_reward_x1000",
                          "mine_ppo_nan_traced", "port_sac_lr_x100",
                          "port_sac_replay_below_batch", "port_sac_reward_x1e-4",
                          "port_sac_target_entropy_high", "tag_appo_agent1_nan",
                          "tag_appo_gamma_0"},
    # read once on 2026-12-08 (13 of 20), then boat1's NaN losses named for boat1, as
    # the finding's message said (its subject was the whole run)
    "doctor_user_runs8": {"batt_appo_nan_reward_traced", "fish_mappo_agent1_nan_reward",
                          "fish_mappo_agent1_reward_x1000",
                          "fish_mappo_modules_swap_per_episode", "heat_sac_obs_x1e4",
                          "heat_sac_reward_x1e-4", "heat_sac_target_entropy_high",
                          "irr_ppo_entropy_coeff_1", "irr_ppo_lr_x100", "irr_ppo_obs_zeroed",
                          "irr_ppo_terminated_as_truncated", "wh_dqn_gamma_0",
                          "wh_dqn_learning_never_starts", "wh_dqn_target_never_updated"},
}
HEALTHY = {"doctor_user_runs": 7, "doctor_user_runs2": 6, "doctor_user_runs3": 7,
           "doctor_user_runs4": 7, "doctor_user_runs5": 4, "doctor_user_runs6": 5,
           "doctor_user_runs7": 5, "doctor_user_runs8": 6}
BATCH = pytest.mark.parametrize("batch", BATCHES, ids=lambda batch: batch.name)


@pytest.fixture(scope="module")
def scores():
    return {batch.name: {s.name: s for s in scored_runs(batch)} for batch in BATCHES}


@BATCH
def test_every_label_is_a_benchmark_operator_or_healthy(batch):
    from benchmarks.doctor_faults.operators import OPERATORS

    labels = json.loads((batch / "labels.json").read_text())
    assert {label["operator"] for label in labels.values()} - {None, "special"} <= \
        set(OPERATORS)
    assert sorted(labels) == sorted(p.name for p in (batch / "runs").iterdir())


@BATCH
def test_no_healthy_run_gets_an_error(scores, batch):
    healthy = [s for s in scores[batch.name].values() if s.healthy]
    assert len(healthy) == HEALTHY[batch.name]
    assert [s.name for s in healthy if s.false_error] == []


@BATCH
def test_the_faults_named_stay_named(scores, batch):
    assert {name for name, s in scores[batch.name].items() if s.hit} >= NAMED[batch.name]


def test_a_module_serving_two_agents_is_found_from_their_returns_sum():
    """RLlib reports a module's return as the sum of its agents' (four farms on two
    modules): the doctor matched agents to modules only by equal returns, so farm_1's NaN
    and x1000 rewards were named for the agent and no module. With NaN returns in one
    module's episodes its sum no longer holds: the other module's does, and farm_0 and
    farm_1 are the agents left. A mapping that swaps the modules every other episode
    adds up to nothing, and no agent is given a module."""
    runs = USER_RUNS.parent / "doctor_user_runs4" / "runs"
    farms = {"farm_0": "head", "farm_1": "head", "farm_2": "tail", "farm_3": "tail"}
    for name in ("canal_ppo_healthy", "canal_ppo_farm1_x1000", "canal_ppo_farm1_nan"):
        (trial,) = diagnose(runs / name).trials
        assert trial.agent_modules == farms, (name, trial.agent_modules)
    (swapped,) = diagnose(runs / "canal_ppo_swap").trials
    assert swapped.agent_modules == {}


def test_a_cost_scaled_to_about_zero_is_no_flipped_sign():
    """StockRoom-v0 declares success at -60; its costs x1e-4 return about -0.05 before any
    update. reward_sign said the returns were not the env's own, "most often a flipped
    sign"; the rewards are small (reward_scale names them), which is what puts a cost
    above a negative threshold."""
    run = USER_RUNS.parent / "doctor_user_runs6" / "runs" / "stock_ppo_reward_x1e-4"
    assert json.loads((run / "rldebug_env.json").read_text())["reward_threshold"] == -60
    (trial,) = diagnose(run).trials
    assert [(f.rule_id, f.severity) for f in trial.causes if f.severity != "info"] == \
        [("reward_scale", "warning")]


def test_a_module_fed_another_agents_observations_is_read_from_its_crash():
    """The sixth batch's hive swapped its modules every other episode, and the guard's
    5-wide observations reached the foragers' module (4 wide): torch's "mat1 and mat2
    shapes cannot be multiplied" in iteration 1, which the doctor quoted with "read the
    traceback". It now says what the numbers mean and names policy_mapping_fn first in a
    multi-agent run."""
    run = USER_RUNS.parent / "doctor_user_runs6" / "runs" / "hive_appo_modules_swap"
    (trial,) = diagnose(run).trials
    (errored,) = trial.causes
    assert (errored.rule_id, errored.severity) == ("trial_errored", "error")
    assert "(1x5 and 4x64)" in errored.message
    assert "policy_mapping_fn sends it to a module built for another agent's observation " \
        "space" in " ".join(errored.message.split())


def test_a_crashed_run_is_named_with_the_envs_own_error():
    for name in ("grid_ppo_crash500", "grid_ppo_crash5500"):
        (trial,) = diagnose(USER_RUNS / "runs" / name).trials
        [errored] = [f for f in trial.causes if f.rule_id == "trial_errored"]
        assert "GridGoal: simulated env failure at step" in errored.message
        assert trial.stack == "new"  # from params.json, also with no result (crash500)


@BATCH
def test_the_runs_hold_no_pickles_or_machine_paths(batch):
    from benchmarks.run_store import stray_files

    assert stray_files(batch / "runs") == []


def test_the_readme_quotes_the_user_runs_as_they_score(scores):
    """README: "On 59 runs new users made ... it names 31 of 39 faults"; the counts were
    not checked against the runs."""
    from pathlib import Path

    every = [s for batch in scores.values() for s in batch.values()]
    faulty = [s for s in every if not s.healthy]
    readme = " ".join((Path(__file__).parent.parent / "README.md").read_text().split())
    assert (f"On {len(every)} runs new users made in eight batches on envs of their own, it "
            f"names {sum(bool(s.hit) for s in faulty)} of {len(faulty)} faults") in readme


def _matched(rows: list[tuple[dict, dict]]) -> dict:
    """The doctor's agent -> module after results with these per-agent and per-module mean
    returns, as RLlib reports them (a module's is its agents' sum)."""
    from rldebug.doctor import Doctor

    doctor = Doctor()
    for iteration, (agents, modules) in enumerate(rows, 1):
        doctor.feed({"training_iteration": iteration, "learners": {m: {} for m in modules},
                     "env_runners": {
                         "episode_return_mean": sum(agents.values()),
                         "agent_episode_returns_mean": agents,
                         "module_episode_returns_mean": modules}})
    return doctor.agent_modules


def test_a_shared_modules_agents_are_not_given_to_a_module_of_equal_return():
    """Found in review: a1 and a2 on m1, a3 on m2, every agent at -1 in iteration 1
    (m1 -2, m2 -1): the one-iteration equality gave a1 and a2 to m2 for good. An agent
    that first reports later with a return of 0 was given to the module left over; a
    module's agents, once learned, were never withdrawn."""
    def row(a1, a2, a3):
        return {"a1": a1, "a2": a2, "a3": a3}, {"m1": a1 + a2, "m2": a3}

    ordinary = [row(3.0, 5.0, 2.0), row(4.0, 1.0, 7.0), row(6.0, 2.0, 9.0)]
    assert _matched([row(-1.0, -1.0, -1.0), *ordinary]) == {"a1": "m1", "a2": "m1",
                                                            "a3": "m2"}
    # z joins m1 at iteration 4 with return 0, a3 stops adding up (absent from episodes)
    late = [({"a1": a, "a2": b, "a3": c - 1, "z": 0.0}, {"m1": a + b, "m2": c})
            for a, b, c in ((3.0, 5.0, 2.0), (4.0, 1.0, 7.0), (6.0, 2.0, 9.0))]
    assert "z" not in _matched([*ordinary, *late])
    # m1's agents learned, then the mapping changes: no longer said
    swapped = [({"a1": a, "a2": b, "a3": c}, {"m1": a + c, "m2": b})
               for a, b, c in ((3.0, 5.0, 2.0), (4.0, 1.0, 7.0))]
    assert _matched([*ordinary, *swapped]) == {}


def test_a_replay_buffer_below_the_batch_is_named_within_rldebug_checks_limits():
    """The fifth batch's DQN with a 16-step uniform EpisodeReplayBuffer below its 32-step
    batch (it trained on, below acting at random); not where the capacity counts no env
    steps or nothing learns from it: the old stack's buffers (episodes or sequences
    possibly), a capacity at or above what one update samples (the batch times the
    Learners)."""
    from rldebug.doctor import Doctor

    run = USER_RUNS.parent / "doctor_user_runs5" / "runs" / "rope_dqn_replay_below_batch"
    params = json.loads((run / "params.json").read_text())
    rows = [json.loads(line) for line in (run / "result.json").read_text().splitlines()]

    def named(**changes):
        doctor = Doctor(config={**params, **changes})
        for row in rows:
            doctor.feed(row)
        return [f for f in doctor.findings if f.rule_id == "replay_too_small"]

    [found] = named()
    assert (found.severity, found.began_at_iteration) == ("warning", 2)
    assert found.evidence["capacity"] == 16 and found.evidence["train_batch"] == 32
    buffer = params["replay_buffer_config"]
    assert named(num_learners=2, replay_buffer_config={**buffer, "capacity": 40})
    assert not named(replay_buffer_config={**buffer, "capacity": 32})
    assert not named(enable_rl_module_and_learner=False)
    assert not named(replay_buffer_config={"type": "MultiAgentReplayBuffer", "capacity": 16})


def test_a_trace_at_level_summary_says_what_it_could_not_check():
    """Two users' observations x1e4 were traced at level "summary" (the sixth batch's SAC,
    the seventh's PPO), which keeps no observation statistics: nothing said so."""
    runs = USER_RUNS.parent / "doctor_user_runs7" / "runs"
    (summary,) = diagnose(runs / "mine_ppo_obs_x1e4").trials
    (note,) = [n for n in summary.notes if 'level "summary"' in n]
    assert "observations" in note and 'trace at level "batches"' in note
    (batches,) = diagnose(runs / "mine_ppo_nan_traced").trials
    assert not [n for n in batches.notes if 'level "summary"' in n]
