"""Exact nearest neighbours and how well a low-dimensional embedding keeps them.

``knn(x, k, metric)`` finds the exact ``k`` nearest neighbours of every row of ``x``
among the other rows (L1 or L2), in square blocks so the N x N distance matrix never
exists. Distances are symmetric, so only the blocks on and above the diagonal are
computed; each block updates the running top-k of its rows *and* of its columns.

- The running top-k of each point is a max-heap of k (distance, index) pairs: a new
  distance is compared with the heap's root (its current k-th best) and only enters if
  it is smaller. A small compiled kernel (numba) does this for a whole block, for rows
  and columns at once, in one pass over the block.
- L2: ``||a||^2 + ||b||^2 - 2 a.b``, one matrix multiply per block.
- L1 has no matrix-multiply shortcut: a compiled kernel sums absolute differences.
- 8-bit images (every value a multiple of 1/255 in [0, 1], as MNIST's are) take an
  integer path: the pixels become integers 0..255, every distance is an exact integer
  (ties are real ties, not rounding), and the L2 products run as an int8 matrix
  multiply (``torch._int_mm``), which is about 2.5x faster than float32 on CPUs with
  AVX-512 VNNI. The returned distances are divided back by 255. Other data run in
  float64, where the L2 expansion keeps even tiny distances.
- Points of at most ``KD_TREE_MAX_DIM`` dimensions (2-D embeddings) go through
  scikit-learn's KD-tree, which is exact and far faster there than brute force.

Neighbourhood-preservation measures, all from kNN lists:

- ``qnx_curve``: Q_NX(K), the mean fraction of each point's K nearest neighbours in
  one space that are also among its K nearest in the other, for K = 1..k_max.
  The seed's score@k is Q_NX(k).
- ``rnx_curve`` / ``rnx_auc``: R_NX(K) = ((N-1) Q_NX(K) - K) / (N-1-K), 0 for a random
  embedding and 1 for a perfect one, and its area under a log-K axis (Lee & Verleysen).
- ``trustworthiness`` / ``continuity``: the rank penalties of intruders and of
  missing neighbours (Venna & Kaski), matching ``sklearn.manifold.trustworthiness``.
"""
from __future__ import annotations

import math

import numba
import numpy as np
import torch
from numba import njit, prange

# numba's own thread pool, not OpenMP: a second OpenMP runtime in the process leaves
# spinning threads that slow every later torch operation many times over
numba.config.THREADING_LAYER = "workqueue"

METRICS = ("l1", "l2")
KD_TREE_MAX_DIM = 3
DEFAULT_BLOCK = 2048


def _l2_squared_block(a: torch.Tensor, b: torch.Tensor, a_sq: torch.Tensor, b_sq: torch.Tensor) -> torch.Tensor:
    """Squared L2 distances between rows of a and b: one addmm, no (A, B, D) temporary."""
    d = torch.addmm(b_sq.unsqueeze(0), a, b.T, beta=1.0, alpha=-2.0)
    d.add_(a_sq.unsqueeze(1))
    return d.clamp_(min=0.0)


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
# cannot cache functions defined inside other functions).


def _use_torch_threads() -> None:
    """Run the kernels below on as many threads as torch uses (session.start sets it)."""
    numba.set_num_threads(max(1, min(torch.get_num_threads(), numba.config.NUMBA_NUM_THREADS)))


@njit(parallel=True, fastmath=True, cache=True)
def _l1_block(a, b, out, zero):  # pragma: no cover - compiled
    """out[i, j] = sum_t |a[i, t] - b[j, t]|, summed in the type of ``zero`` (max - min
    rather than abs(a - b), which would wrap around for uint8)."""
    for i in prange(a.shape[0]):
        ai = a[i]
        for j in range(b.shape[0]):
            bj = b[j]
            s = zero
            for t in range(a.shape[1]):
                s += max(ai[t], bj[t]) - min(ai[t], bj[t])
            out[i, j] = s


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


@njit(parallel=True, cache=True)
def _merge(g, scale, sq, row0, col0, best_d, best_i, columns_too):  # pragma: no cover - compiled
    """Fold one block into the heaps. The distance between points row0 + r and
    col0 + c is sq[row0 + r] + sq[col0 + c] + scale * g[r, c]: for L2, g holds dot
    products, sq squared norms and scale is -2; for L1, g holds the distances."""
    rows, cols = g.shape
    for r in prange(rows):  # the block's rows: each thread owns some rows' heaps
        heap_d, heap_i = best_d[row0 + r], best_i[row0 + r]
        base = sq[row0 + r]
        for c in range(cols):
            v = base + sq[col0 + c] + scale * g[r, c]
            if v < heap_d[0] and row0 + r != col0 + c:
                _push(heap_d, heap_i, v, col0 + c)
    if columns_too:  # the block's columns: each thread owns a strip of 64 columns
        for strip in prange((cols + 63) // 64):
            c0, c1 = strip * 64, min(strip * 64 + 64, cols)
            for r in range(rows):
                base = sq[row0 + r]
                for c in range(c0, c1):
                    v = base + sq[col0 + c] + scale * g[r, c]
                    if v < best_d[col0 + c, 0]:
                        _push(best_d[col0 + c], best_i[col0 + c], v, row0 + r)


@njit(parallel=True, cache=True)
def _rank_penalty_block(d, row0, mine, others):  # pragma: no cover - compiled
    """Row r of ``d`` holds point row0 + r's distances to all points. For each list m
    of ``others`` (M, N, k): the summed (rank - k) of its intruders, the neighbours
    that are not in ``mine`` (N, k). A rank counts the closer points, equal distances
    ordered by index (a collapsed map has many)."""
    n_lists, k = others.shape[0], others.shape[2]
    out = np.zeros((d.shape[0], n_lists))
    for r in prange(d.shape[0]):
        i = row0 + r
        for m in range(n_lists):
            for c in range(k):
                j = others[m, i, c]
                if (mine[i] == j).any():
                    continue
                dij, closer, equal = d[r, j], 0, 0
                for t in range(d.shape[1]):
                    closer += d[r, t] < dij
                    equal += d[r, t] == dij
                if equal > 1:  # ties with j: those with smaller indices count as closer
                    for t in range(j):
                        closer += d[r, t] == dij
                out[r, m] += max(closer + 1 - k, 0)
    return out.sum(0)


# ---------------------------------------------------------------- exact kNN

def knn(x: torch.Tensor, k: int, metric: str = "l2", chunk_size: int | None = None,
        progress: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Exact k nearest neighbours of every row of ``x`` among the other rows.

    Returns ``(distances, indices)``, each (N, k), nearest first; a point is never its
    own neighbour (ties between equal distances are broken arbitrarily). ``metric`` is
    "l1" or "l2"; ``chunk_size`` is the side of the square blocks (memory grows with
    its square: 2048 needs about 50 MB of extra memory).
    """
    _check_metric(metric)
    x = _as_float(x)
    n = len(x)
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= n - 1:
        raise ValueError(f"k must be an integer in [1, {n - 1}] for {n} points; got {k!r}")
    if x.shape[1] <= KD_TREE_MAX_DIM:
        return _knn_kd_tree(x, k, metric)
    block = chunk_size or DEFAULT_BLOCK
    if block < 1:
        raise ValueError(f"chunk_size must be a positive integer; got {chunk_size!r}")
    from tqdm.auto import tqdm

    _use_torch_threads()
    pixels = _eight_bit(x)
    if pixels is not None and metric == "l2":
        # shifting by 128 changes no distance and makes the values fit int8 for _int_mm
        points = (pixels.to(torch.int16) - 128).to(torch.int8)
        sq = points.to(torch.int32).square().sum(1).numpy()
    elif pixels is not None:
        points, sq = pixels, np.zeros(n, np.int32)
    else:  # float64: in float32, ||a||^2 + ||b||^2 - 2 a.b loses distances below ~1e-3
        points = x.double()
        sq = (points * points).sum(1).numpy() if metric == "l2" else np.zeros(n)
    exact_ints = pixels is not None
    best_d = np.full((n, k), np.iinfo(np.int32).max if exact_ints else np.inf, sq.dtype)
    best_i = np.full((n, k), -1, np.int64)

    starts = list(range(0, n, block))
    if metric == "l2":  # the right-hand blocks, transposed once (a contiguous B^T is faster)
        right = [points[s:s + block].T.contiguous() for s in starts]
    pairs = [(a, b) for a in range(len(starts)) for b in range(a, len(starts))]
    for a, b in tqdm(pairs, desc=f"knn {metric}", disable=not progress, leave=False):
        rows, cols = points[starts[a]:starts[a] + block], points[starts[b]:starts[b] + block]
        if metric == "l2":
            g = torch._int_mm(rows, right[b]) if exact_ints else rows @ right[b]
            g, scale = g.numpy(), -2
        else:
            g, scale = np.empty((len(rows), len(cols)), sq.dtype), 1
            _l1_block(rows.numpy(), cols.numpy(), g, sq.dtype.type(0))
        _merge(g, scale, sq, starts[a], starts[b], best_d, best_i, a != b)

    best_d, order = torch.sort(torch.from_numpy(best_d).double(), dim=1)
    best_i = torch.from_numpy(best_i).gather(1, order)
    if metric == "l2":
        best_d = best_d.clamp_(min=0.0).sqrt_()
    if exact_ints:
        best_d = best_d / 255
    return best_d.float(), best_i


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


# ---------------------------------------------------------------- neighbourhood agreement

def overlap(idx_a: torch.Tensor, idx_b: torch.Tensor, k: int, chunk_size: int = 4096) -> torch.Tensor:
    """Per point: the fraction of its k nearest in list a that are among its k nearest in list b."""
    _check_k_lists(idx_a, idx_b, k)
    out = torch.empty(len(idx_a))
    for s in range(0, len(idx_a), chunk_size):
        a, b = idx_a[s:s + chunk_size, :k], idx_b[s:s + chunk_size, :k]
        out[s:s + chunk_size] = (a.unsqueeze(2) == b.unsqueeze(1)).any(2).sum(1) / k
    return out


def score_at_k(idx_a: torch.Tensor, idx_b: torch.Tensor, k: int) -> float:
    """The seed's score@k: mean over points of the shared fraction of their k nearest."""
    return overlap(idx_a, idx_b, k).mean().item()


def qnx_curve(idx_a: torch.Tensor, idx_b: torch.Tensor, k_max: int | None = None,
              chunk_size: int = 1024) -> torch.Tensor:
    """Q_NX(K) for K = 1..k_max from two kNN lists sorted nearest first.

    A neighbour j of i counts at every K >= max(rank of j in list a, rank in list b), so
    one histogram of those maxima, summed up, gives the whole curve at once.
    """
    k_max = k_max or min(idx_a.shape[1], idx_b.shape[1])
    _check_k_lists(idx_a, idx_b, k_max)
    counts = torch.zeros(k_max, dtype=torch.float64)
    ranks = torch.arange(k_max)
    for s in range(0, len(idx_a), chunk_size):
        a, b = idx_a[s:s + chunk_size, :k_max], idx_b[s:s + chunk_size, :k_max]
        same = a.unsqueeze(2) == b.unsqueeze(1)  # (B, k, k): a's rank r equals b's rank c
        row, ra, rb = same.nonzero(as_tuple=True)
        counts += torch.bincount(torch.maximum(ranks[ra], ranks[rb]), minlength=k_max).double()
    K = torch.arange(1, k_max + 1, dtype=torch.float64)
    return counts.cumsum(0) / (K * len(idx_a))


def rnx_curve(qnx: torch.Tensor, n: int) -> torch.Tensor:
    """R_NX(K) = ((N-1) Q_NX(K) - K) / (N-1-K): 0 for a random embedding, 1 for a perfect one."""
    K = torch.arange(1, len(qnx) + 1, dtype=torch.float64)
    if len(qnx) > n - 2:
        raise ValueError(f"R_NX needs K <= N-2 = {n - 2}; got a curve of {len(qnx)} values")
    return ((n - 1) * qnx.double() - K) / (n - 1 - K)


def rnx_auc(rnx: torch.Tensor) -> float:
    """Area under R_NX(K) on a log-K axis: sum_K R_NX(K)/K / sum_K 1/K (over K = 1..len)."""
    w = 1.0 / torch.arange(1, len(rnx) + 1, dtype=torch.float64)
    return float((rnx.double() * w).sum() / w.sum())


def _check_k_lists(idx_a, idx_b, k):
    if idx_a.shape[0] != idx_b.shape[0]:
        raise ValueError(f"the two kNN lists cover different points: {idx_a.shape[0]} and {idx_b.shape[0]} rows")
    if not 1 <= k <= min(idx_a.shape[1], idx_b.shape[1]):
        raise ValueError(f"k must be in [1, {min(idx_a.shape[1], idx_b.shape[1])}] for these kNN lists; got {k}")


# ---------------------------------------------------------------- trustworthiness and continuity

def _rank_penalties(x_rank: torch.Tensor, nn_rank: torch.Tensor, nn_others: list, k: int,
                    chunk_size: int) -> list:
    """For each kNN list in ``nn_others``: the sum over points i of (r(i, j) - k) for each j
    among i's k nearest in that list but not among its k nearest in the ranking space,
    where r(i, j) is j's rank (1 = nearest) among all points by their L2 distance to i
    in ``x_rank``. The distance rows of ``x_rank`` are computed once for all lists."""
    n = len(x_rank)
    sq = (x_rank * x_rank).sum(1)
    mine = nn_rank[:, :k].numpy()
    others = torch.stack([other[:, :k] for other in nn_others]).numpy()
    totals = np.zeros(len(nn_others))
    _use_torch_threads()
    for s in range(0, n, chunk_size):
        e = min(s + chunk_size, n)
        d = _l2_squared_block(x_rank[s:e], x_rank, sq[s:e], sq)
        d[torch.arange(e - s), torch.arange(s, e)] = math.inf  # never your own neighbour
        totals += _rank_penalty_block(d.numpy(), s, mine, others)
    return totals.tolist()


def _penalty_scale(n: int, k: int) -> float:
    if k >= n / 2:
        raise ValueError(f"k must be below N/2 = {n / 2} for trustworthiness; got {k}")
    return 2.0 / (n * k * (2 * n - 3 * k - 1))


def trustworthiness(x: torch.Tensor, y: torch.Tensor, k: int = 5, chunk_size: int = 512) -> float:
    """How few of each point's k nearest in the embedding ``y`` are strangers in ``x``
    (Euclidean in both spaces, as scikit-learn's ``trustworthiness``). 1 is perfect."""
    x, y = _as_float(x), _as_float(y)
    _, nn_x = knn(x, k)
    _, nn_y = knn(y, k)
    return 1.0 - _penalty_scale(len(x), k) * _rank_penalties(x, nn_x, [nn_y], k, chunk_size)[0]


def continuity(x: torch.Tensor, y: torch.Tensor, k: int = 5, chunk_size: int = 512) -> float:
    """How few of each point's k nearest in ``x`` are lost (pushed far) in the embedding ``y``;
    the mirror image of trustworthiness. 1 is perfect."""
    return trustworthiness(y, x, k, chunk_size)


def trust_and_continuity(x: torch.Tensor, embeddings: dict, k: int = 5, nn_x: torch.Tensor | None = None,
                         chunk_size: int = 512) -> dict:
    """Trustworthiness and continuity of several embeddings of the same points, sharing
    the kNN of ``x`` (pass ``nn_x``, the L2 kNN lists, if you already have them).
    Returns {name: {"trustworthiness": T, "continuity": C}}."""
    x = _as_float(x)
    nn_x = knn(x, k)[1] if nn_x is None else nn_x
    scale = _penalty_scale(len(x), k)
    ys = {name: _as_float(y) for name, y in embeddings.items()}
    nn_ys = {name: knn(y, k)[1] for name, y in ys.items()}
    t = _rank_penalties(x, nn_x, list(nn_ys.values()), k, chunk_size)
    return {name: {"trustworthiness": 1.0 - scale * t[m],
                   "continuity": 1.0 - scale * _rank_penalties(ys[name], nn_ys[name], [nn_x], k, chunk_size)[0]}
            for m, name in enumerate(ys)}
