"""The browser assets every offline page uses, copied from installed packages (never a CDN).

* MathJax 2.7 from ``jupyter-server-mathjax`` (Jupyter's own package of it): the run's
  ``index.html`` pages, the course site and the slides all render maths with it.
* reveal.js 5 from ``sphinx-revealjs``, which ships reveal.js's ``dist/`` and ``plugin/`` folders:
  the slides use it.

``copy_mathjax(folder)`` / ``copy_reveal(folder)`` copy the files into a page's folder once
(a second call with the same files present does nothing) and return where they are.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from .errors import RunError

# MathJax's configuration as Jupyter's classic notebook used it with this package: TeX in
# $...$, $$...$$, \(...\) and \[...\]; the STIX web fonts the package ships.
MATHJAX_QUERY = "config=TeX-AMS-MML_HTMLorMML-full,Safe"
MATHJAX_CONFIG = """<script type="text/x-mathjax-config">
MathJax.Hub.Config({
  tex2jax: {inlineMath: [['$', '$'], ['\\\\(', '\\\\)']], displayMath: [['$$', '$$'], ['\\\\[', '\\\\]']],
            processEscapes: true, processEnvironments: true},
  "HTML-CSS": {availableFonts: [], webFont: "STIX-Web", imageFont: null},
  messageStyle: "none"
});
</script>"""


def mathjax_source() -> Path:
    try:
        import jupyter_server_mathjax
    except ImportError:
        raise RunError("MathJax is missing: pip install jupyter-server-mathjax (a course dependency)") from None
    return Path(jupyter_server_mathjax.__file__).parent / "static"


def reveal_source() -> Path:
    try:
        import sphinx_revealjs
    except ImportError:
        raise RunError("reveal.js is missing: pip install sphinx-revealjs (a course dependency)") from None
    return Path(sphinx_revealjs.__file__).parent / "_static" / "revealjs"


# Not copied: source maps and sources; MathJax's translations, SVG output and accessibility
# extensions (9 of its 12 MB), which the HTML-CSS output in English never loads.
SKIP = shutil.ignore_patterns("*.map", "*.scss", "*.esm.js", "__pycache__", "localization", "SVG", "a11y")


def _copy(source: Path, target: Path, marker: str) -> Path:
    if not (target / marker).exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(source, target, ignore=SKIP)
    return target


def copy_mathjax(folder: Path) -> Path:
    """``folder/mathjax/`` holding MathJax; load it as ``mathjax/MathJax.js?`` + ``MATHJAX_QUERY``."""
    return _copy(mathjax_source(), Path(folder) / "mathjax", "MathJax.js")


def copy_reveal(folder: Path) -> Path:
    """``folder/reveal.js/`` holding reveal.js's ``dist/`` and ``plugin/``."""
    return _copy(reveal_source(), Path(folder) / "reveal.js", "dist/reveal.js")


def mathjax_tags(url: str) -> str:
    """The two tags that load MathJax from ``url`` (a relative path to ``mathjax/MathJax.js``)."""
    return f'{MATHJAX_CONFIG}\n<script src="{url}?{MATHJAX_QUERY}"></script>'
