"""rldebug.load and `rldebug inspect CHECKPOINT`: both stacks, and paths that are not checkpoints."""

import argparse
import functools
import json
import shutil
import warnings

import numpy as np
import pytest
from inspect_algos import checkpoint_of, trained_algo
from ray.rllib.callbacks.callbacks import RLlibCallback

from rldebug.callbacks.compose import add_callbacks, callback_classes, without_tools
from rldebug.deployment import inference_policy
from rldebug.inspection import CheckpointError, explain, load
from rldebug.inspection.checkpoint import (
    CHECKSUMS_FILE,
    UnverifiedCheckpointWarning,
    seal_checkpoint,
)
from rldebug.inspection.cli import add_commands


@pytest.fixture
def checkpoint(api_stack):
    return checkpoint_of(api_stack)


def test_load_restores_the_same_policy(checkpoint, api_stack):
    original = explain(trained_algo(api_stack), np.array([3, 57]), agent_id="agent1")
    algo = load(checkpoint)
    try:
        assert algo.config.num_env_runners == 0  # rebuilt in this process
        restored = explain(algo, np.array([3, 57]), agent_id="agent1")
        assert np.allclose(restored.probs, original.probs, atol=1e-6)
        assert restored.value == pytest.approx(original.value, abs=1e-5)
    finally:
        algo.stop()


def test_load_modules_only(checkpoint, api_stack):
    modules = load(checkpoint, modules_only=True)
    if api_stack == "new":
        from ray.rllib.core.rl_module.multi_rl_module import MultiRLModule

        assert isinstance(modules, MultiRLModule)
        assert sorted(modules.keys()) == ["pol1", "pol2"]
        assert hasattr(modules["pol1"], "compute_values")  # the Learner's, with value head
    else:
        assert sorted(modules) == ["pol1", "pol2"]
        assert type(modules["pol1"]).__name__ == "PPOTorchPolicy"


def test_missing_path(tmp_path):
    with pytest.raises(CheckpointError, match=r"does not exist.*rllib_checkpoint.json"):
        load(tmp_path / "nope")


def test_file_instead_of_directory(tmp_path):
    path = tmp_path / "model.pt"
    path.write_text("x")
    with pytest.raises(CheckpointError, match=r"is a file, not a directory"):
        load(path)


def test_directory_that_is_not_a_checkpoint(tmp_path):
    (tmp_path / "progress.csv").write_text("a,b\n")
    with pytest.raises(CheckpointError,
                       match=r"not an RLlib checkpoint: it holds \['progress.csv'\].*"
                             r"algorithm_state.pkl"):
        load(tmp_path)


def test_checkpoint_missing_a_module_state(tmp_path):
    copy = shutil.copytree(checkpoint_of("new"), tmp_path / "ckpt")
    (copy / "learner_group/learner/rl_module/pol1/module_state.pkl").unlink()
    with pytest.raises(CheckpointError,
                       match=r"incomplete: missing \['learner_group/learner/rl_module/pol1/"
                             r"module_state.pkl'\]"):
        load(copy)


@pytest.mark.parametrize("loaded_as", ["algorithm", "modules"])
def test_checkpoint_missing_a_whole_module_folder_is_refused(tmp_path, loaded_as):
    """RLlib's restore skips an absent folder: pol1 would keep its random weights."""
    copy = shutil.copytree(checkpoint_of("new"), tmp_path / "ckpt")
    shutil.rmtree(copy / "learner_group/learner/rl_module/pol1")
    path = copy if loaded_as == "algorithm" else copy / "learner_group/learner/rl_module"
    with pytest.raises(CheckpointError, match=r"records the modules \['pol1', 'pol2'\]|"
                                              r"records the modules \['pol2', 'pol1'\]") as err:
        load(path, modules_only=True)
    assert "['learner_group/learner/rl_module/pol1'] is missing" in str(err.value) or \
        "['pol1'] is missing" in str(err.value)


def test_checkpoint_missing_its_env_runner_folder_is_refused(tmp_path):
    """Without it a MeanStdFilter's statistics would restart from nothing."""
    copy = shutil.copytree(checkpoint_of("new"), tmp_path / "ckpt")
    shutil.rmtree(copy / "env_runner")
    with pytest.raises(CheckpointError, match=r"has no env_runner folder.*MeanStdFilter"):
        load(copy, modules_only=True)


def test_checkpoint_with_an_empty_file(tmp_path):
    copy = shutil.copytree(checkpoint_of("old"), tmp_path / "ckpt")
    (copy / "policies/pol2/policy_state.pkl").write_bytes(b"")
    with pytest.raises(CheckpointError, match=r"empty \(truncated\).*policies/pol2"):
        load(copy)


def test_checkpoint_with_a_cut_pickle(tmp_path):
    copy = shutil.copytree(checkpoint_of("new"), tmp_path / "ckpt")
    ctor = copy / "class_and_ctor_args.pkl"
    ctor.write_bytes(ctor.read_bytes()[:200])
    with pytest.raises(CheckpointError,
                       match=r"class_and_ctor_args.pkl .* not a valid pickle.*truncated or corrupt"):
        load(copy)


@pytest.mark.parametrize("garbage", [b"\x80\x05\x95garbage\xff\xfe", b"\x80\x04X\x03\x00\x00\x00\xff\xfe\xfd."])
def test_checkpoint_with_corrupt_pickle_bytes_is_named_before_unpickling(tmp_path, garbage):
    copy = shutil.copytree(checkpoint_of("new"), tmp_path / "ckpt")
    state = next(copy.rglob("module_state.pkl"))
    state.write_bytes(garbage)
    with pytest.raises(CheckpointError, match=r"module_state.pkl .* not a valid pickle"):
        load(copy)


def test_checkpoint_with_broken_json(tmp_path):
    copy = shutil.copytree(checkpoint_of("new"), tmp_path / "ckpt")
    (copy / "rllib_checkpoint.json").write_text('{"checkpoint_vers')
    with pytest.raises(CheckpointError, match=r"not valid JSON"):
        load(copy)


def _zero_64_bytes_in_the_middle(path):
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 64] = bytes(64)
    path.write_bytes(bytes(data))


def test_a_cut_metadata_json_rllib_would_load_is_refused(tmp_path):
    copy = shutil.copytree(checkpoint_of("new"), tmp_path / "ckpt")
    metadata = copy / "env_runner" / "metadata.json"
    metadata.write_text(metadata.read_text()[: len(metadata.read_text()) // 2])
    with pytest.raises(CheckpointError, match=r"env_runner/metadata.json .* not valid JSON"):
        load(copy)


def test_zeros_written_into_a_weight_file_load_silently_without_a_seal(tmp_path):
    """The control: RLlib loads such a file, its weights altered; rldebug says it could
    not verify the values."""
    copy = shutil.copytree(checkpoint_of("new"), tmp_path / "ckpt")
    _zero_64_bytes_in_the_middle(copy / "learner_group/learner/rl_module/pol1/module_state.pkl")
    with pytest.warns(UnverifiedCheckpointWarning, match="altered weight values cannot be") \
            as caught:
        algo = load(copy)
    algo.stop()
    # said at the user's line, not at one of rldebug's (an audit saw
    # "stored = load_pipeline(path)" under it), however deep in rldebug it is found
    with pytest.warns(UnverifiedCheckpointWarning) as deeper:
        inference_policy(copy)
    assert {w.filename for w in [*caught, *deeper]
            if w.category is UnverifiedCheckpointWarning} == {__file__}


def test_a_sealed_checkpoint_refuses_a_file_changed_after_saving(tmp_path):
    copy = shutil.copytree(checkpoint_of("new"), tmp_path / "ckpt")
    seal_checkpoint(copy)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnverifiedCheckpointWarning)
        load(copy).stop()  # intact: loads, and says nothing about verification
    _zero_64_bytes_in_the_middle(copy / "learner_group/learner/rl_module/pol1/module_state.pkl")
    with pytest.raises(CheckpointError, match=r"changed after rldebug saved it: files whose "
                       r"contents differ .*pol1/module_state.pkl"):
        load(copy)


@pytest.mark.parametrize("part", ["learner_group/learner/rl_module",
                                  "learner_group/learner/rl_module/pol1"])
def test_a_part_of_a_sealed_checkpoint_is_checked_against_its_seal(tmp_path, part):
    """A module's folder of a sealed checkpoint loads as modules: it is checked against
    the seal of the checkpoint it lies in (it used to load altered weights, warning that
    the checkpoint "carries no rldebug checksums")."""
    copy = shutil.copytree(checkpoint_of("new"), tmp_path / "ckpt")
    seal_checkpoint(copy)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnverifiedCheckpointWarning)
        load(copy / part)  # intact: loads, verified
    _zero_64_bytes_in_the_middle(copy / "learner_group/learner/rl_module/pol1/module_state.pkl")
    with pytest.raises(CheckpointError, match=r"changed after rldebug saved it: .*"
                       r"pol1/module_state.pkl"):
        load(copy / part)


def test_a_module_folder_added_after_sealing_is_unverified(tmp_path):
    copy = shutil.copytree(checkpoint_of("new"), tmp_path / "ckpt")
    modules = copy / "learner_group/learner/rl_module"
    shutil.move(modules / "pol2", tmp_path / "pol2")  # sealed without pol2
    seal_checkpoint(copy)
    shutil.move(tmp_path / "pol2", modules / "pol2")
    with pytest.warns(UnverifiedCheckpointWarning):
        load(modules / "pol2")  # none of its files is in the seal: nothing was verified


def test_rldebug_run_seals_the_checkpoint_it_writes(tmp_path):
    from tiny import tiny_arena_config

    import rldebug

    run = rldebug.run(tiny_arena_config(), stop={"training_iteration": 1}, logdir=tmp_path,
                      checkpoint_at_end=True, progress=False)
    run.algo.stop()
    files = {p.relative_to(run.checkpoint).as_posix() for p in run.checkpoint.rglob("*")
             if p.is_file()} - {CHECKSUMS_FILE}
    sealed = json.loads((run.checkpoint / CHECKSUMS_FILE).read_text())["files"]
    assert set(sealed) == files


# -- CLI -----------------------------------------------------------------------

def _parse(argv):
    parser = argparse.ArgumentParser(prog="rldebug")
    add_commands(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


def test_cli_prints_summary_and_explanation(capsys):
    args = _parse(["inspect", str(checkpoint_of("new")), "--agent", "agent1",
                   "--obs", "[0, 99]"])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "module pol1" in out and "module pol2" in out and "200 → 16" in out
    assert "greedy action" in out and "agent1 → pol1" in out


def test_cli_json_holds_the_summary_and_the_explanation(capsys):
    """inspect was the one command without --json (an audit's user reached for it)."""
    import json

    import numpy as np

    from rldebug.cli import main

    assert main(["inspect", str(checkpoint_of("new")), "--agent", "agent1",
                 "--obs", "[0, 99]", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)  # strict JSON, nothing else on stdout
    summary, explanation = shown["summary"], shown["explanation"]
    assert summary["agents"] == {"agent1": "pol1", "agent2": "pol2"}
    assert sum(layer["num_params"] for layer in summary["modules"]["pol1"]["layers"]) > 0
    assert explanation["agent_id"] == "agent1" and explanation["module_id"] == "pol1"
    assert explanation["greedy_action"] == int(np.argmax(explanation["probs"]))
    assert main(["inspect", str(checkpoint_of("new")), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["explanation"] is None


def test_cli_bad_obs_and_bad_path(tmp_path, capsys):
    from rldebug.cli import main

    for argv, message in (
            (["inspect", str(checkpoint_of("old")), "--agent", "agent1", "--obs", "[0, 100]"],
             "outside the space's bounds"),
            (["inspect", str(checkpoint_of("old")), "--obs", "[0, 99"], "--obs must be JSON"),
            (["inspect", str(tmp_path)], "not an RLlib checkpoint")):
        assert main(argv) == 2  # unusable input, as for rldebug doctor
        err = capsys.readouterr().err
        # after a one-line warning for a checkpoint rldebug did not seal, if any
        assert "\nrldebug inspect: error: " in "\n" + err and message in err
        assert "Traceback" not in err


def test_cli_help_warns_about_unpickling(capsys):
    with pytest.raises(SystemExit):
        _parse(["inspect", "--help"])
    assert "unpickles code" in capsys.readouterr().out


def test_a_name_the_training_script_registered_is_said_before_anything_is_built(
        tmp_path, capsys):
    """A checkpoint of an env id or a custom model the training script registered, loaded
    where neither is registered: RLlib's EnvError (and an error from a half-built env's
    __del__) or a bare KeyError ('rllib_model', name) before."""
    import subprocess
    import sys
    from pathlib import Path

    from rldebug.cli import main

    script = Path(__file__).parent / "registered_names_checkpoints.py"
    saved = subprocess.run([sys.executable, str(script), str(tmp_path)], capture_output=True,
                           text=True, timeout=300, check=False)
    assert "SAVED" in saved.stdout, saved.stderr[-3000:]
    with pytest.raises(CheckpointError, match="trained on the env 'a_registered_cartpole', "
                                              "a name the training script registered"):
        load(tmp_path / "registered_env")
    assert load(tmp_path / "registered_env", modules_only=True) is not None  # the way out
    with pytest.raises(CheckpointError, match="uses the custom model 'a_registered_model'"):
        load(tmp_path / "registered_model")
    with pytest.raises(CheckpointError, match="uses the custom model 'a_registered_model'"):
        load(tmp_path / "registered_model", modules_only=True)
    # what RLlib builds without a registration is not refused: a class path, a
    # module:EnvId gymnasium imports, a gymnasium id
    from rldebug.shapes.env_meta import unknown_env_id

    assert [unknown_env_id(env) for env in (
        "a_registered_cartpole", "ray.rllib.examples.envs.classes.random_env.RandomEnv",
        "gymnasium.envs.classic_control.cartpole:CartPole-v1", "CartPole-v1", None)] == [
        True, False, False, False, False]
    for name in ("registered_env", "registered_model"):
        assert main(["inspect", str(tmp_path / name)]) == 2
        err = capsys.readouterr().err
        assert "rldebug inspect: error: The checkpoint" in err
        assert "from the command line: --import MODULE_OR_FILE.py" in err
        assert "Traceback" not in err and "Exception ignored" not in err
    # the way from the shell: --import the code that registers them, as the script did
    # (a file that imports its neighbour, as `python my_registrations.py` could)
    code = tmp_path / "code"
    code.mkdir()
    (code / "my_models.py").write_text(
        "from ray.rllib.models.torch.fcnet import FullyConnectedNetwork as MyModel\n")
    registering = code / "my_registrations.py"
    registering.write_text(
        "import gymnasium as gym\n"
        "from ray.rllib.models import ModelCatalog\n"
        "from ray.tune.registry import register_env\n"
        "from my_models import MyModel\n"
        "register_env('a_registered_cartpole', lambda config: gym.make('CartPole-v1'))\n"
        "ModelCatalog.register_custom_model('a_registered_model', MyModel)\n")
    assert main(["inspect", str(tmp_path / "registered_model"), "--import", "nowhere.py"]) == 2
    assert "--import file 'nowhere.py' does not exist" in capsys.readouterr().err
    (tmp_path / "json.py").write_text("")  # would hide the standard library's json
    assert main(["inspect", str(tmp_path / "registered_model"),
                 "--import", str(tmp_path / "json.py")]) == 2
    assert "Python already has a module named 'json'" in capsys.readouterr().err
    for name in ("registered_env", "registered_model"):
        assert main(["inspect", str(tmp_path / name), "--obs", "[0.1, 0.2, 0.03, -0.1]",
                     "--import", str(registering)]) == 0, capsys.readouterr().err
        assert "greedy action" in capsys.readouterr().out


@pytest.mark.parametrize("api_stack", ["new", "old"])
class _UsersCallback(RLlibCallback):
    def __init__(self, tag: str = ""):
        super().__init__()
        self.tag = tag


def test_a_traced_runs_checkpoint_loads_without_writing_into_its_trace(tmp_path, api_stack):
    """The config a traced run's checkpoint stores carries the trace's callbacks and
    folder: loading it must not write there (a bad-input audit found `rldebug inspect`
    rewriting the run's replay weights, re-creating a moved run's folder, and failing
    where that folder cannot be written). The user's own callbacks stay, a partial too."""
    from tiny import tiny_arena_config

    import rldebug
    from rldebug.doctor import DoctorCallback

    users = functools.partial(_UsersCallback, tag="mine")
    config = tiny_arena_config(api_stack).callbacks(users)
    traced = rldebug.trace(config, out=tmp_path / "run" / "trace",
                           reproducible=api_stack == "new")
    traced = add_callbacks(traced, DoctorCallback.configured(logdir=tmp_path / "run"))
    run = rldebug.run(traced, stop={"training_iteration": 1}, logdir=tmp_path / "run",
                      checkpoint_at_end=True, progress=False)
    run.algo.stop()
    checkpoint = run.checkpoint.relative_to(tmp_path / "run")
    shutil.move(tmp_path / "run", tmp_path / "moved")
    algo = load(tmp_path / "moved" / checkpoint)
    try:
        explain(algo, np.array([3, 57]), agent_id="agent1")
        algo.train()  # sampling and learning write no trace either
    finally:
        algo.stop()
    assert not (tmp_path / "run").exists()  # the moved run's folder is not made again
    assert not algo.config.learner_class.__name__.startswith("Traced")
    kept = callback_classes(algo.config)  # the users' partial, and local mode's env check
    assert [(c.func, c.keywords) for c in kept if isinstance(c, functools.partial)] == [
        (_UsersCallback, {"tag": "mine"})]
    assert [c.__name__ for c in kept if isinstance(c, type)] == ["PassiveEnvCheck"]


def test_rldebugs_learner_wrappers_come_off_down_to_the_users_learner():
    """attach_remote wraps the traced Learner class: the first base that was not the
    trace's was its mixin, which RLlib cannot build (a reviewer's)."""
    from ray.rllib.algorithms.ppo.torch.ppo_torch_learner import PPOTorchLearner
    from tiny import tiny_arena_config

    import rldebug

    class UsersLearner(PPOTorchLearner):
        pass

    config = tiny_arena_config().learners(num_learners=1, learner_class=UsersLearner)
    wrapped = rldebug.attach_remote(rldebug.trace(config, out=None), learner_index=0,
                                    post_mortem=True)
    assert wrapped.learner_class is not UsersLearner
    assert without_tools(wrapped).learner_class is UsersLearner
    assert without_tools(tiny_arena_config()).learner_class is PPOTorchLearner
