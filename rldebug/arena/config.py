"""Ready-made RLlib configs for the MultiAgentArena (both API stacks).

``arena_ppo_config()`` is the tutorial's two-policy PPO setup (pol1 trains
agent1, pol2 trains agent2), sized so that it reaches the tutorial's target
(mean total return 15) within a few minutes on a 2-core CPU.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

from rldebug.arena.env import AGENTS, MultiAgentArena
from rldebug.usage import UsageError

POLICY_OF_AGENT = {"agent1": "pol1", "agent2": "pol2"}
API_STACKS = ("new", "old")

# Chosen by measurement on a 2-core box (see benchmarks/solve.py): ten vectorised
# envs batch ten env steps into one forward pass, small nets and few epochs keep
# the Learner cheap, and a little entropy bonus keeps agent1 exploring.
FAST_SETTINGS: dict[str, Any] = {
    "num_envs_per_env_runner": 10,
    "fcnet_hiddens": [64, 64],
    "train_batch_size": 2000,
    "minibatch_size": 500,
    "num_epochs": 4,
    "lr": 1e-3,
    "entropy_coeff": 0.01,
}

# Test-sized settings (recipes' --smoke, the test suite): an iteration in well under 1 s.
SMOKE_SETTINGS: dict[str, Any] = {
    "num_envs_per_env_runner": 2,
    "fcnet_hiddens": [16, 16],
    "train_batch_size": 200,
    "minibatch_size": 100,
    "num_epochs": 1,
}


def policy_mapping_fn(agent_id, episode=None, worker=None, **kwargs) -> str:
    """agent1 -> pol1, agent2 -> pol2 (works for both API stacks' signatures)."""
    try:
        return POLICY_OF_AGENT[agent_id]
    except KeyError:
        raise UsageError(
            f"The arena's policy mapping knows agents {list(POLICY_OF_AGENT)}, "
            f"got agent id {agent_id!r}."
        ) from None


def flatten_observations_connector(env=None, spaces=None, device=None):
    """Env-to-module connector that one-hots the arena's MultiDiscrete observation.

    RLlib's new stack has no default encoder for MultiDiscrete observations
    ("No default encoder config"); ``FlattenObservations`` turns each into a
    one-hot vector the default MLP encoder accepts.
    """
    from ray.rllib.connectors.env_to_module import FlattenObservations

    return FlattenObservations(multi_agent=True)


# what each override takes: (a check, what it says when the value fails it). A Tune search
# space (tune.grid_search(...), tune.uniform(...)) and, for lr and entropy_coeff, RLlib's
# schedules ([[timestep, value], ...]) are RLlib's and Tune's to check.
_SETTING_RULES = {
    "num_envs_per_env_runner": (lambda v: _is_int(v) and v >= 1, "an int >= 1"),
    "train_batch_size": (lambda v: _is_int(v) and v >= 1, "an int >= 1"),
    "minibatch_size": (lambda v: _is_int(v) and v >= 1, "an int >= 1"),
    "num_epochs": (lambda v: _is_int(v) and v >= 1, "an int >= 1"),
    "num_env_runners": (lambda v: _is_int(v) and v >= 0, "an int >= 0"),
    "lr": (lambda v: _is_schedule(v) or (_is_real(v) and 0 < v < math.inf),
           "a finite number > 0 or a schedule [[timestep, lr], ...]"),
    "entropy_coeff": (lambda v: _is_schedule(v) or (_is_real(v) and 0 <= v < math.inf),
                      "a finite number >= 0 or a schedule [[timestep, coeff], ...]"),
    "seed": (lambda v: v is None or (_is_int(v) and v >= 0), "None or an int >= 0"),
    "fcnet_hiddens": (lambda v: isinstance(v, (list, tuple)) and all(
        _is_int(n) and n >= 1 for n in v), "a list of layer sizes, e.g. [64, 64]"),
}


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _is_schedule(value) -> bool:
    return isinstance(value, (list, tuple)) and all(
        isinstance(step, (list, tuple)) and len(step) == 2 for step in value)


def _is_search_space(value) -> bool:
    """A Tune search space: ``tune.grid_search([...])`` is a dict, ``tune.uniform(...)`` a
    Domain (it has ``sample``)."""
    return isinstance(value, dict) or callable(getattr(value, "sample", None))


def _check_settings(settings: dict) -> None:
    for key, (ok, takes) in _SETTING_RULES.items():
        if not _is_search_space(settings[key]) and not ok(settings[key]):
            raise UsageError(f"arena_ppo_config({key}=...) takes {takes}, got "
                             f"{settings[key]!r:.60}.")


def arena_ppo_config(api_stack: str = "new", env_config: dict | None = None,
                     **overrides: Any):
    """The tutorial's two-policy PPO config for the arena, tuned for a 2-core CPU.

    :param api_stack: ``"new"`` (RLModule/Learner/EnvRunner, the default) or
        ``"old"`` (Policy/ModelV2/RolloutWorker, as in tutorial-era code).
    :param env_config: passed to :class:`MultiAgentArena` (width, height, max_timesteps).
    :param overrides: replace any key of :data:`FAST_SETTINGS`, plus
        ``num_env_runners`` (default 0: sample in the driver process) and ``seed``.
    :returns: a ``PPOConfig``; call ``.build_algo()`` or pass it to :func:`rldebug.run`.
    """
    from ray.rllib.algorithms.ppo import PPOConfig

    if api_stack not in API_STACKS:
        raise UsageError(f"api_stack must be one of {API_STACKS}, got {api_stack!r}.")
    allowed = set(FAST_SETTINGS) | {"num_env_runners", "seed"}
    unknown = sorted(set(overrides) - allowed)
    if unknown:
        raise UsageError(
            f"arena_ppo_config got unknown override(s) {unknown}; valid: {sorted(allowed)}, "
            "besides api_stack= and env_config= (the arena's width, height, max_timesteps). "
            "For anything else, call the returned PPOConfig's own methods."
        )
    settings = {**FAST_SETTINGS, "num_env_runners": 0, "seed": None, **overrides}
    _check_settings(settings)
    MultiAgentArena(env_config)  # validate env_config here, not inside a runner

    new_stack = api_stack == "new"
    config = (
        PPOConfig()
        .api_stack(enable_rl_module_and_learner=new_stack,
                   enable_env_runner_and_connector_v2=new_stack)
        .environment(MultiAgentArena, env_config=dict(env_config or {}))
        .framework("torch")
        .env_runners(num_env_runners=settings["num_env_runners"],
                     num_envs_per_env_runner=settings["num_envs_per_env_runner"])
        .training(train_batch_size=settings["train_batch_size"],
                  minibatch_size=settings["minibatch_size"],
                  num_epochs=settings["num_epochs"],
                  lr=settings["lr"],
                  entropy_coeff=settings["entropy_coeff"])
        .multi_agent(policies={"pol1", "pol2"}, policy_mapping_fn=policy_mapping_fn)
        .debugging(seed=settings["seed"])
    )
    if new_stack:
        from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig

        config.env_runners(env_to_module_connector=flatten_observations_connector)
        config.rl_module(model_config=DefaultModelConfig(
            fcnet_hiddens=list(settings["fcnet_hiddens"]), vf_share_layers=False))
    else:
        config.training(model={"fcnet_hiddens": list(settings["fcnet_hiddens"])})
    return config


__all__ = ["AGENTS", "FAST_SETTINGS", "POLICY_OF_AGENT", "SMOKE_SETTINGS", "arena_ppo_config",
           "flatten_observations_connector", "policy_mapping_fn"]
