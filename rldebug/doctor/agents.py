"""Which module acts for which agent, read from a multi-agent run's returns.

RLlib 2.60 reports mean returns per agent and per module, not the mapping between them
(``env_runners/agent_episode_returns_mean``, ``.../module_episode_returns_mean``). Its
``MultiAgentEnvRunner`` adds each agent's return in an episode to the return of the
module that agent acted with, so under a mapping that stays put a module's mean return
is the sum of its agents' mean returns (each mean over the same episodes), iteration
after iteration: one agent's own when the module serves one agent, the agents' sum when
it serves several (ray/rllib/env/multi_agent_env_runner.py, ``module_episode_returns``).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping

#: iterations a module's agents must add up to its return, the same agents each time,
#: before they are taken for the module's
MIN_ITERATIONS = 3
#: more agents than this are not searched (2**N subsets per module and iteration)
MAX_AGENTS = 12


class AgentsByReturns:
    """Learns each module's agents as the one set of agents whose mean returns add up to
    the module's, the same set in every iteration the module and agents reported finite
    returns (at least :data:`MIN_ITERATIONS` since other agents last reported: one that
    first reports later may belong to any module, so what was learned is forgotten). A
    module whose return no set of agents adds up to in some iteration (a mapping that
    changes between episodes, an agent absent from some episodes, an agent's NaN
    episodes left out of its mean and its module's but not its module-mates') is
    learned from the others: when every other module's agents are known, the agents
    left are the one module's left."""

    def __init__(self) -> None:
        self._forget()

    def _forget(self) -> None:
        self._sets: dict[str, set[frozenset]] = {}  # module -> sets matching so far
        self._seen: dict[str, int] = {}
        self._broken: set[str] = set()
        self._agents: set[str] = set()
        self._modules: set[str] = set()

    def observe(self, agent_returns: Mapping[str, float],
                module_returns: Mapping[str, float]) -> None:
        agents = {a: v for a, v in agent_returns.items() if math.isfinite(v)}
        if set(agent_returns) != self._agents or not set(module_returns) <= self._modules:
            self._forget()  # other agents than before: no set learned so far holds them
        self._agents |= set(agent_returns)
        self._modules |= set(module_returns)
        if len(agents) != len(agent_returns) or len(agents) > MAX_AGENTS:
            return  # a NaN return leaves its agent out of every sum this iteration
        sums = {frozenset(s): sum(agents[a] for a in s) for size in range(1, len(agents) + 1)
                for s in itertools.combinations(sorted(agents), size)}  # once, for every module
        for module, value in module_returns.items():
            if not math.isfinite(value) or module in self._broken:
                continue
            matching = {s for s, total in sums.items()
                        if math.isclose(total, value, rel_tol=1e-6, abs_tol=1e-6)}
            known = self._sets.get(module)
            self._sets[module] = matching if known is None else known & matching
            self._seen[module] = self._seen.get(module, 0) + 1
            if not self._sets[module]:
                self._broken.add(module)

    def mapping(self) -> dict[str, str]:
        """agent -> module, for the agents learned so far."""
        found: dict[str, str] = {}
        for module, sets in self._sets.items():
            if module in self._broken or self._seen[module] < MIN_ITERATIONS or \
                    len(sets) != 1:
                continue
            (agents,) = sets
            if any(agent in found for agent in agents):
                return {}  # two modules claim an agent: nothing is certain
            found.update(dict.fromkeys(agents, module))
        rest_agents = self._agents - set(found)
        rest_modules = self._modules - set(found.values())
        if found and rest_agents and len(rest_modules) == 1:
            found.update(dict.fromkeys(rest_agents, next(iter(rest_modules))))
        return found


__all__ = ["MAX_AGENTS", "MIN_ITERATIONS", "AgentsByReturns"]
