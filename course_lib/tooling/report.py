"""A run's ``index.html``: one page to read a whole course run offline.

``write_index(out, rows, info)`` renders every executed notebook of a run folder to
``html/NN_name.html`` with nbconvert (figures are inline PNG ``data:`` URIs, and MathJax is
copied from an installed package into ``html/mathjax``, so the pages need no network and
no server) and writes ``index.html`` from
``templates/index.html.j2``: a table of the notebooks with their status, runtime, budget,
peak memory, device, headline metrics and claims (how many held, and the false ones),
links to each rendered page, executed notebook, metrics.json and log, then the data each
notebook read and the machine it ran on. ``rebuild(folder)`` does it again from the
folder's ``summary.json`` and ``run.json`` (``python -m course_lib report runs/NAME``).
"""
from __future__ import annotations

import html
import functools
import json
import re
from pathlib import Path

from . import offline
from .errors import RunError
from .summary import format_value

@functools.cache  # a per-process cache: the environment is built once
def _templates():
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    env.filters["num"] = format_value
    return env


def template(name: str):
    """A template from ``templates/`` (HTML-escaped; ``|num`` formats numbers as the summary does)."""
    return _templates().get_template(name)


# nbconvert's pages load require.js and MathJax from a CDN. require.js is only for
# interactive widgets (not kept in a static page), so it goes. MathJax comes from the copy
# of jupyter-server-mathjax's MathJax that render_notebook puts beside the pages
# (offline.py); a page without one loads the CDN's only after it has loaded and only when
# the browser is online (late_mathjax.html.j2), so offline it shows equations as TeX source.
_REQUIRE_JS = re.compile(r'<script[^>]*src="[^"]*require(\.min)?\.js"[^>]*>\s*</script>')
_MATHJAX = re.compile(r'<script[^>]*src="(?P<url>[^"]*mathjax[^"]*)"[^>]*>\s*</script>', re.IGNORECASE)


def offline_html(page: str, mathjax: str | None = None) -> str:
    """Make an nbconvert page load with no network (see the comment above); ``mathjax``: the
    relative path of the local ``MathJax.js``, if the page has one beside it."""
    import markupsafe

    page = _REQUIRE_JS.sub("", page)
    late = template("late_mathjax.html.j2")
    local = {"local": f"{mathjax}?{offline.MATHJAX_QUERY}",
             "config": markupsafe.Markup(offline.MATHJAX_CONFIG)} if mathjax else {}
    return _MATHJAX.sub(lambda m: late.render(url=html.unescape(m.group("url")), **local).strip(), page)


@functools.cache  # a per-process cache: importing and setting up nbconvert takes seconds
def _exporter():
    from nbconvert import HTMLExporter

    return HTMLExporter(template_name="lab", embed_images=True)


def render_notebook(notebook: Path, target: Path) -> Path:
    """Executed notebook -> self-contained HTML page (figures embedded as data: URIs)."""
    import nbformat

    nb = nbformat.read(notebook, as_version=4)
    body, _ = _exporter().from_notebook_node(nb, resources={"metadata": {"name": notebook.stem}})
    target.parent.mkdir(parents=True, exist_ok=True)
    offline.copy_mathjax(target.parent)
    target.write_text(offline_html(body, mathjax="mathjax/MathJax.js"), encoding="utf-8")
    return target


def notebook_title(notebook: Path) -> str | None:
    """The first markdown heading of a notebook, without its #s."""
    try:
        cells = json.loads(notebook.read_text(encoding="utf-8")).get("cells", [])
    except (OSError, ValueError):
        return None
    for cell in cells:
        if cell.get("cell_type") == "markdown":
            source = "".join(cell.get("source", []))
            for line in source.splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").strip() or None
    return None


def _notebook(out: Path, row: dict, page: Path | None) -> dict:
    """What the index shows of one notebook: its row, its rendered page, title and files."""
    name = row["notebook"]
    status = row.get("status") or ("ok" if not row.get("error") else "error")
    files = [(f"{name}.ipynb", "notebook"), (f"{name}/metrics.json", "metrics.json"), (f"{name}.log", "log")]
    return {**{k: row.get(k) for k in ("seconds", "budget_s", "peak_mb", "device", "threads", "error",
                                       "claims_held", "claims_not_checked")},
            "name": name, "page": f"html/{name}.html" if page else None,
            "heading": notebook_title(out / f"{name}.ipynb"), "status": status,
            "css": {"ok": "ok", "over budget": "over"}.get(status, "error"),
            "headlines": row.get("headlines") or {}, "false_claims": row.get("false_claims") or {},
            "files": [(href, text) for href, text in files if (out / href).exists()]}


def write_index(out: Path, rows: list[dict], info: dict) -> Path:
    """Render each executed notebook into ``out/html/`` and write ``out/index.html``."""
    out = Path(out)
    pages = {}
    for row in rows:
        name = row["notebook"]
        executed = out / f"{name}.ipynb"
        if executed.exists():
            try:
                pages[name] = render_notebook(executed, out / "html" / f"{name}.html")
            except Exception as err:  # a half-written notebook (stopped over budget) may not render
                row.setdefault("render_error", f"{type(err).__name__}: {err}")

    sources = {}
    for row in rows:
        for d in row.get("data") or []:
            key = (d.get("dataset"), d.get("source"))
            sources.setdefault(key, []).append(f"{row['notebook'][:2]} {d.get('split', '')} ({d.get('n', '?')})")
    m = info.get("machine") or {}
    devices = sorted({f"{r.get('device')} ({r.get('threads')} threads)" for r in rows if r.get("device")})
    machine = [("CPU", m.get("cpu")), ("cores", m.get("cores")), ("memory (GB)", m.get("memory_gb")),
               ("OS", m.get("os")), ("Python", m.get("python")), ("notebooks ran on", ", ".join(devices) or None),
               *(m.get("versions") or {}).items()]
    overrides = info.get("overrides") or {}
    settings = [("profile", info.get("profile")), ("started", info.get("started")),
                ("overrides", ", ".join(f"{k}={v}" for k, v in overrides.items()) or "none"),
                ("command", info.get("command")), ("budgets", (info.get("budgets") or {}).get("line")),
                ("total runtime (s)", round(sum(r["seconds"] or 0 for r in rows), 1))]
    tables = [(f, note) for f, note in (("summary.csv", ""), ("summary.json", " (all metrics and parameters)"),
                                        ("run.json", " (the run's settings and machine)")) if (out / f).exists()]
    page = template("index.html.j2").render(
        profile=str(info.get("profile")), settings=[(k, v) for k, v in settings if v is not None],
        notebooks=[_notebook(out, row, pages.get(row["notebook"])) for row in rows],
        failed=sum(bool(r.get("error")) for r in rows),
        false_claims=sum(len(r.get("false_claims") or {}) for r in rows),
        tables=tables, sources=sources, machine=machine)
    index = out / "index.html"
    index.write_text(page, encoding="utf-8")
    return index


def rebuild(folder: str | Path) -> Path:
    """Write ``index.html`` again for a finished run folder."""
    folder = Path(folder)
    summary = folder / "summary.json"
    if not summary.exists():
        raise RunError(f"{summary} does not exist: run the course into {folder} first")
    rows = json.loads(summary.read_text())
    info_path = folder / "run.json"
    info = json.loads(info_path.read_text()) if info_path.exists() else {"profile": rows[0].get("profile") if rows else None}
    return write_index(folder, rows, info)
