"""notebooks/look_inside.ipynb runs top to bottom in a Jupyter kernel and draws pictures."""

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "look_inside.ipynb"


@pytest.mark.slow  # ~30 s: a Jupyter kernel trains and draws; explain/draw have their own tests
def test_look_inside_notebook_runs_and_draws():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(nb, kernel_name="python3", timeout=300,
                   resources={"metadata": {"path": str(NOTEBOOK.parents[1])}}).execute()
    outputs = [out for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs]
    assert not [out for out in outputs if out.output_type == "error"]
    images = [out for out in outputs if "image/png" in out.get("data", {})]
    assert len(images) >= 4  # bars, two policy maps, the explorer's drawing
    html = "".join(out["data"].get("text/html", "") for out in outputs if "data" in out)
    assert "<table>" in html  # inspect / explain summaries
    assert "data:image/png;base64" in html  # the replay animation
