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


def figure_to_array(fig) -> np.ndarray:
    """The rendered figure as an RGB uint8 array (height, width, 3)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()
