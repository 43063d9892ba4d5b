"""Deployed policies for the parity tests, as a user would write them."""

import os

import numpy as np
import torch

_module = None


def module_argmax(obs):
    """Deployed the way that looks right and is not: the checkpoint's RLModule alone,
    argmax of its logits on the raw observation (no observation filter)."""
    global _module
    if _module is None:
        import rldebug

        modules = rldebug.load(os.environ["RLDEBUG_PARITY_CHECKPOINT"], modules_only=True)
        _module = modules["default_policy"]
    with torch.no_grad():
        out = _module.forward_inference({"obs": torch.as_tensor(np.asarray(obs, np.float32)[None])})
    return int(out["action_dist_inputs"].argmax(-1)[0])


def gaussian_mean(obs):
    """A continuous policy deployed as the module's Gaussian mean, not unsquashed to the
    env's bounds (Pendulum: [-2, 2])."""
    global _module
    if _module is None:
        import rldebug

        modules = rldebug.load(os.environ["RLDEBUG_PARITY_CHECKPOINT"], modules_only=True)
        _module = modules["default_policy"]
    with torch.no_grad():
        out = _module.forward_inference({"obs": torch.as_tensor(np.asarray(obs, np.float32)[None])})
    inputs = out["action_dist_inputs"][0].numpy()
    return inputs[: len(inputs) // 2]
