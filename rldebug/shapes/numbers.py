"""Non-finite values in whatever RLlib hands over: numbers, arrays, tensors, nested dicts."""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def has_non_finite(value: Any) -> bool:
    """True if ``value`` (number, array, tensor, or nested dict/list/tuple) holds NaN or inf."""
    kind = type(value)
    if kind is np.ndarray:  # the common case, every env step: no dtype hierarchy walk
        return value.dtype.kind in "fc" and not bool(np.isfinite(value).all())
    if kind is float:
        return not math.isfinite(value)
    if value is None or isinstance(value, (str, bytes, bool, int, np.integer)):
        return False
    if isinstance(value, dict):
        return any(has_non_finite(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(has_non_finite(v) for v in value)
    if isinstance(value, float):
        return not math.isfinite(value)
    if hasattr(value, "detach"):  # torch tensor
        value = value.detach().cpu().numpy()
    array = np.asarray(value)
    if not (np.issubdtype(array.dtype, np.floating)
            or np.issubdtype(array.dtype, np.complexfloating)):
        return False
    return not bool(np.isfinite(array).all())


__all__ = ["has_non_finite"]
