"""Re-run one recorded episode in this process and stop at its exact env step.

The algorithm is rebuilt from the trace's config in local mode with one env per
EnvRunner; its modules get the weights saved nearest before the episode. The env
is put back as it was before the episode's reset (what it carried over from earlier
episodes, when the trace could pickle it) and reset with the episode's recorded
seed, and each step the recorded action is
put in place of the one the module samples, in the episode (a connector piece
after the user's own) and in the env's ``step``: the module's forward pass, the
env, the connectors and the user's callbacks all run as in training (breakpoints
in them are hit), and the trajectory is the recorded one whatever the sampling
draws. At the target step the replay stops through ``break_here`` with the step's
locals; for a crash it then lets the next step run and catches the crash again.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import numpy as np
from ray.rllib.callbacks.callbacks import RLlibCallback
from ray.rllib.connectors.connector_v2 import ConnectorV2

from rldebug.callbacks.compose import with_settings
from rldebug.shapes.env_meta import sub_envs
from rldebug.shapes.episodes import env_t, episode_id, kind_of, last_step
from rldebug.shapes.numbers import has_non_finite
from rldebug.tracing.replay_state import (
    connector_state_kept,
    decode_env_action,
    restore_connectors,
    restore_env,
    step_digest,
)


class ReplayFinished(BaseException):
    """Raised from the replay's callback once it has stopped at the target step (and from
    the env's step, after a crash replayed). A BaseException, as KeyboardInterrupt is: the
    replay's end is no error, and RLlib's ``except Exception`` around the env's step would
    log it as a failed env, wrap it in a RuntimeError, or, with
    ``restart_failed_sub_environments=True``, recreate the env and sample on."""


@dataclass
class EpisodeTarget:
    """The recorded episode, the step to stop at and what to do there."""

    record: dict
    step: int
    reason: str
    agent_id: str | None = None
    mode: str = "auto"
    expect_crash: bool = False
    expect_non_finite: str | None = None  # "obs" or "rewards"
    expect_info: str | None = None  # an info event's name

    def env_action(self, t: int, agent_keys: dict | None = None) -> Any:
        """The action the env received at its step ``t + 1`` (``t`` steps taken so far)."""
        actions = self.record["actions"]
        if t >= len(actions):
            return None
        return decode_env_action(actions[t], agent_keys)


@dataclass
class EpisodeOutcome:
    """What the replay saw: the stop and, for a crash, the error it raised again."""

    stop: Any = None  # the BreakEvent
    stopped_at: int | None = None
    obs: Any = None
    action: Any = None
    reward: float | None = None
    info: dict | None = None
    crash: str | None = None
    ended_at: int | None = None  # the episode ended before the target step
    substituted: int = 0  # steps whose sampled action differed from the recorded one
    env_restored: bool = False  # the env's state before the recorded reset was put back
    # the connector pipelines' state then: "restored", "not recorded" (a piece keeps state
    # the trace has none of: an older trace), or None (no piece keeps state)
    connectors: str | None = None
    departed_at: int | None = None  # the first env step (0: the reset) that returned other
    #                                 values than recorded
    info_departed_at: int | None = None  # the first whose info differs from the recorded
    agent_id: str | None = None  # whose obs, action and reward these are (multi-agent)
    module_id: str | None = None  # the module that agent maps to in the replayed episode
    env_obs: Any = None  # what the env returned at the stop (every agent's, multi-agent)
    env_action: Any = None  # what the env received at the stop (unsquashed Box actions)
    # the env's step at the target, for a crash target: (action, obs, reward, info) as the
    # env gave them; the stop is made with these when the crash comes before RLlib's step
    # callback (in the env-to-module pipeline, as it reads that step's observation)
    at_target: tuple | None = None
    crashed_in_pipeline: bool = False


class ForceRecordedActions(ConnectorV2):
    """Module-to-env piece: the recorded action replaces the sampled one, per agent."""

    def __init__(self, input_observation_space=None, input_action_space=None, *, target,
                 outcome, normalize_actions: bool = False, **kwargs):
        super().__init__(input_observation_space, input_action_space, **kwargs)
        self._target = target
        self._outcome = outcome
        self._normalize = normalize_actions

    def __call__(self, *, rl_module, batch, episodes, explore=None, shared_data=None,
                 **kwargs):
        from ray.rllib.core.columns import Columns

        by_id = {e.id_: e for e in episodes}

        def force(action, eps_id, agent_id, module_id):
            episode = by_id.get(eps_id)
            if episode is None:
                return action
            recorded = self._target.env_action(env_t(episode))
            if isinstance(recorded, dict):
                recorded = recorded.get(str(agent_id))
            if recorded is None:
                return action
            recorded = self._module_action(recorded, agent_id)
            if not np.array_equal(np.asarray(recorded), np.asarray(action)):
                self._outcome.substituted += 1
            return np.asarray(recorded, dtype=np.asarray(action).dtype).reshape(
                np.shape(action))

        if Columns.ACTIONS in batch:
            self.foreach_batch_item_change_in_place(batch, column=Columns.ACTIONS, func=force)
        return batch

    def _module_action(self, env_action, agent_id):
        """The module-side action of a recorded env action (Box actions are normalised
        back when RLlib unsquashes them; a clipped action is its own preimage)."""
        import gymnasium as gym
        from ray.rllib.utils.spaces.space_utils import normalize_action

        space = self.input_action_space
        if isinstance(space, gym.spaces.Dict) and agent_id is not None and agent_id in space.spaces:
            space = space[agent_id]
        if self._normalize and isinstance(space, gym.spaces.Box):
            return normalize_action(np.asarray(env_action), space)
        return env_action


def replay_connector(user_connector, target: EpisodeTarget, outcome: EpisodeOutcome,
                     normalize_actions: bool):
    """A ``module_to_env_connector`` function: the user's pieces, then :class:`ForceRecordedActions`."""
    def build(env=None, spaces=None):
        pieces = []
        if user_connector is not None:
            made = user_connector(env, spaces)
            pieces = list(made) if isinstance(made, (list, tuple)) else [made]
        action_space = getattr(env, "single_action_space", None)
        return [*pieces, ForceRecordedActions(input_action_space=action_space, target=target,
                                              outcome=outcome,
                                              normalize_actions=normalize_actions)]

    return build


def _crash_text(err: BaseException) -> str:
    return f"{type(err).__name__}: {err}"[:500]


@dataclass(frozen=True)
class ReplaySettings:
    """The episode to replay and the outcome the replay fills in (one object, shared with
    the caller: the replay runs in this process)."""

    target: EpisodeTarget
    outcome: EpisodeOutcome


class ReplayCallback(RLlibCallback):
    """Seeds and drives the env, and stops at the target step (its :class:`ReplaySettings`
    set on a subclass by :func:`replay_callback`)."""

    settings: ReplaySettings

    def on_environment_created(self, *, env, env_runner=None, **kwargs) -> None:
        envs = sub_envs(env)
        if envs:
            self._drive(envs[0], env_runner)

    def _drive(self, sub_env, runner) -> None:
        if getattr(sub_env, "_rldebug_replay", False):
            return
        reset, step = sub_env.reset, sub_env.step
        target, outcome = self.settings.target, self.settings.outcome
        state = {"t": 0, "agent_keys": {}}

        def seeded_reset(*args, seed=None, options=None, **kwargs):
            state["t"] = 0
            snapshot = target.record.get("env_state")
            if snapshot and not outcome.env_restored:
                # the env as it was before the recorded reset: what it carried over
                restore_env(sub_env, base64.b64decode(snapshot))
                outcome.env_restored = True
            if outcome.connectors is None and runner is not None:
                # the pipelines as they were then (a MeanStdFilter's running statistics)
                kept = target.record.get("connector_state")
                if kept:
                    restore_connectors(runner, kept)
                outcome.connectors = "restored" if kept else \
                    "not recorded" if connector_state_kept(runner) else "none"
            result = reset(*args, seed=target.record["seed"],
                           options=target.record.get("options"), **kwargs)
            if isinstance(result, tuple) and len(result) == 2:
                _compare(0, step_digest(result[0]), step_digest(result[1]))
                self._env_saw = (None, result[0])
            return result

        def recorded_step(action, *args, **kwargs):
            if isinstance(action, dict):
                state["agent_keys"].update({str(k): k for k in action})
            recorded = target.env_action(state["t"], state["agent_keys"])
            state["t"] += 1
            if recorded is not None:
                action = recorded  # exactly what the env received in training
            try:
                result = step(action, *args, **kwargs)
            except Exception as err:
                if target.expect_crash and outcome.stop is not None:
                    outcome.crash = _crash_text(err)
                    raise ReplayFinished() from err
                raise
            if isinstance(result, tuple) and len(result) == 5:
                _compare(state["t"], step_digest(result[0], result[1]),
                         step_digest(result[4]))
                self._env_saw = (action, result[0])
                if target.expect_crash and state["t"] == target.step:
                    outcome.at_target = (action, result[0], result[1], result[4])
            return result

        def _compare(t: int, digest: str, info_digest: str) -> None:
            recorded = target.record.get("digests") or []
            if outcome.departed_at is None and t < len(recorded) and recorded[t] != digest:
                outcome.departed_at = t
            infos = target.record.get("info_digests") or []
            if outcome.info_departed_at is None and t < len(infos) and infos[t] != info_digest:
                outcome.info_departed_at = t

        sub_env.reset, sub_env.step = seeded_reset, recorded_step
        sub_env._rldebug_replay = True

    def on_episode_start(self, *, episode, **kwargs) -> None:
        if self.settings.target.step == 0:
            self._stop(episode, at_reset=True)

    def on_episode_step(self, *, episode, **kwargs) -> None:
        if env_t(episode) == self.settings.target.step and self.settings.outcome.stop is None:
            self._stop(episode)

    def on_episode_end(self, *, episode, **kwargs) -> None:
        if self.settings.outcome.stop is None:
            self.settings.outcome.ended_at = env_t(episode)
            raise ReplayFinished()

    def _stop(self, episode, at_reset: bool = False) -> None:
        target, outcome = self.settings.target, self.settings.outcome
        steps = {} if at_reset else last_step(episode)
        agent = target.agent_id if target.agent_id in steps else next(iter(steps), None)
        step = steps.get(agent)
        if at_reset:
            obs = _reset_obs(episode, target.agent_id)
            action = reward = None
            info = {}
        else:
            obs, action, reward, info = step.obs, step.action, step.reward, dict(step.info)
        outcome.agent_id = str(agent) if agent is not None and kind_of(episode) == "multi" \
            else None
        if outcome.agent_id is not None:
            outcome.module_id = str(episode.module_for(agent))
        _stop_at(target, outcome, env_t(episode), obs, action, reward, info,
                 env_saw=getattr(self, "_env_saw", (None, None)), episode=episode,
                 agent_id=None if agent is None else str(agent),
                 episode_id=episode_id(episode),
                 extra={"recorded_episode_id": target.record["episode_id"]})
        if not target.expect_crash:
            raise ReplayFinished()


def _stop_at(target: EpisodeTarget, outcome: EpisodeOutcome, step: int, obs, action,
             reward, info, *, env_saw: tuple, agent_id, episode_id: str, extra: dict,
             episode=None) -> None:
    """Keep what the replay saw at ``step`` in the outcome and stop there (``break_here``)."""
    from rldebug.ide import break_here

    outcome.stopped_at, outcome.obs, outcome.action = step, obs, action
    outcome.reward, outcome.info = reward, dict(info or {})
    outcome.env_action, outcome.env_obs = env_saw
    outcome.stop = break_here(
        target.reason, kind="reproduce", mode=target.mode, episode=episode,
        agent_id=agent_id, module_id=outcome.module_id, obs=obs, action=action,
        reward=reward, info=outcome.info,
        episode_id=episode_id, env_step=step, extra={"seed": target.record["seed"], **extra})


def _reset_obs(episode, agent_id):
    if kind_of(episode) == "multi":
        observations = {str(a): e.get_observations(-1)
                        for a, e in episode.agent_episodes.items() if len(e.observations)}
        return observations.get(agent_id, observations)
    return episode.get_observations(-1)


def replay_callback(target: EpisodeTarget, outcome: EpisodeOutcome) -> type:
    return with_settings(ReplayCallback, ReplaySettings(target, outcome), name="ReplayEpisode")


def run_episode(algorithm, target: EpisodeTarget, outcome: EpisodeOutcome) -> EpisodeOutcome:
    """Sample the one recorded episode with the local EnvRunner until the replay stops."""
    runner = algorithm.env_runner
    try:
        runner.sample(num_episodes=1, explore=True)
    except ReplayFinished:
        pass
    except Exception as err:  # the sampler crashed (e.g. NaN logits), as in training
        if target.expect_crash and outcome.stop is None and outcome.at_target is not None:
            _stop_after_the_env_step(target, outcome)
        elif not (target.expect_crash and outcome.stop is not None):
            raise
        outcome.crash = _crash_text(err)
    return outcome


def _stop_after_the_env_step(target: EpisodeTarget, outcome: EpisodeOutcome) -> None:
    """The crash came after the env's target step and before RLlib's step callback (a
    piece of the env-to-module pipeline raised on that step's observation): stop with
    what the env returned there."""
    action, obs, reward, info = outcome.at_target
    agent = target.agent_id
    if isinstance(obs, dict) and obs and agent not in obs:
        agent = next(iter(obs))
    if isinstance(obs, dict) and agent in obs:  # multi-agent: the agent's own
        outcome.agent_id = str(agent)
        obs, reward = obs[agent], (reward or {}).get(agent)
        info = (info or {}).get(agent, {})
        action = action.get(agent) if isinstance(action, dict) else action
    outcome.crashed_in_pipeline = True
    _stop_at(target, outcome, target.step, obs, action, reward, info,
             env_saw=tuple(outcome.at_target[:2]), agent_id=outcome.agent_id,
             episode_id=target.record["episode_id"], extra={"crashed_in_pipeline": True})


def check_outcome(target: EpisodeTarget, outcome: EpisodeOutcome) -> list[str]:
    """Where the replay differs from the recording (empty: it reproduced the event)."""
    problems = []
    if outcome.departed_at is not None:
        at = outcome.departed_at
        problems.append(
            f"the replay departs from the recording at env step {at}: from the recorded seed "
            "and actions the env returned "
            f"{'another first observation' if at == 0 else 'another observation or reward'} "
            "than in training (it reads a global RNG such as np.random, the clock, or state "
            "the trace did not restore), so what follows is not the recorded episode")
    if outcome.stop is None:
        ended = outcome.ended_at
        problems.append(
            f"the episode ended at env step {ended} before step {target.step}: the env does "
            "not replay from its seed and actions alone (it keeps state across episodes, "
            "reads a global RNG or the clock)" if ended is not None else
            "the replay never reached the episode's target step")
        return problems
    if target.expect_non_finite == "obs" and not has_non_finite(outcome.obs):
        problems.append("the observation at the target step is finite in the replay")
    if target.expect_non_finite == "rewards" and (
            outcome.reward is None or np.isfinite(outcome.reward)):
        problems.append(f"the reward at the target step is {outcome.reward} in the replay")
    if target.expect_info and not (outcome.info or {}).get(target.expect_info):
        problems.append(f"info[{target.expect_info!r}] is not set at the target step in the "
                        "replay")
    if target.expect_crash and outcome.crash is None:
        problems.append("the step after the stop did not crash again in the replay")
    return problems


__all__ = ["EpisodeOutcome", "EpisodeTarget", "ForceRecordedActions", "ReplayCallback",
           "ReplayFinished", "check_outcome", "replay_callback", "replay_connector",
           "run_episode"]
