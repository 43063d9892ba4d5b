"""Verified fixes (``rldebug doctor RUN --verify``, ``rldebug.doctor.verify.verify_fix``) on
real runs: the arena at lr=0.5 (default run), a plain Tune trial of a user's env class
verified with ``--config FILE.py:FUNC``, PPO Pendulum at RLlib's default vf_clip_param and
DQN CartPole at lr=1 (slow), a fix that does not help, and a config rebuilt from
params.json."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from headless_browser import open_page


def _train(config, logdir, iterations):
    from rldebug.inprocess.training import run

    result = run(config, stop={"training_iteration": iterations}, logdir=logdir,
                 progress=False)
    result.algo.stop()
    return logdir


@pytest.fixture(scope="module")
def arena_lr_half(tmp_path_factory):
    """The arena's two PPO policies at lr=0.5: both KLs blow up at iteration 1. Seeded:
    unseeded, one full-suite run of it (of the 5 + 2 tried by hand, none) got kl_blowup
    as its top finding instead of lr_too_high, and the run was gone before it was read."""
    from rldebug.arena.config import arena_ppo_config

    return _train(arena_ppo_config(seed=0).training(lr=0.5, train_batch_size=1000,
                                                    minibatch_size=250),
                  tmp_path_factory.mktemp("verify") / "arena_lr_half", 3)


@pytest.fixture(scope="module")
def arena_verified(arena_lr_half):
    from rldebug.doctor.verify import verify_fix

    lines = []
    return verify_fix(arena_lr_half, seeds=2, progress=lines.append), lines


def test_the_finding_carries_its_fix_as_config_data(arena_lr_half):
    done = subprocess.run([sys.executable, "-m", "rldebug", "doctor", str(arena_lr_half),
                           "--json"], capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 1, done.stderr[-2000:]
    findings = json.loads(done.stdout)["trials"][0]["findings"]
    lr = next(f for f in findings if f["rule_id"] == "lr_too_high")
    assert lr["fix_config"] == [{"lr": 0.05}, {"lr": 0.005}]  # /10 and /100 of 0.5
    # a finding fixed in the env, not the config, carries none
    assert all(f.get("fix_config") is None for f in findings
               if f["rule_id"] == "episodes_hit_time_limit")


def test_a_lower_lr_removes_lr_too_high_and_the_return_is_not_worse(arena_verified):
    verification, lines = arena_verified
    assert verification.finding.rule_id == "lr_too_high"
    assert verification.config_source == "the config rldebug.run stored with the run"
    assert verification.reproduced  # the original, re-trained, shows it again
    assert all(r.finding_present for r in verification.original.runs)
    tenth = next(c for c in verification.candidates if c.changes == {"lr": 0.05})
    assert [r.finding_present for r in tenth.runs] == [False, False]
    assert tenth.return_change in ("higher", "within noise")
    best = verification.best
    assert best is not None and best.works and verification.exit_code == 0
    # each run trained the iterations asked for, on the seeds named
    assert {r.seed for c in [verification.original, *verification.candidates]
            for r in c.runs} == set(verification.seeds) == {0, 1}
    assert all(r.iterations == verification.iterations for r in tenth.runs)
    # one progress line per run, and the report names the verified change
    assert len(lines) == 2 * (1 + len(verification.candidates))
    assert lines[0].startswith(f"[1/{len(lines)}] original seed 0:")
    assert f"Verified: {best.name} removes lr_too_high" in str(verification)


def test_the_runs_are_experiments_the_doctor_and_diff_read(arena_verified):
    from rldebug.doctor import diagnose
    from rldebug.rundiff import diff

    verification, _ = arena_verified
    out = verification.out
    assert out.parent.name == "rldebug_verify"
    stored = json.loads((out / "verification.json").read_text())
    assert stored["best"] == verification.best.name and stored["exit_code"] == 0
    candidate_dir = out / verification.best.name
    assert [t.name for t in diagnose(candidate_dir).trials] == ["seed_0", "seed_1"]
    compared = diff(out / "original", candidate_dir)
    assert [r.key for r in compared.config] == ["lr"]
    assert compared.main.final_b == pytest.approx(verification.best.mean_return, rel=0.2)
    # the original run's own diagnosis is not confused by the runs stored inside it
    assert [t.name for t in diagnose(verification.run).trials] == ["arena_lr_half"]


def test_a_fix_that_does_not_help_is_reported_as_such(arena_lr_half, tmp_path, capsys):
    from rldebug.cli import main  # the installed command, in-process

    report = tmp_path / "verified.html"
    code = main(["doctor", str(arena_lr_half), "--verify", "--fix", "lr=0.9", "--seeds", "1",
                 "--iterations", "4", "--out", str(tmp_path / "runs"), "--html", str(report)])
    out, err = capsys.readouterr()
    assert code == 1, out + err[-3000:]
    assert "lr=0.9    lr_too_high in 1/1 seed(s)" in out
    assert "-> does not work" in out
    assert "Not verified: no candidate removed lr_too_high" in out
    assert "[2/2] lr=0.9 seed 0: 4 iterations" in err
    # the HTML page shows the verified result under the finding, read in a real browser
    with open_page(report) as evaluate:
        rows = evaluate("[...document.querySelectorAll('.verified tr[data-candidate]')]"
                        ".map(r => [r.closest('section').dataset.rule, "
                        "...[...r.cells].map(c => c.innerText)])")
        image = evaluate("[...document.querySelectorAll('.verified img')].map(i => "
                         "[i.complete, i.naturalWidth, i.naturalHeight])")
    assert [r[0] for r in rows] == ["lr_too_high", "lr_too_high"]
    assert rows[0][1] == "original" and rows[0][3] == "1/1"
    assert rows[1][1:3] == ["lr=0.9", "{'lr': 0.9}"] and rows[1][-1] == "does not work"
    assert len(image) == 1 and image[0][0] and image[0][1] > 300


@pytest.mark.parametrize("argv, message", [
    (["--verify", "--rule", "reward_scale"],
     "has no top-level warning or error 'reward_scale'; it has: "),
    (["--verify", "--fix", "lr"], "--fix 'lr': write KEY=VALUE"),
    (["--verify", "--seeds", "0"], "seeds (--seeds) must be a positive int, got 0"),
    (["--verify", "--budget", "soon"], "budget 'soon' is not a duration"),
    (["--iterations", "3"], "--iterations applies only with --verify"),
    (["--fix", "lr=0.1"], "--fix applies only with --verify"),  # it was taken as --verify
    # RLlib's update_from_dict would take these silently
    (["--verify", "--fix", "lerning_rate=0.1"], "PPOConfig has no setting 'lerning_rate'"),
    (["--verify", "--fix", "lr=fast"], "--fix lr='fast': lr is float (0.5 in the run)"),
    (["--verify", "--fix", "lr=0.5"], "--fix lr=0.5 is the run's config already"),
    # RLlib would train another value than the one a "Verified" would recommend
    (["--verify", "--fix", "lr=-1"], "--fix lr=-1: rldebug check names a trap in it"),
    (["--verify", "--fix", "gamma=2"], "setting_out_of_range: gamma=2 is outside [0, 1]"),
    (["--verify", "--fix", "lr=null"], "None is no setting RLlib trains with"),
    (["--verify", "--iterations", "3"], "iterations=3 (--iterations) is too few to compare"),
    (["--verify", "--out", "RUN"], "already holds files (an earlier verification?)"),
])
def test_bad_verify_input_is_refused_before_training(arena_lr_half, argv, message, capsys):
    from rldebug.cli import main  # the installed command, in-process

    argv = [str(arena_lr_half) if a == "RUN" else a for a in argv]
    assert main(["doctor", str(arena_lr_half), *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (arena_lr_half / "rldebug_verify" / "reward_scale").exists()


def test_a_config_is_rebuilt_from_params_json_or_refused_with_the_keys_json_lost(tmp_path):
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig

    from rldebug.callbacks import AgentReturns
    from rldebug.envcheck import PassiveEnvCheck
    from rldebug.inprocess.runlog import PARAMS_FILE, RunLogger
    from rldebug.shapes.configs import config_from_params

    config = (PPOConfig().environment("CartPole-v1").env_runners(num_env_runners=0)
              .training(lr=0.003, vf_clip_param=7.0, lambda_=0.9, entropy_coeff=0.02,
                        train_batch_size=256)
              .rl_module(model_config=DefaultModelConfig(fcnet_hiddens=[8, 4]))
              .callbacks([PassiveEnvCheck, AgentReturns]))
    RunLogger(tmp_path, config=config.to_dict()).close()  # params.json as a run writes it
    params = json.loads((tmp_path / PARAMS_FILE).read_text())
    # classes come back by their module and name, the model config from its repr
    assert params["callbacks"] == ["<class 'rldebug.envcheck.passive.PassiveEnvCheck'>",
                                   "<class 'rldebug.callbacks.agent_returns.AgentReturns'>"]
    assert params["_model_config"].startswith("DefaultModelConfig(fcnet_hiddens=[8, 4]")
    rebuilt = config_from_params("PPO", params)
    assert rebuilt.callbacks_class == [PassiveEnvCheck, AgentReturns]
    # a text shaped like a tag is data, not a repr JSON kept of an object
    tagged = {**params, "env_config": {"unknown_token": "<unk>"}}
    assert config_from_params("PPO", tagged).env_config == {"unknown_token": "<unk>"}
    assert rebuilt.model_config["fcnet_hiddens"] == [8, 4]
    assert not rebuilt.is_multi_agent
    written = json.loads(json.dumps(rebuilt.to_dict(), default=repr, sort_keys=True))
    differing = {k for k in params if json.dumps(params[k], sort_keys=True) !=
                 json.dumps(written.get(k), sort_keys=True)
                 and not str(params[k]).startswith("<")}
    assert differing == set()
    assert (rebuilt.lr, rebuilt.vf_clip_param, rebuilt.lambda_) == (0.003, 7.0, 0.9)
    # a mapping function written as its repr cannot come back: said, with the way out
    mapped = config.copy().multi_agent(policies={"a"}, policy_mapping_fn=lambda *a, **k: "a")
    RunLogger(tmp_path / "mapped", config=mapped.to_dict()).close()
    params = json.loads((tmp_path / "mapped" / PARAMS_FILE).read_text())
    with pytest.raises(ValueError, match=r"holds policy_mapping_fn only as text .* --config"):
        config_from_params("PPO", params)


def test_a_healthy_run_has_nothing_to_verify_and_says_how_to_try_a_change(tmp_path, capsys):
    """On a run with no finding, the refusal sent the user in a circle ('pass --rule RULE
    --fix KEY=VALUE': every --rule is refused there; a bad-input audit)."""
    from rldebug.cli import main

    run = tmp_path / "run"
    shutil.copytree(Path(__file__).parent / "doctor_corpus" / "runs" / "healthy_ppo_cartpole",
                    run)
    assert main(["doctor", str(run), "--verify", "--fix", "lr=0.001"]) == 2
    err = capsys.readouterr().err
    assert "found no warning or error in this run" in err and "rldebug diff RUN NEW_RUN" in err
    assert "--rule" not in err and not (run / "rldebug_verify").exists()


@pytest.mark.slow  # ~10 s of APPO; a config rebuilt from params.json, without training:
# test_a_config_is_rebuilt_from_params_json_or_refused_with_the_keys_json_lost
def test_a_stored_benchmark_run_is_verified_from_its_params_json(tmp_path, capsys):
    """A run of the doctor's corpus keeps only its params.json (stripped, no pickle):
    its callback classes, model config and RLlib's metrics classes come back from it."""
    from rldebug.cli import main

    run = tmp_path / "appo_lr_0.5"
    shutil.copytree(Path(__file__).parent / "doctor_corpus" / "runs" / "appo_lr_0.5", run)
    # a budget of 1 s: the original trains, no candidate starts after it
    code = main(["doctor", str(run), "--verify", "--iterations", "4", "--seeds", "1",
                 "--budget", "1"])
    out, err = capsys.readouterr()
    assert "config: params.json (APPO)" in out, out + err[-3000:]
    assert "failed" not in out and code in (0, 1), out + err[-3000:]
    assert re.search(r"original  lr_too_high in [01]/1 seed\(s\)", out)  # trained, judged
    first = run / "rldebug_verify" / "lr_too_high_default_policy"
    # verifying again (as its "Raise --iterations" advice says) keeps the first runs
    main(["doctor", str(run), "--verify", "--iterations", "5", "--seeds", "1",
          "--budget", "0.000001"])
    out, err = capsys.readouterr()
    assert f"runs in {first}_2" in out and "failed" not in out, out + err[-3000:]
    assert json.loads((first / "verification.json").read_text())["iterations"] == 4


def test_a_verification_whose_runs_all_fail_says_it_measured_nothing(tmp_path, capsys):
    from rldebug.cli import main

    run = tmp_path / "appo_lr_0.5"
    shutil.copytree(Path(__file__).parent / "doctor_corpus" / "runs" / "appo_lr_0.5", run)
    broken = tmp_path / "broken_config.py"
    broken.write_text("from ray.rllib.algorithms.appo import APPOConfig\n\n\n"
                      "def make_config():\n"
                      "    return APPOConfig().environment('NoSuchEnv-v0').training(lr=0.5)\n")
    code = main(["doctor", str(run), "--verify", "--config", f"{broken}:make_config",
                 "--iterations", "4", "--seeds", "1"])
    out, err = capsys.readouterr()
    assert code == 1, out + err[-3000:]
    assert "-> could not train" in out and "-> does not work" not in out
    assert "Could not verify: every re-run of the original failed" in out


USER_CONFIG = Path(__file__).parent / "user_config.py"


@pytest.fixture(scope="module")
def user_tune_trial(tmp_path_factory):
    """A plain Tune trial (Tuner on the session's Ray) of PPO on a user's env class."""
    from ray import tune
    from user_config import make_config

    results = tune.Tuner("PPO", param_space=make_config(), run_config=tune.RunConfig(
        name="user", storage_path=str(tmp_path_factory.mktemp("tune")), verbose=0,
        stop={"training_iteration": 2})).fit()
    assert not results.errors
    return Path(results[0].path)


def test_a_tune_trial_of_an_env_class_is_verified_with_the_users_config(user_tune_trial,
                                                                        capsys, tmp_path):
    from user_config import UserCartPole

    from rldebug.cli import main  # the installed command, in-process
    from rldebug.shapes.configs import config_from_params

    params = json.loads((user_tune_trial / "params.json").read_text())
    assert params["env"] == "<class 'user_config.UserCartPole'>"  # what JSON kept of it
    assert config_from_params("PPO", params).env is UserCartPole  # importable here: rebuilt
    # a class defined in the training script itself (__main__) cannot come back: without
    # --config, refused before training, with the way out
    in_script = tmp_path / "in_script"
    shutil.copytree(user_tune_trial, in_script)
    (in_script / "params.json").write_text(json.dumps(
        {**params, "env": "<class '__main__.UserCartPole'>"}))
    assert main(["doctor", str(in_script), "--verify", "--seeds", "1"]) == 2
    err = capsys.readouterr().err
    assert "params.json holds env only as text" in err and "--config my_file.py:" in err
    assert not (in_script / "rldebug_verify").exists()

    code = main(["doctor", str(user_tune_trial), "--verify", "--config", f"{USER_CONFIG}:make_config",
                 "--fix", "lr=0.005", "--seeds", "1", "--iterations", "4"])
    out, err = capsys.readouterr()
    assert code == 0, out + err[-3000:]
    assert f"config: --config {USER_CONFIG}:make_config; 4 iterations" in out
    assert "note:" not in out  # the config given is the run's
    assert "original  lr_too_high in 1/1 seed(s)" in out
    assert "lr=0.005  lr_too_high in 0/1 seed(s)" in out
    assert "Verified: lr=0.005 removes lr_too_high" in out
    stored = user_tune_trial / "rldebug_verify" / "lr_too_high_default_policy"
    assert sorted(p.name for p in stored.iterdir()) == ["lr=0.005", "original",
                                                       "verification.json"]


def test_a_given_config_that_is_not_the_runs_is_named(user_tune_trial, tmp_path):
    from user_config import make_config

    from rldebug.doctor.verify import verify_fix

    # a budget spent before the first run: the comparison needs no training
    verification = verify_fix(user_tune_trial, config=lambda: make_config().training(
        lr=0.4), fixes=[{"lr": 0.005}], seeds=1, iterations=4, out=tmp_path, progress=False,
        budget=1e-9)
    assert verification.budget_cut and not verification.original.runs
    assert verification.config_differs == ["lr: run 0.5, given 0.4"]
    assert "not the run read: lr: run 0.5, given 0.4" in str(verification)
    stored = json.loads((tmp_path / "verification.json").read_text())
    assert stored["config_differs"] == ["lr: run 0.5, given 0.4"]


@pytest.mark.slow  # ~5 s
def test_a_doctor_callback_that_stops_on_error_does_not_cut_the_runs_short(user_tune_trial,
                                                                          tmp_path):
    """The run's own DoctorCallback(stop_on="error") ended the re-trained original after
    one iteration (its error), and the return compared was one sampled before any update."""
    from user_config import make_config

    from rldebug import DoctorCallback
    from rldebug.callbacks import add_callbacks
    from rldebug.doctor.verify import verify_fix

    def with_doctor():
        return add_callbacks(make_config(), DoctorCallback.configured(stop_on="error"))

    verification = verify_fix(user_tune_trial, config=with_doctor, fixes=[{"lr": 0.005}],
                              seeds=1, iterations=4, out=tmp_path, progress=False)
    assert [r.iterations for r in verification.original.runs] == [4]
    assert verification.original.runs[0].finding_present  # the error is still judged
    assert verification.config_differs == []  # rldebug's own callback is no difference
    assert "ended after" not in str(verification)


@pytest.mark.slow
def test_raising_vf_clip_param_removes_the_clipped_critic_on_pendulum(tmp_path):
    from ray.rllib.algorithms.ppo import PPOConfig

    from rldebug.doctor.verify import verify_fix

    config = (PPOConfig().environment("Pendulum-v1").env_runners(num_env_runners=0)
              .training(train_batch_size=1000, minibatch_size=250, num_epochs=4))
    run = _train(config, tmp_path / "pendulum", 8)
    verification = verify_fix(run, rule="critic_clipped", module="default_policy", seeds=2,
                              progress=False)
    (raised,) = verification.candidates
    assert raised.changes["vf_clip_param"] > 10 and raised.finding_gone
    assert verification.reproduced and verification.exit_code == 0, str(verification)


@pytest.mark.slow
def test_a_dqn_at_lr_1_is_verified_against_lower_rates(tmp_path):
    from ray.rllib.algorithms.dqn import DQNConfig

    from rldebug.doctor.verify import verify_fix

    # 1-step fragments (RLlib's default): 400 updates per iteration, Q-values diverge by
    # iteration 3 (with 4-step fragments they stay bounded, and the return stays random)
    config = (DQNConfig().environment("CartPole-v1").env_runners(num_env_runners=0)
              .training(lr=1.0, num_steps_sampled_before_learning_starts=200,
                        train_batch_size=64)
              .reporting(min_sample_timesteps_per_iteration=400).debugging(seed=0))
    run = _train(config, tmp_path / "dqn", 5)
    verification = verify_fix(run, seeds=1, progress=False)
    assert verification.finding.rule_id == "q_values_diverging", str(verification)
    assert [c.changes for c in verification.candidates] == [{"lr": 0.1}, {"lr": 0.01}]
    assert verification.reproduced, str(verification)
    assert verification.best is not None, str(verification)
    assert verification.best.finding_gone and verification.exit_code == 0


def test_a_warning_that_became_the_error_is_trained_as_long_as_it_took_to_judge():
    """gamma=0 is a warning from iteration 3 and the error once its flat return is judged
    (iteration 20): a fix is trained past 20, where the error and what it explains can be
    gone, not past 3 (PPO, DQN and APPO runs of the fault benchmark)."""
    from rldebug.doctor import diagnose
    from rldebug.doctor.reading import read_trial
    from rldebug.doctor.verify import _named_at

    runs = Path(__file__).parent / "doctor_faults" / "runs"
    for name in ("ppo_goal__gamma_0__s0", "dqn_acrobot__gamma_0__s0", "appo_goal__gamma_0__s0"):
        [horizon] = [f for f in diagnose(runs / name).findings
                     if f.rule_id == "horizon_too_short"]
        assert horizon.severity == "error" and horizon.began_at_iteration == 1, name
        assert _named_at(read_trial(runs / name), horizon) == 20, name


def test_a_modules_own_lr_is_lowered_where_it_is_set(tmp_path):
    """A real Tune trial of two modules where only 'p1' sets its own lr=1
    (algorithm_config_overrides_per_module): the fix lowers p1's override, not the global
    lr (which p1's override would win over, and which would change p0); the user's config
    with its lambda mapping is not called different from the run's."""
    from ray import tune
    from user_config import make_two_module_config

    from rldebug.doctor import diagnose
    from rldebug.doctor.verify import verify_fix

    results = tune.Tuner("PPO", param_space=make_two_module_config(), run_config=tune.RunConfig(
        name="two", storage_path=str(tmp_path), verbose=0,
        stop={"training_iteration": 2})).fit()
    assert not results.errors
    trial = Path(results[0].path)
    causes = [f for f in diagnose(trial).trials[0].causes if f.module == "p1"]
    assert causes and causes[0].rule_id == "lr_too_high", [(f.rule_id, f.module) for f in causes]
    found = causes[0]
    assert found.fix_config == [
        {"algorithm_config_overrides_per_module": {"p1": {"lr": 0.1}}},
        {"algorithm_config_overrides_per_module": {"p1": {"lr": 0.01}}}]
    assert "'p1' sets lr itself in algorithm_config_overrides_per_module" in found.fix
    fixed = make_two_module_config()
    fixed.update_from_dict(found.fix_config[0])  # what --verify trains
    assert (fixed.get_config_for_module("p1").lr, fixed.get_config_for_module("p0").lr) == \
        (0.1, 3e-4)
    verification = verify_fix(trial, config=make_two_module_config, seeds=1, iterations=4,
                              out=tmp_path / "verify", progress=False, budget=1e-9)
    assert verification.config_differs == []  # its lambda named elsewhere is no difference


def _verification_of(finding, change: str):
    """A Verification of ``finding`` whose one candidate removed it on its seed, with the
    return ``change`` ("within noise", "higher") against the original's."""
    from rldebug.doctor.verify import Candidate, SeedRun, Verification

    def runs(present: bool, final: float) -> list:
        return [SeedRun(seed=0, path=Path("x"), iterations=25, final_return=final,
                        finding_present=present)]

    candidate = Candidate("vf_clip_param=1e5", {"vf_clip_param": 1e5},
                          runs=runs(False, -200.0), return_change=change)
    return Verification(run="run", trial="trial", finding=finding, config_source="given",
                        iterations=25, seeds=[0], out=Path("out"),
                        original=Candidate("original", {}, runs=runs(True, -200.0)),
                        candidates=[candidate])


def test_a_fix_that_leaves_a_flat_return_flat_is_not_called_the_cause():
    """MountainCar at PPO's defaults: critic_clipped (error: 'This is why the run does not
    learn') was removed by vf_clip_param=1e5, the return stayed at -200, and verify said
    'Verified ... works'."""
    from rldebug.doctor.findings import Finding

    flat = Finding("critic_clipped", "error", "…", "…", 1, module="default_policy",
                   evidence={"flat": True})
    unconfirmed = _verification_of(flat, "within noise")
    assert unconfirmed.cause_unconfirmed and unconfirmed.exit_code == 1
    assert "Removed, not confirmed as the cause: vf_clip_param=1e5 removes critic_clipped" \
        in str(unconfirmed) and "Verified" not in str(unconfirmed)
    assert _verification_of(flat, "higher").exit_code == 0  # the return rose without it
    not_about_the_return = Finding("kl_blowup", "error", "…", "…", 1, module="p")
    assert _verification_of(not_about_the_return, "within noise").exit_code == 0
