"""How different are two samples? Two distances and a permutation test to calibrate them.

- :func:`code_kl`: histogram each code dimension over fixed bins (equal bins of [0, 1],
  or :func:`quantile_edges` of the pooled codes), smooth the counts
  (a pseudo-count in every bin, so an empty bin never makes the divergence infinite),
  and average KL(P || Q) over the dimensions. :func:`kl_divergence` is the KL of two
  count vectors; the tests check it against ``scipy.stats.entropy``.
- :func:`rbf_mmd2`: the squared maximum mean discrepancy with a Gaussian (RBF) kernel,
  the biased V-statistic of Gretton et al. (2012, JMLR 13, eq. 5): exactly 0 for
  identical samples but positive on average even when P = Q.
  :func:`rbf_mmd2_unbiased` is their U-statistic (eq. 3, the diagonal k(x_i, x_i) left
  out), centred on 0 under P = Q, so it can be negative. The bandwidth defaults to the
  median heuristic: the median distance between pairs of a random subsample of the pooled
  sample (:func:`median_bandwidth`).
- :func:`permutation_test`: any statistic's p-value under the null "P and Q come from
  the same distribution": pool both samples, re-split them at random many times and
  count how often a re-split looks at least as different as the real split.
  :func:`mmd_permutation_test` does the same for MMD all at once from one kernel
  matrix (the kernel of the pooled sample is computed once, each re-split is a
  weighted sum of it).
- Many tests at once, for false-alarm rates and power curves:
  :func:`kl_permutation_pvalues` (histogram KL, all re-splits as one scatter-add) and
  :func:`gram_permutation_pvalues` (MMD^2 from a precomputed kernel matrix of a pool of
  items, all re-splits as one matrix product). Both take the same re-splits for every
  replicate, which keeps each test exact.

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


def median_bandwidth(z: torch.Tensor, max_points: int = 2000, seed: int = 0) -> float:
    """The median heuristic: median Euclidean distance over all pairs of distinct rows of ``z``.

    Above ``max_points`` rows it uses a random subsample of ``max_points`` rows (drawn with
    ``seed``), so the pooled rows of both samples are represented whatever their order
    (the first rows of a pooled ``cat([x, y])`` would be all x)."""
    z = torch.as_tensor(z, dtype=torch.float64)
    if len(z) > max_points:
        z = z[torch.randperm(len(z), generator=torch.Generator().manual_seed(seed))[:max_points]]
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


def rbf_mmd2_unbiased(x: torch.Tensor, y: torch.Tensor, bandwidth: float | None = None) -> float:
    """Squared MMD, unbiased U-statistic (Gretton et al. 2012, eq. 3): the within-sample
    means leave out the pairs (i, i). Its mean is 0 when P = Q; it can be negative."""
    if bandwidth is None:
        bandwidth = median_bandwidth(torch.cat([torch.as_tensor(x), torch.as_tensor(y)]))
    n, m = len(x), len(y)
    kxx, kyy = rbf_kernel(x, x, bandwidth), rbf_kernel(y, y, bandwidth)
    return ((kxx.sum() - kxx.diagonal().sum()) / (n * (n - 1)) + (kyy.sum() - kyy.diagonal().sum()) / (m * (m - 1))
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
        bandwidth = median_bandwidth(pooled, seed=seed)
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


def split_masks(n: int, m: int, n_permutations: int, seed: int = 0) -> torch.Tensor:
    """(n_permutations, n + m) booleans: True where a re-split puts the item on the first
    (P) side; the same re-splits as :func:`permutation_test` with this seed."""
    orders = list(_splits(n + m, n_permutations, seed))
    masks = torch.zeros(n_permutations, n + m, dtype=torch.bool)
    for b, order in enumerate(orders):
        masks[b, order[:n]] = True
    return masks


def kl_permutation_pvalues(codes_p: torch.Tensor, codes_q: torch.Tensor, masks: torch.Tensor, bins: int = 10,
                           pseudo_count: float = 1.0, quantile: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Permutation test of :func:`code_kl` for many replicates at once.

    ``codes_p`` (R, n, D) and ``codes_q`` (R, m, D): R independent two-sample problems;
    ``masks`` from :func:`split_masks`. Bins: equal bins of [0, 1], or with ``quantile``
    each replicate's pooled quantile bins. Returns (statistic (R,), p-value (R,)).
    """
    codes_p, codes_q = torch.as_tensor(codes_p, dtype=torch.float64), torch.as_tensor(codes_q, dtype=torch.float64)
    pooled = torch.cat([codes_p, codes_q], 1)  # (R, N, D)
    n_rep, total, dims = pooled.shape
    n = codes_p.shape[1]
    which = torch.empty(n_rep, total, dims, dtype=torch.long)
    for r in range(n_rep):
        edges = quantile_edges(pooled[r], bins) if quantile else \
            torch.linspace(0, 1, bins + 1, dtype=torch.float64)[1:-1].expand(dims, -1)
        for d in range(dims):
            which[r, :, d] = torch.bucketize(pooled[r, :, d].contiguous(), edges[d].contiguous(), right=True)
    one_hot = torch.nn.functional.one_hot(which, bins).to(torch.float64)  # (R, N, D, bins)
    sides = torch.cat([torch.ones(1, total, dtype=torch.bool).index_fill_(1, torch.arange(n, total), False),
                       masks]).to(torch.float64)  # (1 + B, N): the real split first
    counts_p = torch.einsum("bn,rndk->rbdk", sides, one_hot)
    counts_q = one_hot.sum(1)[:, None] - counts_p
    kl = kl_divergence(counts_p, counts_q, pseudo_count).mean(-1)  # (R, 1 + B)
    observed, null = kl[:, 0], kl[:, 1:]
    return observed, (1 + (null >= observed[:, None] - 1e-12).sum(1)) / (1 + null.shape[1])


def gram_permutation_pvalues(gram: torch.Tensor, index_p: torch.Tensor, index_q: torch.Tensor,
                             masks: torch.Tensor, unbiased: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Permutation test of MMD^2 for many replicates, from the kernel matrix of a pool.

    ``gram`` (M, M): the kernel between every two items of a pool; ``index_p`` (R, n) and
    ``index_q`` (R, m): which pool items form P and Q in each of R replicates; ``masks``
    from :func:`split_masks`. Returns (MMD^2 of the real split (R,), p-value (R,)), the
    biased V-statistic, or with ``unbiased`` the U-statistic (for n = m both give the same
    p-values: each is a decreasing affine function of the cross-sum).
    """
    index_p, index_q = torch.as_tensor(index_p), torch.as_tensor(index_q)
    n, m = index_p.shape[1], index_q.shape[1]
    sides = torch.cat([torch.ones(1, n + m, dtype=torch.bool).index_fill_(1, torch.arange(n, n + m), False),
                       masks]).double().T  # (N, 1 + B)
    observed, p_values = [], []
    for ip, iq in zip(index_p, index_q):
        idx = torch.cat([ip, iq])
        # Gather the items' kernel in the pool's order and reorder the re-splits to match: the
        # same sums, but the reads sweep the big matrix once instead of jumping about (4-8x faster).
        # The sums are taken in float64: MMD^2 is a small difference of large sums, and float32's
        # rounding there is as large as the differences between re-splits.
        order = idx.argsort()
        k = gram[idx[order, None], idx[order]].double()
        s = sides[order]
        k_a = k @ s  # (N, 1 + B)
        aka = (s * k_a).sum(0)
        cross = s.T @ (k.sum(1) + k.sum(0)) - 2 * aka  # A-to-B plus B-to-A: a float kernel is not quite symmetric
        bkb = k.sum() - aka - cross
        if unbiased:
            diag_a = s.T @ k.diagonal()
            diag_b = k.diagonal().sum() - diag_a
            stat = (aka - diag_a) / (n * (n - 1)) + (bkb - diag_b) / (m * (m - 1)) - cross / (n * m)
        else:
            stat = aka / n ** 2 + bkb / m ** 2 - cross / (n * m)
        observed.append(stat[0])
        tie = 100 * torch.finfo(gram.dtype).eps * stat[0].abs()  # float rounding must not break a tie
        p_values.append((1 + (stat[1:] >= stat[0] - tie).sum()) / len(stat))
    return torch.stack(observed), torch.stack(p_values).double()
