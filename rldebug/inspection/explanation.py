"""``explain(algo, obs, agent_id=...)``: what a policy makes of a raw env observation.

The observation goes through the same path RLlib uses when it acts: on the new
stack the local EnvRunner's env-to-module connectors, the module's
``forward_inference``/``forward_exploration`` and its action-distribution
classes; on the old stack the policy's preprocessing, ``policy.model`` and
``policy.dist_class``. Rendering lives in :mod:`.render`.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from rldebug.inspection._common import (
    adapter_for,
    as_observation_batch,
    observation_from_json,
    resolve_ids,
)
from rldebug.shapes.env_meta import action_names
from rldebug.usage import UsageError, UsageTypeError, check_seed

# Fields with one entry per observation (a batch axis when batched).
_PER_OBSERVATION = ("observation", "module_input", "logits", "probs", "entropy", "value",
                    "greedy_action", "sampled_action", "env_action", "greedy_env_action",
                    "log_prob", "mean", "std",
                    "entropy_stderr",
                    "q_values", "q_value", "q_atom_probs")


@dataclass
class Explanation:
    """A policy's view of one observation (or a batch: every array gets a batch axis).

    Always filled: ``family`` (``policy_gradient``, ``q_learning``, ``actor_critic``),
    ``module_input`` (the observation after the env-to-module connectors),
    ``greedy_action`` (what RLlib picks without exploration), ``sampled_action``
    (one draw of the exploring policy, seeded with ``explain(seed=...)``),
    ``env_action`` (that draw as the env receives it), ``greedy_env_action`` (the greedy
    action as the env receives it: Box actions unsquashed or clipped), ``entropy`` and
    ``log_prob``; ``notes`` says what the numbers cannot show (SAC's alpha after a
    checkpoint restored it to its initial value).
    The rest depends on the family and the action space:

    ====================  ==========================  ========================  ========================
    field                 policy gradient             Q-learning (DQN)          actor-critic (SAC)
                          (PPO, APPO, IMPALA)
    ====================  ==========================  ========================  ========================
    ``logits``            distribution inputs         Q-values                  distribution inputs
                          (Box: mean and log-std)                               (mean and log-std)
    ``probs``             Discrete: softmax           epsilon-greedy            discrete SAC only
    ``mean``, ``std``     Box actions (DiagGaussian)  --                        pre-tanh Gaussian
    ``q_values``          --                          Q per action              discrete SAC only
    ``q_value``           --                          --                        Q(s, sampled action)
    ``value``             V(s) (Learner's module)     max over Q                Q(s, greedy action)
                                                                                (discrete: max Q)
    ``epsilon``           --                          the epsilon in force      --
    ``alpha``             --                          --                        entropy temperature
    ====================  ==========================  ========================  ========================

    Distributional DQN (``num_atoms > 1``) adds ``q_atoms`` (the support of the
    return distribution) and ``q_atom_probs`` (per action, the probability of each atom).
    A MultiDiscrete action has one categorical per part: ``probs`` (and ``logits``) hold
    the parts one after the other, ``action_parts`` their sizes (``[3, 2]``).

    ``entropy_is_estimate`` is True where the distribution has no closed-form
    entropy (SAC's squashed Gaussian): then ``entropy`` is ``-mean(log p(a))``
    over 64 draws and ``entropy_stderr`` the standard error of that mean. ``value`` is None when the module has no value function.
    """

    agent_id: Any
    module_id: str
    api_stack: str
    observation: Any
    module_input: Any
    logits: np.ndarray | None
    probs: np.ndarray | None
    action_names: tuple | None
    entropy: np.ndarray | None
    value: np.ndarray | None
    greedy_action: Any
    sampled_action: Any
    batched: bool
    family: str = "policy_gradient"
    distribution: str | None = None
    env_action: Any = None
    log_prob: np.ndarray | None = None
    entropy_is_estimate: bool = False
    entropy_stderr: np.ndarray | None = None
    mean: np.ndarray | None = None
    std: np.ndarray | None = None
    q_values: np.ndarray | None = None
    q_value: np.ndarray | None = None
    epsilon: float | None = None
    alpha: float | None = None
    q_atoms: np.ndarray | None = None
    q_atom_probs: np.ndarray | None = None
    action_parts: list[int] | None = None
    greedy_env_action: Any = None
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return asdict(self)

    def __len__(self) -> int:
        return len(self.greedy_action) if self.batched else 1

    def __getitem__(self, index: int) -> Explanation:
        """The explanation of one observation of a batch."""
        if not self.batched:
            raise UsageTypeError("This Explanation is for a single observation; only a batched "
                                 "one (explain(algo, [obs1, obs2, ...])) can be indexed.")
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
            raise UsageTypeError(f"An Explanation is indexed by an int (the observation's "
                                 f"place in the batch), not {type(index).__name__} {index!r}.")
        if not -len(self) <= index < len(self):
            raise UsageError(f"Index {index} is out of range: this Explanation holds "
                             f"{len(self)} observations (0 to {len(self) - 1}).")
        pick = (lambda v: None if v is None else v[index])
        fields = {k: getattr(self, k) for k in self.__dataclass_fields__}
        for key in _PER_OBSERVATION:
            fields[key] = pick(fields[key])
        fields["batched"] = False
        return Explanation(**fields)

    @property
    def observation_text(self) -> str:
        """The observation, short enough for a title (a Dict or Tuple one part by part)."""
        from rldebug.inspection.render import short_value

        return short_value(self.observation)

    def __rich__(self):
        from rldebug.inspection.render import explanation_renderable

        return explanation_renderable(self)

    def _repr_html_(self) -> str:
        from rldebug.inspection.render import explanation_html

        return explanation_html(self)

    def __str__(self) -> str:
        from rldebug.inspection.render import to_text

        return to_text(self)


def _unbatch(value: Any, batched: bool) -> Any:
    if value is None or batched:
        return value
    if isinstance(value, dict):
        return {k: _unbatch(v, batched) for k, v in value.items()}
    return value[0]


def _resolved(algo, agent_id: Any, module_id: str | None):
    """The algorithm's stack adapter and the (agent, module) pair an observation is for."""
    stack = adapter_for(algo, "explain")
    for name, value in (("agent_id", agent_id), ("module_id", module_id)):
        if not isinstance(value, Hashable) or isinstance(value, tuple):
            raise UsageTypeError(
                f"explain({name}=...) takes one id (a str or int), got {type(value).__name__} "
                f"{value!r:.80}; for several agents call explain once per agent.")
    agent_id, module_id = resolve_ids(agent_id, module_id, stack.module_ids(),
                                      stack.mapping, stack.mapping_error, stack.agents)
    _check_explainable(stack, module_id)
    return stack, agent_id, module_id


def _check_explainable(stack, module_id) -> None:
    """Refuse, naming why, a module whose answer to one observation :func:`explain` cannot
    show: one that needs its recurrent state, or whose actions are a Tuple or Dict."""
    import gymnasium as gym

    if stack.is_recurrent(module_id):
        raise UsageError(
            f"Module {module_id!r} is recurrent (use_lstm, use_attention or a stateful "
            "RLModule): what it does with an observation depends on the state it carried "
            "through the episode so far, which explain cannot take yet. Explain a "
            "non-recurrent module, or call the module's forward_inference with its state.")
    _, action_space = stack.module_spaces(module_id)
    if isinstance(action_space, (gym.spaces.Tuple, gym.spaces.Dict)):
        raise UsageError(
            f"Module {module_id!r} acts in a {type(action_space).__name__} action space "
            f"({action_space}); explain shows Discrete, MultiDiscrete and Box actions. "
            "Call the module's forward_inference and its action distribution class for "
            "each part instead.")


def ids_from_text(algo, agent: str | None, module: str | None) -> tuple[Any, Any]:
    """``--agent``/``--module`` as the algorithm's own ids: a number names an int id
    (RLlib's MultiAgentCartPole has agents 0 and 1) when the algorithm has no id of that
    text."""
    stack = adapter_for(algo, "explain")

    def own(text, known):
        if text is None or text in known:
            return text
        try:
            number = int(text)
        except ValueError:
            return text
        return number if number in known else text

    return own(agent, list(stack.agents)), own(module, stack.module_ids())


def _offset_action_notes(action_space) -> tuple[str, ...]:
    """A ``Discrete(n, start=s)`` action: the index shown is what RLlib sends the env."""
    from rldebug.shapes.spaces import offset_discrete_parts, start_text

    return tuple(
        f"The action space{where} is {part}: the actions shown are indices 0..n-1, and "
        "RLlib 2.60 sends the env the index as it is, not start + index (the env gets "
        f"{start_text(part)} less than it may mean; `rldebug check` names it)."
        for where, part in offset_discrete_parts(action_space))


def _stacked(observations: list) -> Any:
    """A batch's observations as one array, or a list where they make none (a Tuple
    space's parts of other shapes)."""
    try:
        return np.stack([np.asarray(o) for o in observations])
    except ValueError:
        return list(observations)


def json_observation(algo, value: Any, agent_id: Any = None,
                     module_id: str | None = None) -> Any:
    """A JSON observation (``rldebug inspect --obs``: no dtypes) in the dtypes of the
    observation space of the agent :func:`explain` would ask about."""
    stack, agent_id, _ = _resolved(algo, agent_id, module_id)
    return observation_from_json(value, stack.raw_spaces(agent_id)[0])


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
    check_seed(seed, "explain(seed=...)")
    stack, agent_id, module_id = _resolved(algo, agent_id, module_id)
    obs_space, _ = stack.raw_spaces(agent_id)
    observations, batched = as_observation_batch(obs, obs_space)
    out = stack.forward(agent_id, module_id, observations, seed)
    _, action_space = stack.module_spaces(module_id)
    fields = {key: _unbatch(out.get(key), batched) for key in _PER_OBSERVATION
              if key != "observation"}
    return Explanation(
        agent_id=agent_id, module_id=module_id, api_stack=stack.name,
        observation=_stacked(observations) if batched else obs,
        action_names=(action_names(algo.config.env, action_space)
                      if out.get("probs") is not None else None),
        batched=batched, family=out.get("family", "policy_gradient"),
        distribution=out.get("distribution"),
        entropy_is_estimate=bool(out.get("entropy_is_estimate", False)),
        epsilon=out.get("epsilon"), alpha=out.get("alpha"), q_atoms=out.get("q_atoms"),
        action_parts=out.get("action_parts"),
        notes=tuple(out.get("notes", ())) + _offset_action_notes(action_space),
        **fields)


__all__ = ["Explanation", "explain"]
