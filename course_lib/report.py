"""A run's ``index.html``: one page to read a whole course run offline.

``write_index(out, rows, info)`` renders every executed notebook of a run folder to
``html/NN_name.html`` with nbconvert (figures are inline PNG ``data:`` URIs, so the
pages need no network and no server) and writes ``index.html``: a table of the
notebooks with their status, runtime, budget, peak memory, device and headline metrics, links
to each rendered page, executed notebook, metrics.json and log, then the data each
notebook read and the machine it ran on. ``rebuild(folder)`` does it again from the
folder's ``summary.json`` and ``run.json`` (``python -m course_lib report runs/NAME``).
"""
from __future__ import annotations

import html
import json
import re
from pathlib import Path
from urllib.parse import quote

# nbconvert's pages load require.js and MathJax from a CDN. require.js is only for
# interactive widgets (not kept in a static page), so it goes. MathJax is loaded only
# after the page has loaded and only when the browser is online: offline the page
# loads at once and shows equations as their TeX source.
_REQUIRE_JS = re.compile(r'<script[^>]*src="[^"]*require(\.min)?\.js"[^>]*>\s*</script>')
_MATHJAX = re.compile(r'<script[^>]*src="(?P<url>[^"]*mathjax[^"]*)"[^>]*>\s*</script>', re.IGNORECASE)
_LATE_MATHJAX = """<script>
window.addEventListener("load", function () {{
  if (!navigator.onLine) return;  // offline: equations stay as TeX source
  var s = document.createElement("script");
  s.src = "{url}";
  document.head.appendChild(s);
}});
</script>"""


def offline_html(page: str) -> str:
    """Make an nbconvert page load with no network (see the comment above)."""
    page = _REQUIRE_JS.sub("", page)
    return _MATHJAX.sub(lambda m: _LATE_MATHJAX.format(url=m.group("url")), page)


_EXPORTER = None


def render_notebook(notebook: Path, target: Path) -> Path:
    """Executed notebook -> self-contained HTML page (figures embedded as data: URIs)."""
    global _EXPORTER
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(notebook, as_version=4)
    if _EXPORTER is None:  # importing and setting up nbconvert takes seconds: once a process
        _EXPORTER = HTMLExporter(template_name="lab", embed_images=True)
    body, _ = _EXPORTER.from_notebook_node(nb, resources={"metadata": {"name": notebook.stem}})
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(offline_html(body), encoding="utf-8")
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


def _link(href: str, text: str) -> str:
    return f'<a href="{quote(href)}">{html.escape(text)}</a>'


def _value(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else html.escape(str(value))


def _device(row: dict) -> str:
    """Where the notebook ran, from its metrics.json: ``cuda`` / ``cpu`` / ``mps``, and CPU threads."""
    device = row.get("device")
    if not device:
        return ""
    threads = row.get("threads")
    return html.escape(str(device)) + (f" <small>({threads} threads)</small>" if threads else "")


STYLE = """
body { font-family: system-ui, sans-serif; max-width: 72rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { border-bottom: 1px solid #ddd; padding: .35rem .7rem; text-align: left; vertical-align: top; }
th { background: #f4f4f4; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.ok { color: #1a7f37; } .error, .over { color: #c62828; font-weight: bold; }
code { background: #f4f4f4; padding: 0 .2rem; }
small { color: #666; }
"""


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

    total = sum(r["seconds"] or 0 for r in rows)
    head = ["#", "notebook", "status", "seconds", "budget (s)", "peak memory (MB)", "device", "headline metrics",
            "files"]
    body = []
    for i, row in enumerate(rows, 1):
        name = row["notebook"]
        title = _link(f"html/{name}.html", name) if name in pages else html.escape(name)
        heading = notebook_title(out / f"{name}.ipynb")
        if heading:
            title += f"<br><small>{html.escape(heading)}</small>"
        status = row.get("status") or ("ok" if not row.get("error") else "error")
        css = {"ok": "ok", "over budget": "over"}.get(status, "error")
        status_cell = f'<span class="{css}">{html.escape(status)}</span>'
        if row.get("error"):
            status_cell += f"<br><small>{html.escape(row['error'])}</small>"
        metrics = "<br>".join(f"<code>{html.escape(k)}</code> = {_value(v)}"
                              for k, v in (row.get("headlines") or {}).items())
        files = [(f"{name}.ipynb", "notebook"), (f"{name}/metrics.json", "metrics.json"), (f"{name}.log", "log")]
        links = " · ".join(_link(href, text) for href, text in files if (out / href).exists())
        cells = [("", str(i)), ("", title), ("", status_cell), ("num", _value(row.get("seconds"))),
                 ("num", _value(row.get("budget_s"))), ("num", _value(row.get("peak_mb"))), ("", _device(row)),
                 ("", metrics), ("", links)]
        body.append("<tr>" + "".join(f'<td class="{css}">{c}</td>' if css else f"<td>{c}</td>" for css, c in cells)
                    + "</tr>")

    sources = {}
    for row in rows:
        for d in row.get("data") or []:
            key = (d.get("dataset"), d.get("source"))
            sources.setdefault(key, []).append(f"{row['notebook'][:2]} {d.get('split', '')} ({d.get('n', '?')})")
    data_items = "".join(
        f"<li><b>{html.escape(str(ds))}</b>: {html.escape(str(src))}<br><small>{html.escape(', '.join(uses))}</small></li>"
        for (ds, src), uses in sources.items()) or "<li>no notebook recorded its data</li>"

    m = info.get("machine") or {}
    devices = sorted({f"{r.get('device')} ({r.get('threads')} threads)" for r in rows if r.get("device")})
    machine_rows = [("CPU", m.get("cpu")), ("cores", m.get("cores")), ("memory (GB)", m.get("memory_gb")),
                    ("OS", m.get("os")), ("Python", m.get("python")),
                    ("notebooks ran on", ", ".join(devices) or None)]
    machine_rows += [(k, v) for k, v in (m.get("versions") or {}).items()]
    machine_html = "".join(f"<tr><th>{html.escape(k)}</th><td>{_value(v)}</td></tr>" for k, v in machine_rows)

    overrides = info.get("overrides") or {}
    settings = [("profile", info.get("profile")), ("started", info.get("started")),
                ("overrides", ", ".join(f"{k}={v}" for k, v in overrides.items()) or "none"),
                ("command", info.get("command")), ("total runtime (s)", round(total, 1))]
    settings_html = "".join(f"<tr><th>{html.escape(k)}</th><td>{_value(v)}</td></tr>"
                            for k, v in settings if v is not None)
    failed = [r for r in rows if r.get("error")]
    verdict = (f'<p class="error">{len(failed)} notebook(s) failed; the run stopped there.</p>' if failed
               else f'<p class="ok">All {len(rows)} notebook(s) ran.</p>')

    tables = [(f, note) for f, note in (("summary.csv", ""), ("summary.json", " (all metrics and parameters)"),
                                        ("run.json", " (the run's settings and machine)")) if (out / f).exists()]
    tables = "The same, as data: " + " · ".join(_link(f, f) + html.escape(note) for f, note in tables) if tables else ""
    page = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>MNIST course run: {html.escape(str(info.get('profile')))}</title>
<style>{STYLE}</style>
</head>
<body>
<h1>MNIST course run: profile <code>{html.escape(str(info.get('profile')))}</code></h1>
{verdict}
<table>{settings_html}</table>
<h2>Notebooks</h2>
<p>Each name opens the executed notebook as a page that works offline (figures are embedded).
Times are wall-clock seconds for the whole notebook, kernel start included; peak memory is the
kernel's peak resident set.</p>
<table>
<tr>{''.join(f'<th>{h}</th>' for h in head)}</tr>
{''.join(body)}
</table>
<p>{tables}</p>
<h2>Data</h2>
<ul>{data_items}</ul>
<h2>Machine</h2>
<table>{machine_html}</table>
</body>
</html>
"""
    index = out / "index.html"
    index.write_text(page, encoding="utf-8")
    return index


def rebuild(folder: str | Path) -> Path:
    """Write ``index.html`` again for a finished run folder."""
    folder = Path(folder)
    summary = folder / "summary.json"
    if not summary.exists():
        from .runner import RunError

        raise RunError(f"{summary} does not exist: run the course into {folder} first")
    rows = json.loads(summary.read_text())
    info_path = folder / "run.json"
    info = json.loads(info_path.read_text()) if info_path.exists() else {"profile": rows[0].get("profile") if rows else None}
    return write_index(folder, rows, info)
