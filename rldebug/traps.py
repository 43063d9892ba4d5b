"""``rldebug check CONFIG``: name RLlib 2.60's known traps in a config before training.

Each :class:`Trap` speaks the doctor's vocabulary (severity, message, evidence,
fix). The checks read the config and, where needed, build the env once (never
the algorithm):

- ``no_default_encoder``: Discrete/MultiDiscrete/Dict/Tuple observations on the
  new stack with no env-to-module connector and no custom RLModule: building fails
  with "No default encoder config"; an image of a size RLlib has no default CNN
  filters for (without ``conv_filters``); integer, bool or float16 Boxes, which the
  default model's first layer refuses.
- ``unschedulable``: the trial's placement group (1 CPU for the main process + CPUs
  per EnvRunner + per Learner, GPUs) needs more than the cluster has: under Tune the
  trial stays PENDING for good (after a minute Tune's log warns that the cluster lacks
  the resources, and keeps waiting).
- ``escapes_process``: remote EnvRunners/Learners/evaluation runners: breakpoints
  in the env, the loss or callbacks there are not hit in this process.
- ``tf_on_new_stack``: ``framework("tf2")`` with the new stack (torch only).
- ``model_ignored``: ``training(model={...})`` on the new stack, which builds its
  RLModule from ``rl_module(model_config=...)`` and ignores ``model``.
- ``minibatch_larger_than_batch``: ``minibatch_size`` above the train batch.
- ``action_space_unsupported``: DQN on actions that are not Discrete, SAC on actions
  neither Box nor Discrete: building fails (DQN's error misleads).
- ``discrete_start_ignored``: a ``Discrete(n, start=s)`` (or MultiDiscrete) space with
  ``s != 0``: RLlib 2.60 sends the index 0..n-1 as the action, and the new stack's
  ``FlattenObservations`` one-hots such an observation as if it started at 0 (the
  largest value fails an assertion in building or sampling).
- ``setting_out_of_range``: gamma outside [0, 1], a learning rate <= 0 (SAC's three),
  num_epochs < 1 (new stack: no minibatch; the first update fails with an error that
  does not name it), a negative ``grad_clip``, DQN's or SAC's ``tau`` outside [0, 1],
  PPO's ``vf_clip_param`` <= 0, a negative ``vf_loss_coeff`` or ``entropy_coeff``,
  APPO's circular buffer of no batches.
- ``replay_smaller_than_episode``, ``replay_smaller_than_batch``,
  ``n_step_longer_than_episodes``, ``target_never_moves`` (``tau=0``),
  ``target_entropy_unreachable`` (SAC): replay settings RLlib trains with that crash,
  hang ``train()`` or starve learning (new stack, online).
- ``evaluation_shorter_than_episodes`` (``rldebug check FILE.py:FUNC``, from a random
  rollout): evaluation by fewer timesteps than the env's episodes last, on remote
  evaluation EnvRunners that reset their envs first: only shorter episodes are reported.
- ``greedy_sampling``: ``env_runners(explore=False)`` on PPO, APPO or IMPALA: every
  training episode is sampled greedily, and the policy never learns.
- ``entropy_bonus_high``: PPO's ``entropy_coeff`` above 0.1, ten times the usual: the
  bonus can keep the policy near uniform (a warning).
- ``no_module_trained``: ``policies_to_train`` leaves every module out (new stack: the
  first update raises an ``UnboundLocalError`` naming no setting).
- ``old_key_ignored``: a 2021 name (``num_sgd_iter``, ``sgd_minibatch_size``) set with
  ``update_from_dict``: RLlib 2.60 stores it and trains with its 2.60 name's value.
- ``unknown_module``: the policy mapping function sends an agent of the env to a
  module id the config does not define.
- ``mapping_mixes_spaces``: it sends agents of different observation spaces to one
  module: in every episode (RLlib refuses it at build), or of different sizes in some
  episodes (a swap between episodes: training fails when the other agent's observations
  reach the module).
- ``callback_signature``: a callback (a ``callbacks_class`` method, or a function given
  to ``config.callbacks(on_...=)``) that cannot take the keywords RLlib 2.60 passes it,
  such as a 2021 ``on_episode_end(self, *, worker, base_env, policies, episode)`` on the
  new stack: TypeError at its first call, deep in an EnvRunner.
- ``setting_ignored``: a setting the config's API stack never reads: on the new stack
  ``observation_filter``, SAC's ``optimization_config``, ``PolicySpec(config=...)``; on
  the old stack ``rl_module(model_config=...)``.
- ``replay_buffer_old_stack``: new-stack DQN with an old-stack replay buffer named by
  string: the first training step raises AttributeError.
- ``replay_buffer_single_agent``: a multi-agent DQN/SAC config with a single-agent
  episode buffer (RLlib's default): the first sample from it raises TypeError.
- ``replay_buffer_without_beta``: a prioritized episode buffer whose config has no
  ``beta`` (RLlib replaces the whole ``replay_buffer_config`` when its ``type`` changes):
  the first sample raises TypeError.
- ``checkpoint_int_agent_ids``: multi-agent DQN/SAC with int agent ids: the buffer's
  metrics are keyed by them, and saving a checkpoint raises TypeError.
- ``schedule_over_before_learning``: an ``lr`` or ``entropy_coeff`` schedule that ends
  before the first update (its timesteps are env steps sampled, not iterations).
- ``target_update_period_units``: APPO's ``target_network_update_freq`` at or above the
  train batch, read as env steps; APPO multiplies it by its circular buffer's batches,
  their reuse and the batch.
- ``target_barely_moves``: DQN's or SAC's ``tau`` below 1 with a
  ``target_network_update_freq`` above 1 whose product leaves the target network
  20,000 or more env steps behind (``freq / tau``): a Polyak ``tau`` given with a hard
  copy's period.
- ``rllib_refuses``: what RLlib's own ``AlgorithmConfig.validate()`` refuses (building
  runs it), in RLlib's words, when no trap above explains the config already.
- ``policies_to_train_signature``: a ``policies_to_train`` function RLlib cannot call as
  it does, ``(module_id, batch)``: the first update raises TypeError.
- ``schedule_unsorted``: a ``[[timestep, value], ...]`` schedule whose timesteps do not
  rise: RLlib's PiecewiseSchedule asserts they are sorted where it is built (the Learner;
  DQN's epsilon in the RLModule), and APPO's learner thread dies, train() hangs.
- ``actions_not_scaled``: new-stack SAC with ``normalize_actions=False`` on a Box that is
  not [-1, 1]: its squashed Gaussian's actions reach the env in [-1, 1].
- ``evaluation_never_runs``: evaluation EnvRunners without ``evaluation_interval``:
  RLlib builds them, but ``train()`` never evaluates.
- ``search_space`` (info): the config holds Tune search spaces (``tune.grid_search``,
  ``tune.uniform``, ...); every check ran on one variant, named (a grid's or choice's
  first value, a range's middle), as Tune gives each trial one value.

``rldebug check`` also steps the config's env with random actions
(:func:`stepped_env_traps`): ``env_check_failed`` for what RLlib cannot sample either (an
obs-only reset, an array or NaN reward, a Box observation of another shape than its
space's, an agent acting after it is done), and ``episodes_never_end`` for
``batch_mode="complete_episodes"`` with an env that ended no episode and has no time
limit, and ``support_too_narrow`` for distributional DQN (``num_atoms > 1``) whose
``[v_min, v_max]`` leaves out the discounted returns of the random rollout's steps.

:func:`preflight_script` reads a script's code (never runs it) for the traps that
show there: ``string_algorithm_name`` (``tune.Tuner("PPO")`` imports every
algorithm), ``local_mode_removed`` (``ray.init(local_mode=True)`` raises) and
``old_config_name`` (a 2021 config name RLlib 2.60 refuses or never reads by the route
it is given: ``sgd_minibatch_size=`` raises, ``{"num_sgd_iter": ...}`` is kept and
ignored; names RLlib translates, as ``training(num_sgd_iter=...)``, are no trap; see
:func:`rldebug.compat.legacy.how_rllib_takes`), ``mapping_signature`` (a mapping function
of the agent alone) and ``setting_ignored`` (a network configured through the other API
stack's setting).
"""

from __future__ import annotations

import math
import os
import statistics
import sys
from dataclasses import asdict, dataclass, field
from typing import Any

from rldebug.shapes.configs import (
    module_overrides,
    schedule_timesteps,
    schedule_values,
    set_per_module,
)
from rldebug.shapes.connectors import configured_piece_names
from rldebug.shapes.env_meta import (
    agent_spaces,
    declared_agents,
    episode_step_limit,
    make_env,
    module_is_trained,
)
from rldebug.usage import UsageError, UsageTypeError, json_text


@dataclass
class Trap:
    """One known RLlib 2.60 trap found in a config.

    :param name: the check's name (see the module docstring).
    :param severity: ``"error"`` (training will fail or hang), ``"warning"`` (it runs,
        but not as written) or ``"info"``.
    """

    name: str
    severity: str
    message: str
    fix: str
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _is_new_stack(config) -> bool:
    return bool(config.enable_rl_module_and_learner)


def _first_observation_dtypes(env) -> dict:
    """Agent -> the dtype of its observation at a reset of a multi-agent ``env`` (RLlib's
    multi-agent runner hands the module the env's own dtype, not the space's); empty
    where the reset raises (check_env says why)."""
    import numpy as np

    try:
        observations = dict(env.reset(seed=0)[0])
    except Exception:  # noqa: BLE001 - the env's own error is check_env's to say
        return {}
    return {agent: obs.dtype for agent, obs in observations.items()
            if isinstance(obs, np.ndarray)}


def _encoder(config, spaces: dict, observed: dict) -> list[Trap]:
    """``observed``: a multi-agent env's observation dtypes (:func:`_first_observation_dtypes`)."""
    from rldebug.envcheck import default_encoder_problem

    if not _is_new_stack(config) or config._env_to_module_connector is not None or \
            config._rl_module_spec is not None:
        return []
    for agent, (obs_space, _) in spaces.items():
        problem = default_encoder_problem(
            agent, obs_space, config.is_multi_agent,
            conv_filters=bool((config.model_config or {}).get("conv_filters")),
            observed_dtype=observed.get(agent))
        if problem is not None:
            return [Trap("no_default_encoder", "error", *problem,
                         {"agent": str(agent), "observation_space": str(obs_space)})]
    return []


def cluster_cpus() -> tuple[float, str]:
    """CPUs the trial can get: the running Ray cluster's, else this machine's."""
    import ray

    if ray.is_initialized():
        return float(ray.cluster_resources().get("CPU", 0.0)), "the running Ray cluster"
    return float(os.cpu_count() or 1), "this machine (no Ray running yet)"


def _resources(config, cpus: float, where: str) -> list[Trap]:
    main = float(config.num_cpus_for_main_process or 1)
    runners = int(config.num_env_runners or 0) * float(config.num_cpus_per_env_runner or 1)
    learners = int(config.num_learners or 0) * float(config.num_cpus_per_learner
                                                     if config.num_cpus_per_learner != "auto"
                                                     else 1)
    evaluation = int(config.evaluation_num_env_runners or 0) * \
        float(config.num_cpus_per_env_runner or 1)
    actors = runners + learners + evaluation
    need = main + actors
    traps = []
    actor_parts = (f"EnvRunners {runners:g} + Learners {learners:g} + evaluation "
                   f"EnvRunners {evaluation:g}")
    parts = f"main process {main:g} + {actor_parts}"
    fits = max(0, int(cpus - main - learners - evaluation))
    fix = (f"Lower num_env_runners (to {f'{fits} or 0' if fits else '0'}: "
           "rldebug.local_mode(config) samples in this process), or start Ray with more "
           "CPUs (ray.init(num_cpus=...)).")
    evidence = {"cpus_needed": need, "cpus_for_actors": actors, "cpus_available": cpus,
                "where": where}
    if actors > cpus:
        traps.append(Trap(
            "unschedulable", "error",
            f"The actors need {actors:g} CPUs ({actor_parts}; the main process needs "
            f"{main:g} more under Tune) but {where} has {cpus:g}: "
            "algo.build_algo() waits for actors that never start, and Tune keeps the trial "
            "PENDING for good (after a minute its log warns that the cluster lacks the "
            "resources).", fix, evidence))
    elif need > cpus:
        # Tune reserves the main process's CPU in the trial's placement group; a plain
        # build_algo() runs it in the driver, which takes none (measured: PPO with 2
        # EnvRunners builds on a 2-CPU Ray)
        traps.append(Trap(
            "unschedulable", "warning",
            f"Under Tune the trial needs {need:g} CPUs ({parts}) but {where} has "
            f"{cpus:g}: Tune keeps it PENDING for good (after a minute its log warns that "
            "the cluster lacks the resources). Outside Tune, "
            f"algo.build_algo() needs only its actors' {actors:g} and starts.", fix,
            evidence))
    gpus = float(config.num_gpus_per_learner or 0) * max(1, int(config.num_learners or 0))
    if gpus > 0:
        import ray

        have = float(ray.cluster_resources().get("GPU", 0.0)) if ray.is_initialized() else None
        if have is None:
            try:
                import torch

                have = float(torch.cuda.device_count())
            except ImportError:
                have = 0.0
        if gpus > have:
            traps.append(Trap(
                "unschedulable", "error",
                f"The Learners ask for {gpus:g} GPU(s) but {have:g} are available: the trial "
                "never starts.",
                "Set config.learners(num_gpus_per_learner=0) on a machine without GPUs.",
                {"gpus_needed": gpus, "gpus_available": have}))
    return traps


def scheduling_traps(config, cpus: float | None = None) -> list[Trap]:
    """Only :func:`preflight`'s ``unschedulable`` checks: whether the config's actors fit
    ``cpus`` (default: the running Ray cluster's, else this machine's) and its GPUs."""
    where = "the given cpus"
    if cpus is None:
        cpus, where = cluster_cpus()
    return _resources(config, float(cpus), where)


def _escapes(config) -> list[Trap]:
    remote = {"num_env_runners": int(config.num_env_runners or 0),
              "num_learners": int(config.num_learners or 0),
              "evaluation_num_env_runners": int(config.evaluation_num_env_runners or 0)}
    remote = {k: v for k, v in remote.items() if v > 0}
    if not remote:
        return []
    return [Trap(
        "escapes_process", "info",
        f"{', '.join(f'{k}={v}' for k, v in remote.items())}: the env, the loss or callbacks "
        "run in other processes there, so breakpoints in them are not hit in this one.",
        "While debugging, rldebug.local_mode(config) (or rldebug.run / rldebug debug) moves "
        "everything into this process; rldebug.attach_remote debugs one remote EnvRunner.",
        remote)]


def _entropy_bonus_high(config) -> list[Trap]:
    """PPO (either stack) with ``entropy_coeff`` above 0.1: the bonus for entropy can
    outweigh the advantages (standardised per batch) and keep the policy near uniform.
    Measured at 1.0 in rldebug's fault benchmark (``entropy_coeff_1``): every PPO run (8
    envs x 14 seeds) ended below its healthy controls; APPO's only on 18 of 28, IMPALA's
    on 0 of 14 (their V-trace losses weigh it otherwise), so they are not named. A
    schedule is not judged. "High" is the doctor's (``Thresholds.entropy_coeff_high``),
    at least ten times the usual 0-0.01."""
    from ray.rllib.algorithms.ppo import PPOConfig

    from rldebug.doctor.thresholds import Thresholds

    high = Thresholds().entropy_coeff_high
    coeff = getattr(config, "entropy_coeff", None)
    if not isinstance(config, PPOConfig) or not _number(coeff) or coeff <= high:
        return []
    return [Trap(
        "entropy_bonus_high", "warning",
        f"entropy_coeff={coeff}: PPO's loss pays the policy {coeff} per nat of entropy, at "
        f"least ten times the usual 0-0.01, against advantages RLlib standardises per "
        "batch: the bonus can outweigh them and keep the policy near uniform (rldebug's "
        "fault benchmark: PPO at entropy_coeff=1.0 ended below its healthy runs on 112 of "
        "112 runs, 8 envs).",
        "Set config.training(entropy_coeff=...) to 0-0.01 (RLlib's default is 0), or a "
        "schedule that decays to it.",
        {"setting": "entropy_coeff", "value": coeff, "above": high})]


def _greedy_sampling(config) -> list[Trap]:
    """``env_runners(explore=False)`` on a policy-gradient algorithm (PPO, APPO, IMPALA):
    the EnvRunners act greedily (the distribution's mode) while collecting the training
    data, so the policy never tries an action it does not already prefer (PPO CartPole:
    9.3 per episode, flat for 15 iterations, against 255 with exploration). Evaluation
    copies this setting unless ``evaluation_config`` sets its own ``explore``. Not DQN: its
    Q-values change with every update, and so do its greedy actions (DQN CartPole, seed
    0, 25 iterations of 1000 steps: 13 -> 208 per episode, peak 302, greedy; 21 -> 243,
    peak 369, with epsilon-greedy exploration)."""
    from ray.rllib.algorithms.impala import IMPALAConfig
    from ray.rllib.algorithms.ppo import PPOConfig

    if getattr(config, "explore", True) or not isinstance(config, (PPOConfig, IMPALAConfig)):
        return []
    return [Trap(
        "greedy_sampling", "error",
        f"env_runners(explore=False): {getattr(config.algo_class, '__name__', 'its')} "
        "EnvRunners collect every training episode with the greedy action (the "
        "distribution's mode), so the "
        "policy never tries an action it does not already prefer and its gradient has "
        "nothing to compare (one PPO CartPole run stayed at 9 per episode for 15 "
        "iterations; how far it gets varies by seed).",
        "Leave env_runners(explore=True) for training; for greedy evaluation set "
        "config.evaluation(evaluation_config={'explore': False}).",
        {"explore": False})]


def _module_ids(config) -> list:
    """The modules a config builds: its ``policies``, or a single-agent config's one,
    ``default_policy``."""
    from ray.rllib.core import DEFAULT_MODULE_ID

    return list(config.policies or {}) if config.is_multi_agent else [DEFAULT_MODULE_ID]


def _nothing_trained(config) -> list[Trap]:
    """``policies_to_train`` that leaves every module out (new stack; a single-agent
    config's one module is ``default_policy``): the first update has no loss to compute
    and raises ``UnboundLocalError: ... 'loss_per_module'``, which names no setting."""
    modules = _module_ids(config)
    if not _is_new_stack(config) or not modules or any(
            module_is_trained(config.policies_to_train, m) is not False for m in modules):
        return []
    return [Trap(
        "no_module_trained", "error",
        f"policies_to_train={config.policies_to_train!r} trains none of the modules "
        f"{sorted(map(str, modules))}: the first update has no loss to compute and "
        "raises \"UnboundLocalError: ... 'loss_per_module'\", which names no setting.",
        "List at least one module in config.multi_agent(policies_to_train=[...]), or leave "
        "it None to train every module.",
        {"policies_to_train": repr(config.policies_to_train), "modules": sorted(map(str, modules))})]


def _framework(config) -> list[Trap]:
    if _is_new_stack(config) and config.framework_str in ("tf", "tf2"):
        return [Trap(
            "tf_on_new_stack", "error",
            f"framework={config.framework_str!r} on the new API stack, which is torch only.",
            "Use config.framework('torch'), or the old stack for TensorFlow models: "
            "config.api_stack(enable_rl_module_and_learner=False, "
            "enable_env_runner_and_connector_v2=False) (pip install '.[tf]').",
            {"framework": config.framework_str})]
    return []


_MODEL_KEYS = ("fcnet_hiddens", "fcnet_activation", "conv_filters", "use_lstm",
               "lstm_cell_size", "custom_model", "custom_model_config", "vf_share_layers",
               "free_log_std", "post_fcnet_hiddens")


def _network_built(config) -> str:
    """The hidden layers the new stack builds: rl_module(model_config=...)'s, else
    DefaultModelConfig's (config.model_config holds only what the user set)."""
    from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig

    given = config.model_config or {}
    hidden = given.get("fcnet_hiddens") if isinstance(given, dict) else \
        getattr(given, "fcnet_hiddens", None)
    if hidden is not None:
        return f"rl_module's (fcnet_hiddens={list(hidden)})"
    return f"RLlib's default (fcnet_hiddens={list(DefaultModelConfig().fcnet_hiddens)})"


def _model_ignored(config) -> list[Trap]:
    if not _is_new_stack(config):
        return []
    defaults = type(config)().model
    changed = {k: config.model.get(k) for k in _MODEL_KEYS
               if config.model.get(k) != defaults.get(k)}
    if not changed:
        return []
    return [Trap(
        "model_ignored", "warning",
        f"config.training(model={changed}) is ignored on the new API stack: its RLModule is "
        "built from rl_module(model_config=...), so the network is "
        f"{_network_built(config)}.",
        "Move the settings: config.rl_module(model_config=DefaultModelConfig(...)) (from "
        "ray.rllib.core.rl_module.default_model_config import DefaultModelConfig); a "
        "custom_model becomes an RLModule class in RLModuleSpec(module_class=...).",
        {"ignored": {k: str(v) for k, v in changed.items()}})]


def _train_batch(config) -> Any:
    """The train batch size each Learner gets (the old stack's ``train_batch_size``); None
    where RLlib cannot say (its property raises when both sizes are None: DreamerV3)."""
    try:
        return (config.train_batch_size_per_learner if _is_new_stack(config)
                else config.train_batch_size)
    except ValueError:
        return None


def _total_train_batch(config) -> Any:
    """The steps one update trains on across the Learners: RLlib's own
    ``total_train_batch_size`` (DQN and SAC sample that many from replay); None where it
    cannot say."""
    try:
        return config.total_train_batch_size
    except (ValueError, TypeError):
        return None


def _minibatch(config) -> list[Trap]:
    minibatch = getattr(config, "minibatch_size", None)
    if not isinstance(minibatch, int):
        return []
    batch = _train_batch(config)
    if isinstance(batch, int) and 0 < batch < minibatch:  # a batch < 1: _ranges says it
        return [Trap(
            "minibatch_larger_than_batch", "error",
            f"minibatch_size={minibatch} is larger than the train batch ("
            + (f"train_batch_size_per_learner={batch}" if _is_new_stack(config) else
               f"train_batch_size={batch}")
            + "): RLlib refuses to build (or, with a looser check, trains on one short "
            "minibatch).",
            f"Set config.training(minibatch_size=...) to at most {batch} (e.g. {batch // 4 or 1}"
            ").",
            {"minibatch_size": minibatch, "train_batch": batch})]
    return []


def _old_keys(config) -> list[Trap]:
    """2021 names ``update_from_dict`` stores on the config without translating them
    (:func:`~rldebug.compat.legacy.how_rllib_takes`): training reads only their 2.60
    names."""
    from rldebug.compat.legacy import RENAMED_KEYS

    given, defaults = vars(config), vars(type(config)())
    traps = []
    for old, new in RENAMED_KEYS.items():
        if old in given and given[old] != defaults.get(old):
            used = getattr(config, new, None)
            traps.append(Trap(
                "old_key_ignored", "error",
                f"{old}={given[old]!r} is a 2021 name RLlib 2.60 keeps on the config but "
                f"never reads: training uses {new}={used!r}.",
                f"Set config.training({new}={given[old]!r}) (or {new!r} in the dict given "
                "to update_from_dict); `rldebug migrate FILE` lists every 2021 name.",
                {"key": old, "value": str(given[old]), "used": f"{new}={used!r}"}))
    return traps + _unknown_keys(config, given, defaults)


def _unknown_keys(config, given: dict, defaults: dict) -> list[Trap]:
    """Keys the config class does not have: ``config["num_workers"] = 1`` and
    ``update_from_dict({"horizon": 200})`` store them as attributes without a word, and
    nothing in RLlib reads them (a 2021 name, or a typo)."""
    from rldebug.compat.legacy import RENAMED_KEYS
    from rldebug.compat.migrate import CONFIG_DICT_KEYS, CONFIG_KEYS

    traps = []
    for key in sorted(set(given) - set(defaults) - set(RENAMED_KEYS)):
        if key.startswith("_") or key == "class":  # "class": RLlib's own, in a built config
            continue
        known = {**CONFIG_KEYS, **CONFIG_DICT_KEYS}.get(key)
        # a key of the user's own (a callback reading algorithm.config.<key>) may be read
        instead = (f"The 2021 name's replacement: {known[0]}" if known else
                   f"It is not a setting of {type(config).__name__} (a typo, or a name of "
                   "another RLlib version?), so only your own code can read it")
        traps.append(Trap(
            "old_key_ignored", "error" if known else "warning",
            f"{key}={given[key]!r:.80} is kept on the config, but nothing in RLlib 2.60 "
            f"reads it. {instead}.",
            "Remove it, or set the 2.60 setting through the config's methods (an unknown "
            "keyword there raises); `rldebug migrate FILE` lists every 2021 name.",
            {"key": key, "value": str(given[key])}))
    return traps


# what each family's RLlib 2.60 modules act in (PPO, APPO and IMPALA: any space their
# catalogs know); building another fails, DQN's with a misleading "RLModule(config=...)
# has been deprecated"
_ACTION_SPACES = {"DQN": ("Discrete",), "SAC": ("Box", "Discrete")}
_ALGORITHM_FOR = {"Discrete": "DQN or PPO", "Box": "SAC or PPO"}


def _actions(config, spaces: dict) -> list[Trap]:
    algorithm = getattr(config.algo_class, "__name__", "")
    allowed = _ACTION_SPACES.get(algorithm)
    if allowed is None:
        return []
    for agent, (_, action_space) in spaces.items():
        kind = type(action_space).__name__
        if kind not in allowed:
            return [Trap(
                "action_space_unsupported", "error",
                f"{algorithm} acts in {' or '.join(allowed)} action spaces; agent {agent!r} "
                f"has {action_space}. Building fails"
                + (" with a misleading 'RLModule(config=[RLModuleConfig]) has been "
                   "deprecated'." if algorithm == "DQN" else "."),
                f"Train it with {_ALGORITHM_FOR[kind]}" if kind in _ALGORITHM_FOR else
                f"Train it with PPO, or wrap the env so its actions are "
                f"{' or '.join(allowed)}.",
                {"agent": str(agent), "action_space": str(action_space),
                 "algorithm": algorithm})]
    return []


def _squashed_unscaled(config, spaces: dict) -> list[Trap]:
    """New-stack SAC with ``normalize_actions=False`` on a Box whose bounds are not
    [-1, 1]: its TorchSquashedGaussian samples in [-1, 1] (SACCatalog), and only RLlib's
    NormalizeAndClipActions connector, which ``normalize_actions`` turns on, scales them
    to the space: the env gets actions in [-1, 1] whatever its bounds."""
    import numpy as np
    from ray.rllib.algorithms.sac import SAC

    algorithm = config.algo_class
    if not _is_new_stack(config) or not (isinstance(algorithm, type) and
                                         issubclass(algorithm, SAC)) or config.normalize_actions:
        return []  # CQL subclasses SAC, with its catalog
    for agent, (_, action_space) in spaces.items():
        low, high = getattr(action_space, "low", None), getattr(action_space, "high", None)
        if type(action_space).__name__ != "Box" or low is None or \
                not (np.isfinite(low).all() and np.isfinite(high).all()) or \
                (np.allclose(low, -1.0) and np.allclose(high, 1.0)):
            continue  # RLlib unsquashes only a bounded Box, normalize_actions or not
        return [Trap(
            "actions_not_scaled", "error",
            f"SAC samples actions from a squashed Gaussian in [-1, 1], and with "
            f"normalize_actions=False nothing scales them to agent {agent!r}'s "
            f"{action_space}: the env only ever gets actions in [-1, 1] (outside its "
            "bounds where they do not overlap, and never the rest of its range).",
            "Leave config.env_runners(normalize_actions=True) (RLlib's default), or "
            "rescale the env's action space to [-1, 1] in a wrapper.",
            {"agent": str(agent), "action_space": str(action_space)})]
    return []


def _discrete_starts(config, spaces: dict, pieces: list[str] | None) -> list[Trap]:
    """``Discrete(n, start=s)`` spaces with ``s != 0``. RLlib 2.60 samples the index
    0..n-1 on both stacks and sends it to the env as the action (nothing adds ``start``);
    the new stack's ``FlattenObservations`` one-hots a Discrete observation with
    ``depth=n`` and no offset, so the value ``s+n-1`` fails an assertion (in building,
    which samples the space once, or in sampling)."""
    from rldebug.shapes.spaces import from_zero_text, offset_discrete_parts, start_text

    traps = []
    for agent, (obs_space, action_space) in spaces.items():
        for where, part in offset_discrete_parts(action_space):
            traps.append(Trap(
                "discrete_start_ignored", "warning",
                f"Agent {agent!r}'s action space{where} is {part}: RLlib 2.60 sends the "
                f"index 0..n-1 as the action, not start..start+n-1, so every action the env "
                f"gets is {start_text(part)} below the one it means, and an env that checks "
                f"action_space.contains(action) fails when the policy picks index 0.",
                f"Declare the action space from 0 ({from_zero_text(part)}) and add the offset "
                "inside the env's step, or wrap the env in a gymnasium.ActionWrapper whose "
                "action() adds it.",
                {"agent": str(agent), "space": str(part), "part": where or None,
                 "role": "action"}))
        if "FlattenObservations" not in (pieces or ()):  # (asked on the new stack only)
            continue  # without it, no_default_encoder says what fails (or the user's piece)
        for where, part in offset_discrete_parts(obs_space):
            traps.append(Trap(
                "discrete_start_ignored", "error",
                f"Agent {agent!r}'s observation space{where} is {part}: RLlib 2.60's "
                "FlattenObservations one-hots it as if it started at 0, so each value is "
                "encoded one-hot at the wrong place, and the largest value fails an "
                "assertion ('The max. index of `x` ... is larger than depth'): in "
                "build_algo when its one sample of the space draws it, else in sampling "
                "the first time the env returns it.",
                f"Declare the observation space from 0 ({from_zero_text(part)}) and subtract "
                "the offset in the env, or wrap the env in a gymnasium.ObservationWrapper "
                "that does.",
                {"agent": str(agent), "space": str(part), "part": where or None,
                 "role": "observation"}))
    return traps


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _estimates_gae(config) -> bool:
    """Whether RLlib 2.60 reads ``lambda_``: PPO's and MARWIL's learners estimate
    advantages with GAE; APPO has the setting but uses v-trace."""
    from ray.rllib.algorithms.marwil import MARWILConfig
    from ray.rllib.algorithms.ppo import PPOConfig

    return isinstance(config, (PPOConfig, MARWILConfig))


# What each of SAC's learning rates moves (RLlib 2.60: ``actor_lr``, ``critic_lr`` and
# ``alpha_lr`` on the new stack, ``optimization``'s three on the old one; ``lr`` is None)
_SAC_RATES = {
    "actor_lr": ("actor_learning_rate", ("the policy never moves while its critic learns "
                                         "(the values look healthy, the actions stay as "
                                         "initialised)")),
    "critic_lr": ("critic_learning_rate", ("the critic's Q never moves, though SAC's "
                                           "policy learns only from it")),
    "alpha_lr": ("entropy_learning_rate",
                 "the entropy temperature alpha stays at initial_alpha"),
}


def _learning_rates(config) -> list[Trap]:
    """A learning rate at or below 0 (a schedule held at 0, or below it anywhere): the
    config's ``lr``, or SAC's three rates, which RLlib reads instead of ``lr``, and a
    module's own (``algorithm_config_overrides_per_module``). SAC's ``alpha_lr=0`` holds
    the temperature fixed, which can be meant: info, not an error. The config's rates
    are not judged where a module sets its own, or where the old stack's
    ``lr_schedule`` replaces ``lr`` (its policies ignore ``lr`` then)."""
    from ray.rllib.algorithms.sac import SACConfig

    sac = isinstance(config, SACConfig)  # CQL too; IQL and DreamerV3 have other rates
    default = type(config)()
    if set_per_module(config, ("lr", *_SAC_RATES)):
        return _module_learning_rates(config, default, sac)
    if not _is_new_stack(config) and getattr(config, "lr_schedule", None):
        return []
    if not sac:
        settings = [("lr", getattr(config, "lr", None), getattr(default, "lr", None),
                     "config.training(lr=...)", "the optimizer never moves the weights",
                     False)]
    elif _is_new_stack(config):
        settings = [(name, getattr(config, name, None), getattr(default, name, None),
                     f"config.training({name}=...)", why, name == "alpha_lr")
                    for name, (_key, why) in _SAC_RATES.items()]
    else:  # old-stack SAC reads all three keys of optimization_config, floats only
        given, defaults = config.optimization or {}, default.optimization or {}
        where = ("config.training(optimization_config={...}) with all three of "
                 f"{sorted(k for k, _ in _SAC_RATES.values())}")
        settings = [(f"optimization[{key!r}]", given.get(key), defaults.get(key), where, why,
                     name == "alpha_lr")
                    for name, (key, why) in _SAC_RATES.items()]
    return _rate_traps(config, settings)


def _module_learning_rates(config, default, sac: bool) -> list[Trap]:
    """A module's own learning rate at or below 0 (new stack: RLlib's Learner builds
    that module's optimizer from ``get_config_for_module``)."""
    if not _is_new_stack(config):
        return []
    settings = []
    for module, own in module_overrides(config).items():
        for name in ("actor_lr", "critic_lr", "alpha_lr") if sac else ("lr",):
            if name in own:
                why = _SAC_RATES[name][1] if sac else "the optimizer never moves the weights"
                if name != "alpha_lr":
                    why += " (a module meant to stay as it is belongs outside policies_to_train)"
                where = (f"config.rl_module(algorithm_config_overrides_per_module="
                         f"{{{module!r}: {type(config).__name__}.overrides({name}=...)}})")
                settings.append((
                    f"algorithm_config_overrides_per_module[{module!r}].{name}", own[name],
                    getattr(default, name, None), where, why, name == "alpha_lr"))
    return _rate_traps(config, settings)


def _rate_traps(config, settings: list[tuple]) -> list[Trap]:
    """``setting_out_of_range`` for each learning rate of ``settings`` (setting, value,
    its default, where to set it, what 0 does, whether 0 may be meant) at or below 0."""
    traps = []
    for setting, value, default_value, where, why, may_be_fixed in settings:
        rates = schedule_values(value)
        if not rates or min(rates) > 0 or (max(rates) > 0 and min(rates) == 0):
            continue  # positive, or a schedule that decays to 0 from above
        fixed = may_be_fixed and min(rates) == 0
        schedule = "" if setting.startswith("optimization") else (
            "; a schedule [[0, 1e-3], [timesteps, 1e-5]] ends above 0 too")
        traps.append(Trap(
            "setting_out_of_range", "info" if fixed else "error",
            f"{setting}={value}: " + (
                f"{why}={getattr(config, 'initial_alpha', 1.0)}, a fixed temperature "
                "(fine if you meant it)." if fixed else
                f"a learning rate must be positive; at 0 {why}, and a negative one climbs "
                "the loss. RLlib trains with it regardless."),
            f"Set {where} above 0{' if alpha should adapt' if fixed else ''} "
            f"({type(config).__name__}'s default is {default_value}{schedule}).",
            {"setting": setting, "value": str(value)}))
    return traps


def _replay_buffer(config) -> tuple[str, Any]:
    """The name of the replay buffer class a config names, and its capacity."""
    settings = getattr(config, "replay_buffer_config", None) or {}
    kind = settings.get("type", "")
    return (kind if isinstance(kind, str) else getattr(kind, "__name__", str(kind)),
            settings.get("capacity"))


def _new_stack_replay_kind(config) -> str | None:
    """The replay buffer class (:func:`_replay_buffer`) of a new-stack DQN or SAC config;
    None for any other config."""
    from ray.rllib.algorithms.dqn import DQNConfig
    from ray.rllib.algorithms.sac import SACConfig

    if not isinstance(config, (DQNConfig, SACConfig)) or not _is_new_stack(config):
        return None
    return _replay_buffer(config)[0]


def _replay(config, step_limit: int | None) -> list[Trap]:
    """DQN's and SAC's replay settings RLlib 2.60 trains with and that crash, hang or
    starve learning (new stack, online, episode replay buffers): a prioritized buffer
    whose sum tree (2 * the next power of two of its capacity nodes, one per step held)
    cannot hold one of the env's episodes (the newest episode is never evicted, so its
    steps take a node each: ``IndexError`` in ``add``); a buffer smaller than the train
    batch; an ``n_step`` longer than any episode the env can give (a prioritized buffer
    samples a step only where ``n_step`` steps follow it in its episode, and waits for
    ever; the plain one shortens the n-step at the episode's end); ``tau`` at 0 (the
    target network keeps its initial weights) or outside [0, 1]."""
    kind = _new_stack_replay_kind(config)
    if kind is None or config.is_offline or "Episode" not in kind:
        return []
    _, capacity = _replay_buffer(config)
    traps = []
    per_learner = _train_batch(config)
    learners = max(1, int(config.num_learners or 0))
    batch = _total_train_batch(config)  # what one update samples from the buffer
    prioritized = "Prioritized" in kind
    nodes = 2 * 2 ** math.ceil(math.log2(capacity)) if _number(capacity) and \
        capacity >= 1 else None
    if prioritized and nodes is not None and step_limit is not None and step_limit > nodes:
        traps.append(Trap(
            "replay_smaller_than_episode", "error",
            f"replay_buffer_config capacity={capacity} gives {kind} a sum tree of {nodes} "
            f"nodes, one per step it holds, and this env's episodes last up to {step_limit} "
            "steps: the buffer never evicts its newest episode, so one that long raises "
            f"\"IndexError: pop from an empty deque\" in {kind}.add.",
            f"Set replay_buffer_config['capacity'] to at least {step_limit} (RLlib's default "
            f"is {type(config)().replay_buffer_config.get('capacity')}).",
            {"capacity": capacity, "tree_nodes": nodes, "max_episode_steps": step_limit}))
    elif _number(capacity) and _number(batch) and 0 < capacity < batch:
        traps.append(Trap(
            "replay_smaller_than_batch", "warning",
            f"replay_buffer_config capacity={capacity} holds fewer steps than one update "
            f"samples (train_batch_size_per_learner={per_learner}"
            + (f" x {learners} Learners = {batch}" if learners > 1 else "")
            + f"): every batch is drawn from the last {capacity} or so steps, so the "
            "updates fit a handful of transitions again and again.",
            f"Set replay_buffer_config['capacity'] far above the batch (RLlib's default is "
            f"{type(config)().replay_buffer_config.get('capacity')}), or lower "
            "train_batch_size_per_learner" + (" or num_learners." if learners > 1 else "."),
            {"capacity": capacity, "train_batch": batch, "buffer": kind,
             "num_learners": learners}))
    n_step = config.n_step  # a (low, high) range is drawn from again at each skip
    shortest = min(n_step) if isinstance(n_step, (list, tuple)) and n_step else n_step
    if prioritized and _number(shortest) and step_limit is not None and \
            shortest > step_limit:
        traps.append(Trap(
            "n_step_longer_than_episodes", "error",
            f"n_step={n_step}, but no episode of this env lasts more than {step_limit} steps "
            f"(its time limit): {kind} samples a step only where n_step steps follow it "
            "in its episode, so the first update waits for ever and algo.train() never "
            "returns, without a word.",
            f"Set config.training(n_step=...) to at most {step_limit} (1-5 is usual).",
            {"n_step": str(n_step), "max_episode_steps": step_limit}))
    tau = getattr(config, "tau", None)
    if _number(tau) and not 0 < tau <= 1:
        traps.append(Trap(
            "target_never_moves" if tau == 0 else "setting_out_of_range", "error",
            f"tau={tau}: RLlib updates the target network as tau * online + (1 - tau) * "
            "target, " + ("so at 0 it keeps its initial weights for the whole run (the "
                          "target updates are counted all the same)." if tau == 0 else
                          "which outside [0, 1] is no average: the target grows apart from "
                          "the online network."),
            f"Set config.training(tau=...) in (0, 1] ({type(config).__name__}'s default is "
            f"{type(config)().tau}).",
            {"setting": "tau", "value": tau}))
    return traps


def _target_entropy(config, spaces: dict) -> list[Trap]:
    """SAC's ``target_entropy`` above the most entropy its policy can have: RLlib 2.60's
    new stack measures a Box policy's entropy on its tanh-squashed actions in [-1, 1]
    (at most log 2 per dimension, a uniform's) and a Discrete one's on its n actions (at
    most log n). Alpha's loss then pushes alpha up at every update, without end."""
    import gymnasium as gym
    import numpy as np
    from ray.rllib.algorithms.sac import SACConfig

    target = getattr(config, "target_entropy", None)
    if not isinstance(config, SACConfig) or not _is_new_stack(config) or not _number(target):
        return []
    for agent, (_, action_space) in spaces.items():
        if isinstance(action_space, gym.spaces.Box):
            most = int(np.prod(action_space.shape)) * math.log(2)
            why = (f"its {int(np.prod(action_space.shape))}-dimensional actions, squashed to "
                   "[-1, 1], have at most log 2 per dimension (a uniform's)")
        elif isinstance(action_space, gym.spaces.Discrete):
            most = math.log(action_space.n)
            why = f"its {action_space.n} actions have at most log {action_space.n}"
        else:
            continue
        if target >= most:
            return [Trap(
                "target_entropy_unreachable", "error",
                f"target_entropy={target} is more entropy than SAC's policy can have: {why}"
                f" = {most:.3g}. Alpha's loss pushes alpha up at every update, without end, "
                "until the entropy bonus drowns the rewards.",
                "Leave config.training(target_entropy='auto') (minus the number of action "
                f"dimensions), or set it below {most:.3g}.",
                {"target_entropy": target, "most_entropy": round(most, 4),
                 "agent": str(agent), "action_space": str(action_space)})]
    return []


def _loss_weights(config) -> list[Trap]:
    """The policy-gradient losses' weights that turn a term around or switch it off:
    PPO's ``vf_clip_param`` at or below 0 (RLlib clamps the squared value error to [0,
    vf_clip_param]: the critic gets no gradient at all), a negative ``vf_loss_coeff`` (the
    critic climbs its loss; at 0 it never learns: a warning) or ``entropy_coeff`` (the policy is paid to lose its
    entropy)."""
    from ray.rllib.algorithms.impala import IMPALAConfig
    from ray.rllib.algorithms.ppo import PPOConfig

    if not isinstance(config, (PPOConfig, IMPALAConfig)):  # APPO is an IMPALAConfig
        return []
    traps = []
    vf_clip = getattr(config, "vf_clip_param", None)
    if isinstance(config, PPOConfig) and getattr(config, "use_critic", True) and \
            _number(vf_clip) and vf_clip <= 0:
        traps.append(Trap(
            "setting_out_of_range", "error",
            f"vf_clip_param={vf_clip}: PPO clamps each squared value error to [0, "
            "vf_clip_param], here to 0, so the value function gets no gradient and never "
            "learns; the advantages use its initial guesses. RLlib trains with it "
            "regardless.",
            f"Set config.training(vf_clip_param=...) above the squared scale of your returns "
            f"(PPOConfig's default is {PPOConfig().vf_clip_param}; float('inf') clips "
            "nothing).",
            {"setting": "vf_clip_param", "value": vf_clip}))
    vf_coeff = getattr(config, "vf_loss_coeff", None)
    if _number(vf_coeff) and vf_coeff < 0:
        traps.append(Trap(
            "setting_out_of_range", "error",
            f"vf_loss_coeff={vf_coeff}: the value loss enters the total loss with a "
            "negative weight, so each update makes the value function worse. RLlib trains "
            "with it regardless.",
            f"Set config.training(vf_loss_coeff=...) above 0 ({type(config).__name__}'s "
            f"default is {type(config)().vf_loss_coeff}).",
            {"setting": "vf_loss_coeff", "value": vf_coeff}))
    elif _number(vf_coeff) and vf_coeff == 0 and getattr(config, "use_critic", True):
        traps.append(Trap(
            "setting_out_of_range", "warning",
            "vf_loss_coeff=0: the value loss has no weight, so the value function never "
            "learns and the advantages use its initial guesses.",
            f"Set config.training(vf_loss_coeff=...) above 0 ({type(config).__name__}'s "
            f"default is {type(config)().vf_loss_coeff})"
            + ("; or use_critic=False if no value function is meant."
               if isinstance(config, PPOConfig) else "."),
            {"setting": "vf_loss_coeff", "value": vf_coeff}))
    entropy = getattr(config, "entropy_coeff", None)
    if any(rate < 0 for rate in schedule_values(entropy)):
        traps.append(Trap(
            "setting_out_of_range", "warning",
            f"entropy_coeff={entropy}: a negative weight pays the policy for losing its "
            "entropy, so it turns deterministic early and stops exploring.",
            "Set config.training(entropy_coeff=...) to 0 or above (0-0.01 is usual).",
            {"setting": "entropy_coeff", "value": str(entropy)}))
    return traps


def _circular_buffer(config) -> list[Trap]:
    """New-stack APPO's circular buffer (``appo/utils.py`` ``CircularBuffer``) is a deque
    of ``circular_buffer_num_batches * circular_buffer_iterations_per_batch`` entries: of
    0 its first ``put`` reads ``self._buffer[0]`` of an empty deque; of a negative size
    the Learner cannot build it; with both negative it holds entries, ``put`` adds none
    (it appends ``iterations_per_batch`` times) and ``get`` waits for ever."""
    from ray.rllib.algorithms.appo import APPOConfig

    if not isinstance(config, APPOConfig) or not _is_new_stack(config) or \
            not getattr(config, "use_circular_buffer", False):
        return []
    traps = []
    sizes = {name: getattr(config, name, None) for name in (
        "circular_buffer_num_batches", "circular_buffer_iterations_per_batch")}
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in sizes.values()):
        return []
    if all(value >= 1 for value in sizes.values()):
        return []
    entries = math.prod(sizes.values())
    defaults = APPOConfig()
    for name, value in sizes.items():
        if value < 1:
            fails = ("the Learner's first put() fails with \"IndexError: deque index out of "
                     "range\"" if entries == 0 else
                     "building the Learner fails with \"ValueError: maxlen must be "
                     "non-negative\"" if entries < 0 else
                     "put() adds nothing to it and the Learner waits for a batch for ever")
            traps.append(Trap(
                "setting_out_of_range", "error",
                f"{name}={value}: APPO's circular buffer holds circular_buffer_num_batches x "
                f"circular_buffer_iterations_per_batch = {entries} entries, each batch put "
                f"circular_buffer_iterations_per_batch times, so {fails} (appo/utils.py), "
                "which does not name the setting.",
                f"Set config.training({name}=...) to 1 or more (APPO's defaults: "
                f"{defaults.circular_buffer_num_batches} batches, each used "
                f"{defaults.circular_buffer_iterations_per_batch} times), or "
                "use_circular_buffer=False.",
                {"setting": name, "value": value}))
    return traps


def _ranges(config) -> list[Trap]:
    """Settings outside what they mean (RLlib 2.60 builds and trains with them)."""
    traps = []
    gamma = getattr(config, "gamma", None)
    if _number(gamma) and not 0.0 <= gamma <= 1.0:
        traps.append(Trap(
            "setting_out_of_range", "error",
            f"gamma={gamma} is outside [0, 1]: returns discounted by it grow without bound "
            "(above 1) or flip sign (below 0); RLlib trains with it regardless.",
            "Set config.training(gamma=...) in [0, 1] (0.99 is RLlib's default).",
            {"setting": "gamma", "value": gamma}))
    traps += _learning_rates(config)
    grad_clip = getattr(config, "grad_clip", None)
    if _number(grad_clip) and grad_clip < 0:
        by = getattr(config, "grad_clip_by", "global_norm")
        traps.append(Trap(
            "setting_out_of_range", "error",
            f"grad_clip={grad_clip} (grad_clip_by={by!r}): RLlib clips with it as given, "
            + ("and torch.clip(g, -grad_clip, grad_clip) with its bounds swapped sets every "
               "gradient to grad_clip" if by == "value" else
               "and scaling by a negative norm turns every gradient around: each update "
               "climbs the loss" if by == "global_norm" else
               "and scaling each gradient to a negative norm turns it around: each update "
               "climbs the loss") + "; RLlib trains with it regardless.",
            "Set config.training(grad_clip=...) above 0 (e.g. 40 or 0.5), or None for no "
            "clipping.",
            {"setting": "grad_clip", "value": grad_clip}))
    traps += _loss_weights(config)
    clip = getattr(config, "clip_param", None)
    if _number(clip) and clip < 0:
        traps.append(Trap(
            "setting_out_of_range", "error",
            f"clip_param={clip}: PPO clips the probability ratio to [1 - clip_param, "
            "1 + clip_param], which a negative value turns inside out (torch.clamp then "
            "returns the upper bound for every ratio), so the surrogate loss no longer "
            "follows the advantages; RLlib trains with it regardless.",
            f"Set config.training(clip_param=...) above 0 (0.1-0.3; "
            f"{type(config).__name__}'s default is {type(config)().clip_param}).",
            {"setting": "clip_param", "value": clip}))
    lambda_ = getattr(config, "lambda_", None) if _estimates_gae(config) else None
    if _number(lambda_) and not 0.0 <= lambda_ <= 1.0:
        traps.append(Trap(
            "setting_out_of_range", "error",
            f"lambda_={lambda_} is outside [0, 1]: GAE weighs the k-step returns by "
            "lambda_**k, so the advantages grow with the episode's length (above 1) or "
            "flip sign at every step (below 0); RLlib trains with it regardless.",
            "Set config.training(lambda_=...) in [0, 1] (0.95-1.0; RLlib's default is 1.0).",
            {"setting": "lambda_", "value": lambda_}))
    epochs = getattr(config, "num_epochs", None)
    if _is_new_stack(config) and isinstance(epochs, int) and \
            not isinstance(epochs, bool) and epochs < 1:
        traps.append(Trap(
            "setting_out_of_range", "error",
            f"num_epochs={epochs}: each update passes over the train batch num_epochs "
            "times, so it makes no minibatch; RLlib builds the Algorithm, then its first "
            "update fails with UnboundLocalError: 'loss_per_module' (Learner.update), "
            "which does not name the setting.",
            "Set config.training(num_epochs=...) to 1 or more (PPO's default is 30).",
            {"setting": "num_epochs", "value": epochs}))
    traps += _circular_buffer(config)
    batch_name = "train_batch_size_per_learner" if _is_new_stack(config) else "train_batch_size"
    for name, value in ((batch_name, _train_batch(config)),
                        ("minibatch_size", getattr(config, "minibatch_size", None))):
        if isinstance(value, int) and not isinstance(value, bool) and value < 1:
            traps.append(Trap(
                "setting_out_of_range", "error",
                f"{name}={value}: a batch holds at least one timestep.",
                f"Set config.training({name}=...) to a positive number of timesteps (e.g. "
                f"{4000 if name != 'minibatch_size' else 128}).",
                {"setting": name, "value": value}))
    return traps


def _validated(config) -> list[Trap]:
    """What RLlib's own ``AlgorithmConfig.validate()`` refuses, which building the
    Algorithm runs (a batch its fragments cannot make, an lr schedule's format): the
    traps above name the common ones with their fix; this says the rest before a run is
    started, in RLlib's words."""
    import re

    try:
        config.copy(copy_frozen=False).validate()
    except (ValueError, TypeError, KeyError) as err:
        text = " ".join(str(err).split())
        # RLlib's own advice ("Try setting `rollout_fragment_length` to 'auto' OR ..."),
        # without its way around every check ("To suppress all validation errors, ...")
        advice = [sentence for sentence in re.split(r"(?<=[.!])\s+", text)
                  if re.match(r"(Try|Set|Use|Please set|You (can|must|should))\b", sentence)
                  and "_validate_config" not in sentence]
        return [Trap(
            "rllib_refuses", "error",
            f"RLlib 2.60 refuses this config when it builds the Algorithm "
            f"(AlgorithmConfig.validate): {text[:600]}",
            " ".join(advice) if advice else
            "Change the setting RLlib's message names to a value it says it accepts.",
            {"error": type(err).__name__})]
    return []


def mapping_call_problem(config) -> str | None:
    """How RLlib 2.60 calls the config's ``policy_mapping_fn`` — ``(agent_id, episode)``
    on the new stack, ``(agent_id, episode, worker=...)`` on the old — and why that
    call would fail for its signature (a 2021 ``policy_mapping_fn(agent)``); None when
    it would not."""
    from rldebug.usage import cannot_be_called

    function = getattr(config, "policy_mapping_fn", None)
    if not callable(function):
        return None
    old_stack = not config.enable_env_runner_and_connector_v2
    problem = cannot_be_called(function, "agent_id", None,
                               **({"worker": None} if old_stack else {}))
    if problem is None:
        return None
    call = "(agent_id, episode, worker=worker)" if old_stack else "(agent_id, episode)"
    return (f"RLlib 2.60 calls policy_mapping_fn{call}; {problem[0]} cannot be called so "
            f"({problem[1]}), so sampling fails with a TypeError as soon as it starts (the "
            "first env reset maps the agents)")


def _policies_to_train_call(config) -> list[Trap]:
    """A ``policies_to_train`` function RLlib 2.60 cannot call as it does, ``(module_id,
    batch)`` on both stacks (``Learner.should_module_be_updated``, the old stack's
    ``is_policy_to_train``): the first update raises TypeError."""
    from rldebug.usage import cannot_be_called

    function = getattr(config, "policies_to_train", None)
    if not callable(function):
        return []
    problem = cannot_be_called(function, "module_id", None)
    if problem is None:
        return []
    return [Trap(
        "policies_to_train_signature", "error",
        f"RLlib 2.60 calls policies_to_train(module_id, batch) when it decides which "
        f"modules to update; {problem[0]} cannot be called so ({problem[1]}), so the first "
        "update fails with a TypeError.",
        "Take the batch too: lambda module_id, batch=None: module_id in {...} (or pass "
        "the module ids as a list: policies_to_train=[...]).",
        {"signature": problem[0]})]


def _policies_for(config, env) -> list[Trap]:
    """A multi-agent env with a config that names no policies: RLlib 2.60's new stack
    samples it as one agent and fails in gymnasium's vector env ("Output array has wrong
    dimensionality"); 2021 RLlib trained one shared policy."""
    from ray.rllib.env.multi_agent_env import MultiAgentEnv

    if config.is_multi_agent or not config.enable_env_runner_and_connector_v2 or \
            not isinstance(getattr(env, "unwrapped", env), MultiAgentEnv):
        return []
    return [Trap(
        "multi_agent_env_without_policies", "error",
        f"{type(getattr(env, 'unwrapped', env)).__name__} is a multi-agent env, but the config "
        "names no policies: RLlib 2.60 samples it as a single-agent env, and sampling fails "
        "(gymnasium's vector env: 'Output array has wrong dimensionality').",
        "Name them: config.multi_agent(policies={'shared'}, policy_mapping_fn="
        "lambda agent_id, *args, **kwargs: 'shared') for one shared policy, as 2021 RLlib "
        "trained it (any id but 'default_policy', which RLlib takes for one agent; rldebug "
        "debug does so).", {})]


def _mapping(config, agents: list, spaces: dict) -> list[Trap]:
    """The policy mapping fn, asked as RLlib asks it: a signature RLlib cannot call,
    agents sent to modules the config lacks, and (:func:`_mapped_spaces`) agents of
    different observation spaces sent to one module."""
    if not config.is_multi_agent:
        return []
    modules = set(config.policies)
    function = config.policy_mapping_fn
    problem = mapping_call_problem(config)
    if problem:
        return [Trap("mapping_signature", "error", problem + ".",
                     "Take the episode and any keywords too: def policy_mapping_fn(agent_id, "
                     "episode=None, **kwargs) (rldebug debug adapts a 2021 one).",
                     {"signature": problem})]
    from rldebug.shapes.mapping import agent_modules

    answers, error = agent_modules(function, agents,
                                   old_stack=not config.enable_env_runner_and_connector_v2)
    traps = []
    if error:
        failed = next(a for a in agents if a not in answers)
        traps.append(Trap(
            "unknown_module", "warning",
            f"{error[0].upper()}{error[1:]}; preflight could not check its result.", "",
            {"agent": str(failed)}))
    for agent, picked in answers.items():
        for module in picked:
            if module in modules:
                continue
            traps.append(Trap(
                "unknown_module", "error",
                f"policy_mapping_fn maps agent {agent!r} to {module!r}"
                f"{' (in some episodes)' if len(picked) > 1 else ''}, which is not one of "
                f"the config's modules {sorted(map(str, modules))}: sampling fails the first "
                "time that agent acts"
                + (": no module gives it an action, so env.step() gets none for it (an env "
                   "that reads action_dict[agent_id] raises KeyError; RLlib's "
                   "make_multi_agent envs raise \"ValueError: The environment is expecting "
                   "an action for at least one agent\"; an env that steps on without it "
                   "fails in RLlib's MultiAgentEpisode.add_env_step with a bare "
                   "AssertionError)." if _is_new_stack(config) else "."),
                f"Return one of {sorted(map(str, modules))} for {agent!r}, or add {module!r} to "
                "config.multi_agent(policies=...).",
                {"agent": str(agent), "module": str(module), "modules": sorted(map(str, modules))}))
    return traps + _mapped_spaces(modules, answers, spaces)


def _space_size(space) -> Any:
    """What a module's input layer is sized from: the flattened size where gymnasium can
    say it, else the space itself (compared by equality)."""
    from gymnasium.spaces import flatdim

    try:
        return flatdim(space)
    except (NotImplementedError, ValueError, TypeError):
        return space


def _mapped_spaces(modules: set, answers: dict, spaces: dict) -> list[Trap]:
    """Agents of different observation spaces that the policy mapping fn sends to one
    module. Asked once per agent (as RLlib asks it when it builds the modules' spaces: the
    new stack's ``AgentToModuleMapping`` with a fresh episode, the old stack's
    ``get_multi_agent_setup`` with None), RLlib refuses them at build ("Two agents ...
    map to the same ... different observation spaces"). A function that reads the episode
    can send another agent there later (:func:`~rldebug.shapes.mapping.agent_modules`
    asks it 64 times then): a module built for one width then gets another's observations,
    and training fails there (RLlib's default network: "mat1 and mat2 shapes cannot be
    multiplied"; a module without one, in the Learner's batch). Spaces of one flat size
    are swapped without a failure; action spaces are not judged (RLlib trains with a
    module that hands an agent actions of another's space). ``answers``: each agent's
    modules as :func:`_mapping` asked the function."""
    if not spaces:
        return []
    served: dict[str, list] = {}
    for agent, picked in answers.items():
        for module in picked:
            if module in modules and agent in spaces:  # else unknown_module says it
                served.setdefault(module, []).append(agent)
    traps = []
    for module, mapped in sorted(served.items(), key=lambda item: str(item[0])):
        observed = {a: spaces[a][0] for a in mapped}
        always = all(len(answers[a]) == 1 for a in mapped)
        if always and all(space == observed[mapped[0]] for space in observed.values()):
            continue
        if not always and len({repr(_space_size(space)) for space in observed.values()}) < 2:
            continue
        shown = ", ".join(f"{a!r} {space}" for a, space in observed.items())
        what = ("RLlib refuses to build it (\"ValueError: Two agents ... map to the same "
                "ModuleID ... different observation spaces\")." if always else
                "in some episodes: RLlib builds the module for the spaces it sees when it "
                "asks the function once at build, and training fails the first time "
                "another agent's observations reach it (RLlib's default network: \"mat1 "
                "and mat2 shapes cannot be multiplied\"; a module without one fails in "
                "the Learner's batch).")
        traps.append(Trap(
            "mapping_mixes_spaces", "error",
            f"policy_mapping_fn sends agents of different observation spaces to module "
            f"{module!r} ({shown}){':' if always else ''} {what}",
            "Map each agent to a module built for its own observation space"
            + (" (one module per space, or a wrapper that gives every agent one space)."
               if always else " in every episode (a mapping that swaps modules between "
               "episodes can only swap agents whose observations have the same size)."),
            {"module": str(module), "in_every_episode": always,
             "agents": {str(a): str(space) for a, space in observed.items()}}))
    return traps


def _shared_spaces(config, env) -> list[Trap]:
    """A multi-agent env with one space for every agent, which the new stack's vector
    env cannot read (:func:`~rldebug.shapes.env_meta.shared_space_attributes`)."""
    from rldebug.shapes.env_meta import shared_space_attributes, shared_space_text

    shared = shared_space_attributes(env) if config.enable_env_runner_and_connector_v2 else []
    if not shared:
        return []
    return [Trap("agent_spaces_shared", "error", *shared_space_text(env, shared),
                 {"attributes": [name for name, _ in shared]})]


# What RLlib 2.60 passes each callback, by keyword (``make_callback(..., kwargs=...)``):
# the Algorithm's on either stack (algorithms/algorithm.py), the EnvRunners' on the new
# one (env/single_agent_env_runner.py, env/multi_agent_env_runner.py).
_EPISODE_CALL = ("episode", "env_runner", "metrics_logger", "env", "rl_module", "env_index")
_ALGORITHM_CALLS = {
    "on_algorithm_init": ("algorithm", "metrics_logger"),
    "on_train_result": ("algorithm", "metrics_logger", "result"),
    "on_evaluate_start": ("algorithm", "metrics_logger"),
    "on_evaluate_end": ("algorithm", "metrics_logger", "evaluation_metrics"),
    "on_checkpoint_loaded": ("algorithm",),
}
_ENV_RUNNER_CALLS = {
    "on_environment_created": ("env_runner", "metrics_logger", "env", "env_context"),
    "on_episode_created": _EPISODE_CALL,
    "on_episode_start": _EPISODE_CALL,
    "on_episode_step": _EPISODE_CALL,
    "on_episode_end": (*_EPISODE_CALL, "prev_episode_chunks"),
    "on_sample_end": ("env_runner", "metrics_logger", "samples"),
}
# The old API stack's names (2021 tutorials): RLlib 2.60's new stack passes none of them
_OLD_STACK_ARGUMENTS = ("worker", "base_env", "policies", "trainer")
# When RLlib first calls each hook: where a callback it cannot call raises
_FIRST_CALLED = {"on_episode_end": "at the first episode's end",
                 "on_episode_step": "at the first env step",
                 "on_episode_start": "at the first episode's start",
                 "on_episode_created": "when the first episode is made",
                 "on_sample_end": "at the end of the first sample",
                 "on_environment_created": "when the first EnvRunner makes its env",
                 "on_train_result": "after the first iteration"}


def _refuses(function, passed: tuple[str, ...], method: bool) -> tuple[str, list] | None:
    """Why calling ``function`` with ``passed`` (by keyword) raises TypeError, with its
    parameters' names; None when it takes them (or its signature cannot be read)."""
    import inspect

    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return None
    try:
        signature.bind(*([None] if method else []), **dict.fromkeys(passed))
    except TypeError as err:
        return str(err), list(signature.parameters)
    return None


def _callback_classes(config) -> list:
    """The callback classes RLlib instantiates (``callbacks_class``: one, or a list; a
    ``functools.partial`` of one), outside ``ray.rllib``."""
    import inspect

    given = config.callbacks_class if isinstance(config.callbacks_class, (list, tuple)) \
        else [config.callbacks_class]
    classes = [getattr(c, "func", c) for c in given]
    return [c for c in classes if inspect.isclass(c)]


def _callbacks(config) -> list[Trap]:
    """A callback RLlib 2.60 cannot call: a method of ``callbacks_class`` (written outside
    ``ray.rllib``) or a function given to ``config.callbacks(on_...=)`` that cannot take
    the keywords RLlib passes it. A 2021 class's ``on_episode_end(self, *, worker,
    base_env, policies, episode, ...)`` on the new stack raises TypeError at the first
    episode's end, deep in an EnvRunner."""
    calls = dict(_ALGORITHM_CALLS, **(_ENV_RUNNER_CALLS if _is_new_stack(config) else {}))
    found = []  # (where, hook, (why, its parameters' names))
    for cls in _callback_classes(config):
        for hook, passed in calls.items():
            owner = next((c for c in cls.__mro__ if hook in vars(c)), None)
            if owner is None or owner.__module__.startswith("ray.rllib"):
                continue
            static = isinstance(vars(owner)[hook], staticmethod)
            refused = _refuses(getattr(cls, hook), passed, method=not static)
            if refused:
                found.append((f"{cls.__name__}.{hook}", hook, refused))
    for hook, passed in calls.items():
        given = getattr(config, f"callbacks_{hook}", None)
        for function in given if isinstance(given, (list, tuple)) else [given]:
            if callable(function) and (refused := _refuses(function, passed, method=False)):
                name = getattr(function, "__name__", "a function")
                found.append((f"config.callbacks({hook}={name})", hook, refused))
    traps = []
    for where, hook, (why, parameters) in found:
        passed = calls[hook]
        old = [p for p in parameters if p in _OLD_STACK_ARGUMENTS]
        when = _FIRST_CALLED.get(hook, "when RLlib first calls it")
        traps.append(Trap(
            "callback_signature", "error",
            f"{where} cannot take what RLlib 2.60 passes it ({', '.join(passed)}, by "
            f"keyword): it raises TypeError {when} ({why})"
            + (f"; {', '.join(old)} are the old API stack's arguments" if old else "") + ".",
            f"Take RLlib 2.60's keywords: def {hook}(self, *, {', '.join(passed)}, **kwargs)"
            + (" (episode.custom_metrics becomes metrics_logger.log_value(...)); "
               "`rldebug debug SCRIPT` runs a 2021 callbacks class through an adapter, or "
               "train on the old stack: config.api_stack(enable_rl_module_and_learner=False,"
               " enable_env_runner_and_connector_v2=False)" if old else "")
            + ".",
            {"callback": where, "passed": list(passed), "error": why}))
    return traps


def _policy_spec_configs(config) -> dict:
    """Each module's ``PolicySpec(config=...)`` that sets something."""
    policies = config.policies if isinstance(config.policies, dict) else {}
    return {module: spec.config for module, spec in policies.items()
            if getattr(spec, "config", None)}


def _ignored_by_this_stack(config) -> list[Trap]:
    """Settings the config holds that its API stack never reads (RLlib 2.60 keeps them
    without a word): on the new stack ``clip_rewards`` (the old stack's RolloutWorker
    clips), ``observation_filter`` (the old stack's
    ``MeanStdFilter``; algorithm.py syncs filters on old-stack paths only), SAC's
    ``optimization_config`` (its Learner reads ``actor_lr``, ``critic_lr``, ``alpha_lr``)
    ``PolicySpec(config=...)`` (``get_config_for_module`` reads only
    ``algorithm_config_overrides_per_module``) and DQN's ``noisy`` (its RLModule builds
    plain layers: the noisy nets are the old stack's ModelV2); on the old stack
    ``rl_module(model_config=...)`` (its policies build a ModelV2 from ``model``)."""
    from ray.rllib.algorithms.dqn import DQNConfig
    from ray.rllib.algorithms.sac import SACConfig

    traps = []
    if config.enable_env_runner_and_connector_v2 and config.clip_rewards not in (None, False):
        traps.append(Trap(
            "setting_ignored", "warning",
            f"clip_rewards={config.clip_rewards!r} is read only by the old API stack's "
            "RolloutWorkers: the new stack's EnvRunners hand the Learner the env's rewards "
            "unclipped.",
            "Clip them in the env or a wrapper where you make it: "
            "gymnasium.wrappers.ClipReward(env, -1.0, 1.0) (or scale them to O(1)).",
            {"setting": "clip_rewards", "value": str(config.clip_rewards)}))
    if _is_new_stack(config):
        if config.observation_filter not in (None, "NoFilter"):
            traps.append(Trap(
                "setting_ignored", "warning",
                f"observation_filter={config.observation_filter!r} is the old API stack's: "
                "the new stack never applies it, so the module sees the raw observations.",
                "Add the filter as a connector: from ray.rllib.connectors.env_to_module."
                "mean_std_filter import MeanStdFilter; config.env_runners("
                "env_to_module_connector=lambda env, spaces, device: MeanStdFilter("
                f"multi_agent={bool(config.is_multi_agent)}))",
                {"setting": "observation_filter", "value": str(config.observation_filter)}))
        if isinstance(config, SACConfig) and \
                config.optimization != type(config)().optimization:
            used = {name: getattr(config, name, None) for name in _SAC_RATES}
            traps.append(Trap(
                "setting_ignored", "warning",
                f"optimization_config={config.optimization!r} is the old API stack's: the "
                "new stack's SAC Learner reads actor_lr, critic_lr and alpha_lr, so it "
                f"trains with {', '.join(f'{k}={v:g}' for k, v in used.items())}.",
                "Set the rates where the new stack reads them: config.training(actor_lr=..., "
                "critic_lr=..., alpha_lr=...).",
                {"setting": "optimization_config", "used": used}))
        if isinstance(config, DQNConfig) and config.noisy:
            traps.append(Trap(
                "setting_ignored", "warning",
                "noisy=True is the old API stack's: the new stack's DQN RLModule builds "
                "plain layers, so no parameter noise explores; exploration is "
                f"epsilon-greedy only (epsilon={config.epsilon!r}).",
                "Explore through epsilon (config.training(epsilon=[[0, 1.0], [10000, "
                "0.05]])), or build noisy layers in an RLModule of your own; remove "
                "noisy=True.",
                {"setting": "noisy", "epsilon": config.epsilon}))
        specs = _policy_spec_configs(config) if config.is_multi_agent else {}
        if specs:
            traps.append(Trap(
                "setting_ignored", "warning",
                f"PolicySpec(config=...) of {', '.join(map(repr, specs))} "
                f"({'; '.join(f'{m}: {c!r}' for m, c in specs.items())}) is the old API "
                "stack's: the new stack builds each module's config from "
                "algorithm_config_overrides_per_module only, so these modules train with "
                "the main config's settings.",
                "Give the overrides to the new stack: config.rl_module("
                "algorithm_config_overrides_per_module={"
                + ", ".join(f"{m!r}: {type(config).__name__}.overrides(...)" for m in specs)
                + "}); to keep a module from training, leave it out of "
                "config.multi_agent(policies_to_train=[...]).",
                {"setting": "PolicySpec.config", "modules": sorted(map(str, specs))}))
    elif config._model_config:
        given = config._model_config if isinstance(config._model_config, dict) else \
            vars(config._model_config)
        traps.append(Trap(
            "setting_ignored", "warning",
            "rl_module(model_config=...) is the new API stack's: the old stack's policies "
            "build their network from training(model={...}), so "
            f"{'an LSTM is not built' if given.get('use_lstm') else 'these settings are not used'}"
            f" (model: fcnet_hiddens={config.model.get('fcnet_hiddens')}, use_lstm="
            f"{config.model.get('use_lstm')}).",
            "On the old stack give the network's settings as config.training(model={"
            "'fcnet_hiddens': [...], 'use_lstm': ...}).",
            {"setting": "model_config"}))
    return traps


def _old_replay_buffer(config) -> list[Trap]:
    """New-stack DQN with an old-stack replay buffer named by string (RLlib 2.60's
    ``DQNConfig.validate`` checks a class, not a name): the buffer is built, the first
    training step adds episodes to it and raises AttributeError."""
    from ray.rllib.algorithms.dqn import DQNConfig
    from ray.rllib.algorithms.sac import SACConfig

    kind, _ = _replay_buffer(config)
    settings = getattr(config, "replay_buffer_config", None) or {}
    if not _is_new_stack(config) or not isinstance(config, DQNConfig) or \
            isinstance(config, SACConfig) or not isinstance(settings.get("type"), str) or \
            "Episode" in kind:
        return []
    return [Trap(
        "replay_buffer_old_stack", "error",
        f"replay_buffer_config type {kind!r} is an old API stack buffer: the new stack's DQN "
        "adds episodes to it, and the first training step raises \"AttributeError: 'list' "
        "object has no attribute 'as_multi_agent'\" (RLlib checks a buffer class, not a "
        "name).",
        "Use an episode buffer: replay_buffer_config={'type': "
        "'PrioritizedEpisodeReplayBuffer', 'capacity': ..., 'alpha': 0.6, 'beta': 0.4} (or "
        "'EpisodeReplayBuffer'), or train on the old stack.",
        {"type": kind})]


def _episode_buffer_settings(config) -> list[Trap]:
    """New-stack DQN's and SAC's episode replay buffer settings RLlib 2.60 builds and then
    crashes on at the first sample from the buffer (``DQN._training_step_new_api_stack``):
    a single-agent buffer in a multi-agent config (``MultiAgentEpisode.get_rewards`` is
    handed a slice: "TypeError: unhashable type: 'slice'"), and a prioritized buffer
    without ``beta``, which DQN passes to ``sample`` as None ("TypeError: '>=' not
    supported between instances of 'NoneType' and 'float'"): ``training(
    replay_buffer_config=...)`` replaces the whole dict, defaults included, when its
    ``type`` changes."""
    kind = _new_stack_replay_kind(config)
    if kind is None or "Episode" not in kind:
        return []
    settings = config.replay_buffer_config or {}
    traps = []
    if config.is_multi_agent and not kind.startswith("MultiAgent"):
        traps.append(Trap(
            "replay_buffer_single_agent", "error",
            f"replay_buffer_config type {kind!r} holds single-agent episodes, and the config "
            "is multi-agent: the first sample from it raises \"TypeError: unhashable type: "
            "'slice'\" (RLlib does not pick a multi-agent buffer for you).",
            f"config.training(replay_buffer_config={{'type': 'MultiAgent{kind}', "
            "'capacity': ..., 'alpha': 0.6, 'beta': 0.4}) (without alpha and beta for "
            "'MultiAgentEpisodeReplayBuffer').",
            {"type": kind}))
    if "Prioritized" in kind and settings.get("beta") is None:
        traps.append(Trap(
            "replay_buffer_without_beta", "error",
            f"replay_buffer_config type {kind!r} is prioritized and its config has no "
            "'beta' (training(replay_buffer_config=...) replaced RLlib's whole default when "
            "the type changed): DQN samples it with beta=None, and the first sample raises "
            "\"TypeError: '>=' not supported between instances of 'NoneType' and "
            "'float'\".",
            "Give the buffer its exponents: replay_buffer_config={'type': "
            f"{kind!r}, 'capacity': ..., 'alpha': 0.6, 'beta': 0.4}} (RLlib's defaults).",
            {"type": kind}))
    return traps


def _checkpoint_int_agent_ids(config, agents: list) -> list[Trap]:
    """Multi-agent DQN/SAC (new stack) on an env whose agent ids are not strings: the
    replay buffer's metrics are keyed by agent id, and ``MetricsLogger.get_state`` joins
    each key path with "--", so every checkpoint (``algo.save_to_path``, Tune's, rldebug
    run's) raises TypeError; training itself runs."""
    kind = _new_stack_replay_kind(config)
    others = sorted({type(a).__name__ for a in agents if not isinstance(a, str)})
    if kind is None or not config.is_multi_agent or not kind.startswith("MultiAgent") or \
            not others:
        return []
    return [Trap(
        "checkpoint_int_agent_ids", "warning",
        f"The env's agent ids are {' and '.join(others)}, not strings ({agents[:4]!r}): the "
        "replay buffer's metrics are keyed by them, and saving a checkpoint raises "
        "\"TypeError: sequence item 2: expected str instance, int found\" (in RLlib's "
        "MetricsLogger.get_state); training runs, but no checkpoint of it can be written.",
        "Give the agents string ids in the env (e.g. f'agent_{i}'), or train without "
        "checkpoints.",
        {"agent_id_types": others})]


def _appo_target_period(config) -> list[Trap]:
    """APPO's ``target_network_update_freq`` at or above the train batch: RLlib 2.60
    counts it in units of ``circular_buffer_num_batches`` x
    ``circular_buffer_iterations_per_batch`` x the train batch of env steps trained
    (``APPOLearner.after_gradient_based_update``; its default is 2), so a value that large
    reads as env steps (DQN's unit) and the target network, APPO's old policy, moves
    once in millions of steps."""
    from ray.rllib.algorithms.appo import APPOConfig

    freq, batch = getattr(config, "target_network_update_freq", None), _train_batch(config)
    if not isinstance(config, APPOConfig) or not _is_new_stack(config) or \
            not _number(freq) or not _number(batch) or freq < batch:
        return []
    unit = int(config.circular_buffer_num_batches * config.circular_buffer_iterations_per_batch
               * batch)
    default = type(config)().target_network_update_freq
    return [Trap(
        "target_update_period_units", "warning",
        f"target_network_update_freq={freq:g}: APPO counts it in units of "
        f"circular_buffer_num_batches x circular_buffer_iterations_per_batch x the train "
        f"batch ({unit} env steps trained here), so its target network (the old policy its "
        f"loss compares with) moves once every {freq * unit:,.0f} env steps trained. A value "
        "this large reads as env steps, DQN's unit.",
        f"Give it in APPO's unit: RLlib's default is {default} (every {default * unit:,} env "
        f"steps trained here); for one every N env steps, N / {unit}.",
        {"target_network_update_freq": freq, "unit_env_steps": unit,
         "period_env_steps": freq * unit})]


TARGET_LAG_STEPS = 20_000  # env steps; a hard copy every 8000 (Atari DQN's) is well inside


def _target_lag(config) -> list[Trap]:
    """DQN's or SAC's ``tau`` below 1 with a period above 1: both stacks move the target
    ``tau`` of the way to the Q-network once ``target_network_update_freq`` env steps have
    been sampled since the last move (``DQNLearner.after_gradient_based_update``;
    ``DQN.training_step`` on the old stack), so it follows with a lag of about
    ``freq / tau`` env steps. RLlib's defaults: DQN a full copy every 500, SAC 0.005 at
    every update."""
    from ray.rllib.algorithms.dqn import DQNConfig
    from ray.rllib.algorithms.sac import SACConfig

    tau = getattr(config, "tau", None)
    freq = getattr(config, "target_network_update_freq", None)
    if not isinstance(config, (DQNConfig, SACConfig)) or not _number(tau) or \
            not _number(freq) or not 0 < tau < 1 or freq <= 1:
        return []
    lag = freq / -math.log1p(-tau)  # env steps for the target to cover 63 % of a gap
    if lag < TARGET_LAG_STEPS:
        return []
    return [Trap(
        "target_barely_moves", "warning",
        f"tau={tau:g} with target_network_update_freq={freq:g}: RLlib moves the target "
        f"network {tau:.1%} of the way to the Q-network once every {freq:g} env steps "
        f"sampled, so it trails by about {lag:,.0f} env steps (63 % of a change reached). "
        "A Polyak tau is meant for an update every step, a period for a full copy.",
        f"For soft updates set target_network_update_freq=1 (SAC's default is 0: every "
        f"update) and keep tau={tau:g}; for a hard copy every {freq:g} env steps set "
        "tau=1.0 (DQN's default).",
        {"tau": tau, "target_network_update_freq": freq, "lag_env_steps": round(lag)})]


def _evaluation_never_runs(config) -> list[Trap]:
    """Evaluation EnvRunners without ``evaluation_interval``: RLlib builds them (each
    holds its CPUs) but ``train()`` evaluates on them only every ``evaluation_interval``
    iterations, never when it is None or 0 (``Algorithm.step``); RLlib's own warning is
    one logger line among the start-up's. Not judged where RLlib builds none (off-policy
    estimation on whole batches, ``Algorithm._should_create_evaluation_env_runners``)."""
    runners = config.evaluation_num_env_runners
    if not _number(runners) or runners < 1 or config.evaluation_interval or (
            config.off_policy_estimation_methods and not config.ope_split_batch_by_episode):
        return []
    offline = " (offline evaluation, by offline_evaluation_interval, still runs)" \
        if config.offline_evaluation_interval else ""
    return [Trap(
        "evaluation_never_runs", "warning",
        f"evaluation_num_env_runners={runners:g} with evaluation_interval="
        f"{config.evaluation_interval!r}: RLlib builds the evaluation EnvRunners (and "
        "holds their CPUs), but train() evaluates on them only every evaluation_interval "
        "iterations, so never: no result has their episodes under 'evaluation', and a "
        f"Tune metric or stop criterion on one is never reported{offline}.",
        "Evaluate every N iterations: config.evaluation(evaluation_interval=N); or, to "
        "evaluate only when you call algo.evaluate(), keep it and ignore this.",
        {"evaluation_num_env_runners": runners,
         "evaluation_interval": config.evaluation_interval})]


def _steps_before_first_update(config) -> int | None:
    """Env steps sampled before the first update: the train batch (on-policy), or
    ``num_steps_sampled_before_learning_starts`` (off-policy, at least one batch)."""
    batch = _train_batch(config)
    starts = getattr(config, "num_steps_sampled_before_learning_starts", None)
    if _number(starts):
        return int(starts)
    return int(batch) if _number(batch) else None


def _schedule_order(config) -> list[Trap]:
    """A ``[[timestep, value], ...]`` schedule whose timesteps do not rise: RLlib 2.60's
    ``Scheduler.validate`` checks only that an lr or entropy_coeff schedule starts at 0
    (nothing checks epsilon's), and its ``PiecewiseSchedule`` asserts they are sorted
    where it is built (the Learner; DQN's epsilon in the RLModule): a bare AssertionError
    (APPO's learner thread dies, and train() waits for it for good)."""
    if not _is_new_stack(config):
        return []
    traps = []
    for name in ("lr", "entropy_coeff", "epsilon"):
        setting = getattr(config, name, None)
        steps = schedule_timesteps(setting)
        if not steps or steps == sorted(steps) or (steps[0] != 0 and name != "epsilon"):
            continue  # validate() refuses an lr/entropy_coeff schedule not starting at 0
        where = ("when the RLModule builds it (DQN's EnvRunners and Learner), a bare "
                 "AssertionError" if name == "epsilon" else
                 "when the Learner builds it, a bare AssertionError (under APPO and IMPALA "
                 "the learner thread dies, and train() waits for it for good)")
        traps.append(Trap(
            "schedule_unsorted", "error",
            f"{name}={[list(p) for p in setting]} is a schedule whose timesteps do not rise "
            f"({steps}): RLlib's PiecewiseSchedule asserts they are sorted {where}.",
            f"Order the pairs by timestep: {name}={sorted([list(p) for p in setting])}.",
            {"setting": name, "timesteps": steps}))
    return traps


def _schedules_over_early(config) -> list[Trap]:
    """A ``[[timestep, value], ...]`` schedule (``lr``, ``entropy_coeff``) that ends
    before the first update: RLlib 2.60 steps it by the env steps sampled so far
    (Learner.after_gradient_based_update, NUM_ENV_STEPS_SAMPLED_LIFETIME) and holds its
    last value after its end, so every update after the first uses that value (a
    schedule written in iterations reads so)."""
    first = _steps_before_first_update(config)
    if not _is_new_stack(config) or not first:
        return []
    traps = []
    for name in ("lr", "entropy_coeff"):
        setting = getattr(config, name, None)
        if not schedule_timesteps(setting) or not schedule_values(setting):
            continue
        end, last = setting[-1][0], setting[-1][1]
        if end > first:
            continue
        traps.append(Trap(
            "schedule_over_before_learning", "warning",
            f"{name}={[list(p) for p in setting]} is a schedule over sampled env steps: it "
            f"ends at step {end:g}, and the first update comes after {first} steps, so "
            f"every update after the first uses {name}={last:g}. (A schedule written in "
            "iterations reads so.)",
            f"Give its timesteps in env steps sampled, e.g. [[0, {setting[0][1]:g}], "
            f"[{int(end) * first:d}, {last:g}]] for {int(end):d} iterations of {first} "
            "steps.",
            {"setting": name, "ends_at": end, "first_update_after": first}))
    return traps


def preflight(config, *, cpus: float | None = None) -> list[Trap]:
    """The known RLlib 2.60 traps in ``config``, before anything is built.

    :param config: an RLlib ``AlgorithmConfig`` (either API stack).
    :param cpus: CPUs the run can get (default: the running Ray cluster's, else
        this machine's).
    :returns: the traps found (empty when none), errors first.
    :raises TypeError: if ``config`` is not an AlgorithmConfig.
    """
    from ray.rllib.algorithms.algorithm_config import AlgorithmConfig

    if not isinstance(config, AlgorithmConfig):
        raise UsageTypeError(f"preflight expects an RLlib AlgorithmConfig (e.g. "
                             f"PPOConfig().environment(...)), got {type(config).__name__}: "
                             f"{config!r:.100}.")
    if cpus is not None and (isinstance(cpus, bool) or not isinstance(cpus, (int, float))
                             or not cpus > 0):
        raise UsageError(f"preflight(cpus=...) must be a positive number, got {cpus!r}.")
    where = "the given cpus"
    if cpus is None:
        cpus, where = cluster_cpus()
    config, searched = _one_variant(config)
    return _errors_first(_search_space_note(searched) + _config_traps(config, cpus, where))


#: a search space only Tune can resolve (``tune.sample_from(lambda spec: ...)``)
_UNRESOLVED = object()


def _first_value(value):
    """One value of a Tune search space (a grid's or a choice's first, a range's middle:
    the geometric one for a log range; a normal's mean; each rounded to its ``q`` as Tune
    rounds a quantized space's samples; other spaces a sample), and whether ``value`` was
    one; dicts (``env_config``, ``model_config``) looked into."""
    from ray.tune.search.sample import Categorical, Domain, Float, Integer, Quantized

    if isinstance(value, Categorical) and value.categories:
        return value.categories[0], True
    if isinstance(value, (Float, Integer)):
        sampler, q = value.get_sampler(), None
        if isinstance(sampler, Quantized):
            sampler, q = sampler.sampler, sampler.q
        middle = None
        if math.isfinite(value.lower) and math.isfinite(value.upper):
            log = "Log" in type(sampler).__name__ and value.lower > 0
            middle = math.sqrt(value.lower * value.upper) if log else \
                (value.lower + value.upper) / 2
        elif _number(getattr(sampler, "mean", None)):
            middle = sampler.mean
        if middle is not None:
            if q:
                middle = round(middle / q) * q
            if isinstance(value, Integer):  # randint's upper bound is left out, qrandint's in
                middle = min(max(round(middle), value.lower),
                             value.upper if q else value.upper - 1)
            return middle, True
    if isinstance(value, Domain):
        try:
            return value.sample(), True
        except Exception:  # noqa: BLE001 - a sample_from(lambda spec: ...) needs Tune's spec
            return _UNRESOLVED, True
    if isinstance(value, (list, tuple)):
        resolved = [_first_value(inner) for inner in value]
        if any(was for _, was in resolved):
            return type(value)(inner for inner, _ in resolved), True
    if isinstance(value, dict):
        if set(value) == {"grid_search"} and isinstance(value["grid_search"], list) and \
                value["grid_search"]:
            return value["grid_search"][0], True
        resolved = {key: _first_value(inner) for key, inner in value.items()}
        if any(was for _, was in resolved.values()):
            return {key: inner for key, (inner, _) in resolved.items()}, True
    return value, False


def _one_variant(config) -> tuple[Any, list[str]]:
    """``config`` with every Tune search space (``tune.grid_search``, ``tune.uniform``,
    ...) replaced by one of its values, and the settings that held one: RLlib's
    validation would read ``{'grid_search': [...]}`` as the setting itself, while Tune
    gives every trial one value."""
    searched, variant = [], None
    for name, value in vars(config).items():
        first, was = _first_value(value)
        if not was:
            continue
        variant = variant or config.copy(copy_frozen=False)
        if first is _UNRESOLVED or _holds(first, _UNRESOLVED):  # RLlib's default instead
            first = getattr(type(config)(), name, None)
            searched.append(f"{name.lstrip('_')}=its default {first!r:.40} (a sample_from "
                            "only Tune can resolve)")
        else:
            text = repr(first)
            searched.append(f"{name.lstrip('_')}="
                            + (text if len(text) <= 40 else text[:39] + "…"))
        setattr(variant, name, first)
    return (variant or config), searched


def _holds(value, marker) -> bool:
    """Whether ``value`` (or a list, tuple or dict inside it) holds ``marker``."""
    if value is marker:
        return True
    if isinstance(value, dict):
        return any(_holds(inner, marker) for inner in value.values())
    if isinstance(value, (list, tuple)):
        return any(_holds(inner, marker) for inner in value)
    return False


def _search_space_note(searched: list[str]) -> list[Trap]:
    if not searched:
        return []
    return [Trap("search_space", "info",
                 f"The config holds Tune search spaces; checked with one variant: "
                 f"{', '.join(searched)} (a grid's or choice's first value, a range's "
                 "middle). "
                 "Tune gives each trial its own.",
                 "Nothing to change; check a variant with other values by setting them "
                 "in the config.", {"settings": searched})]


def _config_traps(config, cpus: float, where: str) -> list[Trap]:
    """Every check of :func:`preflight` on a config without search spaces."""
    traps = (_framework(config) + _resources(config, float(cpus), where) + _minibatch(config)
             + _evaluation_never_runs(config)
             + _old_keys(config) + _ranges(config) + _model_ignored(config)
             + _greedy_sampling(config) + _entropy_bonus_high(config)
             + _nothing_trained(config) + _escapes(config)
             + _callbacks(config) + _ignored_by_this_stack(config) + _old_replay_buffer(config)
             + _schedules_over_early(config) + _appo_target_period(config)
             + _target_lag(config) + _episode_buffer_settings(config)
             + _policies_to_train_call(config) + _schedule_order(config))
    step_limit = None
    if config.env is not None:
        env = make_env(config.env, dict(config.env_config or {}), caller="preflight")
        try:
            spaces = agent_spaces(env)
            agents = declared_agents(env) or list(spaces)
            step_limit = episode_step_limit(env)
            observed = _first_observation_dtypes(env) if config.is_multi_agent and \
                _is_new_stack(config) else {}
            traps += _policies_for(config, env) + _shared_spaces(config, env)
            pieces = configured_piece_names(config, env) if _is_new_stack(config) else []
        finally:
            close = getattr(env, "close", None)
            if callable(close):
                close()
        traps += _encoder(config, spaces, observed) + _actions(config, spaces) + \
            _squashed_unscaled(config, spaces) + \
            _discrete_starts(config, spaces, pieces) + _mapping(config, agents, spaces) + \
            _target_entropy(config, spaces) + _checkpoint_int_agent_ids(config, agents)
    traps += _replay(config, step_limit)
    if not any(t.severity == "error" for t in traps):
        traps += _validated(config)
    return traps


def _errors_first(traps: list[Trap]) -> list[Trap]:
    order = {"error": 0, "warning": 1, "info": 2}
    return sorted(traps, key=lambda t: order[t.severity])


_TUNE_ENTRY_POINTS = ("Tuner", "tune.Tuner", "ray.tune.Tuner", "run", "tune.run",
                      "ray.tune.run", "run_experiments", "tune.run_experiments")


def preflight_script(path) -> list[Trap]:
    """The traps visible in a script's code without running it (``ast``): a Tune
    trainable given as a string name such as ``"PPO"``.

    :raises FileNotFoundError: if ``path`` is not a file; :raises UsageError: if it
        is not Python.
    """
    import ast
    from pathlib import Path

    file = Path(path).expanduser()
    if not file.is_file():
        raise FileNotFoundError(f"{str(file)!r} is not a file; pass a Python script, or "
                                "FILE.py:FUNC for a function returning a config.")
    try:
        source = file.read_text(encoding="utf-8")
        tree = ast.parse(source, filename=str(file))
    except SyntaxError as err:
        raise UsageError(f"{str(file)!r} does not compile: {err.msg} at line {err.lineno}; "
                         "check reads a Python script (or FILE.py:FUNC).") from None
    except UnicodeDecodeError:
        raise UsageError(f"{str(file)!r} is not UTF-8 text; check reads a Python script (or "
                         "FILE.py:FUNC).") from None
    traps = _removed_in_260(source, file) + _mapping_in_code(tree, file) + \
        _network_settings_in_code(tree, file)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        name = ast.unparse(node.func)
        first = node.args[0]
        if name in _TUNE_ENTRY_POINTS and isinstance(first, ast.Constant) and \
                isinstance(first.value, str):
            traps.append(Trap(
                "string_algorithm_name", "warning",
                f"{file.name}:{node.lineno}: {name}({first.value!r}, ...) names the algorithm "
                "by string: Ray Tune then imports every registered algorithm to find it, "
                "which needs their optional dependencies (DreamerV3: pillow, 'No module "
                "named PIL') and costs seconds at start-up.",
                f"Pass the class: from ray.rllib.algorithms.{first.value.lower()} import "
                f"{first.value}; {name}({first.value}, ...).",
                {"line": node.lineno, "name": first.value}))
    return traps


def _mapping_in_code(tree, file) -> list[Trap]:
    """A ``policy_mapping_fn`` (a dict key or a keyword) whose function, a ``def`` of the
    script or a lambda, takes only the agent id: RLlib 2.60 also passes the episode (and,
    on the old stack, ``worker=``)."""
    import ast

    functions = {node.name: node for node in ast.walk(tree)
                 if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}
    given = [value for node in ast.walk(tree) for key, value in (
        [(k.value if isinstance(k, ast.Constant) else None, v)
         for k, v in zip(node.keys, node.values)] if isinstance(node, ast.Dict) else
        [(k.arg, k.value) for k in node.keywords] if isinstance(node, ast.Call) else [])
        if key == "policy_mapping_fn"]
    traps = []
    for value in given:
        function = functions.get(value.id) if isinstance(value, ast.Name) else value
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        arguments = function.args
        if arguments.vararg or len(arguments.posonlyargs + arguments.args) >= 2:
            continue
        name = getattr(function, "name", "a lambda")
        shown = "policy_mapping_fn" + ("" if name == "policy_mapping_fn" else f" ({name})")
        traps.append(Trap(
            "mapping_signature", "error",
            f"{file.name}:{function.lineno}: {shown} takes only the agent id; RLlib 2.60 calls it as policy_mapping_fn(agent_id, episode) (old stack: also "
            "worker=...), so sampling fails with a TypeError at the first env step.",
            "Take the episode and any keywords too: def policy_mapping_fn(agent_id, "
            "episode=None, **kwargs) (rldebug debug adapts a 2021 one).",
            {"line": function.lineno}))
    return traps


def _keyword_calls(tree, method: str, keyword: str) -> list:
    """Calls ``<anything>.method(..., keyword=..., ...)`` in a script."""
    import ast

    return [node for node in ast.walk(tree) if isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute) and node.func.attr == method
            and any(k.arg == keyword for k in node.keywords)]


def _network_settings_in_code(tree, file) -> list[Trap]:
    """A network configured where the script's API stack does not read it: on the old
    stack (``api_stack(enable_rl_module_and_learner=False)`` anywhere in the script)
    ``rl_module(model_config=...)``, which its policies never read (they build a ModelV2
    from ``training(model=...)``); on the new stack, RLlib 2.60's default,
    ``training(model=...)``, which its RLModule never reads."""
    import ast

    old_stack = any(isinstance(k.value, ast.Constant) and k.value.value is False
                    for call in _keyword_calls(tree, "api_stack",
                                               "enable_rl_module_and_learner")
                    for k in call.keywords if k.arg == "enable_rl_module_and_learner")
    if old_stack:
        found = _keyword_calls(tree, "rl_module", "model_config")
        what = ("rl_module(model_config=...) is the new API stack's; this script trains on "
                "the old one (api_stack(enable_rl_module_and_learner=False)), whose policies "
                "build their network from training(model={...}): these settings are not "
                "used (an LSTM asked for there is not built).")
        fix = ("On the old stack give the network's settings as config.training(model={"
               "'fcnet_hiddens': [...], 'use_lstm': ...}).")
    else:
        found = _keyword_calls(tree, "training", "model")
        what = ("training(model={...}) is the old API stack's; this script trains on the new "
                "one (RLlib 2.60's default), whose RLModule is built from "
                "rl_module(model_config=...): these settings are not used.")
        fix = ("Move the settings: config.rl_module(model_config=DefaultModelConfig(...)) "
               "(from ray.rllib.core.rl_module.default_model_config import "
               "DefaultModelConfig), or train on the old stack.")
    # a chained call's own line is where its chain starts: its method's is the one to show
    return [Trap("setting_ignored", "warning", f"{file.name}:{call.func.end_lineno}: {what}",
                 fix, {"line": call.func.end_lineno,
                       "setting": "model_config" if old_stack else "model"})
            for call in found[:1]]


def _removed_in_260(source: str, file) -> list[Trap]:
    """What of a script's 2021-era code stops it on RLlib 2.60 (``rldebug migrate`` lists
    every 2021 name): ``ray.init(local_mode=True)`` raises, and a 2021 config name that
    RLlib refuses or never reads by the route the script gives it (a keyword, or a dict
    key; :func:`~rldebug.compat.legacy.how_rllib_takes`)."""

    from rldebug.compat.legacy import RENAMED_KEYS, how_rllib_takes
    from rldebug.compat.migrate import migrations_in_source

    traps, named = [], set()
    for found in migrations_in_source(source, str(file)):
        where = f"{file.name}:{found.line}"
        removed = ("ray.rllib.agents" if found.found.startswith("ray.rllib.agents") else
                   "gym" if found.found.startswith("import gym")
                   and not _installed("gym") else None)
        if removed and removed not in named:  # the first import that fails, once
            named.add(removed)
            what = ("ray.rllib.agents was removed from RLlib (2.x)" if removed != "gym" else
                    "gym is not installed (RLlib 2.60 uses gymnasium)")
            traps.append(Trap(
                "module_removed", "error",
                f"{where}: {what}: the import raises ModuleNotFoundError before anything "
                "trains.",
                f"Run it with `rldebug debug {file.name}`, which provides it for 2021 "
                f"scripts, or change it: {found.replacement}.", {"line": found.line}))
        elif found.found == "ray.init(local_mode=True)":
            traps.append(Trap(
                "local_mode_removed", "error",
                f"{where}: ray.init(local_mode=True) was removed from Ray: it raises "
                "RuntimeError before anything trains.",
                f"Drop local_mode and run the script with `rldebug debug {file.name}` (every "
                "Algorithm and Tune trial in this process), or use rldebug.local_mode(config) "
                "with rldebug.run.", {"line": found.line}))
        elif found.found.strip('[]="') in RENAMED_KEYS:  # names only RLlib ever used
            key = found.found.strip('[]="')
            as_keyword = found.found.endswith("=")
            outcome = how_rllib_takes(key, as_keyword)
            if outcome == "translated":
                continue  # RLlib sets its 2.60 name (migrate lists it)
            route = ("as a keyword" if as_keyword else
                     "in a config dict (update_from_dict, or a trainer's config=)")
            what = {"refused": "refuses it (it raises)",
                    "ignored": "keeps it on the config and never reads it"}[outcome]
            traps.append(Trap(
                "old_config_name", "error",
                f"{where}: {key} is a 2021 config name, given {route}: RLlib 2.60 {what}.",
                f"Use {found.replacement}; `rldebug migrate {file.name}` lists every 2021 "
                "name.", {"line": found.line, "key": key, "outcome": outcome}))
    return traps


# Ray's and RLlib's *Config classes that are not an algorithm's config
_NOT_ALGORITHM_CONFIGS = ("RunConfig", "TuneConfig", "CheckpointConfig", "FailureConfig",
                          "ScalingConfig", "DefaultModelConfig", "SyncConfig")


def _returns_a_config(function) -> bool:
    """Whether a function's code returns an algorithm's config: a call chain that starts
    at a ``*Config()`` such as ``PPOConfig()`` (``.environment(...)``...), or a name
    assigned one. ``rldebug check FILE.py:FUNC`` calls FUNC, so a function that trains
    (a ``main``) must not be suggested."""
    import ast

    def root_config(node) -> bool:
        while isinstance(node, (ast.Call, ast.Attribute)):
            if isinstance(node, ast.Call) and isinstance(node.func, (ast.Name, ast.Attribute)):
                name = node.func.id if isinstance(node.func, ast.Name) else node.func.attr
                if name.endswith("Config") and name not in _NOT_ALGORITHM_CONFIGS:
                    return True
            node = node.func if isinstance(node, ast.Call) else node.value
        return False

    assigned = {target.id for node in ast.walk(function) if isinstance(node, ast.Assign)
                and root_config(node.value) for target in node.targets
                if isinstance(target, ast.Name)}
    return any(isinstance(node, ast.Return) and node.value is not None and (
        root_config(node.value) or (isinstance(node.value, ast.Name)
                                    and node.value.id in assigned))
        for node in ast.walk(function))


def _installed(name: str) -> bool:
    """Whether plain Python can import the top-level module ``name``: a module made in
    memory (rldebug's stand-in for gym under debug mode) has no spec and does not count."""
    import importlib.util

    try:
        return importlib.util.find_spec(name) is not None
    except ValueError:  # in sys.modules without a __spec__
        return False


def _nothing_in_script(path) -> str:
    """What "no trap" means for a script, which is read and not run: which traps its code
    can show, and where the config's traps can be checked."""
    import ast
    from pathlib import Path

    file = Path(path).expanduser()
    tree = ast.parse(file.read_text(encoding="utf-8"))
    text = (f"No trap in the code of {file.name}. A script is read, not run, so this covers "
            "only what its code shows: 2021-era config names, ray.init(local_mode=True), "
            "Tune's string algorithm names and a network configured where its API stack "
            "does not read it.")
    makers = [node.name for node in tree.body
              if isinstance(node, ast.FunctionDef) and _returns_a_config(node)]
    imports = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
               for alias in node.names} | {
        node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    if makers:
        return text + (f" For the traps of its config: rldebug check {path}:{makers[0]}"
                       + (f" (or {', '.join(makers[1:3])})" if makers[1:] else "") + ".")
    if not any(name == "ray" or name.startswith("ray.") for name in imports):
        return text + " It does not import Ray: is it the training script?"
    return text + (" For the traps of its config, put the config in a function and run "
                   f"rldebug check {path}:FUNC.")


def _rllib_refuses_too(check, report, config) -> bool:
    """Whether RLlib 2.60 fails as ``check`` did: gymnasium's API, terminateds without
    '__all__' (its vector env's KeyError), data for an agent already done
    (MultiAgentEnvError), an agent with no declared spaces (KeyError when it acts), an
    array or NaN reward (refused, or NaN losses), a Box observation of another shape than
    its space's (gymnasium's vector env, which RLlib samples through, stores observations
    in the space's shape: "ValueError: Output array is the wrong shape" at the first
    reset) or of a dtype it cannot cast into the space's (``observation_dtype`` fails only
    then), and RLlib's own multi-agent check, which the new stack's MultiAgentEnvRunner
    runs on every env it builds unless ``disable_env_checking``. check_env's other
    failures (observations out of bounds, int flags, gymnasium's own checker) are
    stricter than RLlib, which samples such envs; they stay check_env's."""
    return check.name in ("gymnasium_api", "finite_rewards", "all_key",
                          "observation_dtype") or \
        (check.name == "agent_ids" and ("done_at" in check.evidence
                                        or "undeclared_agent" in check.evidence)) or \
        (check.name == "observation_in_space" and "space_shape" in check.evidence) or \
        (check.name == "rllib" and report.multi_agent and _is_new_stack(config)
         and not config.disable_env_checking)


def stepped_env_traps(config, steps: int = 200) -> list[Trap]:
    """The failures of ``rldebug.check_env`` on the config's env that RLlib shares: what
    it cannot sample (an obs-only reset, an array reward, an agent acting after it is
    done). It runs the env's code for ``steps`` random actions, so only ``rldebug check``
    asks it."""
    from rldebug.envcheck import check_env

    report = check_env(config.env, dict(config.env_config or {}), steps=steps)
    traps = [Trap("env_check_failed", "error",
                  f"Stepping the env with random actions ({check.name}): {check.message}"
                  + (" RLlib samples through gymnasium's vector env, which stores each "
                     "observation in the space's shape: \"ValueError: Output array is the "
                     "wrong shape\" at the first reset." if "space_shape" in check.evidence
                     else ""),
                  check.fix, {"check": check.name, **check.evidence})
             for check in report.errors if _rllib_refuses_too(check, report, config)]
    return traps + _episodes_never_end(config, report, steps) + \
        _evaluation_shorter_than_episodes(config, report, steps) + \
        _support_too_narrow(config, report)


#: share of a random rollout's steps whose discounted return lies outside a distributional
#: DQN's support before :func:`_support_too_narrow` warns
SUPPORT_SHARE = 0.1


def _returns_to_go(rewards: list[float], gamma: float) -> list[float]:
    """Each step's discounted return from it to the episode's end."""
    total, out = 0.0, []
    for reward in reversed(rewards):
        total = reward + gamma * total
        out.append(total)
    return out[::-1]


def _rewards_as_trained(config):
    """How the rewards the env pays reach the loss: the old stack's RolloutWorker clips
    them (``clip_rewards=True``, or None on Atari: their sign; a float: to within it);
    the new stack passes them as they are (``clip_rewards`` is not read there)."""
    clip = getattr(config, "clip_rewards", None)
    if _is_new_stack(config) or clip is False:
        return lambda reward: reward
    if clip is True or (clip is None and getattr(config, "is_atari", False)):
        return lambda reward: float(math.copysign(1.0, reward)) if reward else 0.0
    if _number(clip) and clip > 0:
        return lambda reward: min(max(reward, -clip), clip)
    return lambda reward: reward


def _supports(config) -> dict:
    """``{(num_atoms, v_min, v_max): [module ids]}``, each module's own where
    ``algorithm_config_overrides_per_module`` sets one (the Learner reads them per
    module), else the config's; the ids are None when every module has the config's."""
    keys = ("num_atoms", "v_min", "v_max")
    default = tuple(getattr(config, key, None) for key in keys)
    if not set_per_module(config, keys):
        return {default: None}
    overrides = module_overrides(config)
    supports: dict = {}
    for module in _module_ids(config):
        own = overrides.get(module, {})
        support = tuple(own.get(key, value) for key, value in zip(keys, default))
        supports.setdefault(support, []).append(module)
    return supports


def _support_too_narrow(config, report) -> list[Trap]:
    """Distributional DQN (``num_atoms > 1``) whose support ``[v_min, v_max]`` (RLlib's
    default -10 to 10) does not hold the returns the env pays: ``DQNTorchLearner`` clamps
    every target to the support, so all returns beyond it look alike and the greedy
    action is chosen among equal values. Judged from the discounted returns-to-go of the
    random rollout's ended episodes, with their rewards as the loss gets them (the old
    stack's ``clip_rewards``), and per module where one sets its own support: a warning
    when at least :data:`SUPPORT_SHARE` of its steps fall outside. A trained policy's
    returns differ from random play's (larger where it earns, smaller where it learns
    to avoid costs)."""
    from ray.rllib.algorithms.dqn import DQNConfig

    gamma = config.gamma
    if not isinstance(config, DQNConfig) or not _number(gamma):
        return []
    trained = _rewards_as_trained(config)
    values = [value for episode in report.episode_rewards for rewards in episode.values()
              for value in _returns_to_go([trained(r) for r in rewards], gamma)]
    traps = []
    for (atoms, low, high), modules in _supports(config).items():
        if not _number(atoms) or atoms <= 1 or not _number(low) or not _number(high):
            continue
        outside = [value for value in values if not low <= value <= high]
        if not values or len(outside) < SUPPORT_SHARE * len(values):
            continue
        furthest = max(outside, key=abs)
        whose = "" if modules is None else f"Module(s) {', '.join(map(str, modules))}: "
        traps.append(Trap(
            "support_too_narrow", "warning",
            f"{whose}num_atoms={atoms:g} spreads the Q-distribution over [v_min, v_max] = "
            f"[{low:g}, {high:g}], and RLlib clamps every target to it. Under random actions "
            f"{len(outside) / len(values):.0%} of this env's steps have a discounted return "
            f"(gamma={gamma:g}) outside it, as far as {furthest:.3g}: every return beyond "
            "the support looks the same to the Q-network, so the greedy action is chosen "
            "among equal values there.",
            f"Set v_min and v_max to the returns the env can pay (here at least "
            f"{min(values):.3g} to {max(values):.3g} under random actions; a trained "
            "policy's differ): config.training(v_min=..., v_max=...)"
            + ("" if modules is None else ", or in those modules' overrides") + ".",
            {"num_atoms": atoms, "v_min": low, "v_max": high, "gamma": gamma,
             "modules": modules, "share_outside": round(len(outside) / len(values), 3),
             "furthest": furthest, "random_steps": len(values)}))
    return traps


def _evaluation_shorter_than_episodes(config, report, steps: int) -> list[Trap]:
    """New stack, single-agent, evaluation by timesteps on remote evaluation EnvRunners
    that reset their envs before each evaluation (RLlib's default
    ``evaluation_force_reset_envs_before_iteration=True``; ``Algorithm.
    _evaluate_with_fixed_duration`` splits ``evaluation_duration`` over the runners and
    resets at its first round): only the episodes that end within the timesteps are
    reported. Judged from the config's env under random actions when most of its
    episodes (at least 3 seen, or none in ``steps``) run longer. Not judged where
    evaluation runs on another env or env_config, by a custom function, on the local
    EnvRunner or without the reset (both carry episodes over to the next evaluation),
    or in multi-agent runs (which may count agent steps)."""
    if not config.evaluation_interval or config.evaluation_duration_unit != "timesteps" or \
            not _is_new_stack(config) or report.multi_agent or \
            not config.evaluation_force_reset_envs_before_iteration or \
            int(config.evaluation_num_env_runners or 0) < 1 or \
            config.custom_evaluation_function is not None:
        return []
    duration = config.evaluation_duration
    if not isinstance(duration, int) or isinstance(duration, bool) or duration < 1:
        return []
    evaluation = config.get_evaluation_config_object()
    if evaluation.env != config.env or dict(evaluation.env_config or {}) != \
            dict(config.env_config or {}):
        return []
    runners = int(config.evaluation_num_env_runners)
    envs = max(1, int(evaluation.num_envs_per_env_runner or 1))
    per_env = math.ceil(duration / runners / envs)
    lengths = report.episode_lengths
    if len(lengths) >= 3:
        median = statistics.median_low(lengths)
        if median <= per_env:
            return []
        seen = (f"under random actions this env's episodes last {median} steps (median of "
                f"{len(lengths)}; {sum(n <= per_env for n in lengths)} ended within "
                f"{per_env})")
    elif report.episodes_ended == 0 and steps > per_env:
        median, seen = None, f"under random actions this env ended no episode in {steps} steps"
    else:
        return []
    split = f" ({per_env} per env over {runners} EnvRunner(s) x {envs} env(s))" \
        if runners * envs > 1 else ""
    return [Trap(
        "evaluation_shorter_than_episodes", "warning",
        f"Evaluation samples evaluation_duration={duration} timesteps{split} from envs that "
        "each remote evaluation EnvRunner resets first "
        "(evaluation_force_reset_envs_before_iteration=True), and reports only the "
        f"episodes that end within them: the evaluation return counts only episodes "
        f"shorter than {per_env} steps. {seen[0].upper()}{seen[1:]}: while the policy's "
        "episodes last as long, evaluations report no return, and a policy that keeps its "
        "episodes going longer than that is never measured.",
        f"Evaluate whole episodes: config.evaluation(evaluation_duration={duration}, "
        "evaluation_duration_unit='episodes'), or sample more timesteps per evaluation than "
        "an episode lasts.",
        {"evaluation_duration": duration, "timesteps_per_env": per_env,
         "evaluation_env_runners": runners, "median_episode_len": median,
         "random_steps": steps})]


def _episodes_never_end(config, report, steps: int) -> list[Trap]:
    """``batch_mode="complete_episodes"`` with an env that ended no episode in ``steps``
    random steps and has no time limit: an EnvRunner's ``sample()`` returns only whole
    episodes, so it waits for an end that may never come (a continuing task hangs
    ``train()`` without a word)."""
    if config.batch_mode != "complete_episodes" or report.episodes_ended != 0 or \
            report.multi_agent:
        return []
    env = make_env(config.env, dict(config.env_config or {}), caller="rldebug check")
    try:
        if episode_step_limit(env) is not None:
            return []
    finally:
        close = getattr(env, "close", None)
        if callable(close):
            close()
    return [Trap(
        "episodes_never_end", "warning",
        f"batch_mode='complete_episodes': each EnvRunner's sample() returns whole episodes "
        f"only, and the env ended none in {steps} random steps and has no time limit. If "
        "it never ends one (a continuing task), train() waits for ever without a word.",
        "Sample fragments: config.env_runners(batch_mode='truncate_episodes') (RLlib's "
        "default), or give the env a time limit (gymnasium.wrappers.TimeLimit, or "
        "max_episode_steps= when you register it).",
        {"batch_mode": "complete_episodes", "random_steps": steps})]


def cmd_check(args) -> int:
    """Name RLlib 2.60's known traps in a config: exit 1 when one is an error."""

    from rldebug.usage import load_config

    if args.config.endswith(".py"):  # a script: what its code shows, without running it
        traps = preflight_script(args.config)
    else:
        config = load_config(args.config, "rldebug check CONFIG (FILE.py:FUNC, or a script "
                                          "FILE.py)")
        from ray.rllib.algorithms.algorithm_config import AlgorithmConfig

        if not isinstance(config, AlgorithmConfig):
            raise UsageTypeError(
                f"{args.config} returned {type(config).__name__}, not an RLlib "
                "AlgorithmConfig: rldebug check needs FILE.py:FUNC whose FUNC returns one "
                "(e.g. PPOConfig().environment(...)), or a script FILE.py.")
        traps = preflight(config)
        if config.env is not None and not any(t.severity == "error" for t in traps):
            traps = _errors_first(traps + stepped_env_traps(_one_variant(config)[0]))
    if args.json:
        print(json_text([t.to_dict() for t in traps]))
        if args.config.endswith(".py") and not traps:  # what the empty list covers
            print(_nothing_in_script(args.config), file=sys.stderr)
    else:
        for trap in traps:
            print(f"{trap.severity}[{trap.name}] {trap.message}\n  fix: {trap.fix}")
        from rldebug.doctor.findings import severity_counts_text

        print(severity_counts_text(traps)
              + ("" if any(t.severity != "info" for t in traps) else
                 ": no known RLlib 2.60 trap, only notes") if traps else
              "No known RLlib 2.60 trap found." if not args.config.endswith(".py") else
              _nothing_in_script(args.config))
    return 1 if any(t.severity == "error" for t in traps) else 0


def add_commands(subparsers) -> None:
    """Register ``check`` on ``parser.add_subparsers()``."""
    check = subparsers.add_parser("check", help="name RLlib 2.60's known traps in a config "
                                                "before training")
    check.add_argument("config", help="FILE.py:FUNC or MODULE:FUNC returning an "
                                      "AlgorithmConfig, or a script FILE.py (read, not run)")
    check.add_argument("--json", action="store_true", help="print the traps as JSON")
    check.set_defaults(func=cmd_check)


__all__ = ["Trap", "add_commands", "cluster_cpus", "cmd_check", "preflight", "preflight_script",
           "scheduling_traps", "stepped_env_traps"]
