"""A finding's fix as data: the AlgorithmConfig settings that would remove it.

Each finding whose fix is a config change carries it as ``fix_config``: a list of
candidate dicts of ``AlgorithmConfig`` settings (``config.update_from_dict(candidate)``
applies one), most likely first, e.g. ``[{"lr": 5e-3}, {"lr": 5e-4}]`` for a learning
rate that blows the updates up. ``rldebug doctor --verify`` trains them side by side
with the original (:mod:`rldebug.doctor.verify`).

Values are computed from what the run shows: the learning rate the Learner logged
(``evidence["lr"]``) or the run's config, the largest unclipped value loss, the env
steps a run sampled. Where a value is not known (a ``tune.run`` dict that left ``lr``
at RLlib's default), :func:`config_fixes` takes the full config the run is rebuilt
from, and the verifier asks it again.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from rldebug.doctor.findings import Finding

# Rules whose first cause is a step size too large for the run (their fix text is
# families.lower_lr_fix).
STEP_SIZE_RULES = frozenset({"lr_too_high", "kl_blowup", "non_finite", "q_values_diverging",
                             "value_loss_exploding", "off_policy_drift"})
# RLlib's defaults the fixes restore (each algorithm's AlgorithmConfig.__init__ in 2.60).
DQN_TARGET_UPDATE_FREQ = 500
REPLAY_CAPACITY = 50000  # DQN's default (SAC's is 1e6; far above any train batch either way)
DEFAULT_GAMMA = 0.99
LOW_ENTROPY_COEFF = 0.01


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) and value > 0 else None


def _round(value: float) -> float:
    """Two significant digits: ``lr=0.0005`` rather than ``0.00049999``."""
    return float(f"{value:.2g}")


def _lower_lr(finding: Finding, config: Mapping[str, Any], family: str | None) -> list[dict]:
    if family == "sac":
        rates = {key: _number(config.get(key)) for key in ("actor_lr", "critic_lr")}
        if not all(rates.values()):
            return []
        return [{key: _round(rate / factor) for key, rate in rates.items()}
                for factor in (10, 100)]
    lr = _number(finding.evidence.get("lr")) or _number(config.get("lr"))
    if lr is None:
        return []  # a schedule, or not known: the verifier asks with the full config
    return [{"lr": _round(lr / factor)} for factor in (10, 100)]


def _raise_vf_clip(finding: Finding) -> list[dict]:
    loss = _number(finding.evidence.get("vf_loss_unclipped"))
    clip = _number(finding.evidence.get("vf_clip_param"))
    if loss is None:
        return []
    value = 10.0 ** math.ceil(math.log10(10 * max(loss, clip or 0.0)))
    return [{"vf_clip_param": value}]


def _raise_grad_clip(finding: Finding) -> list[dict]:
    """A clip a few times above the gradients' median norm (a power of ten), and none."""
    norm = _number(finding.evidence.get("grad_norm_median"))
    if norm is None:
        return []
    return [{"grad_clip": 10.0 ** math.ceil(math.log10(4 * norm))}, {"grad_clip": None}]


def _learning_starts(finding: Finding) -> list[dict]:
    steps = _number(finding.evidence.get("env_steps"))
    if steps is None:
        return []
    return [{"num_steps_sampled_before_learning_starts": int(steps // 4)}]


PER_MODULE = "algorithm_config_overrides_per_module"


def _where_the_module_sets_them(candidates: list[dict], finding: Finding,
                                config: Mapping[str, Any]) -> list[dict]:
    """Candidates for a module that sets those settings itself in
    ``algorithm_config_overrides_per_module`` (its override wins over the global value,
    so a global change would not reach it, and would change every other module): the
    same changes made in its override, every other module's overrides kept."""
    overrides = config.get(PER_MODULE)
    own = overrides.get(finding.module) if isinstance(overrides, Mapping) and \
        finding.module is not None else None
    if not isinstance(own, Mapping):
        return candidates
    return [{PER_MODULE: {**overrides, finding.module: {**own, **candidate}}}
            if set(candidate) & set(own) else candidate for candidate in candidates]


def config_fixes(finding: Finding, config: Mapping[str, Any] | None,
                 family: str | None) -> list[dict]:
    """The candidate config changes for ``finding`` (most likely first; [] when its fix is
    not a config change, e.g. a reward the env computes wrongly). A module that sets a
    changed setting in ``algorithm_config_overrides_per_module`` gets it changed there.

    :param finding: a doctor finding.
    :param config: the run's config dict (``params.json``, ``config.to_dict()``), or None.
    :param family: the algorithm family (``"ppo"``, ``"dqn"``, ``"sac"``, ...), or None.
    """
    config = config or {}
    return _where_the_module_sets_them(_config_fixes(finding, config, family), finding,
                                       config)


def _config_fixes(finding: Finding, config: Mapping[str, Any],
                  family: str | None) -> list[dict]:
    rule = finding.rule_id
    if rule in STEP_SIZE_RULES:
        return _lower_lr(finding, config, family)
    if rule == "entropy_collapse":
        return _lower_lr(finding, config, family)[:1] + (
            [{"entropy_coeff": LOW_ENTROPY_COEFF}] if family in ("ppo", "appo", "impala")
            else [])
    if rule == "critic_clipped":
        return _raise_vf_clip(finding)
    if rule == "grad_clip_too_small":
        return _raise_grad_clip(finding)
    if rule == "policy_stays_random":
        coeff = _number(finding.evidence.get("entropy_coeff"))
        if coeff is None or coeff <= LOW_ENTROPY_COEFF:
            return []  # no entropy bonus to blame: the fix is not a config change
        return [{"entropy_coeff": 0.0}, {"entropy_coeff": LOW_ENTROPY_COEFF}]
    if rule == "no_updates":
        return _learning_starts(finding)
    if rule == "target_never_updated":
        return [{"target_network_update_freq": DQN_TARGET_UPDATE_FREQ}]
    if rule == "replay_too_small":  # RLlib merges the dict into the config's
        batch = _number(finding.evidence.get("train_batch")) or 0.0
        return [{"replay_buffer_config": {"capacity": int(max(REPLAY_CAPACITY,
                                                                 10 * batch))}}]
    if rule == "alpha_runaway":
        return [{"target_entropy": "auto"}]
    if rule == "horizon_too_short":
        return [{"gamma": DEFAULT_GAMMA}]
    return []


def attach(findings: Iterable[Finding], config: Mapping[str, Any] | None,
           family: str | None) -> None:
    """Set ``fix_config`` on each warning and error whose fix is a config change."""
    for finding in findings:
        if finding.severity != "info" and finding.fix_config is None:
            finding.fix_config = config_fixes(finding, config, family) or None
            own = sorted({key for candidate in finding.fix_config or ()
                          for key in candidate.get(PER_MODULE, {}).get(finding.module, {})
                          if PER_MODULE in candidate})
            if own and finding.fix:
                finding.fix += (f" ({finding.module!r} sets {', '.join(own)} itself in "
                                f"{PER_MODULE}, which wins over the global setting: "
                                "change it there.)")


__all__ = ["PER_MODULE", "STEP_SIZE_RULES", "attach", "config_fixes"]
