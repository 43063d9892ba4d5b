"""notebooks/arena_metrics.ipynb runs top to bottom in a Jupyter kernel and draws its plot."""

import os
from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).parent.parent / "notebooks" / "arena_metrics.ipynb"


def test_arena_metrics_notebook_executes(tmp_path, monkeypatch):
    monkeypatch.setenv("RLDEBUG_SMOKE", "1")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.output_type == "error"]
    assert not errors
    images = [o for c in nb.cells for o in c.get("outputs", [])
              if "image/png" in o.get("data", {})]
    assert images, "the plot cell should display a figure"
    run_dir = eval(nb.cells[2].outputs[-1]["data"]["text/plain"])
    assert os.path.getsize(Path(run_dir) / "arena_metrics.png") > 10_000
