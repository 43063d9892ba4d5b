"""check_env: one broken env per check, plus the healthy arena and CartPole."""

import gymnasium as gym
import numpy as np
import pytest
from ray.rllib.env.multi_agent_env import MultiAgentEnv

from rldebug.arena import MultiAgentArena
from rldebug.envcheck import EnvCheckError, check_env
from rldebug.envcheck.check import ROLLOUT_CHECKS

AGENTS = ["a", "b"]


class TwoAgents(MultiAgentEnv):
    """A well-behaved two-agent env; each broken env below changes one thing."""

    obs_space = gym.spaces.Box(-1.0, 1.0, (3,), np.float32)

    def __init__(self, config=None):
        self.possible_agents = list(AGENTS)
        self.agents = list(AGENTS)
        self.observation_spaces = {a: self.obs_space for a in AGENTS}
        self.action_spaces = {a: gym.spaces.Discrete(2) for a in AGENTS}
        self.observation_space = self.obs_space
        self.action_space = gym.spaces.Discrete(2)
        super().__init__()
        self.t = 0

    def observe(self):
        return {a: self.np_random.uniform(-1, 1, 3).astype(np.float32) for a in AGENTS}

    def reward(self):
        return {a: float(self.np_random.random()) for a in AGENTS}

    def dones(self):
        done = self.t >= 10
        return ({a: False for a in AGENTS} | {"__all__": False},
                {a: done for a in AGENTS} | {"__all__": done})

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return self.observe(), {a: {} for a in AGENTS}

    def step(self, actions):
        self.t += 1
        terminateds, truncateds = self.dones()
        return self.observe(), self.reward(), terminateds, truncateds, {a: {} for a in AGENTS}


class OutOfSpace(TwoAgents):
    def observe(self):
        return {a: np.full(3, 5.0, np.float32) for a in AGENTS}


class WrongDtype(TwoAgents):
    obs_space = gym.spaces.MultiDiscrete([4, 4, 4])

    def observe(self):
        return {a: np.array([1, 2, 3], dtype=np.int32) for a in AGENTS}


class MismatchedIds(TwoAgents):
    def dones(self):
        terminateds, truncateds = super().dones()
        del truncateds["b"]
        return terminateds, truncateds


class NoAllKey(TwoAgents):
    def dones(self):
        terminateds, truncateds = super().dones()
        del terminateds["__all__"]
        return terminateds, truncateds


class NanReward(TwoAgents):
    def reward(self):
        return {"a": float("nan"), "b": 0.0}


class StringReward(TwoAgents):
    def reward(self):
        return {"a": "1.0", "b": 0.0}  # float("1.0") works; RLlib's return sums do not


class IntTruncated(TwoAgents):
    def dones(self):
        terminateds, truncateds = super().dones()
        return terminateds, {key: int(value) for key, value in truncateds.items()}


class GlobalRandom(TwoAgents):
    def observe(self):
        return {a: np.random.uniform(-1, 1, 3).astype(np.float32) for a in AGENTS}


class DictObs(TwoAgents):
    obs_space = gym.spaces.Dict({"pos": gym.spaces.Discrete(5),
                                 "vel": gym.spaces.Box(-1, 1, (2,), np.float32)})

    def observe(self):
        return {a: {"pos": 1, "vel": np.zeros(2, np.float32)} for a in AGENTS}


class ListObs(TwoAgents):
    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return [0.0, 0.0], {}


def test_healthy_multi_agent_env_passes_every_check():
    report = check_env(TwoAgents)
    assert report.ok and {c.status for c in report.checks} == {"passed"}, str(report)


def test_arena_passes_but_warns_about_the_default_encoder():
    report = check_env(MultiAgentArena, {"max_timesteps": 20})
    assert report.ok
    assert [c.name for c in report.warnings] == ["default_encoder"]
    assert "FlattenObservations(multi_agent=True)" in report["default_encoder"].fix


def test_single_agent_gymnasium_env():
    report = check_env("CartPole-v1")
    assert report.ok and not report.multi_agent
    assert report["all_key"].status == "skipped"
    assert report["default_encoder"].status == "passed"


@pytest.mark.parametrize("env, check, status, words", [
    (ListObs, "rllib", "failed", "MultiAgentDict"),
    (OutOfSpace, "observation_in_space", "failed", "at rollout step 0: observation"),
    (WrongDtype, "observation_dtype", "warning", "dtype int32"),
    (MismatchedIds, "agent_ids", "failed", "truncateds names ['a']"),
    (NoAllKey, "all_key", "failed", "terminateds has no '__all__'"),
    (NanReward, "finite_rewards", "failed", "reward nan is not finite"),
    (StringReward, "finite_rewards", "failed", "reward '1.0' is not a number"),
    (IntTruncated, "done_flags", "failed", "truncated of 'a' at rollout step 1 is 0 (int)"),
    (GlobalRandom, "seed_determinism", "failed", "differ at step 0"),
    (DictObs, "default_encoder", "warning", "No default encoder config"),
])
def test_each_broken_env_fails_its_check(env, check, status, words):
    report = check_env(env)
    result = report[check]
    assert result.status == status, str(report)
    assert words in result.message
    assert result.fix


def test_the_right_check_is_the_only_failure():
    report = check_env(NanReward)
    assert [c.name for c in report.errors] == ["finite_rewards"]


def test_raise_on_error_lists_the_failures():
    with pytest.raises(EnvCheckError, match="finite_rewards"):
        check_env(NanReward, raise_on_error=True)


def test_bad_arguments_are_rejected():
    with pytest.raises(TypeError, match="env instance, an env class"):
        check_env(42)
    with pytest.raises(ValueError, match="Pass the class instead"):
        check_env(TwoAgents(), env_config={"x": 1})
    with pytest.raises(ValueError, match="steps must be an int >= 1, got 0"):
        check_env(TwoAgents, steps=0)
    with pytest.raises(TypeError, match="env_config must be a dict"):
        check_env(TwoAgents, env_config=[1])
    with pytest.raises(ValueError, match="neither a gymnasium id"):
        check_env("NoSuchEnv-v9")


class OldGymEnv(gym.Env):
    """A 2021-style gym env ported by changing the import only: obs-only reset, 4-tuple step."""

    def __init__(self, config=None):
        self.observation_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
        self.action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        return np.zeros(2, np.float32)

    def step(self, action):
        return np.zeros(2, np.float32), 1.0, False, {}


def test_the_old_gym_api_is_named_once_with_the_fix():
    from rldebug.envcheck import check_env

    report = check_env(OldGymEnv)
    failed = [c for c in report.checks if c.status == "failed"]
    api = [c for c in failed if c.name == "gymnasium_api"]
    assert len(api) == 1 and "old gym API" in api[0].message
    assert "terminated, truncated" in api[0].fix
    assert not any("not enough values to unpack" in c.message for c in report.checks)


def test_a_reset_that_ignores_the_seed_is_named_as_non_determinism():
    from ray.rllib.examples.envs.classes.multi_agent.tic_tac_toe import TicTacToe

    from rldebug.envcheck import check_env

    (check,) = [c for c in check_env(TicTacToe, steps=60).checks if c.name == "seed_determinism"]
    assert check.status == "failed"
    assert "Two rollouts with seed=0 and the same actions differ at step" in check.message
    assert "raised" not in check.message


class _Walk(gym.Env):
    """A plain single-agent env that never calls super().reset(seed=seed)."""

    observation_space = gym.spaces.Box(-1, 1, (2,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def __init__(self, config=None):
        self.t = 0

    def reset(self, *, seed=None, options=None):
        self.t = 0
        return np.zeros(2, np.float32), {}

    def step(self, action):
        self.t += 1
        return np.zeros(2, np.float32), 1.0, self.t >= 20, False, {}


class DeclaresThreeTakesTwo(_Walk):
    action_space = gym.spaces.Discrete(3)

    def step(self, action):
        assert action in (0, 1), f"bad action {action}"
        return super().step(action)


def test_an_env_rllib_trains_is_not_failed_for_gymnasiums_seeding_convention():
    """gymnasium's checker fails an env whose reset() skips super().reset(seed=seed); RLlib
    samples it. It was 'FAILED' with 'follow the checker's message'."""
    from ray.rllib.algorithms.ppo import PPOConfig

    algo = PPOConfig().environment(_Walk).env_runners(num_env_runners=0).build_algo()
    try:
        assert algo.env_runner.sample(num_timesteps=40)  # RLlib takes it
    finally:
        algo.stop()
    report = check_env(_Walk)
    assert report.ok and report["rllib"].status == "warning"
    assert "super().reset(seed=seed)" in report["rllib"].fix


def test_an_action_the_env_refuses_is_said_once_with_its_step_and_space():
    """Discrete(3) declared, only 0 and 1 taken: every check repeated 'A random rollout
    raised AssertionError: bad action 2' (8 lines), with no step and no space."""
    report = check_env(DeclaresThreeTakesTwo)
    (failed,) = report.errors
    assert "bad action 2" in failed.message and "at env step" in failed.message
    assert "given the action(s) agent0: 2 from Discrete(3)" in failed.message
    assert "action_space" in failed.fix
    assert {c.status for c in report.checks if c is not failed and c.name in ROLLOUT_CHECKS} \
        == {"skipped"}  # (the checks of the declared spaces need no rollout)


class Float64InBounds(TwoAgents):
    obs_space = gym.spaces.Box(-1, 1, (3,), np.float32)

    def observe(self):
        return {a: np.zeros(3, np.float64) for a in AGENTS}


class OnlyAllTruncated(TwoAgents):
    """truncateds with '__all__' alone: RLlib's shorthand (missing agents count False)."""

    def dones(self):
        terminateds, truncateds = super().dones()
        return terminateds, {"__all__": truncateds["__all__"]}


def test_one_problem_is_said_once_by_the_check_that_owns_it():
    """A float64 observation inside a float32 Box was also called 'outside' the space; a
    truncateds dict of '__all__' alone was called a mismatch of agent ids."""
    dtype = check_env(Float64InBounds)
    assert dtype["observation_dtype"].status == "warning"
    assert dtype["observation_in_space"].status == "passed", str(dtype)
    shorthand = check_env(OnlyAllTruncated)
    assert shorthand["agent_ids"].status == "passed", str(shorthand)


# -- envs the checker was not written around (a new user's audit) ------------------------


class OneBuffer(gym.Env):
    """Deterministic, but returns one numpy buffer it fills anew each step (RLlib copies)."""

    observation_space = gym.spaces.Box(0.0, 10.0, (1,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def __init__(self, config=None):
        self.buffer = np.zeros(1, np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.buffer[0] = 0.0
        return self.buffer, {}

    def step(self, action):
        self.buffer[0] += 0.1
        return self.buffer, 1.0, bool(self.buffer[0] > 1.0), False, {}


def test_an_env_returning_one_buffer_is_not_called_nondeterministic():
    report = check_env(OneBuffer)
    assert report.ok and report["seed_determinism"].status == "passed", str(report)


class SharedSpace(TwoAgents):
    """One space every agent shares, as many tutorials declare it."""

    def __init__(self, config=None):
        super().__init__(config)
        self.observation_spaces = self.action_spaces = None


class ObsAfterDone(TwoAgents):
    """Agent 'a' terminates at step 3 and keeps getting observations."""

    def dones(self):
        over = self.t >= 10
        return ({"a": self.t >= 3, "b": False, "__all__": over},
                {"a": False, "b": over, "__all__": over})


class RewardsOnlyForTheEarner(TwoAgents):
    """The rewards dict names only the agent that earned something ('a')."""

    def reward(self):
        return {"a": 1.0}


class TurnsTruncatedWithoutLastObs(TwoAgents):
    """Turn-based: only the agent to move observes; at the time limit only the next one
    gets an observation, the one that just moved none."""

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return {"a": self.observe()["a"]}, {"a": {}}

    def step(self, actions):
        self.t += 1
        (moved,) = actions
        following = "b" if moved == "a" else "a"
        over = self.t >= 9
        return ({following: self.observe()[following]}, {moved: 0.5},
                {"__all__": False}, {"__all__": over}, {})


def _rllib_samples(env_class, random_actions=True):
    from ray.rllib.algorithms.ppo import PPOConfig

    algo = (PPOConfig().environment(env_class).env_runners(num_env_runners=0)
            .multi_agent(policies={"p"}, policy_mapping_fn=lambda aid, *a, **k: "p")
            .build_algo())
    try:
        algo.env_runner.sample(num_timesteps=40, random_actions=random_actions)
    finally:
        algo.stop()


@pytest.mark.parametrize("env, check, words, rllib_says", [
    (SharedSpace, "agent_spaces", "one observation_space", "object is not iterable"),
    (ObsAfterDone, "agent_ids", "agent 'a' got an observation although it was done at step 3",
     "already had its `SingleAgentEpisode.is_done` set to True"),
    (RewardsOnlyForTheEarner, "agent_ids",
     "agent 'b' acted and got its next observation but no reward",
     "did NOT receive any reward from the env"),
    (TurnsTruncatedWithoutLastObs, "agent_ids",
     "agent 'a' acted and was then truncated without a last observation",
     "got truncated, but did NOT receive a last"),
])
def test_what_rllib_cannot_sample_fails_its_check(env, check, words, rllib_says):
    with pytest.raises(Exception, match=rllib_says.replace("`", ".")):
        _rllib_samples(env)  # what RLlib 2.60 does with it
    report = check_env(env)
    assert report[check].status == "failed" and words in report[check].message, str(report)
    assert report[check].fix


class OneStep(gym.Env):
    observation_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def __init__(self, config=None):
        pass

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return np.zeros(2, np.float32), {}

    def step(self, action):
        return np.zeros(2, np.float32), 1.0, True, False, {}


class ArrayReward(OneStep):
    def step(self, action):
        return np.zeros(2, np.float32), np.ones(1, np.float32), True, False, {}


class TextObservation(OneStep):
    observation_space = gym.spaces.Text(5)

    def reset(self, *, seed=None, options=None):
        return "abc", {}

    def step(self, action):
        return "abd", 1.0, True, False, {}


class Float64Observation(OneStep):
    def reset(self, *, seed=None, options=None):
        return np.zeros(2, np.float64), {}

    def step(self, action):
        return np.zeros(2, np.float64), 1.0, True, False, {}


class InfoNone(OneStep):
    def reset(self, *, seed=None, options=None):
        return np.zeros(2, np.float32), None


class ActionsFromOne(TwoAgents):
    def __init__(self, config=None):
        super().__init__(config)
        self.action_spaces = {a: gym.spaces.Discrete(3, start=1) for a in AGENTS}


class ReadsItsWorker(OneStep):
    """Reads EnvContext's attributes, as RLlib's EnvRunners pass them."""

    def __init__(self, config):
        self.seed_offset = config.worker_index * 1000 + config.vector_index


class NeedsASize(OneStep):
    def __init__(self, config):
        self.size = config["size"]


def test_a_reward_array_of_one_element_is_said_not_raised():
    report = check_env(ArrayReward)
    assert report["finite_rewards"].status == "failed"
    assert "numpy array of shape (1,)" in report["finite_rewards"].message
    assert "float(reward[0])" in report["finite_rewards"].fix


def test_a_text_observation_is_not_told_to_flatten():
    check = check_env(TextObservation)["default_encoder"]
    assert check.status == "warning" and "cannot turn a Text space into numbers" in check.message
    assert "FlattenObservations()" not in check.fix and "ObservationWrapper" in check.fix


def test_float64_observations_in_a_float32_space_are_a_warning_as_rllib_trains_them():
    report = check_env(Float64Observation)
    assert report.ok, str(report)
    assert report["rllib"].status == "warning"
    assert "RLlib casts float64 into a float32 space and trains" in report["rllib"].message
    assert report["observation_dtype"].status == "warning"
    assert report["observation_in_space"].status == "passed"


def test_a_reset_whose_info_is_none_is_told_so_not_old_gym():
    check = check_env(InfoNone)["gymnasium_api"]
    assert "the info must be a dict" in check.message and "old gym" not in check.message
    assert check.fix == "Return (obs, {}) when there is no info to give."


def test_actions_declared_from_1_are_named():
    check = check_env(ActionsFromOne)["discrete_start"]
    assert check.status == "warning" and "Discrete(3, start=1)" in check.message
    assert "the env gets 0 where it means 1" in check.message
    assert "Discrete(3)" in check.fix
    assert check_env(TwoAgents)["discrete_start"].status == "passed"


def test_the_env_is_built_with_an_env_context_and_its_errors_say_so():
    assert check_env(ReadsItsWorker).ok
    with pytest.raises(ValueError, match=r"Building the env raised KeyError: 'size' \(it was "
                                         r"called as NeedsASize\(env_config=\{\}\)"):
        check_env(NeedsASize)
    assert check_env(NeedsASize, {"size": 3}).ok


class NoTruncatedAllKey(TwoAgents):
    def dones(self):
        terminateds, truncateds = super().dones()
        del truncateds["__all__"]
        return terminateds, truncateds


def test_a_truncateds_dict_without_all_is_a_warning_as_rllib_reads_it_as_false():
    check = check_env(NoTruncatedAllKey)["all_key"]
    assert check.status == "warning" and "truncateds has no '__all__' key (keys: ['a', 'b'])" \
        in check.message and "reads it as False" in check.message


def test_rllibs_multi_agent_cartpole_passes_its_agents_ending_at_different_steps():
    """The random rollout stepped an agent after it was done, which RLlib never does."""
    from ray.rllib.examples.envs.classes.multi_agent import MultiAgentCartPole

    report = check_env(MultiAgentCartPole, {"num_agents": 3})
    assert report["agent_ids"].status == "passed", str(report)
    assert report["observation_in_space"].status == "passed", str(report)


class NoSpaces(gym.Env):
    """A new env whose author has not set its spaces yet."""

    def __init__(self, config=None):
        pass

    def reset(self, *, seed=None, options=None):
        return np.zeros(2, np.float32), {}

    def step(self, action):
        return np.zeros(2, np.float32), 0.0, True, False, {}


class ActionSpaceNotASpace(NoSpaces):
    observation_space = gym.spaces.Box(-1, 1, (2,), np.float32)
    action_space = 3  # meant Discrete(3)


@pytest.mark.parametrize("env, said", [
    (NoSpaces, "reading its observation space raised AttributeError"),
    (ActionSpaceNotASpace, "its action space is 3, not a gymnasium Space")])
def test_an_env_without_its_spaces_fails_a_check_not_the_checker(env, said):
    report = check_env(env)  # raised AttributeError from inside the checker
    assert report["agent_spaces"].status == "failed" and said in report["agent_spaces"].message
    assert "self.observation_space and self.action_space" in report["agent_spaces"].fix
    assert {report[name].status for name in ("discrete_start", *ROLLOUT_CHECKS)} == {"skipped"}
    with pytest.raises(EnvCheckError, match="agent_spaces"):
        check_env(env, raise_on_error=True)


class NumpyFlagsAndReward(OneStep):
    """np.bool_ flags and an np.float32 reward: RLlib samples them as it samples bools."""

    def step(self, action):
        return np.zeros(2, np.float32), np.float32(1.0), np.bool_(True), np.bool_(False), {}


class NanEveryStep(OneStep):
    def step(self, action):
        return np.zeros(2, np.float32), float("nan"), True, False, {}


class UnboundedBox(OneStep):
    observation_space = gym.spaces.Box(-np.inf, np.inf, (2,), np.float32)


def _single_agent_samples(env_class):
    from ray.rllib.algorithms.ppo import PPOConfig

    algo = PPOConfig().environment(env_class).env_runners(num_env_runners=0).build_algo()
    try:
        return algo.env_runner.sample(num_timesteps=20, random_actions=True)
    finally:
        algo.stop()


def test_gymnasiums_stricter_tests_are_warnings_where_rllib_samples_the_env():
    """gymnasium's check_env compares a second seeded step's truncation flag with `is False`
    (an np.bool_ fails it: "truncates after 1 step, something has gone very wrong") and
    its NaN reward with NaN (never equal), and warns that an unbounded Box is "probably too
    high"; RLlib samples all three. They are warnings of the rllib check (the first two) or
    nothing (the third); a NaN reward stays finite_rewards' error."""
    assert sum(len(e) for e in _single_agent_samples(NumpyFlagsAndReward)) == 20
    report = check_env(NumpyFlagsAndReward)
    assert report.ok and report["rllib"].status == "warning", str(report)
    assert "truncates after 1 step" in report["rllib"].message
    assert report["done_flags"].status == "passed"
    nan = check_env(NanEveryStep)
    assert nan["rllib"].status == "warning" and nan["finite_rewards"].status == "failed"
    assert check_env(UnboundedBox)["rllib"].status == "passed"


class ObsOneRowTooMany(OneStep):
    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return np.zeros((1, 2), np.float32), {}


class DictObsOtherKeys(OneStep):
    observation_space = gym.spaces.Dict({"position": gym.spaces.Box(-1.0, 1.0, (2,)),
                                         "velocity": gym.spaces.Box(-1.0, 1.0, (2,))})

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return {"position": np.zeros(2, np.float32), "vel": np.zeros(2, np.float32)}, {}


def test_an_observation_outside_its_space_says_its_shape_or_keys():
    shape = check_env(ObsOneRowTooMany)["observation_in_space"]
    assert shape.status == "failed" and "its shape is (1, 2), the space's (2,)" in shape.message
    keys = check_env(DictObsOtherKeys)["observation_in_space"]
    assert keys.status == "failed"
    assert "its keys are ['position', 'vel'], the space's ['position', 'velocity']" in \
        keys.message


class ThermostatTimeLimitAsTerminated(gym.Env):
    """A continuing task cut at 12 steps by its own clock, reported as terminated (gym's old
    `done`); nothing in the observation tells the step."""

    observation_space = gym.spaces.Box(-5.0, 5.0, (2,), np.float32)
    action_space = gym.spaces.Discrete(3)
    limit = 12

    def __init__(self, config=None):
        self.t, self.temperature = 0, 0.0

    def _obs(self):
        return np.array([self.temperature, self.temperature - 1.0], np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t, self.temperature = 0, float(self.np_random.uniform(-1, 1))
        return self._obs(), {}

    def step(self, action):
        self.t += 1
        self.temperature = float(np.clip(self.temperature + (int(action) - 1) * 0.2
                                         + self.np_random.normal(0, 0.1), -5, 5))
        return self._obs(), -abs(self.temperature - 1.0), self.t >= self.limit, False, {}


class ThermostatTruncated(ThermostatTimeLimitAsTerminated):
    def step(self, action):
        obs, reward, at_limit, _, info = super().step(action)
        return obs, reward, False, at_limit, info


class ThermostatStepsLeftObserved(ThermostatTimeLimitAsTerminated):
    observation_space = gym.spaces.Box(-5.0, 12.0, (3,), np.float32)

    def _obs(self):
        return np.array([self.temperature, self.temperature - 1.0, self.limit - self.t],
                        np.float32)


def test_a_time_limit_reported_as_terminated_is_a_warning():
    """RLlib takes terminated=True as the task's end (the episode is_terminated: GAE and
    n-step targets value nothing after it); an env whose every episode ends there at one
    step whatever the random actions, without the step in its observation, is warned; the
    same limit reported as truncated, or with the steps left observed, is not."""
    episodes = _single_agent_samples(ThermostatTimeLimitAsTerminated)
    assert [e.is_terminated for e in episodes if e.is_done] == [True]
    report = check_env(ThermostatTimeLimitAsTerminated)
    warned = report["time_limit_terminated"]
    assert report.ok and warned.status == "warning", str(report)
    assert "ended terminated=True at step 12" in warned.message
    assert "return truncated=True there" in warned.fix
    assert warned.evidence["length"] == 12 and warned.evidence["episodes"] > 20
    assert check_env(ThermostatTruncated)["time_limit_terminated"].status == "passed"
    observed = check_env(ThermostatStepsLeftObserved)["time_limit_terminated"]
    assert observed.status == "passed" and "the observation tells the step" in observed.message


def test_episodes_that_end_on_what_the_agent_does_are_not_a_time_limit():
    """CartPole ends on the pole, RLlib's TwoStepGame at its second step with the game's
    stage observed: neither is warned. RLlib's own six-room example ends every random
    episode at its `time_limit` with terminated=True: warned."""
    from ray.rllib.examples.envs.classes.multi_agent.two_step_game import TwoStepGame
    from ray.rllib.examples.envs.classes.six_room_env import HierarchicalSixRoomEnv

    cartpole = check_env("CartPole-v1")["time_limit_terminated"]
    assert cartpole.status == "passed" and "different steps" in cartpole.message
    assert check_env(TwoStepGame, {})["time_limit_terminated"].status == "passed"
    six_rooms = check_env(HierarchicalSixRoomEnv, {})["time_limit_terminated"]
    assert six_rooms.status == "warning" and "at step 50" in six_rooms.message


class IntegerObservation(OneStep):
    """Integer positions in a matching int64 Box: gymnasium's checker accepts it."""

    observation_space = gym.spaces.Box(0, 20, (2,), np.int64)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return np.array([3, 4], np.int64), {}

    def step(self, action):
        return np.array([3, 5], np.int64), 1.0, True, False, {}


class ByteImage(OneStep):
    observation_space = gym.spaces.Box(0, 255, (42, 42, 3), np.uint8)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return np.zeros(self.observation_space.shape, np.uint8), {}

    def step(self, action):
        return np.full(self.observation_space.shape, 255, np.uint8), 1.0, True, False, {}


class SmallImage(ByteImage):
    observation_space = gym.spaces.Box(0.0, 1.0, (16, 16, 3), np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return np.zeros(self.observation_space.shape, np.float32), {}

    def step(self, action):
        return np.ones(self.observation_space.shape, np.float32), 1.0, True, False, {}


class HalfPrecision(OneStep):
    observation_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float16)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return np.zeros(2, np.float16), {}

    def step(self, action):
        return np.zeros(2, np.float16), 1.0, True, False, {}


def _module_acts(env_class):
    """RLlib 2.60's default module computes the actions (no random_actions)."""
    from ray.rllib.algorithms.ppo import PPOConfig

    algo = PPOConfig().environment(env_class).env_runners(num_env_runners=0).build_algo()
    try:
        return algo.env_runner.sample(num_timesteps=20)
    finally:
        algo.stop()


@pytest.mark.parametrize("env, rllib_says", [
    (IntegerObservation, "mat1 and mat2 must have the same dtype, but got Long and Float"),
    (ByteImage, r"Input type \(unsigned char\) and bias type \(float\) should be the same"),
    (HalfPrecision, "mat1 and mat2 must have the same dtype, but got Half and Float"),
], ids=["int64", "uint8 image", "float16"])
def test_a_box_of_integers_or_half_floats_is_named_as_the_default_model_refuses_it(
        env, rllib_says):
    """A held-out audit (2026-12-07): int64 and uint8 observations in matching Boxes were
    said to suit RLlib's default encoders; its tensors cast only float64 to float32, and
    the first forward pass fails."""
    with pytest.raises(RuntimeError, match=rllib_says):
        _module_acts(env)
    check = check_env(env)["default_encoder"]
    assert check.status == "warning", check
    assert rllib_says.replace("\\", "") in check.message and "DtypeObservation" in check.fix
    assert check_env(Float64Observation)["default_encoder"].status == "passed"


class FloatsInAnIntegerSpace(OneStep):
    observation_space = gym.spaces.Box(0, 10, (2,), np.int64)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return np.array([3.5, 1.0]), {}

    def step(self, action):
        return np.array([4.5, 1.0]), 1.0, True, False, {}


class AgentsWithFloatsInAnIntegerSpace(TwoAgents):
    obs_space = gym.spaces.Box(0, 10, (3,), np.int64)

    def observe(self):
        return {a: np.array([3.5, 1.0, 2.0]) for a in AGENTS}


def test_a_float_observation_in_an_integer_space_fails_where_rllib_refuses_the_cast():
    """RLlib's single-agent vector env stores observations in the space's dtype and
    refuses a float there (the audit's env passed as a warning, its message saying RLlib
    trains on it); its multi-agent runner keeps them as they are (a warning)."""
    with pytest.raises(TypeError, match="Cannot cast array data from dtype.'float64'. to "
                                        "dtype.'int64'. according to the rule 'same_kind'"):
        _single_agent_samples(FloatsInAnIntegerSpace)
    report = check_env(FloatsInAnIntegerSpace)
    assert not report.ok and report["observation_dtype"].status == "failed", str(report)
    assert "Cannot cast array data from dtype('float64') to dtype('int64')" in \
        report["observation_dtype"].message
    assert "it refuses a float into an integer space" in report["rllib"].message
    assert report["observation_dtype"].message.startswith("At rollout step 0:")  # no 'agent0'
    _rllib_samples(AgentsWithFloatsInAnIntegerSpace)
    assert check_env(AgentsWithFloatsInAnIntegerSpace)["observation_dtype"].status == "warning"


class JoinsUndeclared(TwoAgents):
    """A third agent joins at step 3; the env declares no spaces for it and steps on
    without its action."""

    def observe(self):
        joined = {"c": np.zeros(3, np.float32)} if self.t >= 3 else {}
        return super().observe() | joined

    def reward(self):
        return super().reward() | ({"c": 0.0} if self.t > 3 else {})


def test_an_agent_the_env_never_declared_is_named_not_blamed_on_reset():
    """The audit's joiner was said to raise KeyError "in reset()"; its reset was fine, and
    RLlib fails the first time the undeclared agent acts."""
    with pytest.raises(KeyError, match="'c'") as raised:
        _rllib_samples(JoinsUndeclared, random_actions=False)
    assert "_unsquash_or_clip" in {entry.name for entry in raised.traceback}  # as said
    report = check_env(JoinsUndeclared)
    check = report["agent_ids"]
    assert check.status == "failed", str(report)
    assert "Agent 'c' got an observation at rollout step 3, but the env declares no spaces " \
        "for it" in check.message and "possible_agents" in check.fix
    assert "reset()" not in str(report)
    assert [c.name for c in report.checks if c.status == "failed"] == ["agent_ids"]


class EndsWithoutAll(TwoAgents):
    """The audit's env: every agent terminated, terminateds without '__all__', truncateds
    with '__all__' False; it would step on past its end (observations past their space)."""

    def observe(self):
        over = self.t > 10
        return {a: np.full(3, 2.0 if over else 0.0, np.float32) for a in AGENTS}

    def dones(self):
        return {a: self.t >= 10 for a in AGENTS}, {"__all__": False}


class OneFinishesEarly(TwoAgents):
    """Turn-based: 'a' finishes alone at step 3 ('__all__' False, truncateds empty), 'b'
    goes on to step 8. RLlib's vector env ends an episode on terminateds['__all__'] or
    truncateds.get('__all__', False) only."""

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return {a: np.zeros(3, np.float32) for a in AGENTS}, {}

    def step(self, actions):
        self.t += 1
        zeros = np.zeros(3, np.float32)
        if self.t < 3:
            return ({a: zeros for a in AGENTS}, {a: 0.0 for a in AGENTS},
                    {"a": False, "b": False, "__all__": False}, {}, {})
        if self.t == 3:
            return {"a": zeros}, {"a": 1.0}, {"a": True, "__all__": False}, {}, {}
        return ({"b": zeros}, {"b": 0.0}, {"b": self.t >= 8, "__all__": self.t >= 8}, {}, {})


def test_an_env_without_all_is_reset_when_every_agent_is_done_not_stepped_on():
    """Without '__all__' in terminateds the rollout stepped the ended episode on, and two
    checks failed for what the env did after its own end (the audit's env: an observation
    past its bounds, an agent done at step 20 given one at 21)."""
    report = check_env(EndsWithoutAll)
    assert [c.name for c in report.checks if c.status == "failed"] == ["all_key"], str(report)
    assert report.episodes_ended > 0


def test_an_agent_finishing_alone_does_not_end_the_episode_as_rllib_does_not():
    report = check_env(OneFinishesEarly, steps=60)
    assert set(report.episode_lengths) == {8}, report.episode_lengths
    assert not [c for c in report.checks if c.status == "failed"], str(report)


class RewardsByIndex(TwoAgents):
    def reward(self):
        return {0: 1.0, 1: 0.0}


def test_unknown_agent_ids_are_shown_as_the_env_wrote_them():
    message = check_env(RewardsByIndex)["agent_ids"].message
    assert "rewards names unknown agent(s) [0, 1]; possible_agents is ['a', 'b']" in message


def test_rllibs_own_multi_agent_check_is_said_to_stop_training_too():
    """The audit: "Follow the checker's message; it names the method at fault" for
    RLlib's check_multiagent_environments, which RLlib runs on every env an EnvRunner
    builds."""
    with pytest.raises(ValueError, match="reward has agent_ids that are not the names"):
        _rllib_samples(RewardsByIndex)
    check = check_env(RewardsByIndex)["rllib"]
    assert check.status == "failed" and "disable_env_checking=True" in check.fix


def test_an_image_of_a_size_rllib_has_no_default_cnn_for_is_named():
    """The audit's first image env (16x16x3) was said to suit the default encoders; RLlib
    2.60 has default CNN filters for 10, 42, 64, 84 and 96 pixels only."""
    with pytest.raises(ValueError, match=r"No default CNN configuration for obs shape \[16, 16, 3\]"):
        _module_acts(SmallImage)
    check = check_env(SmallImage)["default_encoder"]
    assert check.status == "warning" and "No default CNN configuration for obs shape " \
        "[16, 16, 3]" in check.message and "conv_filters" in check.fix


def test_a_second_users_envs_keep_their_score():
    """benchmarks/envcheck_user_envs.py: a held-out user's 32 envs (read once: 18 of the
    22 bugs named, no correct env failed)."""
    from benchmarks.envcheck_user_envs import score, score_line

    rows = score()
    assert score_line(rows) == ("bugs named 21/22, correct envs failed 0/10, warnings on "
                                "correct envs 3"), [r for r in rows if r["buggy"] and not r["named"]]


class AgentsWithIntsInAFloatSpace(TwoAgents):
    def observe(self):
        return {a: np.array([3, 1, 2]) for a in AGENTS}


def test_a_multi_agent_env_is_judged_by_the_dtype_its_observations_reach_the_module_in():
    """RLlib's multi-agent runner keeps the env's dtype (no vector env casts into the
    space's): floats in an integer space train, integers in a float space do not. A
    reviewer found the space's dtype judged (a false error in rldebug check)."""
    from ray.rllib.algorithms.ppo import PPOConfig

    from rldebug.traps import preflight

    def traps(env):
        config = (PPOConfig().environment(env).multi_agent(
            policies={"p"}, policy_mapping_fn=lambda aid, *a, **k: "p"))
        return [t.name for t in preflight(config, cpus=4) if t.severity == "error"]

    _rllib_samples(AgentsWithFloatsInAnIntegerSpace, random_actions=False)
    assert check_env(AgentsWithFloatsInAnIntegerSpace)["default_encoder"].status == "passed"
    assert "no_default_encoder" not in traps(AgentsWithFloatsInAnIntegerSpace)
    with pytest.raises(RuntimeError, match="mat1 and mat2 must have the same dtype, but got "
                                           "Long and Float"):
        _rllib_samples(AgentsWithIntsInAFloatSpace, random_actions=False)
    check = check_env(AgentsWithIntsInAFloatSpace)["default_encoder"]
    assert check.status == "warning" and "(the env returns int64" in check.message
    assert "no_default_encoder" in traps(AgentsWithIntsInAFloatSpace)


def test_check_env_leaves_torch_s_random_numbers_alone():
    import torch

    torch.manual_seed(0)
    expected = torch.rand(1)
    torch.manual_seed(0)
    check_env(IntegerObservation)
    assert torch.rand(1) == expected


class LongDoubleObservation(OneStep):
    observation_space = gym.spaces.Box(-1.0, 1.0, (2,), np.longdouble)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return np.zeros(2, np.longdouble), {}

    def step(self, action):
        return np.zeros(2, np.longdouble), 1.0, True, False, {}


def test_a_dtype_torch_cannot_take_at_all_is_said_not_raised():
    check = check_env(LongDoubleObservation)["default_encoder"]
    assert check.status == "warning" and "longdouble" in check.message, check
