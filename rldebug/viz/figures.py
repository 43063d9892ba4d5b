"""Figures drawn off-screen (Agg), independent of pyplot's global state.

Figures are created without pyplot, so a notebook shows each one once (as the
cell's value) and scripts need no display.
"""

from __future__ import annotations

import numpy as np


def new_figure(figsize: tuple[float, float]):
    """A matplotlib Figure with an Agg canvas (renders without a display)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def check_drawing(value, kind: type, caller: str, made_by: str, ax=None) -> None:
    """Refuse what a plotting function cannot draw: ``value`` not a ``kind`` (say which
    call makes one), an ``ax`` that is not a matplotlib Axes."""
    from matplotlib.axes import Axes

    from rldebug.usage import UsageTypeError

    if not isinstance(value, kind):
        raise UsageTypeError(f"{caller} draws what {made_by} returns (a {kind.__name__}), "
                             f"got {type(value).__name__}: {value!r:.60}.")
    if ax is not None and not isinstance(ax, Axes):
        raise UsageTypeError(f"{caller}(ax=...) takes a matplotlib Axes (fig.add_subplot()) "
                             f"or None, got {type(ax).__name__}: {ax!r:.60}.")


def figure_to_array(fig) -> np.ndarray:
    """The rendered figure as an RGB uint8 array (height, width, 3)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()
