"""Mutation operators: each turns a healthy base into a run with one known fault.

Modelled on the faults RL mutation tools inject into training programs
(RLMutation, muPRL: hyperparameter, reward, observation and algorithm-component
mutations) and on the RLlib bugs users report. An operator says which bases it
applies to, how it changes the config or the env, and which doctor rules name
its fault (the label of every run it makes: how the run was made, decided before
the doctor ever read it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from benchmarks.doctor_faults.bases import BASES, Base

# Findings whose fix is "make each update smaller" name a learning rate (or a step
# count) far too high, whichever symptom they are filed under.
UPDATES_TOO_LARGE = frozenset({"lr_too_high", "kl_blowup", "entropy_collapse",
                               "q_values_diverging", "off_policy_drift", "non_finite"})


def _env_fault(**faults) -> Callable:
    """A mutation that adds ``faults`` to the Faulty env wrapper's settings."""
    def mutate(config, base: Base):
        env_config = dict(config.env_config)
        env_config.update(faults)
        return config.environment(config.env, env_config=env_config)
    return mutate


def _agent_fault(agent, **faults) -> Callable:
    def mutate(config, base: Base):
        env_config = {**dict(config.env_config), "fault_agent": agent, **faults}
        return config.environment(config.env, env_config=env_config)
    return mutate


def _training(**settings) -> Callable:
    def mutate(config, base: Base):
        return config.training(**settings)
    return mutate


def _lr_times(factor: float) -> Callable:
    def mutate(config, base: Base):
        if base.family == "sac":
            return config.training(actor_lr=config.actor_lr * factor,
                                   critic_lr=config.critic_lr * factor)
        return config.training(lr=config.lr * factor)
    return mutate


def _swap_modules(config, base: Base):
    return config.multi_agent(policy_mapping_fn=swapping_arena_mapping)


def swapping_arena_mapping(agent_id, episode=None, **kwargs):
    """A mapping bug: the arena's agents swap modules every other episode."""
    flip = hash(getattr(episode, "id_", "")) % 2
    return ("pol1", "pol2")[(agent_id == "agent2") != bool(flip)]


@dataclass(frozen=True)
class Operator:
    """One fault: where it applies, how it is made, what names it.

    :param names: the rule ids that name this fault (one of them, at warning or
        error, among the leading root causes, for ``subject``, is a hit).
    :param subject: the agent or module the fault concerns (None: the whole run).
    :param trace: a trace level to record with the run (``rldebug.run(trace=...)``).
    """

    name: str
    applies: Callable[[Base], bool]
    mutate: Callable
    names: frozenset
    subject: str | None = None
    trace: str | None = None
    seeds: tuple[int, ...] = (0,)
    description: str = ""


def _has(*traits):
    return lambda base: all(t in base.traits for t in traits)


def _family(*families):
    return lambda base: base.family in families


def _base(*names):
    return lambda base: base.name in names


# The two LunarLander bases take the same faults.
LUNAR = ("ppo_lunar", "ppo_lunar_continuous")

OPERATORS = {op.name: op for op in (
    Operator("lr_x100", lambda base: True, _lr_times(100.0), UPDATES_TOO_LARGE,
             description="learning rate x100 (SAC: actor_lr and critic_lr)"),
    Operator("lr_div1000", _base("ppo_cartpole", "ppo_pendulum", "appo_cartpole",
                                 "dqn_cartpole", "sac_pendulum", *LUNAR),
             _lr_times(1e-3),
             frozenset({"updates_too_small"}), description="learning rate / 1000"),
    Operator("entropy_coeff_1", lambda base: base.family in ("ppo", "appo", "impala")
             and base.name not in ("ppo_acrobot", "ppo_tictactoe"),
             _training(entropy_coeff=1.0), frozenset({"policy_stays_random"}),
             description="entropy_coeff 1.0 (100x the usual 0.01)"),
    Operator("reward_x1000", _base("ppo_cartpole", "ppo_pendulum", "ppo_goal", "appo_cartpole",
                                   "dqn_cartpole", "sac_pendulum", "dqn_goal", "appo_goal",
                                   *LUNAR),
             _env_fault(reward_scale=1000.0),
             frozenset({"reward_scale"}), description="every reward x1000"),
    # Added 2026-12-04, when reward_constant had raised one top-level finding on the
    # benchmark (a false one): a reward wired to 0, so its precision is measured on more.
    Operator("reward_zero", _base("ppo_cartpole", "ppo_acrobot", "appo_cartpole",
                                  "dqn_cartpole"),
             _env_fault(reward_constant=0.0), frozenset({"reward_constant"}),
             description="every reward 0 (a reward wired to a constant)"),
    Operator("reward_x1e-4", _base("ppo_cartpole", "ppo_pendulum", "sac_pendulum"),
             _env_fault(reward_scale=1e-4),
             frozenset({"reward_scale"}), description="every reward x1e-4"),
    Operator("reward_sign_flipped", _base("ppo_cartpole", "ppo_goal", "dqn_goal", "appo_goal",
                                          *LUNAR),
             _env_fault(reward_sign_flipped=True),
             frozenset({"reward_sign", "reward_never_positive"}),
             description="every reward's sign flipped"),
    Operator("nan_reward", _base("ppo_pendulum", "appo_cartpole", "impala_cartpole",
                                 "dqn_cartpole", "dqn_goal", "appo_goal", *LUNAR),
             _env_fault(nan_reward_every=300),
             frozenset({"non_finite_reward"}), description="a NaN reward every 300 steps"),
    Operator("nan_reward_traced", _base("ppo_cartpole", "sac_pendulum"),
             _env_fault(nan_reward_every=300), frozenset({"non_finite_reward"}),
             trace="summary", description="a NaN reward every 300 steps, traced"),
    Operator("obs_x1e4", _has("obs"), _env_fault(obs_scale=1e4),
             frozenset({"observation_scale"}), trace="batches",
             description="observations x1e4, traced"),
    Operator("obs_zeroed", _has("obs"), _env_fault(obs_zero=True),
             frozenset({"observation_constant"}), trace="batches",
             description="observations all 0, traced"),
    Operator("gamma_0", _has("delayed"), _training(gamma=0.0),
             frozenset({"horizon_too_short"}), description="gamma 0 on a delayed reward"),
    Operator("gamma_0.5", lambda base: "delayed" in base.traits and base.family == "ppo",
             _training(gamma=0.5),
             frozenset({"horizon_too_short"}), description="gamma 0.5 on a delayed reward"),
    Operator("vf_clip_low", _base("ppo_cartpole", "ppo_pendulum", "ppo_acrobot", *LUNAR),
             _training(vf_clip_param=0.1),
             frozenset({"critic_clipped"}), description="vf_clip_param 0.1"),
    # Under Adam (RLlib's default optimizer), which divides each gradient by its own
    # running scale, the KL per update stayed that of the healthy controls
    # (tests/test_doctor_faults.py); the clip shows in the gradient norm RLlib logs before
    # clipping. The bases after the first two were added on 2026-12-04, after the rule
    # that reads that norm was written, to measure it on runs it was not made with.
    Operator("grad_clip_tiny", _base("ppo_cartpole", "ppo_pendulum", "appo_cartpole",
                                     "dqn_acrobot", "sac_pendulum", "ppo_ma_cartpole",
                                     "old_ppo_cartpole", "appo_goal", *LUNAR),
             _training(grad_clip=1e-4, grad_clip_by="global_norm"),
             frozenset({"grad_clip_too_small", "updates_too_small"}),
             description="grad_clip 1e-4 (global norm)"),
    Operator("epochs_x10_small_batch", _base("ppo_cartpole", "ppo_acrobot"),
             _training(train_batch_size=200, minibatch_size=50, num_epochs=40),
             frozenset({"kl_blowup", "lr_too_high", "entropy_collapse"}),
             description="num_epochs 40 on 200-step batches"),
    Operator("target_never_updated", _family("dqn"),
             _training(target_network_update_freq=10 ** 9),
             frozenset({"target_never_updated"}),
             description="DQN target network never updated"),
    Operator("learning_never_starts", _family("dqn", "sac"),
             _training(num_steps_sampled_before_learning_starts=10 ** 9),
             frozenset({"no_updates"}), description="replay learning never starts"),
    Operator("replay_below_batch", _base("dqn_cartpole"),
             _training(replay_buffer_config={"type": "PrioritizedEpisodeReplayBuffer",
                                             "capacity": 16},
                       num_steps_sampled_before_learning_starts=0),
             frozenset({"replay_too_small", "trial_errored"}),
             description="replay capacity 16 below the 32-step train batch"),
    Operator("target_entropy_high", _family("sac"), _training(target_entropy=5.0),
             frozenset({"alpha_runaway"}), description="SAC target_entropy 5 (1-D actions)"),
    Operator("agent1_reward_x1000", _has("agent_reward"),
             _agent_fault(1, reward_scale=1000.0), frozenset({"reward_scale"}), subject="p1",
             description="agent 1's rewards x1000"),
    Operator("agent1_nan_reward", _has("agent_reward"),
             _agent_fault(1, nan_reward_every=300), frozenset({"non_finite_reward"}),
             description="a NaN reward of agent 1 every 300 of its steps"),
    # Faults no rule names yet: measured all the same (recall counts them as misses).
    Operator("reward_noise", _base("ppo_cartpole"), _env_fault(reward_noise=10.0),
             frozenset({"reward_noise"}), description="Gaussian noise (std 10) on every reward"),
    # RLlib's results do not say how episodes end: traced, as a user would to find out
    Operator("terminated_as_truncated", _base("ppo_cartpole"),
             _env_fault(terminated_as_truncated=True), frozenset({"termination_misreported"}),
             trace="summary",
             description="the pole falling reported as truncated, not terminated; traced"),
    Operator("modules_swap_per_episode", _base("ppo_arena"), _swap_modules,
             frozenset({"mapping_unstable"}),
             description="agents swap modules every other episode"),
)}

HEALTHY_SEEDS = (0, 1, 2)


@dataclass(frozen=True)
class Case:
    """One run of the benchmark: a base, an operator (None: a healthy control), a seed."""

    base: Base
    operator: Operator | None
    seed: int
    label: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"{self.base.name}__{self.operator.name if self.operator else 'healthy'}" \
               f"__s{self.seed}"

    def config(self):
        config = self.base.make(self.seed)
        if self.operator is not None:
            config = self.operator.mutate(config, self.base)
        return config


def cases(seed: int | None = None) -> list[Case]:
    """Every run of the benchmark, healthy controls first.

    With ``seed``: a second draw of the faulty runs, every fault once at that seed and
    no controls (it is judged against the stored controls): the same faults on runs
    that no rule was revised with.
    """
    out = []
    for base in BASES.values():
        for control_seed in HEALTHY_SEEDS if seed is None else ():
            out.append(Case(base, None, control_seed, {"healthy": True}))
    for base in BASES.values():
        for op in OPERATORS.values():
            if not op.applies(base):
                continue
            for run_seed in op.seeds if seed is None else (seed,):
                out.append(Case(base, op, run_seed, {"operator": op.name,
                                                     "expect": sorted(op.names),
                                                     "module": op.subject}))
    for case in out:
        case.label.update(base=case.base.name, family=case.base.family, seed=case.seed,
                          env=case.base.env, multi_agent=case.base.multi_agent,
                          stack=case.base.stack)
    return out
