"""Small, bounded numeric summaries for trace records (plain floats, JSON-ready)."""

from __future__ import annotations

import math

import numpy as np

from rldebug.shapes.outputs import to_numpy


def numeric_array(value) -> np.ndarray | None:
    """``value`` as a float array, or None for what is not numeric (Dict/Tuple observations)."""
    try:
        array = to_numpy(value)
        if not isinstance(array, np.ndarray):
            return None  # a Dict observation arrives as a dict of arrays
        return array if array.dtype.kind in "biuf" else None
    except (TypeError, ValueError):
        return None


def first_bad_row(values) -> int | None:
    """Index of the first row (first axis) holding a NaN/Inf, or None."""
    array = numeric_array(values)
    if array is None or array.size == 0:
        return None
    rows = ~np.isfinite(array.astype(np.float64).reshape(len(array), -1)).all(axis=1)
    bad = np.flatnonzero(rows)
    return int(bad[0]) if bad.size else None


def describe(values) -> dict:
    """min/max/mean/std, the count of non-finite entries and the bytes (``nbytes``, in
    the array's own dtype: what a buffer keeping them holds) of any numeric array."""
    array = numeric_array(values)
    if array is None:
        return {"skipped": "not a numeric array"}
    nbytes = int(array.nbytes)
    array = array.astype(np.float64, copy=False).ravel()
    if array.size == 0:
        return {"n": 0}
    finite = np.isfinite(array)
    n_bad = int(array.size - finite.sum())
    good = array[finite] if n_bad else array
    stats = {"n": int(array.size), "non_finite": n_bad, "nbytes": nbytes}
    if good.size:
        stats.update(min=float(good.min()), max=float(good.max()), mean=float(good.mean()),
                     std=float(good.std()))
    return stats


def histogram(values, max_bins: int = 32) -> dict:
    """Counts per value for discrete actions (at most ``max_bins`` distinct values)."""
    array = numeric_array(values)
    if array is None or array.size == 0:
        return {}
    array = array.ravel()
    if array.dtype.kind in "iub":
        uniques, counts = np.unique(array, return_counts=True)
        if len(uniques) <= max_bins:
            return {str(int(u)): int(c) for u, c in zip(uniques, counts)}
    counts, edges = np.histogram(array.astype(np.float64), bins=min(max_bins, 10))
    return {f"{edges[i]:.3g}..{edges[i + 1]:.3g}": int(c) for i, c in enumerate(counts)}


def first_non_finite(values) -> int | None:
    """Index of the first NaN/Inf in ``values`` (flattened), or None."""
    array = to_numpy(values).astype(np.float64, copy=False).ravel()
    bad = np.flatnonzero(~np.isfinite(array))
    return int(bad[0]) if bad.size else None


def is_finite_number(value) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return True


def scalar(value):
    """A plain float from a tensor/numpy scalar or an RLlib Stats object; others unchanged."""
    if hasattr(value, "peek"):
        value = value.peek()
    if hasattr(value, "item"):
        try:
            return value.item()
        except (ValueError, RuntimeError):
            return value
    return value


__all__ = [
    "describe",
    "first_bad_row",
    "first_non_finite",
    "histogram",
    "is_finite_number",
    "numeric_array",
    "scalar",
]
