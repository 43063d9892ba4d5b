"""The user's AlgorithmConfig, with only the env swapped for a probe and batches scaled down.

Kept: the model and RLModule, connectors, learner, loss settings, the mapping function
and ``policies_to_train``, every hyperparameter that decides what is learned (lr,
gamma, lambda, entropy, epochs, clip, tau, ...). Changed, and reported:
everything runs in this process (:func:`rldebug.local_mode`); batch sizes, replay
warm-up, target-network period and the epsilon schedule are scaled to a probe's
one- or two-step episodes, and ``n_step`` is 1 (RLlib's replay buffers sample a step only
where ``n_step`` steps follow it: in a one-step episode none does); evaluation is off; the user's callbacks are left out
(they are written for the user's env and its infos, which a probe does not have);
a missing seed becomes 0.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from rldebug.inprocess.local import local_mode, local_mode_changes

# Env steps per training batch of an on-policy algorithm on a probe (episodes are one
# or two steps long, so this is 128-256 episodes), and the SGD minibatch.
PROBE_BATCH = 256
PROBE_MINIBATCH = 64
# Replay algorithms: learning starts, the target network follows, and epsilon has
# decayed within these many env steps.
REPLAY_WARMUP = 100
TARGET_UPDATE = 100
EPSILON_STEPS = 1000
# Replay algorithms update once per sampled fragment: an iteration (and a check) every
# SAMPLE_STEPS env steps, each update on at most REPLAY_BATCH transitions.
SAMPLE_STEPS = 50
REPLAY_BATCH = 64
# Callback settings the probe run leaves out.
_CALLBACK_FUNCTIONS = ("on_algorithm_init", "on_env_runners_recreated",
                       "on_offline_eval_runners_recreated", "on_checkpoint_loaded",
                       "on_environment_created", "on_episode_created", "on_episode_start",
                       "on_episode_step", "on_episode_end", "on_evaluate_start",
                       "on_evaluate_end", "on_evaluate_offline_start",
                       "on_evaluate_offline_end", "on_sample_end", "on_train_result")

# Agent -> modules seen per probe run, filled by RecordingMapping in this process.
_MAPPINGS: dict[str, dict[tuple, Any]] = {}


class RecordingMapping:
    """The user's policy mapping fn, unchanged, noting which module each agent got in
    each episode (so a probe can say "agent1 went to pol2 in 48% of episodes")."""

    def __init__(self, mapping_fn, token: str):
        self.mapping_fn = mapping_fn
        self.token = token
        _MAPPINGS[token] = {}

    def __call__(self, agent_id, episode=None, *args, **kwargs):
        from rldebug.shapes.mapping import is_stand_in

        module = self.mapping_fn(agent_id, episode, *args, **kwargs)
        if not is_stand_in(episode):  # explain's own question is no episode RLlib sampled
            key = (getattr(episode, "id_", None) or id(episode), agent_id)
            _MAPPINGS.setdefault(self.token, {})[key] = module
        return module


def observed_mapping(token: str) -> dict[Any, Counter]:
    """``{agent: Counter({module: episodes})}`` recorded under ``token`` (then forgotten)."""
    seen: dict[Any, Counter] = {}
    for (_, agent), module in _MAPPINGS.pop(token, {}).items():
        seen.setdefault(agent, Counter())[module] += 1
    return seen


def _algo_kind(config) -> str:
    if getattr(config, "replay_buffer_config", None) is not None:
        return "replay"
    if hasattr(config, "vtrace"):
        return "vtrace"
    return "on_policy"


def _set(config, changes: dict, name: str, value: Any) -> None:
    old = getattr(config, name)
    if old != value:
        changes[name] = (old, value)
        setattr(config, name, value)


def _scale_epsilon(epsilon: Any) -> Any:
    """A ``[(timestep, value), ...]`` schedule compressed to end by EPSILON_STEPS."""
    if not isinstance(epsilon, (list, tuple)) or not epsilon:
        return epsilon
    last = max(t for t, _ in epsilon)
    if last <= EPSILON_STEPS:
        return epsilon
    return [(int(t * EPSILON_STEPS / last), value) for t, value in epsilon]


def _set_batch(config, changes: dict, most: int) -> int:
    """Cap the train batch (per learner, and the old stack's total) at ``most``."""
    batch = min(config.train_batch_size_per_learner, most)
    if config.train_batch_size_per_learner != batch:
        changes["train_batch_size_per_learner"] = (config.train_batch_size_per_learner, batch)
        config.train_batch_size_per_learner = batch
    if config.train_batch_size > batch:
        _set(config, changes, "train_batch_size", batch)
    return batch


def scale_batches(config, changes: dict) -> None:
    """Shrink what a probe does not need: batches, warm-ups and schedules (in place)."""
    kind = _algo_kind(config)
    _set(config, changes, "min_time_s_per_iteration", 0)
    if kind == "replay":
        _set(config, changes, "num_steps_sampled_before_learning_starts",
             min(config.num_steps_sampled_before_learning_starts or 0, REPLAY_WARMUP))
        if (config.target_network_update_freq or 0) > TARGET_UPDATE:
            _set(config, changes, "target_network_update_freq", TARGET_UPDATE)
        if hasattr(config, "epsilon"):
            _set(config, changes, "epsilon", _scale_epsilon(config.epsilon))
        _set(config, changes, "min_sample_timesteps_per_iteration",
             min(config.min_sample_timesteps_per_iteration or SAMPLE_STEPS, SAMPLE_STEPS))
        _set_batch(config, changes, REPLAY_BATCH)
        # RLlib's replay buffers sample a step only where n_step steps follow it in its
        # episode; a probe's one-step episodes have none, and sample() retried forever
        n_step = getattr(config, "n_step", None)
        if n_step is not None and n_step != 1:
            _set(config, changes, "n_step", 1)
        return
    batch = _set_batch(config, changes, PROBE_BATCH)
    if getattr(config, "minibatch_size", None) is not None:
        _set(config, changes, "minibatch_size", min(config.minibatch_size, PROBE_MINIBATCH))
    if getattr(config, "sgd_minibatch_size", None):  # old stack
        _set(config, changes, "sgd_minibatch_size",
             min(config.sgd_minibatch_size, PROBE_MINIBATCH))
    envs = max(1, int(config.num_envs_per_env_runner or 1))
    fragment = config.rollout_fragment_length
    if kind == "on_policy":
        if config.enable_env_runner_and_connector_v2:
            _set(config, changes, "rollout_fragment_length", "auto")
        elif isinstance(fragment, int) and fragment * envs > batch:
            _set(config, changes, "rollout_fragment_length", max(1, batch // envs))
    else:
        if isinstance(fragment, int) and fragment * envs > batch:
            _set(config, changes, "rollout_fragment_length", max(1, batch // envs))
        _set(config, changes, "min_sample_timesteps_per_iteration",
             min(config.min_sample_timesteps_per_iteration or batch, batch))


def leave_out_callbacks(config, changes: dict) -> None:
    from ray.rllib.callbacks.callbacks import RLlibCallback

    if config.callbacks_class is not RLlibCallback:
        changes["callbacks"] = (getattr(config.callbacks_class, "__name__",
                                        repr(config.callbacks_class)), "none")
        config.callbacks_class = RLlibCallback
    for name in _CALLBACK_FUNCTIONS:
        attr = f"callbacks_{name}"
        if getattr(config, attr, None) is not None:
            changes[f"callbacks({name}=...)"] = ("set", "none")
            setattr(config, attr, None)


def probe_config(config, probe: str, agents: dict, multi_agent: bool, seed: int,
                 token: str) -> tuple[Any, dict]:
    """``(config for the probe, {setting: (yours, the probe's)})``.

    :param agents: ``{agent_id: (observation_space, action_space)}`` in the user's env.
    :param token: names the run's record of the agent-to-module mapping and of the
        actions the probe's env received.
    """
    from rldebug.probes.envs import MultiAgentProbeEnv, ProbeEnv  # RLlib's env classes

    changes: dict = {}
    changes.update(local_mode_changes(config).changed)
    local = local_mode(config, warn=False, check_env=False)
    env_config = {"probe": probe, "agents": dict(agents), "seed": seed, "token": token}
    local.environment(env=MultiAgentProbeEnv if multi_agent else ProbeEnv,
                      env_config=env_config)
    local.evaluation(evaluation_interval=None)
    if local.seed is None:
        _set(local, changes, "seed", seed)
    leave_out_callbacks(local, changes)
    scale_batches(local, changes)
    if multi_agent:
        local.policy_mapping_fn = RecordingMapping(local.policy_mapping_fn, token)
    return local, changes


__all__ = ["PROBE_BATCH", "PROBE_MINIBATCH", "RecordingMapping", "observed_mapping",
           "probe_config", "scale_batches"]
