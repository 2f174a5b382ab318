"""The committed notebooks: re-executed in place (``make notebooks``) and stamped.

The stamp is a hash of a notebook's code and of the course_lib modules it runs;
``tests/test_committed_notebooks.py`` recomputes it, so a notebook whose outputs predate
an edit (to it or to a course_lib module it uses) fails the tests.
"""
from __future__ import annotations

import ast
import hashlib
import os
import shutil
import time

from .checkout import KERNEL, NOTEBOOK_DIR, ROOT
from .errors import RunError
from .execute import ensure_kernel
from .profiles import select

PACKAGE = "course_lib"


def imported_modules(tree: ast.AST, inside_package: bool = False) -> set[str]:
    """The names of the course_lib modules (and other names) ``tree`` imports, anywhere in it:
    ``from course_lib import a, b``, ``from course_lib.a import x``, ``import course_lib.a``,
    and inside the package ``from . import a`` and ``from .a import x``."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            relative = inside_package and node.level == 1
            if relative or (node.level == 0 and node.module == PACKAGE):
                if node.module is None or node.module == PACKAGE:  # from . import a, b / from course_lib import a, b
                    found |= {alias.name for alias in node.names}
                else:
                    found.add(node.module.split(".")[0])
            elif node.level == 0 and (node.module or "").startswith(PACKAGE + "."):
                found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found |= {alias.name.split(".")[1] for alias in node.names if alias.name.startswith(PACKAGE + ".")}
    return found


def _notebook_tree(nb) -> ast.Module:
    """A notebook's code cells as one Python module (IPython magics turned into Python; a cell
    that still does not parse is left out)."""
    from IPython.core.inputtransformer2 import TransformerManager

    body = []
    for cell in nb.cells:
        if cell.cell_type == "code":
            try:
                body += ast.parse(TransformerManager().transform_cell(cell.source)).body
            except SyntaxError:
                pass
    return ast.Module(body=body, type_ignores=[])


def modules_used(nb) -> list[str]:
    """The course_lib modules a notebook imports, and those they import in turn (and ``__init__``)."""
    todo = imported_modules(_notebook_tree(nb)) | {"__init__"}
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        path = ROOT / PACKAGE / f"{name}.py"
        if name in seen or not path.exists():
            continue
        seen.add(name)
        todo |= imported_modules(ast.parse(path.read_text()), inside_package=True)
    return sorted(seen)


def source_stamp(nb) -> str:
    """sha256 of a notebook's code cells and of the course_lib modules it runs."""
    h = hashlib.sha256()
    for cell in nb.cells:
        if cell.cell_type == "code" and "injected-parameters" not in cell.metadata.get("tags", []):
            h.update(cell.source.encode() + b"\0")
    for name in modules_used(nb):
        path = ROOT / PACKAGE / f"{name}.py"
        h.update(path.name.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def refresh(only: str | None = None) -> None:
    """Re-execute the committed notebooks in place on the embedded sample, default
    parameters, in order, and stamp each with :func:`source_stamp`."""
    import nbformat
    import papermill

    ensure_kernel()
    os.environ["COURSE_DATA"] = "mnist-sample"
    for name in select(only):
        path = NOTEBOOK_DIR / f"{name}.ipynb"
        # the notebooks' default output_dir: clear it, so no checkpoint of an earlier run is
        # reloaded and the committed outputs show what a newcomer's first run does
        shutil.rmtree(ROOT / "runs" / "default" / name, ignore_errors=True)
        t0 = time.perf_counter()
        try:
            papermill.execute_notebook(str(path), str(path), parameters={"progress": False}, kernel_name=KERNEL,
                                       cwd=str(NOTEBOOK_DIR), progress_bar=False)
        except papermill.PapermillExecutionError as e:
            raise RunError(f"{name} failed: {e.ename}: {e.evalue}") from None
        nb = nbformat.read(path, as_version=4)
        nb.cells = [c for c in nb.cells if "injected-parameters" not in c.metadata.get("tags", [])]
        nb.metadata.pop("papermill", None)
        for cell in nb.cells:
            cell.metadata.pop("papermill", None)
            cell.metadata.pop("execution", None)
        # renumber: dropping the injected cell leaves a gap in the execution counts
        count = 0
        for cell in nb.cells:
            if cell.cell_type == "code":
                count += 1
                cell.execution_count = count
                for out in cell.outputs:
                    if "execution_count" in out:
                        out["execution_count"] = count
        nb.metadata["course"] = {"stamp": source_stamp(nb), "profile": "default", "dataset": "mnist-sample"}
        nbformat.write(nb, path)
        print(f"{name:<36} refreshed in {time.perf_counter() - t0:.1f}s", flush=True)
