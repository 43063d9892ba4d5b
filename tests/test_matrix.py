"""Every rldebug tool on every RLlib setup of tests/setups.py, on real (tiny) RLlib training.

One build per setup (a module-scoped fixture): the config gets AgentReturns,
DoctorCallback and break_on, is trained two iterations by ``rldebug.run`` with
``trace="batches"`` in local mode, and each test reads one tool's output back.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from setups import SETUPS

import rldebug
from rldebug.callbacks import AgentReturns, add_callbacks
from rldebug.cli import main as rldebug_main
from rldebug.doctor import DoctorCallback
from rldebug.envcheck import check_env
from rldebug.ide import break_on, break_records, clear_break_records
from rldebug.shapes.env_meta import agent_spaces, env_of
from rldebug.shapes.results import env_steps_total, get_path, learner_stats

ITERATIONS = 2

# What each family's learner records must show in the trace (beyond losses).
FAMILY_COLUMNS = {
    "ppo": {"policy_loss", "value_loss", "kl", "entropy", "clip_fraction", "grad_norm",
            "param_update_norm", "importance_ratio_mean"},
    "vtrace": {"policy_loss", "value_loss", "entropy", "rho_clipped_fraction", "grad_norm",
               "param_update_norm", "importance_ratio_mean"},
    "q_learning": {"q_loss", "td_error_mean", "q_mean", "q_max", "target_update_lag",
                   "grad_norm", "param_update_norm"},
    "actor_critic": {"policy_loss", "q_loss", "alpha", "log_prob", "q_mean",
                     "target_update_lag", "grad_norm", "param_update_norm"},
    "old_stack": {"policy_loss", "value_loss", "kl", "entropy", "clip_fraction"},
}
# What RLlib logs under a name the tracer computes too, kept beside it: APPO's mean_IS
# (behaviour over target policy; the tracer's is current over behaviour) and the mean
# Q-value RLlib logs beside the tracer's of the minibatch.
BOTH_KEPT = {"APPO": {"rllib_importance_ratio_mean", "importance_ratio_var"},
             "DQN": {"rllib_q_mean"}, "SAC": {"rllib_q_mean"}}


def learner_kind(name: str) -> str:
    setup = SETUPS[name]
    if setup.stack == "old":
        return "old_stack"
    if name.startswith(("appo", "impala")):
        return "vtrace"
    return {"policy_gradient": "ppo"}.get(setup.family, setup.family)


def always(action) -> bool:
    return True


@dataclass
class Row:
    name: str
    run: rldebug.RunResult
    records: list
    watched_agent: str

    @property
    def algo(self):
        return self.run.algo

    @property
    def setup(self):
        return SETUPS[self.name]


def agents_of(algo) -> dict:
    return {str(aid): spaces for aid, spaces in agent_spaces(env_of(algo)).items()}


@pytest.fixture(scope="module", params=list(SETUPS))
def row(request, tmp_path_factory):
    name = request.param
    config = SETUPS[name].make()
    agents = {str(a): s for a, s in agent_spaces(_probe_env(config)).items()}
    watched = min(agents)
    action_space = agents[watched][1]
    # Any action of the watched agent counts: a list of every Discrete action, or a
    # predicate for other spaces (checked against the real space when the env is made).
    condition = (list(range(int(action_space.n))) if hasattr(action_space, "n") else always)
    config = add_callbacks(config, AgentReturns, DoctorCallback)
    config = break_on(config, reward_above=-math.inf, agent_action={watched: condition},
                      mode="log")
    clear_break_records()
    logdir = tmp_path_factory.mktemp(name)
    run = rldebug.run(config, stop={"training_iteration": ITERATIONS}, logdir=logdir,
                      trace="batches", progress=False)
    yield Row(name, run, break_records(), watched)
    run.algo.stop()
    clear_break_records()


def _probe_env(config):
    """An env of the config, made the way RLlib makes it."""
    if isinstance(config.env, str):
        import gymnasium as gym

        return gym.make(config.env)
    return config.env(dict(config.env_config))


def test_local_mode_runs_everything_in_this_process(row):
    assert rldebug.is_local(row.algo.config)
    trace = rldebug.load_trace(row.run.logdir / "trace")
    assert set(trace.samples["pid"]) == {os.getpid()}
    assert set(trace.updates["pid"]) == {os.getpid()}


def test_run_writes_the_files_of_a_tune_trial(row):
    logdir = Path(row.run.logdir)
    assert row.run.iterations == ITERATIONS
    lines = (logdir / "result.json").read_text().splitlines()
    assert [json.loads(line)["training_iteration"] for line in lines] == [1, 2]
    assert (logdir / "progress.csv").exists() and (logdir / "params.json").exists()
    assert list(logdir.glob("events.out.tfevents.*"))


def test_trace_counts_every_env_step_rllib_sampled(row):
    trace = rldebug.load_trace(row.run.logdir / "trace")
    assert int(trace.samples["env_steps"].sum()) == env_steps_total(row.run.last_result) > 0


def test_trace_records_each_learner_update_with_the_family_diagnostics(row):
    trace = rldebug.load_trace(row.run.logdir / "trace")
    updates = trace.updates
    assert len(updates) > 0
    wanted = FAMILY_COLUMNS[learner_kind(row.name)]
    if learner_kind(row.name) != "old_stack":
        wanted = wanted | BOTH_KEPT.get(type(row.algo).__name__, set())
    present = {c for c in updates.columns if updates[c].notna().any()}
    assert wanted <= present, f"missing {sorted(wanted - present)}"
    tracer_failures = trace.events[trace.events.get("source", "") == "tracer"] \
        if not trace.events.empty else trace.events
    assert tracer_failures.empty, tracer_failures.to_dict("records")


def test_trace_counts_steps_per_agent(row):
    trace = rldebug.load_trace(row.run.logdir / "trace")
    agents = agents_of(row.algo)
    per_agent = {}
    for steps in trace.samples["agent_steps"]:
        for agent, count in steps.items():
            per_agent[agent] = per_agent.get(agent, 0) + count
    env_steps = int(trace.samples["env_steps"].sum())
    if row.setup.stack == "old":
        return  # the old stack counts per policy (agent_index), checked in test_trace.py
    assert set(per_agent) == set(agents)
    if row.name == "tic_tac_toe":  # turn-based: one player acts per env step
        assert all(0 < count < env_steps for count in per_agent.values())
        assert 0.9 * env_steps <= sum(per_agent.values()) <= env_steps
    else:
        assert all(count == env_steps for count in per_agent.values())


def test_agent_returns_logs_every_agent_with_returns_rllib_produced(row):
    result = row.run.last_result
    key = ("env_runners/custom_metrics" if row.setup.stack == "old" else "env_runners")
    logged = get_path(result, f"{key}/agent_returns") if row.setup.stack != "old" else {
        k.split("/", 1)[1]: v for k, v in get_path(result, key).items()
        if k.startswith("agent_returns/")}
    agents = agents_of(row.algo)
    assert {k.rsplit("_", 1)[0] for k in logged} == set(agents)
    trace = rldebug.load_trace(row.run.logdir / "trace")
    seen = {agent: [] for agent in agents}
    for returns in trace.samples["episode_returns"]:
        for agent, values in returns.items():
            seen[agent] += values
    for agent in agents:
        assert seen[agent], f"no finished episode for {agent}"
        for stat in ("min", "max"):
            value = float(logged[f"{agent}_{stat}"])
            # a real episode return of that agent, as the trace recorded it
            assert min(abs(value - v) for v in seen[agent]) < 1e-4, (agent, stat, value)


def test_doctor_runs_live_and_on_the_run_directory(row):
    assert {"findings", "errors", "warnings"} <= set(row.run.last_result["doctor"])
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = rldebug_main(["doctor", str(row.run.logdir), "--json"])
    report = json.loads(out.getvalue())
    assert code in (0, 1) and code == report["exit_code"]
    (trial,) = report["trials"]
    assert trial["iterations"] == ITERATIONS and trial["usable"]
    assert not [f for f in trial["findings"] if f["rule_id"] == "tracer_failed"]


def test_break_on_sees_every_agent_step_and_the_watched_action(row):
    agents = agents_of(row.algo)
    rewards = [r for r in row.records if r.kind == "reward_above"]
    assert {r.agent_id for r in rewards} == set(agents)
    assert all(math.isfinite(r.reward) for r in rewards)
    actions = [r for r in row.records if r.kind == "agent_action"]
    assert actions and {r.agent_id for r in actions} == {row.watched_agent}
    space = agents[row.watched_agent][1]
    assert all(space.contains(np.asarray(r.action, dtype=space.dtype).reshape(space.shape))
               for r in actions[:50])


def test_learner_stats_have_normalised_names_with_raw_keys(row):
    stats = learner_stats(row.run.last_result)
    assert stats, "no module statistics"
    for module_stats in stats.values():
        assert "total_loss" in module_stats or "q_loss" in module_stats
        for name, stat in module_stats.items():
            assert stat.name == name and stat.raw_key


def test_inspect_lists_the_modules_and_agents(row):
    summary = rldebug.inspect(row.algo)
    text = str(summary)
    for module_id in summary.modules:
        assert module_id in text
    assert set(map(str, summary.agents)) == set(agents_of(row.algo))
    assert set(summary.agents.values()) <= set(summary.modules)
    # the value explain shows, named for the family (a DQN module said "no" before)
    expected = {"policy_gradient": "V(s)", "q_learning": "max over a of Q(s, a)",
                "actor_critic": "Q(s, a)"}[row.setup.family]
    for module in summary.modules.values():
        assert module.value_function == expected and module.has_value_function
    assert re.search(rf"value function\s+│ {re.escape(expected)}", text), text


def test_explain_answers_for_every_agent_in_the_family_terms(row):
    for agent, (obs_space, action_space) in agents_of(row.algo).items():
        obs_space.seed(0)
        e = rldebug.explain(row.algo, obs_space.sample(), agent_id=_agent_key(row, agent),
                            seed=0)
        assert e.family == row.setup.family
        assert action_space.contains(np.asarray(e.env_action, dtype=action_space.dtype)
                                     .reshape(action_space.shape))
        if e.probs is not None:
            assert np.isclose(np.sum(e.probs), 1.0, atol=1e-5)
        if row.setup.continuous:
            assert e.mean is not None and e.std is not None and np.all(np.asarray(e.std) > 0)
        assert np.isfinite(e.entropy) and np.isfinite(e.log_prob)


def test_export_round_trips_and_the_deployed_pipeline_passes_parity(row, tmp_path):
    """The checkpoint's pipeline, exported and loaded back without an Algorithm, acts as the
    checkpoint's own pipeline on every setup (old stack: compute_single_action)."""
    if row.setup.stack == "old":
        checkpoint = row.algo.save(str(tmp_path / "checkpoint")).checkpoint.path
        deployed = lambda obs: row.algo.compute_single_action(obs, explore=False)
    else:
        checkpoint = row.algo.save_to_path(str(tmp_path / "checkpoint"))
        deployed = rldebug.inference_policy(rldebug.export(checkpoint, tmp_path / "out"))
    report = rldebug.parity(checkpoint, deployed, episodes=1, max_steps=200)
    assert report.passed and report.agreement == 1.0, str(report)
    assert report.decisions >= report.states >= 1


def _agent_key(row, agent: str):
    """The agent id as the env uses it (MultiAgentPendulum's are ints)."""
    for aid in agent_spaces(env_of(row.algo)):
        if str(aid) == agent:
            return aid
    return agent


def test_check_env_on_the_setup_env(row):
    config = row.algo.config
    report = check_env(config.env, dict(config.env_config), steps=60)
    failed = {c.name for c in report.checks if c.status == "failed"}
    if row.name == "tic_tac_toe":
        # RLlib's TicTacToe picks the first player with random, ignoring reset(seed=).
        assert failed == {"seed_determinism"}, failed
    else:
        assert not failed, str(report)


class PlantedLearnerBug(RuntimeError):
    pass


def failing_learner(base):
    """``base`` whose loss raises on its second minibatch (a bug in user learner code)."""
    class Failing(base):
        calls = 0

        def compute_loss_for_module(self, **kwargs):
            type(self).calls += 1
            if type(self).calls >= 2:
                raise PlantedLearnerBug("planted bug in the loss")
            return super().compute_loss_for_module(**kwargs)

    return Failing


@pytest.mark.parametrize("name", ["impala_cartpole", "appo_cartpole"])
def test_a_failing_update_in_the_learner_thread_fails_train_instead_of_hanging(name, tmp_path):
    import threading

    from rldebug.tracing.learning import LearnerThreadError

    config = SETUPS[name].make()
    config.training(learner_class=failing_learner(config.learner_class))
    algo = rldebug.local_mode(rldebug.trace(config, out=tmp_path)).build_algo()
    outcome = {}

    def train():
        try:
            for _ in range(5):
                algo.train()
        except Exception as err:  # noqa: BLE001 - the test inspects it
            outcome["error"] = err

    worker = threading.Thread(target=train, daemon=True)
    worker.start()
    worker.join(timeout=120)
    try:
        assert not worker.is_alive(), "algo.train() hung after the learner thread failed"
        error = outcome.get("error")
        assert isinstance(error, LearnerThreadError), repr(error)
        assert isinstance(error.__cause__, PlantedLearnerBug)
        assert "planted bug in the loss" in str(error) and "learner thread" in str(error)
    finally:
        if not worker.is_alive():
            algo.stop()


@pytest.mark.parametrize("head", [{"num_atoms": 5, "v_min": -10.0, "v_max": 10.0},
                                  {"dueling": False}], ids=["distributional", "plain"])
def test_explain_on_other_dqn_heads_agrees_with_rllibs_greedy_action(head):
    import torch

    algo = rldebug.local_mode(SETUPS["dqn_cartpole"].make().training(**head)).build_algo()
    try:
        algo.train()
        space = algo.env_runner.env.single_observation_space
        space.seed(0)
        observations = [space.sample() for _ in range(16)]
        e = rldebug.explain(algo, observations, seed=0)
        rllib = algo.env_runner.module.forward_inference(
            {"obs": torch.as_tensor(e.module_input)})["actions"].numpy()
        assert np.array_equal(e.greedy_action, rllib)
        assert np.array_equal(e.greedy_action, np.argmax(e.q_values, axis=-1))
        if "num_atoms" in head:
            assert e.q_atoms.shape == (5,) and e.q_atom_probs.shape == (16, 2, 5)
            assert np.allclose(e.q_atom_probs.sum(-1), 1.0, atol=1e-5)
            assert np.allclose((e.q_atom_probs * e.q_atoms).sum(-1), e.q_values, atol=1e-4)
        else:
            assert e.q_atoms is None
    finally:
        algo.stop()


def test_explain_gives_the_epsilon_of_dqns_next_exploring_step():
    from ray.rllib.utils.schedules.scheduler import Scheduler

    config = SETUPS["dqn_cartpole"].make().env_runners(explore=True)
    config.training(epsilon=[(0, 1.0), (400, 0.1)])
    algo = rldebug.local_mode(config).build_algo()
    try:
        for _ in range(3):
            algo.train()
        steps = algo.env_runner.num_env_steps_sampled_lifetime
        assert steps >= 400
        e = rldebug.explain(algo, np.zeros(4, np.float32), seed=0)
        expected = Scheduler([(0, 1.0), (400, 0.1)])._schedule.value(t=steps)
        assert e.epsilon == pytest.approx(expected) == pytest.approx(0.1)
        assert e.probs.max() == pytest.approx(1 - 0.1 + 0.1 / 2)
    finally:
        algo.stop()
