"""Synthetic RLlib 2.60 result dicts for the doctor's tests, with each stack's real key names."""

from __future__ import annotations

HEALTHY = {"entropy": 1.3, "kl": 0.01, "kl_coeff": 0.2, "ev": 0.5, "vf_loss": 1.0,
           "vf_loss_unclipped": 1.0, "policy_loss": -0.01, "total_loss": 1.0, "lr": 3e-4}


def new_result(iteration: int, modules: dict[str, dict], returns: dict[str, float] | None = None,
               len_range: tuple[float, float, float] = (40.0, 60.0, 80.0)) -> dict:
    """A new-stack result: learners/<module>/..., env_runners/...module_episode_returns_mean."""
    returns = returns if returns is not None else {m: float(iteration) for m in modules}
    learners = {"__all_modules__": {"num_trainable_parameters": float("nan")}}
    for module, stats in modules.items():
        s = {**HEALTHY, **stats}
        learners[module] = {
            "entropy": s["entropy"], "mean_kl_loss": s["kl"], "curr_kl_coeff": s["kl_coeff"],
            "vf_explained_var": s["ev"], "vf_loss": s["vf_loss"],
            "vf_loss_unclipped": s["vf_loss_unclipped"], "policy_loss": s["policy_loss"],
            "total_loss": s["total_loss"], "default_optimizer_learning_rate": s["lr"],
            "curr_entropy_coeff": s.get("entropy_coeff", 0.0), "num_module_steps_trained": 200,
            **s.get("raw", {}),
        }
    total = sum(returns.values())
    low, mean, high = len_range
    return {
        "training_iteration": iteration,
        "learners": learners,
        "env_runners": {
            "episode_return_mean": total, "episode_return_min": total - 5,
            "episode_return_max": total + 5, "episode_len_mean": mean,
            "episode_len_min": low, "episode_len_max": high,
            "agent_episode_returns_mean": {m.replace("pol", "agent"): r
                                           for m, r in returns.items()},
            "module_episode_returns_mean": dict(returns),
        },
    }


def old_result(iteration: int, modules: dict[str, dict], returns: dict[str, float] | None = None,
               len_range: tuple[float, float, float] = (40.0, 60.0, 80.0)) -> dict:
    """An old-stack result: info/learner/<policy>/learner_stats/..., policy_reward_mean."""
    returns = returns if returns is not None else {m: float(iteration) for m in modules}
    learner = {}
    for module, stats in modules.items():
        s = {**HEALTHY, **stats}
        learner[module] = {"learner_stats": {
            "entropy": s["entropy"], "kl": s["kl"], "cur_kl_coeff": s["kl_coeff"],
            "vf_explained_var": s["ev"], "vf_loss": s["vf_loss"],
            "policy_loss": s["policy_loss"], "total_loss": s["total_loss"], "cur_lr": s["lr"],
            "entropy_coeff": s.get("entropy_coeff", 0.0), **s.get("raw", {})}}
    total = sum(returns.values())
    return {
        "training_iteration": iteration,
        "info": {"learner": learner},
        "env_runners": {
            "episode_reward_mean": total, "episode_reward_min": total - 5,
            "episode_reward_max": total + 5, "episode_len_mean": len_range[1],
            "policy_reward_mean": dict(returns),
            "policy_reward_max": {m: r + 3 for m, r in returns.items()},
        },
    }


BUILDERS = {"new": new_result, "old": old_result}


def healthy_stream(stack: str, iterations: int = 60, modules=("pol1", "pol2")) -> list[dict]:
    """Entropy falling gently, small KL, a critic that learns, returns that rise."""
    build = BUILDERS[stack]
    stream = []
    for i in range(1, iterations + 1):
        stats = {"entropy": 1.38 - 0.005 * i, "kl": 0.008 + 0.001 * (i % 3),
                 "ev": min(0.9, 0.05 + 0.02 * i), "vf_loss": 5.0 / (1 + 0.05 * i),
                 "vf_loss_unclipped": 5.0 / (1 + 0.05 * i)}
        stream.append(build(i, {m: stats for m in modules},
                            {m: 0.5 * i + (i % 2) for m in modules},
                            (30.0 + i % 7, 50.0 + i % 5, 90.0)))
    return stream
