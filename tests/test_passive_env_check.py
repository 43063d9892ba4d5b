"""The passive env checker that local mode wraps around every env: real RLlib sampling."""

import re
import warnings

import gymnasium as gym
import numpy as np
import pytest
from ray.rllib.env.multi_agent_env import MultiAgentEnv
from rllib_example_envs import creator, example_env_classes
from setups import SMALL_NET

import rldebug
from rldebug.envcheck import EnvContractError, PassiveEnvCheck, PassiveEnvCheckWarning


class Walk(gym.Env):
    """A 1-D walk; ``config`` plants one fault at env step ``at`` of every ``every``-th
    episode (every episode by default)."""

    def __init__(self, config=None):
        config = dict(config or {})
        self.fault, self.at = config.get("fault"), config.get("at", 3)
        self.every = config.get("every", 1)
        self.observation_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
        self.action_space = gym.spaces.Discrete(2)
        self.t = self.episodes = 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        self.episodes += 1
        return np.zeros(2, np.float32), {}

    def step(self, action):
        self.t += 1
        obs, reward = np.zeros(2, np.float32), 1.0
        if self.t == self.at and self.episodes % self.every == 0:
            if self.fault == "four_values":
                return obs, reward, False, {}
            if self.fault == "nan_reward":
                reward = float("nan")
            if self.fault == "outside":
                obs = np.full(2, 5.0, np.float32)
        return obs, reward, False, self.t >= 8, {}


class TwoWalkers(MultiAgentEnv):
    """Two agents; with ``fault="no_all"`` its terminateds lack '__all__' from step ``at``."""

    def __init__(self, config=None):
        super().__init__()
        config = dict(config or {})
        self.fault, self.at = config.get("fault"), config.get("at", 2)
        self.agents = self.possible_agents = ["a", "b"]
        self.observation_spaces = {a: gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
                                   for a in self.agents}
        self.action_spaces = {a: gym.spaces.Discrete(2) for a in self.agents}
        self.t = 0

    def reset(self, *, seed=None, options=None):
        self.t = 0
        return {a: np.zeros(2, np.float32) for a in self.agents}, {}

    def step(self, actions):
        self.t += 1
        done = self.t >= 8
        terminateds = {"__all__": False}
        if self.fault == "no_all" and self.t >= self.at:
            terminateds = {"a": False, "b": False}
        return ({a: np.zeros(2, np.float32) for a in self.agents}, {a: 1.0 for a in self.agents},
                terminateds, {"__all__": done}, {})


def config_for(env, env_config, multi_agent=False):
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig

    config = (PPOConfig().environment(env, env_config=env_config)
              .env_runners(num_env_runners=0, num_envs_per_env_runner=1)
              .training(train_batch_size=64, minibatch_size=32, num_epochs=1)
              .rl_module(model_config=DefaultModelConfig(fcnet_hiddens=SMALL_NET)))
    if multi_agent:
        config.multi_agent(policies={"shared"}, policy_mapping_fn=lambda aid, *a, **k: "shared")
    return config


def sample_once(config):
    algo = rldebug.local_mode(config).build_algo()
    try:
        algo.env_runner.sample(num_timesteps=32, random_actions=True)
        return algo.env_runner
    finally:
        algo.stop()




def contract_error(call) -> EnvContractError:
    """The EnvContractError raised by ``call`` (RLlib re-raises env errors as RuntimeError)."""
    with pytest.raises(Exception) as caught:
        call()
    error = caught.value
    while error is not None and not isinstance(error, EnvContractError):
        error = error.__cause__ or error.__context__
    assert error is not None, f"no EnvContractError behind {caught.value!r}"
    return error


def test_the_old_gym_step_is_named_at_its_step():
    error = contract_error(lambda: sample_once(config_for(Walk, {"fault": "four_values",
                                                                 "at": 3})))
    assert re.search(r"Walk: step\(\) must return .*got 4 values .*old gym API.*env step 3 "
                     r"of the episode", str(error))


def test_a_missing_all_key_is_named_at_its_step():
    error = contract_error(lambda: sample_once(config_for(TwoWalkers, {"fault": "no_all",
                                                                       "at": 2},
                                                          multi_agent=True)))
    assert re.search(r"terminateds has no '__all__' key.*env step 2", str(error))


def test_rllibs_rock_paper_scissors_runs_with_a_note_on_its_truncateds():
    """RLlib's own example returns truncateds without '__all__', which RLlib reads as
    False: under the checker it samples as it does plainly, with one warning."""
    from ray.rllib.examples.envs.classes.multi_agent.rock_paper_scissors import (
        RockPaperScissors,
    )

    from rldebug.arena.config import flatten_observations_connector

    config = config_for(RockPaperScissors, {}, multi_agent=True).env_runners(
        env_to_module_connector=flatten_observations_connector)  # Discrete observations
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        runner = sample_once(config)
    notes = [w for w in caught if issubclass(w.category, PassiveEnvCheckWarning)
             and "truncateds has no '__all__'" in str(w.message)]
    assert len(notes) == 1 and "RLlib reads it as False" in str(notes[0].message)
    assert runner is not None


@pytest.mark.parametrize("fault, says", [
    ("nan_reward", "Walk: reward nan is not finite at env step 4"),
    ("outside", "Walk: observation array([5., 5.], dtype=float32) is outside Box(-1.0, 1.0, "
                "(2,), float32) at env step 4")])
def test_suspicious_results_warn_once_with_step_and_agent_and_training_goes_on(fault, says):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sample_once(config_for(Walk, {"fault": fault, "at": 4}))
    messages = [str(w.message) for w in caught if w.category is PassiveEnvCheckWarning]
    assert len(messages) == 1, messages  # once, although the fault repeats every episode
    assert messages[0].startswith(says), messages[0]


@pytest.mark.parametrize("fault, check, words", [
    ("nan_reward", "finite_rewards", "reward nan is not finite"),
    ("outside", "observation_in_space", ("observation array([5., 5.], dtype=float32) is "
                                         "outside Box(-1.0, 1.0, (2,), float32)"))])
def test_both_checkers_name_a_problem_in_the_same_words(fault, check, words):
    from rldebug.envcheck import check_env

    invasive = check_env(Walk, {"fault": fault, "at": 4})[check]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sample_once(config_for(Walk, {"fault": fault, "at": 4}))
    (passive,) = [str(w.message) for w in caught if w.category is PassiveEnvCheckWarning]
    assert words in invasive.message and words in passive, (invasive.message, passive)
    assert passive.endswith(invasive.fix)  # and the same fix


def test_findings_are_recorded_in_the_doctors_vocabulary():
    checker = PassiveEnvCheck()
    env = Walk({"fault": "nan_reward", "at": 1})
    checker.watch(env)
    env.reset(seed=0)
    with pytest.warns(PassiveEnvCheckWarning):
        env.step(0)
    (finding,) = checker.findings
    assert (finding.name, finding.severity) == ("finite_rewards", "warning")
    assert finding.evidence["env_step"] == 1 and finding.fix


def test_nan_rewards_that_rllib_averages_away_are_counted_in_the_results(tmp_path):
    """APPO: one episode in five has a NaN reward. RLlib's nanmean keeps every return and
    loss in the results finite; the checker's counts carry it into result.json, where
    the doctor names it."""
    import json

    from ray.rllib.algorithms.appo import APPOConfig
    from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig

    from rldebug.doctor import diagnose

    config = (APPOConfig().environment(Walk, env_config={"fault": "nan_reward", "at": 4,
                                                           "every": 5})
              .env_runners(num_env_runners=0, rollout_fragment_length=40)
              .training(train_batch_size_per_learner=80)
              # APPO's default is 10 s per iteration; 60 episodes in all are enough
              .reporting(min_time_s_per_iteration=2)
              .rl_module(model_config=DefaultModelConfig(fcnet_hiddens=SMALL_NET)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PassiveEnvCheckWarning)
        rldebug.run(config, stop={"training_iteration": 3}, logdir=tmp_path,
                    progress=False).algo.stop()
    rows = [json.loads(line) for line in (tmp_path / "result.json").read_text().splitlines()]
    runners = [row["env_runners"] for row in rows]
    assert all(np.isfinite(r["episode_return_mean"]) for r in runners), runners
    counted = [r.get("rldebug_env_check", {}).get("finite_rewards", {}).get("default_agent", 0)
               for r in runners]
    # every step counted, not only the first warned about: one in five episodes
    episodes = sum(r["num_episodes"] for r in runners)
    assert sum(counted) > 10 and abs(sum(counted) - episodes / 5) <= 3, (counted, episodes)
    finding = next(f for f in diagnose(tmp_path).findings if f.rule_id == "non_finite_reward")
    assert finding.severity == "error" and "The env check counted" in finding.message
    # the run's total, kept up to date after the first iteration with one
    assert finding.evidence["non_finite_reward_steps"] == sum(counted)
    assert finding.evidence["by_agent"] == {"default_agent": sum(counted)}
    assert finding.evidence["iterations_with_them"] == sum(n > 0 for n in counted)


class OneBlindWalker(MultiAgentEnv):
    """Two agents on a walk of random steps: 'sees' gets its position, 'blind' zeros (of
    numpy's default float64, where its Box is float32: the range check does not queue
    them, and the dtype is warned about)."""

    def __init__(self, config=None):
        super().__init__()
        self.agents = self.possible_agents = ["sees", "blind"]
        self.observation_spaces = {a: gym.spaces.Box(-10.0, 10.0, (2,), np.float32)
                                   for a in self.agents}
        self.action_spaces = {a: gym.spaces.Discrete(2) for a in self.agents}
        self.t, self.x = 0, 0.0

    def _obs(self):
        return {"sees": np.array([self.x, self.t / 8], np.float32),
                "blind": np.zeros(2)}

    def reset(self, *, seed=None, options=None):
        self.t, self.x = 0, 0.0
        return self._obs(), {}

    def step(self, actions):
        self.t += 1
        self.x += 1.0 if actions["sees"] else -1.0
        return (self._obs(), {a: float(actions[a]) for a in self.agents}, {"__all__": False},
                {"__all__": self.t >= 8}, {})


def test_observations_that_never_change_are_counted_and_named_without_a_trace(tmp_path):
    """An agent given zeros at every step: untraced runs (no observation statistics)
    were not told. The checker counts it from the 1000th observation of one env; the
    agent beside it, whose observations vary, is not counted."""
    import json

    from rldebug.doctor import diagnose

    config = config_for(OneBlindWalker, {}).training(
        train_batch_size_per_learner=640, minibatch_size=320).multi_agent(
        policies={"sees", "blind"}, policy_mapping_fn=lambda aid, *a, **k: aid)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PassiveEnvCheckWarning)  # the float64 zeros
        rldebug.run(config, stop={"training_iteration": 2}, logdir=tmp_path,
                    progress=False).algo.stop()
    rows = [json.loads(line) for line in (tmp_path / "result.json").read_text().splitlines()]
    counted = [row["env_runners"].get("rldebug_env_check", {}).get("observation_constant")
               for row in rows]
    assert counted[0] is None  # 720 observations of 'blind' in the first 640 env steps
    assert set(counted[1]) == {"blind"} and counted[1]["blind"] >= 1000
    (finding,) = [f for f in diagnose(tmp_path).findings
                  if f.rule_id == "observation_constant"]
    assert (finding.severity, finding.module, finding.began_at_iteration) == \
        ("error", "blind", 2)
    assert "Agent 'blind' got the same observation at every step" in finding.message


def test_local_mode_adds_the_checker_once_and_can_leave_it_out():
    from rldebug.callbacks.compose import configured_callbacks

    config = config_for(Walk, {})
    checked = rldebug.local_mode(rldebug.local_mode(config))
    assert sum(issubclass(c, PassiveEnvCheck)
               for c in configured_callbacks(checked.callbacks_class)) == 1
    plain = rldebug.local_mode(config, check_env=False)
    assert not any(issubclass(c, PassiveEnvCheck)
                   for c in configured_callbacks(plain.callbacks_class))
    with pytest.raises(TypeError, match="check_env"):
        rldebug.local_mode(config, check_env="no")


# --- the checker errs only where RLlib does: every example env class of RLlib 2.60 ---------

def _sample_example_env(cls, checked: bool) -> str:
    """'ok', or the root exception, after RLlib's EnvRunner samples 300 random steps."""
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.connectors.env_to_module import FlattenObservations
    from ray.rllib.env.multi_agent_env_runner import MultiAgentEnvRunner
    from ray.rllib.env.single_agent_env_runner import SingleAgentEnvRunner
    from ray.tune.registry import register_env

    from rldebug.callbacks.compose import add_callbacks

    try:
        env = creator(cls)({})
        name = f"rldebug-example-{cls.__module__}.{cls.__name__}"
        register_env(name, creator(cls))
        is_multi = isinstance(env, MultiAgentEnv)
        config = (PPOConfig().environment(name).debugging(seed=0)
                  .env_runners(num_env_runners=0, env_to_module_connector=lambda *a, **k:
                               FlattenObservations(multi_agent=is_multi)))
        if is_multi:
            agents = [str(a) for a in (getattr(env, "possible_agents", None) or [])] or ["p"]
            config = config.multi_agent(policies=set(agents),
                                        policy_mapping_fn=lambda aid, *a, **k: str(aid))
        if checked:
            config = add_callbacks(config, PassiveEnvCheck)
        runner = (MultiAgentEnvRunner if is_multi else SingleAgentEnvRunner)(config=config)
        try:
            runner.sample(num_timesteps=300, random_actions=True)
        finally:
            runner.stop()
    except Exception as err:  # noqa: BLE001 - the outcome is what is compared
        while err.__cause__ is not None:
            err = err.__cause__
        return f"{type(err).__name__}: {str(err)[:200]}"
    return "ok"


@pytest.mark.slow  # ~40 s: 48 env classes, each sampled twice by RLlib's EnvRunner
def test_the_checker_fails_no_rllib_example_env_that_plain_rllib_samples():
    compared, sampled, differ, not_here = 0, 0, [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, cls, why_not in example_env_classes():
            if cls is None:
                not_here.append(f"{name}: {why_not}")
                continue
            plain = _sample_example_env(cls, checked=False)
            checked = _sample_example_env(cls, checked=True)
            compared += 1
            if plain == "ok":
                sampled += 1
                if checked != "ok":
                    differ.append(f"{name}: plain RLlib samples it; checked: {checked}")
            elif checked == "ok":
                differ.append(f"{name}: plain fails ({plain}); checked passes")
    assert not differ, "\n".join(differ)
    # Not vacuous: most of RLlib's example envs sample (recsim, chess and pettingzoo are
    # not installed here).
    assert compared >= 45 and sampled >= 30, (compared, sampled, not_here)
