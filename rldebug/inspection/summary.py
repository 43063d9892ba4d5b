"""``inspect(algo)``: what is inside an RLlib Algorithm, as a data object.

The summary lists every module (new stack) or policy (old stack), the agents
mapped to it, the raw env spaces and the spaces the module sees after the
env-to-module connectors, its layers with shapes and parameter counts, its
learning rate and whether it is trained. Rendering lives in :mod:`.render`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from rldebug.inspection._common import adapter_for
from rldebug.shapes.mapping import as_shown


@dataclass
class LayerInfo:
    """One leaf layer of a network (activations have no parameters)."""

    name: str
    kind: str
    in_features: int | None
    out_features: int | None
    param_shapes: dict[str, tuple]
    num_params: int
    trainable: bool | None  # None: the layer has no parameters


@dataclass
class ModuleSummary:
    """One RLModule (new stack) or Policy (old stack)."""

    module_id: str
    agents: list
    module_class: str
    raw_observation_space: Any  # the env's space for the mapped agents (None if unmapped)
    raw_action_space: Any
    observation_space: Any  # what the module sees, after the env-to-module connectors
    action_space: Any
    action_distribution: str | None
    layers: list[LayerInfo]
    lr: float | None
    trainable: bool
    has_value_function: bool  # explain shows a value for its observations
    # what that value is: "V(s)" (policy gradient), "max over a of Q(s, a)" (DQN,
    # discrete SAC), "Q(s, a)" (SAC); None without one
    value_function: str | None = None

    @property
    def num_params(self) -> int:
        """All parameters of the module (the Learner's copy, with the value head)."""
        return sum(layer.num_params for layer in self.layers)

    @property
    def num_trainable_params(self) -> int:
        """Parameters with ``requires_grad`` (the rest are frozen)."""
        return sum(layer.num_params for layer in self.layers if layer.trainable)


@dataclass
class AlgoSummary:
    """What :func:`inspect` found in an Algorithm; print it or show it in a notebook."""

    algo_class: str
    api_stack: str
    env: str
    # agent id -> module id, from the policy mapping fn; a list of module ids for an agent
    # it sends to several, episode by episode
    agents: dict
    modules: dict[str, ModuleSummary]
    connectors: list[str] = field(default_factory=list)  # env-to-module (new) or agent (old)
    mapping_error: str | None = None

    def to_dict(self) -> dict:
        """Plain nested dicts (spaces stay gymnasium objects)."""
        return asdict(self)

    def __rich__(self):
        from rldebug.inspection.render import summary_renderable

        return summary_renderable(self)

    def _repr_html_(self) -> str:
        from rldebug.inspection.render import summary_html

        return summary_html(self)

    def __str__(self) -> str:
        from rldebug.inspection.render import to_text

        return to_text(self)


def _env_name(algo) -> str:
    env = algo.config.env
    return getattr(env, "__name__", None) or str(env)


def inspect(algo) -> AlgoSummary:
    """Summarise an Algorithm's modules/policies, agent mapping, spaces, layers and lr.

    :param algo: a built RLlib ``Algorithm`` on either API stack, multi-agent or
        single-agent (for example ``rldebug.run(...).algo`` or ``rldebug.load(CHECKPOINT)``).
        A single-agent one shows its module ``default_policy`` and RLlib's name for
        its one agent, ``default_agent``.
    :returns: an :class:`AlgoSummary`; ``print`` it, ``rich.print`` it or show it
        in a notebook. Every field is plain data for use from code.
    :raises TypeError: if ``algo`` is not an Algorithm.
    """
    stack = adapter_for(algo, "inspect")
    modules = {}
    for module_id in stack.module_ids():
        agents = [a for a, ms in stack.mapping.items() if module_id in ms]
        raw_obs, raw_act = stack.raw_spaces(agents[0]) if agents else (None, None)
        obs_space, act_space = stack.module_spaces(module_id)
        details = stack.module_details(module_id)
        modules[module_id] = ModuleSummary(
            module_id=module_id, agents=agents, module_class=details["module_class"],
            raw_observation_space=raw_obs, raw_action_space=raw_act,
            observation_space=obs_space, action_space=act_space,
            action_distribution=details["action_distribution"],
            layers=[LayerInfo(**layer) for layer in details["layers"]],
            lr=details["lr"], trainable=details["trainable"],
            has_value_function=details["value_function"] is not None,
            value_function=details["value_function"])
    return AlgoSummary(algo_class=type(algo).__name__, api_stack=stack.name,
                       env=_env_name(algo), modules=modules,
                       agents={a: as_shown(ms) for a, ms in stack.mapping.items()},
                       connectors=stack.connectors(), mapping_error=stack.mapping_error)


__all__ = ["AlgoSummary", "LayerInfo", "ModuleSummary", "inspect"]
