"""Lecture slides for a notebook: reveal.js through nbconvert's SlidesExporter, offline.

Nothing is hand-added to the notebooks. :func:`lecture` gives a copy of an executed notebook
its slide metadata from the notebook's structure:

* the main path only: the cells before the first heading that starts with ``Appendix``;
* the title (``#``) and every ``##`` heading start a slide, every ``###`` heading a
  sub-slide; the prose under a heading stays on its slide, and a long stretch of prose
  continues on a new sub-slide (more than ``PROSE_PER_SLIDE`` characters);
* code is hidden: a code cell shows only its figures, each cell's figures on a sub-slide of
  their own, and the findings a ``claim`` cell prints; a cell with neither is left out;
* an exercise is shown as the learner sees it (its code, which is the blank), on a sub-slide.

``build`` writes ``OUTPUT/NN_name.slides.html`` with the template ``templates/slides``
(nbconvert's reveal template, every asset local) and copies reveal.js (from ``sphinx-revealjs``)
and MathJax (from ``jupyter-server-mathjax``) into ``OUTPUT/_static`` (``offline.py``).
"""
from __future__ import annotations

import copy
import functools
import re
from pathlib import Path

from . import checkout, offline, profiles
from .runner import refuse_a_file
from .errors import RunError

PROSE_PER_SLIDE = 900
HEADING = re.compile(r"^(#{1,6})\s+(.*)")
TEMPLATES = Path(__file__).parent / "templates"
REVEAL = "_static/reveal.js"  # where render() copies reveal.js, relative to the slides


def _heading(cell) -> tuple[int, str] | None:
    """(level, text) of a markdown cell that starts with a heading."""
    if cell.cell_type != "markdown":
        return None
    first = cell.source.lstrip().split("\n", 1)[0]
    found = HEADING.match(first)
    return (len(found.group(1)), found.group(2).strip()) if found else None


def _tags(cell) -> list:
    return cell.get("metadata", {}).get("tags", [])


def _figure(output) -> bool:
    return output.get("output_type") in ("display_data", "execute_result") and any(
        k.startswith("image/") for k in output.get("data", {}))


def main_path(cells: list) -> list:
    """The cells before the first heading that starts with ``Appendix``."""
    for i, cell in enumerate(cells):
        found = _heading(cell)
        if found and found[1].lower().startswith("appendix"):
            return cells[:i]
    return cells


def lecture(nb):
    """A copy of ``nb`` with reveal.js slide metadata by the rules of the module docstring."""
    nb = copy.deepcopy(nb)
    cells, prose = [], 0
    for cell in main_path(nb.cells):
        kind = "-"
        tags = _tags(cell)
        found = _heading(cell)
        if found:
            kind, prose = ("slide" if found[0] <= 2 else "subslide"), len(cell.source)
        elif cell.cell_type == "markdown":
            if prose + len(cell.source) > PROSE_PER_SLIDE and prose > 0:
                kind, prose = "subslide", 0
            prose += len(cell.source)
        elif cell.cell_type == "code" and "exercise" in tags:
            kind, prose = "subslide", PROSE_PER_SLIDE
            cell.outputs = []
        elif cell.cell_type == "code":
            figures = [o for o in cell.outputs if _figure(o)]
            said = [o for o in cell.outputs if o.get("output_type") == "stream" and o.get("name") == "stdout"] \
                if "claim" in tags else []
            if not figures and not said:
                kind = "skip"
            elif figures:
                kind, prose = "subslide", PROSE_PER_SLIDE
            cell.outputs = figures + said
            cell.metadata.setdefault("transient", {})["remove_source"] = True
        else:
            kind = "skip"
        cell.metadata["slideshow"] = {"slide_type": kind}
        cells.append(cell)
    if not cells or _heading(cells[0]) is None:
        cells.insert(0, _title_cell(nb))
    cells[0].metadata["slideshow"] = {"slide_type": "slide"}
    nb.cells = cells
    return nb


def _title_cell(nb):
    import nbformat

    return nbformat.v4.new_markdown_cell(f"# {nb.metadata.get('title', 'Lecture')}")


@functools.cache  # a per-process cache: setting up nbconvert's exporter takes a second
def _exporter():
    from nbconvert import SlidesExporter

    return SlidesExporter(extra_template_basedirs=[str(TEMPLATES)], template_name="slides", reveal_url_prefix=REVEAL,
                          reveal_theme="white", reveal_transition="none", reveal_number="c/t")


def render(notebook: Path, output: Path) -> Path:
    """One executed notebook -> ``output/NN_name.slides.html`` (assets in ``output/_static``)."""
    import nbformat

    nb = lecture(nbformat.read(notebook, as_version=4))
    static = output / "_static"
    offline.copy_reveal(static)
    offline.copy_mathjax(static)
    resources = {"metadata": {"name": notebook.stem},
                 "course": {"reveal": REVEAL, "mathjax": offline.mathjax_tags("_static/mathjax/MathJax.js")}}
    body, _ = _exporter().from_notebook_node(nb, resources=resources)
    target = output / f"{notebook.stem}.slides.html"
    target.write_text(body, encoding="utf-8")
    return target


def build(which: str | None = None, source: str | Path | None = None, output: str | Path = "build/slides",
          quiet: bool = False) -> list[Path]:
    """Slides for the notebooks ``which`` names (as ``run --only``; None: all) from ``source``."""
    source = Path(source) if source else checkout.NOTEBOOK_DIR
    if not source.is_dir():
        raise RunError(f"--from {source}: not a folder (give notebooks/ or a run folder such as runs/default)")
    try:
        names = profiles.select(which, checkout.NOTEBOOK_DIR)
    except RunError as err:  # the switch is called NOTEBOOKS here
        raise RunError(str(err).replace("--only", "slides", 1)) from None
    out = Path(output)
    refuse_a_file(out, output)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name in names:
        notebook = source / f"{name}.ipynb"
        if not notebook.exists():
            raise RunError(f"--from {source}: has no {name}.ipynb")
        written.append(render(notebook, out))
        if not quiet:
            print(f"slides: {written[-1]}", flush=True)
    return written
