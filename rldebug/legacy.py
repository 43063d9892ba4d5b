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

import importlib.util
import inspect
import sys
from collections.abc import Callable
from typing import Any

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
        """An old-API env, adapted (see :mod:`rldebug.legacy`)."""

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


def adapt_config_env(config, notice: Callable[[str], None]):
    """``config`` with an old-API env class wrapped by :func:`gymnasium_env` (a copy),
    or ``config`` itself when its env already speaks gymnasium."""
    env_class = config.env
    if not inspect.isclass(env_class) or not has_old_reset(env_class):
        return config
    notice(f"{env_class.__name__} has gym 0.21's reset() (no seed): adapted to gymnasium's "
           "reset(seed=) -> (obs, infos) and 5-tuple step (done with "
           f"info[{TRUNCATED_KEY!r}] -> truncated, else terminated).")

    from ray.tune.registry import register_env

    def make(env_config):
        return gymnasium_env(env_class(env_config))

    # RLlib takes a class or a registered id, not a function.
    name = f"rldebug-gym021-{env_class.__module__}.{env_class.__qualname__}"
    register_env(name, make)
    adapted = config.copy(copy_frozen=False)
    adapted.environment(name, env_config=dict(config.env_config or {}))
    return adapted


def alias_gym(notice: Callable[[str], None]) -> bool:
    """Make ``import gym`` give gymnasium when gym is not installed; True if it did."""
    if "gym" in sys.modules or importlib.util.find_spec("gym") is not None:
        return False
    import gymnasium

    sys.modules["gym"] = gymnasium
    for name in ("spaces", "envs", "wrappers", "utils", "error"):
        module = getattr(gymnasium, name, None)
        if module is not None:
            sys.modules[f"gym.{name}"] = module
    notice("`import gym` gives gymnasium (gym is not installed); envs written for gym 0.21 "
           "are adapted when RLlib builds them.")
    return True


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

    from rldebug.shapes.episodes import episode_id, log_episode_value

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
            hook = getattr(self.legacy, "on_train_result", None)
            if hook is not None:
                _call(hook, trainer=algorithm, algorithm=algorithm, result=result)

    Callbacks2021.__name__ = f"Callbacks2021({old_class.__name__})"
    Callbacks2021.__qualname__ = Callbacks2021.__name__
    return Callbacks2021


def adapt_config_callbacks(config, notice: Callable[[str], None]):
    """``config`` with a 2021 callbacks class run through :func:`callbacks_2021` (a
    copy), or ``config`` itself."""
    old = config.callbacks_class
    if not config.enable_rl_module_and_learner or not inspect.isclass(old) or \
            not is_old_callbacks(old):
        return config  # the old stack still calls 2021 hooks itself
    notice(f"{old.__name__} has 2021 callback hooks (worker, base_env, episode.user_data, "
           "custom_metrics): run through an adapter; custom_metrics appear as "
           "env_runners/custom_metrics/<name>_mean/_min/_max.")
    adapted = config.copy(copy_frozen=False)
    adapted.callbacks(callbacks_2021(old))
    return adapted


def _flatten(multi_agent: bool):
    def connector(env=None, spaces=None, device=None):
        from ray.rllib.connectors.env_to_module import FlattenObservations

        return FlattenObservations(multi_agent=multi_agent)
    return connector


def adapt_config_encoder(config, trap, notice: Callable[[str], None]):
    """``config`` with RLlib's flattening connector added (a copy), for a
    ``no_default_encoder`` trap of :func:`rldebug.preflight.preflight`: 2021 code
    relied on the old stack's preprocessors for Discrete/MultiDiscrete/Dict
    observations."""
    notice(f"{trap.message} Added FlattenObservations as the env-to-module connector, as "
           "the old stack's preprocessors did.")
    adapted = config.copy(copy_frozen=False)
    adapted.env_runners(env_to_module_connector=_flatten(config.is_multi_agent))
    return adapted




# -- 2021 trainers and config dicts ---------------------------------------------------------

# 2021 config keys RLlib 2.60's update_from_dict does not translate itself.
RENAMED_KEYS = {"sgd_minibatch_size": "minibatch_size", "num_sgd_iter": "num_epochs",
                "num_envs_per_worker": "num_envs_per_env_runner",
                "evaluation_num_workers": "evaluation_num_env_runners"}
# result keys 2021 code read at the top level -> where 2.60's old stack reports them
RESULT_ALIASES = ("episode_reward_mean", "episode_reward_min", "episode_reward_max",
                  "episode_len_mean", "episodes_this_iter", "policy_reward_mean",
                  "policy_reward_min", "policy_reward_max", "custom_metrics", "hist_stats")


def config_from_2021(config_class, config: dict | None, env: Any = None,
                     notice: Callable[[str], None] | None = None):
    """An old-API-stack AlgorithmConfig from a 2021 config dict (``DEFAULT_CONFIG``-based,
    ``num_workers``, ``sgd_minibatch_size``, ``num_sgd_iter``, ``"multiagent"``,
    ``"model"``): the old stack, because 2021 code calls ``get_policy()`` and
    ``compute_single_action``."""
    if config is not None and not isinstance(config, dict):
        raise TypeError(f"A 2021 trainer takes config=dict, got {type(config).__name__}.")
    renamed = {RENAMED_KEYS.get(k, k): v for k, v in (config or {}).items()}
    mapped = sorted(k for k in (config or {}) if k in RENAMED_KEYS)
    if env is not None:
        renamed["env"] = env
    result = (config_class()
              .api_stack(enable_rl_module_and_learner=False,
                         enable_env_runner_and_connector_v2=False)
              .update_from_dict(renamed))
    if notice is not None:
        notice(f"2021 trainer config mapped to {config_class.__name__} on the old API stack"
               + (f" (renamed: {', '.join(f'{k} -> {RENAMED_KEYS[k]}' for k in mapped)})"
                  if mapped else "") + ".")
    return result


def trainer_2021(algo_class, config_class, notice: Callable[[str], None]):
    """A ``PPOTrainer``-like class: built from a 2021 config dict, its ``train()``
    results also answer the 2021 top-level keys (``result["episode_reward_mean"]``)."""

    class Trainer2021(algo_class):
        def __init__(self, config=None, env=None, **kwargs):
            if not hasattr(config, "to_dict"):
                config = config_from_2021(config_class, config, env, notice)
            super().__init__(config=config, **kwargs)

        def train(self):
            result = super().train()
            runners = result.get("env_runners", {})
            for key in RESULT_ALIASES:
                if key in runners and key not in result:
                    result[key] = runners[key]
            return result

    Trainer2021.__name__ = Trainer2021.__qualname__ = f"{algo_class.__name__}Trainer"
    return Trainer2021


def install_agents_modules(notice: Callable[[str], None]) -> None:
    """``ray.rllib.agents`` (removed in 2.x) as 2021 imports used it: ``ppo.PPOTrainer``,
    ``ppo.DEFAULT_CONFIG``, ``dqn.DQNTrainer``, ``callbacks.DefaultCallbacks``,
    ``trainer.Trainer``/``COMMON_CONFIG``."""
    import types

    if "ray.rllib.agents" in sys.modules:
        return
    from ray.rllib.algorithms.algorithm import Algorithm
    from ray.rllib.algorithms.algorithm_config import AlgorithmConfig
    from ray.rllib.algorithms.callbacks import DefaultCallbacks
    from ray.rllib.algorithms.dqn import DQN, DQNConfig
    from ray.rllib.algorithms.ppo import PPO, PPOConfig

    def module(name: str, **attributes) -> types.ModuleType:
        made = types.ModuleType(name)
        made.__dict__.update(attributes)
        sys.modules[name] = made
        return made

    old_stack = {"enable_rl_module_and_learner": False,
                 "enable_env_runner_and_connector_v2": False}
    agents = module("ray.rllib.agents")
    agents.ppo = module("ray.rllib.agents.ppo",
                        PPOTrainer=trainer_2021(PPO, PPOConfig, notice),
                        DEFAULT_CONFIG=PPOConfig().api_stack(**old_stack).to_dict())
    agents.dqn = module("ray.rllib.agents.dqn",
                        DQNTrainer=trainer_2021(DQN, DQNConfig, notice),
                        DEFAULT_CONFIG=DQNConfig().api_stack(**old_stack).to_dict())
    agents.callbacks = module("ray.rllib.agents.callbacks", DefaultCallbacks=DefaultCallbacks)
    agents.trainer = module("ray.rllib.agents.trainer", Trainer=Algorithm,
                            COMMON_CONFIG=AlgorithmConfig().api_stack(**old_stack).to_dict())
    notice("`ray.rllib.agents` (removed from RLlib) is provided: PPOTrainer/DQNTrainer take "
           "2021 config dicts and run on the old API stack.")


__all__ = ["RENAMED_KEYS", "RESULT_ALIASES", "TRUNCATED_KEY", "Episode2021",
           "adapt_config_callbacks", "adapt_config_encoder", "adapt_config_env", "alias_gym",
           "callbacks_2021", "config_from_2021", "gymnasium_env", "has_old_reset",
           "install_agents_modules", "is_old_callbacks", "trainer_2021"]
