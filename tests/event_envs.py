"""A single-agent env that reports events in its infos (for InfoEvents and replay tests)."""

import time
from typing import ClassVar

import gymnasium as gym
import numpy as np


class LeftRightWalk(gym.Env):
    """Walk on 0..4 from 2; reaching an end ends the episode. Infos flag ``at_edge``."""

    INFO_EVENTS = ("at_edge",)
    ACTION_NAMES = ("left", "right")
    metadata = {"render_modes": ("rgb_array",)}

    def __init__(self, config=None):
        self.observation_space = gym.spaces.Box(0.0, 4.0, (1,), np.float32)
        self.action_space = gym.spaces.Discrete(2)
        self.position = 2
        self.steps = 0
        self.render_mode = "rgb_array"

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.position, self.steps = 2, 0
        return np.array([self.position], np.float32), {"at_edge": False}

    def step(self, action):
        self.position += 1 if int(action) == 1 else -1
        self.steps += 1
        at_edge = self.position in (0, 4)
        reward = 1.0 if self.position == 4 else 0.0
        obs = np.array([self.position], np.float32)
        return obs, reward, at_edge, self.steps >= 10, {"at_edge": at_edge}

    def render(self):
        frame = np.zeros((8, 40, 3), np.uint8)
        frame[:, self.position * 8:(self.position + 1) * 8] = 255
        return frame


class CostlyWalk(LeftRightWalk):
    """LeftRightWalk with a step cost, reporting its reward's parts as ``reward_terms``
    (``terms_off_by`` > 0 plants a reward part the terms do not name)."""

    def __init__(self, config=None):
        super().__init__(config)
        self.terms_off_by = float((config or {}).get("terms_off_by", 0.0))
        # names the goal term only on the step that pays it, as a sparse bonus is named
        self.sparse_goal = bool((config or {}).get("sparse_goal", False))
        self.terms_every = int((config or {}).get("terms_every", 1))  # report on every n-th

    def step(self, action):
        obs, goal, terminated, truncated, info = super().step(action)
        terms = {"goal": goal, "step_cost": -0.1}
        if self.sparse_goal and not goal:
            del terms["goal"]
        if self.steps % self.terms_every == 0:
            info["reward_terms"] = terms
        return obs, goal - 0.1 + self.terms_off_by, terminated, truncated, info


class CostlyWalkWithNaN(CostlyWalk):
    """CostlyWalk paying NaN at the first step of every third episode, its ``step_cost``
    term NaN with it; ``RETURNS`` holds each ended episode's return and ``COSTS`` its
    summed step cost (NaN included)."""

    RETURNS: ClassVar[list] = []
    COSTS: ClassVar[list] = []
    episodes = 0

    def reset(self, *, seed=None, options=None):
        CostlyWalkWithNaN.episodes += 1
        self.paid = self.cost = 0.0
        return super().reset(seed=seed, options=options)

    def step(self, action):
        obs, reward, terminated, truncated, info = super().step(action)
        if CostlyWalkWithNaN.episodes % 3 == 0 and self.steps == 1:
            reward = info["reward_terms"]["step_cost"] = float("nan")
        self.paid += reward
        self.cost += info["reward_terms"]["step_cost"]
        if terminated or truncated:
            CostlyWalkWithNaN.RETURNS.append(self.paid)
            CostlyWalkWithNaN.COSTS.append(self.cost)
        return obs, reward, terminated, truncated, info


class WalkThatCrashes(LeftRightWalk):
    """LeftRightWalk whose ``step`` raises on its ``crash_at``-th step (the env bug a
    post-mortem attach stops at), in every EnvRunner or only in ``crash_runner``;
    ``steps_taken`` is a local of the raising frame."""

    def __init__(self, config=None):
        super().__init__(config)
        self.crash_at = int((config or {}).get("crash_at", 7))
        runner = (config or {}).get("crash_runner")
        self.crashes = runner is None or getattr(config, "worker_index", 0) == runner
        self.total_steps = 0

    def step(self, action):
        self.total_steps += 1
        steps_taken = self.total_steps
        if self.crashes and steps_taken == self.crash_at:
            raise ValueError(f"walked off the map after {steps_taken} steps")  # CRASH-LINE
        return super().step(action)


class WalkThatBlocks(LeftRightWalk):
    """LeftRightWalk whose ``step`` blocks for ``block_s`` seconds on its ``block_at``-th step,
    in the EnvRunner ``block_runner`` only, or each of a list of them (a stall for the
    trace's stall watch to find).
    ``own_tmpdir``: the remote EnvRunners of ``own_tmpdir_runners`` (every one when not
    given) keep their files there, where the driver does not look."""

    def __init__(self, config=None):
        super().__init__(config)
        config = config or {}
        self.block_at = int(config.get("block_at", 150))
        self.block_s = float(config.get("block_s", 10.0))
        blocking = config.get("block_runner", 1)  # one runner's index, or a list of them
        self.blocks = getattr(config, "worker_index", 0) in (
            blocking if isinstance(blocking, list) else [int(blocking)])
        self.total_steps = 0
        index = getattr(config, "worker_index", 0)
        if config.get("own_tmpdir") and index > 0 and index in config.get(
                "own_tmpdir_runners", [index]):
            # This EnvRunner's files go where the driver does not look, as on another
            # machine: no shared filesystem (set before rldebug's trace arms it).
            import tempfile

            tempfile.tempdir = str(config["own_tmpdir"])

    def step(self, action):
        self.total_steps += 1
        if self.blocks and self.total_steps == self.block_at:
            time.sleep(self.block_s)  # BLOCK-LINE
        return super().step(action)


def _multi_agent_env():
    from ray.rllib.env.multi_agent_env import MultiAgentEnv

    return MultiAgentEnv


class TakingTurns(_multi_agent_env()):
    """Two players, ``p0`` and ``p1``, move in turn, 7 moves per episode. The mover earns
    0.1 per action unit; action 2 also costs the waiting player 0.3 and flags ``check``
    in that player's next info. Each info carries the player's ``reward_terms`` since its
    last info (``move``, ``attacked``); with ``terms_when_paid`` the mover's are sent at the
    step that pays them, in an info of its own beside the other player's observation
    (RLlib drops that info and adds the reward to the mover's next observed step). With
    ``final_obs_both`` false the last mover gets no final observation (RLlib then
    completes its step by copying the one before). Every finished episode appends what
    the env sent per player to ``SENT``."""

    SENT: ClassVar[list] = []
    possible_agents: ClassVar[list] = ["p0", "p1"]

    def __init__(self, config=None):
        super().__init__()
        self.final_obs_both = (config or {}).get("final_obs_both", True)
        self.terms_when_paid = (config or {}).get("terms_when_paid", False)
        self.agents = list(self.possible_agents)
        self.observation_spaces = {a: gym.spaces.Box(-1.0, 20.0, (2,), np.float32)
                                   for a in self.agents}
        self.action_spaces = {a: gym.spaces.Discrete(3) for a in self.agents}

    def _obs(self):
        return np.array([self.t, self.mover], np.float32)

    def reset(self, *, seed=None, options=None):
        self.t, self.mover = 0, 0
        self.pending = {a: {"move": 0.0, "attacked": 0.0} for a in self.agents}
        self.sent = {a: {"check": 0, "move": 0.0, "attacked": 0.0} for a in self.agents}
        return {"p0": self._obs()}, {"p0": {}}

    def step(self, action_dict):
        mover, other = f"p{self.mover}", f"p{1 - self.mover}"
        action = int(action_dict[mover])
        self.t += 1
        rewards = {mover: 0.1 * action}
        self.pending[mover]["move"] += 0.1 * action
        if action == 2:
            rewards[other] = -0.3
            self.pending[other]["attacked"] -= 0.3
        self.mover = 1 - self.mover
        done = self.t >= 7
        obs, infos = {}, {}
        observing = [other, mover] if done and self.final_obs_both else [other]
        for agent in ([other, mover] if self.terms_when_paid else observing):
            if agent in observing:
                obs[agent] = self._obs()
            infos[agent] = {"reward_terms": self.pending[agent]}
            for term, value in self.pending[agent].items():
                self.sent[agent][term] += value
            self.pending[agent] = {"move": 0.0, "attacked": 0.0}
        if action == 2:
            infos[other]["check"] = True
            self.sent[other]["check"] += 1
        if done:
            self.SENT.append(self.sent)
        return obs, rewards, {"__all__": done, "p0": done, "p1": done}, {"__all__": False}, infos


class JoiningAndLeaving(_multi_agent_env()):
    """Agent ``a`` plays 8 steps; ``b`` plays the first 4 and leaves; ``c`` joins at step 3.
    An agent's info flags ``hit`` after it chose action 1. Every finished episode
    appends each agent's ``hit`` count to ``SENT``."""

    SENT: ClassVar[list] = []
    possible_agents: ClassVar[list] = ["a", "b", "c"]

    def __init__(self, config=None):
        super().__init__()
        self.agents = list(self.possible_agents)
        self.observation_spaces = {a: gym.spaces.Box(0.0, 10.0, (1,), np.float32)
                                   for a in self.agents}
        self.action_spaces = {a: gym.spaces.Discrete(2) for a in self.agents}

    def reset(self, *, seed=None, options=None):
        self.t = 0
        self.hits = {a: 0 for a in self.agents}
        return {"a": np.zeros(1, np.float32), "b": np.zeros(1, np.float32)}, {"a": {}, "b": {}}

    def step(self, action_dict):
        self.t += 1
        obs, rewards, infos = {}, {}, {}
        terminateds = {"__all__": self.t >= 8}
        for agent, action in action_dict.items():
            hit = int(action) == 1
            self.hits[agent] += hit
            if agent == "b" and self.t == 4:
                terminateds["b"] = True
            obs[agent] = np.full(1, self.t, np.float32)
            rewards[agent] = 1.0 if hit else 0.0
            infos[agent] = {"hit": True} if hit else {}
        if self.t == 3:
            obs["c"], infos["c"] = np.full(1, self.t, np.float32), {}
        if terminateds["__all__"]:
            self.SENT.append(dict(self.hits))
        return obs, rewards, terminateds, {"__all__": False}, infos


class LeavingUnseen(JoiningAndLeaving):
    """Agent ``a`` plays 8 steps, paid 0.5 a step; ``b`` is paid 1.0 a step and terminated
    at step 2 without a final observation (RLlib completes its step by copying the one
    before). Each pays with ``reward_terms`` in its info at that step (b's last beside no
    observation of its own); every finished episode appends what was sent to ``SENT``
    (JoiningAndLeaving's spaces, for two agents)."""

    SENT: ClassVar[list] = []
    possible_agents: ClassVar[list] = ["a", "b"]

    def reset(self, *, seed=None, options=None):
        self.t = 0
        self.sent = {"a": {"y": 0.0}, "b": {"x": 0.0}}
        return {a: np.zeros(1, np.float32) for a in self.agents}, {}

    def step(self, action_dict):
        self.t += 1
        obs, rewards, infos = {"a": np.full(1, self.t, np.float32)}, {"a": 0.5}, {}
        infos["a"] = {"reward_terms": {"y": 0.5}}
        self.sent["a"]["y"] += 0.5
        terminateds = {"__all__": self.t >= 8}
        if "b" in action_dict:
            rewards["b"], infos["b"] = 1.0, {"reward_terms": {"x": 1.0}}
            self.sent["b"]["x"] += 1.0
            if self.t == 2:
                terminateds["b"] = True
            else:
                obs["b"] = np.full(1, self.t, np.float32)
        if terminateds["__all__"]:
            self.SENT.append(self.sent)
        return obs, rewards, terminateds, {"__all__": False}, infos


class CartPolePenaltyOnFall(gym.Wrapper):
    """CartPole-v1 paying -100 when the episode ends and 0 at every other step: every
    episode returns -100; only when it comes depends on the policy."""

    def __init__(self, config=None):
        super().__init__(gym.make("CartPole-v1"))

    def step(self, action):
        obs, _, terminated, truncated, info = self.env.step(action)
        return obs, -100.0 if terminated or truncated else 0.0, terminated, truncated, info
