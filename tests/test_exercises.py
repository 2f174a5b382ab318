"""Every notebook's exercises, solved: the check cells must pass.

A learner's exercise cell is tagged ``exercise`` and starts with ``# exercise: NAME``. Its
check cell, tagged ``exercise-check``, prints a line starting with ``Correct`` when the
answer is right, explains what is missing when the cell is still blank, and fails with a
helpful message when the answer is wrong. The committed notebooks keep the blanks; the
solutions live in ``tests/solutions/<notebook>.py`` as blocks that start with ``# %% NAME``.
This test pastes each solution into its cell, runs the notebooks on the smoke profile, and
checks that every check cell said ``Correct``.
"""
import json
import re
import shutil
from pathlib import Path

import nbformat
import pytest

from course_lib.tooling import checkout, runner

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = Path(__file__).parent / "solutions"
NOTEBOOKS = checkout.notebooks(ROOT / "notebooks")
MARK = re.compile(r"^# exercise: *(\S+)", re.M)


def solutions(name: str) -> dict:
    blocks = re.split(r"^# %% *(\S+) *\n", (SOLUTIONS / f"{name}.py").read_text(), flags=re.M)
    return {blocks[i]: blocks[i + 1].strip() + "\n" for i in range(1, len(blocks), 2)}


def tagged(nb, tag):
    return [c for c in nb.cells if tag in c.get("metadata", {}).get("tags", [])]


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_every_notebook_has_a_checked_exercise(name):
    nb = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
    exercises, checks = tagged(nb, "exercise"), tagged(nb, "exercise-check")
    assert exercises and len(checks) >= len(exercises), f"{name}: an exercise cell and its check cell"
    solved = solutions(name)
    for cell in exercises:
        found = MARK.search(cell.source)
        assert found, f"{name}: an exercise cell must start with '# exercise: NAME'"
        assert found.group(1) in solved, f"{name}: no solution for exercise {found.group(1)!r} in tests/solutions"
        assert solved[found.group(1)] not in cell.source, f"{name}: the committed notebook holds the solution"
    for cell in checks:  # the committed run, blank exercises: the check explains, it does not pass
        text = "".join(o.get("text", "") for o in cell.get("outputs", []))
        assert "Correct" not in text, f"{name}: a check cell passed on the blank exercise"


@pytest.fixture(scope="module")
def solved_run(tmp_path_factory):
    work = tmp_path_factory.mktemp("solved")
    (work / "notebooks").mkdir()
    for name in NOTEBOOKS:
        nb = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
        solved = solutions(name)
        for cell in tagged(nb, "exercise"):
            key = MARK.search(cell.source).group(1)
            cell.source = f"# exercise: {key}\n{solved[key]}"
        nbformat.write(nb, work / "notebooks" / f"{name}.ipynb")
    runner.run("smoke", output=str(work / "runs"), quiet=True, notebook_dir=work / "notebooks",
               params_dir=ROOT / "params", report=False)
    return work / "runs"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_solved_exercises_pass_their_checks(solved_run, name):
    nb = json.loads((solved_run / f"{name}.ipynb").read_text())
    checks = [c for c in nb["cells"] if "exercise-check" in c.get("metadata", {}).get("tags", [])]
    for cell in checks:
        text = "".join("".join(o.get("text", "")) for o in cell.get("outputs", []))
        assert "Correct" in text, f"{name}: a solved exercise's check did not print 'Correct': {text[:300]!r}"
