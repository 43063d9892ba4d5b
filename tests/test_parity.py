"""``rldebug parity`` on real checkpoints: deployments as users write them (the RLModule
loaded alone, called on the raw observation) are compared with the training pipeline;
each wrong one is caught and the part of the pipeline it leaves out is named, each
correct one passes. Covered: a MeanStdFilter not applied, SAC's action not unsquashed,
frame stacking missing or without history, an LSTM deployed without its state, a
multi-agent deployment with the modules swapped or sampling, and on the old API stack
a filter not applied and the arena's policies swapped."""

import json
import pickle
import re
import warnings

import numpy as np
import parity_policies as deployed
import pytest
from ray.rllib.algorithms.ppo import PPOConfig
from ray.rllib.connectors.env_to_module import MeanStdFilter
from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig

import rldebug
from rldebug.cli import main as cli_main
from rldebug.deployment import parity


def _train(config, iterations, logdir):
    run = rldebug.run(config.debugging(seed=0), max_iterations=iterations, progress=False,
                      checkpoint_at_end=True, logdir=logdir)
    run.algo.stop()
    return run.checkpoint


def _ppo(env, **model):
    return (PPOConfig().environment(env)
            .training(train_batch_size=500, minibatch_size=250, num_epochs=2, lr=3e-3)
            .rl_module(model_config=DefaultModelConfig(fcnet_hiddens=[32], **model)))


def _mean_std_filter(env=None, spaces=None, device=None):
    return MeanStdFilter()


def _frame_stacking(env=None, spaces=None, device=None):
    from ray.rllib.connectors.env_to_module.frame_stacking import FrameStackingEnvToModule

    return FrameStackingEnvToModule(num_frames=3)


def _frame_stacking_learner(obs_space=None, act_space=None):
    from ray.rllib.connectors.learner.frame_stacking import FrameStackingLearner

    return FrameStackingLearner(num_frames=3)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """PPO CartPole trained 6 iterations behind a MeanStdFilter connector."""
    config = _ppo("CartPole-v1").env_runners(env_to_module_connector=_mean_std_filter)
    return _train(config, 6, tmp_path_factory.mktemp("filtered"))


def test_a_module_deployed_without_its_filter_fails_and_the_filter_is_named(
        checkpoint, monkeypatch, capsys):
    monkeypatch.setenv("RLDEBUG_PARITY_CHECKPOINT", str(checkpoint))
    monkeypatch.setattr(deployed, "_module", None)
    code = cli_main(["parity", str(checkpoint), "--policy",
                     "parity_policies:module_argmax", "--episodes", "2", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1 and not report["passed"]
    assert 0.2 < report["agreement"] < 0.9  # about half the states
    assert report["variants"]["without MeanStdFilter"] >= 0.99
    assert "does not apply MeanStdFilter" in report["explanation"]


def test_a_checkpoint_rldebug_did_not_seal_is_said_in_one_line(checkpoint, tmp_path,
                                                               monkeypatch, capsys):
    """A plain RLlib checkpoint's warning came with the line of the command's entry
    script after it (`sys.exit(main())`; an independent user's every run)."""
    import shutil

    from rldebug.inspection.checkpoint import CHECKSUMS_FILE

    plain = shutil.copytree(checkpoint, tmp_path / "plain")
    (plain / CHECKSUMS_FILE).unlink()
    monkeypatch.setenv("RLDEBUG_PARITY_CHECKPOINT", str(plain))
    monkeypatch.setattr(deployed, "_module", None)
    code = cli_main(["parity", str(plain), "--policy", "parity_policies:module_argmax",
                     "--episodes", "1"])
    err = capsys.readouterr().err
    assert code == 1
    assert "rldebug parity: warning: " in err and "carries no rldebug checksums" in err, err
    assert "cli_main(" not in err and "UnverifiedCheckpointWarning" not in err, err


def test_a_missing_checkpoint_is_refused_before_the_policys_file_runs(tmp_path, capsys):
    """The policy's file ran first: a deployment file that loads its module at import
    made a mistyped checkpoint path take 7 s to refuse (an independent user's)."""
    deploy = tmp_path / "deploy.py"
    deploy.write_text("raise RuntimeError('the deployment file ran')\ndef act(obs):\n"
                      "    return 0\n")
    code = cli_main(["parity", str(tmp_path / "no_such_checkpoint"), "--policy",
                     f"{deploy}:act"])
    err = capsys.readouterr().err
    assert code == 2 and "does not exist" in err and "the deployment file ran" not in err, err


def test_the_training_pipeline_itself_passes_as_a_policy_a_pickle_and_an_algorithm(checkpoint):
    policy = rldebug.inference_policy(checkpoint)
    assert "MeanStdFilter" in repr(policy)
    for candidate in (policy, pickle.loads(pickle.dumps(policy))):
        report = parity(checkpoint, candidate, episodes=2)
        assert report.passed and report.agreement == 1.0 and report.states >= 20
        assert report.variants == {}  # nothing to explain
    algo = rldebug.load(checkpoint)
    try:
        assert parity(algo, policy, episodes=1).agreement == 1.0
    finally:
        algo.stop()


def test_observations_recorded_elsewhere_are_compared_in_place_of_the_env(
        checkpoint, tmp_path, monkeypatch, capsys):
    """No env to play (a simulator parity cannot build): the observations come from a file,
    split into episodes by episode_starts."""
    import gymnasium as gym

    env, policy = gym.make("CartPole-v1"), rldebug.inference_policy(checkpoint)
    observations, starts = [], []
    for episode in range(2):
        obs, _ = env.reset(seed=10 + episode)
        policy.reset()
        for t in range(500):
            observations.append(obs)
            starts.append(t == 0)
            obs, _, terminated, truncated, _ = env.step(policy(obs))
            if terminated or truncated:
                break
    recorded = tmp_path / "recorded.npz"
    np.savez(recorded, obs=np.asarray(observations), episode_starts=np.asarray(starts))
    monkeypatch.setenv("RLDEBUG_PARITY_CHECKPOINT", str(checkpoint))
    monkeypatch.setattr(deployed, "_module", None)
    code = cli_main(["parity", str(checkpoint), "--policy", "parity_policies:module_argmax",
                     "--observations", str(recorded), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1 and report["states"] == len(observations)
    assert "does not apply MeanStdFilter" in report["explanation"]
    assert parity(checkpoint, rldebug.inference_policy(checkpoint),
                  observations=recorded).agreement == 1.0
    # integers recorded for the float Box (a torch dtype error before), or booleans
    np.save(tmp_path / "ints.npy", np.asarray(observations).round().astype(np.int64))
    np.save(tmp_path / "bools.npy", np.asarray(observations) > 0)
    for name in ("ints.npy", "bools.npy"):
        assert parity(checkpoint, rldebug.inference_policy(checkpoint),
                      observations=tmp_path / name).agreement == 1.0
    # a cast that would change values is refused (fractions for an int Box)
    from rldebug.deployment.comparison import recorded_episodes

    with pytest.raises(ValueError, match="that the env's uint8 observations cannot hold"):
        recorded_episodes(np.array([[0.2, 0.9]]), gym.spaces.Box(0, 255, (2,), np.uint8))
    np.save(tmp_path / "one.npy", np.asarray(observations[0]))
    with pytest.raises(ValueError, match=re.escape("looks like one observation: save it with "
                                                   "shape (1, 4)")):
        parity(checkpoint, policy, observations=tmp_path / "one.npy")
    np.save(tmp_path / "wrong.npy", np.zeros((3, 5), np.float32))
    with pytest.raises(ValueError, match=r"shape \(5,\); the env's observations have shape \(4,\)"):
        parity(checkpoint, policy, observations=tmp_path / "wrong.npy")
    assert cli_main(["parity", str(checkpoint), "--policy", "parity_policies:module_argmax",
                     "--observations", str(tmp_path / "none.npz")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert cli_main(["parity", str(checkpoint), "--policy", "parity_policies:module_argmax",
                     "--observations", str(tmp_path)]) == 2  # it said "does not exist"
    assert "is a folder; pass the .npy or .npz file" in capsys.readouterr().err
    # the command line's errors name its options (they named parity()'s parameters only)
    for option, value in (("--episodes", "0"), ("--min-agreement", "1.5")):
        assert cli_main(["parity", str(checkpoint), "--policy", "parity_policies:module_argmax",
                         option, value]) == 2
        assert f"({option}) must be" in capsys.readouterr().err


def test_the_episodes_a_reproducible_trace_taped_are_played_again(
        tmp_path, monkeypatch, capsys):
    """--trace: the taped training episodes (seed, env state, actions) played again give
    the raw observations the deployment is asked about; a trace not recorded for replay
    is refused with how to record one."""
    config = _ppo("CartPole-v1").env_runners(env_to_module_connector=_mean_std_filter)
    run = rldebug.run(config.debugging(seed=0), max_iterations=2, progress=False,
                      checkpoint_at_end=True, logdir=tmp_path, trace="summary",
                      reproducible=True)
    run.algo.stop()
    monkeypatch.setenv("RLDEBUG_PARITY_CHECKPOINT", str(run.checkpoint))
    monkeypatch.setattr(deployed, "_module", None)
    code = cli_main(["parity", str(run.checkpoint), "--policy",
                     "parity_policies:module_argmax", "--trace", str(tmp_path), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1 and "does not apply MeanStdFilter" in report["explanation"]
    import gymnasium as gym

    from rldebug.deployment.comparison import traced_episodes

    episodes = traced_episodes(tmp_path, gym.make("CartPole-v1"))
    assert report["states"] == sum(map(len, episodes)) >= 20
    assert all(abs(obs[0]) <= 2.4 for episode in episodes for obs, _ in episode)  # raw
    assert parity(run.checkpoint, rldebug.inference_policy(run.checkpoint),
                  trace=tmp_path).agreement == 1.0
    plain = tmp_path / "plain"
    rldebug.run(config, max_iterations=1, progress=False, logdir=plain,
                trace="summary").algo.stop()
    assert cli_main(["parity", str(run.checkpoint), "--policy",
                     "parity_policies:module_argmax", "--trace", str(plain)]) == 2
    assert "reproducible=True" in capsys.readouterr().err
    # a trace of another env replayed CartPole's actions in Acrobot and passed
    other = _train(_ppo("Acrobot-v1"), 1, tmp_path / "acrobot")
    with pytest.raises(ValueError, match="recorded on the env CartPole-v1, the checkpoint "
                                         "trained on Acrobot-v1"):
        parity(other, rldebug.inference_policy(other), trace=tmp_path)


def test_the_filter_statistics_stay_as_saved_while_the_policy_acts(checkpoint):
    """RLlib's MeanStdFilter updates its statistics on every observation it sees, at
    evaluation too; a deployed pipeline must apply the saved ones."""
    policy = rldebug.inference_policy(checkpoint)
    (piece,) = [p for p in policy.parts["env_to_module"].connectors
                if type(p).__name__ == "MeanStdFilter"]
    before = json.dumps(piece.get_state(), sort_keys=True, default=str)
    for obs in np.random.default_rng(0).normal(5.0, 3.0, size=(50, 4)).astype(np.float32):
        policy(obs)
    assert json.dumps(piece.get_state(), sort_keys=True, default=str) == before


def test_sac_deployed_without_unsquashing_is_named_and_with_it_passes(tmp_path):
    """Three SAC deployments of the Gaussian's mean: not unsquashed to Pendulum's [-2, 2]
    (named); unsquashed as RLlib's evaluation does (passes); squashed with tanh first, the
    greedy action of the distribution SAC trained, which RLlib 2.60's evaluation does not
    take (named, with RLlib's line)."""
    from ray.rllib.algorithms.sac import SACConfig

    config = (SACConfig().environment("Pendulum-v1")
              .training(num_steps_sampled_before_learning_starts=100, train_batch_size=32)
              .rl_module(model_config=DefaultModelConfig(fcnet_hiddens=[16])))
    checkpoint = _train(config, 1, tmp_path)
    module = deployed.modules(checkpoint)["default_policy"]
    low, high = np.float32(-2.0), np.float32(2.0)
    report = parity(checkpoint, deployed.GaussianMean(module, low, high, unsquash=False),
                    episodes=1)
    assert not report.passed
    assert report.variants["without unsquashing/clipping to the action bounds"] >= 0.99
    assert "unsquashes it to the env's bounds" in report.explanation
    good = parity(checkpoint, deployed.GaussianMean(module, low, high, unsquash=True),
                  episodes=1)
    assert good.passed, str(good)
    squashed = parity(checkpoint, deployed.GaussianMean(module, low, high, unsquash=True,
                                                        tanh=True), episodes=1)
    assert not squashed.passed
    assert squashed.variants["with tanh(mean) as the Gaussian's greedy action"] >= 0.99
    assert "TorchSquashedGaussian.to_deterministic" in squashed.explanation
    # unsquashed, then clipped to the module's [-1, 1] (a new user's batch): no variant
    clipped = parity(checkpoint, deployed.GaussianMean(module, low, high, unsquash=True,
                                                       clip_unit=True), episodes=1)
    assert not clipped.passed, str(clipped)
    assert clipped.variants["with the unsquashed action clipped to [-1, 1]"] >= 0.99
    assert "clip to the env's action space's low and high" in clipped.explanation
    # the right action rounded through float16 (as on an accelerator): off by ~1e-3, so
    # it fails at the default atol, says by how much, and passes with atol=1e-2
    exact = rldebug.inference_policy(checkpoint)
    rounded = parity(checkpoint, lambda obs: exact(obs).astype(np.float16).astype(np.float32),
                     episodes=1)
    assert not rounded.passed and 1e-4 < rounded.largest_difference < 1e-2
    assert f"largest difference is {rounded.largest_difference:.3g}" in str(rounded)
    assert parity(checkpoint, lambda obs: exact(obs).astype(np.float16).astype(np.float32),
                  episodes=1, atol=1e-2).passed
    # the right value as a float where the env takes shape (1,): "No single variant..."
    # before, with identical-looking numbers in the mismatch lines
    scalar = parity(checkpoint, lambda obs: float(exact(obs)[0]), episodes=1)
    assert not scalar.passed and not scalar.variants
    assert "actions have shape () (a float" in scalar.explanation
    assert "reshape((1,))" in scalar.explanation


def test_a_continuous_sampler_is_named_and_other_noise_is_not(tmp_path):
    """PPO Pendulum deployed as draws from its Gaussian: "No single variant" was all
    parity said (found in an audit). Draws three times as wide are not a sampler."""
    checkpoint = _train(_ppo("Pendulum-v1"), 1, tmp_path)
    module = deployed.modules(checkpoint)["default_policy"]
    sampler = parity(checkpoint, deployed.GaussianSampler(module, -2.0, 2.0), episodes=2)
    assert not sampler.passed
    assert "looks like it samples" in sampler.explanation, str(sampler)
    # spread as draws are, but the same answer for the same observation: no sampler
    seeded = parity(checkpoint, deployed.GaussianSampler(module, -2.0, 2.0,
                                                         by_observation=True), episodes=2)
    assert not seeded.passed and "looks like it samples" not in seeded.explanation, \
        str(seeded)
    assert "it gave every answer again: it does not sample" in seeded.explanation
    wide = parity(checkpoint, deployed.GaussianSampler(module, -2.0, 2.0, scale=3.0),
                  episodes=2)
    assert not wide.passed and "samples" not in wide.explanation, str(wide)
    # NaN answers are no sampler's (the uniformity test read a NaN distance as passing)
    nan = parity(checkpoint, lambda obs: np.full(1, np.nan, np.float32), episodes=1)
    assert not nan.passed and "samples" not in str(nan), str(nan)
    # the mean unsquashed twice, and tanh of the (unsquashed) Gaussian's mean: "No variant
    # of the pipeline explains the difference" was all parity said (a new user's batch)
    twice = parity(checkpoint, deployed.GaussianMean(module, -2.0, 2.0, unsquash=True,
                                                     twice=True), episodes=1)
    assert not twice.passed and twice.variants["with the action unsquashed twice"] >= 0.99
    assert "your code scales its result again" in twice.explanation, str(twice)
    tanh = parity(checkpoint, deployed.GaussianMean(module, -2.0, 2.0, unsquash=True,
                                                    tanh=True), episodes=1)
    assert not tanh.passed, str(tanh)
    assert tanh.variants["with tanh(mean) as the Gaussian's greedy action"] >= 0.99
    assert "the policy's Gaussian is not squashed" in tanh.explanation, str(tanh)
    assert parity(checkpoint, deployed.GaussianMean(module, -2.0, 2.0, unsquash=True),
                  episodes=1).passed
    # the distribution's inputs (mean and log std) as the action: told to reshape them to
    # (1,), which cannot be done to two values
    inputs = parity(checkpoint, lambda obs: deployed._logits(module, obs), episodes=1)
    assert not inputs.passed and "they hold 2 values where the env takes 1 (twice as many" \
        in inputs.explanation and "reshape" not in inputs.explanation, inputs.explanation


def test_two_mistakes_at_once_are_named_together(tmp_path):
    """The module called on the raw observation of a filtered Pendulum policy, its mean
    sent as it is: neither the filter nor the unsquashing alone explains it (each 0%),
    both together do (found in an audit: "No single variant" was all it said)."""
    config = _ppo("Pendulum-v1").env_runners(env_to_module_connector=_mean_std_filter)
    checkpoint = _train(config, 1, tmp_path)
    module = deployed.modules(checkpoint)["default_policy"]
    report = parity(checkpoint, deployed.GaussianMean(module, -2.0, 2.0, unsquash=False),
                    episodes=1)
    both = "without MeanStdFilter and without unsquashing/clipping to the action bounds"
    assert not report.passed and report.variants[both] >= 0.99, str(report)
    assert report.variants["without MeanStdFilter"] < 0.5
    assert report.variants["without unsquashing/clipping to the action bounds"] < 0.5
    assert "does not apply MeanStdFilter" in report.explanation
    assert "unsquashes it to the env's bounds" in report.explanation
    # an answer with no numbers is the policy's error, not a disagreement ("No single
    # variant..." before)
    none = parity(checkpoint, lambda obs: None, episodes=1)
    assert not none.passed and none.error.startswith(
        "your policy returned None at episode 0, step 0, which holds no numbers for Box("), \
        none.error
    # and a list of ints is the observation, in the module's float32 (torch raised before)
    exact = rldebug.inference_policy(checkpoint)
    assert exact([1, 0, 0]) == exact(np.array([1, 0, 0], np.float32))


@pytest.fixture(scope="module")
def stacked(tmp_path_factory):
    """PPO on 2x2-frame CartPole behind RLlib's FrameStacking (3 frames)."""
    config = (_ppo(deployed.FramesCartPole)
              .env_runners(env_to_module_connector=_frame_stacking)
              .training(learner_connector=_frame_stacking_learner)
              .rl_module(model_config=DefaultModelConfig(
                  conv_filters=[[8, [2, 2], 1]], fcnet_hiddens=[32])))
    return _train(config, 4, tmp_path_factory.mktemp("stacked"))


def test_frame_stacking_missing_is_caught_and_the_stack_is_named(stacked):
    module = deployed.modules(stacked)["default_policy"]
    report = parity(stacked, lambda obs: int(np.argmax(deployed._logits(module, obs))),
                    episodes=1)
    assert not report.passed and report.error and "raised" in report.error
    assert "FrameStacking" in report.error  # the piece that makes the module's input


def test_a_frame_stack_without_history_is_named_and_a_kept_one_passes(stacked):
    module = deployed.modules(stacked)["default_policy"]
    forgetful = parity(stacked, deployed.OwnFrameStack(module, keep_history=False),
                       episodes=2)
    assert not forgetful.passed
    assert "starts every step afresh" in forgetful.explanation
    assert "FrameStacking" in forgetful.explanation
    kept = parity(stacked, deployed.OwnFrameStack(module, keep_history=True), episodes=2)
    assert kept.passed and kept.agreement == 1.0


def test_frames_stacked_newest_first_are_named(stacked):
    """RLlib's FrameStacking puts the oldest frame first along the last axis; a deployment
    that stacks them the other way round (a new user's deque filled with appendleft) was
    "No variant explains the difference"."""
    module = deployed.modules(stacked)["default_policy"]
    report = parity(stacked, deployed.OwnFrameStack(module, newest_first=True), episodes=2)
    assert not report.passed
    assert "newest first" in report.explanation and "oldest" in report.explanation, \
        report.explanation


def test_the_cli_calls_a_reset_defined_beside_the_policy_in_its_file(stacked, tmp_path,
                                                                    capsys):
    """A deploy file with ``act(obs)`` and a module-level ``reset()``: parity called only
    ``act.reset`` and failed a correct deployment as "never reset" (a new user's LSTM)."""
    source = (f"import parity_policies as deployed\nfrom pathlib import Path\n"
              f"STACK = deployed.OwnFrameStack(deployed.modules(Path({str(stacked)!r}))"
              f"['default_policy'])\n\ndef act(obs):\n    return STACK(obs)\n")
    (tmp_path / "no_reset.py").write_text(source)
    (tmp_path / "with_reset.py").write_text(source + "\ndef reset():\n    STACK.reset()\n")
    assert cli_main(["parity", str(stacked), "--policy", f"{tmp_path / 'with_reset.py'}:act",
                     "--episodes", "2"]) == 0
    err = capsys.readouterr().err
    assert "calling reset() from" in err and "(act has no reset of its own)" in err, err
    assert cli_main(["parity", str(stacked), "--policy", f"{tmp_path / 'no_reset.py'}:act",
                     "--episodes", "2"]) == 1
    assert "never reset" in capsys.readouterr().out


def test_a_dict_observation_flattened_in_the_envs_key_order_is_named(tmp_path):
    """RLlib's FlattenObservations concatenates a Dict's parts in sorted key order; a
    deployment that flattens them in the order the env's dict holds them was said only
    as "No variant..." (the one flattening variant, the piece left out, cannot run)."""
    from ray.rllib.connectors.env_to_module import FlattenObservations

    config = _ppo(deployed.DictCartPole).env_runners(
        env_to_module_connector=lambda env=None, spaces=None, device=None:
        FlattenObservations())
    checkpoint = _train(config, 2, tmp_path)
    module = deployed.modules(checkpoint)["default_policy"]
    mixed = parity(checkpoint, deployed.FlattenedDict(module, {"side": 2}, sort=False),
                   episodes=2)
    assert not mixed.passed, str(mixed)
    assert mixed.variants["with the Dict observation flattened in the env's key order"] \
        >= 0.99, str(mixed)
    assert "concatenates them in sorted key order" in mixed.explanation
    assert parity(checkpoint, deployed.FlattenedDict(module, {"side": 2}, sort=True),
                  episodes=2).passed


def test_an_lstm_deployed_without_its_state_is_named_and_with_it_passes(tmp_path):
    config = _ppo("CartPole-v1", use_lstm=True, lstm_cell_size=16, max_seq_len=10)
    checkpoint = _train(config, 4, tmp_path)
    module = deployed.modules(checkpoint)["default_policy"]
    stateless = parity(checkpoint, deployed.OwnRecurrentState(module, keep_state=False),
                       episodes=2)
    assert not stateless.passed
    assert "starts every step afresh" in stateless.explanation
    assert "recurrent state" in stateless.explanation
    kept = parity(checkpoint, deployed.OwnRecurrentState(module, keep_state=True), episodes=2)
    assert kept.passed and kept.agreement == 1.0
    # the pipeline itself, never reset: its state runs on into the next episode (an audit
    # saw "what sampling would give" for it)
    policy = rldebug.inference_policy(checkpoint)
    never = parity(checkpoint, lambda obs: policy(obs), episodes=3)
    assert not never.passed, str(never)
    assert never.variants["never reset (its history carried from one episode into the "
                          "next)"] >= 0.99, str(never)
    assert "carries its history from one episode into the next" in never.explanation


def test_multi_agent_modules_swapped_or_sampled_are_named(tmp_path):
    from ray.rllib.examples.envs.classes.multi_agent import MultiAgentCartPole

    config = (_ppo(MultiAgentCartPole).environment(env_config={"num_agents": 2})
              .multi_agent(policies={"p0", "p1"},
                           policy_mapping_fn=lambda agent, *args, **kwargs: f"p{agent}"))
    checkpoint = _train(config, 3, tmp_path)
    modules = deployed.modules(checkpoint)
    swapped = parity(checkpoint, deployed.PerAgentModules(modules, {0: "p1", 1: "p0"}),
                     episodes=2)
    assert not swapped.passed and set(swapped.per_agent) == {"0", "1"}
    assert swapped.variants["with agents mapped 0 -> p1, 1 -> p0"] >= 0.99
    assert "(0 -> p0, 1 -> p1)" in swapped.explanation  # how training mapped them
    right = parity(checkpoint, deployed.PerAgentModules(modules, {0: "p0", 1: "p1"}),
                   episodes=2)
    assert right.passed and right.agreement == 1.0
    sampled = parity(checkpoint, deployed.PerAgentModules(modules, {0: "p0", 1: "p1"},
                                                          sample=True), episodes=2)
    # after 3 iterations both modules are near uniform (greedy probability ~0.52): a
    # sampler agrees as often as anything that answers at random, and parity says so
    assert not sampled.passed and sampled.sampling[0] < 0.6
    assert "cannot tell whether it samples" in sampled.explanation, sampled.explanation
    # an agent whose cart fell is asked no more (RLlib's EnvRunner asks it no more): its
    # last observation was asked about, and its ended CartPole stepped (gymnasium warned)
    asked = []

    def recording(obs):
        asked.append(sorted(obs))
        return deployed.PerAgentModules(modules, {0: "p0", 1: "p1"})(obs)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert parity(checkpoint, recording, episodes=2).passed
    assert not [w for w in caught if "already returned terminated" in str(w.message)]
    assert [0, 1] in asked and ([0] in asked or [1] in asked), asked
    policy = rldebug.inference_policy(checkpoint)
    assert parity(checkpoint, policy, episodes=1).passed
    # agent ids are ints here: the string "0" was refused while the hint listed '0'
    with pytest.raises(ValueError, match=r"Unknown agent id\(s\) '0' .* agents are 0, 1\."):
        policy({"0": np.zeros(4, np.float32)})
    with pytest.raises(ValueError, match=r"The observation dict is empty.*agents are 0, 1\."):
        policy({})  # RLlib's KeyError: 'actions' from inside its connectors
    # one agent left out agrees about as often overall as a sampler, but not where one
    # would: it was taken for a sampler
    greedy = deployed.PerAgentModules(modules, {0: "p0", 1: "p1"})
    half = parity(checkpoint, lambda obs: {0: greedy(obs)[0]} if 0 in obs else {},
                  episodes=2)
    assert half.per_agent["0"] == 1.0 and half.per_agent["1"] == 0.0
    assert "looks like it samples" not in str(half), str(half)
    assert "answers leave out agent(s) ['1']" in half.explanation, half.explanation
    as_text = parity(checkpoint, lambda obs: {str(a): v for a, v in greedy(obs).items()},
                     episodes=1)
    assert "keys agent 0 as '0' (str), where the env's agent ids are ints" in \
        as_text.explanation, as_text.explanation
    # keyed by names the env does not use (an independent user's 0/1 for "a0"/"a1" was
    # said as both agents left out)
    renamed = parity(checkpoint, lambda obs: {f"cart{a}": v for a, v in greedy(obs).items()},
                     episodes=1)
    assert "keys its answers ['cart0', 'cart1'], none of them an agent the env asked " \
        "([0, 1])" in renamed.explanation, renamed.explanation


def test_answers_shifted_by_one_action_are_named(checkpoint, tmp_path):
    """Every answer the pipeline's action + 1 (mod 4) was said only as "No variant of the
    pipeline explains the difference" (an independent user's deployment); on two actions,
    the other action every time."""
    algo = (PPOConfig().environment(deployed.FourActionsWalk)
            .env_runners(num_env_runners=0)
            .rl_module(model_config=DefaultModelConfig(fcnet_hiddens=[8]))
            .debugging(seed=0).build_algo())
    algo.save_to_path(str(tmp_path / "four"))
    algo.stop()
    four = rldebug.inference_policy(tmp_path / "four")
    shifted = parity(tmp_path / "four", lambda obs: (int(four(obs)) + 1) % 4, episodes=2)
    assert not shifted.passed and shifted.agreement == 0.0
    assert "is the pipeline's action shifted by 1 (mod 4)" in shifted.explanation, \
        shifted.explanation
    pipeline = rldebug.inference_policy(checkpoint)
    flipped = parity(checkpoint, lambda obs: 1 - int(pipeline(obs)), episodes=2)
    assert "is the other of the two actions" in flipped.explanation, flipped.explanation
    # not said when some answers agree (a deployment wrong in some states only)
    some = parity(tmp_path / "four", lambda obs: (int(four(obs)) + (obs[0] > 0)) % 4,
                  episodes=2)
    assert not some.passed and "shifted" not in some.explanation, some.explanation


class _Sampler:
    """Samples the pipeline's two-action distribution: the greedy action with the
    probability the distribution gives it, else the other."""

    def __init__(self, checkpoint, by_observation: bool = False):
        self.reference = rldebug.inference_policy(checkpoint)
        self.rng = np.random.default_rng(0)
        self.by_observation = by_observation

    def reset(self):
        self.reference.reset()

    def __call__(self, obs):
        greedy = int(self.reference(obs))
        rng = deployed.seeded_by(obs) if self.by_observation else self.rng
        keep = rng.random() < self.reference.greedy_probability()
        return greedy if keep else 1 - greedy


def test_a_sampler_is_named_and_an_answer_that_ignores_the_state_is_not(checkpoint):
    """A deployment that always answers 0 agrees with a two-action policy about as often
    as a sampler would: parity said it 'looks like it samples'. A sampler agrees more
    often where the greedy action is likelier; one that ignores the state does not."""
    sampled = parity(checkpoint, _Sampler(checkpoint), episodes=20)
    assert not sampled.passed and "looks like it samples" in sampled.explanation, \
        sampled.explanation
    # A deterministic deployment whose answers are spread as a sampler's (an independent
    # user's filter statistics estimated anew were called a sampler on 5 seeds of 5):
    # asked again on the same observations it repeats itself, and parity says so. (Without
    # asking again, the statistics call 6 of 8 salts of its seed a sampler, salt 0 too.)
    seeded = parity(checkpoint, _Sampler(checkpoint, by_observation=True), episodes=20)
    assert not seeded.passed and "looks like it samples" not in seeded.explanation, \
        seeded.explanation
    assert "it gave every answer again: it does not sample" in seeded.explanation
    report = parity(checkpoint, lambda obs: 0, episodes=5)
    assert not report.passed and report.sampling is not None
    assert "looks like it samples" not in report.explanation, report.explanation
    # said whether or not a variant is as constant on these states (then it must not be
    # taken for the cause); it was said only then
    assert "answers 0 at every one of the" in report.explanation, report.explanation
    assert "may not read it at all" in report.explanation


@pytest.mark.slow  # ~15 s: trains its own checkpoint
def test_a_constant_answer_is_not_blamed_on_the_filter_alone(tmp_path):
    """An audit's deployment that ignores its observation, on an env whose observations
    sit near 1000 behind a MeanStdFilter: the module without the filter saturates to one
    action too, and parity said only "your deployment does not apply MeanStdFilter"."""
    from parity_policies import OffsetCartPole

    checkpoint = _train(_ppo(OffsetCartPole).env_runners(
        env_to_module_connector=_mean_std_filter), 2, tmp_path)
    unfiltered = rldebug.inference_policy(checkpoint).with_variant(without="MeanStdFilter")
    answer = int(unfiltered(np.full(4, 1000.0, np.float32)))  # the same for every state
    report = parity(checkpoint, lambda obs: answer, episodes=2)
    assert not report.passed, str(report)
    assert report.variants["without MeanStdFilter"] >= 0.99
    assert f"Your policy answers {answer} at every one of the" in report.explanation
    assert "may not read it at all" in report.explanation
    assert "does not apply MeanStdFilter" in report.explanation  # still said, as a maybe


def test_a_float_for_a_discrete_action_fails_and_is_named(checkpoint):
    """1.0 for Discrete(2): the same choice, but Discrete.contains refuses it and
    CartPole's step asserts it; parity passed it at 100%."""
    import gymnasium as gym

    reference = rldebug.inference_policy(checkpoint)
    assert not gym.spaces.Discrete(2).contains(1.0)
    report = parity(checkpoint, lambda obs: float(reference(obs)), episodes=1)
    assert not report.passed and report.agreement == 0.0
    assert "as a float" in report.explanation and "int(action)" in report.explanation


@pytest.mark.parametrize("answer", ["left", None, 7])
def test_an_answer_that_is_no_action_is_said_as_the_policys_error(checkpoint, answer):
    """"left", None, or an index out of range for Discrete(2) was reported as a pipeline
    mismatch ("No single variant of the pipeline explains the difference")."""
    report = parity(checkpoint, lambda obs: answer, episodes=1)
    assert not report.passed and report.agreement == 0.0
    assert f"your policy returned {answer!r} at episode 0, step 0, which is no action of " \
        "Discrete(2)" in report.error
    assert not report.variants  # no variant of the pipeline was searched for


def test_recorded_observations_that_are_no_observations_are_refused(checkpoint, tmp_path):
    (tmp_path / "garbage.npy").write_bytes(b"not numpy at all")
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    np.save(tmp_path / "words.npy", np.array([["a", "b", "c", "d"]]))
    np.save(tmp_path / "nan.npy", np.full((3, 4), np.nan, np.float32))
    np.savez(tmp_path / "objects.npz", obs=np.array([{"a": 1}], dtype=object))
    for name, message in (("garbage.npy", "is not a numpy .npy file"),
                          ("objects.npy", "cannot be read as numpy's .npy without unpickling"),
                          ("objects.npz", "cannot be read as numpy's .npz without unpickling"),
                          ("words.npy", "holds <U1 values"),
                          ("nan.npy", "holds NaN or inf")):
        with pytest.raises(ValueError, match=re.escape(message)):
            parity(checkpoint, abs, observations=tmp_path / name)
    with pytest.raises(ValueError, match="is not a numpy .npy file"):  # before loading
        parity(tmp_path / "no_checkpoint_here", abs, observations=tmp_path / "garbage.npy")
    with pytest.raises(ValueError, match=r"parity\(episodes=3\) .* Leave episodes out"):
        parity(checkpoint, abs, observations=tmp_path / "nan.npy", episodes=3)
    with pytest.raises(ValueError, match=r"parity\(seed=...\) must be an int"):
        parity(checkpoint, abs, seed=-1)


def test_a_policy_parity_cannot_call_with_an_observation_is_refused(checkpoint):
    """A policy of two arguments raised at the first state, reported with the hint that
    the module does not take the raw observation, which was not the problem."""
    def needs_a_state(obs, state):
        return 0

    with pytest.raises(TypeError, match=r"policy\(obs\).*needs_a_state\(obs, state\) "
                                        "cannot be called so"):
        parity(checkpoint, needs_a_state, episodes=1)


def test_an_old_stack_policy_deployed_without_its_filter_is_named(tmp_path):
    """The #41382 shape on the old API stack: PPO CartPole with observation_filter=
    "MeanStdFilter", deployed as Policy.compute_single_action on the raw observation."""
    config = (PPOConfig().api_stack(enable_rl_module_and_learner=False,
                                    enable_env_runner_and_connector_v2=False)
              .environment("CartPole-v1")
              .env_runners(num_env_runners=0, observation_filter="MeanStdFilter")
              .training(train_batch_size=500, minibatch_size=250, num_epochs=2, lr=3e-3))
    checkpoint = _train(config, 4, tmp_path)
    algo = rldebug.load(checkpoint)
    try:
        policy = algo.get_policy()

        def without_filter(obs):
            return int(policy.compute_single_action(obs=np.asarray(obs), explore=False)[0])

        report = parity(checkpoint, without_filter, episodes=2)
        assert not report.passed
        assert report.variants["without MeanStdFilter"] >= 0.99
        assert "policies/<policy_id>/policy_state.pkl" in report.explanation
        right = parity(checkpoint, lambda obs: int(algo.compute_single_action(obs, explore=False)),
                       episodes=2)
        assert right.passed and right.agreement == 1.0
    finally:
        algo.stop()
    with pytest.raises(ValueError, match="old-API-stack"):
        rldebug.inference_policy(checkpoint)  # nothing to export without an Algorithm


def test_old_stack_arena_policies_swapped_are_named(capsys):
    from inspect_algos import checkpoint_of

    old = checkpoint_of("old")
    algo = rldebug.load(old)
    try:
        def per_agent(mapping):
            return lambda obs: {agent: algo.compute_single_action(
                o, policy_id=mapping[agent], explore=False) for agent, o in obs.items()}

        swapped = parity(old, per_agent({"agent1": "pol2", "agent2": "pol1"}), episodes=1)
        assert not swapped.passed
        assert swapped.variants["with agents mapped agent1 -> pol2, agent2 -> pol1"] >= 0.99
        assert "(agent1 -> pol1, agent2 -> pol2)" in swapped.explanation
        assert parity(old, per_agent({"agent1": "pol1", "agent2": "pol2"}), episodes=1).passed
    finally:
        algo.stop()


@pytest.mark.parametrize("kwargs, error", [
    ({"policy": 42}, "must be a function"),
    ({"policy": abs, "episodes": 0}, "episodes=...\\) \\(--episodes\\) must be an int >= 1"),
    ({"policy": abs, "min_agreement": 1.5}, "min_agreement"),
])
def test_bad_input_is_refused(checkpoint, kwargs, error):
    policy = kwargs.pop("policy")
    with pytest.raises((TypeError, ValueError), match=error):
        parity(checkpoint, policy, **kwargs)


def test_a_path_that_is_no_checkpoint_is_refused(tmp_path, capsys):
    code = cli_main(["parity", str(tmp_path / "nowhere"), "--policy",
                     "parity_policies:module_argmax"])
    assert code == 2 and "does not exist" in capsys.readouterr().err


def test_a_registered_env_that_raises_when_built_is_not_called_unregistered():
    from types import SimpleNamespace

    from ray.tune.registry import register_env

    from rldebug.deployment.comparison import _env

    def needs_steps(config):
        return config["max_steps"]

    register_env("rldebug-test-needs-steps", needs_steps)
    reference = SimpleNamespace(parts={"env": "rldebug-test-needs-steps", "env_config": {}})
    with pytest.raises(ValueError, match="Building the env raised KeyError: 'max_steps'"):
        _env(reference)


def test_a_deployment_running_another_checkpoints_weights_names_that_checkpoint(tmp_path):
    """A deployment that loaded the weights of another checkpoint of the same trial (an
    earlier one) was said only as "No variant of the pipeline explains the difference"
    (an independent user's); the checkpoints beside the one compared are tried too."""
    config = _ppo("CartPole-v1").env_runners(num_env_runners=0).debugging(seed=0)
    algo = config.build_algo()
    try:
        for iteration in range(1, 7):
            algo.train()
            if iteration in (3, 6):
                algo.save_to_path(str(tmp_path / f"checkpoint_00000{iteration}"))
    finally:
        algo.stop()
    earlier = rldebug.inference_policy(tmp_path / "checkpoint_000003")
    report = parity(tmp_path / "checkpoint_000006", earlier, episodes=2)
    assert not report.passed, str(report)
    assert report.variants["with the weights of checkpoint_000003 (beside checkpoint_000006)"] \
        == 1.0, str(report)
    assert report.explanation.startswith(
        "Your policy matches the pipeline of checkpoint_000003, the checkpoint beside "
        "checkpoint_000006, in 100.0% of "), report.explanation
    # the answers themselves still say what they show: every one the other action (the
    # earlier checkpoint agrees with it where the two checkpoints differ, 16% here)
    later = rldebug.inference_policy(tmp_path / "checkpoint_000006")
    flipped = parity(tmp_path / "checkpoint_000006", lambda obs: 1 - int(later(obs)),
                     episodes=2)
    assert "is the other of the two actions" in flipped.explanation, flipped.explanation
    assert not [v for v in flipped.variants if "weights of" in v], flipped.variants
    # a deployment wrong in some states only is no other checkpoint's, though one is tried
    some = parity(tmp_path / "checkpoint_000006",
                  lambda obs: int(later(obs)) ^ int(abs(obs[0]) > 0.05), episodes=2)
    assert not some.passed and "checkpoint_000003" in " ".join(some.variants), str(some)
    assert "weights" not in some.explanation, some.explanation
    assert parity(tmp_path / "checkpoint_000006", later, episodes=2).passed
