"""What an RLModule's outputs hold, per algorithm family (new API stack, torch).

=====================  ==========================  ===========================================
family                 algorithms                  outputs rldebug reads
=====================  ==========================  ===========================================
``policy_gradient``    PPO, APPO, IMPALA           ``action_dist_inputs`` (logits, or mean and
                                                   log-std for Box actions); the Learner's
                                                   module has ``compute_values``
``q_learning``         DQN                         ``compute_q_values(batch)["qf_preds"]``: one
                                                   Q-value per action; greedy = argmax Q, then
                                                   epsilon-greedy while exploring
``actor_critic``       SAC                         ``action_dist_inputs`` of a squashed
                                                   Gaussian (mean, log-std, tanh onto [-1, 1]);
                                                   Q(s, a) from the Learner's module
=====================  ==========================  ===========================================

:func:`family_of` names the family of a module; :func:`train_diagnostics` computes,
from one training minibatch and its forward pass, what each family's loss hides
(PPO's clip fraction, IMPALA/APPO's importance ratios, DQN/SAC's Q-value spread).
"""

from __future__ import annotations

from typing import Any

POLICY_GRADIENT, Q_LEARNING, ACTOR_CRITIC = "policy_gradient", "q_learning", "actor_critic"
FAMILIES = (POLICY_GRADIENT, Q_LEARNING, ACTOR_CRITIC)


def family_of(module: Any) -> str:
    """The algorithm family of an RLModule (by what it can compute), see the module docstring."""
    module = module.unwrapped() if hasattr(module, "unwrapped") else module
    names = {cls.__name__ for cls in type(module).__mro__}
    if "DefaultSACRLModule" in names:
        return ACTOR_CRITIC
    if "DefaultDQNRLModule" in names or (hasattr(module, "compute_q_values")
                                          and not hasattr(module, "compute_values")):
        return Q_LEARNING
    return POLICY_GRADIENT


def _stats(prefix: str, values) -> dict[str, float]:
    import torch

    values = values.detach().float()
    finite = values[torch.isfinite(values)]
    if finite.numel() == 0:
        return {}
    return {f"{prefix}_mean": float(finite.mean()), f"{prefix}_max": float(finite.max()),
            f"{prefix}_min": float(finite.min())}


def _masked(values, batch):
    mask = batch.get("loss_mask") if hasattr(batch, "get") else None
    return values[mask] if mask is not None and mask.shape == values.shape else values


def train_diagnostics(module: Any, config: Any, batch: Any, fwd_out: dict) -> dict[str, float]:
    """Family-specific numbers of one training minibatch (no gradients; never raises on
    a missing column: what a family does not have is simply not in the result).

    - policy gradient: ``importance_ratio_mean/max/min`` (current over behaviour
      policy, per sample), ``clip_fraction`` (share of ratios outside
      ``1 ± clip_param``, PPO) and ``rho_clipped_fraction`` (share above
      ``vtrace_clip_rho_threshold``, IMPALA/APPO: where V-trace truncates);
    - Q-learning and actor-critic: ``q_mean/max/min`` of the Q-values the loss used.
    """
    import torch

    out: dict[str, float] = {}
    with torch.no_grad():
        if "action_dist_inputs" in fwd_out and "action_logp" in batch and "actions" in batch:
            unwrapped = module.unwrapped() if hasattr(module, "unwrapped") else module
            dist = unwrapped.get_train_action_dist_cls().from_logits(fwd_out["action_dist_inputs"])
            logp = dist.logp(batch["actions"])
            if logp.shape == batch["action_logp"].shape:
                ratio = _masked(torch.exp(logp - batch["action_logp"]), batch)
                out.update(_stats("importance_ratio", ratio))
                rho = getattr(config, "vtrace_clip_rho_threshold", None)
                clip = getattr(config, "clip_param", None)
                if isinstance(rho, (int, float)) and ratio.numel():
                    out["rho_clipped_fraction"] = float((ratio > rho).float().mean())
                elif isinstance(clip, (int, float)) and ratio.numel():
                    # PPO clips exactly this ratio; APPO clips one against its target
                    # network, so it gets RLlib's own mean_IS/var_IS instead.
                    out["clip_fraction"] = float((torch.abs(ratio - 1.0) > clip).float().mean())
        q_values = fwd_out.get("qf_preds")
        if q_values is not None and hasattr(q_values, "detach"):
            out.update(_stats("q", q_values))
    return out


__all__ = ["ACTOR_CRITIC", "FAMILIES", "POLICY_GRADIENT", "Q_LEARNING", "family_of",
           "train_diagnostics"]
