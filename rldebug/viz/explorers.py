"""``explorer(algo)``: move both arena agents with sliders, watch both policies respond."""

from __future__ import annotations

import numpy as np

from rldebug.usage import UsageError
from rldebug.viz._arena import arena_of, check_position, observation
from rldebug.viz.bars import plot_action_probs
from rldebug.viz.figures import new_figure


class Explorer:
    """Sliders for both agents' (row, col) and, below, the board and both policies' bars.

    ``explanations`` holds the latest :class:`~rldebug.inspection.Explanation` per agent
    and ``figure`` the latest matplotlib Figure; :meth:`set_positions` moves the
    agents from code (the sliders follow).
    """

    def __init__(self, algo):
        import ipywidgets as widgets

        self.algo = algo
        self.env = arena_of(algo)
        self.agents = list(self.env.possible_agents)[:2]
        h, w = self.env.height, self.env.width
        starts = {self.agents[0]: (0, 0), self.agents[1]: (h - 1, w - 1)}
        self.sliders = {}
        for aid in self.agents:
            row = widgets.IntSlider(value=starts[aid][0], min=0, max=h - 1,
                                    description=f"{aid} row")
            col = widgets.IntSlider(value=starts[aid][1], min=0, max=w - 1,
                                    description=f"{aid} col")
            self.sliders[aid] = (row, col)
        self.output = widgets.Output()
        self.explanations: dict = {}
        self.figure = None
        self._updating = False
        for row, col in self.sliders.values():
            row.observe(self._on_change, names="value")
            col.observe(self._on_change, names="value")
        controls = [widgets.HBox(list(pair)) for pair in self.sliders.values()]
        self.widget = widgets.VBox(controls + [self.output])
        self.update()

    def positions(self) -> dict:
        """Current (row, col) of each agent."""
        return {aid: (row.value, col.value) for aid, (row, col) in self.sliders.items()}

    def set_positions(self, **positions) -> None:
        """Move agents, e.g. ``set_positions(agent1=(2, 3))``, and redraw once."""
        moved = {}
        for aid, pos in positions.items():
            if aid not in self.sliders:
                raise UsageError(f"Unknown agent {aid!r}; the arena's agents are "
                                 f"{self.agents}.")
            moved[aid] = check_position(self.env, pos, aid)
        cells = {**self.positions(), **moved}
        if len(set(cells.values())) < len(cells):
            raise UsageError(f"set_positions: the agents would share a cell ({cells}); the "
                             "arena never puts them on one (a move onto the other agent is "
                             "blocked), so the policy has never seen that observation.")
        self._updating = True
        try:
            for aid, (row, col) in moved.items():
                self.sliders[aid][0].value, self.sliders[aid][1].value = row, col
        finally:
            self._updating = False
        self.update()

    def _on_change(self, _change) -> None:
        if not self._updating:
            self.update()

    def update(self) -> None:
        """Explain both agents' observations at the current positions and redraw."""
        from IPython import get_ipython
        from IPython.display import display

        from rldebug.inspection import explain

        pos = self.positions()
        a, b = self.agents
        self.explanations = {
            a: explain(self.algo, observation(self.env, pos[a], pos[b]), agent_id=a),
            b: explain(self.algo, observation(self.env, pos[b], pos[a]), agent_id=b),
        }
        self.figure = self._draw(pos)
        if get_ipython() is None:  # no notebook to show it in
            return
        self.output.clear_output(wait=True)
        with self.output:
            display(self.figure)

    def _draw(self, pos: dict):
        fig = new_figure((10, 3))
        board, *bars = fig.subplots(1, 3, width_ratios=[1, 1.2, 1.2])
        board.imshow(np.zeros((self.env.height, self.env.width)), cmap="Greys", vmin=0, vmax=1)
        for aid, colour in zip(self.agents, ("tab:green", "tab:red")):
            r, c = pos[aid]
            board.scatter([c], [r], s=180, color=colour, edgecolors="black", label=aid)
        board.set_xticks(range(self.env.width))
        board.set_yticks(range(self.env.height))
        board.tick_params(labelsize=6)
        board.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1, 1), frameon=False)
        for ax, aid in zip(bars, self.agents):
            plot_action_probs(self.explanations[aid], ax=ax)
        return fig

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)


def explorer(algo) -> Explorer:
    """An interactive arena explorer for notebooks (ipywidgets).

    :param algo: a built Algorithm on the arena (either API stack).
    :returns: an :class:`Explorer`; display it (last expression of a cell).
    """
    return Explorer(algo)
