"""MultiAgentArena keeps the tutorial's semantics, on the gymnasium API."""

import numpy as np
import pytest

from rldebug.arena import MultiAgentArena


class FixedCoin:
    """Stands in for the env's generator: random() decides who moves first."""

    def __init__(self, agent1_first: bool):
        self.value = 0.9 if agent1_first else 0.1

    def random(self):
        return self.value


def arena_at(agent1, agent2, agent1_first=True, **config):
    env = MultiAgentArena(config or None)
    env.reset(seed=0)
    env.agent1_pos = list(agent1)
    env.agent2_pos = list(agent2)
    env.np_random = FixedCoin(agent1_first)
    return env


def step(env, a1, a2):
    return env.step({"agent1": a1, "agent2": a2})


UP, RIGHT, DOWN, LEFT = 0, 1, 2, 3


def test_reset_positions_and_observations():
    env = MultiAgentArena()
    obs, infos = env.reset(seed=1)
    assert env.agent1_pos == [0, 0] and env.agent2_pos == [9, 9]
    np.testing.assert_array_equal(obs["agent1"], [0, 99])
    np.testing.assert_array_equal(obs["agent2"], [99, 0])
    assert set(infos) == {"agent1", "agent2"}


def test_new_field_rewards_agent1_and_charges_agent2():
    env = arena_at((0, 0), (9, 9))
    obs, rewards, term, trunc, infos = step(env, RIGHT, UP)
    assert rewards == {"agent1": 1.0, "agent2": -0.1}
    assert infos["agent1"]["new_field"] and not infos["agent1"]["collision"]
    np.testing.assert_array_equal(obs["agent1"], [1, 89])


def test_visited_field_costs_half_and_start_field_is_not_premarked():
    env = arena_at((0, 0), (9, 9))
    assert step(env, RIGHT, UP)[1]["agent1"] == 1.0   # (0,1) new
    assert step(env, LEFT, UP)[1]["agent1"] == 1.0    # (0,0): the start is not pre-marked
    rewards = step(env, RIGHT, UP)[1]                 # (0,1) again
    assert rewards == {"agent1": -0.5, "agent2": -0.1}
    assert env.agent1_visited == {(0, 0), (0, 1)}


def test_walls_clamp_both_agents():
    env = arena_at((0, 0), (9, 9))
    step(env, UP, DOWN)
    assert env.agent1_pos == [0, 0] and env.agent2_pos == [9, 9]
    step(env, LEFT, RIGHT)
    assert env.agent1_pos == [0, 0] and env.agent2_pos == [9, 9]
    # Clamped in place: (0,0) counted as new once, then it is a visited field.
    assert step(env, UP, DOWN)[1]["agent1"] == -0.5


@pytest.mark.parametrize("agent1_first", [True, False])
def test_agent1_running_into_agent2_is_blocked_collision(agent1_first):
    env = arena_at((0, 0), (0, 1), agent1_first=agent1_first)
    obs, rewards, *_, infos = step(env, RIGHT, DOWN if not agent1_first else RIGHT)
    if agent1_first:
        assert rewards == {"agent1": -1.0, "agent2": 1.0}
        assert env.agent1_pos == [0, 0]
        assert infos["agent1"]["collision"] and infos["agent2"]["collision"]
    else:
        # agent2 stepped away first, so agent1 moves into the freed field.
        assert rewards == {"agent1": 1.0, "agent2": -0.1}
        assert env.agent1_pos == [0, 1]


@pytest.mark.parametrize("agent1_first", [True, False])
def test_agent2_bumping_into_agent1_is_collision(agent1_first):
    env = arena_at((5, 5), (5, 6), agent1_first=agent1_first)
    env.agent1_visited = {(5, 5), (4, 5)}
    rewards = step(env, UP, LEFT)[1]
    if agent1_first:
        # agent1 left (5,5) first: agent2 walks in freely; agent1 re-entered a visited field.
        assert rewards == {"agent1": -0.5, "agent2": -0.1}
        assert env.agent2_pos == [5, 5]
    else:
        assert rewards == {"agent1": -1.0, "agent2": 1.0}
        assert env.agent2_pos == [5, 6] and env.agent1_pos == [4, 5]


def test_collision_outranks_new_field():
    # agent1 moves first onto the new field (1,1), then agent2 (2,1) bumps into it.
    env = arena_at((1, 0), (2, 1), agent1_first=True)
    obs, rewards, *_, infos = step(env, RIGHT, UP)
    assert rewards == {"agent1": -1.0, "agent2": 1.0}
    assert infos["agent1"]["new_field"] and infos["agent1"]["collision"]
    assert (1, 1) in env.agent1_visited


def test_episode_is_truncated_after_max_timesteps():
    env = MultiAgentArena({"max_timesteps": 100})
    env.reset(seed=3)
    for t in range(1, 101):
        _, _, term, trunc, _ = step(env, t % 4, (t + 1) % 4)
        assert term["__all__"] is False
        assert trunc["__all__"] is (t == 100)
        assert trunc["agent1"] is trunc["agent2"] is (t == 100)


def rollout(seed, steps=60):
    env = MultiAgentArena()
    actions = np.random.default_rng(123)
    obs, _ = env.reset(seed=seed)
    trace = [obs]
    for _ in range(steps):
        out = step(env, int(actions.integers(4)), int(actions.integers(4)))
        trace.append(out[:2] + ({a: i["moved_first"] for a, i in out[4].items()},))
    return trace


def test_same_seed_same_episode_and_different_seed_differs():
    assert repr(rollout(7)) == repr(rollout(7))
    assert repr(rollout(7)) != repr(rollout(8))


def test_observations_stay_inside_their_space_and_dtype():
    env = MultiAgentArena({"width": 4, "height": 3})
    rng = np.random.default_rng(0)
    obs, _ = env.reset(seed=0)
    for _ in range(200):
        for aid, o in obs.items():
            assert env.observation_spaces[aid].contains(o), (aid, o)
        obs, _, _, truncated, _ = step(env, int(rng.integers(4)), int(rng.integers(4)))
        if truncated["__all__"]:
            obs, _ = env.reset()


def test_step_needs_a_reset_first_and_after_the_episode_ends():
    from gymnasium.error import ResetNeeded

    env = MultiAgentArena({"max_timesteps": 2})
    with pytest.raises(ResetNeeded, match="before reset"):
        step(env, UP, UP)
    env.reset(seed=0)
    step(env, UP, UP)
    *_, truncated, _ = step(env, UP, UP)
    assert truncated["__all__"]
    with pytest.raises(ResetNeeded, match="call env.reset"):
        step(env, UP, UP)
    env.reset()
    step(env, UP, UP)  # a new episode steps again


@pytest.mark.parametrize("config", ["width=5", ["width", 5], 5])
def test_a_config_that_is_not_a_dict_is_rejected(config):
    with pytest.raises(TypeError, match=r"config as a dict, e.g. MultiAgentArena\(\{'width': 5\}\)"):
        MultiAgentArena(config)


def test_rllib_accepts_the_env():
    from ray.rllib.utils.pre_checks.env import check_multiagent_environments

    check_multiagent_environments(MultiAgentArena())


def test_render_rgb_and_ansi():
    env = MultiAgentArena({"width": 5, "height": 4})
    env.reset(seed=0)
    step(env, RIGHT, UP)
    image = env.render()
    assert image.shape == (4 * 40, 5 * 40, 3) and image.dtype == np.uint8
    assert len(np.unique(image.reshape(-1, 3), axis=0)) >= 4  # grid, visited, two agents
    text = MultiAgentArena({"render_mode": "ansi"})
    text.reset(seed=0)
    grid = text.render()
    assert grid.splitlines()[0].startswith("1") and grid.splitlines()[9].endswith("2")


@pytest.mark.parametrize("actions, match", [
    ({"agent1": 0}, "missing the action for 'agent2'"),
    ({"agent1": 4, "agent2": 0}, "'agent1' is 4, outside Discrete"),
    ({"agent1": 0, "agent2": -1}, "'agent2' is -1"),
    ({"agent1": 1.0, "agent2": 0}, "must be an int"),
    ({"agent1": "up", "agent2": 0}, "must be an int"),
    ({"agent1": 0, "agent2": 0, "agent3": 1}, "unknown agent"),
    ([0, 1], "expects a dict"),
])
def test_bad_actions_name_agent_and_value(actions, match):
    env = MultiAgentArena()
    env.reset(seed=0)
    with pytest.raises(ValueError, match=match):
        env.step(actions)


def test_numpy_integer_actions_are_accepted():
    env = MultiAgentArena()
    env.reset(seed=0)
    env.step({"agent1": np.int64(1), "agent2": np.array(3)})


@pytest.mark.parametrize("config, match", [
    ({"widht": 5}, r"unknown config key\(s\) \['widht'\]. Valid keys: width"),
    ({"width": 1}, "'width' must be an int >= 2, got 1"),
    ({"height": 0}, "'height' must be an int >= 2"),
    ({"max_timesteps": 0}, "'max_timesteps' must be an int >= 1, got 0"),
    ({"width": 5.5}, "'width' must be an int >= 2, got 5.5"),
    ({"render_mode": "human"}, "render_mode"),
])
def test_bad_config_lists_valid_keys_and_ranges(config, match):
    with pytest.raises(ValueError, match=match):
        MultiAgentArena(config)
