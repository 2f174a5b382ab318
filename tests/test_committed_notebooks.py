"""The committed notebooks carry complete, current outputs of a default-profile run.

``make notebooks`` re-executes them in order and stamps each with a hash of its code
and of course_lib; a notebook edited (or a course_lib changed) since then fails here.
"""
import nbformat
import pytest

from course_lib.tooling import checkout, refresh, summary

NAMES = list(summary.HEADLINES)


def committed(name: str):
    path = checkout.NOTEBOOK_DIR / f"{name}.ipynb"
    if not path.exists():
        pytest.fail(f"{path.name} is missing")
    return nbformat.read(path, as_version=4)


def test_all_six_notebooks_are_here():
    assert checkout.notebooks() == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_outputs_are_complete_and_current(name):
    nb = committed(name)
    stamp = nb.metadata.get("course", {}).get("stamp")
    assert stamp, f"{name} was never executed with `make notebooks`"
    assert stamp == refresh.source_stamp(nb), f"{name}'s outputs are stale: run `make notebooks` and commit"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1)), f"{name} was not run top to bottom"
    for cell in code:
        assert not any(o.get("output_type") == "error" for o in cell.outputs), f"{name} has an error output"
    tags = [c.metadata.get("tags", []) for c in code]
    assert sum("parameters" in t for t in tags) == 1, f"{name} needs exactly one `parameters` cell"
    assert nb.metadata.kernelspec.name == checkout.KERNEL


@pytest.mark.parametrize("name", NAMES)
def test_structure(name):
    """Title with goals and runtimes first, parameters next, summary and exercises at the end."""
    nb = committed(name)
    title = nb.cells[0]
    assert title.cell_type == "markdown" and title.source.startswith("# ")
    assert "runtime" in title.source.lower() or "runs in" in title.source.lower()
    text = "\n".join(c.source.lower() for c in nb.cells if c.cell_type == "markdown")
    assert "exercise" in text and "summary" in text
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "session.start(globals()" in code and "run.record(" in code
    assert "plt.show()" in code
