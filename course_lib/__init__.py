"""course_lib: the plumbing shared by the MNIST representation-learning notebooks.

One module a concept: ``data`` (real datasets, offline), ``session`` (seeds, threads,
device), ``params`` (checks for parameter cells), ``training`` (fit loop, LR finder,
checkpoints), ``plots`` (the recurring figures), ``records`` (metrics.json).
"""
from __future__ import annotations

import os
from pathlib import Path

__version__ = "0.1.0"


def _is_course(folder: Path) -> bool:
    return (folder / "notebooks").is_dir() and (folder / "params").is_dir()


def course_root(start: str | os.PathLike | None = None) -> Path | None:
    """The course checkout (the folder holding ``notebooks/`` and ``params/``), or None.

    In order: ``COURSE_ROOT`` if set; the folder around this package (an editable
    install, or the checkout itself on ``PYTHONPATH``); else ``start`` (default: the
    working directory) or the nearest parent of it that is a checkout. The last case is
    ``pip install .`` (a copy in site-packages) run from inside a checkout.
    """
    if os.environ.get("COURSE_ROOT"):
        return Path(os.environ["COURSE_ROOT"]).expanduser().resolve()
    here = Path(__file__).resolve().parents[1]
    if _is_course(here):
        return here
    start = Path(start or Path.cwd()).resolve()
    for folder in (start, *start.parents):
        if _is_course(folder):
            return folder
    return None
