"""The one set-up line at the top of every notebook, and the run object it returns.

    run = session.start(globals(), lr=(1e-8, 10.0))

``start`` checks the parameters cell (see :mod:`course_lib.params`), makes ``output_dir``,
seeds Python, NumPy and torch, turns on torch's deterministic algorithms (warn-only, so
ops with no deterministic CUDA kernel still run), flushes subnormal numbers to zero on
the CPU, fixes the CPU thread count, picks the device, sets matplotlib's defaults and
starts the clock. It returns a :class:`Run`, which the notebook then uses for everything
that is about this run rather than about the lesson:

- ``run.params``, ``run.seed``, ``run.device``, ``run.output_dir``, ``run.elapsed()``;
- ``run.generator(offset)``: a fresh generator seeded with ``seed + offset``, one per use
  (batch order, subsets, random draws), so no two uses share a stream;
- ``run.claim(text, held, detail)``: a finding of the summary, shown as one line (✓ or ✗
  with its numbers) and recorded; it never stops the notebook;
- ``run.healthy(condition, message)``: stops the notebook with one line when a model is
  degenerate, before it feeds a figure; the message says which parameter to change;
- ``run.record(metrics, data=...)``: writes ``metrics.json`` (see :mod:`course_lib.records`).

Why flush: float32 numbers below 1.2e-38 (*subnormal*) are computed many times more
slowly by most CPUs, and a model that collapses (notebooks 05 and 06) fills its
gradients with them: at full size they made 05's original recipe up to 16 times slower
per epoch (4 times over its 100 epochs). Flushing changes only numbers that small. The
setting belongs to each CPU thread and a new thread copies it from the thread that starts
it, so ``configure`` sets it before torch starts its worker threads, and
:func:`flushes_subnormals` checks that all of them have it.
"""
from __future__ import annotations

import os
import random
import time
from pathlib import Path

import numpy as np
import threadpoolctl
import torch

from . import params as _params
from . import records
from .params import DEVICES


class HealthCheckFailed(RuntimeError):
    """A model too degenerate to go on with. Jupyter shows it as one line, not a traceback."""

    def _render_traceback_(self) -> list[str]:  # IPython's hook for how an exception is shown
        return [f"\033[0;31mHealthCheckFailed\033[0m: {self}"]


class Run:
    """One execution of one notebook: what ``start`` checked and set up, and what the run found."""

    def __init__(self, params: dict, device: torch.device, output_dir: Path):
        self.params = dict(params)
        self.seed = int(params.get("seed", 0))
        self.device = device
        self.output_dir = output_dir
        self.started_at = time.perf_counter()
        self.claims: dict[str, bool] = {}
        self.details: dict[str, str] = {}
        self.not_checked: dict[str, str] = {}
        self.margins: dict[str, float] = {}

    def __repr__(self) -> str:
        return f"Run(seed={self.seed}, device={self.device}, output_dir={str(self.output_dir)!r})"

    def elapsed(self) -> float:
        """Seconds since ``start``."""
        return time.perf_counter() - self.started_at

    def generator(self, offset: int = 0, device: str | torch.device = "cpu") -> torch.Generator:
        """A new generator seeded with ``seed + offset``: give each use its own offset."""
        return torch.Generator(device).manual_seed(self.seed + offset)

    def manual_seed(self, offset: int = 0) -> None:
        """Seed torch's global generator (which ``nn.Linear`` & co. draw their weights from) with ``seed + offset``."""
        torch.manual_seed(self.seed + offset)

    def path(self, name: str) -> Path:
        """Where an artifact called ``name`` goes: ``output_dir/name``."""
        return self.output_dir / name

    def claim(self, text: str, held, detail: str = "", margin: float | None = None) -> None:
        """Show one finding as ✓ or ✗ with the numbers behind it, and record it.

        ``held=None`` means it was not checked in this run (``detail`` says why): shown as
        such and recorded apart, never as true. A false claim does not stop the notebook;
        ``python -m course_lib claims RUN`` reports it, and CI fails on it for the default profile.
        ``margin``, where a claim compares two numbers, is how far it held by (negative: how far
        it failed by), in the units of ``detail``; a seed sweep reports the smallest one.
        Returns nothing, so a claim that ends a cell adds no ``Out[]`` line (``run.claims`` has them all).
        """
        if held is None:
            self.not_checked[text] = detail
            print(f"- not checked: {text}" + (f" ({detail})" if detail else ""))
            return
        held = bool(held)
        self.claims[text] = held
        self.details[text] = detail
        if margin is not None:
            self.margins[text] = float(margin)
        print(f"{'✓' if held else '✗'} {text}" + (f"  [{detail}]" if detail else ""))

    def healthy(self, condition, message: str) -> None:
        """Stop the notebook with ``message`` (one line: what happened, which parameter to change) unless ``condition``."""
        if not condition:
            raise HealthCheckFailed(message)

    def record(self, metrics: dict, *, data: list | tuple = ()) -> Path:
        """Write ``metrics.json``: the metrics, the claims, the parameters, the data, the machine, the seconds."""
        return records.write(self.output_dir, metrics, claims=self.claims, details=self.details,
                             not_checked=self.not_checked, margins=self.margins, params=self.params, data=data,
                             device=self.device, seconds=self.elapsed())


def start(namespace: dict, **rules) -> Run:
    """Check a notebook's parameters cell (``namespace`` is its ``globals()``), set up the
    session from its ``seed``, ``threads`` and ``device``, make its ``output_dir``; return the Run."""
    values = _params.check(namespace, **rules)
    if "output_dir" not in values:
        raise ValueError("the parameters cell must declare output_dir: str (where metrics.json goes)")
    folder = output_folder(values["output_dir"])
    device = configure(values.get("seed", 0), values.get("threads", 2), values.get("device", "auto"))
    return Run(values, device, folder)


def output_folder(value: str | os.PathLike, name: str = "output_dir") -> Path:
    """The folder ``value``, created with its parents; a one-line ValueError if it cannot be made or written."""
    path = Path(value).expanduser()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ValueError(f"{name} must be a folder we can create; {str(value)!r} failed: {err.strerror}") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise ValueError(f"{name} must be a writable folder; {str(value)!r} is not writable")
    return path


def configure(seed: int = 0, threads: int = 2, device: str = "auto") -> torch.device:
    """Seed, fix threads, choose the device, style the plots; print one line saying so; return the device."""
    dev = pick_device(device)
    determinism = deterministic(dev)
    flushing = torch.set_flush_denormal(True)  # before set_num_threads: new worker threads copy it
    torch.set_num_threads(threads)
    # numpy's and scikit-learn's BLAS and OpenMP pools too: else they follow the environment
    # (a Dask worker sets OMP_NUM_THREADS=1), and a sweep's task would not be the plain run
    threadpoolctl.threadpool_limits(threads)
    flush = ("subnormals flushed to zero" if flushing and flushes_subnormals() else
             "subnormals kept (this CPU cannot flush them)" if not flushing else
             "subnormals flushed on the main thread only: restart the kernel to flush them everywhere")
    seed_everything(seed)
    style_plots()
    print(f"torch {torch.__version__} on {dev}, {threads} thread(s), seed {seed}; {determinism}; {flush}")
    return dev


def pick_device(device: str = "auto") -> torch.device:
    """cuda, then mps, then cpu for ``auto``; a named device must exist."""
    if device not in DEVICES:
        raise ValueError(f"device must be one of {', '.join(DEVICES)}, got {device!r}")
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was asked for but no CUDA GPU is visible: use 'auto' or 'cpu'")
    if device == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ValueError("device 'mps' was asked for but Apple's MPS is not available: use 'auto' or 'cpu'")
    return torch.device(device)


def seed_everything(seed: int) -> torch.Generator:
    """Seed every random source; return a CPU generator for batch shuffling."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def flushes_subnormals() -> bool:
    """True when every CPU thread torch uses reads subnormal float32 numbers as zero.

    A tensor large enough to be split between all threads, filled with the smallest
    subnormal number (the bit pattern 1: made from integers, because converting 1e-45 to
    float32 would itself be flushed) and multiplied by one: a thread that flushes writes zeros."""
    tiny = torch.ones(torch.get_num_threads() << 20, dtype=torch.int32).view(torch.float32)
    return bool((tiny * 1.0).count_nonzero() == 0)


def deterministic(dev: torch.device) -> str:
    """Ask torch for deterministic kernels; say in a few words what was set.

    Where an op has no deterministic kernel (on CUDA: ``median`` along a dim, the
    backward of ``adaptive_avg_pool2d``, ...) torch warns instead of raising
    (``warn_only``), so a notebook runs on every device. cuBLAS needs
    ``CUBLAS_WORKSPACE_CONFIG`` before its first call to be deterministic.
    """
    torch.use_deterministic_algorithms(True, warn_only=True)
    if dev.type != "cuda":
        return "deterministic algorithms on"
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.backends.cudnn.benchmark = False
    return (f"deterministic algorithms on (warn-only where CUDA has none), "
            f"CUBLAS_WORKSPACE_CONFIG={os.environ['CUBLAS_WORKSPACE_CONFIG']}")


def style_plots() -> None:
    import matplotlib as mpl

    mpl.rcParams.update({
        "figure.figsize": (6.4, 4.0),
        "figure.dpi": 80,
        "savefig.dpi": 100,
        "axes.grid": True,
        "grid.alpha": 0.3,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "image.cmap": "gray_r",
        "font.size": 10,
    })
