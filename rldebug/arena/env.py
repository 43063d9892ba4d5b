"""MultiAgentArena: the tutorial's two-agent grid world on RLlib 2.60's MultiAgentEnv.

agent1 explores a grid (+1 for a field it has not visited this episode, -0.5
otherwise, -1 when a collision happens); agent2 tries to block it (+1 for a
collision, -0.1 otherwise). Each step a coin flip decides which agent moves
first. Episodes are truncated after ``max_timesteps`` steps.

Differences from the 2021 original, all for debuggability: every random draw
comes from the env's own seeded generator (same seed, same episode), ``infos``
name each step's events per agent and what its reward is made of
(``reward_terms``: agent1 ``new_field``/``idle``/``collision``, agent2
``blocked``/``idle``; see :mod:`rldebug.shapes.reward_terms`), and ``render()`` returns an RGB array or a
text grid instead of opening a window.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.error import ResetNeeded
from ray.rllib.env.multi_agent_env import MultiAgentEnv

from rldebug.usage import UsageError, UsageTypeError

AGENTS = ("agent1", "agent2")
ACTION_NAMES = ("up", "right", "down", "left")
# (row, column) change per action: 0=up, 1=right, 2=down, 3=left.
_MOVES = {0: (-1, 0), 1: (0, 1), 2: (1, 0), 3: (0, -1)}

DEFAULT_CONFIG = {"width": 10, "height": 10, "max_timesteps": 100, "render_mode": "rgb_array"}
_CONFIG_RULES = {
    "width": "an int >= 2",
    "height": "an int >= 2",
    "max_timesteps": "an int >= 1",
    "render_mode": "'rgb_array' or 'ansi'",
}
RENDER_MODES = ("rgb_array", "ansi")
CELL_PIXELS = 40

# Colours of the RGB rendering.
_BACKGROUND = (20, 20, 20)
_VISITED = (40, 130, 40)
_GRID = (90, 90, 90)
_AGENT1 = (0, 205, 25)
_AGENT2 = (200, 30, 30)


def _validated_config(config: dict | None) -> dict:
    """Merge ``config`` over the defaults, rejecting unknown keys and bad values."""
    if config is not None and not isinstance(config, Mapping):
        raise UsageTypeError(
            f"MultiAgentArena takes its config as a dict, e.g. MultiAgentArena({{'width': 5}}) "
            f"(RLlib passes env_config), got {type(config).__name__}: {config!r:.80}.")
    config = dict(config or {})
    unknown = sorted(set(config) - set(DEFAULT_CONFIG))
    if unknown:
        valid = ", ".join(f"{k} ({rule})" for k, rule in _CONFIG_RULES.items())
        raise UsageError(
            f"MultiAgentArena got unknown config key(s) {unknown}. Valid keys: {valid}."
        )
    merged = {**DEFAULT_CONFIG, **config}
    for key, minimum in (("width", 2), ("height", 2), ("max_timesteps", 1)):
        value = merged[key]
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
            raise UsageError(
                f"MultiAgentArena config {key!r} must be {_CONFIG_RULES[key]}, got {value!r}."
            )
        merged[key] = int(value)
    if merged["render_mode"] not in RENDER_MODES:
        raise UsageError(
            f"MultiAgentArena config 'render_mode' must be one of {RENDER_MODES}, "
            f"got {merged['render_mode']!r}."
        )
    return merged


class MultiAgentArena(MultiAgentEnv):
    """A ``height`` x ``width`` grid where agent1 explores and agent2 blocks it.

    :param config: optional dict with ``width``, ``height`` (default 10),
        ``max_timesteps`` (default 100) and ``render_mode`` (``"rgb_array"``
        or ``"ansi"``). RLlib passes its ``env_config`` here.
    """

    metadata = {"render_modes": list(RENDER_MODES)}
    # Declared for rldebug's tools (see rldebug.shapes.env_meta).
    possible_agents = AGENTS
    INFO_EVENTS = ("collision", "new_field")
    ACTION_NAMES = ACTION_NAMES

    def __init__(self, config: dict | None = None):
        settings = _validated_config(config)
        self.width = settings["width"]
        self.height = settings["height"]
        self.max_timesteps = settings["max_timesteps"]
        self.render_mode = settings["render_mode"]

        self.possible_agents = list(AGENTS)
        self.agents = list(AGENTS)
        n_fields = self.width * self.height
        self.observation_spaces = {
            aid: gym.spaces.MultiDiscrete([n_fields, n_fields]) for aid in AGENTS
        }
        self.action_spaces = {aid: gym.spaces.Discrete(4) for aid in AGENTS}
        # Single spaces for tools (and RLlib's old stack) that expect one per env.
        self.observation_space = self.observation_spaces["agent1"]
        self.action_space = self.action_spaces["agent1"]
        super().__init__()

        self.timestep = 0
        self._needs_reset = True
        self.agent1_pos = [0, 0]
        self.agent2_pos = [self.height - 1, self.width - 1]
        self.agent1_visited: set[tuple[int, int]] = set()

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        """Start a new episode; ``seed`` reseeds the env's generator."""
        super().reset(seed=seed, options=options)
        self._needs_reset = False
        self.timestep = 0
        self.agent1_pos = [0, 0]
        self.agent2_pos = [self.height - 1, self.width - 1]
        self.agent1_visited = set()
        infos = {aid: self._info(collision=False, new_field=False, moved_first=None)
                 for aid in AGENTS}
        return self._observations(), infos

    def step(self, action_dict: dict):
        """Move both agents (in coin-flip order) and score the step."""
        if self._needs_reset:
            raise ResetNeeded(
                "MultiAgentArena.step was called before reset() or after the episode ended "
                f"(timestep {self.timestep} of {self.max_timesteps}); call env.reset() first.")
        actions = self._validated_actions(action_dict)
        self.timestep += 1

        agent1_first = bool(self.np_random.random() > 0.5)
        order = ("agent1", "agent2") if agent1_first else ("agent2", "agent1")
        collision = False
        new_field = False
        for aid in order:
            blocked, entered_new = self._move(aid, actions[aid])
            collision |= blocked
            new_field |= entered_new

        if collision:
            rewards = {"agent1": -1.0, "agent2": 1.0}
        elif new_field:
            rewards = {"agent1": 1.0, "agent2": -0.1}
        else:
            rewards = {"agent1": -0.5, "agent2": -0.1}

        truncated = self.timestep >= self.max_timesteps
        self._needs_reset = truncated
        terminateds = {"agent1": False, "agent2": False, "__all__": False}
        truncateds = {"agent1": truncated, "agent2": truncated, "__all__": truncated}
        infos = {
            "agent1": self._info(collision, new_field, moved_first=agent1_first),
            "agent2": self._info(collision, False, moved_first=not agent1_first),
        }
        # What each reward is made of (rldebug.shapes.reward_terms); the terms sum to it.
        infos["agent1"]["reward_terms"] = {
            "new_field": 1.0 if new_field and not collision else 0.0,
            "idle": -0.5 if not (new_field or collision) else 0.0,
            "collision": -1.0 if collision else 0.0}
        infos["agent2"]["reward_terms"] = {
            "blocked": 1.0 if collision else 0.0,
            "idle": -0.1 if not collision else 0.0}
        return self._observations(), rewards, terminateds, truncateds, infos

    def render(self) -> np.ndarray | str:
        """An RGB array (H, W, 3) of the grid, or a text grid in ``ansi`` mode."""
        if self.render_mode == "ansi":
            return self._render_text()
        return self._render_rgb()

    def position_to_index(self, row: int, col: int) -> int:
        """Flat field index of (row, col), as used in observations."""
        return row * self.width + col

    def index_to_position(self, index: int) -> tuple[int, int]:
        """(row, col) of a flat field index."""
        return divmod(int(index), self.width)

    # -- internals -----------------------------------------------------------

    def _validated_actions(self, action_dict: Any) -> dict:
        if not isinstance(action_dict, dict):
            raise ValueError(
                f"MultiAgentArena.step expects a dict {{'agent1': a1, 'agent2': a2}} "
                f"with actions in 0..3, got {type(action_dict).__name__}: {action_dict!r}."
            )
        unknown = sorted(set(action_dict) - set(AGENTS))
        if unknown:
            raise ValueError(f"MultiAgentArena.step got actions for unknown agent(s) "
                             f"{unknown}; the agents are {list(AGENTS)}.")
        actions = {}
        for aid in AGENTS:
            if aid not in action_dict:
                raise ValueError(
                    f"MultiAgentArena.step is missing the action for {aid!r}; both "
                    f"agents act every step: pass {{'agent1': a1, 'agent2': a2}}."
                )
            value = action_dict[aid]
            if isinstance(value, np.ndarray) and value.shape == ():
                value = value.item()
            if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
                raise ValueError(
                    f"MultiAgentArena.step: action for {aid!r} must be an int in 0..3 "
                    f"(0=up 1=right 2=down 3=left), got {type(value).__name__} {value!r}."
                )
            if not 0 <= int(value) <= 3:
                raise ValueError(
                    f"MultiAgentArena.step: action for {aid!r} is {value!r}, outside "
                    f"Discrete(4); use 0=up 1=right 2=down 3=left."
                )
            actions[aid] = int(value)
        return actions

    def _move(self, agent_id: str, action: int) -> tuple[bool, bool]:
        """Move one agent; return (collided, entered a new field)."""
        own, other = ((self.agent1_pos, self.agent2_pos) if agent_id == "agent1"
                      else (self.agent2_pos, self.agent1_pos))
        d_row, d_col = _MOVES[action]
        target = [own[0] + d_row, own[1] + d_col]
        # The blocking check comes before wall clamping, as in the original.
        if target == other:
            return True, False
        target[0] = min(max(target[0], 0), self.height - 1)
        target[1] = min(max(target[1], 0), self.width - 1)
        own[0], own[1] = target
        if agent_id == "agent1" and tuple(target) not in self.agent1_visited:
            self.agent1_visited.add(tuple(target))
            return False, True
        return False, False

    def _observations(self) -> dict:
        p1 = self.position_to_index(*self.agent1_pos)
        p2 = self.position_to_index(*self.agent2_pos)
        return {
            "agent1": np.array([p1, p2], dtype=np.int64),
            "agent2": np.array([p2, p1], dtype=np.int64),
        }

    def _info(self, collision: bool, new_field: bool, moved_first: bool | None) -> dict:
        return {
            "collision": bool(collision),
            "new_field": bool(new_field),
            "moved_first": moved_first,
            "timestep": self.timestep,
        }

    def _render_text(self) -> str:
        rows = []
        for r in range(self.height):
            cells = []
            for c in range(self.width):
                if [r, c] == self.agent1_pos:
                    cells.append("1")
                elif [r, c] == self.agent2_pos:
                    cells.append("2")
                elif (r, c) in self.agent1_visited:
                    cells.append("+")
                else:
                    cells.append(".")
            rows.append(" ".join(cells))
        return "\n".join(rows) + f"\nstep {self.timestep}/{self.max_timesteps}\n"

    def _render_rgb(self) -> np.ndarray:
        size = CELL_PIXELS
        image = np.empty((self.height * size, self.width * size, 3), dtype=np.uint8)
        image[:] = _BACKGROUND
        for r, c in self.agent1_visited:
            image[r * size:(r + 1) * size, c * size:(c + 1) * size] = _VISITED
        image[::size, :] = _GRID
        image[:, ::size] = _GRID
        image[-1, :] = _GRID
        image[:, -1] = _GRID
        yy, xx = np.mgrid[0:size, 0:size]
        disc = (yy - size / 2 + 0.5) ** 2 + (xx - size / 2 + 0.5) ** 2 <= (size / 2 - 4) ** 2
        for (r, c), colour in ((self.agent1_pos, _AGENT1), (self.agent2_pos, _AGENT2)):
            cell = image[r * size:(r + 1) * size, c * size:(c + 1) * size]
            cell[disc] = colour
        return image
