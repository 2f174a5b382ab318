"""Exact k nearest neighbours, in blocks so that the N x N distance matrix never exists.

``search(x, k, metric)`` finds the exact ``k`` nearest neighbours of every row of ``x``
among the other rows (L1 or L2) and returns a :class:`Neighbours`: ``distances`` and
``indices``, each (N, k), nearest first, and ``path``, which kernel and search ran and
why (notebooks record it).

- Up to ``STRIPS_MAX_N`` points (notebook 05's default 4,000): each strip of rows against
  all points, then ``torch.topk``.
- Above that (60,000 images): distances are symmetric, so only the square blocks on and
  above the diagonal are computed; each block updates the running top-k of its rows
  *and* of its columns. The running top-k of each point is a max-heap of k (distance,
  index) pairs: a new distance is compared with the heap's root (its current k-th best)
  and only enters if it is smaller. Small compiled kernels (numba) do this for a whole
  block, rows and columns at once, in one pass over it. Half the distance work of the
  strips, but the heaps cost more than topk at small N, and one more kernel to compile.
- L2: ``||a||^2 + ||b||^2 - 2 a.b``, one matrix multiply per block.
- L1 has no matrix-multiply shortcut: a compiled kernel sums absolute differences.
- 8-bit images (every value a multiple of 1/255 in [0, 1], as MNIST's are) take an
  integer path: the pixels become integers 0..255 (shifted to -128..127 for L2, which
  changes no distance), every distance is an exact integer (ties are real ties, not
  rounding), and the returned distances are divided back by 255. The L2 dot products can
  run on three exact kernels, and the fastest one *on this CPU* is chosen by a
  calibration of a few milliseconds on first use (``l2_kernel()``, cached per process):

  - ``"int8-matmul"``: ``torch._int_mm``. Four to eight times the float32 rate on CPUs
    with AVX-512 VNNI, where torch hands it to oneDNN; on every other CPU torch runs it as
    a plain loop, tens of times *slower* than float32 (60x on issue 17's AVX2 laptop).
  - ``"float32-exact"``: an ordinary float32 matrix multiply. Every product of two
    shifted pixels is at most 128^2 = 2^14 in size, so a sum of up to 1024 of them stays
    below 2^24, where float32 holds every integer exactly, whatever the order of the
    additions: the result is exact. Images of more than 1024 pixels are summed in chunks
    of 1024. Needs no int8 hardware.
  - ``"float64"``: the fallback, exact as well, about half the float32 rate.

  L1 on 8-bit images sums absolute differences of bytes in a compiled kernel written
  as 32-byte vector blocks (``"uint8-sad"``), which LLVM turns into PSADBW on x86 (32
  bytes an instruction with AVX2) and into its generic vector code elsewhere;
  ``"uint8-loop"`` is the plain loop it replaces, which widens every byte to 32 bits.
  Other data run in float64, where the L2 expansion keeps even tiny distances.
- Points of at most ``KD_TREE_MAX_DIM`` dimensions (2-D embeddings) go through
  scikit-learn's KD-tree, which is exact and far faster there than brute force.

The module keeps two per-process caches and nothing else between calls: the
calibration's verdict and the thread pool that runs the compiled kernels.
"""
from __future__ import annotations

import functools
import math
import time
from typing import NamedTuple

import numba
import numpy as np
import torch
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

# numba's own thread pool, not OpenMP, should a kernel ever use prange: a second OpenMP
# runtime in the process leaves spinning threads that slow every later torch operation
numba.config.THREADING_LAYER = "workqueue"

METRICS = ("l1", "l2")
KD_TREE_MAX_DIM = 3
DEFAULT_BLOCK = 2048
L2_EIGHT_BIT_KERNELS = ("int8-matmul", "float32-exact", "float64")
L1_EIGHT_BIT_KERNELS = ("uint8-sad", "uint8-loop")
# float32 holds every integer below 2^24 exactly; a shifted pixel product is at most 128^2 = 2^14
FLOAT32_EXACT_CHUNK = 2 ** 24 // 128 ** 2  # 1024 pixels
# up to this many points, row strips against all points + topk; above, symmetric blocks + heaps
STRIPS_MAX_N = 10_000


def _check_metric(metric: str) -> None:
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {', '.join(map(repr, METRICS))}; got {metric!r}")


def _as_float(x) -> torch.Tensor:
    x = torch.as_tensor(x)
    return x.detach().to("cpu", torch.float32).reshape(len(x), -1).contiguous()


def _eight_bit(x: torch.Tensor) -> torch.Tensor | None:
    """x * 255 as uint8 if every value of x is a multiple of 1/255 in [0, 1], else None."""
    scaled = x * 255
    q = torch.round(scaled)
    if x.numel() == 0 or q.min() < 0 or q.max() > 255 or (q - scaled).abs().max() > 1e-3:
        return None
    return q.to(torch.uint8)


# ---------------------------------------------------------------- compiled kernels
# Module-level numba functions, compiled on first use and cached in __pycache__ (numba
# cannot cache functions defined inside other functions). Each is a serial loop over a
# range [lo, hi) of its work that releases the GIL (nogil); ``_in_parallel`` splits the
# work over torch's thread count. numba's own parallel=True/prange would do the same, but
# compiles two to three times slower, and on a fresh clone the compile is most of a small
# kNN's time.

@functools.lru_cache(maxsize=1)
def _pool(threads: int):
    """A per-process cache: the thread pool of ``threads`` workers that runs the kernels,
    made on first use and kept for later calls; a new thread count replaces it (the old
    pool's idle threads exit once it is dropped)."""
    from concurrent.futures import ThreadPoolExecutor

    return ThreadPoolExecutor(threads, thread_name_prefix="knn")


def _in_parallel(tasks: list) -> None:
    """Run ``tasks`` (functions of no arguments that call GIL-free kernels) on as many
    threads as torch uses (session.start sets it), waiting for all."""
    if min(torch.get_num_threads(), len(tasks)) <= 1:
        for task in tasks:
            task()
        return
    pool = _pool(torch.get_num_threads())
    for future in [pool.submit(task) for task in tasks]:
        future.result()


def _slices(n: int, parts: int) -> list:
    """[lo, hi) ranges cutting range(n) into at most ``parts`` near-equal pieces."""
    cuts = np.linspace(0, n, min(parts, n) + 1).round().astype(int)
    return [(int(lo), int(hi)) for lo, hi in zip(cuts[:-1], cuts[1:]) if hi > lo]


@njit(nogil=True, fastmath=True, cache=True)
def _l1_block(lo, hi, a, b, out, zero):  # pragma: no cover - compiled
    """out[i, j] = sum_t |a[i, t] - b[j, t]| for rows lo <= i < hi, summed in the type of
    ``zero`` (max - min rather than abs(a - b), which would wrap around for uint8). The
    plain loop: for float data, and the "uint8-loop" kernel. LLVM vectorises it 8 or 16
    pixels a step, each widened to 32 bits before the sum."""
    for i in range(lo, hi):
        ai = a[i]
        for j in range(b.shape[0]):
            bj = b[j]
            s = zero
            for t in range(a.shape[1]):
                s += max(ai[t], bj[t]) - min(ai[t], bj[t])
            out[i, j] = s


def _sad_of(width):
    """A numba intrinsic: sum_{u < width} |a[i, t + u] - b[j, t + u]| for C-contiguous uint8
    matrices, written as one vector load, subtract, abs and add-reduction. LLVM lowers this
    pattern to PSADBW on x86 (32 bytes an instruction with AVX2), where the plain loop above
    widens every byte to 32 bits first; other CPUs get LLVM's generic vector code for it."""

    @intrinsic
    def sad(typingctx, a, b, i, j, t):
        sig = types.int64(a, b, types.intp, types.intp, types.intp)

        def codegen(context, builder, signature, args):
            a_val, b_val, i_val, j_val, t_val = args
            a_ty, b_ty = signature.args[0], signature.args[1]
            pa = cgutils.get_item_pointer(context, builder, a_ty, context.make_array(a_ty)(context, builder, a_val),
                                          [i_val, t_val], wraparound=False)
            pb = cgutils.get_item_pointer(context, builder, b_ty, context.make_array(b_ty)(context, builder, b_val),
                                          [j_val, t_val], wraparound=False)
            bytes_ty, ints_ty = ir.VectorType(ir.IntType(8), width), ir.VectorType(ir.IntType(32), width)
            va = builder.load(builder.bitcast(pa, bytes_ty.as_pointer()), align=1)
            vb = builder.load(builder.bitcast(pb, bytes_ty.as_pointer()), align=1)
            diff = builder.sub(builder.zext(va, ints_ty), builder.zext(vb, ints_ty))
            absolute = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(ints_ty, [ints_ty, ir.IntType(1)]), f"llvm.abs.v{width}i32")
            total = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(ir.IntType(32), [ints_ty]), f"llvm.vector.reduce.add.v{width}i32")
            summed = builder.call(total, [builder.call(absolute, [diff, ir.Constant(ir.IntType(1), 0)])])
            return builder.zext(summed, ir.IntType(64))

        return sig, codegen

    return sad


_sad32, _sad8 = _sad_of(32), _sad_of(8)


@njit(nogil=True, cache=True)
def _l1_block_sad(lo, hi, a, b, out):  # pragma: no cover - compiled
    """out[i, j] = sum_t |a[i, t] - b[j, t]| for uint8 a and b (C-contiguous) and the row
    pairs lo <= pair < hi (rows 2 pair and 2 pair + 1), in blocks of 32 and then 8 bytes,
    the last few pixels one at a time. Two rows of a share each row of b while it is hot."""
    n, d = a.shape[0], a.shape[1]
    d32, d8 = d - d % 32, d - d % 8
    for pair in range(lo, hi):
        i0 = 2 * pair
        i1 = min(i0 + 1, n - 1)
        for j in range(b.shape[0]):
            s0, s1 = 0, 0
            for t in range(0, d32, 32):
                s0 += _sad32(a, b, i0, j, t)
                s1 += _sad32(a, b, i1, j, t)
            for t in range(d32, d8, 8):
                s0 += _sad8(a, b, i0, j, t)
                s1 += _sad8(a, b, i1, j, t)
            for t in range(d8, d):
                s0 += max(a[i0, t], b[j, t]) - min(a[i0, t], b[j, t])
                s1 += max(a[i1, t], b[j, t]) - min(a[i1, t], b[j, t])
            out[i0, j] = s0
            out[i1, j] = s1


@njit(inline="always")
def _push(heap_d, heap_i, value, index):  # pragma: no cover - compiled
    """Replace the root of a max-heap (the largest kept distance) and sift it down."""
    k, pos = len(heap_d), 0
    while True:
        child = 2 * pos + 1
        if child >= k:
            break
        if child + 1 < k and heap_d[child + 1] > heap_d[child]:
            child += 1
        if heap_d[child] <= value:
            break
        heap_d[pos], heap_i[pos] = heap_d[child], heap_i[child]
        pos = child
    heap_d[pos], heap_i[pos] = value, index


@njit(nogil=True, cache=True)
def _merge_rows(lo, hi, g, scale, sq, row0, col0, best_d, best_i):  # pragma: no cover - compiled
    """Fold rows lo <= r < hi of one block into their heaps. The distance between points
    row0 + r and col0 + c is sq[row0 + r] + sq[col0 + c] + scale * g[r, c]: for L2, g holds
    dot products, sq squared norms and scale is -2; for L1, g holds the distances."""
    cols = g.shape[1]
    for r in range(lo, hi):
        heap_d, heap_i = best_d[row0 + r], best_i[row0 + r]
        base = sq[row0 + r]
        for c in range(cols):
            v = base + sq[col0 + c] + scale * g[r, c]
            if v < heap_d[0] and row0 + r != col0 + c:
                _push(heap_d, heap_i, v, col0 + c)


@njit(nogil=True, cache=True)
def _merge_columns(lo, hi, g, scale, sq, row0, col0, best_d, best_i):  # pragma: no cover - compiled
    """The same for the heaps of the block's columns (an off-diagonal block stands for its
    transpose too), in strips of 64 columns, strips lo <= strip < hi."""
    rows, cols = g.shape
    for strip in range(lo, hi):
        c0, c1 = strip * 64, min(strip * 64 + 64, cols)
        for r in range(rows):
            base = sq[row0 + r]
            for c in range(c0, c1):
                v = base + sq[col0 + c] + scale * g[r, c]
                if v < best_d[col0 + c, 0]:
                    _push(best_d[col0 + c], best_i[col0 + c], v, row0 + r)


def _merge(g, scale, sq, row0, col0, best_d, best_i, columns_too):
    """Fold one block into the heaps of its rows and, if ``columns_too``, of its columns.
    The two sets of heaps are disjoint for an off-diagonal block, so all run at once."""
    rows, cols = g.shape
    parts = torch.get_num_threads()
    args = (g, scale, sq, row0, col0, best_d, best_i)
    tasks = [lambda lo=lo, hi=hi: _merge_rows(lo, hi, *args) for lo, hi in _slices(rows, parts)]
    if columns_too:
        tasks += [lambda lo=lo, hi=hi: _merge_columns(lo, hi, *args) for lo, hi in _slices((cols + 63) // 64, parts)]
    _in_parallel(tasks)


# ---------------------------------------------------------------- choosing the kernel

def _fp32_matmul_is_ieee() -> bool:
    """False if torch was told to run float32 matrix multiplies in reduced precision
    (bf16/tf32), which would make the float32-exact kernel inexact."""
    matmul = getattr(torch.backends.mkldnn, "matmul", None)
    return (torch.get_float32_matmul_precision() == "highest"
            and getattr(matmul, "fp32_precision", "none") in ("none", "ieee"))


def _best_seconds(fns: list, repeats: int) -> list:
    """The best of ``repeats`` timings of each function, the functions alternating (so that
    load from other processes hits them alike), after one warm-up call of each (first calls
    build oneDNN primitives and touch the memory)."""
    for fn in fns:
        fn()
    best = [math.inf] * len(fns)
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            t0 = time.perf_counter()
            fn()
            best[i] = min(best[i], time.perf_counter() - t0)
    return best


@functools.cache  # a per-process cache: the answer depends only on this CPU and torch build
def _int8_matmul_is_exact() -> bool:
    """True if torch._int_mm sums products of extreme int8 values exactly on this CPU.

    Some int8 kernels add pairs of products in 16-bit registers before widening them, and
    saturate: 127 * 127 + 127 * 127 does not fit. (Seen with oneDNN held to AVX2 on a CPU
    that reports VNNI, so torch hands it the matrix multiply anyway.) Rows of +-127 and
    -128 against each other and random rows, compared with an int64 product."""
    gen = torch.Generator().manual_seed(1)
    rows = torch.stack([torch.full((784,), 127), torch.full((784,), -128),
                        torch.tensor([127, -128] * 392), torch.tensor([-128, 127] * 392)])
    a = torch.cat([rows, torch.randint(-128, 128, (12, 784), generator=gen)]).to(torch.int8)
    b = a.T.contiguous()
    try:
        got = torch._int_mm(a, b)
    except RuntimeError:
        return False
    return torch.equal(got.long(), a.long() @ b.long())


@functools.cache
def _calibrate_l2() -> dict:
    """Time torch._int_mm against a float32 matrix multiply on kNN-shaped blocks of 784 pixels.

    First a 64-row block, best of 3, cheap even where _int_mm is a plain loop (a few ms a
    call there): if int8 is more than 4x slower, that is the plain loop and float32 wins.
    Otherwise a 384-row block decides, best of 5 each, the two alternating. A few
    milliseconds in all. Before any timing, ``_int8_matmul_is_exact`` must hold: a fast
    kernel that rounds or saturates is never chosen. Load from other processes only ever adds time, so the best of
    several calls is close to the true time; a single call could be preempted.

    A per-process cache (functools.cache): calibrated once, on first use; ``l2_kernel(refresh=True)``
    clears it."""
    gen = torch.Generator().manual_seed(0)
    verdict = {"cpu_capability": torch.backends.cpu.get_cpu_capability()}
    if not _fp32_matmul_is_ieee():
        verdict.update(kernel="float64", reason="float32 matrix multiplies are set to reduced precision "
                                                 "(torch.set_float32_matmul_precision): float32 would not be exact")
        return verdict
    if not _int8_matmul_is_exact():
        verdict.update(kernel="float32-exact", reason="torch._int_mm gave a wrong sum on extreme pixel values "
                                                       "on this CPU (a saturating int8 path): float32 is exact")
        return verdict
    timings, threads = {}, torch.get_num_threads()
    torch.set_num_threads(1)  # one thread: on a busy machine a multi-threaded call waits for its slowest thread
    try:
        for rows in (64, 384):
            a8 = torch.randint(-128, 128, (rows, 784), dtype=torch.int8, generator=gen)
            b8 = torch.randint(-128, 128, (rows, 784), dtype=torch.int8, generator=gen).T.contiguous()
            a32, b32 = a8.float(), b8.float()
            t8, t32 = _best_seconds([lambda: torch._int_mm(a8, b8), lambda: a32 @ b32],
                                    repeats=3 if rows == 64 else 5)
            timings[rows] = {"int8-matmul": t8, "float32-exact": t32}
            if t8 > 4 * t32:  # the plain loop: no need to time it on a larger block
                break
    finally:
        torch.set_num_threads(threads)
    verdict["kernel"] = "int8-matmul" if t8 < t32 else "float32-exact"
    verdict["reason"] = (f"calibrated on a {rows} x 784 @ 784 x {rows} block, one thread: int8 "
                         f"{t8 * 1e3:.3f} ms, float32 {t32 * 1e3:.3f} ms")
    verdict["calibration_ms"] = {str(r): {k: round(v * 1e3, 4) for k, v in t.items()} for r, t in timings.items()}
    return verdict


def l2_kernel(refresh: bool = False) -> dict:
    """The kernel the L2 search of 8-bit images takes on this CPU: {"kernel", "reason",
    "cpu_capability", ...}. Calibrated on first use (on one thread: the race is per core),
    then cached for the process; ``refresh=True`` calibrates again."""
    if refresh:
        _int8_matmul_is_exact.cache_clear()
        _calibrate_l2.cache_clear()
    return dict(_calibrate_l2())


def _choose_kernel(metric: str, eight_bit: bool, kernel: str | None) -> dict:
    cpu = {"cpu_capability": torch.backends.cpu.get_cpu_capability(), "threads": torch.get_num_threads()}
    options = (L2_EIGHT_BIT_KERNELS if metric == "l2" else L1_EIGHT_BIT_KERNELS) if eight_bit else ("float64",)
    if kernel is not None:
        if kernel not in options:
            what = "8-bit images" if eight_bit else "data that are not 8-bit images"
            raise ValueError(f"kernel {kernel!r} cannot run {metric.upper()} on {what}; choose from "
                             f"{', '.join(map(repr, options))}")
        if kernel == "float32-exact" and not _fp32_matmul_is_ieee():
            raise ValueError("kernel 'float32-exact' needs full-precision float32 matrix multiplies; "
                             "torch.set_float32_matmul_precision is not 'highest'")
        return {**cpu, "kernel": kernel, "chosen_by": "forced", "reason": "the kernel argument"}
    if eight_bit and metric == "l2":
        verdict = l2_kernel()
        return {**cpu, "kernel": verdict["kernel"], "chosen_by": "calibration", "reason": verdict["reason"]}
    if eight_bit:
        return {**cpu, "kernel": "uint8-sad", "chosen_by": "only one",
                "reason": "the vector-block kernel (uint8-loop is its plain-loop fallback)"}
    return {**cpu, "kernel": "float64", "chosen_by": "only one", "reason": "data that are not 8-bit images"}


# ---------------------------------------------------------------- exact kNN

class Neighbours(NamedTuple):
    """What :func:`search` found: ``distances, indices, path = search(x, k)``."""

    distances: torch.Tensor  # (N, k) float32, nearest first
    indices: torch.Tensor  # (N, k) int64, the rows of x they belong to
    # which path the search took, for a notebook's metrics: {"metric", "data" ("8-bit",
    # "float" or "low-dimensional"), "kernel", "chosen_by" ("calibration", "forced", "only
    # one"), "reason", "cpu_capability", "threads", and "search" (but for the KD-tree)}
    path: dict


def search(x: torch.Tensor, k: int, metric: str = "l2", chunk_size: int | None = None,
           progress: bool = False, kernel: str | None = None) -> Neighbours:
    """Exact k nearest neighbours of every row of ``x`` among the other rows.

    Returns :class:`Neighbours` ``(distances, indices, path)``: distances and indices each
    (N, k), nearest first; a point is never its own neighbour (ties between equal distances
    are broken arbitrarily). ``metric`` is "l1" or "l2"; ``chunk_size`` is the side of the
    square blocks (memory grows with its square: 2048 needs about 50 MB of extra memory),
    or up to ``STRIPS_MAX_N`` points the rows of a strip (memory about 12 x chunk_size x N
    bytes: 2048 rows of 10,000 points, 250 MB). ``kernel`` forces one kernel (for tests and
    benchmarks): for 8-bit images, one of ``L2_EIGHT_BIT_KERNELS`` or
    ``L1_EIGHT_BIT_KERNELS``; otherwise "float64". ``path`` says which ran.
    """
    _check_metric(metric)
    x = _as_float(x)
    n = len(x)
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= n - 1:
        raise ValueError(f"k must be an integer in [1, {n - 1}] for {n} points; got {k!r}")
    if x.shape[1] <= KD_TREE_MAX_DIM:
        if kernel not in (None, "kd-tree"):
            raise ValueError(f"points of at most {KD_TREE_MAX_DIM} dimensions always take the KD-tree; "
                             f"got kernel={kernel!r}")
        path = dict(metric=metric, data="low-dimensional", kernel="kd-tree", chosen_by="only one",
                    reason=f"at most {KD_TREE_MAX_DIM} dimensions",
                    cpu_capability=torch.backends.cpu.get_cpu_capability(), threads=torch.get_num_threads())
        return Neighbours(*_knn_kd_tree(x, k, metric), path)
    block = chunk_size or DEFAULT_BLOCK
    if block < 1:
        raise ValueError(f"chunk_size must be a positive integer; got {chunk_size!r}")
    pixels = _eight_bit(x)
    path = _choose_kernel(metric, pixels is not None, kernel)
    path = {"metric": metric, "data": "8-bit" if pixels is not None else "float", **path}
    kernel = path["kernel"]
    if pixels is not None and metric == "l2":
        # shifting by 128 changes no distance, makes the values fit int8 for _int_mm and
        # keeps the float32 products within 2^14 (see FLOAT32_EXACT_CHUNK)
        shifted = pixels.to(torch.int16) - 128
        sq = shifted.to(torch.int32).square().sum(1, dtype=torch.int32).numpy()  # at most 2^14 x pixels
        points = {"int8-matmul": torch.int8, "float32-exact": torch.float32, "float64": torch.float64}[kernel]
        points = shifted.to(points)
    elif pixels is not None:
        points, sq = pixels, np.zeros(n, np.int32)
    else:  # float64: in float32, ||a||^2 + ||b||^2 - 2 a.b loses distances below ~1e-3
        points = x.double()
        sq = (points * points).sum(1).numpy() if metric == "l2" else np.zeros(n)
    exact_ints = pixels is not None
    if n <= STRIPS_MAX_N:
        path["search"] = "row strips + topk"
        best_d, best_i = _knn_strips(points, sq, k, metric, kernel, exact_ints, block, progress)
    else:
        path["search"] = "symmetric blocks + heaps"
        best_d, best_i = _knn_heaps(points, sq, k, metric, kernel, exact_ints, block, progress)
    best_d, order = torch.sort(torch.from_numpy(best_d), dim=1)
    best_d = best_d.double()
    best_i = torch.from_numpy(best_i).gather(1, order)
    if metric == "l2":
        best_d = best_d.clamp_(min=0.0).sqrt_()
    if exact_ints:
        best_d = best_d / 255
    return Neighbours(best_d.float(), best_i, path)


def _knn_strips(points, sq, k, metric, kernel, exact_ints, block, progress):
    """Up to STRIPS_MAX_N points: each strip of ``block`` rows against all points, then
    torch.topk. Twice the distance work of the symmetric blocks, but no heaps: below a
    few thousand points that is faster, and it compiles no merge kernel (on a fresh clone
    numba's compile is most of a small kNN's time)."""
    from tqdm.auto import tqdm

    n = len(points)
    big = np.iinfo(np.int32).max if exact_ints else np.inf
    best_d, best_i = np.empty((n, k), sq.dtype), np.empty((n, k), np.int64)
    if metric == "l2":
        right, sq_all = points.T.contiguous(), torch.from_numpy(sq)
    for s in tqdm(range(0, n, block), desc=f"knn {metric}", disable=not progress, leave=False):
        rows = points[s:s + block]
        if metric == "l2":
            d = torch.from_numpy(_dot_products(rows, right, kernel, exact_ints))
            d = d.mul_(-2).add_(sq_all.unsqueeze(0)).add_(sq_all[s:s + block].unsqueeze(1))
        else:
            d = np.empty((len(rows), n), sq.dtype)
            _l1_distances(rows.numpy(), points.numpy(), d, kernel)
            d = torch.from_numpy(d)
        d[torch.arange(len(rows)), torch.arange(s, s + len(rows))] = big  # never your own neighbour
        values, indices = torch.topk(d, k, dim=1, largest=False, sorted=False)
        best_d[s:s + block], best_i[s:s + block] = values.numpy(), indices.numpy()
    return best_d, best_i


def _knn_heaps(points, sq, k, metric, kernel, exact_ints, block, progress):
    """Blocks on and above the diagonal only, each folded into the running top-k heaps
    of its rows and of its columns."""
    from tqdm.auto import tqdm

    n = len(points)
    best_d = np.full((n, k), np.iinfo(np.int32).max if exact_ints else np.inf, sq.dtype)
    best_i = np.full((n, k), -1, np.int64)
    starts = list(range(0, n, block))
    if metric == "l2":  # the right-hand blocks, transposed once (a contiguous B^T is faster)
        right = [points[s:s + block].T.contiguous() for s in starts]
    pairs = [(a, b) for a in range(len(starts)) for b in range(a, len(starts))]
    for a, b in tqdm(pairs, desc=f"knn {metric}", disable=not progress, leave=False):
        rows, cols = points[starts[a]:starts[a] + block], points[starts[b]:starts[b] + block]
        if metric == "l2":
            g, scale = _dot_products(rows, right[b], kernel, exact_ints), -2
        else:
            g, scale = np.empty((len(rows), len(cols)), sq.dtype), 1
            _l1_distances(rows.numpy(), cols.numpy(), g, kernel)
        _merge(g, scale, sq, starts[a], starts[b], best_d, best_i, a != b)
    return best_d, best_i


def _l1_distances(a: np.ndarray, b: np.ndarray, out: np.ndarray, kernel: str) -> None:
    """out[i, j] = sum_t |a[i, t] - b[j, t]|, on torch's thread count."""
    parts = torch.get_num_threads()
    if kernel == "uint8-sad":  # its rows go in pairs
        tasks = [lambda lo=lo, hi=hi: _l1_block_sad(lo, hi, a, b, out) for lo, hi in _slices((len(a) + 1) // 2, parts)]
    else:
        zero = out.dtype.type(0)
        tasks = [lambda lo=lo, hi=hi: _l1_block(lo, hi, a, b, out, zero) for lo, hi in _slices(len(a), parts)]
    _in_parallel(tasks)


def _dot_products(rows: torch.Tensor, right_t: torch.Tensor, kernel: str, eight_bit: bool) -> np.ndarray:
    """rows @ right_t as a numpy array: int32 for the 8-bit kernels (exact integers), float64
    for float data. The int32 output feeds one compiled merge for every 8-bit kernel."""
    if kernel == "int8-matmul":
        return torch._int_mm(rows, right_t).numpy()
    if kernel == "float32-exact":
        g = None
        for t in range(0, rows.shape[1], FLOAT32_EXACT_CHUNK):  # one chunk for up to 1024 pixels
            part = (rows[:, t:t + FLOAT32_EXACT_CHUNK] @ right_t[t:t + FLOAT32_EXACT_CHUNK]).to(torch.int32)
            g = part if g is None else g.add_(part)
        return g.numpy()
    g = rows @ right_t  # float64: exact for 8-bit images (every sum is an integer below 2^53)
    return g.to(torch.int32).numpy() if eight_bit else g.numpy()


def _knn_kd_tree(x: torch.Tensor, k: int, metric: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Exact kNN for low-dimensional points with scikit-learn's KD-tree, self removed."""
    from sklearn.neighbors import KDTree

    pts = x.double().numpy()
    tree = KDTree(pts, metric="manhattan" if metric == "l1" else "euclidean")
    dist, ind = tree.query(pts, k=k + 1)
    own = ind == np.arange(len(pts))[:, None]
    # drop the point itself; if a duplicate pushed it out of the list, drop the farthest
    drop = np.where(own.any(1), own.argmax(1), k)
    keep = np.ones_like(own)
    keep[np.arange(len(pts)), drop] = False
    dist = dist[keep].reshape(len(pts), k)
    ind = ind[keep].reshape(len(pts), k)
    return torch.from_numpy(dist).float(), torch.from_numpy(ind).long()

