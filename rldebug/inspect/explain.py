"""``explain(algo, obs, agent_id=...)``: what a policy makes of a raw env observation.

The observation goes through the same path RLlib uses when it acts: on the new
stack the local EnvRunner's env-to-module connectors, the module's
``forward_inference``/``forward_exploration`` and its action-distribution
classes; on the old stack the policy's preprocessing, ``policy.model`` and
``policy.dist_class``. Rendering lives in :mod:`.render`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from rldebug.inspect._common import adapter_for, as_observation_batch, resolve_ids


@dataclass
class Explanation:
    """A policy's view of one observation (or a batch: every array gets a batch axis).

    ``greedy_action`` is what RLlib picks without exploration, ``sampled_action``
    one draw from the exploration distribution (seeded with ``explain(seed=...)``).
    ``value`` is None when the module has no value function.
    """

    agent_id: Any
    module_id: str
    api_stack: str
    observation: Any
    module_input: Any
    logits: np.ndarray
    probs: np.ndarray | None
    action_names: tuple | None
    entropy: np.ndarray
    value: np.ndarray | None
    greedy_action: Any
    sampled_action: Any
    batched: bool

    def to_dict(self) -> dict:
        return asdict(self)

    def __len__(self) -> int:
        return len(self.logits) if self.batched else 1

    def __getitem__(self, index: int) -> Explanation:
        """The explanation of one observation of a batch."""
        if not self.batched:
            raise TypeError("This Explanation is for a single observation; only a batched "
                            "one (explain(algo, [obs1, obs2, ...])) can be indexed.")
        pick = (lambda v: None if v is None else v[index])
        fields = {k: getattr(self, k) for k in self.__dataclass_fields__}
        for key in ("observation", "module_input", "logits", "probs", "entropy", "value",
                    "greedy_action", "sampled_action"):
            fields[key] = pick(fields[key])
        fields["batched"] = False
        return Explanation(**fields)

    def __rich__(self):
        from rldebug.inspect.render import explanation_renderable

        return explanation_renderable(self)

    def _repr_html_(self) -> str:
        from rldebug.inspect.render import explanation_html

        return explanation_html(self)

    def __str__(self) -> str:
        from rldebug.inspect.render import to_text

        return to_text(self)


def action_names_of(algo, action_space) -> tuple | None:
    """Names of discrete actions: the env class's ``ACTION_NAMES`` or its module's, if any."""
    import sys

    n = getattr(action_space, "n", None)
    env = algo.config.env
    names = getattr(env, "ACTION_NAMES", None)
    if names is None and isinstance(env, type):
        names = getattr(sys.modules.get(env.__module__), "ACTION_NAMES", None)
    if names is not None and n is not None and len(names) == n:
        return tuple(names)
    return None


def _unbatch(value: Any, batched: bool) -> Any:
    if value is None or batched:
        return value
    if isinstance(value, dict):
        return {k: _unbatch(v, batched) for k, v in value.items()}
    return value[0]


def explain(algo, obs: Any, agent_id: Any = None, module_id: str | None = None,
            seed: int | None = None) -> Explanation:
    """Explain what the policy does with a raw env observation (or a batch of them).

    :param algo: a built RLlib ``Algorithm`` (either API stack).
    :param obs: one observation exactly as the env returns it for ``agent_id``
        (arena: ``np.array([own_field, other_field])``), or a list/array of them.
        It must lie in the agent's observation space: nothing is cast or clipped.
    :param agent_id: whose observation it is; picks the module via the mapping fn.
        Optional when the env has one agent (a single-agent algorithm's is RLlib's
        ``"default_agent"``, mapped to module ``"default_policy"``).
    :param module_id: the module/policy to ask. With only ``module_id`` the first
        agent mapped to it supplies the connectors; with both they must match.
    :param seed: seeds the draw of ``sampled_action`` (torch's global RNG is left as it was).
    :returns: an :class:`Explanation`; batched input gives batched fields.
    :raises ValueError: for an unknown agent/module id, a mismatching pair, or an
        observation outside the space (the message names the space and why).
    """
    stack = adapter_for(algo, "explain")
    agent_id, module_id = resolve_ids(agent_id, module_id, stack.module_ids(),
                                      stack.mapping, stack.mapping_error)
    obs_space, _ = stack.raw_spaces(agent_id)
    observations, batched = as_observation_batch(obs, obs_space)
    out = stack.forward(agent_id, module_id, observations, seed)
    _, action_space = stack.module_spaces(module_id)
    probs = out["probs"]
    return Explanation(
        agent_id=agent_id, module_id=module_id, api_stack=stack.name,
        observation=np.stack([np.asarray(o) for o in observations]) if batched else obs,
        module_input=_unbatch(out["module_input"], batched),
        logits=_unbatch(out["logits"], batched),
        probs=_unbatch(probs, batched),
        action_names=action_names_of(algo, action_space) if probs is not None else None,
        entropy=_unbatch(out["entropy"], batched),
        value=_unbatch(out["value"], batched),
        greedy_action=_unbatch(out["greedy_action"], batched),
        sampled_action=_unbatch(out["sampled_action"], batched),
        batched=batched)


__all__ = ["Explanation", "explain"]
