"""``explain`` on continuous actions (PPO's Gaussian, SAC's and TQC's squashed Gaussian)
against RLlib.

Each setup trains one iteration on Pendulum-v1 (a Box(-2, 2) action), then lets
RLlib's own EnvRunner sample: the episodes hold the module's action-distribution
inputs and actions, and a wrapper records the action the env received. Every
explained number is compared with what RLlib computed or with a computation
independent of rldebug's:
- mean/std: the halves of RLlib's recorded ``action_dist_inputs`` (log-std exponentiated);
- the env action: what RLlib's module-to-env pipeline handed the env for that sample;
- SAC's ``q_value``/``value``: the Learner module's ``forward_train`` Q predictions (TQC:
  the mean of its critics' quantiles there);
- SAC's ``alpha``: the configured ``initial_alpha`` before any update;
- the entropy: PPO's closed form; SAC's estimate within its stated standard error of
  a 200 000-draw estimate from RLlib's distribution.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from setups import ppo_pendulum, sac_pendulum, tqc_pendulum

import rldebug
from rldebug.shapes.outputs import env_action

INITIAL_ALPHA = 0.37
STEPS = 12


class RecordingPendulum(gym.Wrapper):
    """Pendulum-v1 that keeps every action it receives."""

    def __init__(self, config=None):
        super().__init__(gym.make("Pendulum-v1"))
        self.received = []

    def step(self, action):
        self.received.append(np.array(action, dtype=np.float64, copy=True))
        return super().step(action)


def _recording_env(runner) -> RecordingPendulum:
    env = runner.env.unwrapped.envs[0]
    while not isinstance(env, RecordingPendulum):
        env = env.env
    return env


def _sampled_steps(algo) -> tuple[list, RecordingPendulum]:
    """RLlib's own exploring sample: per step the obs, module action, dist inputs."""
    runner = algo.env_runner
    env = _recording_env(runner)
    env.received.clear()
    steps = []
    for episode in runner.sample(num_timesteps=STEPS, random_actions=False):
        inputs = episode.get_extra_model_outputs("action_dist_inputs")
        for t, action in enumerate(episode.get_actions()):
            steps.append((episode.get_observations(t), np.asarray(action), np.asarray(inputs[t])))
    return steps, env


@pytest.fixture(scope="module", params=["ppo", "sac", "tqc"])
def run(request):
    make = {"ppo": ppo_pendulum, "sac": sac_pendulum, "tqc": tqc_pendulum}[request.param]
    config = make().environment(RecordingPendulum)
    if request.param != "ppo":
        config.training(initial_alpha=INITIAL_ALPHA)
    algo = rldebug.local_mode(config).build_algo()
    obs0 = np.zeros(3, dtype=np.float32)
    untrained = rldebug.explain(algo, obs0, seed=0)
    algo.train()
    steps, env = _sampled_steps(algo)
    yield request.param, algo, untrained, steps, env
    algo.stop()


def test_mean_and_std_are_the_halves_of_rllibs_distribution_inputs(run):
    from ray.rllib.utils.numpy import MAX_LOG_NN_OUTPUT, MIN_LOG_NN_OUTPUT

    name, algo, _, steps, _ = run
    assert len(steps) == STEPS
    for t, (obs, _, inputs) in enumerate(steps):
        e = rldebug.explain(algo, obs, seed=t)
        mean, log_std = np.split(inputs, 2)
        if name != "ppo":  # RLlib's squashed Gaussian clamps the log-std
            log_std = np.clip(log_std, MIN_LOG_NN_OUTPUT, MAX_LOG_NN_OUTPUT)
        np.testing.assert_allclose(e.mean, mean, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(e.std, np.exp(log_std), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(e.logits, inputs, rtol=1e-5, atol=1e-6)


def test_the_env_action_is_what_rllib_handed_the_env(run):
    name, algo, _, steps, env = run
    assert len(env.received) == len(steps) == STEPS
    space = algo.env_runner.env.unwrapped.single_action_space
    for (_, action, _), received in zip(steps, env.received):
        np.testing.assert_allclose(env_action(action[None], space, algo.config)[0], received,
                                   rtol=1e-5, atol=1e-6)
    if name == "ppo":  # an unbounded Gaussian: some samples leave [-1, 1] and are clipped
        assert all(np.all(np.abs(r) <= 2.0) for r in env.received)


def test_the_explained_env_action_unsquashes_the_explained_sample(run):
    _, algo, _, steps, _ = run
    for t, (obs, _, _) in enumerate(steps):
        e = rldebug.explain(algo, obs, seed=t)
        # Pendulum: [-1, 1] -> [-2, 2], i.e. twice the module action, clipped.
        np.testing.assert_allclose(e.env_action, np.clip(2 * e.sampled_action, -2, 2),
                                   rtol=1e-5, atol=1e-6)


def _forward_train_q(algo, module_obs, actions) -> np.ndarray:
    """Q(s, a) as SAC's loss computes it: the Learner module's forward_train (TQC's: the
    mean over its critics' quantiles)."""
    def compute(learner):
        import torch
        from ray.rllib.core.columns import Columns

        module = learner.module["default_policy"]
        obs = torch.as_tensor(np.asarray(module_obs, dtype=np.float32)[None])
        batch = {Columns.OBS: obs, Columns.NEXT_OBS: obs,
                 Columns.ACTIONS: torch.as_tensor(np.asarray(actions, dtype=np.float32)[None])}
        with torch.no_grad():
            return module.forward_train(batch)["qf_preds"].numpy().reshape(1, -1).mean()

    return next(iter(algo.learner_group.foreach_learner(compute))).get()


def test_sac_q_value_and_value_are_the_learners_q_predictions(run):
    name, algo, _, steps, _ = run
    if name == "ppo":
        pytest.skip("Q-values are SAC's and TQC's")
    assert rldebug.inspect(algo).modules["default_policy"].value_function == "Q(s, a)"
    for t, (obs, _, _) in enumerate(steps[:4]):
        e = rldebug.explain(algo, obs, seed=t)
        np.testing.assert_allclose(e.q_value, _forward_train_q(algo, e.module_input,
                                                               e.sampled_action), rtol=1e-5)
        # The value is Q at the greedy action as the env would get it: the clipped mean.
        np.testing.assert_allclose(
            e.value, _forward_train_q(algo, e.module_input, np.clip(e.greedy_action, -1, 1)),
            rtol=1e-5)
        assert e.q_value != e.value or np.allclose(e.sampled_action, e.greedy_action)


def test_sac_alpha_is_the_configured_initial_alpha_before_any_update(run):
    name, _, untrained, _, _ = run
    if name == "ppo":
        assert untrained.alpha is None
        return
    assert untrained.alpha == pytest.approx(INITIAL_ALPHA, rel=1e-6)


def test_entropy_matches_the_closed_form_or_a_large_sample(run):
    import torch

    name, algo, _, steps, _ = run
    obs, _, inputs = steps[0]
    e = rldebug.explain(algo, obs, seed=0)
    if name == "ppo":  # a diagonal Gaussian: sum of 0.5 * log(2 pi e sigma^2)
        assert not e.entropy_is_estimate and e.entropy_stderr is None
        expected = np.sum(0.5 * np.log(2 * np.pi * np.e * np.asarray(e.std, float) ** 2))
        assert float(e.entropy) == pytest.approx(expected, rel=1e-5)
        return
    from ray.rllib.core.distribution.torch.torch_distribution import TorchSquashedGaussian

    assert e.entropy_is_estimate and float(e.entropy_stderr) > 0
    dist = TorchSquashedGaussian.from_logits(torch.as_tensor(inputs[None]))
    torch.manual_seed(1)
    with torch.no_grad():
        logp = dist.logp(dist.sample(sample_shape=(200_000,)))
    large = -float(logp.mean())
    assert abs(float(e.entropy) - large) <= 4 * float(e.entropy_stderr), (
        f"explain's estimate {float(e.entropy):.4f} ± {float(e.entropy_stderr):.4f} vs "
        f"{large:.4f} from 200000 draws")


def test_the_greedy_env_action_is_what_rllib_hands_the_env_without_exploring(run):
    """The greedy action is in the module's units (PPO's mean, SAC's pre-squash mean);
    ``greedy_env_action`` is what the env gets: RLlib's EnvRunner sampling with
    explore=False hands the env exactly that."""
    _, algo, _, _, _ = run
    runner = algo.env_runner
    env = _recording_env(runner)
    env.received.clear()
    observations = []
    for episode in runner.sample(num_timesteps=STEPS, random_actions=False, explore=False,
                                 force_reset=True):  # no episode begun while exploring
        observations += [episode.get_observations(t) for t in range(len(episode))]
    assert len(observations) == len(env.received) == STEPS
    for obs, received in zip(observations, env.received):
        e = rldebug.explain(algo, obs)
        np.testing.assert_allclose(e.greedy_env_action, received, rtol=1e-5, atol=1e-6)
    shown = str(rldebug.explain(algo, observations[0]))
    assert "greedy, as the env gets it" in shown


def test_sac_alpha_restored_from_a_checkpoint_is_said_to_be_the_initial_one(run, tmp_path):
    """RLlib 2.60's SAC checkpoint does not hold the alpha the run learned (SACLearner keeps
    curr_log_alpha out of its state): a loaded algorithm shows initial_alpha, and the
    explanation says so. If RLlib starts restoring alpha this test fails, and the note
    must go."""
    name, algo, _, steps, _ = run
    if name != "sac":
        pytest.skip("alpha is SAC's")
    obs = steps[0][0]
    learned = rldebug.explain(algo, obs).alpha
    assert learned != pytest.approx(INITIAL_ALPHA, rel=1e-4)  # one iteration of updates
    assert rldebug.explain(algo, obs).notes == ()
    algo.save_to_path(str(tmp_path / "checkpoint"))
    loaded = rldebug.load(tmp_path / "checkpoint")
    try:
        e = rldebug.explain(loaded, obs)
        assert e.alpha == pytest.approx(INITIAL_ALPHA, rel=1e-6)  # RLlib's, not rldebug's
        assert len(e.notes) == 1 and "alpha is SAC's initial_alpha again" in e.notes[0]
        assert "initial_alpha again" in " ".join(str(e).split())
        loaded.train()  # the loaded algorithm learns an alpha of its own: no note then
        again = rldebug.explain(loaded, obs)
        assert again.alpha != pytest.approx(INITIAL_ALPHA, rel=1e-4) and again.notes == ()
    finally:
        loaded.stop()
