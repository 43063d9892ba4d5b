"""``rldebug debug SCRIPT``: an unmodified Tune script, its trials in the launched process.

A real DAP session (as VS Code attaches) on ``python -m debugpy ... -m rldebug debug
tests/debug_scripts/tune_grid.py``: breakpoints in the script's env ``step``, its
callback, its RLModule's ``_forward``/``_forward_train`` and RLlib's PPO loss are hit
for both grid points, in the process that was launched.
"""

import json
import os
import pickle
import re
import subprocess
import sys
from pathlib import Path

import pytest
import ray
import ray.rllib
from dap_client import DapClient, free_port, launch_under_debugpy, line_of

SCRIPT = Path(__file__).parent / "debug_scripts" / "tune_grid.py"
ENV_STEP = line_of(SCRIPT, "ENV-STEP-BREAKPOINT")
CALLBACK = line_of(SCRIPT, "CALLBACK-BREAKPOINT")
FORWARD = line_of(SCRIPT, "MODULE-FORWARD-BREAKPOINT")
FORWARD_TRAIN = line_of(SCRIPT, "MODULE-FORWARD-TRAIN-BREAKPOINT")
PPO_LEARNER = Path(ray.rllib.__file__).parent / "algorithms/ppo/torch/ppo_torch_learner.py"
LOSS = line_of(PPO_LEARNER, "module = self.module[module_id].unwrapped()",
               after="def compute_loss_for_module")


def masked(name: str) -> str:
    """A Tune trial's name or folder with its experiment id and date masked:
    ``PPO_CartPole-v1_ID_00000_0_lr=0.0010_DATE``."""
    name = re.sub(r"\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d", "DATE", name)
    return re.sub(r"[0-9a-f]{5}_(\d{5})", r"ID_\1", name)


def session_env():
    env = dict(os.environ)
    env["RLDEBUG_RAY_ADDRESS"] = ray.get_runtime_context().gcs_address
    return env


@pytest.mark.slow  # ~90 s: a DAP session over a Tune grid (in-process trials are also proven by test_tune_run_with_a_grid_runs_its_trials_in_process)
def test_breakpoints_in_env_callback_module_and_loss_are_hit_for_both_tune_trials(tmp_path):
    port = free_port()
    output = tmp_path / "debuggee.log"
    process = launch_under_debugpy("rldebug", port, output,
                                   ["debug", str(SCRIPT), str(tmp_path / "results")],
                                   env=session_env(), module=True)
    hits = []
    try:
        client = DapClient(port)
        # First call per env, module and Learner only (each trial builds its own).
        first_loss = ("not getattr(self, '_seen_by_test', False) "
                      "and not setattr(self, '_seen_by_test', True)")
        client.attach({str(SCRIPT): [(ENV_STEP, "self.steps == 1"), CALLBACK,
                                     (FORWARD, "self.forward_calls == 1"),
                                     (FORWARD_TRAIN, "self.train_calls == 1")],
                       str(PPO_LEARNER): [(LOSS, first_loss)]})
        # Each stop's trial: the env's tag, or the config's (the callback's, the Learner's).
        # A module knows no tag: trials run one after another, so a module stop belongs
        # to the trial of the next tagged stop (its env step, or its Learner's loss).
        tag_of = {(SCRIPT, ENV_STEP): "self.tag",
                  (SCRIPT, CALLBACK): "algorithm.config.env_config['tag']",
                  (PPO_LEARNER, LOSS): "self.config.env_config['tag']"}

        def record(stop):
            where = (Path(stop.top["source"]["path"]), stop.top["line"])
            tag = client.evaluate(tag_of[where], stop.top).strip("'") if where in tag_of else None
            hits.append((where, tag, int(client.evaluate("__import__('os').getpid()", stop.top))))

        client.drive(record)
        returncode = process.wait(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    log = output.read_text()
    assert returncode == 0, log[-3000:]
    assert "TRIALS 2 ['a', 'b']" in log
    tagged = sorted((where, tag) for where, tag, _ in hits if tag is not None)
    assert tagged == sorted((where, tag) for where in tag_of for tag in "ab"), hits
    for i, (where, tag, pid) in enumerate(hits):
        if tag is None:
            hits[i] = (where, next(t for _, t, _ in hits[i + 1:] if t is not None), pid)
    for line in (FORWARD, FORWARD_TRAIN):  # each module stops at its first call only
        assert {tag for where, tag, _ in hits if where == (SCRIPT, line)} == {"a", "b"}, hits
    assert {pid for _, _, pid in hits} == {process.pid}  # all in the launched process
    trials = sorted((tmp_path / "results" / "grid").glob("PPO_*"))
    assert [masked(t.name) for t in trials] == ["PPO_TaggedCartPole_ID_00000_0_tag=a_DATE",
                                                "PPO_TaggedCartPole_ID_00001_1_tag=b_DATE"]


@pytest.mark.slow  # ~19 s; the doctor on an in-process trial folder: test_tune_run_2021
def test_trial_directories_are_read_by_the_doctor(tmp_path):
    done = subprocess.run([sys.executable, "-m", "rldebug", "debug", str(SCRIPT),
                           str(tmp_path)], env=session_env(), capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "built in this process (num_env_runners 1 -> 0" in done.stderr
    doctor = subprocess.run([sys.executable, "-m", "rldebug", "doctor", str(tmp_path / "grid"),
                             "--json"], capture_output=True, text=True, timeout=120,
                            check=False)
    trials = json.loads(doctor.stdout)["trials"]
    assert sorted(masked(t["name"]) for t in trials) == [
        "PPO_TaggedCartPole_ID_00000_0_tag=a_DATE", "PPO_TaggedCartPole_ID_00001_1_tag=b_DATE"]
    assert all(t["iterations"] == 1 and t["family"] == "ppo" for t in trials)


def test_a_missing_script_is_refused(tmp_path):
    # (ray.init(local_mode=True) is accepted: test_a_2021_script_runs_unchanged)
    missing = subprocess.run([sys.executable, "-m", "rldebug", "debug", str(tmp_path / "x.py")],
                             capture_output=True, text=True, timeout=60, check=False)
    assert missing.returncode == 2 and "is neither a file nor a folder" in missing.stderr


def test_breakpoint_after_the_scripts_own_ray_init_reaches_the_users_hook(tmp_path):
    """ray.init sets PYTHONBREAKPOINT to Ray's driver hook, which waits for a Ray
    Distributed Debugger client: a script that called ray.init itself hung at its next
    breakpoint() under rldebug debug (an independent user's; 1 of 6 breakpoints hit)."""
    (tmp_path / "hits.py").write_text(
        "import os\n"
        "def hit(*args, **kwargs):\n"
        "    with open(os.environ['HITS_FILE'], 'a') as f:\n"
        "        f.write('hit\\n')\n")
    script = tmp_path / "own_init.py"
    script.write_text("import ray\nray.init(num_cpus=1)\nbreakpoint()\nprint('after')\n")
    env = {**session_env(), "PYTHONBREAKPOINT": "hits.hit", "PYTHONPATH": str(tmp_path),
           "HITS_FILE": str(tmp_path / "hits.txt")}
    done = subprocess.run([sys.executable, "-m", "rldebug", "debug", str(script)], env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0 and "after" in done.stdout, done.stderr[-2000:]
    assert (tmp_path / "hits.txt").read_text() == "hit\n"


def test_ray_init_keeps_the_scripts_own_keywords(tmp_path):
    """`ray.init(include_dashboard=True)` under rldebug debug started Ray without the
    dashboard the script asked for (only num_cpus reached it): it must do what plain
    ray.init does with it (here, where the dashboard's packages are not installed, fail
    saying so)."""
    script = tmp_path / "dashboard.py"
    script.write_text("import ray\ncontext = ray.init(include_dashboard=True, "
                      "logging_level='ERROR')\nprint('DASHBOARD', bool(context.dashboard_url))\n")
    outcomes = []
    for debug in ([], ["-m", "rldebug", "debug"]):
        done = subprocess.run([sys.executable, *debug, str(script)], capture_output=True,
                              text=True, timeout=120, check=False)
        outcomes.append((done.returncode, done.stdout.strip().splitlines()[-1:],
                         done.stderr.strip().splitlines()[-1:]))
    assert outcomes[0] == outcomes[1], outcomes


def test_a_2021_script_runs_unchanged():
    """`import gym`, ray.init(local_mode=True), a gym-0.21 env, 2021 callbacks, 2 runners."""
    script = SCRIPT.parent / "arena_2021_script.py"
    done = subprocess.run([sys.executable, "-m", "rldebug", "debug", str(script)],
                          env=session_env(), capture_output=True, text=True, timeout=300,
                          check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    # it imports gym but never uses it: the alias is said only to scripts that use it
    assert "`import gym` gives gymnasium" not in done.stderr
    for notice in ("local_mode=True) was removed",
                   "gym 0.21's reset()", "2021 callback hooks",
                   "built in this process (num_env_runners 2 -> 0",
                   "Added FlattenObservations"):
        assert notice in done.stderr, notice
    assert float(done.stdout.split("COLLISIONS", 1)[1].split()[0]) > 0  # 3x3: they collide


def test_a_2021_trainer_script_runs_unchanged():
    """`ray.rllib.agents`, PPOTrainer(config=dict) with 2021 keys, result["episode_reward_mean"],
    get_policy() and compute_single_action, on the old API stack in this process."""
    script = SCRIPT.parent / "trainer_2021_script.py"
    done = subprocess.run([sys.executable, "-m", "rldebug", "debug", str(script)],
                          env=session_env(), capture_output=True, text=True, timeout=300,
                          check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "renamed: num_sgd_iter -> num_epochs, sgd_minibatch_size -> minibatch_size" in \
        done.stderr
    assert "PPOTrainer built in this process (num_env_runners 1 -> 0" in done.stderr
    assert "POLICY_REWARD_MEAN ['pol1', 'pol2']" in done.stdout
    assert float(done.stdout.split("EPISODE_REWARD_MEAN", 1)[1].split()[0]) < 100
    assert "in_features=16, out_features=16" in done.stdout  # the 2021 "model" dict is used
    assert 0 <= int(done.stdout.split("ACTION", 1)[1].split()[0]) <= 3


def test_tune_run_with_a_grid_runs_its_trials_in_process(tmp_path):
    script = SCRIPT.parent / "tune_run_script.py"
    done = subprocess.run([sys.executable, "-m", "rldebug", "debug", str(script),
                           str(tmp_path)], env=session_env(), capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "tune.run(...) runs its trials one after another in this process" in done.stderr
    assert "TRIALS 2" in done.stdout
    assert sorted(masked(p.name) for p in (tmp_path / "run").glob("PPO_*")) == \
        ["PPO_CartPole-v1_ID_00000_0_lr=0.0010_DATE", "PPO_CartPole-v1_ID_00001_1_lr=0.0001_DATE"]
    # The best lr is the one whose trial's own result.json ends with the higher return.
    last_return = {}
    for folder in (tmp_path / "run").glob("PPO_*"):
        lines = (folder / "result.json").read_text().splitlines()
        params = json.loads((folder / "params.json").read_text())
        # and params.pkl beside it, as Tune's JSON logger writes it (it was missing)
        assert pickle.loads((folder / "params.pkl").read_bytes())["lr"] == params["lr"]
        last_return[params["lr"]] = json.loads(lines[-1])["env_runners"]["episode_return_mean"]
    assert len(last_return) == 2
    best = max(last_return.values())  # both trials can end on the same return: either is best
    assert float(done.stdout.split("BEST_LR", 1)[1].split()[0]) in \
        [lr for lr, ret in last_return.items() if ret == best], last_return


def test_an_in_process_script_trains_and_checkpoints_without_starting_ray(tmp_path):
    """RLlib's local Algorithm only ray.put/ray.get's its own config: under debug mode
    those stay in the process, and no Ray instance is started (Ray's start-up saved)."""
    script = tmp_path / "plain.py"
    script.write_text(
        "import ray\n"
        "from ray.rllib.algorithms.algorithm import Algorithm\n"
        "from ray.rllib.algorithms.ppo import PPOConfig\n"
        "config = (PPOConfig().environment('CartPole-v1')\n"
        "          .training(train_batch_size=200, minibatch_size=100, num_epochs=1))\n"
        "algo = config.build_algo()\n"
        "steps = algo.train()['env_runners']['num_env_steps_sampled_lifetime']\n"
        f"algo.save_to_path({str(tmp_path / 'checkpoint')!r})\n"
        "algo.stop()\n"
        f"restored = Algorithm.from_checkpoint({str(tmp_path / 'checkpoint')!r})\n"
        "print('steps', steps, 'restored', type(restored).__name__,\n"
        "      'ray running', ray.is_initialized())\n")
    env = {k: v for k, v in os.environ.items() if k not in ("RAY_ADDRESS",
                                                            "RLDEBUG_RAY_ADDRESS")}
    done = subprocess.run([sys.executable, "-m", "rldebug", "debug", str(script)], env=env,
                          capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "steps 200.0 restored PPO ray running False" in done.stdout, done.stdout


FAILING_TRIAL = """
import gymnasium as gym
from ray import tune
from ray.rllib.algorithms.ppo import PPOConfig

class Breaks(gym.Wrapper):
    def __init__(self, config=None):
        super().__init__(gym.make("CartPole-v1"))
    def step(self, action):
        raise ValueError("boom in step")

config = PPOConfig().environment(Breaks).training(train_batch_size=64, minibatch_size=32)
grid = tune.Tuner("PPO", param_space=config, run_config=tune.RunConfig(
    storage_path=STORAGE, name="fails", stop={"training_iteration": 1})).fit()
print("ERROR", type(grid.errors[0]).__name__, "|", str(grid.errors[0]).splitlines()[-1])
"""


def test_a_failed_trials_error_says_its_cause_in_the_result_grid(tmp_path):
    """RLlib raises a bare RuntimeError from an env's exception; ResultGrid.errors held
    it with an empty str() (an independent user's), where plain Tune's RayTaskError says
    the cause."""
    done = _debugged_under(tmp_path, FAILING_TRIAL)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "ERROR RuntimeError | raised from ValueError: boom in step" in done.stdout, \
        done.stdout[-2000:]


CHECKPOINTED_TRIAL = """
import json
from pathlib import Path
from ray import tune
from ray.rllib.algorithms.ppo import PPOConfig

config = PPOConfig().environment("CartPole-v1").training(train_batch_size=64,
                                                         minibatch_size=32, num_epochs=1)
grid = tune.Tuner("PPO", param_space=config, run_config=tune.RunConfig(
    storage_path=STORAGE, name="saved", stop={"training_iteration": 2})).fit()
folder = Path(grid[0].checkpoint.path)
last = json.loads((folder.parent / "result.json").read_text().splitlines()[-1])
print("CHECKPOINT", folder.name, last["checkpoint_dir_name"],
      Path(tune.Result.from_path(grid[0].path).checkpoint.path).name)
"""


def test_a_trials_end_checkpoint_is_named_as_tune_names_it(tmp_path):
    """Tune counts a trial's checkpoints (checkpoint_000000 for the first); the in-process
    trial's was named by its iteration (checkpoint_000002: an independent user noted that
    a path built by hand, as Tune names it, would miss it)."""
    done = _debugged_under(tmp_path, CHECKPOINTED_TRIAL)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "CHECKPOINT checkpoint_000000 checkpoint_000000 checkpoint_000000" in done.stdout, \
        done.stdout[-2000:]


def _debugged_under(tmp_path, source: str):
    """``source`` run under rldebug debug as a script whose ``STORAGE`` is ``tmp_path``."""
    script = tmp_path / "script.py"
    script.write_text(f"STORAGE = {str(tmp_path)!r}\n" + source)
    return _debugged(script)


def _debugged(script, *args, cwd=None):
    return subprocess.run([sys.executable, "-m", "rldebug", "debug", str(script), *args],
                          env=session_env(), capture_output=True, text=True, timeout=600,
                          check=False, cwd=cwd)


def test_what_tune_scripts_commonly_use_works_in_process(tmp_path):
    """A tune.Stopper (its counter was keyed by iteration and never stopped), a function
    trainable (refused), get_best_result() with TuneConfig's metric/mode (refused),
    CheckpointConfig(checkpoint_at_end=True) (ignored: no checkpoint), metrics_dataframe
    (None), get_dataframe(filter_metric=) (TypeError), evaluation beside training for
    'auto' (rldebug's rewrite made RLlib refuse it) and bool rewards (rldebug's env
    check refused them): each as plain Tune and RLlib do it."""
    done = _debugged(SCRIPT.parent / "tune_features.py", str(tmp_path))
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["iterations"] == [2, 2]  # MaximumIterationStopper(2)
    assert seen["restored"] == "PPO" and seen["history_rows"] == 2
    assert seen["best_checkpoints"] == 1
    assert seen["filtered_rows"] == 2
    assert seen["function_iterations"] == [2, 2]  # stop={"training_iteration": 2}
    # bool rewards summed as numbers; NaN where an iteration's 100 steps ended no
    # episode (a policy that learned to balance longer), as RLlib reports it
    returns = seen["function_returns"]
    assert not any(r <= 0 for r in returns) and any(r > 0 for r in returns), returns
    assert seen["function_checkpoint"] == "PPO"  # copied before its temporary folder went
    assert "evaluation_duration auto -> 10" in done.stderr
    assert sorted(masked(p.name) for p in (tmp_path / "functions").iterdir() if p.is_dir()) == \
        ["function_trainable_ID_00000_0_lr=0.0010_DATE",
         "function_trainable_ID_00001_1_lr=0.0001_DATE"]


def test_a_script_runs_as_python_runs_it(tmp_path):
    """__file__ absolute (relative, it broke after os.chdir), '--' kept among the
    arguments, `with ray.init() as context`, every CPU for a bare ray.init(), and
    sys.exit("message") printing its message: the same as plain python, exit code too."""
    script = SCRIPT.parent / "like_python.py"
    plain = subprocess.run([sys.executable, script.name, "--", "x"], capture_output=True,
                           text=True, timeout=300, check=False, cwd=script.parent,
                           env={k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"})
    debugged = _debugged(script.name, "--", "x", cwd=script.parent)
    assert plain.returncode == debugged.returncode == 1, debugged.stderr[-2000:]
    assert json.loads(debugged.stdout.splitlines()[-1]) == \
        json.loads(plain.stdout.splitlines()[-1]) == {
            "file_absolute": True, "reads_itself": True, "arguments": ["--", "x"],
            "cpus": float(os.cpu_count()), "context": "RayContext", "stopped": True}
    assert debugged.stderr.strip().endswith("stopping with a message")
    folder = tmp_path / "app"
    folder.mkdir()
    (folder / "__main__.py").write_text("print('ran', __name__)\n")
    ran = _debugged(folder)
    assert ran.returncode == 0 and "ran __main__" in ran.stdout, ran.stderr[-2000:]
    import zipapp

    zipapp.create_archive(folder, tmp_path / "app.pyz")  # a zip app, as `python app.pyz`
    ran = _debugged(tmp_path / "app.pyz")
    assert ran.returncode == 0 and "ran __main__" in ran.stdout, ran.stderr[-2000:]
    # a script Python cannot compile: Python's own error, no traceback through rldebug;
    # an exception the script leaves uncaught: printed from the script's frame, as Python
    # prints it (rldebug's and runpy's 8 frames came first; an independent user's)
    for name, code in (("broken.py", "import ray\nx = (1,\nprint('never')\n"),
                       ("raises.py", "def f():\n    raise ValueError('bad value')\n\nf()\n")):
        (tmp_path / name).write_text(code)
        plain = subprocess.run([sys.executable, str(tmp_path / name)], capture_output=True,
                               text=True, timeout=60, check=False)
        debugged = _debugged(tmp_path / name)
        assert plain.returncode == debugged.returncode == 1
        # file, line, caret, message
        assert debugged.stderr.strip() == plain.stderr.strip(), debugged.stderr


CTRL_C_SCRIPT = """
import sys
import ray
from ray import tune
from ray.rllib.algorithms.ppo import PPOConfig

if __name__ == "__main__":
    ray.init(num_cpus=1, include_dashboard=False)  # plain Tune: one trial at a time
    config = (PPOConfig().environment("CartPole-v1").env_runners(num_env_runners=0)
              .training(lr=tune.grid_search([1e-4, 2e-4]), train_batch_size_per_learner=200,
                        minibatch_size=100, num_epochs=1))
    grid = tune.Tuner("PPO", param_space=config, run_config=tune.RunConfig(
        stop={"training_iteration": 10000}, storage_path=sys.argv[1], name="long")).fit()
    print("AFTER FIT", len(grid), grid[0].metrics.get("training_iteration"),
          sorted(grid[1].metrics), grid[1].config, grid.num_terminated,
          len(grid.get_dataframe()))
"""


READ_BACK = """import sys
from ray.tune import ExperimentAnalysis
a = ExperimentAnalysis(sys.argv[1])
print('READ', sorted(t.status for t in a.trials),
      sorted(len(df) for df in a.trial_dataframes.values()))
"""


def test_ctrl_c_ends_the_experiment_and_fit_returns_as_tunes_does(tmp_path):
    """Plain Tune stops a Tuner.fit() on Ctrl+C and the script goes on with what the
    trials did; under rldebug debug a KeyboardInterrupt ended the script, then the grid
    left out the trial not started."""
    import signal
    import time

    script = tmp_path / "long.py"
    script.write_text(CTRL_C_SCRIPT)
    # `rldebug debug` as a terminal starts it: the test's own process may block or ignore
    # SIGINT (Ray's threads, an xdist worker), and a child inherits both, so Python would
    # never raise KeyboardInterrupt in it
    as_from_a_terminal = (
        "import runpy, signal, sys\n"
        "signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})\n"
        "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
        "sys.argv = ['rldebug', *sys.argv[1:]]\n"
        "runpy.run_module('rldebug', run_name='__main__', alter_sys=True)\n")
    child = subprocess.Popen([sys.executable, "-c", as_from_a_terminal, "debug", str(script),
                              str(tmp_path)], env=session_env(), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 180
        while time.time() < deadline:
            results = list((tmp_path / "long").glob("PPO_*_00000_0*/result.json"))
            if results and len(results[0].read_text().splitlines()) >= 2:
                break
            time.sleep(0.2)
        else:
            pytest.fail("the first trial did not report 2 iterations in time")
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=120)
    finally:
        child.kill()
    assert child.returncode == 0, err[-3000:]
    assert "interrupted (Ctrl+C)" in err
    # plain Tune 2.60 printed "AFTER FIT 2 29 ['trial_id'] None 2 1": the trial not
    # started is in the grid with its id alone, and not in the dataframe
    count, iterations, rest = out.split("AFTER FIT", 1)[1].split(maxsplit=2)
    assert int(count) == 2 and int(iterations) >= 2
    assert rest.split("\n")[0] == "['trial_id'] None 2 1", rest
    # and Tune's own reader finds both, the one not started without results (plain Tune
    # 2.60's folder read the same: [0, 4], and it warns alike that it found no results)
    read = subprocess.run(
        [sys.executable, "-c", READ_BACK, str(tmp_path / "long")], capture_output=True, text=True, timeout=120, check=False)
    assert f"READ ['PENDING', 'TERMINATED'] [0, {iterations}]" in read.stdout, read.stderr


PACKAGE_MODULE = """
import json, sys
from .settings import RUNNERS
from ray.rllib.algorithms.ppo import PPOConfig

if __name__ == "__main__":
    config = PPOConfig().environment("CartPole-v1").env_runners(num_env_runners=RUNNERS)
    algo = config.build_algo()
    print(json.dumps({"argv": sys.argv, "remote_runners": algo.env_runner_group.num_remote_env_runners(),
                      "name": __name__}))
    algo.stop()
    sys.exit(3)
"""


@pytest.mark.slow  # a subprocess that imports RLlib and builds PPO (~7 s)
def test_a_package_module_runs_as_python_m_runs_it(tmp_path):
    """A src-layout package module with relative imports could not be debugged: the file
    failed its relative import and `-m` was refused."""
    package = tmp_path / "src" / "mypkg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "settings.py").write_text("RUNNERS = 2\n")
    (package / "train.py").write_text(PACKAGE_MODULE)
    ran = subprocess.run([sys.executable, "-m", "rldebug", "debug", "-m", "mypkg.train",
                          "--iters", "2", "--", "x"], capture_output=True, text=True,
                         timeout=300, check=False, cwd=tmp_path / "src", env=session_env())
    assert ran.returncode == 3, ran.stderr[-2000:]
    said = json.loads(ran.stdout.splitlines()[-1])
    assert said == {"argv": [str(package / "train.py"), "--iters", "2", "--", "x"],
                    "remote_runners": 0, "name": "__main__"}  # in this process, as debugged
    missing = subprocess.run([sys.executable, "-m", "rldebug", "debug", "-m", "mypkg.train"],
                             capture_output=True, text=True, timeout=120, check=False,
                             cwd=tmp_path)
    assert missing.returncode == 2 and "No module named 'mypkg.train'" in missing.stderr
    assert "run it from the folder that holds the package" in missing.stderr
