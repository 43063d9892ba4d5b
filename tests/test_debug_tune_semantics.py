"""A Tune experiment's settings mean under ``rldebug debug`` what they mean to Tune 2.60.

Found by a new-user audit of ``rldebug debug`` against Tune (2026-12-05): a list of
Stoppers failed every trial, a stop key missing from the results failed the trial (Tune
warns and goes on), ``from ray.tune import report`` lost every metric, a fixed experiment
name could not be run twice (and the refusal was written into the earlier run's folder),
``Tuner.get_results()`` raised, Tune's callbacks were not called (then, as a review
found, called on an unhashable trial, after the result was written, with exceptions
Tune treats otherwise), ``done=True`` and ``TuneConfig(metric=)`` were not checked,
``stop_all()`` and ``time_budget_s`` did not end the
experiment, the name creators, ``fail_fast="RAISE"`` and Tune's refusal of checkpoint
options on a function trainable were ignored, ``get_dataframe()`` named Tune's
``logdir`` column ``path``, a custom Algorithm subclass trained as its parent class,
``Tuner.restore`` ran a trial with an empty config, and a scheduler or ``max_failures``
was dropped without a word.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_debug_script import session_env

SCRIPTS = Path(__file__).parent / "debug_scripts"


def _seen(done: subprocess.CompletedProcess) -> dict:
    assert done.returncode == 0, done.stderr[-3000:]
    (line,) = [line for line in done.stdout.splitlines() if line.startswith("SEEN ")]
    return json.loads(line[len("SEEN "):])


def _run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *command], env=session_env(), capture_output=True,
                          text=True, timeout=600, check=False, **kwargs)


def _debugged(tmp_path) -> subprocess.CompletedProcess:
    return _run(["-m", "rldebug", "debug", str(SCRIPTS / "tune_semantics.py"),
                 str(tmp_path / "debugged")])


@pytest.mark.slow  # plain Tune takes ~60 s on two cores; the test below asserts its values
def test_tune_settings_mean_the_same_under_rldebug_debug_as_plain(tmp_path):
    # plain Tune starts a Ray instance of its own, as the script would on its own
    env = {k: v for k, v in os.environ.items() if k not in ("RAY_ADDRESS",
                                                            "RLDEBUG_RAY_ADDRESS")}
    plain = subprocess.run([sys.executable, str(SCRIPTS / "tune_semantics.py"),
                            str(tmp_path / "plain")], env=env, capture_output=True,
                           text=True, timeout=300, check=False)
    assert _seen(_debugged(tmp_path)) == _seen(plain)


def test_tune_settings_under_rldebug_debug_do_what_tune_does(tmp_path):
    # the values plain Tune 2.60 gives for the same script (the slow test above checks
    # that both agree), so that the equality cannot hold by both doing nothing
    debugged = _debugged(tmp_path)
    ours = _seen(debugged)
    assert ours["stoppers_iterations"] == [3, 3]
    assert ours["context_is_the_trial"] == [True, True]
    assert ours["runtime_env_in_the_trials"] == ["on", "on"]
    assert ours["get_results_after_fit"] == 2 and ours["dataframe_has_logdir"]
    assert ours["missing_key"] == [[4, 4], 0]
    assert ours["creators_folders"] == ["folder1", "folder2"]
    assert ours["stop_all"] == [2] and ours["time_budget"] == [1, True]
    assert ours["fail_fast_raise"] == "bad trial 1"
    assert ours["function_checkpoint_at_end"].startswith("'checkpoint_at_end' cannot be used")
    assert ours["twice"] == [[2, 0], [2, 0]] and ours["twice_folders"] == 4
    assert ours["callbacks"] == [
        ["setup", 2], ["start", 1, 1], ["result", 1, 1, True, False, "RUNNING", None],
        ["checkpoint", 1, "checkpoint_000000"], ["save", 1],
        ["result", 1, 2, True, True, "RUNNING", 1], ["checkpoint", 1, "checkpoint_000001"],
        ["save", 1], ["complete", 1, 2], ["start", 2, 2], ["error", 2], ["end", 2]]
    assert ours["callbacks_stepped"] and ours["checkpoint_kept"] == "1"
    assert ours["logger_callback"] == ["score 1", "score 2", "end failed=False after 2",
                                       "end failed=True after 0"]
    assert ours["callback_changed_the_result"] == [7, [7, 7]]
    assert ours["raising_on_trial_result"] == ["raised", "TuneError",
                                               "KeyError: 'from on_trial_result'"]
    assert ours["raising_on_trial_complete"] == ["returned", 2]  # each trial errored
    assert ours["done_stops"] == 2 and ours["metric_typo"] == ["TuneError", True]
    assert ours["fail_fast_yes"].startswith("fail_fast must be one of")
    assert ours["time_budget_silent_start"] == [True]
    assert ours["best_of_unreported"][0] == "RuntimeError"  # Tune's, not a KeyError
    assert ours["tune_run_best_of_unreported"] is None  # tune.run's warns, returns None
    # a NaN last value leaves its trial out unless filter_nan_and_inf=False; scope="all"'s
    # max over [5, nan] is NaN as in Tune, which compares values in the order reported
    assert ours["best_with_nan"] == [2, 1, 2, 2, 2]
    # Tune's "avg" is a running mean weighted by training_iteration: 1.2 against 1.5
    assert ours["best_avg_now_and_then"] == 2
    assert ours["one_name"] == [2, 0, [1, 1]]  # "trial" and "trial_<4 hex>", as Tune's
    assert ours["refused_config"] == ("Cannot use `custom_model` option with the new API "
                                      "stack (RLModule and Learner APIs)")
    err = debugged.stderr
    assert "stop criterion 'no_such_metric' is not in trial" in err
    assert "the experiment was ended after 1 of 3 trials (a Stopper's stop_all()" in err
    assert not list((tmp_path / "debugged" / "twice").glob("*/error.txt"))
    assert "JsonLoggerCallback]): rldebug writes result.json" in err


def test_settings_a_process_cannot_honour_are_said_and_restore_is_refused(tmp_path):
    script = tmp_path / "settings.py"
    script.write_text(
        "import sys\nfrom ray import tune\nfrom ray.tune.schedulers import ASHAScheduler\n"
        "def f(config):\n    tune.report({'score': 1})\n"
        "grid = tune.Tuner(f, tune_config=tune.TuneConfig(metric='score', mode='max', "
        "scheduler=ASHAScheduler()), run_config=tune.RunConfig(storage_path=sys.argv[1], "
        "name='e', failure_config=tune.FailureConfig(max_failures=3))).fit()\n"
        "print('TRIALS', len(grid))\n"
        "tune.Tuner.restore(str(grid.experiment_path), trainable=f).fit()\n")
    done = _run(["-m", "rldebug", "debug", str(script), str(tmp_path / "out")])
    assert "TRIALS 1" in done.stdout
    assert ("in this process TuneConfig(scheduler=AsyncHyperBandScheduler): no trial is "
            "stopped early or perturbed; each runs to its stop criteria; "
            "FailureConfig(max_failures=3): a failed trial is not retried.") in done.stderr
    assert done.returncode == 2, done.stderr[-3000:]  # a usage error, said in one line
    assert "Tuner.restore(...) resumes an experiment through Tune's controller" in done.stderr
    assert "Traceback" not in done.stderr
    (trial,) = [p for p in (tmp_path / "out" / "e").iterdir() if p.is_dir()]
    assert not (trial / "error.txt").exists()  # the earlier run is left as it was


def test_tune_runs_own_arguments_are_said_as_the_tuners_are(tmp_path):
    script = tmp_path / "run.py"
    script.write_text(
        "import sys\nfrom ray import tune\nfrom ray.tune.schedulers import FIFOScheduler\n"
        "def f(config):\n    tune.report({'s': 1})\n"
        "analysis = tune.run(f, scheduler=FIFOScheduler(), max_failures=2, verbose=0, "
        "keep_checkpoints_num=1, storage_path=sys.argv[1], raise_on_failed_trial=False)\n"
        "print('TRIALS', len(analysis.trials))\n")
    done = _run(["-m", "rldebug", "debug", str(script), str(tmp_path / "out")])
    assert done.returncode == 0 and "TRIALS 1" in done.stdout, done.stderr[-2000:]
    assert ("in this process tune.run(scheduler=FIFOScheduler): no trial is stopped early "
            "or perturbed; each runs to its stop criteria; tune.run(max_failures=2): a failed "
            "trial is not retried; tune.run(verbose=0): rldebug's progress table is shown; "
            "tune.run(keep_checkpoints_num=1): one checkpoint per trial is kept.") in done.stderr


def test_a_custom_algorithm_subclass_trains_as_itself_with_tunes_default_checkpoint(
        tmp_path):
    seen = _seen(_run(["-m", "rldebug", "debug", str(SCRIPTS / "tune_algorithm_subclass.py"),
                       str(tmp_path)]))
    # MyPPO's training_step ran here (it was PPO's), and the Tuner's default
    # CheckpointConfig saved a checkpoint at the end, as Tune's does for Algorithms
    assert seen == {"my_training_steps": 1, "checkpoint": True, "errors": 0}


# ~5 s each (a subprocess that imports RLlib): two by default (the refusal's path: exit 2,
# one line), the other three messages in make test-all.
# (Tune's Tuner resolves a cloud path when built, which fails offline; tune.run's
# storage_path reaches rldebug as given)
@pytest.mark.parametrize("call, said", [
    ("tune.run(f, storage_path='s3://bucket/x')",
     "storage_path='s3://bucket/x' is not a folder on this machine"),
    ("tune.Tuner(f, tune_config=tune.TuneConfig(num_samples=-1)).fit()",
     "TuneConfig(num_samples=-1) samples trials until"),
    pytest.param(("tune.Tuner(f, run_config=tune.RunConfig(storage_filesystem=__import__("
                  "'pyarrow.fs').fs.LocalFileSystem())).fit()"),
                 ("RunConfig(storage_filesystem=LocalFileSystem) writes the trials through "
                  "another filesystem"), marks=pytest.mark.slow),
    pytest.param("tune.run(f, resume=True)", "tune.run(resume=...) resumes an experiment",
                 marks=pytest.mark.slow),
    pytest.param("tune.run(f, stp={'training_iteration': 1})",  # plain tune.run: a TypeError
                 "tune.run() got unexpected keyword arguments ['stp']",
                 marks=pytest.mark.slow)], ids=["s3", "samples", "filesystem", "resume", "typo"])
def test_what_one_process_cannot_do_is_refused_in_one_line(tmp_path, call, said):
    script = tmp_path / "refused.py"
    script.write_text("from ray import tune\ndef f(config):\n    tune.report({'s': 1})\n"
                      f"{call}\n")
    done = _run(["-m", "rldebug", "debug", str(script)], cwd=tmp_path)
    assert done.returncode == 2 and said in done.stderr, done.stderr[-2000:]
    assert not os.path.exists(tmp_path / "s3:")


def test_tunes_own_readers_read_back_what_trials_in_this_process_wrote(tmp_path):
    """ExperimentAnalysis(path) and Tuner.restore(path).get_results() need Tune's
    experiment_state file; without it a folder rldebug debug wrote could not be read
    by a user's analysis notebook (found in an audit)."""
    script = str(SCRIPTS / "tune_read_back.py")
    fit = _seen(_run(["-m", "rldebug", "debug", script, str(tmp_path)]))
    # [last score, error, the last checkpoint's step, results]: trial three failed at its
    # second result, after one checkpoint
    assert fit["grid"] == [[3, "", "2", 3], [3, "ValueError", "0", 1], [6, "", "2", 3]]
    read = _seen(_run([script, str(tmp_path), "--read"]))  # plain Python, Tune's classes
    assert read == {**fit, "best_config": {"x": 2}, "all_max": {"x": 2}}
