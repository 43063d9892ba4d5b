"""What each probe expects, how it is measured, and what its failure points at.

Every check reads the trained algorithm through :func:`rldebug.explain`, the same
path RLlib takes when it acts (env-to-module connectors, the module, its action
distribution). The value a check compares is ``Explanation.value``: V(s) for
policy-gradient algorithms, max Q for DQN, Q(s, greedy action) for SAC.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from rldebug.probes.spaces import (
    action_miss,
    agent_target,
    describe_action,
    observation,
    target_action,
)
from rldebug.usage import UsageError

# |learned - expected| a value may be off by.
VALUE_TOLERANCE = 0.2
# A Discrete policy counts as choosing the target when it puts this much probability on
# it (above 1/n of an untrained policy even for two actions), a Q-learner when the
# target's Q leads every other action's by this margin.
MIN_TARGET_PROB = 0.6
MIN_Q_MARGIN = 0.5
# Below this gamma a reward one step later is worth less than half its value.
MIN_GAMMA = 0.5


@dataclass
class Measurement:
    """One learned number (or action) set against what a working config learns."""

    agent: Any
    module: str
    quantity: str
    expected: str
    got: str
    ok: bool
    # A fact of the config, not something training changes (gamma): a probe does not
    # keep training in the hope that it turns.
    static: bool = False
    # How far the learned number is from passing, in its own units (0 when ok; None
    # when not measured as a distance): a probe whose gaps stop shrinking has stalled.
    gap: float | None = None

    def __post_init__(self):
        self.ok = bool(self.ok)  # numpy comparisons give numpy bools
        if self.gap is not None:
            self.gap = max(0.0, float(self.gap))

    def to_dict(self) -> dict:
        return {"agent": self.agent, "module": self.module, "quantity": self.quantity,
                "expected": self.expected, "got": self.got, "ok": self.ok,
                "gap": None if self.gap is None else round(self.gap, 4)}


@dataclass
class ProbeAgent:
    """An agent a probe is measured on: its id for ``explain`` (None for a
    single-agent env), its index among the env's agents, its spaces, and the module it
    is measured with when the policy mapping fn picks one per episode (None: the one
    it always picks)."""

    agent_id: Any
    index: int
    observation_space: gym.Space
    action_space: gym.Space
    module_id: Any = None

    @property
    def label(self) -> Any:
        return "default_agent" if self.agent_id is None else self.agent_id


@dataclass(frozen=True)
class Probe:
    name: str
    number: str
    title: str
    expects: str
    localises: str
    checks_value: bool
    checks_policy: bool
    multi_agent: bool = False
    # (another probe, a sentence true only when that probe passed): said after localises
    given: tuple[str, str] | None = None


PROBES: dict[str, Probe] = {p.name: p for p in (
    Probe("constant", "1", "constant reward",
          "one step, reward +1 whatever happens: V = 1",
          "the value function cannot learn even a constant: the value head, its loss "
          "(vf_loss_coeff, vf_clip_param, the critic's learning rate) or whether its "
          "output is trained at all (a detached value output, a frozen module)",
          checks_value=True, checks_policy=False),
    Probe("observation", "2", "observation-dependent reward",
          "one step, reward +1 in state 1 and -1 in state 0: V(state 0) = -1, "
          "V(state 1) = +1",
          "the value does not follow the observation: observations do not reach the module "
          "intact (env-to-module connectors, flattening/one-hot encoding, a custom encoder) "
          "or the value head cannot use them",
          checks_value=True, checks_policy=False,
          given=("constant", "Probe 1 passing rules out the value loss")),
    Probe("delayed", "3", "two-step delayed reward",
          "state 0 then state 1, reward +1 only at the end: V(state 1) = 1, "
          "V(state 0) = gamma, with gamma large enough (>= 0.5) that a later reward counts",
          "discounting and bootstrapping: gamma, GAE lambda / n-step, target-network "
          "updates, or how the last step of an episode is bootstrapped",
          checks_value=True, checks_policy=False,
          given=("constant", "Probe 1 passing rules out the value loss")),
    Probe("action", "4", "action-dependent reward",
          "one step, reward +1 for the target action only: the policy picks it",
          "the policy cannot learn the rewarded action: the policy loss and its gradient, "
          "the learning rate, an entropy bonus that outweighs the reward, the action "
          "distribution, or how actions reach the env (normalize_actions/clip_actions)",
          checks_value=False, checks_policy=True),
    Probe("observation_action", "5", "observation- and action-dependent reward",
          "one step, in state k reward +1 for target action k only: the policy picks "
          "target k in state k",
          "the policy ignores the observation: observations do not reach the policy intact "
          "(connectors, encoder) or it cannot condition on them",
          checks_value=False, checks_policy=True,
          given=("action", "Probe 4 passing rules out the policy gradient")),
    Probe("credit", "credit", "each agent rewarded for its own action",
          "all agents see the same state; agent i is rewarded for target action i % 2: "
          "each agent's module picks its agent's target, and each agent is trained by "
          "one module",
          "the agent-to-module mapping: an agent's experience trains a module other than "
          "the one it acts with, e.g. a policy_mapping_fn that changes from episode to "
          "episode, or a module left out of policies_to_train",
          checks_value=False, checks_policy=True, multi_agent=True,
          given=("action", "Probe 4 passing rules out the policy gradient")),
    Probe("shared", "shared", "two agents mapped to one module",
          "agent i sees state i % 2 and is rewarded for target i % 2: a module serving "
          "several agents picks each agent's target from what that agent sees",
          "a module shared by several agents cannot tell them apart: the observation "
          "lacks what distinguishes them, or connectors drop it",
          checks_value=False, checks_policy=True, multi_agent=True,
          given=("action", "Probe 4 passing rules out the policy gradient")),
    Probe("turns", "turns", "agents acting in turn",
          "one agent acts per step (agent i sees state i % 2); an agent's reward for its "
          "action is paid on the next agent's step: each agent picks its target (i % 2) "
          "and V = 1",
          "rewards paid while an agent is not acting do not reach its last action "
          "(turn-based envs; a custom connector or env wrapper that drops them)",
          checks_value=True, checks_policy=True, multi_agent=True),
)}

SINGLE_AGENT = tuple(name for name, p in PROBES.items() if not p.multi_agent)
MULTI_AGENT = tuple(name for name, p in PROBES.items() if p.multi_agent)


def _rounded(values: Any) -> list[float]:
    return [round(float(v), 2) for v in np.asarray(values).reshape(-1)]


def _fmt(x: float) -> str:
    return f"{x:+.2f}"


class Checker:
    """Measures a built algorithm against a probe's expectations."""

    def __init__(self, algo: Any, explain: Callable, gamma: float):
        self.algo = algo
        self.explain = explain
        self.gamma = float(gamma)
        self.family = ""  # the algorithm family explain reports, once asked

    def _ask(self, agent: ProbeAgent, state: int):
        found = self.explain(self.algo, observation(agent.observation_space, state),
                             agent_id=agent.agent_id, module_id=agent.module_id, seed=0)
        self.family = found.family
        return found

    def value(self, agent: ProbeAgent, state: int, expected: float,
              quantity: str | None = None) -> Measurement:
        e = self._ask(agent, state)
        if e.value is None:
            return Measurement(agent.label, e.module_id, quantity or f"V(state {state})",
                               _fmt(expected), "no value function", False)
        got = float(np.asarray(e.value).reshape(-1)[0])
        miss = abs(got - expected)
        return Measurement(agent.label, e.module_id, quantity or f"V(state {state})",
                           f"{_fmt(expected)} ± {VALUE_TOLERANCE}", _fmt(got),
                           miss <= VALUE_TOLERANCE, gap=miss - VALUE_TOLERANCE)

    def delayed_value(self, agent: ProbeAgent) -> list[Measurement]:
        """V(state 1) = 1 and V(state 0) = gamma (SAC: gamma times the soft value of
        state 1, Q plus alpha times the policy's entropy there)."""
        end = self._ask(agent, 1)
        expected = self.gamma
        if end.family == "actor_critic" and end.alpha is not None and end.entropy is not None:
            soft = 1.0 + float(end.alpha) * float(np.asarray(end.entropy).reshape(-1)[0])
            expected = self.gamma * soft
        found = [self.value(agent, 1, 1.0), self.value(agent, 0, expected)]
        found.append(Measurement(agent.label, end.module_id, "gamma",
                                 f">= {MIN_GAMMA} (a reward one step later counts)",
                                 f"{self.gamma:g}", self.gamma >= MIN_GAMMA, static=True))
        return found

    def policy(self, agent: ProbeAgent, state: int, which: int) -> Measurement:
        e = self._ask(agent, state)
        space = agent.action_space
        quantity = f"action in state {state}"
        target = target_action(space, which)
        expected = describe_action(space, which)
        if isinstance(space, gym.spaces.Discrete):
            index = int(target - space.start)
            if e.family == "q_learning" and e.q_values is not None:
                q = np.asarray(e.q_values, dtype=float).reshape(-1)
                margin = float(q[index] - np.max(np.delete(q, index)))
                return Measurement(
                    agent.label, e.module_id, quantity,
                    f"{expected}, its Q ahead by >= {MIN_Q_MARGIN}",
                    f"greedy {int(np.asarray(e.greedy_action).reshape(()))}, Q ahead by "
                    f"{margin:+.2f}", margin >= MIN_Q_MARGIN, gap=MIN_Q_MARGIN - margin)
            probs = np.asarray(e.probs, dtype=float).reshape(-1)
            greedy = int(np.asarray(e.greedy_action).reshape(())) + int(space.start)
            return Measurement(agent.label, e.module_id, quantity,
                               f"{expected} with p >= {MIN_TARGET_PROB}",
                               f"action {greedy}, p(target) = {probs[index]:.2f}",
                               probs[index] >= MIN_TARGET_PROB,
                               gap=MIN_TARGET_PROB - probs[index])
        from rldebug.shapes.outputs import env_action

        greedy = env_action(np.asarray(e.greedy_action)[None], space,
                            self.algo.config)[0]
        miss = action_miss(space, greedy, which)
        return Measurement(agent.label, e.module_id, quantity,
                           f"{expected} (within 1/8 of the range)",
                           f"greedy ≈ {_rounded(greedy)}", miss <= 0, gap=miss)

    def measure(self, probe: str, agents: list[ProbeAgent]) -> list[Measurement]:
        if probe not in PROBES:
            raise UsageError(f"unknown probe {probe!r}; known: {list(PROBES)}.")
        found: list[Measurement] = []
        for agent in agents:
            found += [self.policy(agent, state, target)
                      for state, target in policy_checks(probe, agent)]
            found += [self.value(agent, state, value)
                      for state, value in value_checks(probe, agent)]
            if probe == "delayed":
                found += self.delayed_value(agent)
        return found


def policy_checks(probe: str, agent: ProbeAgent) -> list[tuple[int, int]]:
    """``(state, target)`` per action a policy probe rewards ``agent`` for in that state
    (targets 0, 1: :func:`~rldebug.probes.spaces.target_action`); [] for value probes."""
    which = agent_target(agent.index)
    return {"action": [(0, 1)], "observation_action": [(0, 0), (1, 1)],
            "credit": [(0, which)], "shared": [(which, which)],
            "turns": [(which, which)]}.get(probe, [])


def value_checks(probe: str, agent: ProbeAgent) -> list[tuple[int, float]]:
    """``(state, value)`` per state whose learned value a probe checks (the delayed
    probe's values are :meth:`Checker.delayed_value`'s)."""
    return {"constant": [(0, 1.0)], "observation": [(0, -1.0), (1, 1.0)],
            "turns": [(agent_target(agent.index), 1.0)]}.get(probe, [])


def rewarded_targets(probe: str, agent: ProbeAgent) -> tuple[int, ...]:
    """The targets a policy probe rewards ``agent`` for; () for the value probes."""
    return tuple(target for _, target in policy_checks(probe, agent))


__all__ = [
    "MIN_GAMMA",
    "MIN_Q_MARGIN",
    "MIN_TARGET_PROB",
    "MULTI_AGENT",
    "PROBES",
    "SINGLE_AGENT",
    "VALUE_TOLERANCE",
    "Checker",
    "Measurement",
    "Probe",
    "ProbeAgent",
    "policy_checks",
    "rewarded_targets",
    "value_checks",
]
