"""Deployed policies for the parity tests, as a user would write them: the checkpoint's
RLModule alone (``RLDEBUG_PARITY_CHECKPOINT``), called on the raw observation."""

import os

import numpy as np
import torch

_module = None


def _dist_inputs(obs) -> np.ndarray:
    """The deployed module's action-distribution inputs for one raw observation."""
    global _module
    if _module is None:
        import rldebug

        modules = rldebug.load(os.environ["RLDEBUG_PARITY_CHECKPOINT"], modules_only=True)
        _module = modules["default_policy"]
    with torch.no_grad():
        out = _module.forward_inference({"obs": torch.as_tensor(np.asarray(obs, np.float32)[None])})
    return out["action_dist_inputs"][0].numpy()


def module_argmax(obs):
    """Deployed the way that looks right and is not: argmax of the logits on the raw
    observation (no observation filter)."""
    return int(np.argmax(_dist_inputs(obs)))


def gaussian_mean(obs):
    """A continuous policy deployed as the module's Gaussian mean, not unsquashed to the
    env's bounds (Pendulum: [-2, 2])."""
    inputs = _dist_inputs(obs)
    return inputs[: len(inputs) // 2]
