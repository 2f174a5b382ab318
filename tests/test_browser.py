"""Open a run's index.html in headless Chromium, offline, and check that it holds together.

Chromium dumps the DOM of index.html and of every page it links to; every link must
point to a file that exists and every <img> must be a data: URI that decodes as a PNG.
It checks a hand-made run (always) and the smoke run in runs/smoke (made by
``make test``; skipped if absent). Needs Debian's ``chromium`` (CI installs it).
"""
import base64
import io
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from course_lib.tooling import report

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH (CI installs Debian's chromium)")

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


class Elements(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links, self.images = [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        if tag == "img":
            self.images.append(attrs.get("src") or "")


def dump_dom(page: Path, profile: Path) -> Elements:
    proc = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "--dump-dom", page.as_uri()],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"chromium failed on {page}: {proc.stderr[-2000:]}"
    assert "<body" in proc.stdout, f"chromium returned no document for {page}"
    found = Elements()
    found.feed(proc.stdout)
    return found


def local_target(page: Path, href: str) -> Path | None:
    """The file a relative link points to; None for anchors and web links."""
    url = urlparse(href)
    if url.scheme in ("http", "https", "mailto") or not url.path:
        return None
    assert url.scheme in ("", "file"), f"{page.name}: unexpected link {href}"
    return (page.parent / unquote(url.path)).resolve() if not url.scheme else Path(unquote(url.path))


def assert_png(src: str, where: str) -> None:
    from PIL import Image

    prefix = "data:image/png;base64,"
    assert src.startswith(prefix), f"{where}: <img> is not an embedded PNG: {src[:80]}"
    raw = base64.b64decode(src[len(prefix):], validate=True)
    assert raw.startswith(b"\x89PNG\r\n\x1a\n"), f"{where}: <img> data is not a PNG"
    with Image.open(io.BytesIO(raw)) as image:
        image.load()  # decodes every pixel: a truncated figure fails here
        assert image.width > 10 and image.height > 10


def check_run(folder: Path, profile: Path) -> int:
    """Every link from index.html resolves and every figure on every page loads; returns #pages."""
    index = folder / "index.html"
    assert index.exists(), f"{index} is missing"
    top = dump_dom(index, profile)
    pages = []
    for href in top.links:
        target = local_target(index, href)
        if target is None:
            continue
        assert target.is_file(), f"index.html links to {href}, which does not exist"
        if target.suffix == ".html":
            pages.append(target)
    assert pages, "index.html links to no notebook page"
    for page in pages:
        dom = dump_dom(page, profile)
        assert dom.images, f"{page.name} shows no figure"
        for src in dom.images:
            assert_png(src, page.name)
        for href in dom.links:  # a notebook's own relative links point into notebooks/
            target = local_target(page, href)
            beside_source = local_target(ROOT / "notebooks" / page.name, href)
            assert target is None or target.exists() or beside_source.exists(), \
                f"{page.name} links to {href}, which does not exist"
    return len(pages)


def test_made_up_run_opens_in_chromium(tmp_path):
    from test_report import make_run

    rows, info = make_run(tmp_path / "run")
    report.write_index(tmp_path / "run", rows, info)
    assert check_run(tmp_path / "run", tmp_path / "chromium-profile") == 2


def test_smoke_run_opens_in_chromium(tmp_path):
    folder = ROOT / "runs" / "smoke"
    if not (folder / "index.html").exists():
        pytest.skip("runs/smoke/index.html is absent: `make test` (or python -m course_lib run --profile smoke) makes it")
    check_run(folder, tmp_path / "chromium-profile")
