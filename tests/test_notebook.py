"""The walkthrough notebook runs top to bottom (so it never goes stale) and reports what it claims."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "walkthrough.ipynb"


@pytest.mark.slow
@pytest.mark.skipif(not (ROOT / "corpora" / "demo").exists(), reason="demo corpus corpora/demo not found")
def test_walkthrough_notebook_executes_and_reports_agreement():
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    client.execute()  # raises CellExecutionError on any failing cell
    outputs = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for out in cell.get("outputs", []):
            outputs.append(out.get("text", "") + str(out.get("data", {}).get("text/plain", "")))
    text = "\n".join(outputs)
    assert "5 documents" in text
    assert "Interpretation: Krippendorff's alpha: >= 0.800 reliable" in text
    assert "Fleiss' kappa" in text  # three coders compared at once
    assert "agreement.html" in text and " bytes" in text
