"""Tutorial-era `tune.run` scripts end to end under ``rldebug debug``: 2021 config dicts on
the old API stack however they reach an Algorithm, multi-agent envs with one shared
space, failed trials that leave Tune's files, and the ExperimentAnalysis a 2021 script
reads, checked method by method against plain Tune 2.60 on a real run."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from test_debug_script import masked, session_env

HERE = Path(__file__).parent
SCRIPT = HERE / "debug_scripts" / "tune_run_2021_script.py"
sys.path.insert(0, str(HERE / "legacy"))


def _printed(stdout: str, label: str) -> str:
    return stdout.split(f"{label} ", 1)[1].splitlines()[0]


def _native_old_stack_run(iterations: int) -> list[dict]:
    """The script's training written natively for RLlib 2.60 (AlgorithmConfig methods, a
    gymnasium env with per-agent spaces, the old API stack the 2021 dict maps to)."""
    from ray.rllib.algorithms.ppo import PPOConfig
    from runners_2021 import Runners

    env = Runners()
    spec = (None, env.observation_space, env.action_space, {})
    config = (PPOConfig()
              .api_stack(enable_rl_module_and_learner=False,
                         enable_env_runner_and_connector_v2=False)
              .environment(Runners, env_config={"length": 10})
              .env_runners(num_env_runners=0)
              .training(train_batch_size=200, minibatch_size=50, num_epochs=2,
                        model={"fcnet_hiddens": [16, 16]})
              .multi_agent(policies={"fast": spec, "slow": spec},
                           policy_mapping_fn=lambda aid, *args, **kwargs:
                           "fast" if aid == "runner_0" else "slow")
              .debugging(seed=7))
    algo = config.build_algo()
    try:
        return [algo.train() for _ in range(iterations)]
    finally:
        algo.stop()


def test_a_2021_multi_agent_tune_run_script_runs_unchanged_and_matches_native_training(
        tmp_path):
    done = subprocess.run([sys.executable, "-m", "rldebug", "debug", str(SCRIPT),
                           str(tmp_path)], env=session_env(), capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "2021 config dict (num_workers, sgd_minibatch_size, num_sgd_iter, multiagent, " \
        "callbacks with 2021 hooks): config mapped to PPOConfig on the old API stack" \
        in done.stderr
    assert re.search(r"PPO_Runners2021_[0-9a-f]{5}_00000: iter=1  env_steps=200",
                     done.stderr)  # progress, piped, by Tune's trial name
    assert "Trial status: 1 TERMINATED" in done.stderr  # and Tune's summary
    assert _printed(done.stdout, "STATUS") == "TERMINATED"
    assert _printed(done.stdout, "ITERATION") == "2"
    assert _printed(done.stdout, "BEST_CONFIG_SEED") == "7"
    assert _printed(done.stdout, "DATAFRAME_ROWS") == "1"
    assert _printed(done.stdout, "TRIAL_DATAFRAME_ROWS") == "2"
    moves = float(_printed(done.stdout, "MOVES_MEAN"))
    assert 0 < moves <= 20  # two runners, 10 steps: counted by the 2021 callback

    native = _native_old_stack_run(2)[-1]["env_runners"]
    assert float(_printed(done.stdout, "EPISODE_REWARD_MEAN")) == pytest.approx(
        native["episode_reward_mean"], abs=1e-9)
    policy_means = dict(native["policy_reward_mean"])
    assert _printed(done.stdout, "POLICY_REWARD_MEAN") == str(sorted(
        (k, type(v)(v)) for k, v in policy_means.items()))
    trial_dir = next((tmp_path / "runners").glob("PPO_*_00000_0*"))
    assert (trial_dir / "params.json").is_file()
    assert len((trial_dir / "result.json").read_text().splitlines()) == 2


@pytest.mark.slow  # ~16 s; the router both doors use is tested by the next test
def test_tuner_and_get_trainable_cls_take_a_2021_dict_to_the_old_stack(tmp_path):
    script = HERE / "debug_scripts" / "entry_points_2021_script.py"
    done = subprocess.run([sys.executable, "-m", "rldebug", "debug", str(script),
                           str(tmp_path)], env=session_env(), capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stderr.count("2021 config dict (num_workers, sgd_minibatch_size, "
                             "num_sgd_iter, multiagent)") == 2
    assert _printed(done.stdout, "TUNER_ERRORS") == "0"
    assert float(_printed(done.stdout, "TUNER_RETURN")) > -2  # 10 steps of -0.1 at worst
    assert _printed(done.stdout, "OLD_STACK") == "True"
    assert _printed(done.stdout, "POLICY_REWARD_MEAN") == "['shared']"


def test_a_2021_dict_reaches_the_old_stack_by_every_entry_and_others_do_not():
    from ray.rllib.algorithms.ppo import PPO

    from rldebug.compat.legacy import config_from_dict, keys_2021

    notes = []
    old = config_from_dict(PPO, {"env": "CartPole-v1", "num_workers": 1,
                                 "sgd_minibatch_size": 64}, notes.append)
    assert not old.enable_rl_module_and_learner and old.minibatch_size == 64
    assert old.num_env_runners == 1
    assert notes and "old API stack" in notes[0] and "num_workers" in notes[0]
    new = config_from_dict(PPO, {"env": "CartPole-v1", "num_env_runners": 1}, notes.append)
    assert new.enable_rl_module_and_learner and len(notes) == 1
    # AlgorithmConfig.to_dict() names its stack: never taken for a 2021 dict.
    assert keys_2021(old.to_dict()) == [] and keys_2021(new.to_dict()) == []


@pytest.mark.parametrize("declares", ["shared", "none"])
def test_a_multi_agent_env_without_per_agent_spaces_trains_on_the_new_stack(declares):
    import gymnasium as gym
    import numpy as np
    from ray.rllib.algorithms.ppo import PPOConfig
    from runners_2021 import Runners2021

    import rldebug
    from rldebug.compat.legacy import adapt_config_env

    class NoSpaces(Runners2021):
        def __init__(self, config=None):
            super().__init__(config)
            self.observation_space = self.action_space = None

    env_class = Runners2021 if declares == "shared" else NoSpaces
    obs, act = gym.spaces.Box(0.0, 1.0, (2,), np.float32), gym.spaces.Discrete(2)
    config = (PPOConfig().environment(env_class, env_config={"length": 10})
              .multi_agent(policies={"fast": (None, obs, act, {}), "slow": (None, obs, act, {})},
                           policy_mapping_fn=lambda aid, *args, **kwargs:
                           "fast" if aid == "runner_0" else "slow")
              .training(train_batch_size=200, minibatch_size=50, num_epochs=1))
    notes = []
    adapted = adapt_config_env(config, notes.append)
    told = " ".join(notes)
    assert "['runner_0', 'runner_1'] (from the observations of one reset())" in told
    assert ("one shared space" if declares == "shared" else "the policy specs") in told
    outcome = rldebug.run(adapted, stop={"training_iteration": 1}, progress=False)
    try:
        returns = outcome.last_result["env_runners"]["module_episode_returns_mean"]
        assert set(returns) == {"fast", "slow"}
    finally:
        outcome.algo.stop()


def test_an_env_that_answers_per_agent_through_its_own_getters_is_left_as_it_is():
    """RLlib's DoubleRowCorridorEnv declares no space attributes but overrides
    get_observation_space/get_action_space, which RLlib asks: no adaptation, no error
    (``rldebug debug`` on RLlib's multi_agent_observation_preprocessor.py example raised
    "declares no observation_space" where plain RLlib trains)."""
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.examples.envs.classes.multi_agent.double_row_corridor_env import (
        DoubleRowCorridorEnv,
    )

    from rldebug.compat.legacy import adapt_config_env

    config = PPOConfig().environment(DoubleRowCorridorEnv).multi_agent(
        policies={"p0", "p1"},
        policy_mapping_fn=lambda aid, *args, **kwargs: "p0" if aid == "agent_0" else "p1")
    notes = []
    assert adapt_config_env(config, notes.append) is config and notes == []


def test_no_rllib_multi_agent_example_env_whose_spaces_rllib_reads_is_refused():
    """Every multi-agent env class of RLlib's examples whose spaces RLlib's own getters
    return for each agent passes the space adaptation without an error (a fast guard; the
    slow tests/test_rllib_examples.py runs the example scripts themselves)."""
    import gymnasium as gym
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.env.multi_agent_env import MultiAgentEnv
    from rllib_example_envs import creator, example_env_classes

    from rldebug.compat.legacy import shared_space_agents

    checked = []
    for name, cls, _ in example_env_classes():
        if cls is None or not issubclass(cls, MultiAgentEnv):
            continue
        try:
            env = creator(cls)({})
            agents = list(getattr(env, "possible_agents", None) or [])
            readable = bool(agents) and all(
                isinstance(env.get_observation_space(a), gym.Space)
                and isinstance(env.get_action_space(a), gym.Space) for a in agents)
        except Exception:  # noqa: BLE001, S112 - RLlib could not use it either
            continue
        if not readable:
            continue
        config = PPOConfig().environment(cls).multi_agent(
            policies={str(a) for a in agents},
            policy_mapping_fn=lambda aid, *args, **kwargs: str(aid))
        shared_space_agents(env, config)  # raises UsageError where it refuses the env
        checked.append(name)
    assert len(checked) >= 5, checked  # 5 in RLlib 2.60 (others name their agents only later)


class BrokenStep:
    """A gymnasium env that crashes in its third step (for the failed-trial test)."""

    def __new__(cls, config=None):
        import gymnasium as gym
        import numpy as np

        class Broken(gym.Env):
            observation_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
            action_space = gym.spaces.Discrete(2)

            def reset(self, *, seed=None, options=None):
                self.t = 0
                return np.zeros(2, np.float32), {}

            def step(self, action):
                self.t += 1
                if self.t == 3:
                    raise RuntimeError("sensor cable unplugged at step 3")
                return np.zeros(2, np.float32), 0.0, False, False, {}

        return Broken()


def test_a_failed_in_process_trial_leaves_tunes_files_and_the_doctor_reports_it(
        tmp_path, capsys):
    from ray.tune import TuneError
    from ray.tune.registry import register_env

    from rldebug.doctor import diagnose
    from rldebug.inprocess.tune_trials import tune_run as _tune_run

    register_env("rldebug-test-broken-step", BrokenStep)
    config = {"env": "rldebug-test-broken-step", "num_env_runners": 0}
    with pytest.raises(TuneError, match="Trials did not complete"):  # as plain tune.run
        _tune_run("PPO", config, stop={"training_iteration": 2}, storage_path=str(tmp_path),
                  name="raises")
    analysis = _tune_run("PPO", config, stop={"training_iteration": 2},
                         storage_path=str(tmp_path), name="broken",
                         raise_on_failed_trial=False)
    (trial,) = analysis.trials
    # Tune's summary on stderr: the status table, and the root cause with its frame.
    err = capsys.readouterr().err
    assert "Trial status: 1 ERROR" in err
    assert (f"Trial {trial} errored: RuntimeError raised from RuntimeError: sensor cable "
            f"unplugged at step 3 at {__file__}:") in err
    assert f"traceback in {trial.path}/error.txt" in err
    # RLlib's EnvRunner raises a bare RuntimeError from the env's exception.
    assert trial.status == "ERROR" and "sensor cable unplugged" in str(trial.error.__cause__)
    folder = Path(trial.path)
    assert json.loads((folder / "params.json").read_text())["env"] == \
        "rldebug-test-broken-step"
    error = (folder / "error.txt").read_text()
    assert error.startswith("Failure # 1 (occurred at ")
    assert "Traceback (most recent call last)" in error and "sensor cable unplugged" in error
    assert trial.error_file == str(folder / "error.txt")
    assert (folder / "result.json").is_file()
    report = diagnose(folder)
    assert any("sensor cable unplugged" in f"{f.message} {f.evidence}"
               for f in report.findings), report.findings


# -- ExperimentAnalysis, method by method, against plain Tune 2.60 --------------------------

CONFIG = {"env": "CartPole-v1", "num_env_runners": 0, "train_batch_size": 200,
          "minibatch_size": 100, "num_epochs": 1, "seed": 0}
METRIC, MODE = "env_runners/episode_return_mean", "max"


@pytest.fixture(scope="module")
def analyses(tmp_path_factory):
    """(plain Tune's ExperimentAnalysis, rldebug's) for the same two-iteration run."""
    import ray
    from ray import tune

    from rldebug.inprocess import tune_trials

    root = tmp_path_factory.mktemp("analysis")
    assert ray.is_initialized()
    plain = tune.run("PPO", config=CONFIG, stop={"training_iteration": 2}, metric=METRIC,
                     mode=MODE, storage_path=str(root), name="plain", verbose=0)
    ours = tune_trials.tune_run("PPO", config=CONFIG, stop={"training_iteration": 2},
                               metric=METRIC, mode=MODE, storage_path=str(root), name="ours")
    return plain, ours


def test_trials_answer_as_tunes_trials(analyses):
    plain, ours = analyses
    assert len(ours.trials) == len(plain.trials) == 1
    p, o = plain.trials[0], ours.trials[0]
    assert o.status == p.status == "TERMINATED"
    # Tune's trial name and folder name, but for the experiment's id and the date
    assert masked(str(o)) == masked(str(p)) and masked(str(o)).endswith("_ID_00000")
    assert masked(Path(o.path).name) == masked(Path(p.path).name)
    assert o.config == p.config == CONFIG
    assert Path(o.path).is_dir() and Path(o.local_path) == Path(o.path) == Path(o.logdir)
    assert o.last_result["training_iteration"] == p.last_result["training_iteration"] == 2
    assert o.last_result["trial_id"] == o.trial_id and p.last_result["trial_id"] == p.trial_id
    missing = {k for k in p.last_result if k not in o.last_result}
    # "perf": Tune's UtilMonitor samples every 0.7 s and reports only when it has a sample
    # since the last iteration, in either process: there when an iteration took longer
    assert missing <= {"experiment_tag", "checkpoint_dir_name", "should_checkpoint",
                       "perf"}, missing
    # the 2021 keys on top of Tune's own
    assert o.last_result["episode_reward_mean"] == \
        o.last_result["env_runners"]["episode_return_mean"]


def test_best_trial_config_and_result_follow_tune_runs_metric_and_mode(analyses):
    plain, ours = analyses
    for analysis in (plain, ours):
        assert analysis.best_trial is analysis.trials[0]
        assert analysis.best_config == CONFIG
        assert analysis.best_result["training_iteration"] == 2
        assert analysis.get_best_trial(METRIC, "min") is analysis.trials[0]
        assert analysis.get_best_config(METRIC, MODE) == CONFIG
        assert analysis.get_best_checkpoint(analysis.trials[0], METRIC, MODE) is None
        assert list(analysis.get_all_configs()) == [analysis.trials[0].trial_id]
        assert list(analysis.results) == [analysis.trials[0].trial_id]
    assert ours.best_result_df.index.name == plain.best_result_df.index.name == "trial_id"
    for analysis in (plain, ours):
        (row,) = analysis.best_result_df.to_dict("records")
        assert row["training_iteration"] == 2
        assert analysis.best_dataframe["training_iteration"].tolist() == [1, 2]
    for name in ("best_result_df", "best_dataframe"):
        missing = set(getattr(plain, name).columns) - set(getattr(ours, name).columns)
        missing = {k for k in missing if not k.startswith("perf/")}  # sampled: see above
        assert missing <= {"experiment_tag", "checkpoint_dir_name", "should_checkpoint",
                           # Tune's own log redirection, put in each trial's config
                           "config/__stdout_file__", "config/__stderr_file__"}, (name, missing)


def test_a_trial_ctrl_c_left_unstarted_has_no_dataframe_row(tmp_path):
    """As ExperimentAnalysis._retrieve_rows skips a trial without results."""
    import json

    from rldebug.inprocess.trial_results import PENDING, InProcessAnalysis, InProcessTrial

    ran = InProcessTrial("e_00000", "PPO", "0", {"lr": 1e-3}, str(tmp_path / "t0"),
                         last_result={"training_iteration": 2, "trial_id": "e_00000"})
    (tmp_path / "t0").mkdir()
    (tmp_path / "t0" / "result.json").write_text(
        "".join(json.dumps({"training_iteration": i, "trial_id": "e_00000"}) + "\n"
                for i in (1, 2)))
    pending = InProcessTrial("e_00001", "PPO", "1", {"lr": 1e-4}, str(tmp_path / "t1"),
                             last_result={"trial_id": "e_00001"}, status=PENDING)
    frame = InProcessAnalysis([ran, pending], tmp_path).dataframe()
    assert frame["trial_id"].tolist() == ["e_00000"]


def test_without_metric_and_mode_the_best_properties_refuse_as_tunes_do(tmp_path):
    from ray.tune import ExperimentAnalysis

    from rldebug.inprocess.trial_results import InProcessAnalysis

    ours = InProcessAnalysis([], tmp_path)
    plain = ExperimentAnalysis.__new__(ExperimentAnalysis)
    plain.default_metric = plain.default_mode = None
    for analysis in (plain, ours):
        for name in ("best_trial", "best_config", "best_result"):
            with pytest.raises(ValueError, match="pass a `metric` and `mode`"):
                getattr(analysis, name)


def test_dataframes_have_tunes_shape(analyses):
    plain, ours = analyses
    p_df, o_df = plain.results_df, ours.results_df
    assert o_df.index.name == p_df.index.name == "trial_id" and len(o_df) == len(p_df) == 1
    # Tune's own: its trial tag, checkpoint bookkeeping, and its actor's log files. The
    # perf/ columns are left out on both sides: Tune's UtilMonitor thread samples CPU and
    # RAM every 0.7 s, so an iteration shorter than that has none, in either run (CI's
    # plain run had them and ours did not).
    def columns(frame):
        return {c for c in frame.columns if not c.startswith("perf/")}

    assert columns(p_df) - columns(o_df) <= {
        "experiment_tag", "checkpoint_dir_name", "should_checkpoint",
        "config/__stdout_file__", "config/__stderr_file__"}
    for frame in (plain.dataframe(), ours.dataframe(), plain.dataframe(METRIC, MODE),
                  ours.dataframe(METRIC, MODE)):
        assert len(frame) == 1 and "logdir" in frame.columns and METRIC in frame.columns
    (p_rows,), (o_rows,) = plain.trial_dataframes.values(), ours.trial_dataframes.values()
    assert len(o_rows) == len(p_rows) == 2
    assert list(o_rows["training_iteration"]) == list(p_rows["training_iteration"]) == [1, 2]
    assert METRIC in o_rows.columns and METRIC in p_rows.columns


def test_2021_checkpoint_arguments_and_local_dir_are_honoured(tmp_path):
    """tune.run(checkpoint_at_end=True, checkpoint_freq=1, local_dir=...) from the
    tutorial: they were dropped (said once), so best checkpoints were None and the trials
    went to ~/ray_results."""
    from rldebug.inprocess import tune_trials

    analysis = tune_trials.tune_run("PPO", config=CONFIG, stop={"training_iteration": 1},
                                   checkpoint_at_end=True, checkpoint_freq=1,
                                   local_dir=str(tmp_path), name="tutorial", metric=METRIC,
                                   mode=MODE)
    (trial,) = analysis.trials
    assert Path(trial.path).parent == tmp_path / "tutorial"
    checkpoint = analysis.get_best_checkpoint(trial, METRIC, MODE)
    assert checkpoint is not None and Path(checkpoint.path).parent == Path(trial.path)
    assert (Path(checkpoint.path) / "rllib_checkpoint.json").is_file()
