"""The download path of course_lib.data, for real but offline.

A local HTTP server on 127.0.0.1 plays the dataset mirror; torchvision's mirror lists
(``datasets.MNIST.mirrors``, ``datasets.FashionMNIST.mirrors``) are pointed at it, and
``data.load`` downloads, checks and loads what it serves. Debian's Fashion-MNIST archives
stand in for the real thing: they pass Fashion-MNIST's checks, and they fail MNIST's
(whose real checksums stay as they are), which is what a wrong or corrupt download
looks like.
"""
from __future__ import annotations

import functools
import gzip
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import torch
from torchvision import datasets

from course_lib import data

FASHION = Path("/usr/share/datasets/fashion-mnist")
pytestmark = pytest.mark.skipif(not FASHION.exists(), reason="Debian's dataset-fashion-mnist is not installed")
FILES = list(data.IDX_FILES["fashion-mnist"])


class _Handler(SimpleHTTPRequestHandler):
    requests: list

    def log_message(self, *args):  # quiet
        pass

    def do_GET(self):
        self.requests.append(self.path)
        super().do_GET()


@pytest.fixture
def mirror(tmp_path):
    """A folder served over HTTP on 127.0.0.1: (folder, base URL, list of requested paths)."""
    folder = tmp_path / "mirror"
    folder.mkdir()
    requests: list = []
    handler = type("Handler", (_Handler,), {"requests": requests})
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield folder, f"http://127.0.0.1:{server.server_port}/", requests
    server.shutdown()
    server.server_close()


@pytest.fixture
def fresh(tmp_path, monkeypatch):
    """An empty data/ folder, no Debian folder, and a new process's memory (nothing tried yet)."""
    monkeypatch.setattr(data, "DATA_DIR", tmp_path / "data")
    monkeypatch.setattr(data, "DEBIAN_FASHION_DIR", tmp_path / "no-debian")
    monkeypatch.delenv("COURSE_DATA", raising=False)
    caches = (data._resolve_auto, data._download_outcome, data._announce_once)  # data's per-process caches
    for cache in caches:
        cache.cache_clear()
    yield tmp_path / "data"
    for cache in caches:  # what the test decided about its fake folders must not outlive it
        cache.cache_clear()


def _closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (connection refused at once)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def _serve(folder: Path, names=FILES, as_names=None) -> None:
    for name, target in zip(names, as_names or names):
        (folder / (target + ".gz")).symlink_to(FASHION / (name + ".gz"))


def one_line(err) -> str:
    text = str(err.value)
    assert "\n" not in text
    return text


def test_download_verifies_and_loads(fresh, mirror, monkeypatch, capsys):
    folder, url, requests = mirror
    _serve(folder)
    monkeypatch.setattr(datasets.FashionMNIST, "mirrors", [_closed_port_url(), url])  # the first mirror is down
    test = data.load("fashion-mnist", "test")
    assert test.images.shape == (10000, 1, 28, 28) and test.labels.bincount().tolist() == [1000] * 10
    assert test.images.dtype == torch.float32 and 0 <= test.images.min() and test.images.max() <= 1
    raw = fresh / "FashionMNIST" / "raw"
    assert sorted(p.name for p in raw.glob("*.gz")) == sorted(f + ".gz" for f in FILES)
    assert not list(raw.glob("*.part"))
    assert sorted(requests) == sorted(f"/{f}.gz" for f in FILES)  # each file once
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"Data: downloading fashion-mnist from {url} into {raw} (once; later runs read it there)"
    assert out[1].startswith("Data: Fashion-MNIST (60,000 train / 10,000 test) from ") and len(out) == 2
    assert len(data.load("fashion-mnist", "train")) == 60000
    assert len(requests) == 4 and capsys.readouterr().out == ""  # no second download, no second notice


def _corrupt_copy(src: Path, dest: Path) -> None:
    """A valid gzip archive of the file with one byte changed: same size, wrong contents."""
    blob = bytearray(gzip.decompress(src.read_bytes()))
    blob[len(blob) // 2] ^= 0xFF
    dest.write_bytes(gzip.compress(bytes(blob), compresslevel=1))


def test_corrupt_download_is_caught_and_deleted(fresh, mirror, monkeypatch):
    folder, url, requests = mirror
    bad = "t10k-labels-idx1-ubyte"
    _serve(folder, [f for f in FILES if f != bad])
    _corrupt_copy(FASHION / (bad + ".gz"), folder / (bad + ".gz"))
    monkeypatch.setattr(datasets.FashionMNIST, "mirrors", [url])
    with pytest.raises(data.DataError) as err:
        data.load("fashion-mnist", "test")
    msg = one_line(err)
    assert msg.startswith(f"fashion-mnist: the download of {url}{bad}.gz fails its sha256 check")
    raw = fresh / "FashionMNIST" / "raw"
    assert not (raw / (bad + ".gz")).exists() and not list(raw.glob("*.part"))  # nothing bad kept
    with pytest.raises(data.DataError, match="sha256"):  # the same answer again, without a second download
        data.load("fashion-mnist", "train")
    assert sorted(requests) == sorted(f"/{f}.gz" for f in FILES)


def test_truncated_download_is_caught(fresh, mirror, monkeypatch):
    folder, url, _ = mirror
    (folder / (FILES[2] + ".gz")).write_bytes((FASHION / (FILES[2] + ".gz")).read_bytes()[:5000])
    _serve(folder, [f for f in FILES if f != FILES[2]])
    monkeypatch.setattr(datasets.FashionMNIST, "mirrors", [url])
    with pytest.raises(data.DataError) as err:
        data.load("fashion-mnist", "test")
    assert f"{FILES[2]}.gz is not a readable gzip archive" in one_line(err)


def test_mnist_checksums_refuse_a_wrong_file(fresh, mirror, monkeypatch, capsys):
    """Files that are not MNIST, served as MNIST, fail MNIST's real sha256; ``auto`` then uses the sample."""
    folder, url, requests = mirror
    _serve(folder)  # Fashion-MNIST's archives under MNIST's names
    monkeypatch.setattr(datasets.MNIST, "mirrors", [url])
    with pytest.raises(data.DataError) as err:
        data.load("mnist", "test")
    assert one_line(err).startswith(f"mnist: the download of {url}train-images-idx3-ubyte.gz fails its sha256 check")
    data._download_outcome.cache_clear()
    capsys.readouterr()
    assert data.load("auto", "test").name == "mnist-sample"
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2 and out[0].startswith("Data: downloading mnist")
    assert "its download failed (mnist: the download of" in out[1] and "sha256" in out[1]


def test_auto_tries_the_download_once_per_process(fresh, monkeypatch, capsys):
    """Offline (every mirror refuses): one attempt, one notice, whatever the number of loads."""
    import urllib.request

    calls = []
    real = urllib.request.urlopen

    def counting(url, *args, **kw):
        calls.append(url)
        return real(url, *args, **kw)

    monkeypatch.setattr(urllib.request, "urlopen", counting)
    monkeypatch.setattr(datasets.MNIST, "mirrors", [_closed_port_url(), _closed_port_url()])
    train, test = data.load("auto", "train"), data.load("auto", "test")
    assert train.name == test.name == "mnist-sample"
    assert len(calls) == 2  # the first file at each mirror, then it stops: no network
    assert data.load("auto", "train").name == "mnist-sample" and len(calls) == 2
    out = capsys.readouterr().out
    assert out.count("\n") == 1, out
    assert "could not be downloaded (tried once this session)" in out
    assert "Choose with the dataset parameter: auto, mnist, mnist-sample, fashion-mnist, uci-digits" in out
