"""The student edition and its autograder, made with otter-grader (``otter assign`` / ``otter run``).

Nothing is hand-added to the notebooks. At build time :func:`master` turns a committed notebook
into an otter "master notebook" (otter's v1 format) from the notebook's own structure and
``tests/solutions/<notebook>.py``:

* every cell tagged ``exercise`` (``# exercise: NAME``) becomes the graded question ``NAME``: its
  solution cell holds the solution block ``# %% NAME`` for the autograder's copy and the
  committed blank, verbatim, as the prompt the student sees (``# BEGIN PROMPT``);
* the question's one hidden test runs the exercise's own check cell (the next cell tagged
  ``exercise-check``) in the graded notebook's namespace and passes when it prints a line
  starting with ``Correct``; otherwise it fails with what the check printed or raised, which
  is the exercise's helpful message;
* the check cell itself stays in the student notebook, after the question, so a self-paced
  learner checks their answer as before;
* with ``--profile`` (say ``smoke``) the profile's parameters are injected after the
  ``parameters`` cell the way papermill does it, so the students, and the autograder that
  reruns their notebooks, work at that scale.

``build`` runs ``otter assign`` on each master and collects ``OUTPUT/release/NN_name.ipynb``
(hand these out) and ``OUTPUT/autograder/NN_name.zip``; ``grade`` runs ``otter run`` (no
Docker) on every submission in a folder and writes ``grades.csv``.
"""
from __future__ import annotations

import copy
import csv
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from . import checkout, profiles
from .runner import refuse_a_file
from .errors import RunError

SOLUTIONS_DIR = checkout.ROOT / "tests" / "solutions"
MARK = re.compile(r"^# exercise: *(\S+)", re.M)
CORRECT = "Correct"


def solutions(name: str, solutions_dir: Path = SOLUTIONS_DIR) -> dict[str, str]:
    """The blocks ``# %% NAME`` of ``tests/solutions/<name>.py``: exercise name -> solution source."""
    path = Path(solutions_dir) / f"{name}.py"
    if not path.exists():
        raise RunError(f"{name}: no solutions file {path}; the autograder needs each exercise's solution")
    blocks = re.split(r"^# %% *(\S+) *\n", path.read_text(encoding="utf-8"), flags=re.M)
    return {blocks[i]: blocks[i + 1].strip() + "\n" for i in range(1, len(blocks), 2)}


def _tags(cell) -> list:
    return cell.get("metadata", {}).get("tags", [])


def _raw(text: str):
    import nbformat

    return nbformat.v4.new_raw_cell(text)


def _code(text: str):
    import nbformat

    return nbformat.v4.new_code_cell(text)


def _prompt(blank: str) -> str:
    """The committed blank inside a string otter drops from the solution and keeps for the student."""
    quote = "'''" if '"""' in blank else '"""'
    if quote in blank:
        raise RunError("an exercise cell holds both kinds of triple quotes; otter cannot keep it as a prompt")
    return f"{quote} # BEGIN PROMPT\n{blank.rstrip()}\n{quote} # END PROMPT\n"


def _test(key: str, check: str) -> str:
    """The hidden test of question ``key``: the exercise's check cell, run where the notebook ran."""
    return (f'""" # BEGIN TEST CONFIG\npoints: 1\nhidden: true\n""" # END TEST CONFIG\n'
            f"def test_{key}(env):\n"
            f"    import contextlib, io\n"
            f"    printed = io.StringIO()\n"
            f"    with contextlib.redirect_stdout(printed):\n"
            f"        exec(compile({check!r}, 'the check cell of {key}', 'exec'), env)\n"
            f"    said = printed.getvalue().strip()\n"
            f"    assert any(line.startswith({CORRECT!r}) for line in said.splitlines()), said or 'the check printed nothing'\n")


def master(notebook: Path, solutions_dir: Path = SOLUTIONS_DIR, parameters: dict | None = None):
    """An otter master notebook made from a committed notebook and its solutions (module docstring)."""
    import nbformat

    nb = nbformat.read(notebook, as_version=4)
    name = Path(notebook).stem
    if parameters:  # as papermill does it: a cell tagged injected-parameters after the parameters cell
        at = next((i for i, c in enumerate(nb.cells) if "parameters" in _tags(c)), None)
        if at is None:
            raise RunError(f"{name}: no cell is tagged 'parameters', so it cannot take the profile's parameters")
        injected = _code("# Parameters of the student edition\n"
                         + "".join(f"{k} = {v!r}\n" for k, v in parameters.items()))
        injected.metadata["tags"] = ["injected-parameters"]
        nb.cells.insert(at + 1, injected)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    solved = solutions(name, solutions_dir)
    config = {"name": name, "init_cell": False, "check_all_cell": False, "export_cell": False,
              "run_tests": False, "generate": True, "tests": {"ok_format": False}}
    cells = [_raw("# ASSIGNMENT CONFIG\n" + "\n".join(f"{k}: {json.dumps(v)}" for k, v in config.items()))]
    questions = []
    for i, cell in enumerate(nb.cells):
        if "exercise" not in _tags(cell):
            cells.append(cell)
            continue
        found = MARK.search(cell.source)
        if not found:
            raise RunError(f"{name}: an exercise cell does not start with '# exercise: NAME'")
        key = found.group(1)
        if key not in solved:
            raise RunError(f"{name}: exercise {key!r} has no block '# %% {key}' in {solutions_dir}/{name}.py")
        check = next((c for c in nb.cells[i + 1:] if "exercise-check" in _tags(c)), None)
        if check is None:
            raise RunError(f"{name}: exercise {key!r} has no check cell (tagged exercise-check) after it")
        solution = _code(f"# exercise: {key}  # SOLUTION NO PROMPT\n# BEGIN SOLUTION NO PROMPT\n{solved[key]}# END SOLUTION\n"
                         + _prompt(cell.source))
        solution.metadata = copy.deepcopy(cell.metadata)
        cells += [_raw(f"# BEGIN QUESTION\nname: {key}\npoints: 1"), _raw("# BEGIN SOLUTION"), solution,
                  _raw("# END SOLUTION"), _raw("# BEGIN TESTS"), _code(_test(key, check.source)),
                  _raw("# END TESTS"), _raw("# END QUESTION")]
        questions.append(key)
    if not questions:
        raise RunError(f"{name}: no cell is tagged 'exercise', so there is nothing to grade")
    nb.cells = cells
    return nb


def _otter(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    otter = Path(sys.executable).with_name("otter")
    cmd = [str(otter)] if otter.exists() else [sys.executable, "-m", "otter"]
    return subprocess.run([*cmd, *args], cwd=cwd, capture_output=True, text=True)


def _assign(name: str, master_path: Path, dist: Path) -> None:
    """``otter assign --no-pdfs --no-run-tests MASTER DIST``, in this process (otter's import
    takes seconds: once for all the notebooks, not once each)."""
    import contextlib
    import io
    import logging

    from otter.assign import main as otter_assign

    said, cwd = io.StringIO(), os.getcwd()
    try:
        with contextlib.redirect_stdout(said), contextlib.redirect_stderr(said):
            logging.disable(logging.INFO)
            otter_assign(str(master_path), str(dist), no_pdfs=True, no_run_tests=True)
    except Exception as err:
        first = (str(err).strip().splitlines() or [""])[0]
        raise RunError(f"{name}: otter assign failed: {type(err).__name__}: {first}") from None
    finally:
        logging.disable(logging.NOTSET)
        os.chdir(cwd)


def build(only: str | None = None, output: str | Path = "build/student", profile: str | None = None,
          notebook_dir: Path = checkout.NOTEBOOK_DIR, solutions_dir: Path = SOLUTIONS_DIR) -> Path:
    """``otter assign`` on each chosen notebook's master; returns ``output``."""
    import nbformat

    names = profiles.select(only, notebook_dir)
    prof = profiles.load_profile(profile, notebook_dir=notebook_dir) if profile else None
    out = Path(output)
    refuse_a_file(out, output)
    for sub in ("release", "autograder", "masters"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    for name in names:
        params = None
        if prof is not None:  # the profile's values, checked as a run checks them; output_dir stays the notebook's
            params = profiles.parameters_for(name, prof, {}, out / "masters", notebook_dir)
            del params["output_dir"]
        nb = master(Path(notebook_dir) / f"{name}.ipynb", solutions_dir, params)
        src = out / "masters" / f"{name}.ipynb"
        nbformat.write(nb, src)
        dist = out / "otter" / name
        shutil.rmtree(dist, ignore_errors=True)
        _assign(name, src.resolve(), dist.resolve())
        shutil.copy(dist / "student" / f"{name}.ipynb", out / "release" / f"{name}.ipynb")
        zips = sorted((dist / "autograder").glob("*.zip"))
        if not zips:
            raise RunError(f"{name}: otter assign wrote no autograder zip in {dist / 'autograder'}")
        shutil.copy(zips[-1], out / "autograder" / f"{name}.zip")
        print(f"{name}: {out / 'release' / (name + '.ipynb')}, {out / 'autograder' / (name + '.zip')}", flush=True)
    return out


def run_one(autograder: Path, submission: Path, output: Path) -> dict:
    """``otter run`` on one submission (no Docker); its results.json as a dict."""
    output.mkdir(parents=True, exist_ok=True)
    done = _otter("run", "--no-logo", "-a", str(Path(autograder).resolve()), "-o", str(output.resolve()),
                  str(Path(submission).resolve()), cwd=output)
    results = output / "results.json"
    if not results.exists():
        last = (done.stderr.strip() or done.stdout.strip()).splitlines()[-1:] or ["no output"]
        raise RunError(f"otter run on {submission} wrote no results: {last[0]}")
    return json.loads(results.read_text())


def scores(results: dict) -> dict[str, tuple[float, float, str]]:
    """Question -> (score, possible, otter's output) from ``otter run``'s results.json."""
    return {t["name"]: (float(t.get("score") or 0), float(t.get("max_score") or 0), t.get("output") or "")
            for t in results.get("tests") or [] if "max_score" in t}


def grade(notebook: str, submissions: str | Path, autograder_dir: str | Path = "build/student/autograder",
          output: str | Path | None = None) -> Path:
    """Grade every ``*.ipynb`` in ``submissions`` against ``NN_name.zip``; writes ``grades.csv``."""
    try:
        names = profiles.select(notebook)
    except RunError as err:
        raise RunError(str(err).replace("--only", "grade", 1)) from None
    if len(names) != 1:
        raise RunError(f"grade {notebook!r}: name one notebook, e.g. 01")
    name = names[0]
    zip_path = Path(autograder_dir) / f"{name}.zip"
    if not zip_path.exists():
        raise RunError(f"--autograder {autograder_dir}: no {zip_path.name}; run `python -m course_lib student` first")
    folder = Path(submissions)
    if not folder.is_dir():
        raise RunError(f"submissions {submissions}: not a folder of .ipynb files")
    subs = sorted(folder.glob("*.ipynb"))
    if not subs:
        raise RunError(f"submissions {submissions}: holds no .ipynb file")
    out = Path(output) if output else folder / "graded"
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for sub in subs:
        res = scores(run_one(zip_path, sub, out / sub.stem))
        total, possible = sum(s for s, _, _ in res.values()), sum(p for _, p, _ in res.values())
        rows.append({"submission": sub.name, "score": total, "possible": possible,
                     **{q: s for q, (s, _, _) in res.items()}})
        print(f"{sub.name}: {total:g}/{possible:g}", flush=True)
    keys = list(dict.fromkeys(k for r in rows for k in r))
    with open(out / "grades.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, keys)
        writer.writeheader()
        writer.writerows(rows)
    return out / "grades.csv"
