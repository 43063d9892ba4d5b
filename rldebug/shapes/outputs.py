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
``actor_critic``       SAC, TQC                    ``action_dist_inputs`` of a squashed
                                                   Gaussian (mean, log-std, tanh onto [-1, 1]);
                                                   Q(s, a) from the Learner's module
=====================  ==========================  ===========================================

:func:`family_of` names the family of a module; :func:`train_diagnostics` computes,
from one training minibatch and its forward pass, what each family's loss hides
(PPO's clip fraction, IMPALA/APPO's importance ratios, DQN/SAC's Q-value spread).
"""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np

POLICY_GRADIENT, Q_LEARNING, ACTOR_CRITIC = "policy_gradient", "q_learning", "actor_critic"
FAMILIES = (POLICY_GRADIENT, Q_LEARNING, ACTOR_CRITIC)


def family_of(module: Any) -> str:
    """The algorithm family of an RLModule (by what it can compute), see the module docstring."""
    module = module.unwrapped() if hasattr(module, "unwrapped") else module
    names = {cls.__name__ for cls in type(module).__mro__}
    if names & {"DefaultSACRLModule", "DefaultTQCRLModule"}:  # TQC: SAC's actor, its Q
        return ACTOR_CRITIC  # the mean of its critics' quantiles (compute_q_values)
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


# -- what a module makes of an observation (explain) -------------------------------


def to_numpy(value: Any) -> Any:
    """Tensors (also nested in dicts) to numpy arrays; None stays None."""
    if value is None:
        return None
    if isinstance(value, dict):
        return {k: to_numpy(v) for k, v in value.items()}
    if hasattr(value, "detach"):
        return value.detach().cpu().numpy()
    return np.asarray(value)


@contextlib.contextmanager
def seeded(seed: int | None):
    """Seed torch's global RNG inside the block only; the caller's RNG state is untouched."""
    import torch

    if seed is None:
        yield
        return
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def env_action(action: np.ndarray, action_space: Any, config: Any) -> np.ndarray:
    """A batch of module actions as the env receives them (RLlib's NormalizeAndClipActions:
    Box actions are unsquashed from [-1, 1] with ``normalize_actions``, else clipped
    with ``clip_actions``)."""
    import gymnasium as gym
    from ray.rllib.utils.spaces.space_utils import clip_action, unsquash_action

    if not isinstance(action_space, gym.spaces.Box):
        return action
    if getattr(config, "normalize_actions", False):
        return np.stack([unsquash_action(a, action_space) for a in action])
    if getattr(config, "clip_actions", False):
        return np.stack([clip_action(a, action_space) for a in action])
    return action


def env_action_of_one(action: Any, action_space: Any, config: Any) -> Any:
    """One action of a Tuple or Dict space as the env receives it: each Box part unsquashed
    or clipped as RLlib does (both stacks apply ``unsquash_action``/``clip_action`` over
    the space's struct). An old-stack action the agent collector stored flattened to one
    array (``flatten_to_single_ndarray``) is put back into the space's structure first."""
    from ray.rllib.utils.spaces.space_utils import (
        clip_action,
        get_base_struct_from_space,
        unsquash_action,
    )

    struct = get_base_struct_from_space(action_space)
    if isinstance(action, np.ndarray):
        action = _from_flat(action, struct)
    if getattr(config, "normalize_actions", False):
        return unsquash_action(action, struct)
    if getattr(config, "clip_actions", False):
        return clip_action(action, struct)
    return action


def _from_flat(flat: np.ndarray, struct: Any) -> Any:
    import gymnasium as gym
    import tree

    parts, at = [], 0
    for space in tree.flatten(struct):
        size = 1 if isinstance(space, gym.spaces.Discrete) else int(np.prod(space.shape))
        part = flat[at:at + size]
        at += size
        parts.append(part.astype(space.dtype).reshape(space.shape)
                     if not isinstance(space, gym.spaces.Discrete) else
                     np.asarray(part[0]).astype(space.dtype))
    return tree.unflatten_as(struct, parts)


#: draws behind an entropy estimate (distributions without a closed-form entropy)
ENTROPY_DRAWS = 64


def distribution_name(cls_or_dist) -> str:
    """A distribution class's name as RLlib 2.60 means it: its partial classes (the
    MultiCategorical of a MultiDiscrete action) are named ``"<class '...X'>Partial"``."""
    cls = cls_or_dist if isinstance(cls_or_dist, type) else type(cls_or_dist)
    func = getattr(cls_or_dist, "func", None)  # a functools.partial of a class
    name = getattr(func if isinstance(func, type) else cls, "__name__", str(cls))
    if name.startswith("<class '"):
        name = name[len("<class '"):].split("'", 1)[0].rsplit(".", 1)[-1]
    return name


def _distribution_fields(dist, seed) -> dict:
    """Greedy and sampled action, probabilities or Gaussian parameters, entropy, log-prob."""
    import torch

    with seeded(seed):
        sampled = dist.sample()
    greedy = dist.to_deterministic().sample()
    torch_dist = getattr(dist, "_dist", None)
    out = {"greedy_action": to_numpy(greedy), "sampled_action": to_numpy(sampled),
           "distribution": distribution_name(dist), "log_prob": to_numpy(dist.logp(sampled))}
    probs = getattr(torch_dist, "probs", None)
    parts = getattr(dist, "_cats", None)  # TorchMultiCategorical: one per MultiDiscrete part
    if probs is None and parts:
        probs = torch.cat([part._dist.probs for part in parts], dim=-1)
        out["action_parts"] = [int(part._dist.probs.shape[-1]) for part in parts]
    if probs is not None:
        out["probs"] = to_numpy(probs)
    base = getattr(torch_dist, "base_dist", torch_dist)  # Independent(Normal) for DiagGaussian
    if isinstance(base, torch.distributions.Normal):
        out["mean"], out["std"] = to_numpy(base.loc), to_numpy(base.scale)
    out.update(entropy_fields(dist, seed))
    return out


def entropy_fields(dist, seed) -> dict:
    """``entropy`` and ``entropy_is_estimate`` of an RLlib distribution (either stack);
    one without a closed-form entropy (a squashed Gaussian) gets -E[log p(a)] from
    ENTROPY_DRAWS draws and ``entropy_stderr``, the standard error of that mean."""
    import torch

    try:
        return {"entropy": to_numpy(dist.entropy()), "entropy_is_estimate": False}
    except (NotImplementedError, ValueError):
        with seeded(seed):
            draws = torch.stack([dist.logp(dist.sample()) for _ in range(ENTROPY_DRAWS)])
        return {"entropy": to_numpy(-draws.mean(0)), "entropy_is_estimate": True,
                "entropy_stderr": to_numpy(draws.std(0) / ENTROPY_DRAWS ** 0.5)}


def explain_policy_gradient(module, batch: dict, seed, values) -> dict:
    """PPO, APPO, IMPALA: the action distribution and V(s) (``values(obs)``)."""
    import torch

    with torch.no_grad():
        inputs = module.forward_exploration(batch)["action_dist_inputs"]
        dist = module.get_exploration_action_dist_cls().from_logits(inputs)
        out = _distribution_fields(dist, seed)
        inference = module.get_inference_action_dist_cls().from_logits(
            module.forward_inference(batch)["action_dist_inputs"])
        out["greedy_action"] = to_numpy(inference.to_deterministic().sample())
    out.update(logits=to_numpy(inputs), value=values(batch["obs"]))
    return out


def epsilon_in_force(module, timestep: int | None) -> float:
    """The epsilon DQN's next exploring step uses: its schedule at the EnvRunner's step
    count (``get_current_value`` alone lags: it is cached at the last exploring step)."""
    schedule = getattr(module, "epsilon_schedule", None)
    if schedule is None:
        return 0.0
    piecewise = getattr(schedule, "_schedule", None)
    if getattr(schedule, "use_schedule", False) and piecewise is not None and timestep is not None:
        return float(piecewise.value(t=timestep))
    return float(schedule.get_current_value())


def explain_q_learning(module, batch: dict, seed, timestep: int | None = None) -> dict:
    """DQN: Q per action, greedy = argmax Q, epsilon-greedy probabilities and draw."""
    import torch

    with torch.no_grad():
        q_out = module.compute_q_values(batch)
    q = q_out["qf_preds"]
    n = q.shape[-1]
    epsilon = epsilon_in_force(module, timestep)
    greedy = torch.argmax(q, dim=-1)
    probs = torch.full_like(q, epsilon / n)
    probs[torch.arange(q.shape[0]), greedy] += 1.0 - epsilon
    with seeded(seed):
        sampled = torch.multinomial(probs, 1).squeeze(-1)
    safe = probs.clamp_min(1e-12)
    out = {"q_values": to_numpy(q), "logits": to_numpy(q), "epsilon": epsilon, "probs": to_numpy(probs),
           "entropy": to_numpy(-(probs * safe.log()).sum(-1)), "entropy_is_estimate": False,
           "greedy_action": to_numpy(greedy), "sampled_action": to_numpy(sampled),
           "log_prob": to_numpy(safe.gather(-1, sampled[:, None]).squeeze(-1).log()),
           "value": to_numpy(q.max(-1).values), "distribution": "EpsilonGreedy"}
    for key in ("atoms", "qf_probs"):
        if key in q_out:
            out["q_atoms" if key == "atoms" else "q_atom_probs"] = to_numpy(q_out[key])
    return out


def explain_actor_critic(module, batch: dict, seed, q_of) -> dict:
    """SAC: squashed-Gaussian mean/std, greedy and sampled action, log-prob, Q(s, a), alpha.

    ``q_of(obs, actions)`` asks the Learner's module for Q (the EnvRunner's has no Q nets).
    """
    import torch

    with torch.no_grad():
        inputs = module.forward_inference(batch)["action_dist_inputs"]
        dist = module.get_exploration_action_dist_cls().from_logits(inputs)
        out = _distribution_fields(dist, seed)
    out["logits"] = to_numpy(inputs)
    if "probs" in out:  # discrete SAC: Q of every action
        out["q_values"] = q_of(batch["obs"], None)
        out["value"] = None if out["q_values"] is None else out["q_values"].max(-1)
    else:
        out["q_value"] = q_of(batch["obs"], out["sampled_action"])
        # RLlib's greedy SAC action is the Gaussian's mean, not squashed; the env gets
        # it clipped to [-1, 1] (then unsquashed), so Q is asked at the clipped mean.
        out["value"] = q_of(batch["obs"], np.clip(out["greedy_action"], -1.0, 1.0))
    return out


__all__ = [
    "ACTOR_CRITIC",
    "FAMILIES",
    "POLICY_GRADIENT",
    "Q_LEARNING",
    "distribution_name",
    "entropy_fields",
    "env_action",
    "explain_actor_critic",
    "explain_policy_gradient",
    "explain_q_learning",
    "family_of",
    "seeded",
    "train_diagnostics",
]
