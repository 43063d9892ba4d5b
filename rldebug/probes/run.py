"""``rldebug.probe(config)``: train the user's own config on each probe and check it."""

from __future__ import annotations

import numbers
import time
import uuid
import warnings

from rldebug.probes.catalog import (
    MULTI_AGENT,
    PROBES,
    SINGLE_AGENT,
    Checker,
    Measurement,
    ProbeAgent,
)
from rldebug.probes.config import observed_mapping, probe_config
from rldebug.probes.report import ERROR, FAIL, NOT_APPLICABLE, PASS, ProbeReport, ProbeResult
from rldebug.probes.spaces import check_action_space, check_observation_space

# A check must hold after this many training iterations in a row (a policy that is
# right by chance once is not counted).
CONSECUTIVE_PASSES = 2
DEFAULT_MAX_ITERATIONS = 40


def _require_config(config) -> None:
    from ray.rllib.algorithms.algorithm_config import AlgorithmConfig

    if not isinstance(config, AlgorithmConfig):
        raise TypeError(
            "rldebug.probe expects an RLlib AlgorithmConfig (e.g. PPOConfig().environment("
            f"MyEnv)), got {type(config).__name__}: {config!r:.100}. For a built Algorithm "
            "pass algo.config.copy(copy_frozen=False).")
    if config.env is None:
        raise ValueError("rldebug.probe needs to know your env's spaces, but the config has no "
                         "env: call config.environment(MyEnv, env_config={...}) first.")


def _check_options(only, max_iterations, seed) -> None:
    if only is not None:
        if isinstance(only, str) or not all(isinstance(n, str) for n in only):
            raise TypeError(f"probe(only=...) takes a list of probe names, got {only!r}; "
                            f"names: {list(PROBES)}.")
        unknown = [n for n in only if n not in PROBES]
        if unknown:
            raise ValueError(f"Unknown probe(s) {unknown}; known: {list(PROBES)}.")
        if not only:
            raise ValueError(f"probe(only=[]) selects no probe; pick from {list(PROBES)}.")
    for name, value, low in (("max_iterations", max_iterations, 1), ("seed", seed, 0)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
            raise ValueError(f"probe({name}=...) must be an int >= {low}, got {value!r}.")


def user_agents(config) -> tuple[dict, bool]:
    """``({agent_id: (obs_space, action_space)}, multi_agent)`` of the config's env."""
    from rldebug.shapes.env_meta import agent_spaces, is_multi_agent_env, make_env

    try:
        env = make_env(config.env, config.env_config, caller="rldebug.probe")
    except (TypeError, ValueError):
        raise
    except Exception as err:
        raise ValueError(f"rldebug.probe builds your env once to read its spaces, and that "
                         f"failed: {type(err).__name__}: {err}") from err
    try:
        multi = is_multi_agent_env(env)
        spaces = agent_spaces(env)
    finally:
        close = getattr(env, "close", None)
        if callable(close):
            try:
                close()
            except Exception:  # noqa: BLE001, S110 - closing a throwaway env
                pass
    for aid, (obs_space, act_space) in spaces.items():
        where = f"agent {aid!r}" if multi else "your env"
        check_observation_space(obs_space, where)
        check_action_space(act_space, where)
    return spaces, multi


def _applicable(name: str, spaces: dict, mapping: dict, mapping_error: str | None) -> str:
    """Why a multi-agent probe does not apply to this mapping ('' when it does)."""
    if len(spaces) < 2:
        return "the env has a single agent"
    if name == "credit" and not mapping_error and len(set(mapping.values())) < 2:
        return "every agent maps to one module, so per-agent targets in one state " \
               "cannot all be met; the 'shared' probe covers a shared module"
    if name == "shared" and not mapping_error and len(set(mapping.values())) == len(mapping):
        return "no module serves more than one agent"
    return ""


def _env_steps(result: dict) -> int:
    from rldebug.shapes.results import env_steps_total

    return int(env_steps_total(result) or 0)


def _mapping_measurements(token: str, agents: list[ProbeAgent]) -> list[Measurement]:
    seen = observed_mapping(token)
    found = []
    for agent in agents:
        modules = seen.get(agent.agent_id)
        if not modules:
            continue
        total = sum(modules.values())
        shares = ", ".join(f"{m} in {100 * n / total:.0f}%" for m, n in modules.most_common())
        found.append(Measurement(agent.label, "/".join(map(str, modules)),
                                 "module over the probe's episodes", "one module always",
                                 f"{shares} of {total} episodes", len(modules) == 1,
                                 static=True))
    return found


def run_probe(config, name: str, spaces: dict, multi: bool, *, max_iterations: int,
              seed: int, explain) -> tuple[ProbeResult, dict, str]:
    """Train one probe; ``(result, config changes, algorithm family)``."""
    token = uuid.uuid4().hex
    cfg, changes = probe_config(config, name, spaces, multi, seed, token)
    agents = [ProbeAgent(aid if multi else None, i, obs, act)
              for i, (aid, (obs, act)) in enumerate(spaces.items())]
    result = ProbeResult(name, FAIL)
    started = time.perf_counter()
    family = ""
    algo = None
    try:
        with warnings.catch_warnings():
            # RLlib re-registers its env wrapper with gymnasium for every build.
            warnings.filterwarnings("ignore", message=".*already in registry")
            algo = cfg.build_algo()
        checker = Checker(algo, explain, gamma=cfg.gamma)
        # Replay algorithms learn nothing before their warm-up: no pass counts before.
        warmup = getattr(cfg, "num_steps_sampled_before_learning_starts", 0) or 0
        streak = 0
        for iteration in range(1, max_iterations + 1):
            train_result = algo.train()
            result.iterations, result.env_steps = iteration, _env_steps(train_result)
            result.measurements = checker.measure(name, agents)
            learned = [m.ok for m in result.measurements if not m.static]
            streak = streak + 1 if all(learned) and result.env_steps > warmup else 0
            if streak >= CONSECUTIVE_PASSES:
                break
        family = checker.family
    except Exception as err:  # noqa: BLE001 - the user's config, reported per probe
        result.status = ERROR
        result.note = f"{type(err).__name__}: {str(err).strip().splitlines()[0][:300]}" \
            if str(err).strip() else type(err).__name__
    finally:
        if algo is not None:
            algo.stop()
    if multi:
        mapping = _mapping_measurements(token, agents)
        if name == "credit":
            result.measurements += mapping
    if result.status != ERROR:
        result.status = PASS if result.measurements and all(
            m.ok for m in result.measurements) else FAIL
        config_fails = [m.quantity for m in result.measurements if m.static and not m.ok]
        if result.status == FAIL and config_fails:
            result.note = (f"the config itself fails ({config_fails[0]}): more training "
                           "cannot fix that")
        elif result.status == FAIL:
            result.note = (f"not learned within {result.iterations} iterations "
                           f"({result.env_steps} env steps); a slow but working config "
                           "passes with a larger max_iterations")
    result.seconds = time.perf_counter() - started
    return result, changes, family


def probe(config, only: list[str] | None = None, max_iterations: int = DEFAULT_MAX_ITERATIONS,
          seed: int = 0) -> ProbeReport:
    """Train your own RLlib config on tiny envs whose right answers are known, and
    report which part of learning is broken.

    Only the env is swapped (model, connectors, learner, mapping function and
    hyperparameters kept; batches scaled down; see :mod:`rldebug.probes.config`).
    Each probe trains in this process until its check holds twice in a row or
    ``max_iterations`` run out; the check reads values and actions through
    :func:`rldebug.explain`.

    :param config: an RLlib ``AlgorithmConfig`` with its env set (PPO, APPO, IMPALA,
        DQN, SAC; either API stack).
    :param only: probe names to run (default: all that apply); see
        :data:`rldebug.probes.PROBES`.
    :param max_iterations: training iterations per probe before it counts as failed.
    :param seed: seeds the probe envs (and the config when it has no seed of its own).
    :returns: a :class:`ProbeReport`; ``print(report)`` shows the table,
        ``report.passed``, ``report.to_dict()``.
    :raises TypeError, ValueError: for a non-config, a config without an env, an env
        whose spaces the probes cannot write in, unknown probe names.
    """
    from rldebug.inspect import explain
    from rldebug.local import start_ray
    from rldebug.shapes.env_meta import map_agents

    _require_config(config)
    _check_options(only, max_iterations, seed)
    spaces, multi = user_agents(config)
    names = list(SINGLE_AGENT) + (list(MULTI_AGENT) if multi else [])
    if only is not None:
        single_only = [n for n in only if n in MULTI_AGENT and not multi]
        if single_only:
            raise ValueError(f"Probe(s) {single_only} need a multi-agent env; your env is "
                             f"single-agent. Run {list(SINGLE_AGENT)}.")
        names = [n for n in names if n in only]
    mapping, mapping_error = (map_agents(config.policy_mapping_fn, list(spaces))
                              if multi else ({}, None))
    start_ray()
    started = time.perf_counter()
    results, changes, family = [], {}, ""
    for name in names:
        why_not = _applicable(name, spaces, mapping, mapping_error) if name in MULTI_AGENT \
            else ""
        if why_not:
            results.append(ProbeResult(name, NOT_APPLICABLE, note=why_not))
            continue
        result, changed, probe_family = run_probe(config, name, spaces, multi,
                                                  max_iterations=max_iterations, seed=seed,
                                                  explain=explain)
        results.append(result)
        changes.update(changed)
        family = family or probe_family
    return ProbeReport(
        algorithm=getattr(config.algo_class, "__name__", str(config.algo_class)),
        family=family or "unknown",
        api_stack="new" if config.enable_rl_module_and_learner else "old",
        agents={aid: {"observation_space": str(obs), "action_space": str(act),
                      "module": mapping.get(aid, "default_policy" if not multi else None)}
                for aid, (obs, act) in spaces.items()},
        results=results, changes=changes, seconds=time.perf_counter() - started)


__all__ = ["CONSECUTIVE_PASSES", "DEFAULT_MAX_ITERATIONS", "probe", "run_probe",
           "user_agents"]
