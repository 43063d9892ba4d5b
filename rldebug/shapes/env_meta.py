"""What an env declares about itself for rldebug's tools, read without importing any env.

An env class (or its module) may declare, as plain class attributes:

- ``ACTION_NAMES``: names of its Discrete actions, in action order
  (``("up", "right", "down", "left")``); ``explain`` and the pictures label actions with them.
- ``INFO_EVENTS``: the keys of boolean event flags its ``infos`` carry
  (``("collision", "new_field")``); ``break_on(events=...)`` checks names against them
  before training instead of on the first step.
- ``possible_agents`` as a class attribute: its agent ids, checked the same way.

Anything undeclared is simply unknown: tools then check against what the env
reports on its first step. ``env`` below is what ``config.env`` holds: a class,
a registered name (string) or None.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from rldebug.usage import UsageError, UsageTypeError


def _declared(env: Any, name: str) -> Any:
    """``name`` on the env class, else in the module that defines it, else None."""
    if env is None or isinstance(env, str):
        return None
    value = getattr(env, name, None)
    if value is None:
        cls = env if isinstance(env, type) else type(env)
        value = getattr(sys.modules.get(cls.__module__), name, None)
    return value


def action_names(env: Any, action_space: Any) -> tuple[str, ...] | None:
    """The env's ``ACTION_NAMES`` when they match a Discrete ``action_space``, else None."""
    names = _declared(env, "ACTION_NAMES")
    n = getattr(action_space, "n", None)
    if names is not None and n is not None and len(names) == int(n):
        return tuple(str(name) for name in names)
    return None


def info_events(env: Any) -> tuple[str, ...] | None:
    """The info event names the env declares (``INFO_EVENTS``), None if it declares none."""
    if env is None or isinstance(env, str):
        return None
    events = getattr(env, "INFO_EVENTS", None)  # the class itself, not its module
    return tuple(events) if events is not None else None


def built_env_info_events(env: Any) -> tuple[str, ...] | None:
    """:func:`info_events` of a built env (RLlib's vector env included): its sub-envs'
    class, asked in their own processes when they run there (async vectorisation)."""
    if not sub_envs_elsewhere(env):
        return info_events(type(unwrapped_env(env)))
    events = declared_by_sub_envs(env, "INFO_EVENTS")
    return tuple(events) if events is not None else None


def declared_agents(env: Any) -> tuple[str, ...] | None:
    """Agent ids declared on the env class (``possible_agents`` class attribute), else None."""
    if not isinstance(env, type):
        return None
    agents = env.__dict__.get("possible_agents")
    if agents is None:
        for base in env.__mro__[1:]:
            if "possible_agents" in base.__dict__ and isinstance(
                    base.__dict__["possible_agents"], (list, tuple)):
                agents = base.__dict__["possible_agents"]
                break
    return tuple(agents) if isinstance(agents, (list, tuple)) and agents else None


def env_name(env: Any) -> str:
    """A readable name for ``config.env``."""
    if env is None:
        return "the config's env"
    if isinstance(env, str):
        return env
    return getattr(env, "__name__", type(env).__name__)




def _vector_sub_envs(env: Any) -> list | None:
    """The env instances inside a vector env (RLlib's, or gymnasium's under its vector
    wrappers: RLlib's SingleAgentEnvRunner wraps its ``SyncVectorEnv`` in
    ``DictInfoToList``, which does not pass ``envs`` on), or None for any other env."""
    import gymnasium as gym
    from ray.rllib.env.vector.vector_multi_agent_env import VectorMultiAgentEnv

    if not isinstance(env, (gym.vector.VectorEnv, VectorMultiAgentEnv)):
        return None
    envs = getattr(env, "envs", None)
    if envs is None:
        envs = getattr(getattr(env, "unwrapped", None), "envs", None)
    return list(envs or [])


def sub_envs_elsewhere(env: Any) -> bool:
    """Whether ``env`` is a vector env whose sub-envs run in other processes
    (``env_runners(gym_env_vectorize_mode="async")``: gymnasium's AsyncVectorEnv), so
    no callback in this process can wrap or read them."""
    import gymnasium as gym

    return isinstance(env, gym.vector.VectorEnv) and \
        isinstance(getattr(env, "unwrapped", env), gym.vector.AsyncVectorEnv)


def declared_by_sub_envs(env: Any, name: str) -> Any:
    """A class attribute (``INFO_EVENTS``) of the sub-envs of a vector env that runs them
    in other processes, asked through gymnasium's ``get_attr``; None if they lack it."""
    try:
        values = env.get_attr(name)
    except Exception:  # noqa: BLE001 - the attribute is missing in the sub-env process
        return None
    return values[0] if values else None


def sub_envs(env: Any) -> list:
    """The env instances inside one of RLlib's vector envs (or ``[env]`` for any other)."""
    envs = _vector_sub_envs(env)
    return [env] if envs is None else envs


def unwrapped_env(env: Any) -> Any:
    """The user's env inside RLlib's vector envs and gymnasium wrappers (the first sub-env).

    Only vector envs are opened: an env of the user's own may have an ``envs``
    attribute (RLlib's ``make_multi_agent`` envs do) and is kept whole.
    """
    envs = _vector_sub_envs(env)
    if envs:
        env = envs[0]
    return getattr(env, "unwrapped", env)


def env_of(algo: Any) -> Any:
    """One unwrapped env instance of a built Algorithm: its local runner's, else a new one."""
    runner = algo.env_runner
    env = getattr(runner, "env", None) if runner is not None else None
    if env is not None:
        return unwrapped_env(env)
    from ray.rllib.env.env_context import EnvContext

    return unwrapped_env(algo.env_creator(EnvContext(algo.config.env_config, worker_index=0)))


# Written by rldebug.run next to params.json: what gymnasium's registry declares for the
# env the run trained on (:func:`declared_spec`), since params.json names only the class or
# the registered name a wrapped env was given.
ENV_SPEC_FILE = "rldebug_env.json"
# The ids RLlib registers a class or creator under before gym.make_vec: they overwrite the
# spec of the env inside (gymnasium's make sets ``env.unwrapped.spec``).
_RLLIB_IDS = frozenset({"rllib-single-agent-env-v0", "rllib-multi-agent-env-v0"})


def declared_spec(env: Any) -> dict | None:
    """What gymnasium's registry declares for a single-agent ``env`` (as RLlib built it:
    vector env, wrappers and all): ``{"env_id", "registered_ids", "reward_threshold",
    "max_episode_steps"}``, or None when it declares nothing certain.

    RLlib registers a class or creator under an id of its own and gymnasium's ``make``
    overwrites the inner env's spec with it, so a wrapped ``gym.make("LunarLander-v3")``
    no longer says what it is. It is found again from the unwrapped env's class: the
    registered ids whose entry point is that class, narrowed by the innermost time
    limit and by the ids' keyword arguments that the env's attributes contradict
    (LunarLanderContinuous is LunarLander with ``continuous=True``). When the ids left
    disagree on ``reward_threshold`` (or none is left), nothing is declared.
    """
    import gymnasium as gym

    env, limits = _time_limits(env)
    if not isinstance(env, gym.Env):
        return None  # a multi-agent env (or nothing): gymnasium declares no spec for it
    limit = limits[-1] if limits else None  # the innermost: the registered env's own
    base = type(env.unwrapped)
    path = f"{base.__module__}:{base.__qualname__}"
    candidates = [spec for spec in gym.registry.values() if spec.id not in _RLLIB_IDS
                  and (spec.entry_point == path or spec.entry_point is base)
                  and not _contradicts(spec.kwargs, env.unwrapped)]
    if limit is not None and any(spec.max_episode_steps == limit for spec in candidates):
        candidates = [spec for spec in candidates if spec.max_episode_steps == limit]
    thresholds = {spec.reward_threshold for spec in candidates}
    if len(thresholds) != 1:
        return None
    # the id whose keyword arguments the env matches most closely is the one it was made as
    ids = [spec.id for spec in sorted(candidates, key=lambda s: (-len(s.kwargs or {}), s.id))]
    return {"env_id": ids[0], "registered_ids": sorted(ids),
            "reward_threshold": thresholds.pop(), "max_episode_steps": limit}


def _time_limits(env: Any) -> tuple[Any, list]:
    """``env`` (its first sub-env when vectorised, wrappers kept; None for a vector env
    without any) and the limits of its ``TimeLimit`` wrappers, outermost first."""
    import gymnasium as gym

    envs = _vector_sub_envs(env)
    if envs is not None:
        env = envs[0] if envs else None
    limits, layer = [], env
    while isinstance(layer, gym.Wrapper):
        if isinstance(layer, gym.wrappers.TimeLimit):
            limits.append(layer._max_episode_steps)
        layer = layer.env
    return env, limits


def episode_step_limit(env: Any) -> int | None:
    """The most steps an episode of a single-agent ``env`` can last: the shortest of its
    ``TimeLimit`` wrappers' limits (of its first sub-env when vectorised); None when no
    time limit bounds it (or it is multi-agent)."""
    _env, limits = _time_limits(env)
    return min((limit for limit in limits if isinstance(limit, int)), default=None)


def _contradicts(kwargs: dict, env: Any) -> bool:
    """A registered id's keyword argument that ``env`` holds a different value of."""
    for key, value in (kwargs or {}).items():
        held = getattr(env, key, value)
        if isinstance(value, (bool, int, float, str)) and held != value:
            return True
    return False


def store_env_spec(algo: Any, logdir: str | Path) -> Path | None:
    """Write :func:`declared_spec` of ``algo``'s env (its local EnvRunner's, else one
    remote EnvRunner's; no env is made for it) to ``logdir``/:data:`ENV_SPEC_FILE`.
    None, and no file, when the env declares nothing or cannot be reached: the run
    goes on whatever its env is."""
    return write_env_spec(env_spec_of(algo), logdir)


def write_env_spec(spec: dict | None, logdir: str | Path) -> Path | None:
    """Write a :func:`declared_spec` to ``logdir``/:data:`ENV_SPEC_FILE` (nothing for None)."""
    if spec is None:
        return None
    path = Path(logdir) / ENV_SPEC_FILE
    path.write_text(_spec_text(spec))
    return path


def write_trial_env_spec(spec: dict | None, algo: Any) -> str | None:
    """Write a :func:`declared_spec` into the directory of the trial ``algo`` reports to
    (:func:`~rldebug.shapes.results.trial_storage`: under Tune, the trial's directory on
    its storage filesystem, beside params.json). Returns where it went (None: no spec, or
    no directory). Raises OSError when the directory cannot be written."""
    from rldebug.shapes.results import trial_storage

    where = trial_storage(algo)
    if spec is None or where is None:
        return None
    filesystem, directory = where
    if filesystem is None:
        return str(write_env_spec(spec, directory)) if Path(directory).is_dir() else None
    filesystem.create_dir(directory, recursive=True)
    target = f"{directory}/{ENV_SPEC_FILE}"
    with filesystem.open_output_stream(target) as stream:
        stream.write(_spec_text(spec).encode())
    return target


def _spec_text(spec: dict) -> str:
    return json.dumps(spec, indent=1, sort_keys=True) + "\n"


def env_spec_of(algo: Any) -> dict | None:
    """:func:`declared_spec` of a built Algorithm's env: its local EnvRunner's, else one
    remote EnvRunner's (no env is made for it); None when there is none, or when reading
    it raises (an env of the user's own may raise anything): a run goes on without it."""
    try:
        return _runner_env_spec(algo)
    except Exception:  # noqa: BLE001 - whatever the user's env raises
        return None


def _runner_env_spec(algo: Any) -> dict | None:
    runner = getattr(algo, "env_runner", None)
    env = getattr(runner, "env", None) if runner is not None else None
    if env is not None:
        return declared_spec(env)
    group = getattr(algo, "env_runner_group", None)
    if group is None or not group.num_remote_env_runners():
        return None
    specs = group.foreach_env_runner(lambda r: declared_spec(getattr(r, "env", None)),
                                     local_env_runner=False,
                                     remote_worker_ids=group.healthy_env_runner_ids()[:1])
    return specs[0] if specs else None


def stored_env_spec(logdir: str | Path) -> dict | None:
    """The spec :func:`store_env_spec` wrote for a run, or None (not written, unreadable)."""
    try:
        spec = json.loads((Path(logdir) / ENV_SPEC_FILE).read_text())
    except (OSError, ValueError):
        return None
    return spec if isinstance(spec, dict) else None


def unknown_env_id(env: Any) -> bool:
    """Whether ``env`` is an env id RLlib cannot build here, found as RLlib 2.60 looks one
    up (``Algorithm._get_env_id_and_creator``): a name ``ray.tune.register_env`` gave, a
    class path (with a "."), a ``module:EnvId`` gymnasium imports, or a gymnasium id.
    Nothing is built. False for anything that is not a string."""
    if not isinstance(env, str):
        return False
    import gymnasium as gym
    from ray.tune.registry import ENV_CREATOR, _global_registry

    if _global_registry.contains(ENV_CREATOR, env) or "." in env.split(":")[0] or ":" in env:
        return False  # registered, a class path, or a module gymnasium imports first
    try:
        gym.spec(env)
    except gym.error.Error:
        return True
    return False


def env_id_problem(env: Any) -> str:
    """What to say of ``env`` when it is an id RLlib cannot build here (gymnasium's own
    words in it: "Did you mean: CartPole?"); "" for anything else."""
    if not unknown_env_id(env):
        return ""
    import gymnasium as gym

    try:
        gym.spec(env)
    except gym.error.Error as err:
        return unknown_env_text(env, str(err))
    return ""


def unknown_env_text(env: str, why: str) -> str:
    """What to say of an env id nothing registered (``why``: the lookup's own words)."""
    return (f"{env!r} is neither a gymnasium id nor an env registered with "
            f"ray.tune.register_env ({why}). Pass the env class or an instance instead.")


class EnvBuildError(UsageError):
    """The user's env class or creator raised while rldebug built it as RLlib does."""


def _built(creator: Any, name: str, env_config: dict | None) -> Any:
    """``creator(EnvContext(env_config))``, as RLlib's EnvRunners call it (worker 0 of
    0): an env that reads ``env_config.worker_index`` builds here as it does there. An
    exception it raises is said as the env's, with what it was given."""
    from ray.rllib.env.env_context import EnvContext

    config = dict(env_config or {})
    try:
        return creator(EnvContext(config, worker_index=0, num_workers=0))
    except Exception as err:  # the user's env raised: say so, keep the chain
        raise EnvBuildError(
            f"Building the env raised {type(err).__name__}: {err} (it was called "
            f"as {name}(env_config={config!r:.120}), as RLlib's EnvRunners call it). If it "
            "reads settings from env_config, give them: config.environment(env_config="
            "{...}), or env_config={...} where you call rldebug.") from err


def make_env(env_or_class: Any, env_config: dict | None = None, caller: str = "make_env"):
    """An env instance from what RLlib's ``config.environment(env=...)`` accepts: an
    instance (returned as is), a class or creator called with ``env_config``, or a
    gymnasium id / ``ray.tune.register_env`` name.

    :raises TypeError: for anything else, or a creator that returns no env.
    :raises ValueError: for an unknown id, or an ``env_config`` given with an instance.
    """
    import gymnasium as gym
    from ray.rllib.env.multi_agent_env import MultiAgentEnv

    if env_config is not None and not isinstance(env_config, dict):
        raise UsageTypeError(f"env_config must be a dict or None, got {type(env_config).__name__}: "
                             f"{env_config!r:.80}.")
    if isinstance(env_or_class, (gym.Env, MultiAgentEnv)):
        if env_config:
            raise UsageError("env_config is only used to build an env from a class, creator or "
                             "id; you passed an env instance. Pass the class instead, e.g. "
                             f"{caller}(MyEnv, env_config={{...}}).")
        return env_or_class
    if isinstance(env_or_class, str):
        from ray.tune.registry import ENV_CREATOR, _global_registry

        if _global_registry.contains(ENV_CREATOR, env_or_class):
            creator = _global_registry.get(ENV_CREATOR, env_or_class)
            return _built(creator, env_or_class, env_config)
        try:
            return gym.make(env_or_class, **(env_config or {}))
        except gym.error.Error as err:
            raise UsageError(unknown_env_text(env_or_class, str(err))) from err
    if callable(env_or_class):
        env = _built(env_or_class, getattr(env_or_class, "__name__", repr(env_or_class)),
                     env_config)
        if not isinstance(env, (gym.Env, MultiAgentEnv)):
            raise UsageTypeError(f"{env_or_class!r}(env_config) returned "
                                 f"{type(env).__name__}, not a gymnasium.Env or ray.rllib "
                                 "MultiAgentEnv.")
        return env
    raise UsageTypeError(
        f"{caller} expects an env instance, an env class or creator called as "
        "cls(env_config), or a registered env id string; got "
        f"{type(env_or_class).__name__}: {env_or_class!r:.80}.")


def is_multi_agent_env(env: Any) -> bool:
    from ray.rllib.env.multi_agent_env import MultiAgentEnv

    return isinstance(unwrapped_env(env), MultiAgentEnv)


def agent_spaces(env: Any, single_agent_id: str = "default_agent") -> dict[Any, tuple]:
    """``{agent_id: (observation_space, action_space)}`` of an env instance.

    A gymnasium (single-agent) env has one agent, ``single_agent_id`` (RLlib's
    ``default_agent``, the name rldebug gives it on both stacks), with the spaces of its
    outermost wrapper: what RLlib builds the module for.
    """
    inner = unwrapped_env(env)
    if not is_multi_agent_env(inner):
        # the spaces of the env as the user's wrappers leave it (a FlattenObservation, a
        # discretising ActionWrapper): what RLlib builds the module for
        outer = (_vector_sub_envs(env) or [env])[0]
        if hasattr(outer, "single_observation_space"):  # a vector env without its sub-envs
            return {single_agent_id: (outer.single_observation_space,
                                      outer.single_action_space)}  # (async): one env's
        return {single_agent_id: (outer.observation_space, outer.action_space)}
    env = inner
    agents = list(getattr(env, "possible_agents", None) or env.get_agent_ids())
    return {aid: (env.get_observation_space(aid), env.get_action_space(aid)) for aid in agents}


def shared_space_attributes(env: Any) -> list[tuple[str, Any]]:
    """The space attributes of a multi-agent env instance that RLlib 2.60's new stack
    cannot read per agent, as ``[(attribute, space)]`` (empty for a single-agent env).

    Its vector env (``env/vector/sync_vector_multi_agent_env.py``) takes
    ``observation_spaces`` when the env sets it, else ``dict(observation_space)`` when
    that is set, else ``get_observation_space(aid)`` for each possible agent (actions
    alike): one space every agent shares (a ``Box``) fails building the EnvRunner with
    "TypeError: 'Box' object is not iterable". The old stack asks
    ``get_observation_space``, which returns the shared space."""
    from collections.abc import Mapping

    inner = unwrapped_env(env)
    if not is_multi_agent_env(inner):
        return []
    found = []
    for per_agent, shared_name in (("observation_spaces", "observation_space"),
                                   ("action_spaces", "action_space")):
        shared = getattr(inner, shared_name, None)
        if getattr(inner, per_agent, None) is None and shared is not None and \
                not isinstance(shared, Mapping):
            found.append((shared_name, shared))
    return found


def shared_space_text(env: Any, shared: list[tuple[str, Any]]) -> tuple[str, str]:
    """``(message, fix)`` for :func:`shared_space_attributes`' answer: what RLlib 2.60's
    new stack does with the env, and the per-agent declaration it needs."""
    said = " and ".join(f"{name} ({space})" for name, space in shared)
    first = shared[0][0]
    message = (f"{type(env).__name__} sets one {said} for every agent and no per-agent "
               f"{first}s: RLlib 2.60's new stack builds its EnvRunners' vector env with "
               f"dict(env.{first}), which raises a TypeError for a "
               f"{type(shared[0][1]).__name__} space (\"object is not iterable\" or "
               "\"cannot convert dictionary update sequence element\").")
    fix = ("In the env's __init__, declare " + " and ".join(
        f"self.{name}s = {{agent_id: <space> for agent_id in self.possible_agents}}"
        for name, _ in shared) + " (a gymnasium.spaces.Dict keyed by agent id works too; "
        "`rldebug debug` derives them for an unchanged script).")
    return message, fix


def module_is_trained(policies_to_train: Any, module_id: Any) -> bool | None:
    """Whether RLlib updates ``module_id`` under ``config.policies_to_train``, decided as
    ``Learner.should_module_be_updated`` (and the old stack's ``is_policy_to_train``)
    decide it: None trains every module, a collection its members, a callable
    ``(module_id, batch)`` is asked without a batch. None when that callable needs the
    batch to decide (it raised or returned None): unknown before training."""
    if policies_to_train is None:
        return True
    if not callable(policies_to_train):
        return module_id in set(policies_to_train)
    try:
        answer = policies_to_train(module_id, None)
    except Exception:  # noqa: BLE001 - user code that needs a batch: unknown, not an error
        return None
    return None if answer is None else bool(answer)


__all__ = [
    "ENV_SPEC_FILE",
    "EnvBuildError",
    "action_names",
    "agent_spaces",
    "built_env_info_events",
    "declared_agents",
    "declared_by_sub_envs",
    "declared_spec",
    "env_id_problem",
    "env_name",
    "env_of",
    "env_spec_of",
    "info_events",
    "is_multi_agent_env",
    "make_env",
    "module_is_trained",
    "shared_space_attributes",
    "shared_space_text",
    "store_env_spec",
    "stored_env_spec",
    "sub_envs",
    "sub_envs_elsewhere",
    "unknown_env_id",
    "unknown_env_text",
    "unwrapped_env",
    "write_env_spec",
    "write_trial_env_spec",
]
