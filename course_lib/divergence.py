"""How different are two samples? Two distances and a permutation test to calibrate them.

- :func:`code_kl`: histogram each code dimension over fixed bins (equal bins of [0, 1],
  or :func:`quantile_edges` of the pooled codes), smooth the counts
  (a pseudo-count in every bin, so an empty bin never makes the divergence infinite),
  and average KL(P || Q) over the dimensions. :func:`kl_divergence` is the KL of two
  count vectors; the tests check it against ``scipy.stats.entropy``.
- :func:`rbf_mmd2`: the squared maximum mean discrepancy with a Gaussian (RBF) kernel,
  the biased (V-statistic) estimate, so it is exactly 0 for identical samples. The
  bandwidth defaults to the median heuristic: the median distance between all pairs
  of the pooled sample.
- :func:`permutation_test`: any statistic's p-value under the null "P and Q come from
  the same distribution": pool both samples, re-split them at random many times and
  count how often a re-split looks at least as different as the real split.
  :func:`mmd_permutation_test` does the same for MMD all at once from one kernel
  matrix (the kernel of the pooled sample is computed once, each re-split is a
  weighted sum of it).

Nothing here trains anything: encode once, then permute the codes.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch


def _columns(codes) -> torch.Tensor:
    codes = torch.as_tensor(codes, dtype=torch.float64)
    return codes[:, None] if codes.ndim == 1 else codes


def histograms(codes: torch.Tensor, bins: int = 10, low: float = 0.0, high: float = 1.0,
               edges: torch.Tensor | None = None) -> torch.Tensor:
    """Counts of each code dimension over ``bins`` equal bins of [low, high]: (D, bins).

    Values outside the range fall into the first or last bin. ``edges`` (D, bins - 1), the
    inner bin edges of each dimension, replaces the equal bins (see :func:`quantile_edges`).
    """
    codes = _columns(codes)
    if edges is None:
        edges = torch.linspace(low, high, bins + 1, dtype=torch.float64)[1:-1].expand(codes.shape[1], -1)
    edges = torch.as_tensor(edges, dtype=torch.float64)
    which = torch.stack([torch.bucketize(codes[:, d].contiguous(), edges[d].contiguous(), right=True)
                         for d in range(codes.shape[1])])  # (D, N) bin index per value
    counts = torch.zeros(codes.shape[1], edges.shape[1] + 1, dtype=torch.float64)
    return counts.scatter_add_(1, which, torch.ones_like(which, dtype=torch.float64))


def quantile_edges(codes: torch.Tensor, bins: int = 10) -> torch.Tensor:
    """Inner edges (D, bins - 1) that cut each dimension of ``codes`` into ``bins`` equally
    full bins. Computed on the pooled P and Q they stay the same for every re-split of a
    permutation test, so the test remains exact."""
    q = torch.linspace(0, 1, bins + 1, dtype=torch.float64)[1:-1]
    return torch.quantile(_columns(codes), q, dim=0).T.contiguous()


def smoothed(counts: torch.Tensor, pseudo_count: float = 1.0) -> torch.Tensor:
    """Counts + a pseudo-count in every bin, normalised into frequencies (rows sum to 1)."""
    counts = torch.as_tensor(counts, dtype=torch.float64) + pseudo_count
    return counts / counts.sum(-1, keepdim=True)


def kl_divergence(p_counts: torch.Tensor, q_counts: torch.Tensor, pseudo_count: float = 1.0) -> torch.Tensor:
    """KL(P || Q) in nats, sum_i p_i log(p_i / q_i), of (smoothed) count vectors; one per row."""
    p, q = smoothed(p_counts, pseudo_count), smoothed(q_counts, pseudo_count)
    return (p * (p.log() - q.log())).sum(-1)


def code_kl(codes_p: torch.Tensor, codes_q: torch.Tensor, bins: int = 10, pseudo_count: float = 1.0,
            edges: torch.Tensor | None = None) -> float:
    """Mean over code dimensions of KL(P || Q) between the dimension's histograms
    (equal bins of [0, 1], or the given ``edges``)."""
    return kl_divergence(histograms(codes_p, bins, edges=edges), histograms(codes_q, bins, edges=edges),
                         pseudo_count).mean().item()


def median_bandwidth(z: torch.Tensor, max_points: int = 4000) -> float:
    """The median heuristic: median Euclidean distance over all pairs of distinct rows of ``z``
    (of its first ``max_points`` rows, to keep the pair count bounded)."""
    z = torch.as_tensor(z, dtype=torch.float64)[:max_points]
    d = torch.cdist(z, z)
    i, j = torch.triu_indices(len(z), len(z), offset=1)
    return d[i, j].median().item()


def rbf_kernel(a: torch.Tensor, b: torch.Tensor, bandwidth: float) -> torch.Tensor:
    """exp(-|a_i - b_j|^2 / (2 bandwidth^2)) for every pair of rows."""
    a, b = torch.as_tensor(a, dtype=torch.float64), torch.as_tensor(b, dtype=torch.float64)
    return torch.exp(-torch.cdist(a, b).square() / (2 * bandwidth ** 2))


def rbf_mmd2(x: torch.Tensor, y: torch.Tensor, bandwidth: float | None = None) -> float:
    """Squared MMD (biased V-statistic) between the rows of ``x`` and of ``y``:
    mean k(x, x') + mean k(y, y') - 2 mean k(x, y). ``bandwidth=None``: median heuristic."""
    if bandwidth is None:
        bandwidth = median_bandwidth(torch.cat([torch.as_tensor(x), torch.as_tensor(y)]))
    return (rbf_kernel(x, x, bandwidth).mean() + rbf_kernel(y, y, bandwidth).mean()
            - 2 * rbf_kernel(x, y, bandwidth).mean()).item()


@dataclass
class TestResult:
    statistic: float  # the value on the real split
    p_value: float  # (1 + #{null >= statistic}) / (1 + n_permutations)
    null: torch.Tensor  # the statistic on each random re-split


def _p_value(statistic: float, null: torch.Tensor) -> float:
    return (1 + (null >= statistic).sum().item()) / (1 + len(null))


def _splits(n_total: int, n_permutations: int, seed: int):
    generator = torch.Generator().manual_seed(seed)
    for _ in range(n_permutations):
        yield torch.randperm(n_total, generator=generator)


def permutation_test(statistic: Callable[[torch.Tensor, torch.Tensor], float], x: torch.Tensor, y: torch.Tensor,
                     n_permutations: int = 200, seed: int = 0) -> TestResult:
    """p-value of ``statistic(x, y)`` (larger = more different) under exchangeability.

    Each of the ``n_permutations`` re-splits shuffles the pooled rows and gives the first
    ``len(x)`` to one side, the rest to the other. The +1s count the real split as one
    of the possible splits, so the p-value is never 0 and is exact (uniform) under the null.
    """
    pooled = torch.cat([torch.as_tensor(x), torch.as_tensor(y)])
    observed = float(statistic(x, y))
    null = torch.tensor([float(statistic(pooled[perm[:len(x)]], pooled[perm[len(x):]]))
                         for perm in _splits(len(pooled), n_permutations, seed)], dtype=torch.float64)
    return TestResult(observed, _p_value(observed, null), null)


def mmd_permutation_test(x: torch.Tensor, y: torch.Tensor, n_permutations: int = 200, seed: int = 0,
                         bandwidth: float | None = None, chunk: int = 50) -> TestResult:
    """:func:`permutation_test` of :func:`rbf_mmd2`, with the same re-splits, from one kernel matrix.

    With w = +1/n on one side's rows and -1/m on the other's, MMD^2 = w^T K w, so a batch
    of re-splits is one matrix product with the pooled kernel K (memory: (n+m)^2 floats).
    """
    x, y = torch.as_tensor(x, dtype=torch.float64), torch.as_tensor(y, dtype=torch.float64)
    pooled = torch.cat([x, y])
    if bandwidth is None:
        bandwidth = median_bandwidth(pooled)
    kernel = rbf_kernel(pooled, pooled, bandwidth)
    n, total = len(x), len(pooled)

    def weights(orders: torch.Tensor) -> torch.Tensor:  # (B, total) orders -> (B, total) weights
        w = torch.full(orders.shape, -1.0 / (total - n), dtype=torch.float64)
        w[:, :n] = 1.0 / n
        return torch.empty_like(w).scatter_(1, orders, w)  # row b: weight of pooled item i

    def mmd2(w: torch.Tensor) -> torch.Tensor:
        return ((w @ kernel) * w).sum(1)

    observed = mmd2(weights(torch.arange(total)[None])).item()
    orders = list(_splits(total, n_permutations, seed))
    null = torch.cat([mmd2(weights(torch.stack(orders[i:i + chunk]))) for i in range(0, len(orders), chunk)]) \
        if orders else torch.zeros(0, dtype=torch.float64)
    return TestResult(observed, _p_value(observed, null), null)
