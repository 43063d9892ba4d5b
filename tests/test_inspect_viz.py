"""Pictures: probability bars, policy map, explorer and replay produce real images."""

import numpy as np
import pytest
from inspect_algos import trained_algo
from PIL import Image

from rldebug.inspection import explain
from rldebug.viz import (
    explorer,
    figure_to_array,
    plot_action_probs,
    plot_policy_map,
    policy_map,
    replay,
)


@pytest.fixture
def algo(api_stack):
    return trained_algo(api_stack)


def assert_not_blank(image: np.ndarray, min_colours: int = 20):
    assert image.ndim == 3 and image.shape[-1] == 3 and image.dtype == np.uint8
    assert image.std() > 10
    assert len(np.unique(image.reshape(-1, 3), axis=0)) >= min_colours


def test_probability_bars(algo):
    e = explain(algo, np.array([0, 99]), agent_id="agent1")
    image = figure_to_array(plot_action_probs(e))
    assert image.shape[0] > 100 and image.shape[1] > 100
    assert_not_blank(image)
    with pytest.raises(ValueError, match=r"Pass explanation\[i\]"):
        plot_action_probs(explain(algo, [[0, 99], [1, 99]], agent_id="agent1"))


def test_policy_map_agrees_with_explain(algo):
    pmap = policy_map(algo, "agent2", other_position=(4, 6))
    assert pmap.greedy_action.shape == pmap.entropy.shape == pmap.value.shape == (10, 10)
    assert pmap.greedy_action[4, 6] == -1 and np.isnan(pmap.entropy[4, 6])
    e = explain(algo, np.array([2 * 10 + 3, 4 * 10 + 6]), agent_id="agent2")
    assert pmap.greedy_action[2, 3] == int(e.greedy_action)
    assert np.allclose(pmap.probs[2, 3], e.probs, atol=1e-6)
    for background in ("entropy", "value"):
        image = figure_to_array(plot_policy_map(pmap, background=background))
        assert_not_blank(image, min_colours=50)


def test_policy_map_bad_input(algo):
    with pytest.raises(ValueError, match=r"outside the 10x10 grid"):
        policy_map(algo, "agent1", other_position=(10, 0))
    with pytest.raises(ValueError, match=r"Unknown agent id 'agent3'"):
        policy_map(algo, "agent3")
    with pytest.raises(ValueError, match=r"background must be one of"):
        plot_policy_map(policy_map(algo), background="advantage")
    for position in ((1.7, 2.9), "12"):  # were truncated to (1, 2) without a word
        with pytest.raises(ValueError, match=r"must be a \(row, col\) pair of ints"):
            policy_map(algo, "agent1", other_position=position)


def test_explorer_moves_agents_and_updates_both_policies(algo):
    view = explorer(algo)
    assert view.explanations["agent1"].observation.tolist() == [0, 99]
    view.set_positions(agent1=(2, 3), agent2=(5, 5))
    assert view.explanations["agent1"].observation.tolist() == [23, 55]
    assert view.explanations["agent2"].observation.tolist() == [55, 23]
    view.sliders["agent2"][1].value = 7  # a slider move redraws too
    assert view.explanations["agent1"].observation.tolist() == [23, 57]
    assert_not_blank(figure_to_array(view.figure))
    with pytest.raises(ValueError, match=r"outside the 10x10 grid"):
        view.set_positions(agent1=(0, 12))
    with pytest.raises(ValueError, match=r"the agents would share a cell"):
        view.set_positions(agent1=(5, 7))  # agent2's cell: the arena never allows it
    assert view.positions() == {"agent1": (2, 3), "agent2": (5, 7)}  # nothing moved


def test_replay_records_an_episode_and_saves_a_gif(algo, tmp_path):
    path = tmp_path / "episode.gif"
    episode = replay(algo, seed=3, path=path)
    steps = len(episode.rewards)
    assert steps == 20  # the tiny arena's max_timesteps
    assert len(episode.frames) == steps + 1 and episode.frames[0].shape == (400, 400, 3)
    assert_not_blank(episode.frames[-1], min_colours=3)
    assert set(episode.returns) == {"agent1", "agent2"}
    assert all(set(events) == {"agent1", "agent2"} for events in episode.events)
    with Image.open(path) as gif:
        assert gif.n_frames == steps + 1
        gif.seek(steps)
        last = np.asarray(gif.convert("RGB")).astype(int)
    bar = last.shape[0] - 400  # the env's last frame, under a caption
    assert last.shape[1] == 400 and 0 < bar < 60
    assert (np.abs(last[bar:] - episode.frames[-1]).max(axis=-1) <= 8).mean() > 0.99
    assert (last[:bar] < 100).all(axis=-1).sum() > 50  # the caption's dark text on white
    # Greedy replays are deterministic for a seed.
    assert replay(algo, seed=3, max_steps=5).actions == episode.actions[:5]
    html = episode._repr_html_()
    assert "<script" in html and "data:image/png;base64" in html


def test_a_gif_keeps_every_frame_whole_when_a_later_caption_wraps_longer(tmp_path):
    from rldebug.viz.replays import Replay

    frames = [np.full((100, 100, 3), 200, np.uint8)] * 3
    long_agent = "agent_with_a_long_name_" * 4
    episode = Replay(seed=0, explore=False, frames=frames,
                     actions=[{"a": 0}, {long_agent: 1}], rewards=[{"a": 0.0}, {long_agent: 1.0}],
                     events=[{}, {}])
    with Image.open(episode.save_gif(tmp_path / "wrapped.gif")) as gif:
        sizes, bottoms = set(), []
        for t in range(gif.n_frames):
            gif.seek(t)
            image = np.asarray(gif.convert("RGB"))
            sizes.add(image.shape)
            bottoms.append(bool((image[-400:] == 200).all()))  # the 100 px frame, scaled x4
    assert len(sizes) == 1 and all(bottoms)


def test_pictures_refuse_what_they_cannot_draw(algo, tmp_path):
    """Each argument a user can get wrong is named before any work (these raised
    AttributeError, ZeroDivisionError, or gymnasium's and pillow's errors)."""
    pmap = policy_map(algo)
    cases = [
        (lambda: policy_map("algo"), r"expects a built RLlib Algorithm"),
        (lambda: explorer(None), r"expects a built RLlib Algorithm"),
        (lambda: plot_policy_map(algo), r"draws what rldebug.policy_map\(algo\) returns"),
        (lambda: plot_policy_map(pmap, ax="x"), r"takes a matplotlib Axes"),
        (lambda: plot_action_probs(pmap), r"draws what rldebug.explain\(algo, obs\) returns"),
        (lambda: replay(None), r"expects a built RLlib Algorithm"),
        (lambda: replay(algo, seed=-1), r"replay\(seed=...\) must be an int in \[0, 2\*\*63\)"),
        (lambda: replay(algo, fps=0), r"replay\(fps=...\) must be a number of frames"),
        (lambda: replay(algo, max_steps=-5), r"max_steps=...\) must be None .* or an int >= 1"),
        (lambda: replay(algo, explore="x"), r"explore=...\) must be True or False"),
        (lambda: replay(algo, event_keys="collision"), r"takes a tuple of info keys"),
        (lambda: replay(algo, path=tmp_path / "episode.txt"), r"name a \.gif file"),
        (lambda: replay(algo, path=tmp_path), r"name a \.gif file, such as .*episode.gif"),
    ]
    for call, message in cases:
        with pytest.raises(ValueError, match=message):
            call()
    assert list(tmp_path.iterdir()) == []  # refused before anything was played or written
    episode = replay(algo, max_steps=np.int64(2), explore=np.True_)  # numpy's are taken
    assert len(episode.actions) == 2
    with pytest.raises(ValueError, match=r"to_jshtml\(fps=...\) must be"):
        episode.to_jshtml(fps=0)
    with pytest.raises(ValueError, match=r"save_gif\(path=...\) writes a GIF"):
        episode.save_gif(tmp_path / "episode.png")
    assert episode.save_gif(tmp_path / "episode.gif", fps=np.int64(4)).is_file()


@pytest.mark.parametrize("render", [None, "raises"])
def test_replay_of_an_env_that_does_not_render_says_so(render):
    """RLlib's make_multi_agent envs render their first env, which may raise anything
    (MultiAgentCartPole without render_mode: AttributeError from inside RLlib)."""
    import gymnasium as gym
    from ray.rllib.algorithms.ppo import PPOConfig

    class NoPictures(gym.Env):
        observation_space = gym.spaces.Box(-1, 1, (2,))
        action_space = gym.spaces.Discrete(2)

        def __init__(self, config=None):
            super().__init__()

        def reset(self, *, seed=None, options=None):
            return self.observation_space.sample(), {}

        def step(self, action):
            return self.observation_space.sample(), 0.0, True, False, {}

    class BrokenPictures(NoPictures):
        def render(self):
            return self.screen.shape  # no screen without render_mode

    env = NoPictures if render is None else BrokenPictures
    algo = (PPOConfig().environment(env).env_runners(num_env_runners=0)
            .learners(num_learners=0).build_algo())
    try:
        with pytest.raises(ValueError, match=(
                r"replay needs an env that renders: NoPictures has no render\(\)"
                if render is None else r"BrokenPictures.render\(\) raised AttributeError: "
                                       r"'BrokenPictures' object has no attribute 'screen'")):
            replay(algo)
    finally:
        algo.stop()
