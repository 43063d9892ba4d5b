"""Tutorial-era (gym 0.21, 2021) envs on RLlib 2.60, as ``rldebug debug`` applies them.

- :func:`gymnasium_env`: an env with the old API — ``reset()`` returning only the
  observation, ``step()`` returning ``(obs, reward, done, info)`` (per agent for a
  ``MultiAgentEnv``, with ``dones["__all__"]``), ``seed(n)`` for seeding — wrapped
  in the gymnasium API RLlib 2.60 expects: ``reset(seed=, options=)`` returns
  ``(obs, infos)``, ``step`` returns ``terminated`` and ``truncated`` (a done with
  gym's ``info["TimeLimit.truncated"]`` is a truncation, as gym's ``TimeLimit``
  reported it; other dones are terminations).
- :func:`adapt_config_env`: the same for ``config.environment(OldEnvClass)``.
- :func:`alias_gym`: ``import gym`` gets gymnasium when gym is not installed.
- :func:`callbacks_2021` / :func:`adapt_config_callbacks`: a 2021 callbacks class
  (``on_episode_step(worker, base_env, episode)``, ``episode.user_data``,
  ``custom_metrics``, ``prev_reward_for``, ``last_info_for``) run on 2.60.

Each adaptation is reported once through the ``notice`` callable it is given.
"""

from __future__ import annotations

import functools
import importlib.util
import inspect
import sys
import types
from collections.abc import Callable
from typing import Any

from rldebug.usage import UsageError, UsageTypeError

TRUNCATED_KEY = "TimeLimit.truncated"


def has_old_reset(env_class: Any) -> bool:
    """True if ``env_class.reset`` cannot take ``seed=`` (the gym 0.21 signature)."""
    reset = getattr(env_class, "reset", None)
    if reset is None:
        return False
    try:
        parameters = inspect.signature(reset).parameters.values()
    except (TypeError, ValueError):
        return False
    return not any(p.name == "seed" or p.kind is p.VAR_KEYWORD for p in parameters)


def _split_dones(dones: Any, infos: Any, multi_agent: bool):
    """(terminated, truncated) from gym 0.21 ``done``(s) and ``info``(s)."""
    if not multi_agent:
        truncated = bool(dones) and bool((infos or {}).get(TRUNCATED_KEY, False))
        return bool(dones) and not truncated, truncated
    terminated, truncated = {}, {}
    for agent, done in dones.items():
        info = (infos or {}).get(agent, {}) if agent != "__all__" else {}
        cut = bool(done) and bool(info.get(TRUNCATED_KEY, False))
        terminated[agent], truncated[agent] = bool(done) and not cut, cut
    if "__all__" in dones:
        agents = [a for a in dones if a != "__all__"]
        cut_all = bool(dones["__all__"]) and bool(agents) and all(truncated[a] for a in agents)
        terminated["__all__"] = bool(dones["__all__"]) and not cut_all
        truncated["__all__"] = cut_all
    return terminated, truncated


def gymnasium_env(env: Any) -> Any:
    """``env`` (an old-API instance) behind the gymnasium API RLlib 2.60 calls."""
    import gymnasium as gym
    from ray.rllib.env.multi_agent_env import MultiAgentEnv

    multi_agent = isinstance(env, MultiAgentEnv)
    base = MultiAgentEnv if multi_agent else gym.Env

    class Gym021(base):
        """An old-API env, adapted (see :mod:`rldebug.compat.legacy`)."""

        def __init__(self):
            if multi_agent:
                super().__init__()
            self.legacy_env = env
            for name in ("observation_space", "action_space", "observation_spaces",
                         "action_spaces", "possible_agents", "agents", "metadata",
                         "render_mode"):
                if hasattr(env, name):
                    setattr(self, name, getattr(env, name))

        def reset(self, *, seed=None, options=None):
            if seed is not None and callable(getattr(env, "seed", None)):
                env.seed(seed)
            result = env.reset()
            if isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], dict):
                return result  # already (obs, infos)
            return result, {}

        def step(self, action):
            result = env.step(action)
            if len(result) == 5:
                return result
            obs, reward, dones, infos = result
            terminated, truncated = _split_dones(dones, infos, multi_agent)
            return obs, reward, terminated, truncated, infos

        def render(self):
            return env.render()

        def close(self):
            close = getattr(env, "close", None)
            return close() if callable(close) else None

        def __getattr__(self, name):  # anything else the old env offers
            if name == "legacy_env":
                raise AttributeError(name)
            return getattr(self.legacy_env, name)

    Gym021.__name__ = f"Gym021({type(env).__name__})"
    return Gym021()


def _agent_ids(env: Any) -> tuple[list, str]:
    """An env's agent ids and where they were read: its ``possible_agents``/``agents``,
    else the observation keys of one ``reset()``."""
    for name in ("possible_agents", "agents", "_agent_ids"):
        ids = list(getattr(env, name, None) or [])
        if ids:
            return ids, name
    first = env.reset()
    obs = first[0] if isinstance(first, tuple) and len(first) == 2 else first
    return list(obs), "the observations of one reset()"


def _policy_space(config, agent_id: Any, which: int) -> Any:
    """The observation (which=1) or action (which=2) space of the policy spec
    ``config.policies`` gives the agent's module, or None."""
    from rldebug.shapes.mapping import map_agents

    mapping, error = map_agents(config.policy_mapping_fn, [agent_id],
                                old_stack=not config.enable_env_runner_and_connector_v2)
    policies = config.policies if isinstance(config.policies, dict) else {}
    spec = policies.get(mapping.get(agent_id)) if not error else None
    if spec is None:
        return None
    if isinstance(spec, (tuple, list)):
        return spec[which] if len(spec) > which else None
    return getattr(spec, ("observation_space", "action_space")[which - 1], None)


def shared_space_agents(env: Any, config) -> tuple[dict, dict, str] | None:
    """Per-agent spaces for a multi-agent env that declares one shared
    ``observation_space``/``action_space`` (or none) instead of RLlib 2.60's per-agent
    ``observation_spaces``/``action_spaces``: ``(obs spaces, action spaces, how)``,
    from the shared space, else the policy spec the agent maps to; None when the env
    declares per-agent spaces already (attributes, its own ``get_observation_space`` and
    ``get_action_space``, or a ``Dict`` keyed by its agents)."""
    import gymnasium as gym
    from ray.rllib.env.multi_agent_env import MultiAgentEnv

    declared = (getattr(env, "observation_spaces", None), getattr(env, "action_spaces", None))
    if all(declared):
        return None
    # its own get_observation_space/get_action_space answer per agent, and RLlib asks them
    # (RLlib's DoubleRowCorridorEnv example)
    if all(getattr(type(env), method, None) is not getattr(MultiAgentEnv, method)
           for method in ("get_observation_space", "get_action_space")):
        return None
    ids, source = _agent_ids(env)
    found: list[dict] = [{}, {}]
    for which, name in ((1, "observation_space"), (2, "action_space")):
        shared = getattr(env, name, None)
        if isinstance(shared, gym.spaces.Dict) and set(ids) <= set(shared.spaces):
            return None
        for aid in ids:
            space = shared if shared is not None else _policy_space(config, aid, which)
            if space is None:
                raise UsageError(f"{type(env).__name__} declares no {name} and the policy "
                                 f"agent {aid!r} maps to has none: declare "
                                 f"self.{name}s = {{agent_id: space}} in the env.")
            found[which - 1][aid] = space
    how = ("one shared space" if getattr(env, "observation_space", None) is not None
           else "the policy specs of config.policies")
    return found[0], found[1], f"agents {ids} (from {source}), spaces from {how}"


def to_shared_policy(agent_id, *args, **kwargs) -> str:
    """2021 RLlib's mapping for a multi-agent env given no policies: one shared policy
    (not called "default_policy", which RLlib 2.60 takes for a single-agent setup)."""
    return "shared_policy"


def adapt_config_shared_policy(config, notice: Callable[[str], None]):
    """``config`` given one policy every agent shares (a copy), as 2021 RLlib trained a
    multi-agent env whose config named no policies; or ``config`` itself. RLlib 2.60's
    new stack samples such an env as if it had one agent, and fails (a numpy
    "Output array has wrong dimensionality" in gymnasium's vector env)."""
    from ray.rllib.env.multi_agent_env import MultiAgentEnv

    env = config.env
    if not (inspect.isclass(env) and issubclass(env, MultiAgentEnv)) or \
            config.is_multi_agent or not config.enable_env_runner_and_connector_v2:
        return config
    notice(f"{env.__name__} is a multi-agent env and the config names no policies: every "
           "agent trains one shared policy, 'shared_policy', as 2021 RLlib did with its "
           "default policy (config.multi_agent(policies=..., policy_mapping_fn=...) to "
           "choose).")
    adapted = config.copy(copy_frozen=False)
    adapted.multi_agent(policies={"shared_policy"}, policy_mapping_fn=to_shared_policy)
    return adapted


def adapt_config_env(config, notice: Callable[[str], None]):
    """``config`` with its env class adapted (a copy), or ``config`` itself when the env
    needs nothing: an old-API env wrapped by :func:`gymnasium_env`; on the new API
    stack, a multi-agent env with one shared space given per-agent spaces
    (:func:`shared_space_agents`)."""
    from ray.rllib.env.multi_agent_env import MultiAgentEnv

    env_class = config.env
    if not inspect.isclass(env_class):
        return config
    old_api = has_old_reset(env_class)
    spaces = None
    if config.enable_rl_module_and_learner and issubclass(env_class, MultiAgentEnv):
        probe = env_class(config.env_config or {})
        try:
            spaces = shared_space_agents(probe, config)
        finally:
            close = getattr(probe, "close", None)
            if callable(close):
                close()
    if not old_api and spaces is None:
        return config
    if old_api:
        notice(f"{env_class.__name__} has gym 0.21's reset() (no seed): adapted to "
               "gymnasium's reset(seed=) -> (obs, infos) and 5-tuple step (done with "
               f"info[{TRUNCATED_KEY!r}] -> truncated, else terminated).")
    if spaces is not None:
        notice(f"{env_class.__name__} declares no per-agent spaces (observation_spaces/"
               f"action_spaces), which RLlib's new API stack needs: given them for "
               f"{spaces[2]}.")

    from ray.tune.registry import register_env

    def make(env_config):
        env = env_class(env_config)
        if spaces is not None:
            env.observation_spaces, env.action_spaces = dict(spaces[0]), dict(spaces[1])
            if not getattr(env, "possible_agents", None):
                env.possible_agents = list(spaces[0])
            if not getattr(env, "agents", None):
                env.agents = list(spaces[0])
        return gymnasium_env(env) if old_api else env

    # RLlib takes a class or a registered id, not a function.
    name = f"rldebug-adapted-{env_class.__module__}.{env_class.__qualname__}"
    register_env(name, make)
    adapted = config.copy(copy_frozen=False)
    adapted.environment(name, env_config=dict(config.env_config or {}))
    return adapted


class _SaidWhenUsed(types.ModuleType):
    """A module whose attributes come from ``attributes`` (a module or a dict of makers),
    saying its notice the first time a script uses one: debug mode provides such modules
    for every script, and only the scripts that use them should hear of it."""

    def __init__(self, name: str, attributes, notice: Callable[[], None]):
        super().__init__(name)
        self.__dict__["_rldebug_attributes"] = attributes
        self.__dict__["_rldebug_notice"] = notice

    def __getattr__(self, attribute: str):
        if attribute.startswith("_rldebug_"):
            raise AttributeError(attribute)
        attributes = self.__dict__["_rldebug_attributes"]
        if attribute.startswith("__"):  # tools that scan sys.modules (__file__, __path__)
            if isinstance(attributes, dict):
                raise AttributeError(attribute)
            return getattr(attributes, attribute)
        if isinstance(attributes, dict):
            if attribute not in attributes:
                raise AttributeError(f"module {self.__name__!r} has no attribute {attribute!r}")
            value = self.__dict__[attribute] = attributes[attribute]()  # made once
        else:
            value = getattr(attributes, attribute)
        self.__dict__["_rldebug_notice"]()
        return value


def _once(say: Callable[[], None]) -> Callable[[], None]:
    said = []

    def say_once() -> None:
        if not said:
            said.append(True)
            say()
    return say_once


def alias_gym(notice: Callable[[str], None]) -> list[str]:
    """Make ``import gym`` give gymnasium when gym is not installed (said when the script
    first uses it); the names it put into ``sys.modules`` (none if gym is there)."""
    if "gym" in sys.modules or importlib.util.find_spec("gym") is not None:
        return []
    import gymnasium

    sys.modules["gym"] = _SaidWhenUsed("gym", gymnasium, _once(lambda: notice(
        "`import gym` gives gymnasium (gym is not installed); envs written for gym 0.21 "
        "are adapted when RLlib builds them.")))
    added = ["gym"]
    for name in ("spaces", "envs", "wrappers", "utils", "error"):
        module = getattr(gymnasium, name, None)
        if module is not None:
            sys.modules[f"gym.{name}"] = module
            added.append(f"gym.{name}")
    return added


# -- 2021 callbacks ---------------------------------------------------------------------

_OLD_HOOKS = ("on_episode_start", "on_episode_step", "on_episode_end")
_OLD_ARGUMENTS = {"worker", "base_env", "policies", "trainer"}


def is_old_callbacks(callbacks_class: Any) -> bool:
    """True if a callbacks class defines 2021 hooks (``worker``, ``base_env``,
    ``policies``, ``trainer``) itself; RLlib's own base classes accept those names
    too, so only hooks written outside ``ray.rllib`` count."""
    for name in _OLD_HOOKS + ("on_train_result",):
        owner = next((c for c in inspect.getmro(callbacks_class) if name in vars(c)), None)
        if owner is None or owner.__module__.startswith("ray.rllib"):
            continue
        hook = getattr(callbacks_class, name, None)
        try:
            parameters = set(inspect.signature(hook).parameters) if hook else set()
        except (TypeError, ValueError):
            continue
        if parameters & _OLD_ARGUMENTS:
            return True
    return False


class Episode2021:
    """What a 2021 callback called ``episode``: ``user_data``, ``custom_metrics``,
    ``hist_data``, ``prev_reward_for(agent)``, ``last_info_for(agent)``,
    ``length``, ``total_reward``, ``episode_id``, over RLlib 2.60's episode."""

    def __init__(self, episode):
        self.episode = episode
        self.user_data: dict = {}
        self.custom_metrics: dict = {}
        self.hist_data: dict = {}
        self.length = 0
        self.total_reward = 0.0

    @property
    def episode_id(self):
        from rldebug.shapes.episodes import episode_id

        return episode_id(self.episode)

    def _step(self, agent_id):
        from rldebug.shapes.episodes import DEFAULT_AGENT_ID, last_step

        return last_step(self.episode).get(DEFAULT_AGENT_ID if agent_id is None else agent_id)

    def prev_reward_for(self, agent_id=None) -> float:
        step = self._step(agent_id)
        return 0.0 if step is None or step.reward is None else float(step.reward)

    def last_info_for(self, agent_id=None) -> dict:
        step = self._step(agent_id)
        return {} if step is None else dict(step.info)

    def _record_step(self) -> None:
        from rldebug.shapes.episodes import last_step

        self.length += 1
        self.total_reward += sum(s.reward or 0.0 for s in last_step(self.episode).values())


def _call(hook, **available):
    """Call a 2021 hook with the keyword arguments its signature takes."""
    parameters = inspect.signature(hook).parameters
    if any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
        return hook(**available)
    return hook(**{k: v for k, v in available.items() if k in parameters})


def callbacks_2021(old_class: Any):
    """An RLlib 2.60 callback class that runs a 2021 callbacks class's hooks.

    ``episode`` is an :class:`Episode2021` kept for the whole episode;
    ``custom_metrics`` are logged when the episode ends as
    ``env_runners/custom_metrics/<name>_{mean,min,max}`` (2021 showed
    ``custom_metrics/<name>_{mean,min,max}``); ``worker`` is the EnvRunner,
    ``base_env`` the env, ``trainer`` the Algorithm.
    """
    from ray.rllib.callbacks.callbacks import RLlibCallback

    from rldebug.shapes.episodes import episode_id, finish_episode_means, log_episode_value

    class Callbacks2021(RLlibCallback):
        def __init__(self):
            super().__init__()
            self.legacy = old_class()
            self._episodes: dict[str, Episode2021] = {}

        def _episode(self, episode) -> Episode2021:
            key = episode_id(episode)
            if key not in self._episodes:
                self._episodes[key] = Episode2021(episode)
            shim = self._episodes[key]
            shim.episode = episode
            return shim

        def _hook(self, name, episode, env_runner, env, env_index, **extra):
            hook = getattr(self.legacy, name, None)
            if hook is not None:
                _call(hook, worker=env_runner, base_env=env, policies={},
                      episode=episode, env_index=env_index, **extra)

        def on_episode_start(self, *, episode, env_runner=None, env=None, env_index=0,
                             **kwargs):
            self._hook("on_episode_start", self._episode(episode), env_runner, env, env_index)

        def on_episode_step(self, *, episode, env_runner=None, env=None, env_index=0,
                            **kwargs):
            shim = self._episode(episode)
            shim._record_step()
            self._hook("on_episode_step", shim, env_runner, env, env_index)

        def on_episode_end(self, *, episode, env_runner=None, env=None, env_index=0,
                           metrics_logger=None, **kwargs):
            shim = self._episode(episode)
            self._hook("on_episode_end", shim, env_runner, env, env_index)
            del self._episodes[episode_id(episode)]
            if metrics_logger is not None:
                for name, value in shim.custom_metrics.items():
                    log_episode_value(episode, metrics_logger, ("custom_metrics", str(name)),
                                      float(value))

        def on_train_result(self, *, algorithm, result, **kwargs):
            finish_episode_means(result)  # the custom_metrics' means, before 2021's hook
            hook = getattr(self.legacy, "on_train_result", None)
            if hook is not None:
                _call(hook, trainer=algorithm, algorithm=algorithm, result=result)

    Callbacks2021.__name__ = f"Callbacks2021({old_class.__name__})"
    Callbacks2021.__qualname__ = Callbacks2021.__name__
    return Callbacks2021


class EpisodeV2In2021:
    """The old stack's ``EpisodeV2`` with what a 2021 callback also called on its episode
    and RLlib 2.60 dropped: ``prev_reward_for(agent)``, ``last_action_for(agent)`` and
    ``last_observation_for(agent)`` (the agent's newest, as 2021's ``Episode`` gave them).
    Everything else is the ``EpisodeV2`` itself."""

    def __init__(self, episode):
        object.__setattr__(self, "_episode", episode)

    def __getattr__(self, name):
        return getattr(self._episode, name)

    def __setattr__(self, name, value):
        setattr(self._episode, name, value)

    def prev_reward_for(self, agent_id="agent0") -> float:
        from rldebug.shapes.episodes import old_stack_newest

        reward = old_stack_newest(self._episode, agent_id, "rewards")
        return 0.0 if reward is None else float(reward)

    def last_action_for(self, agent_id="agent0"):
        from rldebug.shapes.episodes import old_stack_newest

        return old_stack_newest(self._episode, agent_id, "actions")

    def last_observation_for(self, agent_id="agent0"):
        from rldebug.shapes.episodes import old_stack_newest

        return old_stack_newest(self._episode, agent_id, "obs")


_EPISODE_HOOKS = ("on_episode_created", "on_episode_start", "on_episode_step",
                  "on_episode_end")


def old_stack_callbacks_2021(old_class: Any):
    """``old_class`` (2021 hooks) for the old stack of RLlib 2.60, which calls its hooks
    itself but hands them an ``EpisodeV2``: each hook gets :class:`EpisodeV2In2021`. An
    episode a failed sub-env ended (RLlib hands the hook the exception) is not passed on."""
    from rldebug.shapes.episodes import sub_env_failed

    def wrapped(name):
        def hook(self, *args, **kwargs):
            if "episode" not in kwargs:
                return getattr(old_class, name)(self, *args, **kwargs)
            if sub_env_failed(kwargs["episode"]):  # 2021 hooks never got an exception
                return None
            return getattr(old_class, name)(
                self, *args, **{**kwargs, "episode": EpisodeV2In2021(kwargs["episode"])})
        return hook

    class OldStack2021(old_class):
        pass

    for name in _EPISODE_HOOKS:  # those written for 2021
        if not (getattr(getattr(old_class, name, None), "__module__", None)
                or "").startswith("ray.rllib"):
            setattr(OldStack2021, name, wrapped(name))
    OldStack2021.__name__ = OldStack2021.__qualname__ = old_class.__name__
    OldStack2021.__module__ = old_class.__module__
    OldStack2021._rldebug_adapted_2021 = True
    return OldStack2021


def adapt_config_callbacks(config, notice: Callable[[str], None]):
    """``config`` with a 2021 callbacks class run through :func:`callbacks_2021` (a
    copy; on the old stack :func:`old_stack_callbacks_2021`), or ``config`` itself."""
    old = config.callbacks_class
    if not inspect.isclass(old) or not is_old_callbacks(old) or \
            getattr(old, "_rldebug_adapted_2021", False):
        return config  # no 2021 hooks, or adapted already (config_from_dict, then __init__)
    if not config.enable_rl_module_and_learner:  # RLlib calls 2021 hooks itself
        adapted = config.copy(copy_frozen=False)
        adapted.callbacks(old_stack_callbacks_2021(old))
        return adapted
    notice(f"{old.__name__} has 2021 callback hooks (worker, base_env, episode.user_data, "
           "custom_metrics): run through an adapter; custom_metrics appear as "
           "env_runners/custom_metrics/<name>_mean/_min/_max.")
    adapted = config.copy(copy_frozen=False)
    adapted.callbacks(callbacks_2021(old))
    return adapted


class MappingOf2021:
    """A 2021 ``policy_mapping_fn(agent)`` (or ``(agent, episode)``) called as RLlib 2.60
    calls it, ``(agent_id, episode, **kwargs)``, with the arguments it takes."""

    def __init__(self, function: Callable, positional: int):
        self.function, self.positional = function, positional

    def __call__(self, agent_id, episode=None, *args, **kwargs):
        return self.function(*(agent_id, episode)[:self.positional])


def adapt_config_mapping(config, notice: Callable[[str], None]):
    """``config`` with a 2021 ``policy_mapping_fn`` that RLlib 2.60 cannot call wrapped in
    :class:`MappingOf2021` (a copy), or ``config`` itself."""
    from rldebug.traps import mapping_call_problem
    from rldebug.usage import cannot_be_called

    problem = mapping_call_problem(config)
    function = config.policy_mapping_fn
    positional = next((n for n, args in ((1, ("a",)), (2, ("a", None)))
                       if cannot_be_called(function, *args) is None), None)
    if problem is None or positional is None:
        return config
    takes = "agent id" if positional == 1 else "agent id and episode"
    notice(f"{problem}: called with the {takes} it takes.")
    adapted = config.copy(copy_frozen=False)
    adapted.multi_agent(policy_mapping_fn=MappingOf2021(function, positional))
    return adapted


def _flatten(multi_agent: bool):
    def connector(env=None, spaces=None, device=None):
        from ray.rllib.connectors.env_to_module import FlattenObservations

        return FlattenObservations(multi_agent=multi_agent)
    return connector


def adapt_config_encoder(config, trap, notice: Callable[[str], None]):
    """``config`` with RLlib's flattening connector added (a copy), for a
    ``no_default_encoder`` trap of :func:`rldebug.traps.preflight`: 2021 code
    relied on the old stack's preprocessors for Discrete/MultiDiscrete/Dict
    observations."""
    notice(f"{trap.message} Added FlattenObservations as the env-to-module connector, as "
           "the old stack's preprocessors did.")
    adapted = config.copy(copy_frozen=False)
    adapted.env_runners(env_to_module_connector=_flatten(config.is_multi_agent))
    return adapted




# -- 2021 trainers and config dicts ---------------------------------------------------------

# 2021 config keys and their 2.60 names; how RLlib takes each: how_rllib_takes.
RENAMED_KEYS = {"sgd_minibatch_size": "minibatch_size", "num_sgd_iter": "num_epochs",
                "num_envs_per_worker": "num_envs_per_env_runner",
                "evaluation_num_workers": "evaluation_num_env_runners"}


@functools.cache
def how_rllib_takes(old: str, as_keyword: bool) -> str:
    """What RLlib 2.60 does with the 2021 name ``old`` (a key of :data:`RENAMED_KEYS`),
    given as a keyword of ``training()``/``evaluation()``/``env_runners()`` or as a key of
    a dict handed to ``update_from_dict``: ``"translated"`` (it sets the 2.60 name, with a
    deprecation warning), ``"ignored"`` (kept on the config, never read) or ``"refused"``
    (it raises). Probed on RLlib itself, not remembered: num_sgd_iter is translated as a
    keyword and ignored in a dict; sgd_minibatch_size refused and ignored;
    evaluation_num_workers translated both ways; num_envs_per_worker refused in a dict."""
    import logging

    from ray.rllib.algorithms.ppo import PPOConfig

    new, probe = RENAMED_KEYS[old], 7
    quiet = logging.root.manager.disable
    logging.disable(logging.WARNING)  # RLlib's deprecation warnings, not the user's
    try:
        if as_keyword:
            for method in ("training", "evaluation", "env_runners"):
                try:
                    config = getattr(PPOConfig(), method)(**{old: probe})
                except TypeError:  # not this method's keyword
                    continue
                except ValueError:  # RLlib's own "has been deprecated. Use ..."
                    return "refused"
                return "translated" if getattr(config, new, None) == probe else "ignored"
            return "refused"
        try:
            config = PPOConfig().update_from_dict({old: probe})
        except (TypeError, ValueError, AttributeError):
            return "refused"
        return "translated" if getattr(config, new, None) == probe else "ignored"
    finally:
        logging.disable(quiet)


# result keys 2021 code read at the top level -> where 2.60's old stack reports them
RESULT_ALIASES = ("episode_reward_mean", "episode_reward_min", "episode_reward_max",
                  "episode_len_mean", "episodes_this_iter", "policy_reward_mean",
                  "policy_reward_min", "policy_reward_max", "custom_metrics", "hist_stats")


# Config keys only 2021-era dicts have (RLlib 2.60 renamed or nested them all).
KEYS_2021 = ("num_workers", "sgd_minibatch_size", "num_sgd_iter", "multiagent",
             "num_envs_per_worker", "evaluation_num_workers")


def keys_2021(config: dict) -> list[str]:
    """What makes ``config`` a 2021 config dict: its 2021-only keys and a callbacks class
    with 2021 hooks; ``[]`` for a dict that names its API stack (as every
    ``AlgorithmConfig.to_dict()`` does) or has none of them."""
    if "enable_rl_module_and_learner" in config or \
            "enable_env_runner_and_connector_v2" in config:
        return []
    found = [k for k in KEYS_2021 if k in config]
    callbacks = config.get("callbacks")
    if inspect.isclass(callbacks) and is_old_callbacks(callbacks):
        found.append("callbacks with 2021 hooks")
    return found


# 2021 top-level result key -> where RLlib 2.60's new stack reports it under env_runners
NEW_STACK_ALIASES = {"episode_reward_mean": "episode_return_mean",
                     "episode_reward_min": "episode_return_min",
                     "episode_reward_max": "episode_return_max",
                     "episode_len_mean": "episode_len_mean",
                     "episodes_this_iter": "num_episodes",
                     "policy_reward_mean": "module_episode_returns_mean",
                     "custom_metrics": "custom_metrics"}


def with_2021_keys(result: dict) -> dict:
    """``result`` (changed in place) also answering the top-level keys 2021 code read:
    ``episode_reward_mean/min/max``, ``episode_len_mean``, ``episodes_this_iter``,
    ``policy_reward_mean`` (per module), ``custom_metrics`` (``<name>_mean/_min/_max``),
    from either stack's ``env_runners``."""
    runners = result.get("env_runners")
    if not isinstance(runners, dict):
        return result
    # (The old stack also leaves an empty top-level custom_metrics: filled, not kept.)
    for key in RESULT_ALIASES:  # the old stack reports them under these names
        if key in runners and result.get(key) in (None, {}):
            result[key] = runners[key]
    for key, new_key in NEW_STACK_ALIASES.items():
        if new_key in runners and result.get(key) in (None, {}):
            result[key] = runners[new_key]
    return result


def config_from_2021(base, config: dict | None, env: Any = None,
                     notice: Callable[[str], None] | None = None, why: str = "a 2021 trainer"):
    """An old-API-stack AlgorithmConfig from a 2021 config dict (``DEFAULT_CONFIG``-based,
    ``num_workers``, ``sgd_minibatch_size``, ``num_sgd_iter``, ``"multiagent"``,
    ``"model"``): the old stack, because 2021 code calls ``get_policy()`` and
    ``compute_single_action``, reads the old stack's result keys, and gives a
    multi-agent env one shared space.

    :param base: a fresh AlgorithmConfig of the algorithm (``PPOConfig()``).
    :param why: what showed it is 2021 code, for the notice.
    """
    if config is not None and not isinstance(config, dict):
        raise UsageTypeError(f"A 2021 trainer takes config=dict, got {type(config).__name__}.")
    renamed = {RENAMED_KEYS.get(k, k): v for k, v in (config or {}).items()}
    mapped = sorted(k for k in (config or {}) if k in RENAMED_KEYS)
    if env is not None:
        renamed["env"] = env
    result = (base.api_stack(enable_rl_module_and_learner=False,
                             enable_env_runner_and_connector_v2=False)
              .update_from_dict(renamed))
    if notice is not None:
        notice(f"{why}: config mapped to {type(base).__name__} on the old API stack, as "
               "2021 RLlib ran it"
               + (f" (renamed: {', '.join(f'{k} -> {RENAMED_KEYS[k]}' for k in mapped)})"
                  if mapped else "") + ".")
    return result


def config_from_dict(algo_class, config: dict, notice: Callable[[str], None]):
    """The AlgorithmConfig a config dict means, however it reaches an Algorithm
    (``tune.run("PPO", config=...)``, ``Tuner(param_space=...)``, ``PPO(config=...)``,
    ``get_trainable_cls("PPO")(config=...)``): a 2021 dict (:func:`keys_2021`) on the
    old API stack, as :func:`config_from_2021`; any other dict as RLlib's
    ``update_from_dict`` reads it."""
    found = keys_2021(config)
    if not found:
        return algo_class.get_default_config().update_from_dict(config)
    # its 2021 callbacks adapted now, before anything combines them with others
    return adapt_config_callbacks(
        config_from_2021(algo_class.get_default_config(), config, notice=notice,
                         why=f"2021 config dict ({', '.join(found)})"), notice)


class WorkerSet2021:
    """2021's ``WorkerSet`` over RLlib 2.60's ``EnvRunnerGroup``: ``local_worker()`` (the
    EnvRunner, or on the old stack the RolloutWorker, in this process), ``remote_workers()``
    and ``foreach_worker(fn)``; anything else is the group's."""

    def __init__(self, group):
        self._group = group

    def local_worker(self):
        return self._group.local_env_runner

    def remote_workers(self) -> list:
        return [actor for _, actor in self._group._worker_manager.actors().items()]

    def foreach_worker(self, function, *args, **kwargs):
        return self._group.foreach_env_runner(function, *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._group, name)


def trainer_2021(algo_class, config_class, notice: Callable[[str], None]):
    """A ``PPOTrainer``-like class: built from a 2021 config dict, its ``train()``
    results also answer the 2021 top-level keys (``result["episode_reward_mean"]``)."""

    class Trainer2021(algo_class):
        def __init__(self, config=None, env=None, **kwargs):
            if not hasattr(config, "to_dict"):
                config = config_from_2021(config_class(), config, env, notice)
            super().__init__(config=config, **kwargs)

        def train(self):
            return with_2021_keys(super().train())

        def save(self, checkpoint_dir=None, *args, **kwargs) -> str:
            """The checkpoint's path, as 2021's ``trainer.save()`` returned it (2.60
            returns a training result holding a Checkpoint)."""
            saved = super().save(checkpoint_dir, *args, **kwargs)
            checkpoint = getattr(saved, "checkpoint", saved)
            return str(getattr(checkpoint, "path", checkpoint))

        def evaluate(self, *args, **kwargs):
            """2.60's evaluation results, also under 2021's ``["evaluation"]`` with its
            top-level keys (``results["evaluation"]["episode_reward_mean"]``)."""
            results = super().evaluate(*args, **kwargs)
            return {**results, "evaluation": with_2021_keys(dict(results))}

        @property
        def workers(self) -> WorkerSet2021:
            """2021's ``trainer.workers``: ``local_worker()`` and ``remote_workers()`` over
            2.60's ``env_runner_group``."""
            return WorkerSet2021(self.env_runner_group)

    Trainer2021.__name__ = Trainer2021.__qualname__ = f"{algo_class.__name__}Trainer"
    return Trainer2021


def install_agents_modules(notice: Callable[[str], None]) -> list[str]:
    """``ray.rllib.agents`` (removed in 2.x) as 2021 imports used it: ``ppo.PPOTrainer``,
    ``ppo.DEFAULT_CONFIG``, ``dqn.DQNTrainer``, ``callbacks.DefaultCallbacks``,
    ``trainer.Trainer``/``COMMON_CONFIG``; the names it put into ``sys.modules``."""

    if "ray.rllib.agents" in sys.modules:
        return []
    from ray.rllib.algorithms.algorithm import Algorithm
    from ray.rllib.algorithms.algorithm_config import AlgorithmConfig
    from ray.rllib.algorithms.callbacks import DefaultCallbacks
    from ray.rllib.algorithms.dqn import DQN, DQNConfig
    from ray.rllib.algorithms.ppo import PPO, PPOConfig

    say = _once(lambda: notice(
        "`ray.rllib.agents` (removed from RLlib) is provided: PPOTrainer/DQNTrainer take "
        "2021 config dicts and run on the old API stack."))

    def module(name: str, **makers) -> types.ModuleType:
        made = _SaidWhenUsed(name, makers, say)
        sys.modules[name] = made
        return made

    def old_stack_dict(config_class):
        """An old-stack config dict (DEFAULT_CONFIG, COMMON_CONFIG), built when a script
        reads it: building one makes RLlib log a warning."""
        return lambda: config_class().api_stack(
            enable_rl_module_and_learner=False,
            enable_env_runner_and_connector_v2=False).to_dict()

    ppo = module("ray.rllib.agents.ppo", PPOTrainer=lambda: trainer_2021(PPO, PPOConfig, notice),
                 DEFAULT_CONFIG=old_stack_dict(PPOConfig))
    dqn = module("ray.rllib.agents.dqn", DQNTrainer=lambda: trainer_2021(DQN, DQNConfig, notice),
                 DEFAULT_CONFIG=old_stack_dict(DQNConfig))
    callbacks = module("ray.rllib.agents.callbacks", DefaultCallbacks=lambda: DefaultCallbacks)
    trainer = module("ray.rllib.agents.trainer", Trainer=lambda: Algorithm,
                     COMMON_CONFIG=old_stack_dict(AlgorithmConfig))
    module("ray.rllib.agents", ppo=lambda: ppo, dqn=lambda: dqn, callbacks=lambda: callbacks,
           trainer=lambda: trainer)
    return ["ray.rllib.agents", *(f"ray.rllib.agents.{name}"
                                  for name in ("ppo", "dqn", "callbacks", "trainer"))]


__all__ = [
    "KEYS_2021",
    "NEW_STACK_ALIASES",
    "RENAMED_KEYS",
    "RESULT_ALIASES",
    "TRUNCATED_KEY",
    "Episode2021",
    "WorkerSet2021",
    "adapt_config_callbacks",
    "adapt_config_encoder",
    "adapt_config_env",
    "adapt_config_mapping",
    "adapt_config_shared_policy",
    "alias_gym",
    "callbacks_2021",
    "config_from_2021",
    "config_from_dict",
    "gymnasium_env",
    "has_old_reset",
    "install_agents_modules",
    "is_old_callbacks",
    "keys_2021",
    "shared_space_agents",
    "to_shared_policy",
    "trainer_2021",
    "with_2021_keys",
]
