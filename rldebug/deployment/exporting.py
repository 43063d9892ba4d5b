"""``export(checkpoint, out)``: a checkpoint's inference pipeline in a folder of its own.

``OUT/inference_policy.pkl`` holds the pipeline's parts (connector pipelines with their
saved state, the RLModule(s), the spaces and the agent-to-module mapping);
``rldebug.inference_policy(OUT)`` loads it as the same :class:`InferencePolicy` a
checkpoint gives, with no Algorithm and no Ray started. ``onnx=True`` also writes
``OUT/policy.onnx`` and ``OUT/onnx_policy.py``, the whole greedy pipeline as one graph
(the observation filter's saved statistics folded in, the action unsquashed or clipped
to the env's bounds) run by onnxruntime and numpy alone, for pipelines a graph can hold:
one agent, no piece that looks back over the episode (frame stacks, recurrent state,
previous actions) and no piece but RLlib's ``MeanStdFilter``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

from rldebug.deployment.pipeline import EXPORTED_PARTS, InferencePolicy, env_named
from rldebug.usage import UsageError, check_bool, check_can_write, path_argument

ONNX_FILE = "policy.onnx"
ONNX_RUNNER = "onnx_policy.py"
ONNX_META = "onnx.json"
#: every file an export writes (and, with ``overwrite``, replaces); __pycache__ is
#: Python's, left by importing the ONNX runner
EXPORT_FILES = (EXPORTED_PARTS, ONNX_FILE, ONNX_FILE + ".data", ONNX_RUNNER, ONNX_META,
                "__pycache__")
#: the pieces an ONNX graph can fold in (each stateless at inference)
FOLDABLE = frozenset({"MeanStdFilter"})


def export(checkpoint: str | Path | InferencePolicy, out: str | Path, *, onnx: bool = False,
           overwrite: bool = False) -> Path:
    """Write the checkpoint's inference pipeline to the folder ``out``; returns it.

    :raises CheckpointError: for a path that is not a new-stack checkpoint.
    :raises UsageError: for an ``out`` that exists and is not empty (unless
        ``overwrite``), or ``onnx=True`` on a pipeline a graph cannot hold (naming why).
    """
    from ray import cloudpickle

    out = path_argument(out, "export(out=...)", "the folder to write")  # checked first
    onnx = check_bool(onnx, "export(onnx=...)")
    overwrite = check_bool(overwrite, "export(overwrite=...)")
    if not isinstance(checkpoint, InferencePolicy):
        path_argument(checkpoint, "export(checkpoint=...)",
                      "a checkpoint folder or an InferencePolicy")
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out} is a file; export writes a folder. Choose a new folder name.")
    replace_contents = out.exists() and any(out.iterdir())
    if replace_contents and not overwrite:
        raise UsageError(f"{out} is a folder that is not empty; choose another folder or "
                         "pass overwrite=True (--overwrite) to replace its contents.")
    check_can_write(out, "export(out=...)")
    if replace_contents:
        _check_replaceable(out)
    policy = checkpoint if isinstance(checkpoint, InferencePolicy) else \
        InferencePolicy.from_checkpoint(checkpoint)
    if onnx:
        _check_onnx_possible(policy)  # before anything is removed or written
    if replace_contents:
        for name in EXPORT_FILES:
            path = out / name
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
    out.mkdir(parents=True, exist_ok=True)
    parts = {**policy.parts, "env": env_named(policy.parts["env"])}
    with _by_value(parts["mapping_fn"]):
        (out / EXPORTED_PARTS).write_bytes(cloudpickle.dumps(parts))
    if onnx:
        _write_onnx(policy, out)
    return out


@contextlib.contextmanager
def _by_value(function):
    """Pickle the agent-to-module mapping (and what its module defines) by value: pickled
    by reference, as cloudpickle pickles what an importable module defines, the export
    would need the user's module to load. RLlib's, rldebug's and installed libraries'
    functions stay by reference."""
    from ray import cloudpickle

    module = sys.modules.get(getattr(function, "__module__", None) or "")
    path = str(getattr(module, "__file__", None) or "")
    installed = "site-packages" in path or "dist-packages" in path
    users_own = module is not None and module.__name__ != "__main__" and path and \
        not installed and module.__name__.split(".")[0] not in ("rldebug", "ray")
    if not users_own:
        yield
        return
    cloudpickle.register_pickle_by_value(module)
    try:
        yield
    finally:
        cloudpickle.unregister_pickle_by_value(module)


def _check_replaceable(out: Path) -> None:
    """``overwrite`` replaces an earlier export, and nothing else: a folder with other
    files (a checkpoint, a run, the user's data) is refused, naming some of them."""
    if not (out / EXPORTED_PARTS).is_file():
        raise UsageError(f"{out} is not a folder rldebug export wrote (it has no "
                         f"{EXPORTED_PARTS}); overwrite=True (--overwrite) replaces only an "
                         "earlier export. Choose a new or empty folder.")
    others = sorted(p.name for p in out.iterdir() if p.name not in EXPORT_FILES)
    if others:
        shown = ", ".join(others[:5]) + (", ..." if len(others) > 5 else "")
        raise UsageError(f"{out} holds files rldebug export did not write ({shown}); "
                         "overwrite=True (--overwrite) replaces only an earlier export, not "
                         "a folder with other files in it. Choose a new or empty folder.")


def _check_onnx_possible(policy: InferencePolicy) -> None:
    import gymnasium as gym

    problems = []
    if policy.multi_agent:
        problems.append("the env is multi-agent (a graph holds one agent's pipeline)")
    others = [p for p in policy.user_pieces if p not in FOLDABLE]
    if others:
        problems.append(f"its env-to-module pipeline has {', '.join(others)} (only "
                        f"{', '.join(sorted(FOLDABLE))} folds into a graph)")
    parts = policy.parts
    if not policy.multi_agent:
        module = parts["modules"][parts["module_id"]]
        if module.is_stateful():
            problems.append("its RLModule is stateful (a recurrent state between steps)")
        if not isinstance(parts["observation_space"], gym.spaces.Box):
            problems.append(f"its observation space is {type(parts['observation_space']).__name__}, "
                            "not a Box")
    if problems:
        raise UsageError("This pipeline cannot be one ONNX graph: " + "; ".join(problems)
                         + ". Export it without --onnx and load it with "
                           "rldebug.inference_policy(folder).")
    try:
        import onnx  # noqa: F401
    except ImportError as err:
        raise UsageError(f"--onnx needs the onnx package ({err}): pip install "
                         "'rldebug[onnx]'.") from None


def _filter_constants(policy: InferencePolicy) -> dict | None:
    """The MeanStdFilter's saved statistics, as the graph applies them."""
    from ray.rllib.utils.filter import RunningStat

    for piece in policy.parts["env_to_module"].connectors:
        if type(piece).__name__ == "MeanStdFilter":
            (state,) = piece.get_state().values()
            (stats,) = state["running_stats"]
            running = RunningStat.from_state(stats)
            return {"mean": np.asarray(running.mean, np.float32),
                    "std": np.asarray(running.std, np.float32),
                    "demean": bool(state["de_mean_to_zero"]),
                    "destd": bool(state["de_std_to_one"]),
                    "clip": float(state["clip_by_value"] or 0.0)}
    return None


def _greedy_graph(policy: InferencePolicy):
    """A torch module: raw observation batch in, env action batch out."""
    import gymnasium as gym
    import torch
    from ray.rllib.core.columns import Columns
    from ray.rllib.utils.filter import SMALL_NUMBER

    parts = policy.parts
    module = parts["modules"][parts["module_id"]]
    filt = _filter_constants(policy)
    space = parts["action_space"]
    config = policy.parts.get("action_handling", {})

    class Greedy(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.module = module

        def forward(self, obs):
            x = obs
            if filt is not None:
                if filt["demean"]:
                    x = x - torch.as_tensor(filt["mean"])
                if filt["destd"]:
                    x = x / (torch.as_tensor(filt["std"]) + SMALL_NUMBER)
                if filt["clip"]:
                    x = torch.clamp(x, -filt["clip"], filt["clip"])
            out = self.module.forward_inference({Columns.OBS: x})
            if Columns.ACTIONS in out:  # modules that choose the action (DQN)
                action = out[Columns.ACTIONS]
            else:
                dist = self.module.get_inference_action_dist_cls().from_logits(
                    out[Columns.ACTION_DIST_INPUTS])
                action = dist.to_deterministic().sample()
            if isinstance(space, gym.spaces.Box):
                low = torch.as_tensor(space.low, dtype=action.dtype)
                high = torch.as_tensor(space.high, dtype=action.dtype)
                if config.get("normalize_actions") and np.all(space.bounded_below) and \
                        np.all(space.bounded_above):
                    action = low + (action + 1.0) * (high - low) / 2.0
                    action = torch.maximum(torch.minimum(action, high), low)
                elif config.get("clip_actions"):
                    action = torch.maximum(torch.minimum(action, high), low)
            return action

    return Greedy().eval()


def _write_onnx(policy: InferencePolicy, out: Path) -> None:
    import warnings

    import gymnasium as gym
    import torch

    parts = policy.parts
    space = parts["observation_space"]
    graph = _greedy_graph(policy)
    example = torch.as_tensor(np.stack([space.sample(), space.sample()]).astype(np.float32))
    target = str(out / ONNX_FILE)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:  # TorchScript's exporter: fast, and enough for most modules
            with _output_kept_back():  # it prints its whole graph when an operator fails
                torch.onnx.export(graph, (example,), target, input_names=["obs"],
                                  output_names=["action"], dynamo=False,
                                  dynamic_axes={"obs": {0: "batch"}, "action": {0: "batch"}})
        except torch.onnx.errors.UnsupportedOperatorError as err:
            # e.g. DQN's dueling head (aten::nanmean): torch.export's exporter decomposes it
            try:
                import onnxscript  # noqa: F401
            except ImportError:
                raise UsageError(f"This module cannot be exported by torch's TorchScript ONNX "
                                 f"exporter ({err}); its torch.export exporter would need "
                                 "onnxscript: pip install 'rldebug[onnx]'.") from None
            _quiet_dynamo_exporter()
            torch.onnx.export(graph, (example,), target, input_names=["obs"],
                              output_names=["action"], dynamo=True, verbose=False,
                              dynamic_shapes={"obs": {0: torch.export.Dim("batch")}})
    action_space = parts["action_space"]
    # A Discrete(n, start=s) action is sent as RLlib's pipeline sends it: 0..n-1, the
    # module's index (RLlib 2.60 adds no start; inference_policy does as it does).
    meta = {"observation_shape": list(space.shape),
            "discrete": isinstance(action_space, gym.spaces.Discrete)}
    (out / ONNX_META).write_text(json.dumps(meta, indent=1) + "\n")
    (out / ONNX_RUNNER).write_text(_RUNNER)


@contextlib.contextmanager
def _output_kept_back():
    """Hold back what is written to this process's stdout and stderr, also by C++ (torch's
    TorchScript exporter prints its IR graph there before it raises)."""
    streams = [s for s in (sys.stdout, sys.stderr) if s is not None]
    for stream in streams:
        stream.flush()
    try:
        saved = [os.dup(1), os.dup(2)]
    except OSError:  # no stdout or stderr to hold back (pythonw, a closed fd)
        yield
        return
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            for stream in streams:
                stream.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)


def _quiet_dynamo_exporter() -> None:
    """torch.export's ONNX exporter logs a warning per torchvision operator it skips."""
    import logging

    logging.getLogger("torch.onnx._internal.exporter._registration").setLevel(logging.ERROR)


_RUNNER = '''"""The exported greedy policy, run by onnxruntime and numpy alone (written by rldebug).

    from onnx_policy import OnnxPolicy
    policy = OnnxPolicy("path/to/this/folder")
    action = policy(obs)          # the env's raw observation in, the env's action out
"""

import json
from pathlib import Path

import numpy as np
import onnxruntime


class OnnxPolicy:
    def __init__(self, folder=Path(__file__).parent):
        folder = Path(folder)
        self.meta = json.loads((folder / "onnx.json").read_text())
        self.session = onnxruntime.InferenceSession(str(folder / "policy.onnx"),
                                                    providers=["CPUExecutionProvider"])

    def __call__(self, obs):
        shape = tuple(self.meta["observation_shape"])
        try:
            array = np.asarray(obs, np.float32)
        except (TypeError, ValueError) as error:
            raise ValueError(f"OnnxPolicy takes the env's raw observation, an array of shape "
                             f"{shape}; got a {type(obs).__name__} ({error}).") from None
        if array.shape != shape:  # a batch of one, or another env's: not reshaped silently
            raise ValueError(f"OnnxPolicy takes the env's raw observation, of shape {shape}; "
                             f"got one of shape {array.shape}.")
        batch = array.reshape((1, *shape))
        (action,) = self.session.run(["action"], {"obs": batch})
        if self.meta["discrete"]:
            return int(action[0])
        return action[0]
'''


__all__ = ["ONNX_FILE", "ONNX_RUNNER", "export"]
