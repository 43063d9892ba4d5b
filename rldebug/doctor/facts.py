"""What the doctor knows of a run beyond its metrics: the config and the env's own facts.

Rules reason from these rather than from one example env: a discount whose horizon
is shorter than the episodes, a target network that never updates within the run,
an env whose declared success (gymnasium's ``reward_threshold``) is a return <= 0.
Everything is optional: a run read without ``params.json`` has no facts, and
rules that need one stay silent.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


def config_number(config: Mapping[str, Any] | None, key: str) -> float | None:
    """A numeric config value; Tune's and rldebug's ``params.json`` write an infinite
    float as ``Infinity`` (read back as inf) or as the string ``"inf"``."""
    value = (config or {}).get(key)
    if isinstance(value, str) and value.strip().lower() in ("inf", "infinity", "+inf"):
        return math.inf
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def train_batch_per_learner(config: Mapping[str, Any]) -> float | None:
    """The train batch one Learner updates on, as RLlib 2.60's
    ``AlgorithmConfig.train_batch_size_per_learner`` reads it: the setting where it was
    made (``to_dict()`` and so ``params.json`` write it as ``_train_batch_size_per_learner``),
    else ``train_batch_size`` split over the Learners (new API stack) or whole (old)."""
    batch = config_number(config, "_train_batch_size_per_learner") or \
        config_number(config, "train_batch_size_per_learner")
    if batch:
        return batch
    total = config_number(config, "train_batch_size")
    learners = config_number(config, "num_learners") or 1.0
    new_stack = config.get("enable_rl_module_and_learner") is True
    return total / learners if total and new_stack else total


@dataclass(frozen=True)
class EnvFacts:
    """What a registered gymnasium env declares (``gymnasium.spec(id)``), read without
    making the env: its id and ``reward_threshold`` (the return that counts as solved)."""

    env_id: str | None = None
    reward_threshold: float | None = None

    @property
    def success_is_positive(self) -> bool:
        """The env calls a positive return success (CartPole: 475)."""
        return self.reward_threshold is not None and self.reward_threshold > 0

    @property
    def success_is_nonpositive(self) -> bool:
        """The env calls a return <= 0 success (Acrobot: -100): every reward may be <= 0
        by design, so "no positive reward" is no finding there."""
        return self.reward_threshold is not None and self.reward_threshold <= 0


def env_facts(env: Any, spec: Mapping[str, Any] | None = None) -> EnvFacts:
    """The registered spec of ``env`` when it is a gymnasium id (``"CartPole-v1"``); else
    what the run recorded of the env it built (``spec``: rldebug.run writes it for a
    wrapped gym env, :func:`rldebug.shapes.env_meta.declared_spec`)."""
    if not isinstance(env, str) or not env or env.startswith("<"):
        return _recorded(spec)
    try:
        import gymnasium

        registered = gymnasium.spec(env)
    except Exception:  # noqa: BLE001 - not a registered id (an RLlib/Tune name)
        return _recorded(spec) if spec else EnvFacts(env_id=env)
    threshold = registered.reward_threshold
    return EnvFacts(env_id=env,
                    reward_threshold=None if threshold is None else float(threshold))


def _recorded(spec: Mapping[str, Any] | None) -> EnvFacts:
    if not isinstance(spec, Mapping) or not isinstance(spec.get("env_id"), str):
        return EnvFacts()
    threshold = spec.get("reward_threshold")
    finite = isinstance(threshold, (int, float)) and not isinstance(threshold, bool) and \
        math.isfinite(threshold)
    return EnvFacts(env_id=spec["env_id"], reward_threshold=float(threshold) if finite else None)


@dataclass(frozen=True)
class RunFacts:
    """The config values and env facts the rules read (None: unknown).

    :param gamma: the discount; ``1 / (1 - gamma)`` is the horizon the value sees.
    :param gae_lambda: GAE's ``lambda_`` (``"lambda"`` in ``params.json``).
    :param target_network_update_freq: DQN's steps between target-network syncs.
    :param learning_starts: ``num_steps_sampled_before_learning_starts`` (DQN, SAC).
    :param entropy_coeff: the entropy bonus (a schedule reads as unknown).
    :param kl_coeff: PPO's starting KL coefficient (its controller moves it from there).
    :param num_epochs: PPO's passes over each train batch.
    :param minibatches: minibatches per epoch (train batch / minibatch size).
    :param grad_clip: the gradient clip (None: no clipping, or unknown).
    :param grad_clip_by: what ``grad_clip`` bounds: ``"global_norm"`` (RLlib's default),
        ``"norm"`` (each tensor's) or ``"value"`` (None: unknown).
    :param per_module_overrides: the config sets some modules' settings apart
        (``algorithm_config_overrides_per_module``): modules may not share an lr.
    :param sample_timeout_s: how long the driver waits for each EnvRunner's ``sample()``.
    :param num_env_runners: remote EnvRunners configured (old stack: ``num_workers``).
    :param replay_capacity: ``replay_buffer_config["capacity"]`` (DQN, SAC).
    :param replay_type: ``replay_buffer_config["type"]``'s name (a class written as its
        repr: its name).
    :param train_batch: the train batch one Learner updates on.
    :param num_learners: remote Learners configured (0: the local one).
    :param new_stack: the run is on the new API stack (``enable_rl_module_and_learner``).
    """

    gamma: float | None = None
    gae_lambda: float | None = None
    target_network_update_freq: float | None = None
    learning_starts: float | None = None
    entropy_coeff: float | None = None
    kl_coeff: float | None = None
    num_epochs: float | None = None
    minibatches: float | None = None
    grad_clip: float | None = None
    grad_clip_by: str | None = None
    per_module_overrides: bool = False
    sample_timeout_s: float | None = None
    num_env_runners: float | None = None
    replay_capacity: float | None = None
    replay_type: str | None = None
    train_batch: float | None = None
    num_learners: float | None = None
    new_stack: bool | None = None
    env: EnvFacts = EnvFacts()

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | None,
                    env_spec: Mapping[str, Any] | None = None) -> RunFacts:
        """The facts of ``config`` (a ``params.json``), and of ``env_spec``: what the run
        recorded of the env it built, where ``config`` names no gymnasium id."""
        if not config:
            return cls(env=_recorded(env_spec))
        batch = train_batch_per_learner(config)
        minibatch = config_number(config, "minibatch_size") or \
            config_number(config, "sgd_minibatch_size")
        overrides = config.get("algorithm_config_overrides_per_module")
        replay = config.get("replay_buffer_config")
        replay = replay if isinstance(replay, Mapping) else {}
        return cls(
            gamma=config_number(config, "gamma"),
            gae_lambda=config_number(config, "lambda"),
            target_network_update_freq=config_number(config, "target_network_update_freq"),
            learning_starts=config_number(config, "num_steps_sampled_before_learning_starts"),
            entropy_coeff=config_number(config, "entropy_coeff"),
            kl_coeff=config_number(config, "kl_coeff"),
            num_epochs=config_number(config, "num_epochs") or
            config_number(config, "num_sgd_iter"),
            minibatches=(max(1.0, batch / minibatch) if batch and minibatch else None),
            grad_clip=config_number(config, "grad_clip"),
            grad_clip_by=config.get("grad_clip_by") if isinstance(
                config.get("grad_clip_by"), str) else None,
            per_module_overrides=bool(overrides) and isinstance(overrides, Mapping),
            sample_timeout_s=config_number(config, "sample_timeout_s"),
            num_env_runners=config_number(config, "num_env_runners")
            if config.get("num_env_runners") is not None else config_number(config, "num_workers"),
            replay_capacity=config_number(replay, "capacity"),
            replay_type=str(replay.get("type")) if replay.get("type") is not None else None,
            train_batch=batch,
            num_learners=config_number(config, "num_learners"),
            new_stack=config.get("enable_rl_module_and_learner")
            if isinstance(config.get("enable_rl_module_and_learner"), bool) else None,
            env=env_facts(config.get("env"), env_spec))

    @property
    def total_train_batch(self) -> float | None:
        """The steps one update trains on across the Learners, as RLlib 2.60's
        ``AlgorithmConfig.total_train_batch_size`` reads it (DQN and SAC sample that many
        from replay): the per-Learner batch x ``num_learners``, one Learner at 0."""
        if self.train_batch is None:
            return None
        return self.train_batch * max(1.0, self.num_learners or 0.0)

    @property
    def sgd_steps(self) -> float | None:
        """SGD steps one train batch gets (PPO): ``num_epochs`` x minibatches."""
        if self.num_epochs is None or self.minibatches is None:
            return None
        return self.num_epochs * self.minibatches

    @property
    def horizon(self) -> float | None:
        """Steps the discount lets a reward reach back: ``1 / (1 - gamma)``."""
        if self.gamma is None or self.gamma < 0:
            return None
        return math.inf if self.gamma >= 1 else 1.0 / (1.0 - self.gamma)

    @property
    def reward_horizon_without_critic(self) -> float | None:
        """Steps of reward a GAE advantage sees on its own: ``1 / (1 - gamma * lambda)``.

        A GAE advantage is ``sum_k (gamma*lambda)^k r_{t+k}`` plus the critic's predictions
        of the states that follow, weighted ``gamma * (1 - lambda) / (1 - gamma*lambda)``
        in all (RLlib's ``GeneralAdvantageEstimation``: "a lambda_ of 0.0 makes the GAE
        rely only on immediate rewards (and vf predictions from there on)"). With a critic
        that predicts nothing, what lies beyond these steps reaches no action; at
        ``lambda=1`` (RLlib's default) that is the discount's own horizon."""
        if self.gamma is None or self.gae_lambda is None or self.gamma < 0 or \
                self.gae_lambda < 0:
            return None
        discount = self.gamma * self.gae_lambda
        return math.inf if discount >= 1 else 1.0 / (1.0 - discount)


__all__ = ["EnvFacts", "RunFacts", "config_number", "env_facts"]
