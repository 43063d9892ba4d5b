"""``inference_policy(checkpoint)``: the policy a checkpoint was trained as, for inference.

On RLlib's new API stack a trained policy is three things, stored in three places of a
checkpoint: the env-to-module connector pipeline (observation filters with running
statistics, frame stacking, flattening, previous actions/rewards, the recurrent state
fed back), the RLModule, and the module-to-env pipeline (the greedy action, unsquashing
or clipping to the env's bounds, unmapping agents from modules). :class:`InferencePolicy`
runs the three on each observation exactly as RLlib's EnvRunner does with
``explore=False`` (its evaluation), keeping an episode so pieces that look back (frame
stacks, LSTM state, previous actions) see the history they saw in training. No
Algorithm is built and Ray is not started; the filters' statistics are frozen.

Variants of the pipeline (a piece left out, the history forgotten, the action not
unsquashed, other agent-to-module mappings) are what :func:`rldebug.parity` replays to
explain a deployment that disagrees.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from rldebug.usage import UsageError, UsageTypeError, path_argument


@dataclass(frozen=True)
class Variant:
    """How a replay departs from the training pipeline (the default departs in nothing)."""

    without: str | None = None  # an env-to-module piece left out (its class name)
    forget_history: bool = False  # every observation handled as an episode's first
    to_env: bool = True  # False: the module's action, not unsquashed/clipped for the env
    mapping: tuple | None = None  # multi-agent: ((agent, module), ...) replacing the config's
    squashed_mean: bool = False  # a Gaussian's greedy action as tanh(mean)
    never_reset: bool = False  # the history carried from one episode into the next
    unsquash_twice: bool = False  # the env's action unsquashed again, as if it were in [-1, 1]
    dict_order: bool = False  # a Dict observation flattened in the order the env's dict has
    clip_unit: bool = False  # the env's action clipped to [-1, 1], the module's range
    frames_newest_first: bool = False  # RLlib's frame stack given the other way round

    def describe(self) -> str:
        return " and ".join(change.describe_one() for change in self.changes()) or "as trained"

    def changes(self) -> list[Variant]:
        """The variant as one single-change variant per way it departs from the pipeline."""
        default = Variant()
        return [Variant(**{f.name: getattr(self, f.name)}) for f in fields(self)
                if getattr(self, f.name) != getattr(default, f.name)]

    def describe_one(self) -> str:
        if self.without:
            return f"without {self.without}"
        if self.forget_history:
            return "without its history (every observation handled as an episode's first)"
        if not self.to_env:
            return "without unsquashing/clipping to the action bounds"
        if self.mapping:
            return "with agents mapped " + ", ".join(f"{a} -> {m}" for a, m in self.mapping)
        if self.squashed_mean:
            return "with tanh(mean) as the Gaussian's greedy action"
        if self.never_reset:
            return "never reset (its history carried from one episode into the next)"
        if self.unsquash_twice:
            return "with the action unsquashed twice"
        if self.dict_order:
            return "with the Dict observation flattened in the env's key order"
        if self.clip_unit:
            return "with the unsquashed action clipped to [-1, 1]"
        if self.frames_newest_first:
            return "with the stacked frames newest first"
        return "as trained"


def dict_part_sizes(space: Any) -> dict | None:
    """How many values each key of a one-level Dict space takes once flattened as RLlib's
    ``FlattenObservations`` does (a Box's size, a Discrete one-hot); None for another
    space or a nested one."""
    import gymnasium as gym
    from ray.rllib.utils.numpy import flatten_inputs_to_1d_tensor

    if not isinstance(space, gym.spaces.Dict) or not all(
            isinstance(part, (gym.spaces.Box, gym.spaces.Discrete, gym.spaces.MultiDiscrete))
            for part in space.spaces.values()):
        return None
    return {key: int(np.size(flatten_inputs_to_1d_tensor(part.sample(), part,
                                                         batch_axis=False)))
            for key, part in space.spaces.items()}


@dataclass(frozen=True)
class EnvNamed:
    """The env class of an exported pipeline, by name: an export holds the code that turns
    an observation into an action, not the env's. Only :func:`rldebug.parity`, which
    plays the env, imports it (:func:`env_of`)."""

    module: str
    qualname: str

    def __str__(self) -> str:
        return f"{self.module}.{self.qualname}"


def env_named(env: Any) -> Any:
    """``env`` as an export keeps it: an importable env class by name (unpickling it
    would need its module), anything else as it is."""
    module = getattr(env, "__module__", None)
    if isinstance(env, type) and module and module != "__main__":
        return EnvNamed(module, env.__qualname__)
    return env


def env_of(parts: Mapping[str, Any]) -> Any:
    """The env a pipeline was trained on, as ``make_env`` takes it (an export's imported).

    :raises UsageError: for an exported env class whose module cannot be imported here.
    """
    env = parts["env"]
    if not isinstance(env, EnvNamed):
        return env
    import importlib

    try:
        found = importlib.import_module(env.module)
        for name in env.qualname.split("."):
            found = getattr(found, name)
    except (ImportError, AttributeError) as err:
        raise UsageError(
            f"The export names its env {env} but does not hold the env's code, and it cannot "
            f"be imported here ({type(err).__name__}: {err}). To play the env, add the "
            f"folder of {env.module!r} to PYTHONPATH; or compare on recorded observations "
            "(--observations FILE, observations=).") from None
    return found


class InferencePolicy:
    """A checkpoint's training pipeline as a policy: ``policy(obs) -> env action``.

    Call it with the env's raw observation (a dict per agent for a multi-agent env, as
    the env returns it) and hand its answer to ``env.step``. Call :meth:`reset` when an
    episode starts (pieces that look back start empty). For a pipeline that feeds the
    previous reward to the module, pass it: ``policy(obs, reward=r)``.

    Picklable; needs ``ray[rllib]`` importable (for the connector classes) but builds no
    Algorithm and starts no Ray.
    """

    #: how its policy mapping fn is asked (rldebug.shapes.mapping): as the new stack asks
    old_stack = False
    #: where a left-out piece's saved state lives
    state_location = "the checkpoint's env_runner/env_to_module_connector"

    def __init__(self, parts: Mapping[str, Any], variant: Variant = Variant()):
        from rldebug.shapes.connectors import freeze_statistics

        self._parts = dict(parts)
        self.variant = variant
        self.multi_agent = bool(parts["multi_agent"])
        self._env_to_module = parts["env_to_module"]
        if variant.without:
            self._env_to_module = copy.deepcopy(self._env_to_module)
            self._env_to_module.remove(variant.without)
        freeze_statistics(self._env_to_module)
        self._module_to_env = parts["module_to_env"]
        modules = parts["modules"]
        self._module = modules if self.multi_agent else modules[parts["module_id"]]
        self.reset()

    @classmethod
    def from_checkpoint(cls, path: str | Path) -> InferencePolicy:
        policy = cls(parts_from_checkpoint(path))
        if (Path(path).expanduser() / EXPORTED_PARTS).is_file():
            policy.state_location = f"the export's {EXPORTED_PARTS}"
        return policy

    # -- public API ----------------------------------------------------------------------
    def reset(self) -> None:
        """Start a new episode: frame stacks, recurrent state and previous actions empty."""
        self._episode = None
        self._last = None  # (module actions, extra model outputs) of the last call

    def __call__(self, obs: Any, reward: Any = 0.0) -> Any:
        return self.act(obs, reward)[1]

    def act(self, obs: Any, reward: Any = 0.0, taken: Any = None) -> tuple[Any, Any]:
        """``(module action, env action)`` for ``obs``; ``reward`` is the reward of the last
        step; ``taken``: the module action the last step actually took, when it was not
        this policy's own (parity's replays)."""
        import torch
        from ray.rllib.core.columns import Columns

        self._check(obs)
        spaces = self._parts["observation_space"]
        obs = {a: _in_float_dtype(o, spaces[a]) for a, o in obs.items()} if \
            self.multi_agent else _in_float_dtype(obs, spaces)
        if self._episode is not None:  # the first step of an episode takes no reward
            _check_reward(reward, self.multi_agent)
        if self.variant.forget_history:
            self.reset()
        try:
            episode = self._record(obs, reward, taken)
            shared: dict = {}
            with torch.no_grad():
                batch = self._env_to_module(rl_module=self._module, batch={},
                                            episodes=[episode], explore=False,
                                            shared_data=shared)
                if self.variant.dict_order:
                    batch = self._in_dict_order(batch, obs)
                if self.variant.frames_newest_first:
                    batch = {**batch, Columns.OBS: torch.flip(batch[Columns.OBS], dims=[-1])}
                out = self._module.forward_inference(batch)
            to_env = self._module_to_env(rl_module=self._module, batch=out,
                                         episodes=[episode], explore=False,
                                         shared_data=shared)
        except Exception as error:
            # the episode got this step but no action: it cannot take the next one
            self.reset()
            if hasattr(error, "add_note"):
                error.add_note("rldebug: the policy's episode was reset (its next call "
                               "starts a new one), as it cannot go on from a failed step.")
            raise
        actions = to_env.pop(Columns.ACTIONS)[0]
        for_env = to_env.pop(Columns.ACTIONS_FOR_ENV, [actions])[0]
        extra = {column: values[0] for column, values in to_env.items()}
        self._last = (actions, extra)
        if self.variant.squashed_mean:
            from types import SimpleNamespace

            from rldebug.shapes.outputs import env_action

            squashed = np.tanh(np.asarray(actions, np.float32))
            return squashed, env_action(squashed[None], self._parts["action_space"],
                                        SimpleNamespace(**self._parts["action_handling"]))[0]
        if self.variant.unsquash_twice:  # the env's action taken for one in [-1, 1]
            from ray.rllib.utils.spaces.space_utils import unsquash_action

            return actions, unsquash_action(for_env, self._parts["action_space"])
        if self.variant.clip_unit:  # the env's action held to the module's range
            return actions, np.clip(for_env, -1.0, 1.0).astype(np.asarray(for_env).dtype)
        return actions, (for_env if self.variant.to_env else actions)

    def _in_dict_order(self, batch: dict, obs: Any) -> dict:
        """``batch`` with its flattened observation's parts in the order the env's dict
        holds its keys: RLlib's ``FlattenObservations`` concatenates them in sorted key
        order (``tree.flatten``), a deployment of its own often in the dict's order."""
        from ray.rllib.core.columns import Columns

        sizes = self._dict_sizes
        if sizes is None or not isinstance(obs, Mapping):
            return batch
        starts, at = {}, 0
        for key in sorted(sizes):
            starts[key], at = at, at + sizes[key]
        order = [i for key in obs if key in sizes
                 for i in range(starts[key], starts[key] + sizes[key])]
        if len(order) != at:
            return batch
        return {**batch, Columns.OBS: batch[Columns.OBS][..., order]}

    @functools.cached_property
    def _dict_sizes(self) -> dict | None:
        """:func:`dict_part_sizes` of the observation space, once per policy (a replay asks
        it at every step)."""
        return dict_part_sizes(self._parts["observation_space"])

    @property
    def flattens_a_dict(self) -> bool:
        """Whether a (single-agent) Dict observation of one level reaches the module
        through RLlib's ``FlattenObservations`` (all of its keys kept)."""
        return not self.multi_agent and self._dict_sizes is not None and any(
                type(piece).__name__ == "FlattenObservations" and
                not getattr(piece, "_keys_to_remove", None)
                for piece in self._env_to_module.connectors)

    @property
    def stacks_frames(self) -> bool:
        """Whether a (single-agent) module's input is RLlib's frame stack, oldest frame
        first along the last axis (``FrameStacking``, the env-to-module pipeline's last
        piece of the user's)."""
        from ray.rllib.connectors.common.frame_stacking import FrameStacking

        users = [piece for piece in self._env_to_module.connectors
                 if type(piece).__name__ in self.user_pieces]
        return not self.multi_agent and bool(users) and isinstance(users[-1], FrameStacking)

    @property
    def unsquashes_actions(self) -> bool:
        """Whether the module-to-env pipeline unsquashes a (single-agent) Box action bounded
        on every side from [-1, 1] to the env's bounds (``normalize_actions``, as RLlib's
        ``unsquash_action``)."""
        import gymnasium as gym

        space = self._parts["action_space"]
        return not self.multi_agent and isinstance(space, gym.spaces.Box) and \
            bool(np.all(space.bounded_below) and np.all(space.bounded_above)) and \
            any(getattr(piece, "normalize_actions", False)
                for piece in self._module_to_env.connectors)

    def with_variant(self, **changes) -> InferencePolicy:
        """A new policy on the same parts, departing from the pipeline as ``changes`` say
        (the fields of :class:`Variant`; ``without`` names one of :attr:`user_pieces`)."""
        known = [f.name for f in fields(Variant)]
        unknown = sorted(set(changes) - set(known))
        if unknown:
            raise UsageTypeError(f"with_variant() takes {known}, got {unknown}.")
        without = changes.get("without")
        if isinstance(without, type):  # the piece's class, as ConnectorPipelineV2 takes it
            without = changes["without"] = without.__name__
        if without is not None and without not in self.user_pieces:
            can = (f"it can leave out one of {self.user_pieces}" if self.user_pieces else
                   "it has none of its own to leave out")
            raise UsageError(f"with_variant(without={without!r}): the pipeline has no such "
                             f"piece; {can} (the env-to-module pieces added to RLlib's "
                             "defaults).")
        return InferencePolicy(self._parts, replace(self.variant, **changes))

    @property
    def user_pieces(self) -> list[str]:
        from rldebug.shapes.connectors import user_piece_names

        return user_piece_names(self._parts["env_to_module"])

    def greedy_probability(self) -> Any:
        """The probability the action distribution gave the greedy action of the last call
        (a dict per agent on a multi-agent env); None where the distribution is not
        categorical (continuous actions, DQN's Q-values)."""
        from ray.rllib.core.columns import Columns

        if self._last is None:
            return None
        actions, extra = self._last
        inputs = extra.get(Columns.ACTION_DIST_INPUTS)
        if inputs is None:
            return None
        if self.multi_agent:
            return {aid: _categorical_probability(inputs.get(aid), action)
                    for aid, action in actions.items()}
        return _categorical_probability(inputs, actions)

    def action_gaussian(self) -> tuple[np.ndarray, np.ndarray] | None:
        """``(mean, standard deviation)`` per action dimension, in the env's units before
        clipping, of the Gaussian a deployment sampling from the distribution would draw
        its last action from: one agent's Box action from a diagonal Gaussian (PPO's,
        APPO's, IMPALA's), scaled as the module-to-env pipeline unsquashes it
        (``normalize_actions``, on a Box bounded on every side, as RLlib's
        ``unsquash_action``). None for other actions (discrete, multi-agent, SAC's
        squashed Gaussian)."""
        import gymnasium as gym
        from ray.rllib.core.columns import Columns

        space = self._parts["action_space"]
        if self.multi_agent or self._last is None or not isinstance(space, gym.spaces.Box):
            return None
        dist = self._module.get_inference_action_dist_cls()
        inputs = self._last[1].get(Columns.ACTION_DIST_INPUTS)
        if getattr(dist, "__name__", "") != "TorchDiagGaussian" or inputs is None:
            return None
        mean, log_std = np.split(np.asarray(inputs, np.float64).reshape(-1), 2)
        mean, std = mean.reshape(space.shape), np.exp(log_std).reshape(space.shape)
        if self.unsquashes_actions:
            half = (space.high - space.low) / 2.0
            return space.low + (mean + 1.0) * half, std * half
        return mean, std

    @property
    def keeps_history(self) -> bool:
        """Whether a step can depend on earlier ones: a piece of the user's (frame stacks,
        previous actions) or a recurrent module."""
        modules = self._module.values() if self.multi_agent else [self._module]
        return bool(self.user_pieces) or any(m.is_stateful() for m in modules)

    @property
    def gaussian_actions(self) -> bool:
        """Whether the (single-agent) module's inference distribution is a Gaussian,
        squashed (SAC's) or not (PPO's, APPO's, IMPALA's diagonal one)."""
        if self.multi_agent:
            return False
        cls = self._module.get_inference_action_dist_cls()
        return getattr(cls, "__name__", "") in ("TorchSquashedGaussian", "TorchDiagGaussian")

    @property
    def squashes_actions(self) -> bool:
        """Whether the (single-agent) module's inference distribution is a squashed
        Gaussian (SAC's): RLlib 2.60's greedy action of it is the mean without tanh
        (``TorchSquashedGaussian.to_deterministic`` returns ``TorchDeterministic(loc)``)."""
        if self.multi_agent:
            return False
        cls = self._module.get_inference_action_dist_cls()
        return getattr(cls, "__name__", "") == "TorchSquashedGaussian"

    @property
    def parts(self) -> dict:
        return dict(self._parts)

    def __getstate__(self):
        from ray import cloudpickle

        return {"parts": cloudpickle.dumps(self._parts), "variant": self.variant}

    def __setstate__(self, state):
        import pickle

        self.__init__(pickle.loads(state["parts"]), state["variant"])

    def __repr__(self) -> str:
        kind = "multi-agent" if self.multi_agent else "single-agent"
        pieces = ", ".join(self.user_pieces) or "no connector pieces of yours"
        return f"InferencePolicy({kind}; {pieces}; {self.variant.describe()})"

    def _check(self, obs) -> None:
        """A clear error for an observation the env could not have returned."""
        import gymnasium as gym

        if self.multi_agent:
            if not isinstance(obs, Mapping):
                raise UsageError(f"This policy was trained on a multi-agent env: call it with "
                                 f"the env's observation dict {{agent_id: obs}}, got "
                                 f"{type(obs).__name__}.")
            spaces = self._parts["observation_space"]
            if not obs:
                raise UsageError("The observation dict is empty: give the observation of at "
                                 "least one agent that acts at this step, {agent_id: obs}; "
                                 f"the env's agents are {', '.join(sorted(map(repr, spaces)))}.")
            unknown = [a for a in obs if a not in spaces]
            if unknown:  # repr: the int 0 and the string "0" read the same as str
                raise UsageError(f"Unknown agent id(s) {', '.join(map(repr, unknown))} in the "
                                 "observation dict; the env's agents are "
                                 f"{', '.join(sorted(map(repr, spaces)))}.")
            pairs = [(spaces[a], o) for a, o in obs.items()]
        else:
            pairs = [(self._parts["observation_space"], obs)]
        for space, one in pairs:
            if isinstance(space, gym.spaces.Box) and np.shape(one) != space.shape:
                raise UsageError(f"This policy takes the env's raw observation, of shape "
                                 f"{space.shape}; got one of shape {np.shape(one)}.")
            why = _not_an_observation(one, space)
            if why:  # not even a dict for a Dict space: the wrong type
                kind = UsageTypeError if isinstance(space, gym.spaces.Dict) and \
                    not isinstance(one, Mapping) else UsageError
                raise kind(f"This policy takes the env's raw observation, in {space}; got "
                           f"{one!r:.100}: {why}.")

    # -- the episode the connectors read -------------------------------------------------
    def _record(self, obs, reward, taken):
        if self.multi_agent:
            return self._record_multi_agent(obs, reward, taken)
        from ray.rllib.env.single_agent_episode import SingleAgentEpisode

        if self._episode is None:
            self._episode = SingleAgentEpisode(
                observations=[obs], observation_space=self._parts["observation_space"],
                action_space=self._parts["action_space"])
        else:
            action, extra = self._last
            self._episode.add_env_step(
                obs, action if taken is None else taken, float(reward), extra_model_outputs=extra)
        return self._episode

    def _record_multi_agent(self, obs, reward, taken):
        from ray.rllib.env.multi_agent_episode import MultiAgentEpisode

        if self._episode is None:
            self._episode = MultiAgentEpisode(
                observation_space=dict(self._parts["observation_space"]),
                action_space=dict(self._parts["action_space"]),
                agent_to_module_mapping_fn=self._mapping_fn())
            self._episode.add_env_reset(observations=dict(obs), infos={})
            return self._episode
        actions, extra = self._last
        if taken is not None:
            actions = taken
        agents = set(obs) | set(actions)
        rewards = dict(reward) if isinstance(reward, Mapping) else \
            {aid: float(reward) for aid in agents}
        self._episode.add_env_step(
            observations=dict(obs), actions=dict(actions),
            rewards={aid: rewards.get(aid, 0.0) for aid in agents},
            terminateds={"__all__": False}, truncateds={"__all__": False},
            extra_model_outputs={aid: extra_of(extra, aid) for aid in actions})
        return self._episode

    def _mapping_fn(self):
        if self.variant.mapping is None:
            return self._parts["mapping_fn"]
        fixed = dict(self.variant.mapping)
        return lambda agent_id, episode=None, **kwargs: fixed[agent_id]


def _not_an_observation(obs, space) -> str:
    """Why ``obs`` cannot be an observation of ``space`` ('' when it can): its structure
    (a Dict's keys, a Tuple's length, a Box part's shape and NaN) and discrete values; a
    Box's dtype and bounds are not checked (parity says a float64 observation by its
    cast)."""
    import gymnasium as gym

    from rldebug.shapes.spaces import contains, why_not_in

    if isinstance(space, gym.spaces.Box):
        if np.shape(obs) != space.shape:
            return f"shape {np.shape(obs)}, expected {space.shape}"
        values = np.asarray(obs)  # NaN is in no Box (gymnasium's contains says False)
        return "it holds NaN, which no env observation does" if \
            values.dtype.kind == "f" and np.isnan(values).any() else ""
    if isinstance(space, gym.spaces.Dict):
        if not isinstance(obs, Mapping) or set(obs) != set(space.spaces):
            return why_not_in(obs, space) if isinstance(obs, Mapping) else \
                f"a {type(obs).__name__}, not a dict of {sorted(map(str, space.spaces))}"
        for key, part in space.spaces.items():
            why = _not_an_observation(obs[key], part)
            if why:
                return f"[{key!r}]: {why}"
        return ""
    if isinstance(space, gym.spaces.Tuple):
        if not isinstance(obs, (tuple, list)) or len(obs) != len(space.spaces):
            return why_not_in(obs, space)
        for i, part in enumerate(space.spaces):
            why = _not_an_observation(obs[i], part)
            if why:
                return f"part {i}: {why}"
        return ""
    return "" if contains(space, obs) else why_not_in(obs, space)


def _in_float_dtype(obs, space):
    """``obs`` with each part of a float Box given as ints, bools or a narrower float (a
    list of ints, float16) in the Box's dtype, which the env would have returned and the
    module computes in (RLlib casts only float64); the values are unchanged."""
    import gymnasium as gym

    if isinstance(space, gym.spaces.Box) and space.dtype.kind == "f":
        array = np.asarray(obs)
        narrower = array.dtype.kind == "f" and array.dtype.itemsize < space.dtype.itemsize
        return array.astype(space.dtype) if array.dtype.kind in "iub" or narrower else obs
    if isinstance(space, gym.spaces.Dict) and isinstance(obs, Mapping):
        return {k: _in_float_dtype(v, space.spaces[k]) if k in space.spaces else v
                for k, v in obs.items()}
    if isinstance(space, gym.spaces.Tuple) and isinstance(obs, (tuple, list)):
        return tuple(_in_float_dtype(v, part) for v, part in zip(obs, space.spaces))
    return obs


def _check_reward(reward, multi_agent: bool) -> None:
    rewards = list(reward.values()) if multi_agent and isinstance(reward, Mapping) \
        else [reward]
    for one in rewards:
        try:
            float(one)
        except (TypeError, ValueError):
            per_agent = " (or a dict of them per agent)" if multi_agent else ""
            raise UsageTypeError(f"policy(obs, reward=...) takes the last step's reward as "
                                 f"a number{per_agent}, got {reward!r:.80}.") from None


def _categorical_probability(logits, action) -> float | None:
    logits = None if logits is None else np.asarray(logits, np.float64)
    if logits is None or logits.ndim != 1 or np.asarray(action).ndim != 0 or \
            not np.issubdtype(np.asarray(action).dtype, np.integer):
        return None
    shifted = np.exp(logits - logits.max())
    return float(shifted[int(action)] / shifted.sum())


def extra_of(extra: dict, agent_id) -> dict:
    """One agent's extra model outputs from the module-to-env pipeline's per-agent dicts."""
    return {column: values[agent_id] for column, values in extra.items()
            if isinstance(values, Mapping) and agent_id in values}


def parts_from_checkpoint(path: str | Path) -> dict:
    """What :class:`InferencePolicy` runs, read from a new-stack checkpoint (or a folder
    written by :func:`rldebug.export`)."""
    from rldebug.inspection.checkpoint import load_pipeline

    exported = path_argument(path, "The checkpoint",
                             "a checkpoint folder or an rldebug.export folder") / EXPORTED_PARTS
    if exported.is_file():
        return _unpickled(exported)
    stored = load_pipeline(path)
    return _parts(stored["config"], stored["env_to_module"], stored["modules"],
                  stored["module_to_env"])


def _unpickled(exported: Path) -> dict:
    """An export's pickled parts; a module its pickle needs and this Python lacks (torch,
    a user's env package) said as such, with what runs instead."""
    import pickle

    try:
        with open(exported, "rb") as f:
            return pickle.load(f)
    except ImportError as err:
        missing = getattr(err, "name", None) or str(err)
        onnx = exported.parent / "policy.onnx"
        raise UsageError(
            f"{exported.parent} holds a pickled pipeline that needs the module "
            f"{missing!r} to load, and this Python cannot import it ({err}). Install it "
            "here (the RLModule is a torch module; an env or model class needs its own "
            "package)" + (f", or run {onnx.name} with onnxruntime and numpy alone: "
                          f"from onnx_policy import OnnxPolicy; OnnxPolicy('{exported.parent}')"
                          if onnx.is_file() else
                          ", or export with --onnx for a policy that needs neither torch "
                          "nor Ray") + ".") from None


def _parts(config, env_to_module, modules, module_to_env) -> dict:
    from ray.rllib.core import DEFAULT_MODULE_ID

    multi_agent = bool(config.is_multi_agent)
    obs_space = env_to_module.input_observation_space
    act_space = env_to_module.input_action_space
    if multi_agent:
        obs_space, act_space = dict(obs_space.spaces), dict(act_space.spaces)
    return {"multi_agent": multi_agent, "env_to_module": env_to_module, "modules": modules,
            "module_to_env": module_to_env,
            "module_id": None if multi_agent else DEFAULT_MODULE_ID,
            "mapping_fn": config.policy_mapping_fn if multi_agent else None,
            "observation_space": obs_space, "action_space": act_space,
            "env": config.env, "env_config": dict(config.env_config or {}),
            # how the module-to-env pipeline treats Box actions
            "action_handling": {"normalize_actions": bool(config.normalize_actions),
                                "clip_actions": bool(config.clip_actions)}}


def parts_from_algorithm(algo) -> dict:
    """What :class:`InferencePolicy` runs, copied from a built Algorithm's local EnvRunner."""
    from ray.rllib.core import DEFAULT_MODULE_ID
    from ray.rllib.core.rl_module.multi_rl_module import MultiRLModule

    runner = algo.env_runner
    if runner is None or getattr(runner, "_env_to_module", None) is None:
        raise UsageError("This Algorithm has no local EnvRunner with connector pipelines "
                         "(old API stack, or num_env_runners > 0 with create_local_env_runner"
                         "=False): pass its checkpoint path instead.")
    module = runner.module
    modules = module if isinstance(module, MultiRLModule) else {DEFAULT_MODULE_ID: module}
    return _parts(algo.config, copy.deepcopy(runner._env_to_module), modules,
                  copy.deepcopy(runner._module_to_env))


#: the file of an exported folder that holds the pickled parts
EXPORTED_PARTS = "inference_policy.pkl"


def inference_policy(checkpoint: str | Path) -> InferencePolicy:
    """The training pipeline of a new-stack checkpoint (or an :func:`rldebug.export`
    folder) as a standalone policy, raw env observation in, env action out.

    .. warning:: A checkpoint is pickle: loading it runs code stored in it.

    :raises CheckpointError: for a path that is not a new-stack checkpoint (naming why).
    """
    path_argument(checkpoint, "inference_policy(checkpoint=...)",
                  "a checkpoint folder or an rldebug.export folder")
    return InferencePolicy.from_checkpoint(checkpoint)


__all__ = ["EXPORTED_PARTS", "EnvNamed", "InferencePolicy", "Variant", "env_named", "env_of",
           "inference_policy", "parts_from_checkpoint"]
