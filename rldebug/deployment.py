"""Works in training, fails in deployment: ``parity(checkpoint, policy)`` checks that a
deployed policy acts as the trained one does.

The policy a user trained on RLlib's new API stack is not the RLModule alone: the
env-to-module connectors (observation filters with running statistics, frame stacking,
flattening) and the module-to-env step (greedy action, unsquashing to the action bounds)
are part of it. ``parity`` rebuilds that pipeline from the checkpoint (in this process),
plays episodes of the checkpoint's env with the pipeline's greedy actions, as RLlib's
evaluation does (``explore=False``), asks the deployed policy for its action at every
state, and compares (Discrete: equal; Box: within ``atol``). On a mismatch it replays
the states through the pipeline with each of the user's connector pieces left out, and
names the variant that reproduces the deployed actions.

Single-agent envs; the new API stack.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from rldebug.usage import UsageError, UsageTypeError

DEFAULT_MIN_AGREEMENT = 0.99
UNSQUASH = "without unsquashing/clipping to the action bounds"


@dataclass
class ParityReport:
    """How often the deployed policy chose the training pipeline's action."""

    states: int
    agreement: float
    min_agreement: float
    mismatches: list[dict] = field(default_factory=list)  # the first few
    variants: dict[str, float] = field(default_factory=dict)  # "without X" -> agreement
    explanation: str | None = None

    @property
    def passed(self) -> bool:
        return self.agreement >= self.min_agreement

    def __str__(self) -> str:
        verdict = "PASS" if self.passed else "FAIL"
        lines = [(f"Your policy chose the training pipeline's action in "
                  f"{self.agreement:.1%} of {self.states} states "
                  f"({verdict}, minimum {self.min_agreement:.0%}).")]
        for mismatch in self.mismatches[:3]:
            lines.append(f"  step {mismatch['step']}: yours {mismatch['yours']}, the "
                         f"pipeline's {mismatch['pipeline']}")
        for variant, share in self.variants.items():
            lines.append(f"  the pipeline {variant}: yours agrees in {share:.1%}")
        if self.explanation:
            lines.append(self.explanation)
        return "\n".join(lines)


def _same(a, b, atol: float) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        return False
    if np.issubdtype(a.dtype, np.integer) and np.issubdtype(b.dtype, np.integer):
        return bool(np.array_equal(a, b))
    return bool(np.allclose(a.astype(float), b.astype(float), atol=atol))


def _greedy_env_action(algo, obs, to_env: bool = True):
    """The pipeline's greedy action for ``obs``, as the env gets it (``to_env=False``: as
    the module outputs it, without RLlib's unsquashing/clipping to the action bounds)."""
    from rldebug.inspection import explain
    from rldebug.shapes.outputs import env_action

    greedy = np.asarray(explain(algo, obs, seed=0).greedy_action)
    if not to_env:
        return greedy
    space = algo.env_runner.env.unwrapped.single_action_space
    return env_action(greedy[None], space, algo.config)[0]


def parity(checkpoint_or_algo: Any, policy: Callable, *, episodes: int = 5, seed: int = 0,
           min_agreement: float = DEFAULT_MIN_AGREEMENT, atol: float = 1e-4,
           max_steps: int = 1000) -> ParityReport:
    """Compare ``policy`` (raw env observation in, env action out) with the training
    pipeline of a checkpoint (a path, or an Algorithm already built).

    :raises TypeError, ValueError: for a policy that is not callable, bad counts, an
        old-stack or multi-agent checkpoint (with the reason).
    """
    from rldebug.inspection import load
    from rldebug.shapes.connectors import pipeline_without, user_pieces
    from rldebug.shapes.env_meta import is_multi_agent_env

    if not callable(policy):
        raise UsageTypeError(f"parity(policy=...) must be a function obs -> action, got "
                             f"{type(policy).__name__}.")
    for name, value in (("episodes", episodes), ("max_steps", max_steps)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise UsageError(f"parity({name}=...) must be an int >= 1, got {value!r}.")
    if not 0 < float(min_agreement) <= 1:
        raise UsageError(f"parity(min_agreement=...) must be in (0, 1], got {min_agreement!r}.")
    algo = load(checkpoint_or_algo) if isinstance(checkpoint_or_algo, (str, Path)) \
        else checkpoint_or_algo
    if not algo.config.enable_env_runner_and_connector_v2:
        raise UsageError("parity compares with the new API stack's pipeline (connectors + "
                         "RLModule); this checkpoint is from the old stack.")
    env = algo.env_runner.env.unwrapped.envs[0]
    if is_multi_agent_env(algo.config.env):
        raise UsageError("parity handles single-agent envs so far; this env is multi-agent.")

    states, yours, pipeline = [], [], []
    for episode in range(episodes):
        obs, _ = env.reset(seed=seed + episode)
        for _ in range(max_steps):
            reference = _greedy_env_action(algo, obs)
            states.append(np.array(obs, copy=True))
            yours.append(policy(obs))
            pipeline.append(reference)
            obs, _, terminated, truncated, _ = env.step(reference)
            if terminated or truncated:
                break
    agree = [_same(y, p, atol) for y, p in zip(yours, pipeline)]
    report = ParityReport(states=len(states), agreement=float(np.mean(agree)),
                          min_agreement=float(min_agreement),
                          mismatches=[{"step": i, "yours": yours[i], "pipeline": pipeline[i]}
                                      for i, ok in enumerate(agree) if not ok][:10])
    if report.passed:
        return report
    for piece in user_pieces(algo):
        with pipeline_without(algo, piece):
            variant = [_greedy_env_action(algo, s) for s in states]
        report.variants[f"without {piece}"] = float(np.mean(
            [_same(y, v, atol) for y, v in zip(yours, variant)]))
    if isinstance(env.action_space, gym.spaces.Box):
        variant = [_greedy_env_action(algo, s, to_env=False) for s in states]
        report.variants[UNSQUASH] = float(np.mean(
            [_same(y, v, atol) for y, v in zip(yours, variant)]))
    if report.variants:
        best, share = max(report.variants.items(), key=lambda kv: kv[1])
        if (share >= report.min_agreement or share >= report.agreement + 0.2) and \
                best == UNSQUASH:
            report.explanation = (
                f"Your policy matches the training pipeline {best} in {share:.1%} of "
                f"{report.states} states: your deployment hands the env the module's action "
                "in [-1, 1]; RLlib unsquashes it to the env's bounds (normalize_actions="
                "True) or clips it (clip_actions=True) first "
                "(ray.rllib.utils.spaces.space_utils.unsquash_action).")
        elif share >= report.min_agreement or share >= report.agreement + 0.2:
            report.explanation = (
                f"Your policy matches the training pipeline {best} in {share:.1%} of "
                f"{report.states} states: your deployment does not apply "
                f"{best.removeprefix('without ')}, which the policy was trained behind "
                "(its state is in the checkpoint's env_runner/env_to_module_connector).")
    if report.explanation is None:
        report.explanation = ("No single left-out connector piece explains the difference: "
                              "check the greedy action (argmax, or the Gaussian's mean) and "
                              "the action's unsquashing/clipping to the env's bounds.")
    return report


def cmd_parity(args) -> int:
    """Compare a deployed policy with the checkpoint's training pipeline: exit 0 when they
    agree, 1 when not."""
    import json
    from dataclasses import asdict

    from rldebug.usage import load_function

    report = parity(args.checkpoint, load_function(args.policy, "--policy"),
                    episodes=args.episodes, min_agreement=args.min_agreement)
    if args.json:
        print(json.dumps({**asdict(report), "passed": report.passed}, indent=1, default=str))
    else:
        print(report)
    return 0 if report.passed else 1


def add_commands(subparsers) -> None:
    """Register ``parity`` on ``parser.add_subparsers()``."""
    parser = subparsers.add_parser(
        "parity", help="check a deployed policy against the checkpoint's training pipeline",
        description="Play episodes with the checkpoint's training pipeline (env-to-module "
                    "connectors with their saved state, the RLModule, the greedy action as "
                    "RLlib's evaluation takes it), ask your deployed policy at every state, "
                    "and compare; on a mismatch, name the connector piece your deployment "
                    "leaves out. Exit 0 when they agree, 1 when not, 2 for unusable input.")
    parser.add_argument("checkpoint", help="an RLlib 2.60 checkpoint (new API stack)")
    parser.add_argument("--policy", required=True,
                        help="FILE.py:FUNC or MODULE:FUNC: your deployed policy, raw env "
                             "observation in, env action out")
    parser.add_argument("--episodes", type=int, default=5)
    parser.add_argument("--min-agreement", type=float, default=DEFAULT_MIN_AGREEMENT,
                        help=f"share of states that must agree (default {DEFAULT_MIN_AGREEMENT})")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.set_defaults(func=cmd_parity)


__all__ = ["DEFAULT_MIN_AGREEMENT", "ParityReport", "add_commands", "cmd_parity", "parity"]
