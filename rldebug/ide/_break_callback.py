"""The callback ``break_on`` adds: it checks each env step and each train result."""

from __future__ import annotations

import os
import warnings
from collections import defaultdict, deque
from dataclasses import dataclass

from ray.rllib.callbacks.callbacks import RLlibCallback

from rldebug.ide._steps import (
    KL_KEYS,
    LOSS_KEYS,
    env_step_of,
    episode_id_of,
    first_value,
    has_non_finite,
    learner_stats,
    step_of,
)
from rldebug.ide._stop import BreakEvent, catch

MIN_SPIKE_HISTORY = 3


class BreakOnWarning(UserWarning):
    """A ``break_on`` condition can never fire (for example an event the env never reports)."""


@dataclass(frozen=True)
class BreakSpec:
    """The validated conditions of one ``break_on`` call (see :func:`rldebug.ide.break_on`)."""

    token: str
    events: tuple[str, ...] = ()
    reward_below: float | None = None
    reward_above: float | None = None
    non_finite: bool = True
    loss_spike: float | None = None
    kl_spike: float | None = None
    spike_window: int = 20
    agent_action: tuple[tuple[str, frozenset], ...] = ()
    agent_ids: frozenset | None = None
    max_stops: int | None = None
    mode: str = "auto"


def _step_events(spec: BreakSpec, agent_id: str, step) -> list[tuple[str, str, float | None]]:
    """(kind, reason, value) for every condition this agent's step meets."""
    found = []
    for name in spec.events:
        if step.info.get(name):
            found.append(("info_event", f"{agent_id}: info event {name!r}", None))
    reward = step.reward
    if reward is not None and spec.reward_below is not None and reward < spec.reward_below:
        found.append(("reward_below", f"{agent_id}: reward {reward} < {spec.reward_below}", reward))
    if reward is not None and spec.reward_above is not None and reward > spec.reward_above:
        found.append(("reward_above", f"{agent_id}: reward {reward} > {spec.reward_above}", reward))
    if spec.non_finite:
        if has_non_finite(step.obs):
            found.append(("non_finite_obs", f"{agent_id}: non-finite observation", None))
        if reward is not None and has_non_finite(float(reward)):
            found.append(("non_finite_reward", f"{agent_id}: non-finite reward {reward}", reward))
    wanted_actions = dict(spec.agent_action).get(agent_id)
    if wanted_actions is not None and step.action is not None:
        try:
            action = int(step.action)
        except (TypeError, ValueError):
            action = None
        if action in wanted_actions:
            found.append(("agent_action", f"{agent_id}: took action {action}", None))
    return found


class BreakOnCallback(RLlibCallback):
    """Stops (or logs) on the RL events of ``spec``; ``break_on`` subclasses it per call."""

    spec: BreakSpec = BreakSpec(token="unset")

    def __init__(self):
        super().__init__()
        self._checked_events = False
        self._history: dict[tuple[str, str], deque] = defaultdict(
            lambda: deque(maxlen=self.spec.spike_window))

    # -- env side: runs wherever the env steps (driver in local mode, else EnvRunners) --

    def on_episode_step(self, *, episode, **kwargs) -> None:
        spec = self.spec
        steps = step_of(episode)
        if not self._checked_events:
            self._checked_events = True
            self._warn_unreported_events(steps)
        for agent_id, step in steps.items():
            if spec.agent_ids is not None and agent_id not in spec.agent_ids:
                continue
            for kind, reason, value in _step_events(spec, agent_id, step):
                event = BreakEvent(
                    kind=kind, reason=reason, pid=os.getpid(), agent_id=agent_id,
                    episode_id=episode_id_of(episode), env_step=env_step_of(episode),
                    value=value, action=step.action, reward=step.reward, info=dict(step.info))
                catch(event, spec.mode, spec.token, spec.max_stops, {
                    "episode": episode, "agent_id": agent_id, "obs": step.obs,
                    "action": step.action, "reward": step.reward, "info": step.info})

    def _warn_unreported_events(self, steps) -> None:
        keys = {key for step in steps.values() for key in step.info}
        missing = [name for name in self.spec.events if name not in keys]
        if missing and steps:
            warnings.warn(
                f"break_on: the env's infos carry no {missing} on the first step (info keys "
                f"seen: {sorted(keys)}); break_on(events=...) fires when info[name] is truthy, "
                "so check the event names.", BreakOnWarning, stacklevel=2)

    # -- learner side: runs in the driver, after each training iteration --

    def on_train_result(self, *, result: dict, **kwargs) -> None:
        spec = self.spec
        iteration = result.get("training_iteration")
        for module_id, stats in learner_stats(result).items():
            for kind, reason, value in self._learner_events(module_id, stats):
                event = BreakEvent(kind=kind, reason=reason, pid=os.getpid(),
                                   module_id=module_id, iteration=iteration, value=value)
                catch(event, spec.mode, spec.token, spec.max_stops,
                      {"stats": stats})

    def _learner_events(self, module_id: str, stats: dict) -> list[tuple[str, str, float]]:
        spec = self.spec
        found = []
        for name, keys, factor in (("loss", LOSS_KEYS, spec.loss_spike),
                                   ("kl", KL_KEYS, spec.kl_spike)):
            value = first_value(stats, keys)
            if value is None:
                continue
            if spec.non_finite and has_non_finite(value):
                found.append((f"non_finite_{name}", f"{module_id}: non-finite {name} {value}",
                              value))
                continue
            history = self._history[(name, module_id)]
            if factor is not None and len(history) >= MIN_SPIKE_HISTORY:
                running = sum(abs(v) for v in history) / len(history)
                if running > 0 and abs(value) > factor * running:
                    reason = (f"{module_id}: {name} {value:.4g} > {factor} x running mean "
                              f"|{name}| {running:.4g} (last {len(history)} iterations)")
                    found.append((f"{name}_spike", reason, value))
            history.append(value)
        return found


__all__ = ["BreakOnCallback", "BreakOnWarning", "BreakSpec"]
