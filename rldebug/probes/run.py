"""``rldebug.probe(config)``: train the user's own config on each probe and check it."""

from __future__ import annotations

import numbers
import time
import uuid
import warnings
from collections.abc import Callable

import gymnasium as gym
import numpy as np

from rldebug.inprocess.local import ray_for
from rldebug.probes.catalog import (
    MULTI_AGENT,
    PROBES,
    SINGLE_AGENT,
    Checker,
    Measurement,
    ProbeAgent,
    rewarded_targets,
)
from rldebug.probes.config import observed_mapping, probe_config
from rldebug.probes.report import (
    ERROR,
    FAIL,
    NOT_APPLICABLE,
    NOT_RUN,
    PASS,
    STOPPED,
    ProbeReport,
    ProbeResult,
)
from rldebug.probes.spaces import (
    action_miss,
    check_action_space,
    check_observation_space,
    describe_action,
    target_action,
)
from rldebug.shapes.configs import module_overrides, schedule_values, set_per_module
from rldebug.shapes.env_meta import module_is_trained
from rldebug.shapes.episodes import DEFAULT_MODULE_ID
from rldebug.shapes.mapping import agent_modules, as_shown
from rldebug.shapes.results import updated_modules
from rldebug.usage import UsageError, UsageTypeError, check_seed

# A check must hold after this many training iterations in a row (a policy that is
# right by chance once is not counted).
CONSECUTIVE_PASSES = 2
DEFAULT_MAX_ITERATIONS = 40
# Seconds all probes of one call may train before the rest are reported as not run.
DEFAULT_BUDGET_S = 300.0
# A probe that cannot pass stops before max_iterations: a module it measures got no
# update in this many iterations after the replay warm-up, or the summed distance of its
# checks from their targets made no new best (by more than STALL_NOISE) in
# STALL_ITERATIONS iterations.
NO_UPDATE_ITERATIONS = 3
STALL_ITERATIONS = 10
STALL_NOISE = 0.02


def _require_config(config) -> None:
    from ray.rllib.algorithms.algorithm_config import AlgorithmConfig

    if not isinstance(config, AlgorithmConfig):
        raise UsageTypeError(
            "rldebug.probe expects an RLlib AlgorithmConfig (e.g. PPOConfig().environment("
            f"MyEnv)), got {type(config).__name__}: {config!r:.100}. For a built Algorithm "
            "pass algo.config.copy(copy_frozen=False).")
    if config.env is None:
        raise UsageError("rldebug.probe needs to know your env's spaces, but the config has no "
                         "env: call config.environment(MyEnv, env_config={...}) first.")


def _check_options(only, max_iterations, seed) -> None:
    if only is not None:
        if isinstance(only, str) or not all(isinstance(n, str) for n in only):
            raise UsageTypeError(f"probe(only=...) takes a list of probe names, got {only!r}; "
                                 f"names: {list(PROBES)}.")
        unknown = [n for n in only if n not in PROBES]
        if unknown:
            raise UsageError(f"Unknown probe(s) {unknown}; known: {list(PROBES)}.")
        if not only:
            raise UsageError(f"probe(only=[]) selects no probe; pick from {list(PROBES)}.")
    # a check must hold CONSECUTIVE_PASSES iterations in a row: fewer can never pass
    if isinstance(max_iterations, bool) or not isinstance(max_iterations, numbers.Integral) \
            or max_iterations < CONSECUTIVE_PASSES:
        raise UsageError(f"probe(max_iterations=...) (--max-iterations) must be an int >= "
                         f"{CONSECUTIVE_PASSES} (a check must hold for {CONSECUTIVE_PASSES} "
                         f"iterations in a row to pass), got {max_iterations!r}.")
    check_seed(seed, "probe(seed=...) (--seed)", allow_none=False)


def user_agents(config) -> tuple[dict, bool]:
    """``({agent_id: (obs_space, action_space)}, multi_agent)`` of the config's env."""
    from rldebug.shapes.env_meta import agent_spaces, is_multi_agent_env, make_env

    try:
        env = make_env(config.env, config.env_config, caller="rldebug.probe")
    except (TypeError, ValueError):
        raise
    except Exception as err:
        raise UsageError(f"rldebug.probe builds your env once to read its spaces, and that "
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


def _applicable(name: str, spaces: dict, modules: dict, mapping_error: str | None) -> str:
    """Why a multi-agent probe does not apply to this mapping ('' when it does).
    ``modules``: agent -> the modules the mapping fn sends it to (``agent_modules``)."""
    if len(spaces) < 2:
        return "the env has a single agent"
    used = [m for ms in modules.values() for m in ms]
    if name == "credit" and not mapping_error and len(set(used)) < 2:
        return ("every agent maps to one module, which meets per-agent targets in one state "
                "only if something besides the env's observation tells the agents apart "
                "(a connector adding the agent's id); the 'shared' probe covers a shared "
                "module")
    if name == "shared" and not mapping_error and len(set(used)) == len(used):
        return "no module serves more than one agent"
    return ""


def _modules_of(mapped: dict, agent_id, multi: bool):
    """The report's module of an agent: one id, a list when the mapping fn picks per
    episode, None when it failed."""
    if not multi:
        return DEFAULT_MODULE_ID
    modules = mapped.get(agent_id)
    return as_shown(modules) if modules else None


def _recurrent_model(config) -> str:
    """The model setting that makes the config's module recurrent (``use_lstm=True``,
    ``use_attention=True``: the new stack's ``model_config``, also inside an
    ``rl_module_spec`` and a MultiRLModuleSpec's per-module specs; the old stack's
    ``model``); ''. (A custom stateful RLModule is known only once built.)"""
    if not config.enable_rl_module_and_learner:
        models = [config.model]
    else:
        spec = getattr(config, "_rl_module_spec", None)
        specs = [spec, *(getattr(spec, "rl_module_specs", None) or {}).values()]
        models = [config.model_config, *(getattr(s, "model_config", None) for s in specs)]
    for model in models:
        model = model if isinstance(model, dict) else vars(model) if model is not None else {}
        for key in ("use_lstm", "use_attention"):
            if model.get(key) is True:
                return f"{key}=True"
    return ""


def _no_value_function(config) -> str:
    """Why a value probe does not apply: PPO with ``use_critic=False`` learns no value
    function (its advantages are the returns); '' when it does."""
    if getattr(config, "use_critic", True) is False:
        return ("use_critic=False: the module learns no value function, which this probe "
                "checks")
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


def untrained_agents(policies_to_train, modules: dict) -> dict:
    """``{agent_id: (module, why)}`` for the agents whose module RLlib never updates
    under ``policies_to_train`` (``modules``: agent id -> module id, or the list of
    modules the mapping fn sends it to, read before training; an agent with several is
    untrained when none of them learns)."""
    found = {}
    for aid, module in modules.items():
        candidates = module if isinstance(module, list) else [module]
        if any(module_is_trained(policies_to_train, m) is not False for m in candidates):
            continue
        module = candidates[0]
        rule = ("policies_to_train(...) returns False for it" if callable(policies_to_train)
                else f"it is not in policies_to_train={sorted(map(str, policies_to_train))}")
        found[aid] = (module, rule)
    return found


def _family_of_config(config) -> str:
    """The module family a config's algorithm builds, when no probe ran to ask its module
    (lr=0 fails every probe before training)."""
    from rldebug.shapes.configs import family_from_config
    from rldebug.shapes.outputs import ACTOR_CRITIC, POLICY_GRADIENT, Q_LEARNING

    algorithm = family_from_config(config.to_dict())
    return {"ppo": POLICY_GRADIENT, "appo": POLICY_GRADIENT, "impala": POLICY_GRADIENT,
            "dqn": Q_LEARNING, "sac": ACTOR_CRITIC}.get(algorithm, "unknown")


def _rate_zero(config, name: str) -> bool:
    """Whether the config's learning rate ``name`` is the number 0 (not a schedule)."""
    rate = getattr(config, name, None)
    return isinstance(rate, (int, float)) and not isinstance(rate, bool) and rate == 0


def _module_config(config, module_id, keys=("lr", "actor_lr", "critic_lr")) -> tuple[
        object, str]:
    """The config module ``module_id`` learns with, as RLlib's Learner builds it (new
    stack: the config updated with the module's own settings, as ``get_config_for_module``
    does, without filling the user's config's cache), and where its ``keys`` were set:
    " in its own settings (...)" or ""."""
    own = module_overrides(config).get(module_id) if config.enable_rl_module_and_learner \
        else None
    if not own:
        return config, ""
    where = " in its own settings (algorithm_config_overrides_per_module)" if any(
        key in own for key in keys) else ""
    return config.copy(copy_frozen=False).update_from_dict(own), where


def _learning_rate_zero(config, module_id=DEFAULT_MODULE_ID) -> str:
    """Why module ``module_id`` cannot learn, read from the config: a learning rate of 0
    (SAC: its critic's, which its policy learns from), the config's or the module's own;
    "" when it can. (Untrained weights can meet a probe's check by chance, and one that
    holds from the start holds for ever: with lr=0, DQN passed two probes at seed 0.)"""
    sac = getattr(config, "actor_lr", None) is not None
    if not config.enable_rl_module_and_learner and (
            sac or getattr(config, "lr_schedule", None) or
            set_per_module(config, ("lr", "actor_lr", "critic_lr"))):
        return ""  # the old stack's SAC learns at config.optimization's rates; a schedule wins
    config, where = _module_config(config, module_id)
    if sac and _rate_zero(config, "actor_lr") and _rate_zero(config, "critic_lr"):
        return f"actor_lr=0 and critic_lr=0{where}: the optimizer never moves its weights"
    if sac and _rate_zero(config, "critic_lr"):  # SAC's actor climbs the critic's Q
        return (f"critic_lr=0{where}: the critic's Q never moves, and SAC's policy learns "
                "only from it")
    if not sac and _rate_zero(config, "lr"):
        return f"lr=0{where}: the optimizer never moves its weights"
    return ""


# why a SAC module's policy never learns while its critic does
POLICY_FROZEN = "the optimizer never moves its policy, only its critic"
# why a policy-gradient module's value function never learns while its policy does
VALUE_UNWEIGHTED = "the value loss has no weight in the total loss"


def _value_loss_unweighted(config, module_id=DEFAULT_MODULE_ID) -> str:
    """Why module ``module_id``'s value function cannot learn while its policy does:
    ``vf_loss_coeff=0`` (PPO, APPO, IMPALA: the value head's only gradient is the value
    loss's); "" otherwise, and without a critic (``use_critic=False``: not probed)."""
    if _learning_rate_zero(config, module_id) or _no_value_function(config):
        return ""
    config, where = _module_config(config, module_id, keys=("vf_loss_coeff",))
    return f"vf_loss_coeff=0{where}: {VALUE_UNWEIGHTED}" \
        if _rate_zero(config, "vf_loss_coeff") else ""


def _policy_rate_zero(config, module_id=DEFAULT_MODULE_ID) -> str:
    """Why module ``module_id``'s policy cannot learn while the rest of it does: SAC's
    ``actor_lr=0`` with a critic that learns (the probes of the value still train; those
    of the policy fail at once); "" otherwise, and where :func:`_learning_rate_zero`
    already names a rate."""
    if not config.enable_rl_module_and_learner or _learning_rate_zero(config, module_id):
        return ""
    config, where = _module_config(config, module_id)
    return f"actor_lr=0{where}: {POLICY_FROZEN}" if _rate_zero(config, "actor_lr") else ""


def _entropy_bonus(config) -> str:
    """The config's entropy bonus as given, where it is above 0 somewhere: the
    coefficient, its schedule (the old stack's ``entropy_coeff_schedule`` too) or a
    module's own; "" otherwise (SAC's and DQN's configs have none)."""
    given = [getattr(config, "entropy_coeff", None),
             getattr(config, "entropy_coeff_schedule", None),
             *(own.get("entropy_coeff") for own in module_overrides(config).values())]
    return next((str(value) for value in given if max(schedule_values(value), default=0) > 0),
                "")


def _without_entropy_bonus(config):
    """A copy of ``config`` with every entropy bonus of :func:`_entropy_bonus` at 0."""
    bare = config.copy(copy_frozen=False)
    bare.entropy_coeff = 0.0
    if hasattr(bare, "entropy_coeff_schedule"):
        bare.entropy_coeff_schedule = None
    bare.algorithm_config_overrides_per_module = {
        module: {**own, "entropy_coeff": 0.0} if "entropy_coeff" in own else own
        for module, own in module_overrides(config).items()}
    # RLlib's cache of the per-module configs (get_config_for_module), copied with the
    # config: filled with the old coefficients if RLlib has read the config before
    bare._per_module_overrides = {}
    return bare


def _part_of(rule: str) -> str:
    """"the policy of " / "the value function of " where ``rule`` stills one part of a
    module only."""
    return "the policy of " if rule.endswith(POLICY_FROZEN) else \
        "the value function of " if rule.endswith(VALUE_UNWEIGHTED) else ""


def _unreached_targets(name: str, agents: list[ProbeAgent], received: dict) -> str:
    """Per agent with a Box action: the rewarded action its env never received anything
    near, with the range it did receive ('' when every target was within reach)."""
    def shown(values) -> str:
        return "[" + ", ".join(f"{float(v):.3g}" for v in np.asarray(values).reshape(-1)) + "]"

    found = []
    for agent in agents:
        space = agent.action_space
        if not isinstance(space, gym.spaces.Box) or agent.agent_id not in received:
            continue
        low, high = received[agent.agent_id]
        for which in rewarded_targets(name, agent):
            nearest = np.clip(target_action(space, which), low, high)  # NaN stays NaN
            if action_miss(space, nearest, which) > 0:
                found.append(f"{agent.label}'s env never received an action near the "
                             f"rewarded {describe_action(space, which)}: every action it got "
                             f"lay between {shown(low)} and {shown(high)}, in a space "
                             f"from {shown(space.low)} to {shown(space.high)}")
                break
    return "; ".join(found)


def _never_learns_note(untrained: dict) -> str:
    """"module 'p1' is never updated (it is not in ...): it can never learn; agent 1
    maps to it", one clause per module."""
    by_module: dict = {}
    for aid, (module, rule) in untrained.items():
        by_module.setdefault((module, rule), []).append(aid)
    return "; ".join(
        f"{_part_of(rule)}module {module!r} is never "
        f"updated ({rule}): it can never learn; "
        f"{'agent' if len(aids) == 1 else 'agents'} "
        f"{', '.join('default_agent' if a is None else str(a) for a in aids)} "
        f"{'maps' if len(aids) == 1 else 'map'} to it"
        for (module, rule), aids in by_module.items())


def _never_learns(agent: ProbeAgent, module, rule: str) -> Measurement:
    return Measurement(agent.label, str(module), "module updated by the learner",
                       "yes", f"no: {rule}", False, static=True)


def _stalled(gaps: list[float], window: int) -> bool:
    """No new best (by more than STALL_NOISE) of the summed gap in the last ``window``
    measurements, against the best since the furthest it got before them. (An untrained
    policy can sit near the target by chance: a continuous action that starts within
    tolerance, overshoots with the first updates and closes in again was judged against
    its lucky start and called stalled while it learned.)"""
    earlier = gaps[:-window]
    turned = earlier[earlier.index(max(earlier)) + 1:] if earlier else []
    return bool(turned) and min(gaps[-window:]) > min(turned) - STALL_NOISE


def _progress_line(name: str, iteration: int, max_iterations: int,
                   measurements: list[Measurement], started: float) -> str:
    learned = [m for m in measurements if not m.static]
    worst = max(learned, key=lambda m: (not m.ok, m.gap or 0.0), default=None)
    shown = (f"agent {worst.agent}: {worst.quantity} = {worst.got} "
             f"(expected {worst.expected})"
             if worst is not None else "nothing to measure")
    done = sum(m.ok for m in learned)
    return (f"probe {name}: iteration {iteration}/{max_iterations}, {done}/{len(learned)} "
            f"checks hold; furthest: {shown}; {time.perf_counter() - started:.0f} s")


def run_probe(config, name: str, spaces: dict, multi: bool, *, max_iterations: int,
              seed: int, explain, untrained: dict | None = None,
              deadline: float | None = None, progress=None,
              measure_with: dict | None = None) -> tuple[ProbeResult, dict, str]:
    """Train one probe; ``(result, config changes, algorithm family)``.

    :param untrained: ``{agent_id: (module, why)}`` of agents whose module is never
        updated: measured as failing at once, not trained for.
    :param deadline: a ``time.perf_counter()`` value after which training stops (the
        probe is then STOPPED with what it measured).
    :param progress: called with one line per training iteration.
    :param measure_with: ``{agent_id: module}`` for agents the policy mapping fn sends to
        several modules, episode by episode: the module each is measured with.
    """
    token = uuid.uuid4().hex
    untrained = dict(untrained or {})
    measure_with = measure_with or {}
    agents = [ProbeAgent(aid if multi else None, i, obs, act, measure_with.get(aid))
              for i, (aid, (obs, act)) in enumerate(spaces.items())]
    never = [_never_learns(a, *untrained[a.agent_id]) for a in agents
             if a.agent_id in untrained]
    learning = [a for a in agents if a.agent_id not in untrained]
    result = ProbeResult(name, FAIL, measurements=list(never))
    cfg, changes = probe_config(config, name, spaces, multi, seed, token)
    if not learning:
        result.note = result.config_cause = _never_learns_note(untrained)
        result.note += " (the probe was not trained)"
        return result, changes, ""
    started = time.perf_counter()
    family = ""
    algo = None
    stop_reason = ""
    try:
        with warnings.catch_warnings():
            # RLlib re-registers its env wrapper with gymnasium for every build.
            warnings.filterwarnings("ignore", message=".*already in registry")
            ray_for(cfg)  # the probe's config is in-process: no Ray instance
            algo = cfg.build_algo()
        checker = Checker(algo, explain, gamma=cfg.gamma)
        # Replay algorithms learn nothing before their warm-up: no pass counts before.
        warmup = getattr(cfg, "num_steps_sampled_before_learning_starts", 0) or 0
        streak, gaps, updated, after_warmup = 0, [], set(), 0
        for iteration in range(1, max_iterations + 1):
            iteration_started = time.perf_counter()
            train_result = algo.train()
            result.iterations, result.env_steps = iteration, _env_steps(train_result)
            measured = checker.measure(name, learning)
            result.measurements = never + measured
            if progress is not None:
                progress(_progress_line(name, iteration, max_iterations, result.measurements,
                                        started))
            learned = [m for m in measured if not m.static]
            streak = streak + 1 if all(m.ok for m in learned) and \
                result.env_steps > warmup else 0
            if streak >= CONSECUTIVE_PASSES:
                break
            # an iteration is not cut short: none starts that would end past the deadline
            # if it took as long as this one (training and measuring)
            now = time.perf_counter()
            if deadline is not None and now + (now - iteration_started) > deadline:
                result.status = STOPPED
                stop_reason = (f"stopped by the time budget after {iteration} iterations "
                               f"({result.env_steps} env steps), before its checks held")
                break
            if result.env_steps <= warmup:
                continue
            after_warmup += 1
            updated |= updated_modules(train_result)
            idle = sorted({str(m.module) for m in learned} - updated)
            if updated and idle and after_warmup >= NO_UPDATE_ITERATIONS:
                stop_reason = (f"module(s) {', '.join(map(repr, idle))} got no update from "
                               f"the learner in {after_warmup} iterations after the warm-up "
                               "(does policies_to_train decide per batch?): it cannot learn")
                break
            if all(m.gap is not None for m in learned):
                gaps.append(sum(m.gap for m in learned))
                if _stalled(gaps, STALL_ITERATIONS):
                    stop_reason = (f"stalled: its checks came no closer to their targets "
                                   f"in the last {STALL_ITERATIONS} iterations")
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
    from rldebug.probes.envs import received_actions  # imports RLlib's env classes

    received = received_actions(token)
    if result.status == FAIL:
        result.status = PASS if result.measurements and all(
            m.ok for m in result.measurements) else FAIL
        if result.status == FAIL and not never:
            result.unreached = _unreached_targets(name, learning, received)
        config_fails = [m for m in result.measurements if m.static and not m.ok]
        if result.status == FAIL and never:
            result.note = _never_learns_note(untrained)
            if all(m.ok for m in result.measurements if m not in never):
                result.config_cause = result.note
        elif result.status == FAIL and config_fails:
            result.note = (f"the config itself fails ({config_fails[0].quantity}): more "
                           "training cannot fix that")
        elif result.status == FAIL and result.unreached:
            result.note = (f"not learned within {result.iterations} iterations "
                           f"({result.env_steps} env steps), and no action its env received "
                           "was near the rewarded one")
        elif result.status == FAIL and stop_reason:
            result.note = stop_reason
        elif result.status == FAIL:
            result.note = (f"not learned within {result.iterations} iterations "
                           f"({result.env_steps} env steps); a slow but working config "
                           "passes with a larger max_iterations")
    elif result.status == STOPPED:
        result.note = stop_reason
    result.seconds = time.perf_counter() - started
    return result, changes, family


def _retried_without_entropy_bonus(config, spaces: dict, multi: bool, **run) -> dict | None:
    """Probe 4 failed with an entropy bonus in the config: trained again without it, does
    it pass? (The bonus is one of several things probe 4 localises; this measures it.)
    None when the time budget leaves no room."""
    deadline = run.get("deadline")
    if deadline is not None and time.perf_counter() > deadline:
        return None
    again, _, _ = run_probe(_without_entropy_bonus(config), "action", spaces, multi, **run)
    if again.status not in (PASS, FAIL):
        return None
    return {"setting": "entropy_coeff", "yours": _entropy_bonus(config), "tried": "0.0",
            "status": again.status, "iterations": again.iterations,
            "config": type(config).__name__, "default": str(type(config)().entropy_coeff)}


def probe(config, only: list[str] | None = None, max_iterations: int = DEFAULT_MAX_ITERATIONS,
          seed: int = 0, budget_s: float | None = DEFAULT_BUDGET_S,
          progress: Callable[[str], None] | None = None) -> ProbeReport:
    """Train your own RLlib config on tiny envs whose right answers are known, and
    report which part of learning is broken.

    Only the env is swapped (model, connectors, learner, mapping function and
    hyperparameters kept; batches scaled down; see :mod:`rldebug.probes.config`).
    Each probe trains in this process until its check holds twice in a row or
    ``max_iterations`` run out; the check reads values and actions through
    :func:`rldebug.explain`. A probe that cannot pass is not trained for: an agent
    whose module ``policies_to_train`` leaves out fails at once, naming it; a probe
    stops early when a module it measures gets no update after the warm-up, or its
    checks come no closer to their targets for ``STALL_ITERATIONS`` iterations.

    :param config: an RLlib ``AlgorithmConfig`` with its env set (PPO, APPO, IMPALA,
        DQN, SAC; either API stack).
    :param only: probe names to run (default: all that apply); see
        :data:`rldebug.probes.PROBES`.
    :param max_iterations: training iterations per probe before it counts as failed.
    :param seed: seeds the probe envs (and the config when it has no seed of its own).
    :param budget_s: seconds all probes may train (None: no limit). When it runs out
        the probe training is ``stopped`` with what it measured and the rest are
        ``not run``; the report is written either way.
    :param progress: called with one line per training iteration (the CLI prints it).
    :returns: a :class:`ProbeReport`; ``print(report)`` shows the table,
        ``report.passed``, ``report.to_dict()``.
    :raises TypeError, ValueError: for a non-config, a config without an env, an env
        whose spaces the probes cannot write in, unknown probe names, a bad budget.
    """
    from rldebug.inspection import explain

    _require_config(config)
    _check_options(only, max_iterations, seed)
    if budget_s is not None and (isinstance(budget_s, bool) or not isinstance(
            budget_s, numbers.Real) or not budget_s > 0):
        raise UsageError(f"probe(budget_s=...) (--budget) must be a number of seconds > 0, "
                         f"or None for no limit (--budget 0), got {budget_s!r}.")
    if progress is not None and not callable(progress):
        raise UsageTypeError(f"probe(progress=...) takes a function of one line (str), got "
                             f"{progress!r:.100}.")
    recurrent = _recurrent_model(config)
    if recurrent:
        raise UsageError(f"The config's model is recurrent ({recurrent}): a probe reads each "
                         "learned value and action for one observation, which a recurrent "
                         "module answers only with the state it carried through the episode. "
                         "Probes do not take recurrent models yet; probe the config without "
                         f"{recurrent} to check the rest of learning.")
    spaces, multi = user_agents(config)
    names = list(SINGLE_AGENT) + (list(MULTI_AGENT) if multi else [])
    if only is not None:
        single_only = [n for n in only if n in MULTI_AGENT and not multi]
        if single_only:
            raise UsageError(f"Probe(s) {single_only} need a multi-agent env; your env is "
                             f"single-agent. Run {list(SINGLE_AGENT)}.")
        names = [n for n in names if n in only]
    mapped, mapping_error = (agent_modules(
        config.policy_mapping_fn, list(spaces),
        old_stack=not config.enable_env_runner_and_connector_v2) if multi else ({}, None))
    modules = mapped if multi else {None: [DEFAULT_MODULE_ID]}
    # an agent the mapping fn sends to several modules is measured with the first of them
    # that learns
    measure_with = {aid: next((m for m in ms if module_is_trained(config.policies_to_train, m)
                               is not False), ms[0])
                    for aid, ms in mapped.items() if len(ms) > 1}
    untrained = {} if mapping_error else untrained_agents(config.policies_to_train, modules)
    # a module that never moves fails each probe at once; a policy (a value function)
    # that never moves, each probe of the policy (of the value)
    policy_still, value_still = {}, {}
    for aid, ms in ({} if mapping_error else modules).items():
        module = measure_with.get(aid, ms[0])
        if still := _learning_rate_zero(config, module):
            untrained[aid] = (module, still)
        elif still := _policy_rate_zero(config, module):
            policy_still[aid] = (module, still)
        elif still := _value_loss_unweighted(config, module):
            value_still[aid] = (module, still)
    started = time.perf_counter()
    deadline = None if budget_s is None else started + float(budget_s)
    results, changes, family = [], {}, ""
    for name in names:
        why_not = (_applicable(name, spaces, mapped, mapping_error)
                   if name in MULTI_AGENT else "") or \
            (_no_value_function(config) if PROBES[name].checks_value else "")
        if why_not:
            results.append(ProbeResult(name, NOT_APPLICABLE, note=why_not))
            continue
        if deadline is not None and time.perf_counter() > deadline:
            results.append(ProbeResult(name, NOT_RUN, note=(
                f"not run: the time budget of {budget_s:g} s was spent on the probes "
                "before it (raise budget_s / --budget, or pick probes with only / --only)")))
            continue
        run = {"max_iterations": max_iterations, "seed": seed, "explain": explain,
               "deadline": deadline, "progress": progress, "measure_with": measure_with,
               "untrained": {**untrained,
                             **(policy_still if PROBES[name].checks_policy else {}),
                             **(value_still if PROBES[name].checks_value else {})}}
        result, changed, probe_family = run_probe(config, name, spaces, multi, **run)
        if name == "action" and result.status == FAIL and not result.config_cause and \
                _entropy_bonus(config):  # the same probe, trained again without the bonus
            result.retried = _retried_without_entropy_bonus(config, spaces, multi, **run)
        results.append(result)
        changes.update(changed)
        family = family or probe_family
    return ProbeReport(
        algorithm=getattr(config.algo_class, "__name__", str(config.algo_class)),
        family=family or _family_of_config(config),
        api_stack="new" if config.enable_rl_module_and_learner else "old",
        agents={aid: {"observation_space": str(obs), "action_space": str(act),
                      "module": _modules_of(mapped, aid, multi)}
                for aid, (obs, act) in spaces.items()},
        results=results, changes=changes, seconds=time.perf_counter() - started)


__all__ = ["CONSECUTIVE_PASSES", "DEFAULT_BUDGET_S", "DEFAULT_MAX_ITERATIONS", "probe",
           "run_probe", "untrained_agents", "user_agents"]
