"""What a lecturer gets: the course website, the slides, the student edition and its autograder.

One fixture builds all three once, from the committed notebooks (as `make site`, `python -m
course_lib slides` and `python -m course_lib student --profile smoke` do); the tests then

* open every page of the site in headless Chromium with the network off (in a network
  namespace of its own, `unshare -n`, where this user may make one; else with every host
  unresolvable and a dead proxy): equations are typeset by MathJax (no TeX source left, no
  MathJax error), every figure is a local PNG that decodes, every local link resolves, and no
  page asks for anything over the network;
* open slides the same way: reveal.js starts, a deep link pages to a later slide, equations render;
* check the rules that derive slide metadata (main path, headings, figures, hidden code);
* check the student edition: no solution in it, the blank and the self-check cells as committed;
* grade notebook 01 with ``otter run``: the solutions score full marks, the blank student
  notebook scores zero with the exercise's own message.
Chromium's tests skip without Debian's ``chromium`` (CI installs it).
"""
import base64
import io
import json
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import unquote, urlparse

import nbformat
import pytest

from course_lib.tooling import checkout, site, slides, student
from test_browser import Elements

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = checkout.notebooks(ROOT / "notebooks")
CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH (CI installs Debian's chromium)")
GRADED = "01_pixel_similarity"  # the fastest notebook on the smoke profile: otter run executes it twice

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--window-size=1280,800",
         "--virtual-time-budget=30000"]  # let MathJax finish typesetting before the DOM is dumped
NO_NETWORK = ["--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>"]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("lecturers")
    index = site.build(ROOT / "notebooks", out / "site", quiet=True)
    decks = slides.build(None, ROOT / "notebooks", out / "slides", quiet=True)
    edition = student.build(None, out / "student", "smoke")
    return {"site": index, "slides": decks, "student": edition, "out": out}


def offline_prefix() -> list[str]:
    """``unshare -n`` (no network at all) where this user may make a network namespace."""
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "-n", "true"], capture_output=True).returncode == 0:
        return [unshare, "-n"]
    return []


class Page(Elements):
    """The links and images test_browser collects, plus every asset a page loads and its visible text."""

    def __init__(self):
        super().__init__()
        self.assets, self.text, self._skip = [], [], 0

    def handle_starttag(self, tag, attrs):
        super().handle_starttag(tag, attrs)
        attrs = dict(attrs)
        if tag in ("script", "link", "img", "iframe", "source", "video", "audio"):
            self.assets += [v for k, v in attrs.items() if k in ("src", "href") and v]
        if tag in ("script", "style"):
            self._skip += 1

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)

    def handle_data(self, data):
        if not self._skip:
            self.text.append(data)


def open_offline(url: str, profile: Path) -> tuple[str, Page]:
    cmd = [*offline_prefix(), CHROMIUM, *FLAGS, *NO_NETWORK, f"--user-data-dir={profile}", "--dump-dom", url]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, f"chromium failed on {url}: {proc.stderr[-2000:]}"
    assert "<body" in proc.stdout, f"chromium returned no document for {url}"
    page = Page()
    page.feed(proc.stdout)
    return proc.stdout, page


def assert_no_network_assets(html_file: Path) -> None:
    page = Page()
    page.feed(html_file.read_text(encoding="utf-8"))
    remote = [a for a in page.assets if urlparse(a).scheme in ("http", "https") or a.startswith("//")]
    assert not remote, f"{html_file.name} loads from the network: {remote[:3]}"


def assert_maths_rendered(dom: str, page: Page, where: str) -> int:
    """MathJax 2 typeset every equation: frames, no error, no TeX delimiters left in the text."""
    rendered = len(re.findall(r'class="MathJax(?:_Display|_SVG|_CHTML)?"', dom))
    assert "MathJax_Error" not in re.sub(r"<style.*?</style>", "", dom, flags=re.S), f"{where}: MathJax failed on an equation"
    text = "".join(page.text)
    for raw in ("\\(", "\\[", "$$", "\\frac", "\\sum"):
        assert raw not in text, f"{where}: TeX source {raw!r} is shown as text"
    return rendered


def assert_png(path: Path, where: str) -> None:
    from PIL import Image

    raw = path.read_bytes()
    assert raw.startswith(b"\x89PNG\r\n\x1a\n"), f"{where}: {path.name} is not a PNG"
    with Image.open(io.BytesIO(raw)) as image:
        image.load()
        assert image.width > 10 and image.height > 10


def local(page_file: Path, href: str) -> Path | None:
    url = urlparse(href)
    if url.scheme in ("http", "https", "mailto", "data") or not url.path:
        return None
    return (page_file.parent / unquote(url.path)).resolve()


# -- the site ---------------------------------------------------------------------------------

@needs_chromium
def test_site_opens_offline_with_maths_figures_and_links(built, tmp_path):
    index = built["site"]
    _, top = open_offline(index.as_uri(), tmp_path / "profile")
    lessons = [index.parent / f"{n}.html" for n in NOTEBOOKS]
    for lesson in lessons:
        assert lesson.name in top.links, f"index.html does not link to {lesson.name}"
    maths, figures = 0, 0
    for page_file in [index, *lessons]:
        assert_no_network_assets(page_file)
        dom, page = open_offline(page_file.as_uri(), tmp_path / "profile")
        maths += assert_maths_rendered(dom, page, page_file.name)
        for href in page.links:
            target = local(page_file, href)
            assert target is None or target.exists(), f"{page_file.name} links to {href}, which does not exist"
        for src in page.images:
            if src.startswith("data:image/png;base64,"):
                raw = base64.b64decode(src.split(",", 1)[1])
                assert raw.startswith(b"\x89PNG"), f"{page_file.name}: an embedded image is not a PNG"
            else:
                target = local(page_file, src)
                assert target is not None and target.is_file(), f"{page_file.name}: figure {src} is missing"
                if target.suffix == ".png":
                    assert_png(target, page_file.name)
            figures += 1
    assert maths > 0, "no equation was typeset anywhere on the site"
    assert figures >= len(lessons), "the lessons show hardly any figure"
    for lesson in lessons[1:]:  # navigation: each lesson links to the one before it
        previous = lessons[lessons.index(lesson) - 1].name
        assert previous in lesson.read_text(encoding="utf-8"), f"{lesson.name} has no link back to {previous}"


def test_site_refuses_a_folder_without_executed_notebooks(tmp_path):
    from course_lib.tooling.errors import RunError

    with pytest.raises(RunError, match="--from"):
        site.build(tmp_path / "nowhere", tmp_path / "out")
    (tmp_path / "empty").mkdir()
    with pytest.raises(RunError, match="no executed notebook"):
        site.build(tmp_path / "empty", tmp_path / "out")


# -- the slides -------------------------------------------------------------------------------

def present(dom: str) -> str:
    """The text of the slide reveal.js shows (the innermost section marked present)."""
    sections = re.findall(r'<section[^>]*class="[^"]*\bpresent\b[^"]*"[^>]*>(.*?)</section>', dom, flags=re.S)
    assert sections, "reveal.js marked no slide as present: it did not start"
    return re.sub(r"<[^>]+>", " ", sections[-1])


@needs_chromium
def test_slides_open_offline_page_and_render_maths(built, tmp_path):
    deck = next(d for d in built["slides"] if d.name.startswith("01_"))
    assert_no_network_assets(deck)
    first_dom, page = open_offline(deck.as_uri(), tmp_path / "profile")
    assert re.search(r'class="reveal[^"]*\bready\b', first_dom), "reveal.js did not initialise"
    assert assert_maths_rendered(first_dom, page, deck.name) > 0, "no equation on 01's slides was typeset"
    later_dom, _ = open_offline(deck.as_uri() + "#/3", tmp_path / "profile")
    assert present(later_dom) != present(first_dom), "the deck did not page to slide 4"
    assert len(built["slides"]) == len(NOTEBOOKS)


def cell(kind, source, tags=(), outputs=()):
    c = nbformat.v4.new_markdown_cell(source) if kind == "md" else nbformat.v4.new_code_cell(source)
    if tags:
        c.metadata["tags"] = list(tags)
    if kind == "code":
        c.outputs = list(outputs)
    return c


def test_slide_metadata_comes_from_the_notebooks_structure():
    figure = nbformat.v4.new_output("display_data", data={"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"})
    printed = nbformat.v4.new_output("stream", name="stdout", text="✓ a finding\n")
    nb = nbformat.v4.new_notebook(cells=[
        cell("md", "# Title"), cell("code", "x = 1", ["parameters"]), cell("md", "## 1. A step"),
        cell("md", "prose " * 10), cell("code", "plot()", outputs=[figure, printed]),
        cell("code", "print(x)", outputs=[printed]), cell("code", "run.claim(...)", ["claim"], [printed]),
        cell("md", "### A detail"), cell("code", "# exercise: e\n...", ["exercise"], [printed]),
        cell("code", "check()", ["exercise-check"], [printed]), cell("md", "## Appendix: more"),
        cell("md", "## 2. after the appendix")])
    lecture = slides.lecture(nb)
    kinds = [(c.source.split("\n")[0], c.metadata["slideshow"]["slide_type"]) for c in lecture.cells]
    assert kinds == [("# Title", "slide"), ("x = 1", "skip"), ("## 1. A step", "slide"), ("prose " * 10, "-"),
                     ("plot()", "subslide"), ("print(x)", "skip"), ("run.claim(...)", "-"),
                     ("### A detail", "subslide"), ("# exercise: e", "subslide"), ("check()", "skip")]
    plot = lecture.cells[4]
    assert plot.metadata["transient"]["remove_source"] and plot.outputs == [figure], "a figure cell shows its figure only"
    assert "transient" not in lecture.cells[8].metadata and not lecture.cells[8].outputs, "an exercise shows its code"
    assert nb.cells[4].outputs == [figure, printed], "the notebook itself is not changed"


def test_slides_name_a_bad_notebook(tmp_path):
    from course_lib.tooling.errors import RunError

    with pytest.raises(RunError, match=r"^slides '9' matches no notebook"):
        slides.build("9", ROOT / "notebooks", tmp_path)


# -- the student edition and the autograder ---------------------------------------------------

def tagged(nb, tag):
    return [c for c in nb.cells if tag in c.get("metadata", {}).get("tags", [])]


def solution_lines(name):
    """The lines of each solution block that say something (not blank, not a comment, not a def line)."""
    found = {}
    for key, block in student.solutions(name).items():
        found[key] = [line.strip() for line in block.splitlines()
                      if line.strip() and not line.strip().startswith(("#", "def ", "return None"))]
    return found


def test_the_student_edition_has_no_solutions_and_keeps_the_self_checks(built):
    release = built["student"] / "release"
    for name in NOTEBOOKS:
        committed = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
        given = nbformat.read(release / f"{name}.ipynb", as_version=4)
        assert (built["student"] / "autograder" / f"{name}.zip").is_file(), f"{name}: no autograder"
        text = "\n".join(c.source for c in given.cells)
        for key, lines in solution_lines(name).items():
            leaked = [line for line in lines if line in text and len(line) > 12
                      and not any(line in c.source for c in committed.cells)]
            assert not leaked, f"{name}: the student edition holds the solution of {key}: {leaked[:2]}"
        assert [c.source.rstrip() for c in tagged(given, "exercise")] == \
            [c.source.rstrip() for c in tagged(committed, "exercise")], \
            f"{name}: the exercise cells are not the committed blanks"
        assert [c.source.rstrip() for c in tagged(given, "exercise-check")] == \
            [c.source.rstrip() for c in tagged(committed, "exercise-check")], f"{name}: the self-check cells changed"
        injected = tagged(given, "injected-parameters")
        assert len(injected) == 1 and "dataset = 'mnist-sample'" in injected[0].source, \
            f"{name}: the smoke profile's parameters are not injected"
        solved = (built["student"] / "otter" / name / "autograder" / f"{name}.ipynb").read_text()
        assert all(json.dumps(line)[1:-1] in solved for lines in solution_lines(name).values() for line in lines), \
            f"{name}: the autograder's copy lacks a solution"


def blank_messages(name: str) -> dict[str, str]:
    """Exercise -> the first line its check cell printed on the blank, in the committed notebook."""
    committed = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
    found = {}
    for i, c in enumerate(committed.cells):
        if "exercise" in c.metadata.get("tags", []):
            key = student.MARK.search(c.source).group(1)
            check = next(d for d in committed.cells[i + 1:] if "exercise-check" in d.metadata.get("tags", []))
            printed = "".join(o.get("text", "") for o in check.outputs if o.get("output_type") == "stream").strip()
            assert printed, f"{name}: the committed check cell of {key} printed nothing on the blank"
            found[key] = printed.splitlines()[0]
    return found


def test_the_autograder_passes_the_solutions_and_fails_the_blanks(built, tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_DATA", "mnist-sample")
    zip_path = built["student"] / "autograder" / f"{GRADED}.zip"
    solved = built["student"] / "otter" / GRADED / "autograder" / f"{GRADED}.ipynb"
    blank = built["student"] / "release" / f"{GRADED}.ipynb"
    passed = student.scores(student.run_one(zip_path, solved, tmp_path / "solved"))
    assert passed and all(s == p > 0 for s, p, _ in passed.values()), f"the solutions did not pass: {passed}"
    failed = student.scores(student.run_one(zip_path, blank, tmp_path / "blank"))
    assert set(failed) == set(passed) and all(s == 0 for s, _, _ in failed.values()), f"a blank passed: {failed}"
    for key, message in blank_messages(GRADED).items():
        said = failed[key][2]
        assert message in said, f"{key}: the failure does not give the exercise's message: {said[-400:]}"


def test_grade_writes_a_table(built, tmp_path, monkeypatch):
    """`grade` over a folder, with the otter runs faked (the real ones are the test above)."""
    (tmp_path / "subs").mkdir()
    for who in ("ada", "bob"):
        (tmp_path / "subs" / f"{who}.ipynb").write_text("{}")
    results = {"ada": {"tests": [{"name": "q", "score": 1, "max_score": 1, "output": ""}]},
               "bob": {"tests": [{"name": "q", "score": 0, "max_score": 1, "output": "fill it in"}]}}
    monkeypatch.setattr(student, "run_one", lambda z, sub, out: results[sub.stem])
    table = student.grade("01", tmp_path / "subs", built["student"] / "autograder")
    assert table.read_text().splitlines() == ["submission,score,possible,q", "ada.ipynb,1.0,1.0,1.0",
                                              "bob.ipynb,0.0,1.0,0.0"]
