"""What gymnasium declares for the env a run trained on, found again inside RLlib's own
registration (which overwrites a wrapped env's spec), recorded by rldebug.run and read
by the doctor: a reward_threshold rule needs to know the env even when params.json
names only a wrapper class or a registered name."""

import json
from pathlib import Path

import gymnasium as gym
import pytest
from ray.rllib.algorithms.ppo import PPOConfig
from ray.rllib.examples.envs.classes.multi_agent import MultiAgentCartPole
from ray.tune.registry import register_env

from rldebug import run
from rldebug.callbacks import add_callbacks
from rldebug.doctor import DoctorCallback, diagnose
from rldebug.doctor.diagnosis import Doctor
from rldebug.doctor.reading import read_trial
from rldebug.shapes.env_meta import ENV_SPEC_FILE, declared_spec

RLLIB_ID = "rllib-single-agent-env-v0"  # what RLlib registers a class or creator under


class Negated(gym.RewardWrapper):
    """A user's wrapper: the env's reward with its sign flipped."""

    def __init__(self, config=None):
        super().__init__(gym.make((config or {}).get("env", "CartPole-v1")))

    def reward(self, reward):
        return -reward


def as_rllib_builds(env_id: str, **kwargs):
    """The vector env RLlib's SingleAgentEnvRunner makes of a wrapper class."""
    gym.register(RLLIB_ID, entry_point=lambda: Negated({"env": env_id, **kwargs}))
    return gym.make_vec(RLLIB_ID, num_envs=1, vectorization_mode="sync")


@pytest.mark.parametrize("env_id, threshold, limit", [
    ("CartPole-v1", 475.0, 500), ("CartPole-v0", 195.0, 200),  # one class, two time limits
    ("LunarLander-v3", 200.0, 1000), ("LunarLanderContinuous-v3", 200.0, 1000),
    ("Acrobot-v1", -100.0, 500), ("Pendulum-v1", None, 200)])
def test_a_wrapped_gym_env_is_known_again_inside_rllibs_registration(env_id, threshold, limit):
    env = as_rllib_builds(env_id)
    inner = env.unwrapped.envs[0]
    assert inner.spec.id == RLLIB_ID and inner.unwrapped.spec.id == RLLIB_ID  # overwritten
    spec = declared_spec(env)
    assert spec["env_id"] == env_id and spec["reward_threshold"] == threshold
    assert spec["max_episode_steps"] == limit and env_id in spec["registered_ids"]


def test_an_env_gymnasium_does_not_know_declares_nothing():
    class Corridor(gym.Env):
        observation_space = gym.spaces.Discrete(3)
        action_space = gym.spaces.Discrete(2)

    assert declared_spec(Corridor()) is None
    assert declared_spec(MultiAgentCartPole({"num_agents": 2})) is None
    assert declared_spec(None) is None


def _tiny_ppo(env, num_env_runners=0, env_id="CartPole-v1"):
    return (PPOConfig().environment(env, env_config={"env": env_id})
            .env_runners(num_env_runners=num_env_runners)
            .training(train_batch_size_per_learner=200, minibatch_size=100, num_epochs=1)
            .debugging(seed=0))


@pytest.mark.parametrize("num_env_runners", [0, 1])
def test_rldebug_run_records_the_env_its_runners_built_and_the_doctor_reads_it(
        tmp_path, num_env_runners):
    """A registered name around a wrapped CartPole: params.json says "negated_cartpole",
    the recorded spec says CartPole-v1 (read from the local runner's env, or from a
    remote runner's when there is no local env), and the doctor's facts know its
    threshold."""
    register_env("negated_cartpole", Negated)
    result = run(_tiny_ppo("negated_cartpole", num_env_runners), stop={"training_iteration": 1},
                 logdir=tmp_path, progress=False)
    result.algo.stop()
    assert json.loads((tmp_path / "params.json").read_text())["env"] == "negated_cartpole"
    spec = json.loads((tmp_path / ENV_SPEC_FILE).read_text())
    assert spec["env_id"] == "CartPole-v1" and spec["reward_threshold"] == 475.0
    trial = read_trial(tmp_path)
    assert trial.env_spec == spec
    doctor = Doctor(config=trial.config, env_spec=trial.env_spec)
    assert doctor.facts.env.env_id == "CartPole-v1" and doctor.facts.env.success_is_positive
    assert diagnose(tmp_path).trials[0].iterations == 1


def test_a_flipped_lunarlander_is_named_at_its_first_iteration_live_and_offline(tmp_path):
    """LunarLander behind a registered name, its reward's sign flipped: the untrained
    policy's crashes pay +100 instead of costing it, and its first mean return lands
    near the 200 LunarLander declares as solved. The live doctor (reading the env from
    the EnvRunner) and the offline one (reading rldebug_env.json) both say so after one
    iteration; without the recorded spec the offline doctor cannot."""
    register_env("negated_lunar", Negated)
    config = add_callbacks(_tiny_ppo("negated_lunar", env_id="LunarLander-v3")
                           .training(train_batch_size_per_learner=1000),
                           DoctorCallback.configured(console=False))
    result = run(config, stop={"training_iteration": 1}, logdir=tmp_path, progress=False)
    try:
        [live] = [cb for cb in result.algo.callbacks if isinstance(cb, DoctorCallback)]
        assert "reward_sign" in [f.rule_id for f in live.findings]
    finally:
        result.algo.stop()
    [sign] = [f for f in diagnose(tmp_path).findings if f.rule_id == "reward_sign"]
    assert sign.severity == "warning" and "LunarLander-v3" in sign.message
    assert sign.evidence["first_return"] >= 100.0
    (tmp_path / ENV_SPEC_FILE).unlink()
    assert "reward_sign" not in [f.rule_id for f in diagnose(tmp_path).findings]


def test_a_tune_trial_with_the_live_doctor_records_its_env_for_the_offline_doctor(tmp_path):
    """A Tune trial's params.json names only the registered name of a wrapped CartPole; the
    live DoctorCallback writes what the env declares beside it, in the trial's directory,
    so `rldebug doctor` on the trial later knows the env as rldebug.run's runs do; its
    TensorBoard text goes there too."""
    from ray import tune
    from ray.rllib.algorithms.ppo import PPO
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from rldebug.doctor import Thresholds

    register_env("negated_cartpole", Negated)
    # any KL above 1e-8 an error, so that a finding is written at iteration 1
    config = add_callbacks(_tiny_ppo("negated_cartpole"), DoctorCallback.configured(
        console=False, thresholds=Thresholds(kl_blowup_factor=1e-6)))
    results = tune.Tuner(PPO, param_space=config, run_config=tune.RunConfig(
        stop={"training_iteration": 1}, storage_path=str(tmp_path), name="wrapped",
        verbose=0)).fit()
    assert not results.errors
    trial = results[0].path
    assert json.loads((Path(trial) / "params.json").read_text())["env"] == "negated_cartpole"
    spec = read_trial(trial).env_spec
    assert spec is not None and spec["env_id"] == "CartPole-v1"
    assert Doctor(config=read_trial(trial).config, env_spec=spec).facts.env.reward_threshold \
        == 475.0
    # the live findings' TensorBoard text is in the trial's directory too, beside Tune's
    # own event file (not in the working directory Tune does not keep)
    [events] = Path(trial).glob("*.doctor")
    texts = EventAccumulator(str(events), size_guidance={"tensors": 0}).Reload().Tags()
    assert "doctor/kl_blowup/default_policy/text_summary" in texts["tensors"]


def test_a_tune_trial_on_a_storage_filesystem_gets_its_env_spec_through_that_filesystem(
        tmp_path):
    """Tune can keep a trial on a storage filesystem other than this machine's (S3, GCS;
    here pyarrow's SubTreeFileSystem, which reports itself as "subtree"): the live doctor
    writes the env's spec through that filesystem into the trial's directory."""
    import pyarrow.fs
    from ray import tune
    from ray.rllib.algorithms.ppo import PPO

    register_env("negated_cartpole", Negated)
    storage = pyarrow.fs.SubTreeFileSystem(str(tmp_path), pyarrow.fs.LocalFileSystem())
    config = add_callbacks(_tiny_ppo("negated_cartpole"), DoctorCallback.configured(
        console=False))
    results = tune.Tuner(PPO, param_space=config, run_config=tune.RunConfig(
        stop={"training_iteration": 1}, storage_path="experiments",
        storage_filesystem=storage, name="remote", verbose=0)).fit()
    assert not results.errors
    trial = tmp_path / results[0].path
    assert (trial / "params.json").is_file()
    assert read_trial(trial).env_spec["env_id"] == "CartPole-v1"


def test_a_multi_agent_run_records_no_env_spec(tmp_path):
    config = (PPOConfig().environment(MultiAgentCartPole, env_config={"num_agents": 2})
              .multi_agent(policies={"p0", "p1"},
                           policy_mapping_fn=lambda agent, *a, **k: f"p{agent}")
              .training(train_batch_size_per_learner=200, minibatch_size=100, num_epochs=1))
    result = run(config, stop={"training_iteration": 1}, logdir=tmp_path, progress=False)
    result.algo.stop()
    assert not (tmp_path / ENV_SPEC_FILE).exists() and read_trial(tmp_path).env_spec is None


def test_a_config_that_names_a_gym_id_wins_over_a_recorded_spec_and_bad_specs_are_refused():
    doctor = Doctor(config={"env": "Acrobot-v1"}, env_spec={"env_id": "CartPole-v1",
                                                             "reward_threshold": 475.0})
    assert doctor.facts.env.reward_threshold == -100.0
    assert Doctor(env_spec={"env_id": "X-v0", "reward_threshold": "high"}
                  ).facts.env.reward_threshold is None
    with pytest.raises(TypeError, match="env_spec must be a dict"):
        Doctor(env_spec="CartPole-v1")
