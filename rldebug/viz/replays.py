"""``replay(algo, seed=...)``: one episode of the trained agents, frame by frame.

The env is a fresh instance from the algorithm's env creator; actions come from
:func:`rldebug.explain` (greedy, or sampled with ``explore=True``). Frames are
the env's own RGB render; each step records rewards and the events named in
``infos`` (by default the ``INFO_EVENTS`` the env class declares). Single-agent
envs replay as one agent, ``default_agent``; Box actions are recorded as the env
receives them.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rldebug.usage import UsageError, UsageTypeError, check_bool, check_seed, path_argument
from rldebug.viz.figures import new_figure


@dataclass
class Replay:
    """An episode: ``frames[0]`` is the reset, ``frames[t]`` follows step t."""

    seed: int
    explore: bool
    frames: list[np.ndarray]
    actions: list[dict] = field(default_factory=list)
    rewards: list[dict] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)  # agent -> true event flags in infos
    action_names: tuple | None = None
    gif_path: Path | None = None

    @property
    def returns(self) -> dict:
        """Sum of rewards per agent."""
        totals: dict = {}
        for step in self.rewards:
            for aid, r in step.items():
                totals[aid] = totals.get(aid, 0.0) + float(r)
        return totals

    def caption(self, t: int) -> str:
        """What happened in step ``t`` (0: the reset)."""
        if t == 0:
            return f"reset (seed {self.seed})"
        parts = []
        for aid, r in self.rewards[t - 1].items():
            action = self.actions[t - 1].get(aid)
            name = (self.action_names[action] if self.action_names and isinstance(action, int)
                    else action)
            events = ",".join(self.events[t - 1].get(aid, []))
            parts.append(f"{aid} {name} {float(r):+.1f}" + (f" [{events}]" if events else ""))
        return f"step {t}: " + "; ".join(parts)

    def animation(self, fps: int = 4):
        """A matplotlib ``FuncAnimation`` of the frames with per-step captions."""
        from matplotlib.animation import FuncAnimation

        height, width = self.frames[0].shape[:2]
        fig = new_figure((max(4.0, width / 80), height / 80 + 0.5))
        ax = fig.add_subplot()
        ax.set_axis_off()
        image = ax.imshow(self.frames[0])
        title = ax.set_title(self.caption(0), fontsize=8)

        def show(t):
            image.set_data(self.frames[t])
            title.set_text(self.caption(t))
            return image, title

        return FuncAnimation(fig, show, frames=len(self.frames), interval=1000 / fps,
                             blit=False)

    def to_jshtml(self, fps: int = 4) -> str:
        """An HTML/JavaScript player of the episode."""
        _check_fps(fps, "to_jshtml")
        return self.animation(fps).to_jshtml(fps=fps, default_mode="once")

    def _repr_html_(self) -> str:
        return self.to_jshtml()

    def save_gif(self, path: str | Path, fps: int = 4) -> Path:
        """Write the episode as a GIF (pillow): each frame under its step's caption.

        Drawn with pillow directly: 21 arena frames (400x400) took 0.5 s, against 6.5 s
        when the matplotlib animation was saved with its PillowWriter."""
        _check_fps(fps, "save_gif")
        path = _gif_path(path, "save_gif")
        path.parent.mkdir(parents=True, exist_ok=True)
        images = _captioned_frames(self.frames, [self.caption(t) for t in range(len(self.frames))])
        images[0].save(path, save_all=True, append_images=images[1:],
                       duration=round(1000 / fps), loop=0)
        self.gif_path = path
        return path


def _check_fps(fps, caller: str) -> None:
    if isinstance(fps, bool) or not isinstance(fps, numbers.Real) or not 0 < fps < 1000:
        raise UsageError(f"{caller}(fps=...) must be a number of frames per second, > 0 and "
                         f"< 1000, got {fps!r:.40}.")


def _gif_path(path, caller: str) -> Path:
    """Where a replay's GIF goes: a ``.gif`` file name, not a folder."""
    path = path_argument(path, f"{caller}(path=...)", "the GIF file to write")
    if path.is_dir() or path.suffix.lower() != ".gif":
        raise UsageError(f"{caller}(path=...) writes a GIF: name a .gif file, such as "
                         f"{str((path if path.is_dir() else path.parent) / 'episode.gif')!r}; "
                         f"got {str(path)!r}.")
    return path


# GIF frames: small env frames are scaled up (nearest neighbour) to at least this width,
# so a caption line fits; the caption is wrapped to the frame's width.
_MIN_GIF_WIDTH = 320
_CAPTION_PX = 12


def _captioned_frames(frames: list, captions: list[str]) -> list:
    """The GIF's frames: each env RGB frame under its caption, on white. Every frame gets
    the caption bar of the longest caption: a GIF's frames share the first one's size."""
    import textwrap

    from PIL import Image, ImageDraw, ImageFont

    images = []
    for frame in frames:
        frame = np.asarray(frame)
        if frame.dtype.kind == "f":  # matplotlib's convention for float images: 0..1
            frame = np.clip(frame, 0.0, 1.0) * 255
        image = Image.fromarray(np.ascontiguousarray(frame, dtype=np.uint8))
        scale = max(1, -(-_MIN_GIF_WIDTH // image.width))  # ceil
        if scale > 1:
            image = image.resize((image.width * scale, image.height * scale), Image.NEAREST)
        images.append(image)
    chars = max(20, int(max(image.width for image in images) / (0.6 * _CAPTION_PX)))
    wrapped = [textwrap.wrap(caption, chars) or [""] for caption in captions]
    bar = max(len(lines) for lines in wrapped) * (_CAPTION_PX + 3) + 6
    font = ImageFont.load_default(size=_CAPTION_PX)
    canvases = []
    for image, lines in zip(images, wrapped, strict=True):
        canvas = Image.new("RGB", (image.width, image.height + bar), "white")
        canvas.paste(image, (0, bar))
        draw = ImageDraw.Draw(canvas)
        for i, line in enumerate(lines):
            draw.text((4, 3 + i * (_CAPTION_PX + 3)), line, fill="black", font=font)
        canvases.append(canvas)
    return canvases


def _make_env(algo):
    from ray.rllib.env.env_context import EnvContext

    return algo.env_creator(EnvContext(dict(algo.config.env_config), worker_index=0))


def _rgb(env) -> np.ndarray:
    inner = env.env if isinstance(env, _OneAgent) else env
    name = type(getattr(inner, "unwrapped", inner)).__name__
    try:
        frame = env.render()
    except NotImplementedError:
        raise UsageError(
            f"replay needs an env that renders: {name} has no render() (its "
            "gymnasium base raises NotImplementedError). Give the env a render() that "
            "returns an RGB array (H, W, 3) when created with render_mode='rgb_array'.") \
            from None
    except Exception as err:  # e.g. RLlib's make_multi_agent envs render agent 0's env
        raise UsageError(
            f"replay needs env.render() to return an RGB array (H, W, 3); {name}.render() "
            f"raised {type(err).__name__}: {err}. Create the env with render_mode="
            "'rgb_array' if it takes one, or give it a render() that returns the array."
        ) from err
    if not (isinstance(frame, np.ndarray) and frame.ndim == 3 and frame.shape[-1] == 3):
        raise UsageError(
            f"replay needs env.render() to return an RGB array (H, W, 3); "
            f"{name}.render() returned {type(frame).__name__}"
            f"{getattr(frame, 'shape', '')}. Create the env with render_mode='rgb_array' "
            f"(for a gymnasium id: env_config={{'render_mode': 'rgb_array'}}; the arena's "
            f"default).")
    return frame


def _events(info: dict, keys: tuple) -> list[str]:
    return [k for k in keys if bool((info or {}).get(k, False))]


def replay(algo, seed: int = 0, path: str | Path | None = None, explore: bool = False,
           max_steps: int | None = None, fps: int = 4,
           event_keys: tuple | None = None) -> Replay:
    """Play one episode with the algorithm's policies and record it.

    :param algo: a built Algorithm (either API stack) whose env renders RGB arrays.
    :param seed: the env's reset seed (and the action-sampling seed with ``explore``).
    :param path: also save the episode as a GIF there (pillow).
    :param explore: sample actions from the exploration distribution instead of greedy.
    :param max_steps: stop early after this many steps (default: the episode's end).
    :param fps: frames per second of the animation and GIF.
    :param event_keys: ``infos`` flags shown as events when true (default: the env
        class's ``INFO_EVENTS``, none if it declares none).
    :returns: a :class:`Replay` (frames, actions, rewards, events); in a notebook it
        shows as an HTML animation.
    """
    from rldebug.inspection import explain
    from rldebug.inspection._common import require_algorithm
    from rldebug.shapes.env_meta import action_names, info_events, is_multi_agent_env

    require_algorithm(algo, "replay")
    check_seed(seed, "replay(seed=...)", allow_none=False)
    explore = check_bool(explore, "replay(explore=...)")
    if max_steps is not None and (isinstance(max_steps, bool) or
                                  not isinstance(max_steps, numbers.Integral) or max_steps < 1):
        raise UsageError(f"replay(max_steps=...) must be None (the whole episode) or an int "
                         f">= 1, got {max_steps!r:.40}.")
    if event_keys is not None and (isinstance(event_keys, str) or not all(
            isinstance(k, str) for k in event_keys)):
        raise UsageTypeError(f"replay(event_keys=...) takes a tuple of info keys, e.g. "
                             f"('collision',), got {event_keys!r:.60}.")
    _check_fps(fps, "replay")
    if path is not None:
        _gif_path(path, "replay")  # before the episode is played
    env = _make_env(algo)
    if event_keys is None:
        event_keys = info_events(algo.config.env) or ()
    env = env if is_multi_agent_env(env) else _OneAgent(env)
    obs, _ = env.reset(seed=seed)
    record = Replay(seed=seed, explore=explore, frames=[_rgb(env)])
    step = 0
    while max_steps is None or step < max_steps:
        actions = {}
        for aid, agent_obs in obs.items():
            e = explain(algo, agent_obs, agent_id=aid, seed=seed * 100_003 + step)
            actions[aid] = _plain(e.env_action if explore else _greedy_for_env(algo, e))
            record.action_names = record.action_names or e.action_names
        obs, rewards, terminateds, truncateds, infos = env.step(actions)
        step += 1
        record.actions.append(actions)
        record.rewards.append({aid: float(r) for aid, r in rewards.items()})
        record.events.append({aid: _events(infos.get(aid), event_keys) for aid in rewards})
        record.frames.append(_rgb(env))
        if terminateds.get("__all__") or truncateds.get("__all__"):
            break
    if record.action_names is None:
        record.action_names = action_names(algo.config.env, env.action_space)
    if path is not None:
        record.save_gif(path, fps=fps)
    return record


def _greedy_for_env(algo, explanation):
    """The greedy action as the env receives it (Box actions unsquashed or clipped)."""
    from rldebug.shapes.outputs import env_action

    space = algo.get_module(explanation.module_id).action_space \
        if algo.config.enable_rl_module_and_learner \
        else algo.get_policy(explanation.module_id).action_space
    return env_action(np.asarray([explanation.greedy_action]), space, algo.config)[0]


def _plain(action):
    """An int for a discrete action, a list for a vector one (what the record keeps)."""
    array = np.asarray(action)
    return array.item() if array.ndim == 0 else array


class _OneAgent:
    """A gymnasium env seen through the multi-agent dicts of the replay loop."""

    def __init__(self, env):
        from rldebug.shapes.episodes import DEFAULT_AGENT_ID

        self.env, self.agent = env, DEFAULT_AGENT_ID
        self.action_space = env.action_space

    def reset(self, *, seed=None):
        obs, info = self.env.reset(seed=seed)
        return {self.agent: obs}, {self.agent: info}

    def step(self, actions):
        obs, reward, terminated, truncated, info = self.env.step(actions[self.agent])
        return ({self.agent: obs}, {self.agent: reward}, {"__all__": terminated},
                {"__all__": truncated}, {self.agent: info})

    def render(self):
        return self.env.render()
