"""rldebug.run: stop criteria, the Tune-style files it writes, and the CLI."""

import csv
import json
import os
import subprocess
import sys

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tiny import tiny_arena_config

from rldebug import run
from rldebug.cli import main
from rldebug.inprocess.runlog import RunLogger
from rldebug.usage import UsageError


def scalars(logdir):
    events = EventAccumulator(str(logdir), size_guidance={"scalars": 0})
    events.Reload()
    return {tag: [e.value for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]}


def test_stops_at_training_iteration_and_writes_tune_files(tmp_path, api_stack):
    result = run(tiny_arena_config(api_stack), stop={"training_iteration": 2},
                 logdir=tmp_path, progress=False)
    result.algo.stop()
    assert result.iterations == 2 and "training_iteration" in result.stopped_by
    lines = (tmp_path / "result.json").read_text().splitlines()
    assert [json.loads(line)["training_iteration"] for line in lines] == [1, 2]
    with open(tmp_path / "progress.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["training_iteration"] for r in rows] == ["1", "2"]
    assert json.loads((tmp_path / "params.json").read_text())["train_batch_size"] == 200
    tags = scalars(tmp_path)
    return_tag = "ray/tune/env_runners/episode_return_mean"
    steps_tag = ("ray/tune/env_runners/num_env_steps_sampled" if api_stack == "new"
                 else "ray/tune/num_env_steps_sampled")
    assert len(tags[return_tag]) == 2 and len(tags[steps_tag]) == 2
    assert tags[return_tag][-1] == pytest.approx(
        json.loads(lines[-1])["env_runners"]["episode_return_mean"], rel=1e-5)


def test_stops_on_a_result_metric(tmp_path):
    result = run(tiny_arena_config(), stop={"env_runners/episode_return_mean": -1e9,
                                            "training_iteration": 10},
                 logdir=tmp_path, progress=False)
    result.algo.stop()
    assert result.stopped_by.startswith("env_runners/episode_return_mean")
    assert result.iterations < 10


def test_stops_on_time_and_on_a_function(tmp_path):
    by_time = run(tiny_arena_config(), stop={"time_total_s": 1e-6}, logdir=tmp_path / "t",
                  progress=False)
    by_time.algo.stop()
    assert by_time.iterations == 1 and "time_total_s" in by_time.stopped_by
    by_fn = run(tiny_arena_config(), stop=lambda it, result: it >= 2, logdir=tmp_path / "f",
                progress=False)
    by_fn.algo.stop()
    assert by_fn.iterations == 2


def test_checkpoint_at_end(tmp_path, api_stack):
    result = run(tiny_arena_config(api_stack), stop={"training_iteration": 1}, logdir=tmp_path,
                 progress=False, checkpoint_at_end=True)
    result.algo.stop()
    assert result.checkpoint == tmp_path / "checkpoint_000001"
    if api_stack == "new":
        assert (result.checkpoint / "learner_group" / "learner" / "rl_module" / "pol1").is_dir()
    else:
        assert (result.checkpoint / "policies" / "pol1").is_dir()


def test_a_misspelt_stop_metric_raises_with_suggestions(tmp_path):
    with pytest.raises(KeyError, match="episode_return_mean"):
        run(tiny_arena_config(), stop={"env_runners/episode_retrun_mean": 1},
            logdir=tmp_path, progress=False)


@pytest.mark.parametrize("stop, error, match", [
    ({"training_iteration": "10"}, TypeError, "must be a number"),
    ({"env_runners": {"episode_return_mean": 15}}, TypeError,
     r"slash-separated, e.g. stop=\{'env_runners/episode_return_mean': ...\}"),
    (["training_iteration"], TypeError, "must be a dict"),
    (None, ValueError, "needs a way to end"),
])
def test_bad_stop_is_rejected_before_training(tmp_path, stop, error, match):
    with pytest.raises(error, match=match):
        run(tiny_arena_config(), stop=stop, logdir=tmp_path, progress=False)


def test_unwritable_logdir_fails_before_training(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    with pytest.raises(ValueError, match="Cannot write to log directory"):
        run(tiny_arena_config(), stop={"training_iteration": 1}, logdir=blocker / "run")
    with pytest.raises(ValueError, match=r"Pass logdir= \(--logdir on the command line\)"):
        run(tiny_arena_config(), stop={"training_iteration": 1}, logdir=blocker / "run")


def test_not_a_config_is_a_type_error():
    with pytest.raises(TypeError, match="AlgorithmConfig"):
        run("PPO", stop={"training_iteration": 1})


def test_progress_csv_widens_when_a_key_appears_later(tmp_path):
    logger = RunLogger(tmp_path)
    logger.log({"training_iteration": 1, "a": 1.0})
    logger.log({"training_iteration": 2, "a": 2.0, "env_runners": {"ret": 5.0}})
    logger.close()
    with open(tmp_path / "progress.csv") as f:
        rows = list(csv.DictReader(f))
    assert rows[0]["env_runners/ret"] == "" and rows[1]["env_runners/ret"] == "5.0"
    assert [r["a"] for r in rows] == ["1.0", "2.0"]


def test_a_run_killed_right_after_an_iteration_keeps_its_tensorboard_events(tmp_path):
    """Every file of a run is on disk after each result: a process killed (no close, no
    atexit) straight after logging an iteration keeps its TensorBoard scalars and text,
    read back by TensorBoard's own reader."""
    script = ("import os, sys\n"
              "from rldebug.inprocess.runlog import RunLogger\n"
              "logger = RunLogger(sys.argv[1])\n"
              "logger.log({'training_iteration': 1, 'env_runners': {'ret': 5.0}})\n"
              "logger.add_text('note', 'kept', 1)\n"
              "os._exit(0)\n")
    subprocess.run([sys.executable, "-c", script, str(tmp_path)], check=True, timeout=120)
    [events] = tmp_path.glob("events.out.tfevents.*")
    tags = EventAccumulator(str(events), size_guidance={"tensors": 0}).Reload().Tags()
    assert any(tag.endswith("env_runners/ret") for tag in tags["scalars"]), tags
    assert "note/text_summary" in tags["tensors"]


@pytest.mark.slow  # ~21 s each: a subprocess building APPO with a remote Learner
@pytest.mark.parametrize("end", ["exit", "shutdown"])
def test_a_script_that_leaves_a_remote_learners_algorithm_unstopped_exits_cleanly(tmp_path,
                                                                                   end):
    """An independent user's APPO script (RLlib's default num_learners=1, local=False)
    that never called result.algo.stop() hung at exit in 4 runs of 4: RLlib's
    LearnerGroup.__del__ ran after Ray's exit handler and Ray's auto-init started a new
    Ray. Here, without and with ray.shutdown() at the end: RLlib's __del__ raised at
    teardown ("Exception ignored in LearnerGroup.__del__"), and exit is now clean."""
    script = ("import sys\n"
              "import rldebug\n"
              "from ray.rllib.algorithms.appo import APPOConfig\n"
              "config = (APPOConfig().environment('CartPole-v1')\n"
              "          .env_runners(num_env_runners=1)\n"
              "          .training(train_batch_size_per_learner=100)\n"
              "          .reporting(min_time_s_per_iteration=0))\n"
              "result = rldebug.run(config, stop={'training_iteration': 1}, logdir=sys.argv[1],\n"
              "                     local=False, progress=False)\n"
              "print('LEARNERS', result.algo.config.num_learners)\n"
              "if sys.argv[2] == 'shutdown':\n"
              "    import ray\n"
              "    ray.shutdown()\n")
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}  # a Ray of its own
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path), end],
                          capture_output=True, text=True, timeout=150, env=env, check=False)
    assert done.returncode == 0 and "LEARNERS 1" in done.stdout, done.stderr[-2000:]
    assert "Exception ignored" not in done.stderr, done.stderr[-2000:]


def test_cli_run_writes_a_run_directory(tmp_path, capsys):
    assert main(["run", "--stop-iters", "1", "--logdir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f"tensorboard --logdir {tmp_path}" in out
    assert os.path.getsize(tmp_path / "result.json") > 0


def test_an_empty_stop_dict_is_rejected(tmp_path):
    with pytest.raises(ValueError, match="no criterion"):
        run(tiny_arena_config(), stop={}, logdir=tmp_path, progress=False)


def test_local_run_of_an_algorithm_with_remote_runners_is_rejected(tmp_path):
    algo = tiny_arena_config(num_env_runners=1).build_algo()
    try:
        with pytest.raises(ValueError, match="can only rewrite a config"):
            run(algo, stop={"training_iteration": 1}, logdir=tmp_path, progress=False)
    finally:
        algo.stop()


def test_cli_rejects_non_positive_stop_values(tmp_path, capsys):
    assert main(["run", "--stop-iters", "0", "--logdir", str(tmp_path)]) == 2
    assert "rldebug run: error: --stop-iters must be >= 1" in capsys.readouterr().err


@pytest.mark.slow  # trains the tutorial's arena to its target (~30-60 s on 2 cores)
def test_make_demo_reaches_the_tutorials_target_of_15(tmp_path, capsys):
    """The README's first claim: `make demo` (rldebug demo) trains the arena until the
    mean total return of both agents reaches 15."""
    assert main(["demo", "--logdir", str(tmp_path), "--budget", "600"]) == 0
    assert "Mean total return reached 15" in capsys.readouterr().out
    (result_file,) = tmp_path.rglob("result.json")
    last = json.loads(result_file.read_text().splitlines()[-1])
    assert last["env_runners"]["episode_return_mean"] >= 15


# -- an audit on a new user's setups ----------------------------------------------------


def _results(n, **extra):
    """Results as RLlib's first iterations give them before an episode ends."""
    return [{"training_iteration": i, "env_runners": {"num_env_steps_sampled": 32}, **extra}
            for i in range(1, n + 1)]


def test_an_episode_metric_not_reported_yet_is_waited_for_not_called_a_typo(caplog):
    """Pendulum's 200-step episodes at 32 steps an iteration: no return for 6 iterations,
    and the run was killed (KeyError) naming the key it rejected as the example."""
    from rldebug.inprocess.stopping import MISSING_PATIENCE, Stopper

    late = Stopper({"env_runners/episode_return_mean": -100,
                    "evaluation/env_runners/episode_return_mean": 0})
    with caplog.at_level("WARNING", logger="rldebug.run"):
        assert all(late.check(r) is None for r in _results(MISSING_PATIENCE + 3))
    assert caplog.text.count("RLlib reports it once an episode has ended") == 1
    assert caplog.text.count("once the first evaluation has run") == 1
    with pytest.raises(KeyError, match="episode_retrun_mean") as raised:  # a typo stops it
        typo = Stopper({"env_runners/episode_retrun_mean": 1})
        for result in _results(MISSING_PATIENCE):
            typo.check(result)
    # unusable input, as every tool raises it (a ValueError too), its message unquoted
    assert isinstance(raised.value, UsageError)
    assert str(raised.value).startswith("Stop criterion 'env_runners/episode_retrun_mean'")


def test_a_stop_key_that_is_a_dict_in_the_results_is_refused():
    """It was skipped without a word: the run went on to its other criteria or forever."""
    from rldebug.inprocess.stopping import Stopper

    stopper = Stopper({"env_runners/agent_episode_returns_mean": 1.0})
    result = {"env_runners": {"agent_episode_returns_mean": {"agent1": 22.0, "agent2": 30.0}}}
    with pytest.raises(ValueError, match=r"is a dict in the results, not a number: name one "
                                         r"of its entries, e.g. env_runners/"
                                         r"agent_episode_returns_mean/agent1"):
        stopper.check(result)


@pytest.mark.parametrize("key, moved", [("episode_return_mean", "episode_return_mean"),
                                        ("episode_reward_mean", "episode_return_mean")])
def test_a_2021_top_level_stop_key_names_where_the_metric_is_at_once(key, moved):
    """It was waited for as a metric reported once an episode ends, for ever."""
    from rldebug.inprocess.stopping import Stopper

    stopper = Stopper({key: 15.0})
    result = {"training_iteration": 1, "env_runners": {"episode_return_mean": 20.0}}
    with pytest.raises(KeyError, match=rf"is not a key of RLlib 2.60's results: it reports "
                                       rf"this metric as 'env_runners/{moved}'"):
        stopper.check(result)
    # before any episode ended the result has nothing to point at: patience decides
    assert Stopper({key: 15.0}).check({"training_iteration": 1, "env_runners": {}}) is None


def test_tune_stoppers_are_asked_as_tune_asks_them():
    """TrialPlateauStopper was given the iteration as its trial id (its state reset each
    time) and TimeoutStopper's stop_all() was never asked: neither ever stopped."""
    from ray.tune.stopper import TimeoutStopper, TrialPlateauStopper

    from rldebug.inprocess.stopping import Stopper

    plateau = Stopper(TrialPlateauStopper(metric="m", num_results=3, grace_period=3))
    reasons = [plateau.check({"training_iteration": i, "m": 1.0}) for i in range(1, 5)]
    assert reasons[:2] == [None, None] and reasons[2] == "TrialPlateauStopper stopped the trial"
    timeout = Stopper(TimeoutStopper(1e-9))  # its clock starts at the first stop_all()
    assert timeout.check({"training_iteration": 1}) is None
    assert timeout.check({"training_iteration": 2}) == "TimeoutStopper.stop_all() returned True"


@pytest.mark.slow  # trains with a remote EnvRunner, then restores it (~8 s)
def test_a_checkpoint_keeps_the_config_as_given_and_tune_reads_the_run(tmp_path):
    """run() trains in-process (local mode), and its checkpoint stored that config: restored
    without rldebug, it had no EnvRunners and rldebug's own callback. Tune's
    Result.from_path could not read a run with a checkpoint (no checkpoint_dir_name)."""
    from ray.rllib.algorithms.algorithm import Algorithm
    from ray.tune import Result

    config = tiny_arena_config().env_runners(num_env_runners=1)
    result = run(config, stop={"training_iteration": 1}, logdir=tmp_path, progress=False,
                 checkpoint_at_end=True)
    result.algo.stop()
    assert result.algo.config.num_env_runners == 0  # trained in this process
    restored = Algorithm.from_checkpoint(str(result.checkpoint))
    try:
        assert restored.config.num_env_runners == 1
        assert "PassiveEnvCheck" not in str(restored.config.callbacks_class)
    finally:
        restored.stop()
    read = Result.from_path(str(tmp_path))
    assert read.checkpoint.path.endswith("checkpoint_000001")
    assert read.best_checkpoints[0][1]["training_iteration"] == 1


def test_ctrl_c_keeps_the_model_and_says_where_the_files_are(tmp_path):
    """Ctrl+C lost the trained weights (no checkpoint, the algorithm stopped) and did not
    name the run's folder."""
    def ctrl_c_in_iteration_3(result):
        if result["training_iteration"] == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt) as stopped:
        run(tiny_arena_config(), stop={"training_iteration": 5}, logdir=tmp_path,
            progress=False, checkpoint_at_end=True, on_result=ctrl_c_in_iteration_3)
    notes = "\n".join(stopped.value.__notes__)
    assert f"the run's files (1 complete iteration) are in {tmp_path}" in notes
    assert f"saved {tmp_path / 'checkpoint_000001_interrupted'} after Ctrl+C" in notes
    assert (tmp_path / "checkpoint_000001_interrupted" / "rllib_checkpoint.json").is_file()


def test_the_cli_says_the_envs_own_error_and_the_runs_folder(tmp_path, capsys):
    """RLlib re-raises an env's exception as a bare RuntimeError: the CLI said
    'rldebug run: RuntimeError: ' and nothing else."""
    config_file = tmp_path / "raises.py"
    config_file.write_text(
        "import gymnasium as gym\n"
        "from ray.rllib.algorithms.ppo import PPOConfig\n"
        "class Explodes(gym.Env):\n"
        "    observation_space = gym.spaces.Box(-1, 1, (2,))\n"
        "    action_space = gym.spaces.Discrete(2)\n"
        "    def __init__(self, config=None):\n"
        "        self.t = 0\n"
        "    def reset(self, *, seed=None, options=None):\n"
        "        return self.observation_space.sample(), {}\n"
        "    def step(self, action):\n"
        "        self.t += 1\n"
        "        if self.t > 150:\n"
        "            raise ValueError('env exploded at step 150')\n"
        "        return self.observation_space.sample(), 0.0, self.t % 20 == 0, False, {}\n"
        "def make():\n"
        "    return (PPOConfig().environment(Explodes)\n"
        "            .training(train_batch_size=100, minibatch_size=50, num_epochs=1))\n")
    logdir = tmp_path / "run"
    assert main(["run", "--config", f"{config_file}:make", "--stop-iters", "5",
                 "--logdir", str(logdir)]) == 1
    err = capsys.readouterr().err
    assert "(from ValueError: env exploded at step 150)" in err
    assert f"error.txt) are in {logdir}" in err


def test_tensorboard_gets_inf_and_done_as_tunes_logger_writes_them(tmp_path):
    """A diverging loss (inf) and done were left out of TensorBoard; Tune's TBXLogger
    leaves out NaN only."""
    logger = RunLogger(tmp_path, config={})
    logger.log({"training_iteration": 1, "done": False,
                "learners": {"p": {"loss": float("inf"), "low": float("-inf"),
                                   "nan": float("nan"), "ok": 1.0}}})
    logger.close()
    tags = scalars(tmp_path)
    assert tags["ray/tune/learners/p/loss"] == [float("inf")]
    assert tags["ray/tune/learners/p/low"] == [float("-inf")]
    assert tags["ray/tune/done"] == [0.0] and "ray/tune/learners/p/nan" not in tags
