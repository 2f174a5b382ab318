"""The one set-up call at the top of every notebook.

``start(seed, threads, device)`` makes a run repeatable and tells you where it runs:
it seeds Python, NumPy and torch, turns on torch's deterministic algorithms
(warn-only, so ops with no deterministic CUDA kernel still run), flushes subnormal
numbers to zero on the CPU, fixes the CPU thread count, picks the device and sets
matplotlib's defaults. It also starts the clock that :func:`course_lib.records.record` reads.

Why flush: float32 numbers below 1.2e-38 (*subnormal*) are computed many times more
slowly by most CPUs, and a model that collapses (notebooks 05 and 06) fills its
gradients with them: at full size they made 05's seed recipe up to 16 times slower per epoch
(4 times over its 100 epochs).
Flushing changes only numbers that small. The setting belongs to each CPU thread and a
new thread copies it from the thread that starts it, so ``start`` sets it before torch
starts its worker threads, and :func:`flushes_subnormals` checks that all of them have it.
"""
from __future__ import annotations

import os
import random
import time

import numpy as np
import torch

DEVICES = ("auto", "cpu", "cuda", "mps")
STARTED_AT: float | None = None


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


def start(seed: int = 0, threads: int = 2, device: str = "auto") -> torch.device:
    """Seed, fix threads, choose the device, style the plots; return the device."""
    global STARTED_AT
    STARTED_AT = time.perf_counter()
    dev = pick_device(device)
    determinism = deterministic(dev)
    flushing = torch.set_flush_denormal(True)  # before set_num_threads: new worker threads copy it
    torch.set_num_threads(threads)
    flush = ("subnormals flushed to zero" if flushing and flushes_subnormals() else
             "subnormals kept (this CPU cannot flush them)" if not flushing else
             "subnormals flushed on the main thread only: restart the kernel to flush them everywhere")
    seed_everything(seed)
    style_plots()
    print(f"torch {torch.__version__} on {dev}, {threads} thread(s), seed {seed}; {determinism}; {flush}")
    return dev


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


def elapsed() -> float:
    """Seconds since :func:`start` (0 if it was never called)."""
    return 0.0 if STARTED_AT is None else time.perf_counter() - STARTED_AT
