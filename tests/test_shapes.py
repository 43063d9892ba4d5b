"""rldebug.shapes on hand-made RLlib episodes and result dicts (no training needed)."""

import math

import gymnasium as gym
import numpy as np
import pytest
from ray.rllib.env.multi_agent_episode import MultiAgentEpisode
from ray.rllib.env.single_agent_episode import SingleAgentEpisode

from rldebug.shapes.env_meta import action_names, agent_spaces, declared_agents, info_events
from rldebug.shapes.episodes import (
    DEFAULT_AGENT_ID,
    agent_chunks,
    agent_returns,
    agent_rewards,
    kind_of,
    last_step,
    starts_at_reset,
)
from rldebug.shapes.results import learner_stats, main_loss, per_agent_returns


def single_agent_episode(rewards=(1.0, 2.0, -0.5)):
    episode = SingleAgentEpisode()
    episode.add_env_reset(observation=np.zeros(2), infos={})
    for t, reward in enumerate(rewards):
        episode.add_env_step(observation=np.full(2, t + 1.0), action=t % 2, reward=reward,
                             infos={"hit": t == 1})
    return episode


def test_single_agent_episode_is_one_default_agent():
    episode = single_agent_episode()
    assert kind_of(episode) == "single" and starts_at_reset(episode)
    (agent, step), = last_step(episode).items()
    assert agent == DEFAULT_AGENT_ID and step.reward == -0.5 and step.action == 0
    assert np.array_equal(step.obs, [3.0, 3.0]) and step.info == {"hit": False}
    assert agent_returns(episode) == {DEFAULT_AGENT_ID: 2.5}
    assert agent_rewards(episode) == {DEFAULT_AGENT_ID: [1.0, 2.0, -0.5]}
    (chunk,) = agent_chunks(episode)
    assert (chunk.agent_id, chunk.module_id, chunk.steps) == (DEFAULT_AGENT_ID,
                                                              "default_policy", 3)


def test_chunks_of_one_episode_add_up():
    first = single_agent_episode((1.0, 1.0))
    second = first.cut()
    second.add_env_step(observation=np.zeros(2), action=1, reward=5.0, infos={},
                        terminated=True)
    assert not starts_at_reset(second)
    assert agent_returns(second, prev_chunks=[first]) == {DEFAULT_AGENT_ID: 7.0}
    assert agent_rewards(second, prev_chunks=[first]) == {DEFAULT_AGENT_ID: [1.0, 1.0, 5.0]}


def turn_based_episode():
    """p1 moves, then p2, then p1 wins: rewards arrive while the other player waits."""
    episode = MultiAgentEpisode(agent_to_module_mapping_fn=lambda aid, ep: f"m_{aid}")
    episode.add_env_reset(observations={"p1": 0}, infos={"p1": {}})
    episode.add_env_step(observations={"p2": 1}, actions={"p1": 5},
                         rewards={"p1": 0.5, "p2": 0.0}, infos={"p2": {"turn": 1}})
    episode.add_env_step(observations={"p1": 2}, actions={"p2": 3},
                         rewards={"p1": -1.0, "p2": 1.0}, infos={"p1": {"turn": 2}})
    episode.add_env_step(observations={"p1": 3, "p2": 3}, actions={"p1": 1},
                         rewards={"p1": 2.0, "p2": -2.0}, infos={},
                         terminateds={"__all__": True})
    return episode


def test_turn_based_steps_name_only_the_agents_that_took_part():
    episode = turn_based_episode()
    assert kind_of(episode) == "multi"
    steps = last_step(episode)
    assert set(steps) == {"p1", "p2"}
    assert steps["p1"].action == 1 and steps["p2"].action is None
    # Returns and rewards as RLlib trains on them, hanging rewards included.
    assert agent_returns(episode) == {"p1": 1.5, "p2": -1.0}
    assert sum(agent_rewards(episode)["p1"]) == 1.5
    assert {c.agent_id: c.module_id for c in agent_chunks(episode)} == {"p1": "m_p1",
                                                                       "p2": "m_p2"}


def test_episode_kind_rejects_other_objects():
    with pytest.raises(TypeError, match="Not an RLlib episode: dict"):
        kind_of({})


class Declared:
    ACTION_NAMES = ("left", "right")
    INFO_EVENTS = ("crash",)
    possible_agents = ("a", "b")


def test_env_metadata_is_read_from_what_the_env_declares():
    assert action_names(Declared, gym.spaces.Discrete(2)) == ("left", "right")
    assert action_names(Declared, gym.spaces.Discrete(3)) is None  # names do not fit
    assert action_names("CartPole-v1", gym.spaces.Discrete(2)) is None
    assert info_events(Declared) == ("crash",) and info_events("CartPole-v1") is None
    assert declared_agents(Declared) == ("a", "b") and declared_agents(object) is None


def test_agent_spaces_of_a_gymnasium_env_name_one_default_agent():
    env = gym.make("CartPole-v1")
    ((agent, (obs_space, act_space)),) = agent_spaces(env).items()
    assert agent == DEFAULT_AGENT_ID and act_space == gym.spaces.Discrete(2)
    assert obs_space.shape == (4,)


@pytest.mark.parametrize("result, expected", [
    ({"learners": {"default_policy": {"qf_loss": 0.5, "td_error_mean": 0.1, "qf_mean": 3.0},
                   "__all_modules__": {"total_loss": 9.0}}},
     {"q_loss": ("qf_loss", 0.5), "td_error_mean": ("td_error_mean", 0.1),
      "q_mean": ("qf_mean", 3.0)}),
    ({"learners": {"p": {"pi_loss": -0.2, "vf_loss": 1.5, "total_loss": 1.3}}},
     {"policy_loss": ("pi_loss", -0.2), "value_loss": ("vf_loss", 1.5),
      "total_loss": ("total_loss", 1.3)}),
    ({"learners": {"p": {"alpha_value": 0.2, "policy_loss": 1.0, "qf_loss": 2.0,
                         "mean_IS": 1.1}}},
     {"alpha": ("alpha_value", 0.2), "importance_ratio_mean": ("mean_IS", 1.1)}),
    ({"info": {"learner": {"pol": {"learner_stats": {"kl": float("inf"), "cur_lr": 1e-3},
                                   "mean_td_error": 0.3}}}},
     {"kl": ("kl", float("inf")), "lr": ("cur_lr", 1e-3),
      "td_error_mean": ("mean_td_error", 0.3)}),
])
def test_learner_stats_are_normalised_per_family_and_stack(result, expected):
    (stats,) = learner_stats(result).values()
    for name, (raw, value) in expected.items():
        assert stats[name].raw_key == raw
        assert stats[name].value == value or (math.isinf(value) and math.isinf(stats[name].value))


def test_main_loss_falls_back_to_the_q_loss():
    (stats,) = learner_stats({"learners": {"d": {"qf_loss": 0.5}}}).values()
    assert main_loss(stats).raw_key == "qf_loss"


def test_per_agent_returns_read_single_and_multi_agent_runners():
    single = {"env_runners": {"agent_episode_return_mean": {"default_agent": 20.0}}}
    multi = {"env_runners": {"agent_episode_returns_mean": {"a": 1.0, "b": float("nan")}}}
    old = {"env_runners": {"policy_reward_mean": {"pol1": 3.0}}}
    assert per_agent_returns(single) == {"default_agent": 20.0}
    assert per_agent_returns(multi) == {"a": 1.0}
    assert per_agent_returns(old) == {"pol1": 3.0}


def test_the_env_of_a_single_agent_algorithm_is_the_users_env_not_rllibs_vector_env():
    """RLlib's SingleAgentEnvRunner wraps its SyncVectorEnv in gymnasium's DictInfoToList,
    which does not pass ``envs`` on: the sub-envs are read from under it, so env_of (used
    by inspect and explain) gives the user's CartPole with its unbatched spaces."""
    from ray.rllib.algorithms.ppo import PPOConfig

    from rldebug.shapes.env_meta import env_of, sub_envs

    algo = (PPOConfig().environment("CartPole-v1")
            .env_runners(num_env_runners=0, num_envs_per_env_runner=2)).build_algo()
    try:
        runner_env = algo.env_runner.env
        assert not hasattr(runner_env, "envs")  # the wrapper this test is about
        envs = sub_envs(runner_env)
        assert len(envs) == 2 and all(type(e.unwrapped).__name__ == "CartPoleEnv" for e in envs)
        env = env_of(algo)
        assert type(env).__name__ == "CartPoleEnv"
        [(observation_space, action_space)] = agent_spaces(env).values()
        assert observation_space.shape == (4,) and action_space.n == 2
    finally:
        algo.stop()


@pytest.mark.parametrize("space, value, said", [
    # a float32 just past its bound reads as it is, not rounded onto the bound
    (gym.spaces.Box(-1, 1, (2,)), np.array([0, 1.0000001], np.float32),
     "index 1 is 1.0000001 (bounds -1..1)"),
    (gym.spaces.MultiDiscrete([5000]), np.array([5000]), "index 0 is 5000 (bounds 0..4999)"),
    (gym.spaces.Box(0, 1, ()), np.array(5.0, np.float32), "the value is 5 (bounds 0..1)"),
    (gym.spaces.Box(0, 1, (20, 20)), np.full((20, 20), np.nan, np.float32),
     "values of shape (20, 20) outside the space's bounds: index (0, 0) is nan"),
])
def test_a_value_outside_its_space_names_the_entry_and_its_bounds(space, value, said):
    from rldebug.shapes.spaces import why_not_in

    assert said in why_not_in(value, space)
