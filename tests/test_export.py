"""``rldebug export``: a checkpoint's inference pipeline in a folder of its own, loaded with
no Algorithm and no Ray; with ``--onnx`` one graph run by onnxruntime and numpy alone.
Both pass ``rldebug parity`` against the checkpoint they came from."""

import json
import os
import shutil
import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest
from ray.rllib.algorithms.ppo import PPOConfig
from ray.rllib.connectors.env_to_module import MeanStdFilter
from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig

import rldebug
from rldebug.cli import main as cli_main


def _mean_std_filter(env=None, spaces=None, device=None):
    return MeanStdFilter()


def _checkpoint(env, logdir, iterations=3):
    config = (PPOConfig().environment(env).env_runners(env_to_module_connector=_mean_std_filter)
              .training(train_batch_size=500, minibatch_size=250, num_epochs=2, lr=3e-3)
              .rl_module(model_config=DefaultModelConfig(fcnet_hiddens=[32]))
              .debugging(seed=0))
    run = rldebug.run(config, max_iterations=iterations, progress=False,
                      checkpoint_at_end=True, logdir=logdir)
    run.algo.stop()
    return run.checkpoint


@pytest.fixture(scope="module")
def cartpole(tmp_path_factory):
    """PPO CartPole behind a MeanStdFilter, and its export (with ONNX) by the CLI."""
    checkpoint = _checkpoint("CartPole-v1", tmp_path_factory.mktemp("cartpole"))
    out = tmp_path_factory.mktemp("exported") / "policy"
    assert cli_main(["export", str(checkpoint), str(out), "--onnx"]) == 0
    return checkpoint, out


def _onnx_policy(folder):
    sys.path.insert(0, str(folder))
    try:
        import importlib

        import onnx_policy
        return importlib.reload(onnx_policy).OnnxPolicy(folder)
    finally:
        sys.path.remove(str(folder))


def test_the_exported_folder_passes_parity_with_its_checkpoint(cartpole, capsys):
    checkpoint, out = cartpole
    assert {p.name for p in out.iterdir()} >= {"inference_policy.pkl", "policy.onnx",
                                               "onnx_policy.py", "onnx.json"}
    report = rldebug.parity(checkpoint, rldebug.inference_policy(out), episodes=2)
    assert report.passed and report.agreement == 1.0
    assert rldebug.parity(checkpoint, _onnx_policy(out), episodes=2).passed
    # and the folder is a reference parity accepts in place of the checkpoint
    assert rldebug.parity(out, rldebug.inference_policy(checkpoint), episodes=1).passed
    assert cli_main(["inspect", str(out)]) == 2  # a checkpoint's reader says what it is
    assert "is a folder `rldebug export` wrote" in capsys.readouterr().err


LOAD_WITHOUT_RAY = """
import gc, json, sys
import numpy as np
import rldebug
policy = rldebug.inference_policy(sys.argv[1])
observations = np.load(sys.argv[2])
actions = [int(policy(o)) for o in observations]
import ray
from ray.rllib.algorithms.algorithm import Algorithm
print(json.dumps({"actions": actions, "ray_started": ray.is_initialized(),
                  "algorithms": sum(isinstance(o, Algorithm) for o in gc.get_objects())}))
"""

ONNX_ALONE = """
import json, sys
sys.modules["ray"] = sys.modules["rldebug"] = sys.modules["torch"] = None  # not importable
import numpy as np
sys.path.insert(0, sys.argv[1])
from onnx_policy import OnnxPolicy
policy = OnnxPolicy(sys.argv[1])
print(json.dumps({"actions": [int(policy(o)) for o in np.load(sys.argv[2])]}))
"""


def _in_a_fresh_process(script, *args):
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    done = subprocess.run([sys.executable, "-c", script, *map(str, args)], env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_export_acts_without_an_algorithm_or_ray_and_onnx_without_either(
        cartpole, tmp_path):
    checkpoint, out = cartpole
    import gymnasium as gym

    env, observations = gym.make("CartPole-v1"), []
    policy = rldebug.inference_policy(checkpoint)
    obs, _ = env.reset(seed=3)
    for _ in range(60):
        observations.append(obs)
        obs, _, terminated, truncated, _ = env.step(policy(obs))
        if terminated or truncated:
            obs, _ = env.reset()
    np.save(tmp_path / "obs.npy", np.asarray(observations, np.float32))
    policy.reset()
    expected = [int(policy(o)) for o in observations]
    seen = _in_a_fresh_process(LOAD_WITHOUT_RAY, out, tmp_path / "obs.npy")
    assert seen["ray_started"] is False and seen["algorithms"] == 0
    assert seen["actions"] == expected
    assert _in_a_fresh_process(ONNX_ALONE, out, tmp_path / "obs.npy")["actions"] == expected


WITHOUT_TORCH = """
import json, sys
sys.modules["torch"] = None  # a deployment host without torch
import rldebug
from rldebug.usage import UsageError
try:
    rldebug.inference_policy(sys.argv[1])
    print(json.dumps({"error": None}))
except UsageError as err:
    print(json.dumps({"error": str(err)}))
"""


def test_without_torch_the_pickled_export_says_what_it_needs_and_what_runs_instead(cartpole):
    _, out = cartpole
    said = _in_a_fresh_process(WITHOUT_TORCH, out)["error"]
    assert said and "'torch'" in said and "OnnxPolicy" in said


def test_a_continuous_policy_exports_to_onnx_with_its_bounds(tmp_path):
    checkpoint = _checkpoint("Pendulum-v1", tmp_path / "run", iterations=1)
    out = rldebug.export(checkpoint, tmp_path / "out", onnx=True)
    policy = _onnx_policy(out)
    report = rldebug.parity(checkpoint, policy, episodes=1)
    assert report.passed and report.states == 200
    # what InferencePolicy refuses, refused alike: a batch of one was reshaped silently,
    # a wrong length or a dict raised numpy's errors (found in an audit)
    for bad, said in ((np.zeros((1, 3)), r"of shape \(3,\); got one of shape \(1, 3\)"),
                      (np.zeros(4), r"got one of shape \(4,\)"),
                      ({"x": 1.0}, r"an array of shape \(3,\); got a dict")):
        with pytest.raises(ValueError, match=said):
            policy(bad)


def test_onnx_is_refused_for_a_pipeline_one_graph_cannot_hold(capsys, tmp_path):
    from inspect_algos import checkpoint_of

    arena = checkpoint_of("new")  # two agents, FlattenObservations
    code = cli_main(["export", str(arena), str(tmp_path / "out"), "--onnx"])
    err = capsys.readouterr().err
    assert code == 2 and "cannot be one ONNX graph" in err
    assert "multi-agent" in err and "FlattenObservations" in err
    assert not (tmp_path / "out").exists()  # refused before anything was written
    (tmp_path / "kept").mkdir()
    (tmp_path / "kept" / "mine.txt").write_text("mine")
    assert cli_main(["export", str(arena), str(tmp_path / "kept"), "--onnx", "--overwrite"]) == 2
    assert (tmp_path / "kept" / "mine.txt").read_text() == "mine"  # refused before removing
    assert cli_main(["export", str(arena), str(tmp_path / "out")]) == 0
    assert rldebug.parity(arena, rldebug.inference_policy(tmp_path / "out"), episodes=1).passed


def test_overwrite_replaces_an_earlier_export_and_nothing_else(cartpole, tmp_path, capsys):
    """--overwrite once removed whatever the folder held: a checkpoint exported onto
    itself, or onto a folder beside the user's data, was gone."""
    checkpoint, exported = cartpole
    (tmp_path / "keep.txt").write_text("mine")
    assert cli_main(["export", str(checkpoint), str(tmp_path)]) == 2
    assert "is a folder that is not empty" in capsys.readouterr().err
    assert cli_main(["export", str(checkpoint), str(tmp_path), "--overwrite"]) == 2
    assert "not a folder rldebug export wrote" in capsys.readouterr().err
    assert (tmp_path / "keep.txt").read_text() == "mine"
    before = sorted(p.relative_to(checkpoint) for p in checkpoint.rglob("*"))
    assert cli_main(["export", str(checkpoint), str(checkpoint), "--overwrite"]) == 2
    assert "not a folder rldebug export wrote" in capsys.readouterr().err
    assert sorted(p.relative_to(checkpoint) for p in checkpoint.rglob("*")) == before
    # an earlier export (with ONNX) is replaced by one without: its ONNX files go
    again = tmp_path / "again"
    shutil.copytree(exported, again)
    assert (again / "policy.onnx").is_file()
    assert cli_main(["export", str(checkpoint), str(again), "--overwrite"]) == 0
    assert sorted(p.name for p in again.iterdir()) == ["inference_policy.pkl"]
    # ... but not one the user added files to
    shutil.copytree(exported, tmp_path / "added")
    (tmp_path / "added" / "notes.txt").write_text("mine")
    assert cli_main(["export", str(checkpoint), str(tmp_path / "added"), "--overwrite"]) == 2
    assert "holds files rldebug export did not write (notes.txt)" in capsys.readouterr().err
    assert (tmp_path / "added" / "policy.onnx").is_file()
    (tmp_path / "a_file").write_text("")
    assert cli_main(["export", str(checkpoint), str(tmp_path / "a_file")]) == 2
    assert "is a file; export writes a folder" in capsys.readouterr().err


@pytest.mark.slow  # ~25 s: DQN's dueling head needs torch.export's exporter (onnxscript)
def test_dqn_exports_to_onnx_through_torch_export(tmp_path):
    from ray.rllib.algorithms.dqn import DQNConfig

    config = (DQNConfig().environment("CartPole-v1")
              .training(num_steps_sampled_before_learning_starts=100, train_batch_size=32)
              .debugging(seed=0))
    run = rldebug.run(config, max_iterations=1, progress=False, checkpoint_at_end=True,
                      logdir=tmp_path / "run")
    run.algo.stop()
    out = rldebug.export(run.checkpoint, tmp_path / "out", onnx=True)
    assert rldebug.parity(run.checkpoint, _onnx_policy(out), episodes=2).passed


def test_the_policy_refuses_an_observation_the_env_could_not_return(cartpole):
    checkpoint, _ = cartpole
    policy = rldebug.inference_policy(checkpoint)
    with pytest.raises(ValueError, match=r"raw observation, of shape \(4,\); got one of shape \(3,\)"):
        policy(np.zeros(3, np.float32))
    with pytest.raises(ValueError, match="it holds NaN"):  # it acted, as if on zeros
        policy(np.array([0.0, np.nan, 0.0, 0.0], np.float32))
    with pytest.raises(ValueError, match="does not exist"):
        rldebug.inference_policy("/nonexistent/checkpoint")
    assert policy(np.zeros(4, np.float32)) in (0, 1)  # still usable after the refusal
    with pytest.raises(TypeError, match=r"reward=\.\.\.\) takes the last step's reward as a "
                                        "number, got 'x'"):
        policy(np.zeros(4, np.float32), reward="x")
    assert policy(np.zeros(4, np.float32)) in (0, 1)
    policy.reset()  # an episode's first step takes no reward: None is fine there
    assert policy(np.zeros(4, np.float32), reward=None) in (0, 1)
    with pytest.raises(TypeError, match="got None"):
        policy(np.zeros(4, np.float32), reward=None)
    # a piece the pipeline does not have, or a setting Variant does not have: refused,
    # not a policy that acts as trained under another name
    with pytest.raises(ValueError, match=r"without='MeanStdFiltr'\): the pipeline has no "
                                         r"such piece; it can leave out one of "
                                         r"\['MeanStdFilter'\]"):
        policy.with_variant(without="MeanStdFiltr")
    with pytest.raises(TypeError, match=r"with_variant\(\) takes .* got \['foo'\]"):
        policy.with_variant(foo=1)
    # recorded observations given as a dict of columns, or one number
    for observations in ({"obs": np.zeros((3, 4), np.float32)}, 5):
        with pytest.raises(TypeError, match=r"observations=\.\.\.\) takes a sequence of "
                                            "observations"):
            rldebug.parity(checkpoint, policy, observations=observations)


class _Sampled(gym.Env):
    """One-step episodes of observations sampled from the class's space."""

    def __init__(self, config=None):
        super().__init__()

    def reset(self, *, seed=None, options=None):
        return self.observation_space.sample(), {}

    def step(self, action):
        return self.observation_space.sample(), 1.0, False, True, {}


class DictAndDiscrete(_Sampled):
    """A Dict observation with a Discrete part, and a Discrete(3, start=1) action."""

    observation_space = gym.spaces.Dict({"flag": gym.spaces.Discrete(3),
                                         "pos": gym.spaces.Box(-1, 1, (2,), np.float32)})
    action_space = gym.spaces.Discrete(3, start=1)


def _flatten(env=None, spaces=None, device=None):
    from ray.rllib.connectors.env_to_module import FlattenObservations

    return FlattenObservations()


def test_a_bad_observation_is_refused_by_its_space_and_leaves_the_policy_usable(tmp_path):
    """A Dict observation without a key, or a Discrete part out of range, failed deep in
    numpy or RLlib's one-hot (IndexError, AssertionError), and every later call raised
    'cannot unpack non-iterable NoneType' (the episode kept the failed step)."""
    algo = (PPOConfig().environment(DictAndDiscrete)
            .env_runners(num_env_runners=0, env_to_module_connector=_flatten)
            .rl_module(model_config=DefaultModelConfig(fcnet_hiddens=[8])).build_algo())
    algo.save_to_path(str(tmp_path / "checkpoint"))
    algo.stop()
    policy = rldebug.inference_policy(tmp_path / "checkpoint")
    good = {"flag": 1, "pos": np.zeros(2, np.float32)}
    for bad, why in (({"pos": np.zeros(2, np.float32)}, r"its keys are \['pos'\]"),
                     ({**good, "flag": 7}, r"\['flag'\]: 7 is not an int in \[0, 2\]"),
                     (np.zeros(5, np.float32), "not a dict of")):
        with pytest.raises(ValueError, match=why):
            policy(bad)
        assert policy(good) in (0, 1, 2)  # still usable
    assert policy({"flag": np.int64(2), "pos": np.zeros(2, np.float64)}) in (0, 1, 2)
    # ints (a list) and float16 for a float32 Box part: in the module's dtype, not torch's
    # "mat1 and mat2 must have the same dtype" (found in an audit)
    assert policy({"flag": 2, "pos": [0, 1]}) == policy(
        {"flag": 2, "pos": np.array([0, 1], np.float16)}) == policy(
        {"flag": 2, "pos": np.array([0, 1], np.float32)})
    # a variant the module cannot run is listed with the reason, as the docs say (it was
    # in --json only)
    report = rldebug.parity(tmp_path / "checkpoint", lambda obs: 3 if obs["flag"] else 1,
                            episodes=20)
    assert "without FlattenObservations" in report.not_runnable, report.not_runnable
    assert ("the pipeline without FlattenObservations: not tried, the module cannot run "
            "it (") in str(report)


class StartActions(_Sampled):
    """A Box observation and a Discrete(3, start=1) action (RLlib sends 0..2)."""

    observation_space = gym.spaces.Box(-1, 1, (3,), np.float32)
    action_space = gym.spaces.Discrete(3, start=1)


KEPT_BACK_WITHOUT_A_STDOUT = """
import os, sys
from rldebug.deployment.exporting import _output_kept_back
os.close(1)
sys.stdout = None  # as under pythonw or a service
with _output_kept_back():  # nothing to hold back on a closed fd 1: it goes on
    pass
sys.stderr.write("went on\\n")
"""


def test_holding_back_the_exporters_output_needs_no_stdout(tmp_path):
    """The TorchScript exporter's IR dump is held back at the file descriptors; with no
    stdout (pythonw, a service) that raised AttributeError half-way through an export."""
    script = tmp_path / "no_stdout.py"
    script.write_text(KEPT_BACK_WITHOUT_A_STDOUT)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0 and "went on" in done.stderr, done.stderr


def test_onnx_sends_a_discrete_action_with_a_start_as_the_pipeline_does(tmp_path):
    """Discrete(3, start=1): RLlib's pipeline (and inference_policy) hands the env the
    module's index 0..2; the ONNX runner added the start, one off at every step."""
    algo = (PPOConfig().environment(StartActions).env_runners(num_env_runners=0)
            .rl_module(model_config=DefaultModelConfig(fcnet_hiddens=[8]))
            .debugging(seed=0).build_algo())
    algo.save_to_path(str(tmp_path / "checkpoint"))
    algo.stop()
    out = rldebug.export(tmp_path / "checkpoint", tmp_path / "out", onnx=True)
    pipeline, onnx = rldebug.inference_policy(out), _onnx_policy(out)
    observations = np.random.default_rng(0).uniform(-1, 1, (40, 3)).astype(np.float32)
    # (a new policy per observation: each is an episode's first step for both)
    expected = [int(pipeline.with_variant()(o)) for o in observations]
    assert [onnx(o) for o in observations] == expected
    assert 0 in expected and set(expected) <= {0, 1, 2}
    # and parity takes the index 0 the pipeline sends as an action, not as "no action of
    # Discrete(3, start=1)": the pipeline passes against itself
    assert rldebug.parity(tmp_path / "checkpoint", pipeline, episodes=2).passed
    assert rldebug.parity(tmp_path / "checkpoint", onnx, episodes=2).passed
    # a deployment sending start + index, the value the space declares, is told why it
    # differs (it was "No single variant of the pipeline explains the difference")
    plus_start = rldebug.parity(tmp_path / "checkpoint",
                                lambda obs: int(pipeline.with_variant()(obs)) + 1, episodes=2)
    assert not plus_start.passed
    assert "is the pipeline's action plus 1, the start of the env's Discrete action space" \
        in plus_start.explanation, plus_start.explanation



USER_GAME = '''
from ray.rllib.examples.envs.classes.multi_agent import MultiAgentCartPole


class TwoCartPoles(MultiAgentCartPole):
    def __init__(self, config=None):
        super().__init__({"num_agents": 2})


def module_of(agent_id, episode, **kwargs):
    return f"p{agent_id}"
'''

LOAD_WITHOUT_THE_USERS_CODE = """
import json, sys
import numpy as np
import rldebug
from rldebug.usage import UsageError
policy = rldebug.inference_policy(sys.argv[1])
observations = np.load(sys.argv[2])
actions = [{str(a): int(x) for a, x in policy({0: o, 1: o[::-1].copy()}).items()}
           for o in observations]
try:
    rldebug.parity(sys.argv[1], policy, episodes=1)
    said = None
except UsageError as err:
    said = str(err)
print(json.dumps({"actions": actions, "parity": said,
                  "imported": "user_game" in sys.modules}))
"""


def test_an_export_loads_without_the_users_env_and_mapping_code(tmp_path, monkeypatch):
    """An export of an env class and a mapping function from the user's own module needed
    that module to load (cloudpickle keeps them by reference): it is inference code, not
    the env's. Now the mapping is held by value and the env by name, which only parity,
    playing the env, imports, and says so when it cannot."""
    from ray.rllib.core.rl_module.multi_rl_module import MultiRLModuleSpec
    from ray.rllib.core.rl_module.rl_module import RLModuleSpec

    code = tmp_path / "code"
    code.mkdir()
    (code / "user_game.py").write_text(USER_GAME)
    monkeypatch.syspath_prepend(str(code))
    import user_game

    config = (PPOConfig().environment(user_game.TwoCartPoles)
              .multi_agent(policies={"p0", "p1"}, policy_mapping_fn=user_game.module_of)
              .rl_module(rl_module_spec=MultiRLModuleSpec(rl_module_specs={
                  "p0": RLModuleSpec(model_config=DefaultModelConfig(fcnet_hiddens=[8])),
                  "p1": RLModuleSpec(model_config=DefaultModelConfig(fcnet_hiddens=[8]))}))
              .training(train_batch_size=200, minibatch_size=100, num_epochs=1)
              .debugging(seed=0))
    run = rldebug.run(config, max_iterations=1, progress=False, checkpoint_at_end=True,
                      logdir=tmp_path / "run")
    run.algo.stop()
    out = rldebug.export(run.checkpoint, tmp_path / "out")
    observations = np.random.default_rng(0).uniform(-0.2, 0.2, (20, 4)).astype(np.float32)
    np.save(tmp_path / "obs.npy", observations)
    policy = rldebug.inference_policy(out)
    expected = [{str(a): int(x) for a, x in policy({0: o, 1: o[::-1].copy()}).items()}
                for o in observations]
    seen = _in_a_fresh_process(LOAD_WITHOUT_THE_USERS_CODE, out, tmp_path / "obs.npy")
    assert seen["actions"] == expected and not seen["imported"]
    assert "names its env user_game.TwoCartPoles but does not hold the env's code" in \
        seen["parity"] and "PYTHONPATH" in seen["parity"]
    assert rldebug.parity(out, policy, episodes=1).passed  # here the env imports


def test_explain_normalises_with_the_saved_statistics_as_the_export_does(cartpole):
    """explain updated the MeanStdFilter with the observation before normalising it: a
    batch of three identical observations came back as three different module inputs."""
    checkpoint, out = cartpole
    algo = rldebug.load(checkpoint)
    try:
        saved = MeanStdFilter()
        saved.input_observation_space = gym.make("CartPole-v1").observation_space
        saved.set_state(algo.env_runner._env_to_module.get_state()["MeanStdFilter"])
        obs = np.array([0.1, 0.2, 0.05, -0.3], np.float32)
        explained = rldebug.explain(algo, np.stack([obs, obs, obs]))
        expected = saved._filters[None](obs, update=False)  # RLlib's filter, not updated
        np.testing.assert_allclose(explained.module_input, np.stack([expected] * 3), rtol=1e-6)
        policy = rldebug.inference_policy(out)
        rng = np.random.default_rng(0)
        for x in rng.uniform([-2.4, -3, -0.2, -3], [2.4, 3, 0.2, 3], (50, 4)).astype(np.float32):
            policy.reset()
            assert int(rldebug.explain(algo, x).greedy_action) == int(policy(x))
    finally:
        algo.stop()
