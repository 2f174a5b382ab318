"""The course website: the six executed notebooks as one offline site (Sphinx + MyST-NB).

``build(source, output)`` copies the executed notebooks of ``source`` (the committed
``notebooks/``, whose outputs are current, or a run folder such as ``runs/default``) into a
Sphinx project it writes under ``OUTPUT/_source`` (``conf.py``, ``index.md``), and builds
``OUTPUT/index.html`` with MyST-NB, which reads the notebooks' stored outputs and runs nothing
(``nb_execution_mode = "off"``). The theme is sphinx-book-theme (Jupyter Book 1's look), whose
assets are in the package; maths is MathJax 2 from ``jupyter-server-mathjax``, copied into
``_static/mathjax`` (``offline.py``), so the site needs no network and no server.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from . import checkout, offline
from .runner import refuse_a_file
from .errors import RunError

CONF = '''# Written by python -m course_lib site (course_lib/tooling/site.py); rebuilt on every build.
project = {title!r}
author = "the course authors"
extensions = ["myst_nb"]
nb_execution_mode = "off"          # the notebooks are executed already: read their outputs
nb_merge_streams = True
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3
suppress_warnings = ["myst.header", "myst.xref_missing", "mystnb.unknown_mime_type", "misc.highlighting_failure"]
exclude_patterns = ["_build"]
html_theme = "sphinx_book_theme"
html_title = {title!r}
html_static_path = ["_static"]
html_copy_source = False
html_show_sourcelink = False
html_theme_options = {{"use_download_button": False, "use_fullscreen_button": False,
                      "show_toc_level": 2, "navigation_with_keys": True}}
# MathJax 2 from the jupyter-server-mathjax package, copied into _static/mathjax: no CDN.
mathjax_path = "mathjax/MathJax.js?{query}"
# MyST-NB marks the notebooks' sections tex2jax_ignore (no stray $ in outputs) and the maths
# itself "math": MathJax 2 processes only that.
mathjax2_config = {{"tex2jax": {{"inlineMath": [["\\\\(", "\\\\)"]], "displayMath": [["\\\\[", "\\\\]"]],
                               "processEscapes": True, "processClass": "math|output_area|mathjax_process",
                               "ignoreClass": "tex2jax_ignore|mathjax_ignore|document"}},
                   "HTML-CSS": {{"availableFonts": [], "webFont": "STIX-Web", "imageFont": None}},
                   "messageStyle": "none"}}
'''

INDEX = '''# {title}

Six notebooks, run in order. Each asks one question about what neural networks learn about
MNIST, reproduces a published experiment, then goes past it. These pages show the notebooks
as they were last executed, with their figures and the numbers they printed; to run them
yourself, see the course's README.

```{{toctree}}
:maxdepth: 1
:caption: The course

{pages}
```
'''
TITLE = "What neural networks learn about MNIST"


def executed_notebooks(source: Path) -> list[Path]:
    """The six ``NN_name.ipynb`` of ``source`` in course order; each must hold outputs."""
    source = Path(source)
    if not source.is_dir():
        raise RunError(f"--from {source}: not a folder (give notebooks/ or a run folder such as runs/default)")
    found = sorted(p for p in source.glob("[0-9][0-9]_*.ipynb"))
    if not found:
        raise RunError(f"--from {source}: holds no executed notebook NN_name.ipynb")
    for path in found:
        cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
        if not any(c.get("outputs") for c in cells if c.get("cell_type") == "code"):
            raise RunError(f"--from {source}: {path.name} has no outputs; run it first (python -m course_lib run)")
    return found


def write_project(source: Path, project: Path) -> list[str]:
    """The Sphinx project in ``project``: conf.py, index.md, the notebooks, MathJax in _static."""
    notebooks = executed_notebooks(source)
    if project.exists():
        for old in project.glob("*.ipynb"):
            old.unlink()
    (project / "_static").mkdir(parents=True, exist_ok=True)
    offline.copy_mathjax(project / "_static")
    for nb in notebooks:
        shutil.copy(nb, project / nb.name)
    (project / "conf.py").write_text(CONF.format(title=TITLE, query=offline.MATHJAX_QUERY), encoding="utf-8")
    (project / "index.md").write_text(INDEX.format(title=TITLE, pages="\n".join(nb.stem for nb in notebooks)),
                                      encoding="utf-8")
    return [nb.stem for nb in notebooks]


def build(source: str | Path | None = None, output: str | Path = "build/site", quiet: bool = False) -> Path:
    """Build the site from ``source`` (default: the committed notebooks) into ``output``; returns index.html."""
    source = Path(source) if source else checkout.NOTEBOOK_DIR
    out = Path(output)
    refuse_a_file(out, output)
    project = out / "_source"
    start = time.perf_counter()
    pages = write_project(source, project)
    html = out / "html"
    log = out / "sphinx.log"
    out.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as f:
        done = subprocess.run([sys.executable, "-m", "sphinx", "-b", "html", "-q", "-j", "1",
                               str(project), str(html)], stdout=f, stderr=subprocess.STDOUT)
    if done.returncode != 0:
        lines = [line for line in log.read_text().splitlines() if line.strip()]
        raise RunError(f"the site did not build: {lines[-1] if lines else 'sphinx failed'} (log: {log})")
    index = html / "index.html"
    if not quiet:
        print(f"site: {len(pages)} notebooks from {source} -> {index} in {time.perf_counter() - start:.0f}s",
              flush=True)
    return index
