"""The doctor on files: Tune-like experiments, truncated lines, NaN/Infinity, the CLI."""

import argparse
import json
import subprocess
import sys

import pytest
from doctor_streams import healthy_stream, new_result

from rldebug.cli import main as rldebug_main
from rldebug.doctor import UnusableInputError, diagnose, to_json
from rldebug.doctor.cli import add_commands
from rldebug.doctor.reading import find_trial_dirs, read_trial
from rldebug.usage import UsageError


def write_trial(directory, results, *, config=None, truncate=False, tune_config=True):
    """A Tune trial dir: result.json lines as Tune writes them (config inside, after metrics)."""
    directory.mkdir(parents=True)
    config = config or {"lr": 0.5, "kl_target": 0.01}
    lines = []
    for result in results:
        line = dict(result)
        if tune_config:
            line.update(config=config, time_since_restore=1.0)
        lines.append(json.dumps(line))  # NaN/inf become NaN/Infinity tokens, as in Tune
    text = "\n".join(lines) + "\n"
    if truncate:
        text += lines[-1][: len(lines[-1]) // 2]
    (directory / "result.json").write_text(text)
    (directory / "params.json").write_text(json.dumps(config))
    return directory


def broken_results():
    return [new_result(1, {"pol1": {"kl": 0.01}}),
            new_result(2, {"pol1": {"kl": float("inf"), "total_loss": float("nan")}})]


@pytest.fixture
def experiment(tmp_path):
    exp = tmp_path / "PPO_exp"
    write_trial(exp / "PPO_Arena_00000_0_lr=0.0003", healthy_stream("new", 30), truncate=True)
    write_trial(exp / "PPO_Arena_00001_1_lr=0.5000", broken_results())
    (exp / "tuner.pkl").write_bytes(b"\x80\x04not to be unpickled")
    return exp


def test_experiment_dir_reads_every_trial_and_reports_the_truncated_line(experiment):
    diagnosis = diagnose(experiment)
    healthy, broken = diagnosis.trials
    assert (healthy.iterations, broken.iterations) == (30, 2)
    assert healthy.findings == [] and any("truncated" in n for n in healthy.notes)
    # an infinite KL and a NaN loss in the same iteration: updates far too large
    assert sorted((f.rule_id, f.severity, f.began_at_iteration, f.trial)
                  for f in broken.findings) == \
        [(rule, "error", 2, "PPO_Arena_00001_1_lr=0.5000")
         for rule in ("kl_blowup", "lr_too_high", "non_finite")]
    assert [f.rule_id for f in broken.causes] == ["lr_too_high"]
    assert diagnosis.exit_code == 1


def test_nan_and_infinity_tokens_survive_reading(experiment):
    trial = read_trial(experiment / "PPO_Arena_00001_1_lr=0.5000")
    assert "Infinity" in (trial.path / "result.json").read_text()
    stats = trial.results[1]["learners"]["pol1"]
    assert stats["mean_kl_loss"] == float("inf") and stats["total_loss"] != stats["total_loss"]
    assert trial.config == {"lr": 0.5, "kl_target": 0.01}


def test_bad_middle_line_falls_back_to_line_by_line_and_is_noted(tmp_path):
    trial = write_trial(tmp_path / "t", healthy_stream("new", 5), tune_config=False)
    lines = (trial / "result.json").read_text().splitlines()
    lines.insert(2, "{not json")
    (trial / "result.json").write_text("\n".join(lines) + "\n")
    data = read_trial(trial)
    assert len(data.results) == 5
    assert any("line 3 is not a JSON result" in note for note in data.notes)


def test_single_trial_and_rldebug_style_dir_and_result_file(tmp_path):
    trial = write_trial(tmp_path / "run", broken_results(), tune_config=False)
    for path in (trial, trial / "result.json"):
        assert diagnose(path).trials[0].name == "run"


def test_progress_csv_only_trial(tmp_path):
    trial = tmp_path / "csv_trial"
    trial.mkdir()
    (trial / "progress.csv").write_text(
        "training_iteration,learners/pol1/entropy,learners/pol1/mean_kl_loss\n"
        "1,1.38,0.01\n2,1.2,0.9\n3,1.1,0.0")
    diagnosis = diagnose(trial)
    assert diagnosis.trials[0].iterations == 2  # the unterminated last row is dropped
    assert any("truncated" in n for n in diagnosis.trials[0].notes)
    assert [f.rule_id for f in diagnosis.findings] == ["kl_blowup"]


def test_unusable_paths_raise_with_the_path_named(tmp_path):
    with pytest.raises(UnusableInputError, match="does not exist"):
        find_trial_dirs(tmp_path / "missing")
    with pytest.raises(UnusableInputError, match="No result.json or progress.csv"):
        find_trial_dirs(tmp_path)
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(UnusableInputError, match="is a file"):
        find_trial_dirs(tmp_path / "notes.txt")
    with pytest.raises(TypeError, match="Pass a path"):
        find_trial_dirs(3.5)


def test_json_report_is_strict_json(experiment):
    data = json.loads(to_json(diagnose(experiment)))
    evidence = data["trials"][1]["findings"][0]["evidence"]
    assert evidence == {"total_loss": "nan", "kl": "inf"}
    assert data["exit_code"] == 1


@pytest.mark.parametrize("case, code", [("healthy", 0), ("broken", 1), ("missing", 2),
                                        ("empty", 2), ("unreadable", 2)])
def test_cli_exit_codes(tmp_path, capsys, case, code):
    paths = {"healthy": lambda: write_trial(tmp_path / "h", healthy_stream("old", 20)),
             "broken": lambda: write_trial(tmp_path / "b", broken_results()),
             "missing": lambda: tmp_path / "nope",
             "empty": lambda: tmp_path,
             "unreadable": lambda: _garbage_trial(tmp_path / "g")}
    path = paths[case]()
    assert rldebug_main(["doctor", str(path)]) == code
    assert rldebug_main(["doctor", str(path), "--json"]) == code
    shown = capsys.readouterr()
    assert (shown.out + shown.err).strip()


def _garbage_trial(directory):
    directory.mkdir()
    (directory / "result.json").write_text("garbage\n")
    return directory


def test_cli_json_output_parses(tmp_path, capsys):
    trial = write_trial(tmp_path / "b", broken_results())
    rldebug_main(["doctor", str(trial), "--json"])
    data = json.loads(capsys.readouterr().out)
    assert data["trials"][0]["findings"][0]["rule_id"] == "non_finite"


def test_doctor_registers_its_own_command(tmp_path):
    parser = argparse.ArgumentParser(prog="rldebug")
    add_commands(parser.add_subparsers(dest="command"))
    trial = write_trial(tmp_path / "b", broken_results())
    args = parser.parse_args(["doctor", str(trial), "--json"])
    assert args.json and args.func(args) == 1


def test_cli_module_runs_as_a_script(tmp_path):
    trial = write_trial(tmp_path / "b", broken_results())
    done = subprocess.run([sys.executable, "-m", "rldebug.cli", "doctor", str(trial)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 1, done.stderr
    assert "non_finite" in done.stdout


def test_fast_reader_keeps_a_module_that_reports_only_mid_run(tmp_path):
    import json

    from rldebug.doctor.reading import read_result_json

    lines = []
    for it in range(1, 41):
        learners = {"pol1": {"entropy": 1.0}}
        if 10 <= it <= 20:
            learners["pol3"] = {"entropy": 0.5}
        lines.append(json.dumps({"training_iteration": it, "learners": learners}))
    path = tmp_path / "result.json"
    path.write_text("\n".join(lines) + "\n")
    results = read_result_json(path, [])
    assert [r["training_iteration"] for r in results] == list(range(1, 41))
    assert sum(1 for r in results if (r["learners"].get("pol3") or {}).get("entropy")) == 11


def _report_a_score(config):
    from ray import tune

    for step in range(3):
        tune.report({"score": step * config["x"]})


def test_a_tune_trial_of_another_trainable_is_not_diagnosed_as_rllib(tmp_path, capsys):
    """A real Tune experiment of a function trainable (what else lives in ~/ray_results):
    no rule judges it (no_updates said "the run samples but never learns", at error);
    the trial is named not an RLlib run and the doctor exits 2. In memory, the same
    results are refused."""
    from ray import tune

    tune.Tuner(_report_a_score, param_space={"x": 2}, run_config=tune.RunConfig(
        storage_path=str(tmp_path), name="fn_exp", verbose=0)).fit()
    diagnosis = diagnose(tmp_path / "fn_exp")
    (trial,) = diagnosis.trials
    assert trial.findings == [] and not trial.usable and diagnosis.exit_code == 2
    assert any(note.startswith("not an RLlib run: none of its 3 result(s)")
               for note in trial.notes)
    assert rldebug_main(["doctor", str(tmp_path / "fn_exp")]) == 2
    assert "not an RLlib run" in capsys.readouterr().out
    rows = [json.loads(line) for line in
            next((tmp_path / "fn_exp").glob("*/result.json")).read_text().splitlines()]
    with pytest.raises(UsageError, match="not an RLlib run.*it reported score"):
        diagnose(rows)
    with pytest.raises(UsageError, match="empty list of results"):
        diagnose([])


def test_a_crash_raised_while_handling_another_is_named_by_what_was_raised(tmp_path):
    """A real Tune trial of PPO on Blackjack-v1 (a Tuple observation, no flattening
    connector): RLlib's module catches the AttributeError its failed catalog caused and
    re-raises the catalog's ValueError ("During handling of the above exception ...").
    The doctor names the ValueError, which says what to fix, and the AttributeError
    after it; Ray's colour codes are not quoted."""
    from ray import tune
    from ray.rllib.algorithms.ppo import PPOConfig

    config = PPOConfig().environment("Blackjack-v1").env_runners(num_env_runners=0)
    tune.Tuner(config.algo_class, param_space=config, run_config=tune.RunConfig(
        storage_path=str(tmp_path), name="bj", verbose=0,
        stop={"training_iteration": 1})).fit()
    error = next((tmp_path / "bj").glob("*/error.txt")).read_text()
    assert "During handling of the above exception" in error and "\x1b[" in error
    (found,) = diagnose(tmp_path / "bj").findings
    assert found.rule_id == "trial_errored"
    assert found.message.startswith("The trial stopped with ValueError after 0 iteration(s): "
                                    "No default encoder config for obs space=Tuple(")
    assert "(raised while handling AttributeError: 'NoneType' object has no attribute" \
        in found.message
    assert found.evidence["last_lines"].splitlines()[-1].startswith("ValueError: No default")
    assert "\x1b[" not in found.message + found.evidence["last_lines"]


def _fail_once_at_iteration_4(marker):
    from ray.rllib.callbacks.callbacks import RLlibCallback

    class FailOnce(RLlibCallback):
        def on_train_result(self, *, algorithm, result, **kwargs):
            if result["training_iteration"] == 4 and not marker.exists():
                marker.write_text("failed")
                raise RuntimeError("failing once at iteration 4")

    return FailOnce


@pytest.mark.parametrize("every", [2, pytest.param(1, marks=pytest.mark.slow)],  # ~15 s each
                         ids=["checkpoint_every_2", "checkpoint_every_1"])
def test_a_trial_tune_restored_after_a_failure_is_read_as_it_went_on(tmp_path, every):
    """A real Tune trial that fails at iteration 4, is restored from its last checkpoint
    (FailureConfig(max_failures=1)) and finishes 6 iterations. Checkpointed every 2
    iterations, Tune writes iteration 3 twice, and error.txt keeps the failure: the
    doctor reads iteration 3 once (said in a note) and names the failure as a warning
    that did not end the run (it said "stopped with RuntimeError after 6 iteration(s)",
    an error). Checkpointed every iteration, nothing is written twice, and the failure
    was dated iteration 1: Tune's iterations_since_restore, which begins again at 1, says
    it was in iteration 4."""
    from ray import tune
    from ray.rllib.algorithms.ppo import PPOConfig

    config = (PPOConfig().environment("CartPole-v1")
              # a function in the config: Tune writes it as text with its address, which
              # the restored trial's new process changes (no change of config)
              .env_runners(num_env_runners=0, env_to_module_connector=lambda *args: [])
              .training(train_batch_size_per_learner=200, minibatch_size=100, num_epochs=1)
              .callbacks(_fail_once_at_iteration_4(tmp_path / "failed_once")))
    grid = tune.Tuner(config.algo_class, param_space=config, run_config=tune.RunConfig(
        storage_path=str(tmp_path), name="restored", verbose=0,
        stop={"training_iteration": 6}, failure_config=tune.FailureConfig(max_failures=1),
        checkpoint_config=tune.CheckpointConfig(checkpoint_frequency=every))).fit()
    trial_dir = next((tmp_path / "restored").glob("PPO_*"))
    # what a user may pass instead of the trial: Tune's objects, a checkpoint
    with pytest.raises(TypeError, match=f"diagnose\\({str(tmp_path / 'restored')!r}\\)"):
        diagnose(grid)
    with pytest.raises(TypeError, match=f"diagnose\\({str(trial_dir)!r}\\) \\(its .path"):
        diagnose(grid[0])
    with pytest.raises(UnusableInputError, match=f"RLlib checkpoint.*pass {str(trial_dir)!r}"):
        diagnose(trial_dir / "checkpoint_000001")
    written = [json.loads(line)["training_iteration"]
               for line in (trial_dir / "result.json").read_text().splitlines()]
    assert written == ([1, 2, 3, 3, 4, 5, 6] if every == 2 else [1, 2, 3, 4, 5, 6])
    (trial,) = diagnose(trial_dir).trials
    assert trial.iterations == 6
    assert [h.iteration for h in trial.history] == [1, 2, 3, 4, 5, 6]
    assert ("iteration 3 was written twice (the trial was restored from a checkpoint after "
            "iteration 2" if every == 2 else "the trial was restored from a checkpoint after "
            "iteration 3 (Tune's iterations_since_restore began again at 1)") in \
        " ".join(" ".join(trial.notes).split())
    (failed,) = [f for f in trial.findings if f.rule_id == "trial_errored"]
    assert (failed.severity, failed.began_at_iteration) == ("warning", 3 if every == 2 else 4)
    assert not read_trial(trial_dir).config_changes
    assert failed.message == (
        "The trial failed with RuntimeError: failing once at iteration 4. Tune restored it "
        "from a checkpoint: it went on to iteration 6, so the failure did not end the run.")


def test_thousands_of_bad_lines_are_named_by_the_first_few_and_counted(tmp_path):
    trial = tmp_path / "bigtext"
    trial.mkdir()
    (trial / "result.json").write_text("not json\n" * 500)
    (found,) = diagnose(trial).trials
    assert len(found.notes) == 5, found.notes  # 3 lines, the count, "no readable result"
    assert "497 more lines are not JSON results (lines 4-500); skipped." in found.notes[3]


@pytest.mark.slow  # ~14 s
def test_a_trial_directory_with_no_result_yet_is_named_not_left_out(tmp_path, capsys):
    """Tune makes a trial's directory before its first result: a pending trial, or one
    interrupted in its first iteration, has an empty one. The doctor said '1 trial(s)'
    of a two-trial experiment without a word about the other."""
    from ray import tune
    from ray.rllib.algorithms.ppo import PPOConfig

    from rldebug.cli import main as cli_main

    config = (PPOConfig().environment("CartPole-v1").env_runners(num_env_runners=0)
              .training(train_batch_size_per_learner=200, minibatch_size=100, num_epochs=1))
    tune.Tuner(config.algo_class, param_space=config, run_config=tune.RunConfig(
        storage_path=str(tmp_path), name="exp", verbose=0,
        stop={"training_iteration": 1})).fit()
    (trial,) = (tmp_path / "exp").glob("PPO_*")
    pending = trial.with_name(trial.name.replace("00000_0", "00001_1"))
    pending.mkdir()  # as Tune leaves it before the trial's first result
    started = trial.with_name(trial.name.replace("00000_0", "00002_2"))
    started.mkdir()  # as Tune leaves a trial in its first iteration: result.json opened
    (started / "result.json").touch()
    diagnosis = diagnose(tmp_path / "exp")
    assert len(diagnosis.trials) == 1
    assert diagnosis.without_results == [pending.name, started.name]
    assert cli_main(["doctor", str(tmp_path / "exp")]) == 0
    said = " ".join(capsys.readouterr().out.split())
    assert "2 more trial directory(ies) of the experiment hold no result yet" in said
    assert pending.name[:30] in said  # the console may wrap the rest


@pytest.mark.slow  # ~40 s: two PBT trials side by side
def test_a_pbt_trial_whose_config_changed_is_said_so_and_not_verified_as_one_config(tmp_path):
    """PBT's exploit restores the worse trial from the better one's checkpoint with that
    trial's config, perturbed, and Tune's params.json then holds the last config only.
    The doctor said nothing of it, and --verify re-trained the last config from scratch
    and advised raising --iterations."""
    from ray import tune
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.tune.schedulers import PopulationBasedTraining

    from rldebug.doctor.verify import verify_fix

    config = (PPOConfig().environment("CartPole-v1").env_runners(num_env_runners=0)
              .training(lr=tune.grid_search([3e-4, 5.0]), train_batch_size=200,
                        minibatch_size=100, num_epochs=2))
    pbt = PopulationBasedTraining(time_attr="training_iteration", perturbation_interval=2,
                                  metric="env_runners/episode_return_mean", mode="max",
                                  hyperparam_mutations={"lr": [1e-4, 3e-4]},
                                  quantile_fraction=0.5)
    tune.Tuner(config.algo_class, param_space=config, tune_config=tune.TuneConfig(
        scheduler=pbt), run_config=tune.RunConfig(
        storage_path=str(tmp_path), name="pbt", verbose=0, stop={"training_iteration": 6},
        checkpoint_config=tune.CheckpointConfig(checkpoint_frequency=2))).fit()
    changed = [t for t in diagnose(tmp_path / "pbt").trials
               if any("trained with another config" in note for note in t.notes)]
    assert changed, [t.notes for t in diagnose(tmp_path / "pbt").trials]
    (note,) = [n for n in changed[0].notes if "another config" in n]
    assert "lr 5.0 -> " in note
    with pytest.raises(UsageError, match="did not train with one config"):
        verify_fix(changed[0].path, fixes=[{"lr": 1e-4}], seeds=1, iterations=4)
