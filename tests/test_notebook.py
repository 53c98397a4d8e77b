"""The planner walkthrough notebook runs top to bottom (nbclient) on a small generated county."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from sanitation.scenario.generate import generate_county

NOTEBOOK = Path(__file__).parents[1] / "notebooks" / "planner_walkthrough.ipynb"


def test_notebook_is_stored_without_outputs():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


def test_notebook_runs_on_a_generated_county(tmp_path, monkeypatch):
    scenario = generate_county(tmp_path / "county", n_points=60, n_stations=2, seed=4)
    what_if = tmp_path / "county" / "fewer_trucks.yaml"
    what_if.write_text(
        "base: scenario.yaml\nname: fewer trucks\n"
        "overrides: {fleet: {D-ST-001-compactor_5t: {count: 0}}}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("SANITATION_NOTEBOOK_SCENARIO", str(scenario))
    monkeypatch.setenv("SANITATION_NOTEBOOK_WHAT_IF", str(what_if))
    monkeypatch.setenv("SANITATION_NOTEBOOK_TIME_LIMIT", "2")
    monkeypatch.setenv("SANITATION_NOTEBOOK_ENGINE", "pyvrp")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    )
    client.execute(env=dict(os.environ))
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    text = "".join(o.get("text", "") for o in outputs)
    assert "t collected" in text
    assert any("image/png" in o.get("data", {}) for o in outputs)
