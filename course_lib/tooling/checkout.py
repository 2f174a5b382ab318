"""The course checkout the tooling works on: its notebooks, its profiles, the kernel.

Found next to the package (editable install) or from the working directory (``pip
install .``, then run from inside the checkout); see :func:`course_lib.course_root`.
Outside any checkout the folders below do not exist and ``run`` says in one line what to do.
"""
from __future__ import annotations

from pathlib import Path

from .. import course_root

ROOT = course_root() or Path.cwd()
NOTEBOOK_DIR = ROOT / "notebooks"
PARAMS_DIR = ROOT / "params"
KERNEL = "mnist-course"
NO_COURSE = ("run it from the course checkout (the folder with notebooks/ and params/), "
             "or set COURSE_ROOT=/path/to/the/checkout")


def notebooks(notebook_dir: Path = NOTEBOOK_DIR) -> list[str]:
    """The course's notebooks (``NN_name``), in course order."""
    return sorted(p.stem for p in Path(notebook_dir).glob("[0-9][0-9]_*.ipynb"))
