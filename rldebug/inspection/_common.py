"""Stack-agnostic helpers of ``rldebug.inspect``: stack detection, id resolution, obs checks."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from rldebug.shapes.mapping import as_shown
from rldebug.shapes.spaces import contains, why_not_in
from rldebug.usage import UsageError, UsageTypeError


def require_algorithm(algo: Any, caller: str):
    """Raise a TypeError naming the fix unless ``algo`` is a built RLlib Algorithm."""
    from ray.rllib.algorithms.algorithm import Algorithm

    if not isinstance(algo, Algorithm):
        from ray.rllib.core.rl_module.rl_module import RLModule

        if isinstance(algo, RLModule):  # its repr is the whole network, over many lines
            raise UsageTypeError(
                f"rldebug.{caller} expects a built RLlib Algorithm, got the module "
                f"{type(algo).__name__} (what rldebug.load(..., modules_only=True) or a "
                "module's folder gives): the Algorithm runs the env-to-module connectors "
                "and the mapping first. Load the algorithm checkpoint itself: "
                "rldebug.load(CHECKPOINT).")
        raise UsageTypeError(
            f"rldebug.{caller} expects a built RLlib Algorithm (config.build_algo(), "
            f"rldebug.run(...).algo or rldebug.load(CHECKPOINT)), got "
            f"{type(algo).__name__}: {algo!r:.120}."
        )


def api_stack(algo) -> str:
    """``"new"`` (RLModule/Learner/EnvRunner) or ``"old"`` (Policy/ModelV2/RolloutWorker)."""
    return "new" if algo.config.enable_rl_module_and_learner else "old"


def adapter_for(algo, caller: str):
    """The stack adapter for ``algo``.

    New stack: ``_new_stack.NewStack`` (multi-agent: the local EnvRunner holds a
    MultiRLModule) or ``_single_agent.SingleAgentStack`` (a plain RLModule); old
    stack: ``_old_stack.OldStack``.
    """
    require_algorithm(algo, caller)
    if api_stack(algo) == "new":
        from ray.rllib.core.rl_module.multi_rl_module import MultiRLModule
        from ray.rllib.core.rl_module.rl_module import RLModule

        module = getattr(algo.env_runner, "module", None)
        if isinstance(module, MultiRLModule):
            from rldebug.inspection._new_stack import NewStack

            return NewStack(algo)
        if isinstance(module, RLModule):
            from rldebug.inspection._single_agent import SingleAgentStack

            return SingleAgentStack(algo)
        raise NotImplementedError(
            f"rldebug.{caller} needs the Algorithm's local EnvRunner and its RLModule; "
            f"this one has EnvRunner {type(algo.env_runner).__name__} with module "
            f"{type(module).__name__}. Build the algorithm with rldebug.local_mode(config) "
            f"(or load it with rldebug.load(CHECKPOINT)) to get a local EnvRunner.")
    from rldebug.inspection._old_stack import OldStack

    return OldStack(algo)


def agent_ids(env) -> list:
    """The env's agent ids (``possible_agents``, else ``get_agent_ids()``)."""
    agents = getattr(env, "possible_agents", None)
    if agents:
        return list(agents)
    get_ids = getattr(env, "get_agent_ids", None)
    return sorted(get_ids()) if get_ids else []


def resolve_ids(agent_id, module_id, module_ids: list, mapping: dict,
                mapping_error: str | None, agents: list | None = None) -> tuple[Any, str]:
    """Check ``agent_id`` / ``module_id`` against the algorithm; return (agent, module).

    Exactly the pair the env-to-module pipeline needs: an agent (its raw space and
    connectors) and the module that agent acts with. ``mapping``: agent -> the modules
    the policy mapping fn sends it to (``shapes.mapping.agent_modules``; several when it
    decides per episode, and then ``module_id`` says which). ``agents``: the env's agents
    (default: the mapping's).
    """
    agents = list(mapping) if agents is None else list(agents)
    if agent_id is not None and agent_id not in agents:
        raise UsageError(f"Unknown agent id {agent_id!r}; the env's agents are {agents}.")
    if agent_id is not None and agent_id not in mapping:  # the mapping fn failed
        raise UsageError(f"Which module agent {agent_id!r} acts with is unknown: "
                         f"{mapping_error}. Fix the error it raised.")
    if module_id is not None and module_id not in module_ids:
        raise UsageError(f"Unknown module id {module_id!r}; the algorithm's modules are "
                         f"{module_ids}.")
    if agent_id is None and module_id is None:
        if len(mapping) == 1:
            agent_id = next(iter(mapping))
        else:
            raise UsageError(
                f"Say whose observation this is: pass agent_id= / --agent (one of "
                f"{list(mapping)}) or module_id= / --module (one of {module_ids}).")
    if agent_id is not None:
        mapped = mapping[agent_id]
        if module_id is None:
            if len(mapped) > 1:
                raise UsageError(
                    f"Agent {agent_id!r} acts with {' or '.join(map(repr, mapped))} "
                    "depending on the episode (the policy mapping fn reads it): pass "
                    "module_id= / --module as well to say which.")
            if mapped[0] not in module_ids:
                raise UsageError(
                    f"The policy mapping fn sends agent {agent_id!r} to {mapped[0]!r}, which "
                    f"is not one of the algorithm's modules {module_ids}: RLlib fails the "
                    "same way when that agent acts. Return one of them from the mapping fn.")
            return agent_id, mapped[0]
        if module_id not in mapped:
            raise UsageError(
                f"Agent {agent_id!r} maps to module {' or '.join(map(repr, mapped))}, not "
                f"{module_id!r}. Pass only agent_id={agent_id!r}, or an agent of "
                f"{module_id!r}: {[a for a, ms in mapping.items() if module_id in ms]}.")
        return agent_id, module_id
    agents = [a for a, ms in mapping.items() if module_id in ms]
    if not agents:
        shown = {a: as_shown(ms) for a, ms in mapping.items()}
        why = f"; {mapping_error}" if mapping_error else ""
        raise UsageError(
            f"No agent maps to module {module_id!r} (mapping: {shown}{why}); the "
            f"observation must go through some agent's connectors: pass agent_id= / "
            f"--agent as well.")
    return agents[0], module_id


def as_observation_batch(obs: Any, space: gym.Space) -> tuple[list, bool]:
    """Split ``obs`` into a list of single observations, each checked against ``space``.

    A single observation (``space.contains(obs)``) gives a batch of one and
    ``batched=False``; a list/array whose every element is in the space gives
    ``batched=True``. Nothing is cast: gymnasium's own ``contains`` decides (a
    Python list found in an array space becomes an array of the space's dtype,
    as ``contains`` itself converts it).

    :raises ValueError: naming the space, the offending element and why it is not in it.
    """
    if isinstance(obs, (str, bytes)) and not isinstance(space, gym.spaces.Text):
        raise UsageError(f"Observation {obs!r:.80} is not in the observation space {space}: "
                         "it is a string, and the space holds numbers. Pass the observation "
                         "exactly as the env returns it.")
    if _is_bool_for_numbers(obs, space):
        raise UsageError(
            f"Observation {obs!r:.80} holds booleans, but the observation space {space} holds "
            f"numbers of dtype {space.dtype}; pass the observation exactly as the env "
            "returns it (rldebug does not cast).")
    if contains(space, obs):
        return [_as_array(obs, space)], False
    single_reason = why_not_in(obs, space)
    shape = getattr(space, "shape", None)
    rank = len(shape) if shape is not None else None
    arr = obs if isinstance(obs, np.ndarray) else None
    is_batch = (isinstance(obs, (list, tuple)) and len(obs) > 0 and rank is not None
                and np.ndim(obs) == rank + 1) or (arr is not None and rank is not None
                                                  and arr.ndim == rank + 1 and len(arr) > 0)
    if isinstance(space, (gym.spaces.Dict, gym.spaces.Tuple)) and isinstance(obs, list):
        is_batch = len(obs) > 0
    if not is_batch:
        raise UsageError(
            f"Observation {obs!r:.120} is not in the observation space {space}: "
            f"{single_reason}. Pass one raw env observation (or a list/array of them) "
            f"exactly as the env returns it; rldebug does not cast or clip.")
    items = list(obs)
    for i, item in enumerate(items):
        if not contains(space, item):
            hint = (" A list is read as a batch of observations; one observation of a Dict "
                    f"space is a dict of its keys ({', '.join(map(repr, space.spaces))})."
                    if isinstance(space, gym.spaces.Dict) and not isinstance(item, dict)
                    else "")
            raise UsageError(
                f"Observation {i} of the batch, {item!r:.120}, is not in the observation "
                f"space {space}: {why_not_in(item, space)}.{hint} rldebug does not cast or "
                "clip.")
    return [_as_array(item, space) for item in items], True


def _is_bool_for_numbers(obs: Any, space: gym.Space) -> bool:
    """True for a bool (or bool array) offered to a space of ints or floats."""
    dtype = getattr(space, "dtype", None)
    if dtype is None or np.dtype(dtype) == np.bool_:
        return False
    return _holds_bool(obs)


def _holds_bool(obs: Any) -> bool:
    """A bool anywhere in ``obs`` (a scalar, a bool array, or inside lists/tuples)."""
    if isinstance(obs, (bool, np.bool_)):
        return True
    if isinstance(obs, np.ndarray):
        return obs.dtype == np.bool_
    return isinstance(obs, (list, tuple)) and any(_holds_bool(item) for item in obs)


_ARRAY_SPACES = (gym.spaces.Box, gym.spaces.MultiDiscrete, gym.spaces.MultiBinary)


def _as_array(obs: Any, space: gym.Space) -> Any:
    """A list/tuple already found in an array space becomes an array, as in ``contains``;
    so does one inside a Dict or Tuple observation (the connectors flatten arrays)."""
    if isinstance(space, _ARRAY_SPACES) and isinstance(obs, (list, tuple)):
        return np.asarray(obs, dtype=space.dtype)
    if isinstance(space, gym.spaces.Dict) and isinstance(obs, dict):
        return {key: _as_array(value, space[key]) if key in space.spaces else value
                for key, value in obs.items()}
    if isinstance(space, gym.spaces.Tuple) and isinstance(obs, (list, tuple)) and \
            len(obs) == len(space.spaces):
        return tuple(_as_array(part, sub) for part, sub in zip(obs, space.spaces))
    return obs


def observation_from_json(value: Any, space: gym.Space) -> Any:
    """What a JSON value (numbers, lists, objects: no dtypes) spells in ``space``: arrays of
    the space's dtype, ints for Discrete, dicts and tuples of parts; a list of such values
    is a batch of them. A number the dtype cannot hold exactly (1.5 for an int space) is
    left as given, for the space check to name; floats become the space's float dtype."""
    if isinstance(space, gym.spaces.Dict):
        if isinstance(value, list):
            return [observation_from_json(item, space) for item in value]
        if not isinstance(value, dict):
            return value
        return {key: observation_from_json(part, space[key]) if key in space.spaces else part
                for key, part in value.items()}
    if isinstance(space, gym.spaces.Tuple):
        if not isinstance(value, list):
            return value
        single = len(value) == len(space.spaces) and not all(
            isinstance(item, list) and len(item) == len(space.spaces) for item in value)
        if single:
            return tuple(observation_from_json(part, sub)
                         for part, sub in zip(value, space.spaces))
        return [observation_from_json(item, space) for item in value]
    if isinstance(space, gym.spaces.Discrete):
        if isinstance(value, list):
            return [observation_from_json(item, space) for item in value]
        return int(value) if isinstance(value, float) and value.is_integer() else value
    if isinstance(space, _ARRAY_SPACES) and isinstance(value, (list, int, float)) and \
            not isinstance(value, bool):
        given = np.asarray(value)
        if given.dtype.kind not in "iuf":
            return value
        cast = given.astype(space.dtype)
        exact = np.dtype(space.dtype).kind == "f" or np.array_equal(cast, given)
        return cast if exact else value
    return value
