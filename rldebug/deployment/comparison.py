"""``parity(checkpoint, policy)``: does a deployed policy act as the trained one does?

The reference is the checkpoint's training pipeline (:class:`InferencePolicy`: the
env-to-module connectors with their saved state, the RLModule, the module-to-env
connectors, ``explore=False`` as RLlib's evaluation runs it). ``parity`` plays episodes
of the checkpoint's env with the reference's actions, asks the deployed policy at every
state (its ``reset()``, if it has one, at every episode's start), and compares (Discrete:
equal; Box: within ``atol``). On a mismatch it replays the same states through variants
of the pipeline — each of your connector pieces left out, the history forgotten, the
action not unsquashed, agents mapped to other modules, the weights of another checkpoint
beside it — and names the variant that reproduces the deployed actions.
"""

from __future__ import annotations

import inspect
import itertools
import math
import numbers
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from rldebug.deployment.pipeline import InferencePolicy, Variant
from rldebug.usage import UsageError, UsageTypeError, cannot_be_called, check_seed

DEFAULT_MIN_AGREEMENT = 0.99
#: how far a continuous action may be from the pipeline's and still agree
DEFAULT_ATOL = 1e-4
#: episodes of the checkpoint's env parity plays
DEFAULT_EPISODES = 5
#: a variant explains a deployment when it agrees with it this much better than the pipeline
EXPLAINS_BY = 0.2
#: variants whose agreement with the deployment is this close are not told apart
TIE = 0.01


@dataclass
class ParityReport:
    """How often the deployed policy chose the training pipeline's action."""

    states: int
    agreement: float
    min_agreement: float
    mismatches: list[dict] = field(default_factory=list)  # the first few
    variants: dict[str, float] = field(default_factory=dict)  # variant -> agreement
    explanation: str | None = None
    per_agent: dict[str, float] = field(default_factory=dict)  # multi-agent envs
    error: str | None = None  # the deployed policy raised
    not_runnable: dict[str, str] = field(default_factory=dict)  # variant -> why it cannot run
    decisions: int = 0  # actions compared (one per agent acting, per state)
    sampling: tuple[float, float] | None = None  # a sampling deployment's expected agreement
    atol: float = 0.0  # how far a continuous action may be and still agree
    largest_difference: float | None = None  # continuous actions: the largest |yours - its|

    @property
    def passed(self) -> bool:
        return self.error is None and self.agreement >= self.min_agreement

    @property
    def counted(self) -> str:
        """What the agreement counts: states, or decisions where several agents act."""
        if self.decisions in (0, self.states):
            return f"{self.states} states"
        return f"{self.decisions} decisions ({self.states} states)"

    def __str__(self) -> str:
        verdict = "PASS" if self.passed else "FAIL"
        if self.error and not self.mismatches and self.agreement == 0.0:
            lines = [f"Your policy failed before it answered ({verdict})."]
        else:
            lines = [(f"Your policy chose the training pipeline's action in "
                      f"{self.agreement:.1%} of {self.counted} "
                      f"({verdict}, minimum {self.min_agreement:.0%}).")]
        for agent, share in self.per_agent.items():
            lines.append(f"  agent {agent}: {share:.1%}")
        if self.error:
            lines.append(f"  {self.error}")
        for mismatch in self.mismatches[:3]:
            who = f" agent {mismatch['agent']}" if "agent" in mismatch else ""
            lines.append(f"  episode {mismatch['episode']} step {mismatch['step']}{who}: "
                         f"yours {mismatch['yours']}, the pipeline's {mismatch['pipeline']}")
        if self.largest_difference is not None and not self.passed:
            lines.append(f"  continuous actions: the largest difference is "
                         f"{self.largest_difference:.3g} (atol {self.atol:g}; --atol, atol= "
                         "for a deployment that rounds, e.g. float16)")
        for variant, share in self.variants.items():
            lines.append(f"  the pipeline {variant}: yours agrees in {share:.1%}")
        for variant, why in self.not_runnable.items():
            lines.append(f"  the pipeline {variant}: not tried, the module cannot run it "
                         f"({why:.120})")
        if self.sampling:
            lines.append(f"  a deployment sampling from the pipeline's action distribution "
                         f"would agree in {self.sampling[0]:.1%} +/- {self.sampling[1]:.1%}")
        if self.explanation:
            lines.append(self.explanation)
        return "\n".join(lines)


@dataclass
class _Step:
    episode: int
    step: int
    obs: Any
    reward: Any
    taken_before: Any  # the module action the previous step took (None at a start)
    pipeline: Any
    yours: Any = None
    greedy_probability: Any = None  # what the distribution gave the greedy action
    action_gaussian: Any = None  # continuous: (mean, std) a sampler would draw from


def _same(a, b, atol: float) -> bool:
    """Whether the deployment's action ``a`` is the pipeline's ``b``: equal for integer
    (discrete) actions, where a float is another action (``env.step`` of many envs
    asserts ``action_space.contains``, which refuses ``1.0`` for ``Discrete``), within
    ``atol`` for continuous ones."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or _float_for_integer(a, b):
        return False
    if np.issubdtype(a.dtype, np.integer) and np.issubdtype(b.dtype, np.integer):
        return bool(np.array_equal(a, b))
    try:
        return bool(np.allclose(a.astype(float), b.astype(float), atol=atol))
    except (TypeError, ValueError):
        return False


def _float_for_integer(a: np.ndarray, b: np.ndarray) -> bool:
    return np.issubdtype(b.dtype, np.integer) and not (
        np.issubdtype(a.dtype, np.integer) or a.dtype == bool)


def _pairs(steps: list[_Step], answers: list, atol: float) -> list[tuple[_Step, Any, bool]]:
    """``(step, agent or None, agreed)`` for every decision of every step."""
    out = []
    for step, answer in zip(steps, answers):
        if isinstance(step.pipeline, Mapping):
            answer = answer if isinstance(answer, Mapping) else {}
            out += [(step, agent, agent in answer and _same(answer[agent], action, atol))
                    for agent, action in step.pipeline.items()]
        else:
            out.append((step, None, _same(answer, step.pipeline, atol)))
    return out


def _not_an_action(steps: list[_Step], action_spaces) -> str:
    """Where the deployed policy answered something no discrete action space holds (None,
    a name such as "left", an index out of range): said as the policy's error, not as a
    disagreement that some variant of the pipeline might explain. "" when none did."""
    if action_spaces and all(isinstance(s, gym.spaces.Box) for s in action_spaces):
        return _not_numbers(steps, action_spaces)
    spaces = [space for space in action_spaces if isinstance(space, gym.spaces.Discrete)]
    if not spaces or len(spaces) != len(action_spaces):
        return ""
    for step in steps:
        answers = step.yours.values() if isinstance(step.yours, Mapping) else [step.yours]
        for answer in answers:
            if not any(_is_discrete_action(answer, space) for space in spaces):
                return (f"your policy returned {answer!r:.40} at episode {step.episode}, step "
                        f"{step.step}, which is no action of "
                        f"{' or '.join(sorted({str(s) for s in spaces}))}: return the "
                        "action's index, as the env takes it")
    return ""


def _not_numbers(steps: list[_Step], action_spaces) -> str:
    """Where the deployed policy answered a continuous env with something that holds no
    numbers (None, a string, a list with None in it); "" when it never did (a wrong shape
    is said by the comparison)."""
    for step in steps:
        answers = step.yours.values() if isinstance(step.yours, Mapping) else [step.yours]
        for answer in answers:
            try:
                numeric = answer is not None and np.asarray(answer).dtype.kind in "biuf"
            except (TypeError, ValueError):  # ragged lists
                numeric = False
            if not numeric:
                return (f"your policy returned {answer!r:.40} at episode {step.episode}, step "
                        f"{step.step}, which holds no numbers for "
                        f"{' or '.join(sorted({str(s) for s in action_spaces}))}: return an "
                        "array of the action space's shape, e.g. np.asarray(action, "
                        "np.float32)")
    return ""


def _as_index(answer) -> int | None:
    """``answer`` as a whole number (an int, a numpy integer, 2.0), or None."""
    try:
        index = int(answer)
    except (TypeError, ValueError):
        return None
    return index if index == answer else None


def _is_discrete_action(answer, space) -> bool:
    """An action of ``space`` as the env may get it: RLlib 2.60's pipeline sends the index
    0..n-1 even for ``Discrete(n, start=s)`` (no module-to-env piece adds the start), and
    the space holds s..s+n-1."""
    index = _as_index(answer)
    return index is not None and (0 <= index < space.n or
                                  space.start <= index < space.start + space.n)


def _mismatches(pairs, most: int = 10) -> list[dict]:
    """The first ``most`` decisions where the deployed policy and the pipeline differ."""
    return [{"episode": s.episode, "step": s.step, **({"agent": a} if a is not None else {}),
             "yours": _shown(s.yours, a), "pipeline": _shown(s.pipeline, a)}
            for s, a, ok in pairs if not ok][:most]


def _share(pairs) -> float:
    return float(np.mean([ok for *_, ok in pairs])) if pairs else 0.0


def _caller(policy: Callable):
    """How to ask the deployed policy: with the last reward when it takes one."""
    try:
        takes_reward = "reward" in inspect.signature(policy).parameters
    except (TypeError, ValueError):
        takes_reward = False
    return (lambda obs, reward: policy(obs, reward=reward)) if takes_reward else \
        (lambda obs, reward: policy(obs))


def _check_signature(policy: Callable) -> None:
    """parity calls ``policy(obs)`` (``policy(obs, reward=r)`` when it takes a reward):
    a policy that cannot be called so is refused before the env is played."""
    problem = cannot_be_called(policy, None)
    if problem:
        raise UsageTypeError(
            f"parity calls your policy with the env's observation, policy(obs) (and "
            f"reward= when it takes a reward); {problem[0]} cannot be called so "
            f"({problem[1]}). Keep anything else (a state, a "
            "module) in a callable object or a closure.")


def _env(reference):
    """The env parity plays: the one the reference was trained on, built here."""
    from rldebug.deployment.pipeline import env_of
    from rldebug.shapes.env_meta import make_env

    env = env_of(reference.parts)
    from rldebug.shapes.env_meta import EnvBuildError

    try:
        return make_env(env, reference.parts["env_config"], caller="parity")
    except UsageError as err:
        if not isinstance(env, str) or isinstance(err, EnvBuildError):  # found, then raised
            raise
        raise UsageError(
            f"parity plays the env the policy was trained on, {env!r}, which is neither a "
            "gymnasium id nor an env registered with ray.tune.register_env in this process. "
            "Register it here (import the module that calls "
            "ray.tune.register_env before parity(), --import MODULE_OR_FILE.py on the "
            "command line, or call parity from the script that trains), or compare on recorded observations (--observations FILE, "
            "observations=) or a trace's episodes (--trace DIR, trace=).") from None


def _reference(checkpoint_or_algo) -> InferencePolicy:
    from rldebug.deployment.legacy import OldStackPolicy
    from rldebug.deployment.pipeline import parts_from_algorithm

    if isinstance(checkpoint_or_algo, (InferencePolicy, OldStackPolicy)):
        return checkpoint_or_algo.with_variant()
    if isinstance(checkpoint_or_algo, (str, Path)):
        from rldebug.deployment.pipeline import EXPORTED_PARTS
        from rldebug.inspection.checkpoint import checkpoint_kind

        if (Path(checkpoint_or_algo).expanduser() / EXPORTED_PARTS).is_file():
            return InferencePolicy.from_checkpoint(checkpoint_or_algo)
        if checkpoint_kind(checkpoint_or_algo) == "old":
            from rldebug.inspection import load

            return OldStackPolicy(load(checkpoint_or_algo))
        return InferencePolicy.from_checkpoint(checkpoint_or_algo)
    if hasattr(checkpoint_or_algo, "config") and hasattr(checkpoint_or_algo, "env_runner"):
        if not checkpoint_or_algo.config.enable_env_runner_and_connector_v2:
            return OldStackPolicy(checkpoint_or_algo)
        return InferencePolicy(parts_from_algorithm(checkpoint_or_algo))
    raise UsageTypeError(f"parity expects a checkpoint path, an Algorithm or an "
                         f"InferencePolicy, got {type(checkpoint_or_algo).__name__}.")


def _play(reference: InferencePolicy, ask, reset_yours, env, episodes: int, seed: int,
          max_steps: int) -> tuple[list[_Step], str | None]:
    """Episodes of ``env`` with the reference's actions; the deployed answer at every state."""
    steps: list[_Step] = []
    for episode in range(episodes):
        obs, _ = env.reset(seed=seed + episode)
        _start(reference, reset_yours)
        reward, taken = 0.0, None
        for t in range(max_steps):
            module_action, env_action, error = _ask(steps, reference, ask, episode, t, obs,
                                                    reward, taken)
            if error:
                return steps, error
            obs, reward, terminated, truncated, _ = env.step(env_action)
            taken = module_action
            if _done(terminated) or _done(truncated):
                break
            obs = _still_acting(obs, terminated, truncated)
            if isinstance(obs, Mapping) and not obs:
                break  # every agent that had an observation is done
    return steps, None


def _still_acting(obs, terminated, truncated):
    """A multi-agent env's observations less those of agents whose episode just ended
    (their last observation, which RLlib's EnvRunner never acts on: it asks no agent
    again after its terminated or truncated); a single agent's observation as it is."""
    if not isinstance(obs, Mapping) or not isinstance(terminated, Mapping):
        return obs
    ended = {agent for flags in (terminated, truncated) if isinstance(flags, Mapping)
             for agent, flag in flags.items() if agent != "__all__" and flag}
    return {agent: value for agent, value in obs.items() if agent not in ended}


def _play_recorded(reference: InferencePolicy, ask, reset_yours,
                   recorded: list[list]) -> tuple[list[_Step], str | None]:
    """Recorded episodes, in order: each a list of observations, or of ``(observation,
    action the env received)`` pairs (a traced episode: its action is the one taken,
    where it is the module's too). No env is stepped; rewards are unknown (0)."""
    steps: list[_Step] = []
    for episode, observations in enumerate(recorded):
        _start(reference, reset_yours)
        taken = None
        for t, item in enumerate(observations):
            obs, received = item if isinstance(item, tuple) else (item, None)
            own, _, error = _ask(steps, reference, ask, episode, t, obs, 0.0, taken)
            if error:
                return steps, error
            taken = own if received is None else received
    return steps, None


def _start(reference, reset_yours) -> None:
    reference.reset()
    if reset_yours is not None:
        reset_yours()


def _ask(steps: list[_Step], reference, ask, episode: int, t: int, obs, reward, taken):
    """The reference's and the deployment's answers at one state, appended to ``steps``:
    ``(module action, env action, error or None)``."""
    module_action, env_action = reference.act(obs, reward)
    step = _Step(episode, t, _copy(obs), reward, taken, env_action,
                 greedy_probability=reference.greedy_probability(),
                 action_gaussian=reference.action_gaussian())
    steps.append(step)
    try:
        step.yours = ask(obs, reward)
    except Exception as err:  # noqa: BLE001 - the user's code: reported
        return module_action, env_action, (f"your policy raised {type(err).__name__} at "
                                           f"episode {episode} step {t}: {err}")
    return module_action, env_action, None


def _env_name(env) -> str:
    """An env as a config names it: its id, or its class's dotted name."""
    if isinstance(env, str):
        return env
    if isinstance(env, type):
        return f"{env.__module__}.{env.__qualname__}"
    return str(env)


def _check_traced_env(trace_dir, reference) -> None:
    """A trace replays its episodes' actions in the env it was recorded on: refuse one
    recorded on another env than the checkpoint trained on (its actions are not what
    this policy would face; an action of another space crashes the env)."""
    from rldebug.reproduction.listing import find_trace_dir
    from rldebug.tracing.replay_state import load_config

    try:
        traced = load_config(find_trace_dir(trace_dir, "parity(trace=...)"))["config"].env
    except (FileNotFoundError, KeyError, AttributeError):
        return  # traced_episodes says what is missing
    trained = reference.parts.get("env")
    if trained is not None and _env_name(traced) != _env_name(trained):
        raise UsageError(
            f"The trace in {str(trace_dir)!r} was recorded on the env {_env_name(traced)}, "
            f"the checkpoint trained on {_env_name(trained)}: its episodes are not the "
            "states this policy met. Pass a trace of the run that made the checkpoint.")


def traced_episodes(trace_dir: str | Path, env, max_episodes: int = 50) -> list[list]:
    """The episodes a reproducible trace taped (``rldebug.trace(config,
    reproducible=True)``: each episode's seed, the env's state before its reset, every
    action the env received), played again in ``env``: ``[(raw observation, action
    taken), ...]`` per episode, the last ``max_episodes`` of them. The trace's own
    observations cannot serve: they were recorded after the env-to-module connectors
    rewrote them (a MeanStdFilter writes the normalised observation back into the
    episode), and only a few rows per sample.

    :raises UsageError: for a path without a reproducible trace (naming how to record
        one).
    """
    import base64

    from rldebug.reproduction.listing import find_trace_dir, read_recorded
    from rldebug.tracing.replay_state import decode_env_action, restore_env

    records = read_recorded(find_trace_dir(trace_dir, "parity(trace=...)")).episodes.values()
    records = sorted((r for r in records if r.get("actions")),
                     key=lambda r: (r["started"], r["episode_id"]))[-max_episodes:]
    if not records:
        raise UsageError(f"The trace in {str(trace_dir)!r} has no taped episode with an "
                         "action (its rings keep the last few sample() calls' episodes).")
    episodes = []
    for record in records:
        if record.get("env_state"):
            restore_env(env, base64.b64decode(record["env_state"]))
        obs, _ = env.reset(seed=record["seed"], options=record.get("options"))
        agent_keys: dict = {}
        played = []
        for value in record["actions"]:
            if isinstance(obs, Mapping):
                agent_keys.update({str(k): k for k in obs})
            action = decode_env_action(value, agent_keys)
            played.append((_copy(obs), action))
            obs, _, terminated, truncated, _ = env.step(action)
            if _done(terminated) or _done(truncated):
                break
        episodes.append(played)
    return episodes


# how numpy's files begin: .npy its own header, .npz a zip archive
_MAGIC = {".npy": b"\x93NUMPY", ".npz": b"PK"}


@dataclass
class RecordedFile:
    """The arrays of a ``.npy`` / ``.npz`` file of recorded observations."""

    obs: np.ndarray
    episode_starts: np.ndarray | None = None


def read_recorded_file(path: str | Path) -> RecordedFile:
    """Read observations recorded elsewhere from a ``.npy`` file or a ``.npz`` file (``obs``
    and optionally ``episode_starts``), checked before any checkpoint is loaded: numpy's
    own file (not another file named so), nothing to unpickle, an ``obs`` array.

    :raises UsageError: naming what was wrong and how to save the file.
    """
    path = Path(path).expanduser()
    if path.is_dir():
        raise UsageError(f"parity(observations=...) (--observations): {path} is a folder; "
                         "pass the .npy or .npz file of the observations in it.")
    if not path.is_file():
        raise UsageError(f"parity(observations=...) (--observations): {path} does not "
                         "exist.")
    if path.suffix not in (".npy", ".npz"):
        raise UsageError(f"parity(observations=...): {path} is not a .npy or .npz file; "
                         "save the observations with numpy.save or numpy.savez(obs=..., "
                         "episode_starts=...).")
    with open(path, "rb") as f:
        magic = f.read(6)
    if magic[:len(_MAGIC[path.suffix])] != _MAGIC[path.suffix]:
        raise UsageError(f"parity(observations=...): {path} is not a numpy {path.suffix} "
                         "file (it does not begin as one); save the observations with "
                         "numpy.save or numpy.savez(obs=..., episode_starts=...).")
    try:
        if path.suffix == ".npy":
            return RecordedFile(np.load(path, allow_pickle=False))
        with np.load(path, allow_pickle=False) as loaded:  # an .npz reads each array lazily
            names = sorted(loaded.files)
            if "obs" in names:
                return RecordedFile(np.asarray(loaded["obs"]),
                                    np.asarray(loaded["episode_starts"])
                                    if "episode_starts" in names else None)
    except (ValueError, OSError, EOFError) as err:
        raise UsageError(
            f"parity(observations=...): {path} cannot be read as numpy's {path.suffix} "
            f"without unpickling ({err}). Save a numeric array with numpy.save (not "
            "an array of Python objects, which loading would have to unpickle).") from None
    raise UsageError(f"parity(observations=...): {path} holds {names}, no 'obs' array: "
                     "numpy.savez(path, obs=..., episode_starts=...).")


def recorded_episodes(observations: Any, observation_space: Any = None) -> list[list]:
    """Observations recorded elsewhere (your deployment's env, a simulator parity cannot
    build), split into episodes: an array of observations (one episode), a list of such
    arrays (one per episode), or a ``.npy`` / ``.npz`` file (``obs``, and optionally
    ``episode_starts``: True at the first observation of each episode).

    :raises UsageError: for a file that does not exist or holds no ``obs``, or
        observations whose shape is not the observation space's.
    """
    starts, flat = None, None  # flat: how many rows one array of scalars held
    if isinstance(observations, (str, Path)):
        observations = read_recorded_file(observations)
    if isinstance(observations, RecordedFile):
        observations, starts = observations.obs, observations.episode_starts
    if isinstance(observations, (Mapping, numbers.Number, np.generic)) or (
            isinstance(observations, np.ndarray) and observations.ndim == 0):
        raise UsageTypeError(
            f"parity(observations=...) takes a sequence of observations (an array with one "
            f"row per step, a list of them per episode, or a list of dict observations), or "
            f"a .npy/.npz file; got {type(observations).__name__} {observations!r:.80}."
            + (" A dict of columns: pass its array of observations (a .npz file holds "
               "it as 'obs', with 'episode_starts'), or for Dict observations a list of "
               "dicts, one per step." if isinstance(observations, Mapping) else ""))
    if isinstance(observations, list) and observations and \
            all(isinstance(o, np.ndarray) and o.ndim > 1 for o in observations):
        episodes = [list(o) for o in observations]
    else:
        rows = list(np.asarray(observations))
        if starts is None:
            episodes, flat = [rows], len(rows)
        else:
            starts = np.asarray(starts, bool)
            if starts.shape != (len(rows),):
                raise UsageError(f"episode_starts has shape {starts.shape}; it needs one flag "
                                 f"per observation ({len(rows)},).")
            cuts = [i for i in range(len(rows)) if starts[i] and i > 0]
            episodes = [list(chunk) for chunk in np.split(np.asarray(rows), cuts)]
    shape = getattr(observation_space, "shape", None)
    for episode in episodes:
        for obs in episode:
            _check_recorded(obs, shape, flat)
    if isinstance(observation_space, gym.spaces.Box):  # ints recorded for a float Box
        episodes = [[_as_space_dtype(o, observation_space.dtype) for o in episode]
                    for episode in episodes]
    if not any(episodes):
        raise UsageError("parity(observations=...) holds no observation.")
    return episodes


def _as_space_dtype(obs, dtype):
    """A recorded observation in the Box's dtype (ints or bools for a float Box, float64
    for float32); refused where the cast would change values (fractions for an int Box,
    values outside its range)."""
    array = np.asarray(obs)
    cast = array.astype(dtype)
    if not np.can_cast(array.dtype, dtype, "same_kind") and not np.array_equal(
            cast.astype(array.dtype), array):
        raise UsageError(f"parity(observations=...): an observation holds {array.dtype} "
                         f"values ({str(obs)[:60]}) that the env's {np.dtype(dtype)} "
                         "observations cannot hold; record them as the env returns them.")
    return cast


def _check_recorded(obs, shape, rows: int | None = None) -> None:
    """One recorded observation: numbers (not strings or objects), finite, of the env's
    observation shape where it has one (Dict and Tuple observations are the space's to
    check)."""
    if isinstance(obs, (Mapping, tuple)):
        return
    array = np.asarray(obs)
    if array.dtype.kind not in "biuf":
        raise UsageError(f"parity(observations=...): an observation holds {array.dtype} "
                         f"values ({str(obs)[:60]}); observations are numbers, as the env "
                         "returns them.")
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        raise UsageError("parity(observations=...): an observation holds NaN or inf; an env "
                         "returns finite observations, and the pipeline's answers to these "
                         "would agree (or not) on nothing. Drop those rows.")
    if shape is not None and array.shape != tuple(shape):
        one = (" The file looks like one observation: save it with shape "
               f"(1, {', '.join(map(str, shape))})." if array.shape == () and rows is not None
               and (rows,) == tuple(shape) else "")
        raise UsageError(f"parity(observations=...): an observation has shape "
                         f"{array.shape}; the env's observations have shape "
                         f"{tuple(shape)}.{one}")


def _takes_module_actions(action_spaces) -> bool:
    """Whether the env's actions are the module's too (discrete: nothing unsquashes them),
    so a traced action can stand for the action the pipeline took."""
    return all(isinstance(act, (gym.spaces.Discrete, gym.spaces.MultiDiscrete))
               for act in action_spaces)


def _done(flag) -> bool:
    return bool(flag.get("__all__", False)) if isinstance(flag, Mapping) else bool(flag)


def _copy(obs):
    if isinstance(obs, Mapping):
        return {k: _copy(v) for k, v in obs.items()}
    return np.array(obs, copy=True) if isinstance(obs, np.ndarray) else obs


def _replay(variant: InferencePolicy, steps: list[_Step]) -> list:
    answers = []
    for index, step in enumerate(steps):
        if step.step == 0 and (index == 0 or not variant.variant.never_reset):
            variant.reset()
        answers.append(variant.act(step.obs, step.reward, taken=step.taken_before)[1])
    return answers


def _variants(reference: InferencePolicy, action_spaces) -> list[Variant]:
    out = [Variant(without=piece) for piece in reference.user_pieces]
    if reference.keeps_history:
        out += [Variant(forget_history=True), Variant(never_reset=True)]
    if any(isinstance(s, gym.spaces.Box) for s in action_spaces):
        out.append(Variant(to_env=False))
    if reference.unsquashes_actions:  # each acts as the pipeline on bounds of [-1, 1]
        out += [Variant(unsquash_twice=True), Variant(clip_unit=True)]
    if reference.flattens_a_dict:  # acts as the pipeline where the env's dict is sorted
        out.append(Variant(dict_order=True))
    if reference.stacks_frames:
        out.append(Variant(frames_newest_first=True))
    if reference.gaussian_actions:
        out.append(Variant(squashed_mean=True))
    if reference.multi_agent:
        out += _mapping_variants(reference)
    return out


def _mapping_variants(reference: InferencePolicy, max_agents: int = 6) -> list[Variant]:
    """Other agent-to-module mappings a deployment gets wrong: two agents' modules swapped,
    or every agent on one module."""
    from rldebug.shapes.mapping import map_agents

    agents = list(reference.parts["observation_space"])[:max_agents]
    trained, error = map_agents(reference.parts["mapping_fn"], agents,
                                old_stack=reference.old_stack)
    if error or len(set(trained.values())) < 2:
        return []
    out = []
    for a, b in itertools.combinations(agents, 2):
        if trained[a] != trained[b]:
            swapped = {**trained, a: trained[b], b: trained[a]}
            out.append(Variant(mapping=tuple(swapped.items())))
    for module in sorted(set(trained.values())):
        out.append(Variant(mapping=tuple((a, module) for a in agents)))
    return out


def _explain(variant: Variant, share: float, counted: str, reference: InferencePolicy) -> str:
    said = f"Your policy matches the training pipeline {variant.describe()} in {share:.1%} of " \
           f"{counted}: "
    reasons = [_reason(change, reference).rstrip(".") for change in variant.changes()]
    return said + "; and ".join(reasons) + "."


def _reason(variant: Variant, reference: InferencePolicy) -> str:
    """What a deployment that departs as ``variant`` (one change) does wrong, and why."""
    if variant.without:
        return (f"your deployment does not apply {variant.without}, which the policy "
                f"was trained behind (its state is in {reference.state_location}).")
    pieces = ", ".join(reference.user_pieces) or "the module's recurrent state"
    if variant.forget_history:
        return ("your deployment starts every step afresh, where the pipeline carries "
                f"history from step to step ({pieces}): keep one policy per episode "
                "(frame stack, previous actions, the state_out fed back as state_in) "
                "and reset it when an episode starts (rldebug.inference_policy does).")
    if variant.never_reset:
        return ("your deployment carries its history from one episode into the next "
                f"({pieces}), where the pipeline starts each episode afresh: reset it when "
                "an episode starts (the recurrent state to the module's initial state, the "
                "frame stack emptied; rldebug.inference_policy's reset() does).")
    if variant.squashed_mean and not reference.squashes_actions:
        return ("your deployment takes tanh of the Gaussian's mean before scaling it to "
                "the env's bounds; the policy's Gaussian is not squashed (a diagonal "
                "Gaussian, as PPO, APPO and IMPALA train): RLlib's evaluation takes its "
                "mean as it is and unsquashes or clips that (normalize_actions, "
                "clip_actions). Drop the tanh.")
    if variant.squashed_mean:
        return ("your deployment takes tanh of the Gaussian's mean, the greedy action "
                "of the squashed Gaussian the policy was trained with. RLlib 2.60's "
                "evaluation (explore=False) sends the mean without tanh "
                "(TorchSquashedGaussian.to_deterministic returns TorchDeterministic("
                "loc); ray/rllib/core/distribution/torch/torch_distribution.py), which "
                "parity takes as the reference: the two differ wherever |mean| is not "
                "small. Your deployment is the trained policy's greedy action; expect "
                "its returns to differ from RLlib's evaluation numbers.")
    if not variant.to_env:
        return ("your deployment hands the env the module's raw action (the Gaussian's "
                "mean, on the module's scale, where [-1, 1] maps to the env's bounds); "
                "RLlib unsquashes it to the env's bounds (normalize_actions=True) or clips "
                "it (clip_actions=True) first "
                "(ray.rllib.utils.spaces.space_utils.unsquash_action).")
    if variant.dict_order:
        return ("your deployment flattens the Dict observation in the order the env's "
                "dict holds its keys; RLlib's FlattenObservations concatenates them in "
                "sorted key order (tree.flatten; ray.rllib.utils.numpy."
                "flatten_inputs_to_1d_tensor), a Discrete part one-hot: flatten in sorted "
                "key order, or run the checkpoint's env-to-module pipeline "
                "(rldebug.inference_policy does).")
    if variant.frames_newest_first:
        return ("your deployment stacks its frames newest first; RLlib's FrameStacking "
                "puts the oldest frame first and the current one last along the last axis "
                "(ray/rllib/connectors/common/frame_stacking.py): append each new frame at "
                "the end of the stack, or run the checkpoint's env-to-module pipeline "
                "(rldebug.inference_policy does).")
    if variant.clip_unit:
        return ("your deployment clips the action to [-1, 1] after unsquashing it to the "
                "env's bounds: [-1, 1] is the module's range, which RLlib's module-to-env "
                "pipeline unsquashes from (normalize_actions=True); clip to the env's "
                "action space's low and high, or not at all (unsquash_action clips).")
    if variant.unsquash_twice:
        return ("your deployment unsquashes an action that is already in the env's "
                "bounds: RLlib's module-to-env pipeline unsquashes the module's action "
                "from [-1, 1] (normalize_actions=True; ray.rllib.utils.spaces.space_utils."
                "unsquash_action), and your code scales its result again. Scale once: "
                "either the module's raw action, or the pipeline's as it is.")
    from rldebug.shapes.mapping import map_agents

    trained, _ = map_agents(reference.parts["mapping_fn"], [a for a, _ in variant.mapping],
                            old_stack=reference.old_stack)
    shown = ", ".join(f"{a} -> {m}" for a, m in trained.items())
    return (f"your deployment sends agents to other modules than training did "
            f"({shown}); map them with the config's policy_mapping_fn "
            "(config.multi_agent(policy_mapping_fn=...)).")


def _input_hint(reference: InferencePolicy, error: str = "") -> str:
    if "dtype" in error or "Double" in error:
        return (" The module computes in float32: cast the observation "
                "(np.asarray(obs, np.float32)) before it reaches the module.")
    pieces = ", ".join(reference.user_pieces)
    if not pieces:
        return ""
    return (f" The training pipeline turns the env's observation into the module's input "
            f"with {pieces}: the module does not take the raw observation.")


def parity(checkpoint_or_algo: Any, policy: Callable, *, episodes: int | None = None,
           seed: int = 0,
           min_agreement: float = DEFAULT_MIN_AGREEMENT, atol: float = DEFAULT_ATOL,
           max_steps: int = 1000, observations: Any = None,
           trace: str | Path | None = None) -> ParityReport:
    """Compare ``policy`` (raw env observation in, env action out; a dict per agent on a
    multi-agent env) with the training pipeline of a checkpoint (a path, an Algorithm
    already built, or an :class:`InferencePolicy`). For an old-API-stack checkpoint the
    reference is ``Algorithm.compute_single_action(obs, policy_id=..., explore=False)``
    (preprocessor and observation filter, frozen).

    ``policy.reset()`` is called when an episode starts if the policy has it; a policy
    with a ``reward`` parameter gets the last step's reward.

    ``observations``: compare on observations recorded elsewhere instead of playing the
    checkpoint's env (see :func:`recorded_episodes`; one agent; rewards unknown).
    ``trace``: compare on the episodes a reproducible trace taped during training,
    played again (see :func:`traced_episodes`).

    :raises TypeError, ValueError: for a policy that is not callable, bad counts, a path
        that is no checkpoint, an old-stack recurrent policy (with the reason).
    """
    from rldebug.shapes.env_meta import agent_spaces

    if not callable(policy):
        raise UsageTypeError(f"parity(policy=...) must be a function obs -> action, got "
                             f"{type(policy).__name__}.")
    _check_signature(policy)
    if episodes is not None and (observations is not None or trace is not None):
        raise UsageError(f"parity(episodes={episodes!r}) (--episodes) counts the episodes "
                         "parity plays in the checkpoint's env; with observations= or trace= "
                         "it compares on those instead. Leave episodes out.")
    episodes = DEFAULT_EPISODES if episodes is None else episodes
    for name, value in (("episodes", episodes), ("max_steps", max_steps)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            option = " (--episodes)" if name == "episodes" else ""  # max_steps: Python only
            raise UsageError(f"parity({name}=...){option} must be an int >= 1, got {value!r}.")
    check_seed(seed, "parity(seed=...)", allow_none=False)
    if isinstance(atol, bool) or not isinstance(atol, (int, float)) or \
            not 0 <= float(atol) < float("inf"):
        raise UsageError(f"parity(atol=...) (--atol) must be a finite number >= 0, got "
                         f"{atol!r}.")
    if isinstance(min_agreement, bool) or not isinstance(min_agreement, (int, float)) or \
            not 0 < float(min_agreement) <= 1:
        raise UsageError(f"parity(min_agreement=...) (--min-agreement) must be in (0, 1], got "
                         f"{min_agreement!r}.")
    if observations is not None and trace is not None:
        raise UsageError("parity compares on recorded observations (observations=, "
                         "--observations) or on a trace's episodes (trace=, --trace), not both: "
                         "pass one.")
    if isinstance(observations, (str, Path)):
        observations = read_recorded_file(observations)  # before the checkpoint loads
    reference = _reference(checkpoint_or_algo)
    reset = getattr(policy, "reset", None)
    reset = reset if callable(reset) else None
    ask = _caller(policy)
    if trace is not None:
        _check_traced_env(trace, reference)
        env = _env(reference)
        action_spaces = [act for _, act in agent_spaces(env).values()]
        recorded = traced_episodes(trace, env)
        if not _takes_module_actions(action_spaces):
            recorded = [[obs for obs, _ in episode] for episode in recorded]
        steps, error = _play_recorded(reference, ask, reset, recorded)
    elif observations is not None:
        if reference.multi_agent:
            raise UsageError("parity(observations=...) takes one agent's observations; for a "
                             "multi-agent env parity plays the checkpoint's env.")
        space = reference.parts["observation_space"]
        space = space.get("default_agent", space) if isinstance(space, dict) else space
        steps, error = _play_recorded(reference, ask, reset,
                                      recorded_episodes(observations, space))
        action_spaces = reference.parts["action_space"]
        action_spaces = list(action_spaces.values()) if isinstance(action_spaces, dict) \
            else [action_spaces]
    else:
        env = _env(reference)
        steps, error = _play(reference, ask, reset, env, episodes, seed, max_steps)
        action_spaces = [act for _, act in agent_spaces(env).values()]
    if error:  # the policy raised at the last step
        answered = steps[:-1]
        pairs = _pairs(answered, [s.yours for s in answered], atol)
        return ParityReport(states=len(steps), agreement=_share(pairs),
                            min_agreement=float(min_agreement),
                            error=error + "." + _input_hint(reference, error))
    not_an_action = _not_an_action(steps, action_spaces)
    if not_an_action:
        pairs = _pairs(steps, [s.yours for s in steps], atol)
        return ParityReport(states=len(steps), agreement=_share(pairs),
                            min_agreement=float(min_agreement), error=not_an_action + ".",
                            mismatches=_mismatches(pairs))
    pairs = _pairs(steps, [s.yours for s in steps], atol)
    report = ParityReport(states=len(steps), agreement=_share(pairs),
                          min_agreement=float(min_agreement), decisions=len(pairs),
                          atol=float(atol), largest_difference=_largest_difference(pairs))
    if reference.multi_agent:
        agents = sorted({str(a) for _, a, _ in pairs})
        report.per_agent = {a: _share([p for p in pairs if str(p[1]) == a]) for a in agents}
    report.mismatches = _mismatches(pairs)
    if report.passed:
        return report
    report.explanation = _answer_problem(pairs) or _start_added(pairs, action_spaces)
    if report.explanation:  # the answers themselves show it: no variant is tried
        return report
    candidates: list[tuple[float, Variant]] = []
    for variant in _variants(reference, action_spaces):
        try:
            answers = _replay(reference.with_variant(**vars(variant)), steps)
        except Exception as err:  # noqa: BLE001 - a variant the module cannot run (shapes)
            report.not_runnable[variant.describe()] = f"{type(err).__name__}: {err}"[:300]
            continue
        if _share(_pairs(steps, answers, atol)) > 0.999:
            continue  # acts as the pipeline does here: it explains no difference
        share = _share(_pairs(_with(steps, answers), [s.yours for s in steps], atol))
        report.variants[variant.describe()] = share
        candidates.append((share, variant))
    if not _explains(report, candidates):  # two mistakes at once (the module on raw input)
        candidates += _pairs_that_explain(report, candidates, reference, steps, atol)
    shifted = _shifted(pairs, action_spaces)  # explains every answer: only a variant
    # Another checkpoint's weights, where nothing else explains the answers: not for
    # answers all shifted by one constant, nor for a constant answer (an early
    # checkpoint's policy can be constant too; the caution below asks for the weights).
    other = None if _explains(report, candidates) or shifted or \
        _constant_answer(pairs) is not None or reference.old_stack else \
        _other_checkpoints_weights(checkpoint_or_algo, report, steps, atol)
    report.explanation = _explanation(report, candidates, reference, pairs, said=other)
    if shifted and max((share for share, _ in candidates), default=0.0) < \
            report.min_agreement:  # the deployment matches (modules swapped) goes first
        report.explanation = shifted
    report.sampling = _sampling_agreement(pairs)
    if report.sampling is not None:
        expected, spread = report.sampling
        explained = other is not None or any(
            share >= report.agreement + EXPLAINS_BY for share, _ in candidates)
        as_often = abs(report.agreement - expected) <= 3 * spread + 0.01
        verdict = _sampler_verdict(pairs) if as_often and not explained else None
        if verdict in ("does not sample", "cannot tell"):
            report.explanation += (
                f" Its agreement ({report.agreement:.1%}) is what sampling from the action "
                "distribution would give, but " + (
                    "it does not agree more often where the greedy action is likelier, as a "
                    "sampler does, so it is not taken for one." if verdict == "does not sample"
                    else f"these {len(pairs)} decisions cannot tell whether it samples (a "
                    "sampler agrees more often where the greedy action is likelier; here the "
                    "greedy action's probability varies too little, or the decisions are too "
                    "few, to show it either way): play more episodes (--episodes)."))
        elif verdict == "samples" and _repeats_itself(steps, ask, reset):
            report.explanation += _REPEATS.format(agreement=report.agreement)
        elif verdict == "samples":
            report.explanation = (
                f"Your policy agrees with the pipeline's greedy action in "
                f"{report.agreement:.1%} of decisions, what sampling from the action "
                f"distribution would give ({expected:.1%} +/- {spread:.1%} expected), and "
                "where the greedy action is likelier it agrees more often, as a sampler "
                "does: your deployment looks like it samples (explore=True, or "
                "forward_exploration), where RLlib's evaluation takes the greedy action "
                "(explore=False, forward_inference and the distribution's "
                "to_deterministic()).")
    gaussian = None if _explains(report, candidates) or other is not None else \
        _gaussian_sampler(pairs, action_spaces)
    if gaussian is not None and _repeats_itself(steps, ask, reset):
        report.explanation += _REPEATS.format(agreement=report.agreement)
    elif gaussian is not None:
        report.explanation = gaussian
    floats = [_answer(step.yours, agent) for step, agent, ok in pairs if not ok and
              _float_as_integer(_answer(step.yours, agent), _answer(step.pipeline, agent))]
    if floats and len(floats) >= 0.5 * sum(not ok for *_, ok in pairs):
        yours = floats[0]
        report.explanation = (
            f"Your policy returns the pipeline's choice as a float ({yours!r}) in "
            f"{len(floats)} decisions, where the action space is discrete and takes an "
            "integer: env.step of many envs (gymnasium's checks, CartPole's) asserts "
            "action_space.contains(action), which refuses a float. Return int(action).")
    return report


def _other_checkpoints_weights(checkpoint: Any, report: ParityReport, steps: list[_Step],
                               atol: float, most: int = 6) -> str | None:
    """Where no variant explains the deployment: the new-stack checkpoints beside
    ``checkpoint`` (a trial's others, the ``most`` nearest by name), loaded (unpickled) and
    played on the same states. A deployment that loaded another checkpoint's weights
    matches that one's pipeline as the pipeline matches itself, so only a match of
    ``report.min_agreement`` names it. Each is added to ``report.variants``; the sentence
    for the one that explains the deployment, or None."""
    import warnings

    from rldebug.inspection.checkpoint import CHECKPOINT_JSON, UnverifiedCheckpointWarning

    if not isinstance(checkpoint, (str, Path)):
        return None
    own = Path(checkpoint).expanduser().resolve()
    try:
        if not (own / CHECKPOINT_JSON).is_file():
            return None  # an exported pipeline, or a module alone: no trial beside it
        beside = sorted(p for p in own.parent.iterdir()
                        if p != own and p.is_dir() and (p / CHECKPOINT_JSON).is_file())
    except OSError:  # a folder this user cannot list: nothing beside it to try
        return None
    order = sorted(beside + [own])
    at = order.index(own)
    nearest = sorted(beside, key=lambda p: (abs(order.index(p) - at), p.name))[:most]
    candidates = []
    for other in sorted(nearest):
        said = f"with the weights of {other.name} (beside {own.name})"
        try:
            with warnings.catch_warnings():  # one said for the checkpoint compared
                warnings.simplefilter("ignore", UnverifiedCheckpointWarning)
                answers = _replay(InferencePolicy.from_checkpoint(other), steps)
        except Exception as err:  # noqa: BLE001 - another env, another module: not it
            report.not_runnable[said] = f"{type(err).__name__}: {err}"[:300]
            continue
        share = _share(_pairs(_with(steps, answers), [s.yours for s in steps], atol))
        report.variants[said] = share
        candidates.append((share, other))
    best = max(candidates, default=None, key=lambda c: c[0])
    if best is None or best[0] < report.min_agreement:
        return None
    share, other = best
    return (f"Your policy matches the pipeline of {other.name}, the checkpoint beside "
            f"{own.name}, in {share:.1%} of {report.counted}: your deployment runs "
            f"{other.name}'s weights. Load the weights of the checkpoint you mean to "
            f"deploy ({own.name}), or compare with {other.name} if that is the one.")


# Said where the answers are spread as a sampler's would be, but the policy repeats them.
_REPEATS = (" Its agreement ({agreement:.1%}) is about what sampling from the action "
            "distribution would give, but asked again on the same observations (reset "
            "where each episode starts, the same rewards) it gave every answer again: it "
            "does not sample.")


def _repeats_itself(steps: list[_Step], ask, reset_yours) -> bool:
    """Whether the deployment, asked again at every state of ``steps`` in the same order,
    gives every answer again: a deterministic deployment (stateful or not) does, a
    sampler does not. Asked only where its answers look sampled."""
    again = []
    try:
        for step in steps:
            if step.step == 0 and reset_yours is not None:
                reset_yours()
            again.append(ask(_copy(step.obs), step.reward))
    except Exception:  # noqa: BLE001 - the user's code: it answered the first time
        return False
    return _share(_pairs(_with(steps, again), [s.yours for s in steps], 1e-9)) == 1.0


def _largest_difference(pairs) -> float | None:
    """The largest absolute difference between a continuous action of the deployment and
    the pipeline's (None when no decision is continuous or comparable)."""
    largest = None
    for step, agent, _ in pairs:
        try:
            a = np.asarray(_answer(step.yours, agent), dtype=float)
            b = np.asarray(_answer(step.pipeline, agent))
        except (TypeError, ValueError):
            continue
        if a.shape != b.shape or not np.issubdtype(b.dtype, np.floating) or not a.size:
            continue
        difference = float(np.max(np.abs(a - b.astype(float))))
        if np.isfinite(difference):
            largest = difference if largest is None else max(largest, difference)
    return largest


def _answer(actions, agent):
    """One agent's action of a step's answer (the answer itself in a single-agent env)."""
    if agent is None:
        return actions
    return actions.get(agent) if isinstance(actions, Mapping) else None


def _float_as_integer(yours, pipeline) -> bool:
    """A float that holds the integer (discrete) action the pipeline chose."""
    try:
        a, b = np.asarray(yours), np.asarray(pipeline)
        return a.shape == b.shape and _float_for_integer(a, b) and \
            bool(np.array_equal(a.astype(float), b.astype(float)))
    except (TypeError, ValueError):
        return False


def _greedy_probabilities(pairs) -> np.ndarray | None:
    """Per decision of ``pairs``, the probability the distribution gave the greedy
    action; None when any decision's distribution is not categorical."""
    probabilities = []
    for step, agent, _ in pairs:
        p = step.greedy_probability
        p = p.get(agent) if isinstance(p, Mapping) else p
        if p is None:
            return None
        probabilities.append(float(p))
    return np.asarray(probabilities) if probabilities else None


def _sampling_agreement(pairs) -> tuple[float, float] | None:
    """Expected agreement of a deployment that samples from the categorical distribution
    with the greedy action, and its standard deviation; None when any decision's
    distribution is not categorical."""
    p = _greedy_probabilities(pairs)
    if p is None:
        return None
    return float(p.mean()), float(np.sqrt(np.sum(p * (1 - p))) / len(p))


def _sampler_verdict(pairs) -> str | None:
    """Whether the deployment's agreements follow the greedy action's probability p, as
    a sampler's do (it agrees with probability p, decision by decision), or a flat rate,
    as any deployment's that agrees as often overall without looking where (one that
    always answers 0, or leaves an agent out, with a two-action policy): "samples",
    "does not sample", or "cannot tell" when the decisions fit both (the probabilities
    vary too little over them, or there are too few). None when a decision's
    distribution is not categorical.

    The statistic is the log likelihood ratio of the two; each hypothesis is kept unless
    the ratio lies more than 2 standard deviations from what it predicts."""
    p = _greedy_probabilities(pairs)
    if p is None:
        return None
    agreed = np.asarray([ok for *_, ok in pairs], dtype=bool)
    p = np.clip(p, 1e-6, 1 - 1e-6)
    rate = float(np.clip(agreed.mean(), 1e-6, 1 - 1e-6))
    log_ratio = np.where(agreed, np.log(p / rate), np.log((1 - p) / (1 - rate)))
    observed = float(log_ratio.sum())
    gap = np.log(p / (1 - p)) - np.log(rate / (1 - rate))  # how far each p is from the rate
    as_sampler = np.sum(p * np.log(p / rate) + (1 - p) * np.log((1 - p) / (1 - rate)))
    as_flat = np.sum(rate * np.log(p / rate) + (1 - rate) * np.log((1 - p) / (1 - rate)))
    sampler_fits = observed >= as_sampler - 2 * np.sqrt(np.sum(p * (1 - p) * gap ** 2))
    flat_fits = observed <= as_flat + 2 * np.sqrt(np.sum(rate * (1 - rate) * gap ** 2))
    if sampler_fits and not flat_fits:
        return "samples"
    if flat_fits and not sampler_fits:
        return "does not sample"
    return "cannot tell"


def _normal_cdf(x: float, mean: float, std: float) -> float:
    return 0.5 * (1.0 + math.erf((x - mean) / (std * math.sqrt(2.0))))


def _gaussian_sampler(pairs, action_spaces, least: int = 30) -> str | None:
    """Said when continuous answers are distributed as draws from the pipeline's
    Gaussian (then clipped to the bounds) would be: each answer's place in that
    distribution (its CDF; an answer at a bound, a place drawn evenly from the mass
    beyond it) is uniform on [0, 1] for a sampler, and a Kolmogorov-Smirnov test at
    the 1% level does not tell it from uniform, over ``least`` or more values. None
    otherwise."""
    if len(action_spaces) != 1 or not isinstance(action_spaces[0], gym.spaces.Box):
        return None
    low, high = action_spaces[0].low.astype(np.float64), action_spaces[0].high.astype(
        np.float64)
    rng = np.random.default_rng(0)
    places = []
    for step, _, _ in pairs:
        if step.action_gaussian is None:
            return None
        try:
            yours = np.asarray(step.yours, np.float64).reshape(np.shape(low))
        except (TypeError, ValueError):
            return None
        mean, std = step.action_gaussian
        for y, m, s, lo, hi in zip(yours.ravel(), np.ravel(mean), np.ravel(std),
                                   low.ravel(), high.ravel()):
            if y >= hi - 1e-6 * max(1.0, abs(hi)):
                places.append(rng.uniform(_normal_cdf(hi, m, s), 1.0))
            elif y <= lo + 1e-6 * max(1.0, abs(lo)):
                places.append(rng.uniform(0.0, _normal_cdf(lo, m, s)))
            else:
                places.append(_normal_cdf(y, m, s))
    n = len(places)
    if n < least or not np.all(np.isfinite(places)):  # NaN answers, or an unbounded scale
        return None
    places = np.sort(places)
    ks = float(max(np.max(np.arange(1, n + 1) / n - places),
                   np.max(places - np.arange(n) / n)))
    if ks > 1.63 / math.sqrt(n):  # Kolmogorov's 1% critical value
        return None
    return (f"Your policy's actions are spread as draws from the pipeline's Gaussian "
            f"(then clipped to the bounds) are: over {n} values, where each lies in that "
            f"distribution is indistinguishable from uniform (Kolmogorov-Smirnov distance "
            f"{ks:.3f}, below the 1% level's {1.63 / math.sqrt(n):.3f}), where the greedy "
            "action would sit at its middle. Your deployment looks like it samples "
            "(explore=True, forward_exploration, dist.sample()), where RLlib's evaluation "
            "takes the Gaussian's mean (explore=False, forward_inference and the "
            "distribution's to_deterministic()).")


def _start_added(pairs, action_spaces) -> str:
    """A ``Discrete(n, start=s)`` action where every differing answer is the pipeline's
    index plus ``s``: the deployment sends the env the value the space declares, where
    RLlib 2.60 sent the index itself in training (it ignores ``start``). "" otherwise."""
    starts = {int(space.start) for space in action_spaces
              if isinstance(space, gym.spaces.Discrete) and int(space.start) != 0}
    failed = [(step, agent) for step, agent, ok in pairs if not ok]
    if len(starts) != 1 or not failed:
        return ""
    (start,) = starts
    for step, agent in failed:
        yours = _as_index(_answer(step.yours, agent))
        if yours is None or yours < 0 or yours != int(_answer(step.pipeline, agent)) + start:
            return ""
    return (f"Each of your {len(failed)} differing answers is the pipeline's action plus "
            f"{start}, the start of the env's Discrete action space: RLlib 2.60 sends the "
            "env the index 0..n-1 as it is (it ignores start), so in training the env got "
            f"the index, not start + index. Return the index as RLlib does, or declare the "
            "space from 0 and add the start inside the env (`rldebug check` names it).")


def _shifted(pairs, action_spaces, least: int = 10) -> str:
    """Every answer is the pipeline's Discrete action shifted by one constant ``k`` (mod
    n): an action table or index off by ``k`` (1-based indices, a reordered list); on
    two actions, the other action every time. "" otherwise (or under ``least``
    decisions)."""
    if len(pairs) < least or not all(isinstance(space, gym.spaces.Discrete)
                                     for space in action_spaces):
        return ""
    sizes = {int(space.n) for space in action_spaces}
    if len(sizes) != 1:
        return ""
    (n,) = sizes
    shifts = set()
    for step, agent, _ in pairs:
        yours = _as_index(_answer(step.yours, agent))
        if yours is None or not 0 <= yours < n:
            return ""
        shifts.add((yours - int(_answer(step.pipeline, agent))) % n)
        if len(shifts) > 1:
            return ""
    (shift,) = shifts
    if shift == 0:
        return ""
    if n == 2:
        return (f"Each of your {len(pairs)} answers is the other of the two actions: a "
                "flipped comparison or a reversed action list in your code.")
    return (f"Each of your {len(pairs)} answers is the pipeline's action shifted by "
            f"{shift} (mod {n}): an action index or table off by {shift} in your code "
            "(1-based indices, a reordered action list, an offset added twice). Send the "
            "env the index the module's distribution chose, as RLlib does.")


def _answer_problem(pairs) -> str:
    """What the deployment's answers show by themselves, said before any variant of the
    pipeline is tried: an agent its answers leave out, or continuous actions of another
    shape than the env's. "" when they show neither."""
    failed = [(step, agent) for step, agent, ok in pairs if not ok]
    for step, agent in failed:
        if agent is None:
            break
        if not isinstance(step.yours, Mapping):
            return (f"Your deployment answers {step.yours!r:.40} (a "
                    f"{type(step.yours).__name__}) on a multi-agent env, where the env "
                    "takes a dict of actions per agent ({agent_id: action, ...}).")
        keyed = {str(k): k for k in step.yours}
        if agent not in step.yours and str(agent) in keyed:
            return (f"Your deployment's answer keys agent {agent!r} as "
                    f"{keyed[str(agent)]!r} ({type(keyed[str(agent)]).__name__}), where "
                    f"the env's agent ids are {type(agent).__name__}s: key each action "
                    "by the id the observation dict has.")
        if step.yours and isinstance(step.pipeline, Mapping) and \
                not set(step.yours) & set(step.pipeline):
            def ids(keys) -> str:
                return "[" + ", ".join(map(repr, sorted(keys, key=str))) + "]"

            return (f"Your deployment keys its answers {ids(step.yours)}, none of them an "
                    f"agent the env asked ({ids(step.pipeline)}): "
                    "key each action by the agent id the observation dict has.")
    decisions = Counter(str(agent) for _, agent, _ in pairs if agent is not None)
    missing = Counter(str(agent) for step, agent in failed if agent is not None and (
        not isinstance(step.yours, Mapping) or agent not in step.yours))
    left_out = sorted(a for a, n in missing.items() if n >= 0.5 * decisions[a])
    if left_out:
        return (f"Your deployment's answers leave out agent(s) {left_out} (in "
                f"{sum(missing[a] for a in left_out)} of their "
                f"{sum(decisions[a] for a in left_out)} decisions): a multi-agent policy "
                "answers with an action for every agent in the observation dict "
                "({agent_id: action, ...}).")
    shaped = []
    for step, agent in failed:
        yours, theirs = _answer(step.yours, agent), np.asarray(_answer(step.pipeline, agent))
        if yours is not None and np.issubdtype(theirs.dtype, np.floating) and \
                np.shape(yours) != theirs.shape:
            shaped.append((yours, theirs))
    if shaped and len(shaped) >= 0.5 * len(failed):
        yours, theirs = shaped[0]
        said = (f"Your policy's actions have shape {np.shape(yours)} (a "
                f"{type(yours).__name__}, e.g. {yours!r:.40}), the pipeline's {theirs.shape}, "
                f"the shape of the env's action space, in {len(shaped)} of "
                f"{len(failed)} differing decisions: ")
        if np.size(yours) == theirs.size:
            return said + ("return an array of that shape, e.g. "
                           f"np.asarray(action, np.float32).reshape({theirs.shape}).")
        return said + (
            f"they hold {np.size(yours)} values where the env takes {theirs.size}"
            + (" (twice as many: a Gaussian's action_dist_inputs are its mean and its log "
               "standard deviation; the action is the mean, the first half, unsquashed or "
               "clipped to the env's bounds as the pipeline does)"
               if np.size(yours) == 2 * theirs.size else "")
            + ": return one action of the env's action space.")
    return ""


def _constant_answer(pairs, least: int = 10):
    """The one action the deployment gave at every decision (``least`` or more), else None:
    a policy that may not read its observation."""
    if len(pairs) < least:
        return None
    step, agent, _ = pairs[0]
    first = _answer(step.yours, agent)
    same = all(_same(_answer(s.yours, a), first, 0.0) for s, a, _ in pairs)
    return first if same else None


def _explanation(report: ParityReport, candidates: list, reference: InferencePolicy,
                 pairs: list | None = None, said: str | None = None) -> str:
    """What explains the deployment: ``said`` (another checkpoint's weights) or the
    variant that does, with what a constant answer adds."""
    said = said or _variant_explanation(report, candidates, reference)
    constant = _constant_answer(pairs or [])
    if constant is None:
        return said
    ignores = (f"Your policy answers {constant!r:.40} at every one of the {len(pairs)} "
               "decisions, whatever the observation: it may not read it at all")
    if said.startswith("No variant"):
        return (f"{ignores} (check that it is given the observation, that its weights "
                "are loaded, and that its input is on the scale the module trained on: an "
                "observation scaled or normalised twice can saturate it into one answer). "
                f"{said}")
    return (f"{ignores}. The closest pipeline: {said} A constant answer can match a "
            "pipeline that happens to be constant on these states too: check that your "
            "deployment reads the observation before taking that for the cause.")


def _explains(report: ParityReport, candidates: list) -> bool:
    """Whether the best variant tried matches the deployment well enough to be its cause."""
    best = max((share for share, _ in candidates), default=0.0)
    return best >= report.min_agreement or best >= report.agreement + EXPLAINS_BY


def _pairs_that_explain(report: ParityReport, candidates: list, reference, steps: list,
                        atol: float) -> list[tuple[float, Variant]]:
    """Two of the variants tried, together, where one alone explains nothing (a module
    called on the raw observation, its action sent as it is: the filter and the
    unsquashing both left out). The pairs that explain are added to ``report.variants``."""
    singles = [v for _, v in candidates if not v.mapping]  # mappings: one at a time
    found = []
    for a, b in itertools.combinations(singles, 2):
        if a.without and b.without:
            continue  # one piece left out per variant
        both = replace(a, **{k: v for k, v in vars(b).items() if v != getattr(Variant(), k)})
        try:
            answers = _replay(reference.with_variant(**vars(both)), steps)
        except Exception:  # noqa: BLE001, S112 - a pair the module cannot run (shapes)
            continue
        share = _share(_pairs(_with(steps, answers), [s.yours for s in steps], atol))
        if _explains(report, [(share, both)]):
            report.variants[both.describe()] = share
            found.append((share, both))
    return found


def _variant_explanation(report: ParityReport, candidates: list,
                         reference: InferencePolicy) -> str:
    best = max((share for share, _ in candidates), default=0.0)
    if not _explains(report, candidates):
        return ("No variant of the pipeline explains the difference (one piece changed, or "
                "two together): check the greedy "
                "action (argmax, or the Gaussian's mean), the action's unsquashing/clipping "
                "to the env's bounds, and each connector piece's transform.")
    tied = [variant for share, variant in candidates if share >= best - TIE]
    if len(tied) > 1:
        return (f"Your policy matches the training pipeline in {best:.1%} of {report.counted} "
                f"{' and equally '.join(v.describe() for v in tied)}: on these states "
                "they act alike, so the run cannot tell which your deployment does. Play "
                "more or longer episodes (--episodes) to separate them.")
    return _explain(tied[0], best, report.counted, reference)


def _with(steps: list[_Step], answers: list) -> list[_Step]:
    """The steps with a variant's answers in place of the pipeline's."""
    return [_Step(s.episode, s.step, s.obs, s.reward, s.taken_before, a, s.yours)
            for s, a in zip(steps, answers)]


def _shown(action, agent):
    if agent is not None and action is not None and not isinstance(action, Mapping):
        return (f"{action!r:.60} (a {type(action).__name__}, not a dict of actions per "
                "agent)")
    if agent is not None:
        action = action.get(agent) if isinstance(action, Mapping) else None
    value = np.asarray(action) if action is not None else None
    return value.tolist() if value is not None else None


__all__ = ["DEFAULT_MIN_AGREEMENT", "ParityReport", "parity", "recorded_episodes",
           "traced_episodes"]
