"""How well a low-dimensional embedding keeps each point's neighbours.

Every measure compares kNN lists: those of the points in the original space (pixels)
and those of the same points in the embedding (a 2-D code). ``knn.search`` finds them
exactly (see :mod:`course_lib.knn`); the measures here take its ``indices``, or call it
themselves (trustworthiness and continuity).

- ``overlap`` / ``score_at_k``: per point, the fraction of its k nearest in one list that
  are among its k nearest in the other, and its mean (the seed's score@k).
- ``qnx_curve``: Q_NX(K), the mean fraction of each point's K nearest neighbours in
  one space that are also among its K nearest in the other, for K = 1..k_max.
  The seed's score@k is Q_NX(k).
- ``rnx_curve`` / ``rnx_auc``: R_NX(K) = ((N-1) Q_NX(K) - K) / (N-1-K), 0 for a random
  embedding and 1 for a perfect one, and its area under a log-K axis (Lee & Verleysen).
- ``trustworthiness`` / ``continuity`` / ``trust_and_continuity``: the rank penalties of
  intruders and of missing neighbours (Venna & Kaski), matching
  ``sklearn.manifold.trustworthiness``. The ranks come from compiled kernels (numba) that
  count, for each neighbour, the points closer than it, without sorting any row.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from numba import njit

from .knn import _as_float, _in_parallel, _slices, search


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
    one histogram of those maxima, summed up, gives the whole curve at once. Each row of
    list b is sorted once, and a's entries are looked up in it by binary search
    (k log k per row, not the k^2 of comparing every pair).
    """
    k_max = k_max or min(idx_a.shape[1], idx_b.shape[1])
    _check_k_lists(idx_a, idx_b, k_max)
    counts = torch.zeros(k_max, dtype=torch.float64)
    for s in range(0, len(idx_a), chunk_size):
        a, b = idx_a[s:s + chunk_size, :k_max].contiguous(), idx_b[s:s + chunk_size, :k_max]
        b_sorted, b_rank = b.sort(1)  # b's entries in index order, with their ranks in b
        at = torch.searchsorted(b_sorted, a).clamp_(max=k_max - 1)
        found = b_sorted.gather(1, at) == a  # a's entry of rank r is in b too, at rank b_rank[at]
        later = torch.maximum(torch.arange(k_max).expand_as(a), b_rank.gather(1, at))
        counts += torch.bincount(later[found], minlength=k_max).double()
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

LOW_DIM = 8  # ranking spaces up to this many dimensions compute their distances row by row


@njit(nogil=True, cache=True)
def _rank_penalty_block(lo, hi, d, row0, mine, others, out):  # pragma: no cover - compiled
    """Row r of ``d`` holds point row0 + r's distances to all points. For each list m
    of ``others`` (M, N, k), out[r, m] = the summed (rank - k) of its intruders, the
    neighbours that are not in ``mine`` (N, k), for rows lo <= r < hi. A rank counts the
    closer points, equal distances ordered by index (a collapsed map has many)."""
    n_lists, k = others.shape[0], others.shape[2]
    for r in range(lo, hi):
        i = row0 + r
        for m in range(n_lists):
            for c in range(k):
                j = others[m, i, c]
                if not (mine[i] == j).any():
                    out[r, m] += _rank_beyond_k(d[r], j, k)


@njit(inline="always")
def _rank_beyond_k(row, j, k):  # pragma: no cover - compiled
    """max(rank of point j - k, 0), its rank among ``row``'s distances (1 = nearest),
    equal distances ordered by index (a collapsed map has many)."""
    dij, closer, equal = row[j], 0, 0
    for t in range(len(row)):
        closer += row[t] < dij
        equal += row[t] == dij
    if equal > 1:  # ties with j: those with smaller indices count as closer
        for t in range(j):
            closer += row[t] == dij
    return max(closer + 1 - k, 0)


@njit(nogil=True, cache=True)
def _rank_penalty_rows_low_dim(lo, hi, y, mine, others, out):  # pragma: no cover - compiled
    """:func:`_rank_penalty_block` for a low-dimensional ranking space (a 2-D map): each
    row's distances are computed here, in float64 from the coordinates (exact for float32
    inputs up to the last rounding of the sum), instead of read from a matrix product.
    out[i, m] for points lo <= i < hi."""
    n, dim = y.shape
    n_lists, k = others.shape[0], others.shape[2]
    d = np.empty(n, dtype=np.float64)
    for i in range(lo, hi):
        if dim == 2:  # the usual case, written out so that LLVM vectorises it
            a, b = np.float64(y[i, 0]), np.float64(y[i, 1])
            for t in range(n):
                u, v = np.float64(y[t, 0]) - a, np.float64(y[t, 1]) - b
                d[t] = u * u + v * v
        else:
            for t in range(n):
                acc = 0.0
                for q in range(dim):
                    diff = np.float64(y[t, q]) - np.float64(y[i, q])
                    acc += diff * diff
                d[t] = acc
        d[i] = np.inf  # never your own neighbour
        for m in range(n_lists):
            for c in range(k):
                j = others[m, i, c]
                if not (mine[i] == j).any():
                    out[i, m] += _rank_beyond_k(d, j, k)


def _l2_squared_block(a: torch.Tensor, b: torch.Tensor, a_sq: torch.Tensor, b_sq: torch.Tensor) -> torch.Tensor:
    """Squared L2 distances between rows of a and b: one addmm, no (A, B, D) temporary."""
    d = torch.addmm(b_sq.unsqueeze(0), a, b.T, beta=1.0, alpha=-2.0)
    d.add_(a_sq.unsqueeze(1))
    return d.clamp_(min=0.0)


def _rank_penalties(x_rank: torch.Tensor, nn_rank: torch.Tensor, nn_others: list, k: int,
                    chunk_size: int) -> list:
    """For each kNN list in ``nn_others``: the sum over points i of (r(i, j) - k) for each j
    among i's k nearest in that list but not among its k nearest in the ranking space,
    where r(i, j) is j's rank (1 = nearest) among all points by their L2 distance to i
    in ``x_rank``. The distance rows of ``x_rank`` are computed once for all lists."""
    n = len(x_rank)
    mine = nn_rank[:, :k].numpy()
    others = torch.stack([other[:, :k] for other in nn_others]).numpy()
    parts = torch.get_num_threads()
    if x_rank.shape[1] <= LOW_DIM:  # a map: a matrix product over 2 columns would cost more than it saves
        y, out = x_rank.contiguous().numpy(), np.zeros((n, len(nn_others)))
        _in_parallel([lambda lo=lo, hi=hi: _rank_penalty_rows_low_dim(lo, hi, y, mine, others, out)
                      for lo, hi in _slices(n, 4 * parts)])
        return out.sum(0).tolist()
    sq, totals = (x_rank * x_rank).sum(1), np.zeros(len(nn_others))
    for s in range(0, n, chunk_size):
        e = min(s + chunk_size, n)
        d = _l2_squared_block(x_rank[s:e], x_rank, sq[s:e], sq).numpy()
        d[np.arange(e - s), np.arange(s, e)] = math.inf  # never your own neighbour
        out = np.zeros((e - s, len(nn_others)))
        _in_parallel([lambda lo=lo, hi=hi: _rank_penalty_block(lo, hi, d, s, mine, others, out)
                      for lo, hi in _slices(e - s, parts)])
        totals += out.sum(0)
    return totals.tolist()


def _penalty_scale(n: int, k: int) -> float:
    if k >= n / 2:
        raise ValueError(f"k must be below N/2 = {n / 2} for trustworthiness; got {k}")
    return 2.0 / (n * k * (2 * n - 3 * k - 1))


def trustworthiness(x: torch.Tensor, y: torch.Tensor, k: int = 5, chunk_size: int = 512) -> float:
    """How few of each point's k nearest in the embedding ``y`` are strangers in ``x``
    (Euclidean in both spaces, as scikit-learn's ``trustworthiness``). 1 is perfect."""
    x, y = _as_float(x), _as_float(y)
    nn_x, nn_y = search(x, k).indices, search(y, k).indices
    return 1.0 - _penalty_scale(len(x), k) * _rank_penalties(x, nn_x, [nn_y], k, chunk_size)[0]


def continuity(x: torch.Tensor, y: torch.Tensor, k: int = 5, chunk_size: int = 512) -> float:
    """How few of each point's k nearest in ``x`` are lost (pushed far) in the embedding ``y``;
    the mirror image of trustworthiness. 1 is perfect."""
    return trustworthiness(y, x, k, chunk_size)


def trust_and_continuity(x: torch.Tensor, embeddings: dict, k: int = 5, nn_x: torch.Tensor | None = None,
                         chunk_size: int = 512, continuity: bool = True) -> dict:
    """Trustworthiness and continuity of several embeddings of the same points, sharing
    the kNN of ``x`` (pass ``nn_x``, the L2 kNN lists, if you already have them) and one
    pass over the rows of ``x``'s distances for all of them.
    Returns {name: {"trustworthiness": T, "continuity": C}} (no "continuity" with ``continuity=False``)."""
    x = _as_float(x)
    nn_x = search(x, k).indices if nn_x is None else nn_x
    scale = _penalty_scale(len(x), k)
    ys = {name: _as_float(y) for name, y in embeddings.items()}
    nn_ys = {name: search(y, k).indices for name, y in ys.items()}
    t = _rank_penalties(x, nn_x, list(nn_ys.values()), k, chunk_size)
    out = {name: {"trustworthiness": 1.0 - scale * t[m]} for m, name in enumerate(ys)}
    for name in ys if continuity else ():
        out[name]["continuity"] = 1.0 - scale * _rank_penalties(ys[name], nn_ys[name], [nn_x], k, chunk_size)[0]
    return out
