"""Two runs' curves of one metric, aligned by iteration and by env steps, and where they part.

A side is one run or several (the trials of a Tune experiment: seeds of one
config). The runs *part* at the first point from which the gap between the two
sides' mean curves stays above :data:`K_NOISE` times its noise for
:data:`SUSTAIN` points in a row, and above :data:`MIN_EFFECT` of the curves'
range. The noise is what the same config shows anyway:

- with two or more trials on either side, the standard error of the difference of
  the means, from the seeds' spread pooled over both sides at each point (smoothed
  over :data:`SMOOTH` points), never below the curves' own jitter. Three baseline seeds
  against one run of a change measure the seed spread as well as three against three;
  with only two trials in all that measure it (one degree of freedom) the gap must
  exceed :data:`K_NOISE_ONE_DOF` times it (Student's t), not :data:`K_NOISE`;
- with one trial per side, only the jitter (each curve's scatter around its own
  running mean) is known: the report says so, with how often two seeds of one config
  part on it, and asks for more seeds. The jitter is then the only guard against the
  difference two seeds make, so it is not made robust to level shifts: a side that
  collapses (a PBT trial) inflates it.

The curves are compared up to the last iteration every trial reached; the report says
what that leaves out (:attr:`MetricComparison.cut_short`).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

K_NOISE = 3.0
# Student's t, two-sided 90 %, one degree of freedom (two trials in all measure the seeds'
# spread); from two degrees of freedom on, t (2.92) is below K_NOISE
K_NOISE_ONE_DOF = 6.31
SUSTAIN = 3
SMOOTH = 5
MIN_EFFECT = 0.1
# measured by benchmarks/diff_noise.py: pairs of the fault benchmark's healthy seeds of one
# config (17 envs x algorithms, 3 seeds each) that part on the return's jitter alone
SEED_PAIRS_PARTED = "14 of 51"


@dataclass
class Curve:
    """One trial's metric: ``values[i]`` at ``iterations[i]`` and ``env_steps[i]``."""

    trial: str
    iterations: np.ndarray
    env_steps: np.ndarray
    values: np.ndarray


@dataclass
class Parting:
    """Where two sides part (``at`` is an iteration or an env-step count): the sides'
    means there (``a``, ``b``), the gap of their 3-point running means (centred on it, as
    the parting is judged) and the least gap that counted as apart (``needed``)."""

    at: float
    gap: float
    noise: float
    a: float
    b: float
    needed: float

    def to_dict(self) -> dict:
        return {k: float(v) for k, v in vars(self).items()}


@dataclass
class MetricComparison:
    """One metric of two sides: the aligned means, their noise and where they part."""

    metric: str
    axis_iterations: np.ndarray
    mean_a: np.ndarray
    mean_b: np.ndarray
    band_a: np.ndarray
    band_b: np.ndarray
    axis_env_steps: np.ndarray
    steps_mean_a: np.ndarray
    steps_mean_b: np.ndarray
    by_iteration: Parting | None
    by_env_steps: Parting | None
    noise_source: str
    final_a: float | None
    final_b: float | None
    # at the last common iteration: the gap of the smoothed means, and the least gap that
    # counts as apart there (K_NOISE times the noise, at least MIN_EFFECT of the range)
    final_gap: float | None = None
    final_needed: float | None = None
    # the iterations some trials have beyond the shortest one's end ("" when none)
    cut_short: str = ""

    @property
    def parts(self) -> bool:
        return self.by_iteration is not None or self.by_env_steps is not None

    @property
    def too_short(self) -> bool:
        """Whether the sides share fewer iterations than a parting needs (``SUSTAIN`` in
        a row): no gap, however large, could count."""
        return len(self.axis_iterations) < SUSTAIN

    @property
    def only_in(self) -> str | None:
        """"a" or "b" when only that side reports the metric (nothing to compare it with:
        another stack or env names it otherwise, or the other never logged it)."""
        a, b = np.isfinite(self.mean_a).any(), np.isfinite(self.mean_b).any()
        return None if a == b else ("a" if a else "b")

    def to_dict(self) -> dict[str, Any]:
        return {"metric": self.metric, "parts": self.parts, "only_in": self.only_in,
                "parts_at_iteration": None if self.by_iteration is None
                else self.by_iteration.to_dict(),
                "parts_at_env_steps": None if self.by_env_steps is None
                else self.by_env_steps.to_dict(),
                "noise": self.noise_source, "final_a": self.final_a, "final_b": self.final_b,
                "final_gap": self.final_gap, "final_needed": self.final_needed,
                "cut_short": self.cut_short or None,
                "iterations": self.axis_iterations.tolist(),
                "mean_a": _nan_to_none(self.mean_a), "mean_b": _nan_to_none(self.mean_b)}


def _nan_to_none(values: np.ndarray) -> list:
    return [None if not np.isfinite(v) else float(v) for v in values]


def curve(trial: str, results: list[dict], value_of: Callable[[dict], float | None]) -> Curve:
    """``value_of(result)`` over a trial's results, with each result's iteration and
    env steps (a missing value is NaN)."""
    from rldebug.shapes.results import env_steps_total

    iterations, steps, values = [], [], []
    for index, result in enumerate(results):
        iterations.append(int(result.get("training_iteration") or index + 1))
        steps.append(float(env_steps_total(result) or np.nan))
        value = value_of(result)
        values.append(np.nan if value is None else float(value))
    return Curve(trial, np.asarray(iterations), np.asarray(steps, dtype=float),
                 np.asarray(values, dtype=float))


def _running_mean(values: np.ndarray, width: int) -> np.ndarray:
    out = np.full(values.shape, np.nan)
    half = width // 2
    for i in range(len(values)):
        window = values[max(0, i - half):i + half + 1]
        window = window[np.isfinite(window)]
        if window.size:
            out[i] = window.mean()
    return out


def jitter(curves: list[Curve]) -> float:
    """Pooled scatter of the curves around their own running means (0 if unknown)."""
    residuals = []
    for c in curves:
        residual = c.values - _running_mean(c.values, SMOOTH)
        residuals.append(residual[np.isfinite(residual)])
    pooled = np.concatenate(residuals) if residuals else np.array([])
    return float(np.sqrt(np.mean(pooled ** 2))) if pooled.size > 1 else 0.0


def _on_grid(curves: list[Curve], grid: np.ndarray, by: str) -> np.ndarray:
    """Each curve's values at ``grid`` points of its ``by`` axis (NaN outside it)."""
    rows = []
    for c in curves:
        x = getattr(c, by).astype(float)
        ok = np.isfinite(x) & ~np.isnan(c.values)  # an inf value is a value (a KL blew up)
        if not ok.any():  # one point is a value too (a run of one iteration)
            rows.append(np.full(grid.shape, np.nan))
            continue
        with np.errstate(invalid="ignore"):  # inf - inf between two inf values
            row = np.interp(grid, x[ok], c.values[ok], left=np.nan, right=np.nan)
        exact = np.isin(grid, x[ok])  # a value at a grid point is taken as it is (inf too)
        row[exact] = [c.values[ok][np.flatnonzero(x[ok] == g)[-1]] for g in grid[exact]]
        rows.append(row)
    return np.vstack(rows)


def _side(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Mean, variance across trials (NaN with one trial), number of trials."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns stay NaN
        mean = np.nanmean(rows, axis=0)
        var = (np.nanvar(rows, axis=0, ddof=1) if rows.shape[0] > 1
               else np.full(rows.shape[1], np.nan))
    return mean, var, rows.shape[0]


def _gap_and_needed(side_a: tuple, side_b: tuple, floor: float
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per point: the gap of the sides' smoothed means, their noise, and the least gap
    that counts as apart (``K_NOISE`` times the noise, at least ``MIN_EFFECT`` of the
    curves' range)."""
    mean_a, var_a, n_a = side_a
    mean_b, var_b, n_b = side_b
    gap = _running_mean(mean_a, 3) - _running_mean(mean_b, 3)
    noise, k = np.full(gap.shape, floor), K_NOISE
    dof = (n_a - 1) + (n_b - 1)
    if dof > 0:  # the seeds' spread, pooled over the sides that have seeds
        squares = sum(np.nan_to_num(var) * (n - 1) for var, n in ((var_a, n_a), (var_b, n_b))
                      if n > 1)
        standard_error = np.sqrt(squares / dof * (1 / n_a + 1 / n_b))
        noise = np.fmax(_running_mean(standard_error, SMOOTH), floor)
        k = K_NOISE_ONE_DOF if dof == 1 else K_NOISE
    both = np.concatenate([mean_a[np.isfinite(mean_a)], mean_b[np.isfinite(mean_b)]])
    scale = float(both.max() - both.min()) if both.size else 0.0
    return gap, noise, np.fmax(k * noise, MIN_EFFECT * scale)


def first_parting(axis: np.ndarray, side_a: tuple, side_b: tuple,
                  floor: float) -> Parting | None:
    """Where the sides (``_side``: mean, variance, trials) part on ``axis``, or None."""
    gap, noise, needed = _gap_and_needed(side_a, side_b, floor)
    apart = np.isfinite(gap) & (np.abs(gap) > needed) & (np.abs(gap) > 0)
    for i in range(len(axis) - SUSTAIN + 1):
        stretch = slice(i, i + SUSTAIN)
        if apart[stretch].all() and len(set(np.sign(gap[stretch]))) == 1:
            return Parting(at=float(axis[i]), gap=float(gap[i]), noise=float(noise[i]),
                           a=float(side_a[0][i]), b=float(side_b[0][i]),
                           needed=float(needed[i]))
    return None


def compare(metric: str, curves_a: list[Curve], curves_b: list[Curve]) -> MetricComparison:
    """Align both sides by iteration and by env steps and find where they part."""
    last = min(int(np.nanmax(c.iterations)) for c in curves_a + curves_b)
    first = max(int(np.nanmin(c.iterations)) for c in curves_a + curves_b)
    iterations = np.arange(first, last + 1) if last >= first else np.array([], dtype=int)
    side_a = _side(_on_grid(curves_a, iterations.astype(float), "iterations"))
    side_b = _side(_on_grid(curves_b, iterations.astype(float), "iterations"))
    floor = float(np.hypot(jitter(curves_a), jitter(curves_b)))
    by_iteration = first_parting(iterations, side_a, side_b, floor)
    (mean_a, var_a, _), (mean_b, var_b, _) = side_a, side_b

    starts = [np.nanmin(c.env_steps) for c in curves_a + curves_b if np.isfinite(c.env_steps).any()]
    ends = [np.nanmax(c.env_steps) for c in curves_a + curves_b if np.isfinite(c.env_steps).any()]
    if starts and len(starts) == len(curves_a + curves_b) and max(starts) < min(ends):
        # as many points as iterations: SUSTAIN points in a row mean the same on both axes
        grid = np.linspace(max(starts), min(ends), max(len(iterations), 2))
        steps_side_a = _side(_on_grid(curves_a, grid, "env_steps"))
        steps_side_b = _side(_on_grid(curves_b, grid, "env_steps"))
        by_steps = first_parting(grid, steps_side_a, steps_side_b, floor)
        steps_a, steps_b = steps_side_a[0], steps_side_b[0]
    else:
        grid, by_steps = np.array([]), None
        steps_a = steps_b = np.array([])
    seeds = len(curves_a) > 1 or len(curves_b) > 1
    noise_source = (f"across seeds ({len(curves_a)} and {len(curves_b)} trials), at least the "
                    "curves' jitter" if seeds else
                    "the curves' jitter only (one trial per side), which does not measure the "
                    f"difference seeds make: {SEED_PAIRS_PARTED} pairs of seeds of one config "
                    "in rldebug's fault benchmark part on it. Run two or more seeds on a side "
                    "(the baseline's, say) to measure it")
    gap, _, needed = _gap_and_needed(side_a, side_b, floor)
    last_known = np.flatnonzero(np.isfinite(gap))
    final_gap = final_needed = None
    if last_known.size:
        final_gap, final_needed = float(gap[last_known[-1]]), float(needed[last_known[-1]])
    return MetricComparison(
        cut_short=_cut_short(curves_a, curves_b, last),
        metric=metric, axis_iterations=iterations, mean_a=mean_a, mean_b=mean_b,
        band_a=np.sqrt(var_a), band_b=np.sqrt(var_b), axis_env_steps=grid,
        steps_mean_a=steps_a, steps_mean_b=steps_b, by_iteration=by_iteration,
        by_env_steps=by_steps, noise_source=noise_source,
        final_a=_last_finite(mean_a), final_b=_last_finite(mean_b),
        final_gap=final_gap, final_needed=final_needed)


def _cut_short(curves_a: list[Curve], curves_b: list[Curve], last: int) -> str:
    """What the comparison leaves out: it ends at ``last``, the last iteration every trial
    reached (a mean over fewer trials past it would mix in which trials stopped, and a
    trial a stop criterion ended early is often the best), and some trials went on."""
    longer = [(name, c) for name, side in (("a", curves_a), ("b", curves_b)) for c in side
              if int(np.nanmax(c.iterations)) > last]
    if not longer:
        return ""
    shortest = min(curves_a + curves_b, key=lambda c: int(np.nanmax(c.iterations)))
    went_on = ", ".join(f"{name}'s {c.trial} to {int(np.nanmax(c.iterations))}"
                        for name, c in longer[:4]) + (", ..." if len(longer) > 4 else "")
    return (f"compared through iteration {last}, where the shortest trial "
            f"({shortest.trial}) ends; left out: {went_on}. Diff the longer trials' "
            "directories on their own to see the rest")


def _last_finite(values: np.ndarray) -> float | None:
    finite = values[np.isfinite(values)]
    return float(finite[-1]) if finite.size else None


__all__ = ["K_NOISE", "K_NOISE_ONE_DOF", "MIN_EFFECT", "SEED_PAIRS_PARTED", "SUSTAIN", "Curve",
           "MetricComparison", "Parting", "compare", "curve", "first_parting", "jitter"]
