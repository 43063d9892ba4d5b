"""rldebug.trace: counts equal RLlib's, remote runners, NaN pinpointing, kill -9, levels."""

import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from ray.rllib.algorithms.ppo.torch.ppo_torch_learner import PPOTorchLearner
from ray.rllib.callbacks.callbacks import RLlibCallback
from tiny import tiny_arena_config

import rldebug
from rldebug.arena import MultiAgentArena
from rldebug.cli import main
from rldebug.shapes.results import get_path
from rldebug.tracing import load_trace, trace


def train(config, iterations=2):
    algo = config.build_algo()
    try:
        return [algo.train() for _ in range(iterations)]
    finally:
        algo.stop()


def test_counts_equal_rllibs_own_counters(tmp_path, api_stack):
    results = train(rldebug.local_mode(trace(tiny_arena_config(api_stack), out=tmp_path)))
    t = load_trace(tmp_path)
    trained_before = 0
    for result in results:
        it = result["training_iteration"]
        sampled = t.samples[t.samples.iteration == it]
        rllib_steps = get_path(result, "env_runners/num_env_steps_sampled") if api_stack == "new" \
            else result["num_env_steps_sampled_this_iter"]
        assert sampled["env_steps"].sum() == rllib_steps
        assert sampled["episodes_finished"].sum() == get_path(result, "env_runners/num_episodes")
        updates = t.updates[t.updates.iteration == it]
        for module in ("pol1", "pol2"):
            mine = updates[updates.module_id == module]
            if api_stack == "new":
                assert mine["trained_steps"].sum() == get_path(
                    result, f"learners/{module}/num_module_steps_trained")
        if api_stack == "old":
            # The old stack counts agent steps per train batch (lifetime, all policies),
            # not per minibatch pass; the tiny config trains 1 epoch.
            minibatches = updates[updates.stage == "learn_on_batch"]
            trained = result["num_agent_steps_trained"] - trained_before
            assert minibatches["train_batch_size"].sum() == trained
            trained_before = result["num_agent_steps_trained"]
        assert sampled["module_steps"].map(lambda m: m["pol1"]).sum() == rllib_steps


@pytest.mark.parametrize("api_stack", ["new", pytest.param("old", marks=pytest.mark.slow)])
def test_remote_runners_report_their_identity(tmp_path, api_stack):
    config = trace(tiny_arena_config(api_stack, num_env_runners=2), out=tmp_path)
    train(config, iterations=1)
    samples = load_trace(tmp_path).samples
    remote = samples[samples.runner == "remote"]
    assert sorted(remote.runner_index.unique()) == [1, 2]
    assert remote.pid.nunique() == 2 and os.getpid() not in set(remote.pid)
    assert remote["env_steps"].sum() == 200


@pytest.mark.parametrize("stack", ["new", "old"])
def test_episodes_and_agents_are_counted_when_agents_join_and_leave(tmp_path, stack):
    """On the old stack an episode counted as finished where one agent ended (agent b
    leaves at step 4 of 8), each agent end counted as a terminated episode, and agents
    were named agent_index_<n>; its reward sums and column stats were per policy
    ("shared") where the new stack's are per agent."""
    from event_envs import JoiningAndLeaving
    from setups import shared_policy_ppo

    JoiningAndLeaving.SENT.clear()
    train(trace(shared_policy_ppo(JoiningAndLeaving, {}, stack), out=tmp_path), iterations=2)
    samples = load_trace(tmp_path).samples
    assert samples["episodes_finished"].sum() == len(JoiningAndLeaving.SENT) > 0
    assert samples["terminated"].sum() == samples["episodes_finished"].sum()

    def per_agent(column, value=lambda v: v):
        totals = {}
        for row in samples[column]:
            for agent, v in row.items():
                totals[agent] = totals.get(agent, 0) + value(v)
        return totals

    steps = per_agent("agent_steps")
    assert set(steps) == {"a", "b", "c"}, steps
    assert steps["b"] < steps["c"] < steps["a"]  # b acts 4 steps, c 5, a 8 per episode
    # An agent's reward is 1 per hit; the finished episodes' hits are a lower bound, the
    # episode still running at the end adds at most its 8 steps.
    rewards, hits = per_agent("reward_sum"), {}
    for sent in JoiningAndLeaving.SENT:
        for agent, count in sent.items():
            hits[agent] = hits.get(agent, 0) + count
    assert set(rewards) == set(steps), rewards
    for agent in steps:
        assert hits[agent] <= rewards[agent] <= hits[agent] + 8, (agent, rewards, hits)
    assert per_agent("obs", lambda stats: stats["n"]) == steps
    assert set(per_agent("actions", lambda counts: 1)) == set(steps)


class _CartPoleCutAt20:
    """CartPole-v1 with a time limit of 20 steps: a random policy falls before it about
    half the time."""

    def __new__(cls, config=None):
        import gymnasium as gym

        return gym.make("CartPole-v1", max_episode_steps=20)


def test_truncated_episodes_give_their_length_on_both_stacks(tmp_path, api_stack):
    """The old stack's samples left truncated_len_min/max empty, and its per-iteration
    update rows had no rss_mb (every record holds its process's RSS)."""
    from setups import old_ppo_cartpole, ppo_cartpole

    config = old_ppo_cartpole() if api_stack == "old" else ppo_cartpole()
    train(trace(config.environment(_CartPoleCutAt20), out=tmp_path), iterations=1)
    t = load_trace(tmp_path)
    truncated = t.samples[t.samples.truncated > 0]
    assert not truncated.empty
    assert set(truncated.truncated_len_min) == set(truncated.truncated_len_max) == {20}
    assert (t.updates.rss_mb > 0).all(), t.updates.rss_mb


class _RaisesWhenBuilt:
    """An env whose constructor raises: the run fails before its first result (an
    unknown env id is refused before anything is written)."""

    def __init__(self, config=None):
        raise RuntimeError("broken env")


def test_a_second_run_is_not_merged_into_an_earlier_runs_folder(tmp_path):
    """A second run traced into the same folder was merged into the first (its
    iterations numbered 9, 10 after the first's 8, the first's events read as its own),
    and its results appended to the first's result.json."""
    algo = rldebug.run(tiny_arena_config(), stop={"training_iteration": 1},
                       logdir=tmp_path / "run", trace="summary", progress=False).algo
    checkpoint = Path(algo.save_to_path(tmp_path / "checkpoint"))
    algo.stop()
    before = (tmp_path / "run" / "result.json").read_text()
    saved = sorted(p.name for p in checkpoint.iterdir())
    # nor written into a checkpoint (it would no longer load) or beside an experiment's runs
    for logdir, said in [(checkpoint, "the folder is an RLlib checkpoint"),
                         (checkpoint / "learner_group", "inside .* an RLlib checkpoint"),
                         (tmp_path, r"the folder holds runs of its own \(run\)")]:
        with pytest.raises(ValueError, match=said):
            rldebug.run(tiny_arena_config(), stop={"training_iteration": 1},
                        logdir=logdir, progress=False)
    assert sorted(p.name for p in checkpoint.iterdir()) == saved
    # nor into the folder of a run that failed before its first result (its error.txt was
    # then read as the new run's)
    failed = tmp_path / "failed"
    with pytest.raises(Exception, match="broken env"):  # raised while RLlib builds it
        rldebug.run(tiny_arena_config().environment(_RaisesWhenBuilt),
                    stop={"training_iteration": 1}, logdir=failed, progress=False)
    assert (failed / "error.txt").is_file()
    with pytest.raises(ValueError, match=r"holds a run that failed \(error.txt\)"):
        rldebug.run(tiny_arena_config(), stop={"training_iteration": 1}, logdir=failed,
                    progress=False)
    with pytest.raises(ValueError, match=r"already holds a run \(1 result\(s\) in "
                                         r"result.json\).*Pass a new logdir"):
        rldebug.run(tiny_arena_config(), stop={"training_iteration": 1},
                    logdir=tmp_path / "run", trace="summary", progress=False)
    with pytest.raises(ValueError, match=r"already holds a trace .* Pass a new folder"):
        trace(tiny_arena_config(), out=tmp_path / "run" / "trace")
    # nor among the files of an earlier run's trace (a bad-input audit's run was written
    # beside them, and read with that trace as its own)
    traced = sorted(p.name for p in (tmp_path / "run" / "trace").iterdir())
    with pytest.raises(ValueError, match=r"holds an earlier trace \(\d+ trace file"):
        rldebug.run(tiny_arena_config(), stop={"training_iteration": 1},
                    logdir=tmp_path / "run" / "trace", progress=False)
    assert sorted(p.name for p in (tmp_path / "run" / "trace").iterdir()) == traced
    # nor into the out= folder of Tune trials' traces (one trace folder per trial)
    shutil.copytree(tmp_path / "run" / "trace", tmp_path / "out" / "PPO_arena_00000")
    with pytest.raises(ValueError, match=r"holds an earlier trace \(1 trace file\(s\) or trial"):
        rldebug.run(tiny_arena_config(), stop={"training_iteration": 1},
                    logdir=tmp_path / "out", progress=False)
    assert (tmp_path / "run" / "result.json").read_text() == before


class NaNRewardArena(MultiAgentArena):
    """agent1's reward is NaN at env step 7 of every episode."""

    def step(self, action_dict):
        obs, rewards, terms, truncs, infos = super().step(action_dict)
        if self.timestep == 7:
            rewards["agent1"] = float("nan")
        return obs, rewards, terms, truncs, infos


def test_a_nan_reward_is_pinpointed(tmp_path, api_stack):
    config = trace(tiny_arena_config(api_stack), out=tmp_path)
    config.environment(NaNRewardArena, env_config={"max_timesteps": 20})
    try:
        train(rldebug.local_mode(config), iterations=1)
    except ValueError as err:
        # The old stack's loss dies on the NaN logits the NaN advantages produced;
        # the trace was written before that.
        assert api_stack == "old" and "invalid values" in str(err)
    events = load_trace(tmp_path).events
    learner_columns = set(events[events.source == "learner"].column)
    assert "advantages" in learner_columns
    if api_stack == "new":  # RLlib's loss terms went NaN with the loss, at its minibatch
        learner = events[events.source == "learner"]
        for module_id, total in learner[learner.column == "total_loss"].groupby("module_id"):
            terms = learner[(learner.module_id == module_id) &
                            learner.column.isin(["policy_loss", "value_loss"])]
            assert len(terms) == 2 and set(terms.minibatch) == set(total.minibatch), \
                learner[["module_id", "column", "update", "minibatch"]]
    reward_events = events[(events.source == "sampling") & (events.column == "rewards")]
    assert len(reward_events) == 1
    first = reward_events.iloc[0]
    # written at the env step itself, with the agent and its episode (both stacks)
    assert first.env_step == 7 and first.runner_index == 0 and np.isnan(first.value)
    assert first.agent_id == "agent1" and first.episode_id


def test_levels_record_what_they_promise(tmp_path):
    for level in ("summary", "batches", "full"):
        train(rldebug.local_mode(trace(tiny_arena_config(), level=level,
                                       out=tmp_path / level)), iterations=1)
    summary, batches, full = (load_trace(tmp_path / lv) for lv in ("summary", "batches", "full"))
    assert "clip_fraction" not in summary.updates and summary.samples["obs"].iloc[0] == {}
    assert {"clip_fraction", "grad_norm", "param_update_norm",
            "advantages_stats"} <= set(batches.updates.columns)
    assert batches.samples["obs"].iloc[0]["agent1"]["max"] <= 199
    assert (summary.samples["sample_time_s"] > 0).all()  # from the first env step on
    assert sum(batches.samples["actions"].iloc[0]["agent1"].values()) == 200
    assert batches.minibatches.empty and "raw_rows" not in batches.samples
    assert len(full.minibatches) == 6 and len(full.samples["raw_rows"].iloc[0]["agent1"]) == 5


class UserCallback(RLlibCallback):
    calls = 0

    def on_sample_end(self, **kwargs):
        UserCallback.calls += 1


class UserLearner(PPOTorchLearner):
    pass


def test_composes_with_user_callbacks_and_learner(tmp_path):
    config = tiny_arena_config().callbacks(UserCallback).training(learner_class=UserLearner)
    traced = trace(config, out=tmp_path)
    assert issubclass(traced.learner_class, UserLearner)
    assert traced.callbacks_class[0] is UserCallback
    assert config.callbacks_class is UserCallback  # the original is untouched
    UserCallback.calls = 0
    train(rldebug.local_mode(traced), iterations=1)
    assert UserCallback.calls == 1 and not load_trace(tmp_path).samples.empty


@pytest.mark.parametrize("kwargs, error, match", [
    ({"level": "everything"}, ValueError, "summary"),
    ({"config": "PPO"}, TypeError, "AlgorithmConfig"),
])
def test_bad_arguments(tmp_path, kwargs, error, match):
    kwargs = {"config": tiny_arena_config(), "out": tmp_path, **kwargs}
    with pytest.raises(error, match=match):
        trace(**kwargs)


def test_load_trace_of_an_empty_directory_says_what_to_pass(tmp_path):
    with pytest.raises(FileNotFoundError, match="out="):
        load_trace(tmp_path)


def test_killed_run_leaves_a_readable_trace(tmp_path):
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {os.path.dirname(__file__)!r})
        import rldebug
        from rldebug.tracing import trace
        from tiny import tiny_arena_config
        rldebug.start_ray()
        algo = rldebug.local_mode(trace(tiny_arena_config(), out={str(tmp_path)!r})).build_algo()
        while True:
            algo.train()
    """)
    child = subprocess.Popen([sys.executable, "-c", script], start_new_session=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            files = list(tmp_path.glob("iterations-*.jsonl"))
            if files and len(files[0].read_text().splitlines()) >= 3:
                break
            time.sleep(0.2)
        else:
            pytest.fail("the traced run did not finish 3 iterations in time")
    finally:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()
    t = load_trace(tmp_path)
    assert len(t.iterations) >= 3
    assert set(range(1, 4)) <= set(t.samples.iteration) and set(range(1, 4)) <= set(t.updates.iteration)


def test_cli_shows_events_first(tmp_path, capsys):
    config = trace(tiny_arena_config(), out=tmp_path)
    config.environment(NaNRewardArena, env_config={"max_timesteps": 20})
    train(rldebug.local_mode(config), iterations=1)
    assert main(["trace", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.index("Events: the first NaN/Inf") < out.index("Sampling per iteration")
    assert main(["trace", str(tmp_path / "missing")]) == 2


def test_the_doctor_reads_the_trace_next_to_a_run(tmp_path):
    from rldebug.doctor import diagnose

    config = trace(tiny_arena_config(), out=tmp_path / "trace")
    config.environment(NaNRewardArena, env_config={"max_timesteps": 20})
    rldebug.run(config, stop={"training_iteration": 1}, logdir=tmp_path,
                progress=False).algo.stop()
    findings = diagnose(tmp_path).findings
    first = next(f for f in findings if f.rule_id == "non_finite_reward")
    assert first.severity == "error" and first.began_at_iteration == 1
    assert first.evidence["column"] == "rewards" and "env_step=7" in first.message
    assert first.module == "agent1"  # not NaN from the learner events' empty cells
    # the NaN losses the reward caused are its evidence, not separate root causes
    losses = [f for f in findings if f.rule_id in ("non_finite", "non_finite_in_trace")]
    assert losses and {f.explained_by for f in losses} == {"non_finite_reward"}


def test_trace_scalars_reach_tensorboard(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    config = trace(tiny_arena_config(), out=tmp_path / "trace")
    rldebug.run(config, stop={"training_iteration": 2}, logdir=tmp_path / "run",
                progress=False).algo.stop()
    events = EventAccumulator(str(tmp_path / "run"), size_guidance={"scalars": 0})
    events.Reload()
    tags = events.Tags()["scalars"]
    for tag in ("ray/tune/learners/pol1/rldebug_clip_fraction",
                "ray/tune/learners/pol2/rldebug_grad_norm",
                "ray/tune/env_runners/rldebug_trace/env_steps"):
        assert len(events.Scalars(tag)) == 2, (tag, [t for t in tags if "rldebug" in t])
    assert [e.value for e in events.Scalars("ray/tune/env_runners/rldebug_trace/env_steps")] \
        == [200, 200]


@pytest.mark.parametrize("level", ["summary", pytest.param("batches", marks=pytest.mark.slow),
                                   "full"])
def test_a_crash_in_the_first_sample_leaves_its_events_at_every_level(tmp_path, level):
    """The env's observation turns NaN at step 17 of its third episode and RLlib dies in
    the first sample(): the NaN event (its episode and step) and the crash are in the
    trace at every level, and the doctor names both."""
    from ray.rllib.algorithms.ppo import PPOConfig
    from replay_envs import NanInThirdEpisode

    from rldebug.doctor import diagnose

    config = PPOConfig().environment(NanInThirdEpisode).training(
        train_batch_size=400, minibatch_size=100, num_epochs=1)
    with pytest.raises(RuntimeError, match="probability tensor"):
        rldebug.run(config, trace=level, logdir=tmp_path, stop={"training_iteration": 2},
                    progress=False)
    events = load_trace(tmp_path / "trace").events.to_dict("records")
    nan = [e for e in events if e["column"] == "obs"]
    crash = [e for e in events if e["column"] == "sample"]
    assert len(nan) == 1 and nan[0]["env_step"] == 17 and nan[0]["episode_id"], events
    assert len(crash) == 1 and crash[0]["error"] == "RuntimeError", events
    assert nan[0]["time"] <= crash[0]["time"]
    findings = {f.rule_id: f for f in diagnose(tmp_path).findings}
    assert "at env step 17 of the same episode" in findings["sampler_crashed"].message
    assert "'obs'" in findings["non_finite_in_trace"].message
    # the profile says the call that raised (it has no span, so no time in the tables)
    from rldebug.tracing.profile import profile

    (note,) = profile(load_trace(tmp_path / "trace")).failures
    assert note.startswith(f"sample() call {crash[0]['sample_call']} of EnvRunner 0") and \
        "raised (RuntimeError: probability tensor" in note


def test_a_remote_runner_ended_by_sigterm_sends_its_records_home_on_the_way_out(tmp_path):
    """A remote EnvRunner records a NaN reward at step 5 and is sent SIGTERM at step 6,
    in the middle of sample(), before it would have sent its records: they arrive anyway
    (flushed at exit), with the killed process's pid."""
    from ray.rllib.algorithms.ppo import PPOConfig
    from replay_envs import TerminatedAfterANanReward

    marker = tmp_path / "terminated"
    config = (PPOConfig().environment(TerminatedAfterANanReward, env_config={"marker": str(marker)})
              .env_runners(num_env_runners=1)
              .training(train_batch_size=200, minibatch_size=100, num_epochs=1))
    try:
        rldebug.run(config, trace="summary", logdir=tmp_path / "run", local=False,
                    stop={"training_iteration": 2}, progress=False).algo.stop()
    except Exception as err:  # noqa: BLE001 - whether RLlib recovers is not the question
        assert "ActorDied" in type(err).__name__ or "died" in str(err).lower(), err
    assert marker.exists(), "the env never sent itself SIGTERM"
    events = load_trace(tmp_path / "run" / "trace").events.to_dict("records")
    nan = [e for e in events if e["column"] == "rewards"]
    assert nan and nan[0]["env_step"] == 5 and nan[0]["runner_index"] == 1, [
        (e["column"], e.get("pid"), e.get("message")) for e in events]


def test_tables_too_wide_for_the_console_are_split_not_cut(capsys, monkeypatch):
    """At 80 columns (a pipe's width) rich cut the learning table's 11 figures to
    ``0.0…``; now its columns go over several tables and every figure is whole."""
    monkeypatch.setenv("COLUMNS", "80")
    run = Path(__file__).parent / "diff_runs" / "lr_1e-5" / "PPO_seed_0"
    assert main(["trace", str(run), "--last", "3"]) == 0
    out = capsys.readouterr().out
    assert "…" not in out
    assert max(len(line) for line in out.splitlines()) <= 80
    assert "Learning per iteration and module (1/" in out
    means = load_trace(run).updates.groupby("iteration")[["param_update_norm", "lr"]].mean()
    last = means.iloc[-1]
    assert f"{last.param_update_norm:.3g}" in out and f"{last.lr:.3g}" in out
    assert out.count("default_policy") >= 2 * 3  # the key columns repeat in every part
    learning = out[out.index("Learning per iteration"):]
    shown = {int(line.split("│")[1]) for line in learning.splitlines()
             if line.startswith("│") and line.split("│")[1].strip().isdigit()}
    assert shown == {18, 19, 20}  # --last 3: the last 3 iterations (it showed 6 rows)


@pytest.mark.slow  # ~16 s
def test_old_stack_step_events_of_a_remote_worker_name_that_worker(tmp_path, capsys):
    """RLlib's old stack passes on_episode_step its RolloutWorker as worker=, not
    env_runner=: a remote worker's NaN reward was filed as runner 0, 'local'. The CLI
    table showed the NaN as '-' (as a column the event lacks)."""
    config = trace(tiny_arena_config("old").env_runners(num_env_runners=1), out=tmp_path)
    config.environment(NaNRewardArena, env_config={"max_timesteps": 20})
    try:
        train(config, iterations=1)
    except Exception as err:  # noqa: BLE001 - the old stack's loss may die on the NaN
        assert "invalid values" in str(err), err
    events = load_trace(tmp_path).events
    rewards = events[(events.source == "sampling") & (events.column == "rewards")]
    assert list(rewards.runner_index) == [1] and list(rewards.runner) == ["remote"]
    assert main(["trace", str(tmp_path), "--last", "1"]) == 0
    table = capsys.readouterr().out  # event 1 (the NaN reward): its value, NaN, shown
    assert re.search(r"│ 1 │ +- │ +nan │", table), table


def test_a_remote_learner_threads_last_updates_reach_the_trace(tmp_path):
    """An independent user's APPO runs (remote Learner, its updates in RLlib's learner
    thread) missed the last two updates of every run (28 run, 26 traced): their records
    waited for an update() call that never came."""
    from learner_faults import APPOLearnerThatCounts
    from ray.rllib.algorithms.appo import APPOConfig

    count = tmp_path / "count"
    config = (APPOConfig().environment("CartPole-v1").env_runners(num_env_runners=1)
              .training(train_batch_size_per_learner=100)
              .learners(learner_class=APPOLearnerThatCounts,
                        learner_config_dict={"count_file": str(count)})
              .reporting(min_time_s_per_iteration=1))
    done = []  # the updates the learner thread had finished at each result

    def enough(iteration, result):  # an APPO learner thread may lag behind under load
        done.append(len(count.read_text().splitlines()) if count.exists() else 0)
        return done[-1] >= 6 or iteration >= 40

    result = rldebug.run(config, stop=enough, logdir=tmp_path / "run", trace="batches",
                         local=False, progress=False)
    result.algo.stop()
    assert result.algo.config.num_learners == 1  # RLlib's default for APPO: remote
    updates = load_trace(tmp_path / "run" / "trace").updates
    # every update the learner thread finished is in the trace
    assert len(updates) == len(count.read_text().splitlines()) >= 6, (len(updates), done)
