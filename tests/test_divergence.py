"""course_lib.divergence: KL against scipy, MMD against scikit-learn's kernel, and the
permutation test's calibration under the null (small, fast simulations)."""
import numpy as np
import pytest
import torch
from scipy import stats
from sklearn.metrics.pairwise import rbf_kernel

from course_lib import divergence


def test_histograms_count_every_value_once_into_fixed_bins():
    codes = torch.tensor([[0.0, 0.05], [0.1, 0.95], [0.55, 1.0], [0.999, 0.5]])
    counts = divergence.histograms(codes, bins=10)
    assert counts.shape == (2, 10) and counts.sum(1).tolist() == [4, 4]
    assert counts[0].tolist() == [1, 1, 0, 0, 0, 1, 0, 0, 0, 1]
    np.testing.assert_array_equal(counts[1].numpy(), np.histogram(codes[:, 1].numpy(), bins=10, range=(0, 1))[0])


def test_kl_matches_scipy_entropy_with_the_same_smoothing():
    rng = np.random.default_rng(0)
    p, q = rng.integers(0, 30, size=12), rng.integers(0, 30, size=12)
    q[3] = 0  # an empty bin: finite only thanks to the smoothing
    ours = divergence.kl_divergence(torch.tensor(p), torch.tensor(q), pseudo_count=0.5).item()
    theirs = stats.entropy(p + 0.5, q + 0.5)  # scipy normalises and uses nats
    assert ours == pytest.approx(theirs, rel=1e-12)
    assert divergence.kl_divergence(torch.tensor(p), torch.tensor(p)).item() == pytest.approx(0.0, abs=1e-15)


def test_code_kl_averages_the_per_dimension_kl():
    g = torch.Generator().manual_seed(0)
    a, b = torch.rand(500, 3, generator=g), torch.rand(400, 3, generator=g) ** 2
    per_dim = [stats.entropy(np.histogram(a[:, d], 8, (0, 1))[0] + 1.0, np.histogram(b[:, d], 8, (0, 1))[0] + 1.0)
               for d in range(3)]
    assert divergence.code_kl(a, b, bins=8) == pytest.approx(np.mean(per_dim), rel=1e-10)


def test_quantile_edges_fill_the_bins_evenly_and_code_kl_uses_them():
    g = torch.Generator().manual_seed(5)
    pooled = torch.cat([torch.rand(600, 2, generator=g) ** 4, 0.95 + 0.05 * torch.rand(400, 2, generator=g)])
    edges = divergence.quantile_edges(pooled, bins=5)
    assert edges.shape == (2, 4)
    assert divergence.histograms(pooled, edges=edges).tolist() == [[200.0] * 5] * 2
    a, b = pooled[:500], pooled[500:]
    ref = np.mean([stats.entropy(np.histogram(a[:, d], np.r_[-np.inf, edges[d].numpy(), np.inf])[0] + 1.0,
                                 np.histogram(b[:, d], np.r_[-np.inf, edges[d].numpy(), np.inf])[0] + 1.0) for d in range(2)])
    assert divergence.code_kl(a, b, edges=edges) == pytest.approx(ref, rel=1e-10)


def test_median_bandwidth_is_the_median_pairwise_distance():
    z = torch.randn(50, 4, generator=torch.Generator().manual_seed(1))
    from scipy.spatial.distance import pdist

    assert divergence.median_bandwidth(z) == pytest.approx(np.median(pdist(z.numpy())), rel=1e-9)


def test_mmd_is_zero_for_identical_samples_and_grows_with_a_shift():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(200, 5, generator=g, dtype=torch.float64)
    assert divergence.rbf_mmd2(x, x.clone()) == pytest.approx(0.0, abs=1e-12)
    y = torch.randn(200, 5, generator=g, dtype=torch.float64)
    shifts = [divergence.rbf_mmd2(x, y + s, bandwidth=2.0) for s in (0.0, 0.25, 0.5, 1.0, 2.0)]
    assert all(a < b for a, b in zip(shifts, shifts[1:])), shifts


def test_mmd_matches_scikit_learn_rbf_kernel():
    g = torch.Generator().manual_seed(2)
    x, y = torch.randn(30, 3, generator=g, dtype=torch.float64), torch.randn(40, 3, generator=g, dtype=torch.float64) + 0.3
    gamma = 1 / (2 * 1.5 ** 2)
    ref = rbf_kernel(x, x, gamma=gamma).mean() + rbf_kernel(y, y, gamma=gamma).mean() - 2 * rbf_kernel(x, y, gamma=gamma).mean()
    assert divergence.rbf_mmd2(x, y, bandwidth=1.5) == pytest.approx(ref, rel=1e-9)


def test_permutation_p_values_are_roughly_uniform_under_the_null():
    """200 small two-sample problems with no difference: the p-values should look uniform
    (a fixed seed keeps the test deterministic; the check itself fails about 1% of seeds)."""
    g = torch.Generator().manual_seed(1)
    p_values = []
    for trial in range(200):
        x, y = torch.randn(20, generator=g), torch.randn(20, generator=g)
        result = divergence.permutation_test(lambda a, b: abs(a.mean() - b.mean()).item(), x, y,
                                             n_permutations=49, seed=trial)
        p_values.append(result.p_value)
    p_values = np.array(p_values)
    assert 0.01 <= (p_values <= 0.05).mean() <= 0.10  # expected 0.05 (sd about 0.015)
    assert stats.kstest(p_values, "uniform").pvalue > 0.01
    assert p_values.min() >= 1 / 50  # the real split counts as one of the splits


def test_permutation_test_detects_a_clear_difference():
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(50, 2, generator=g), torch.randn(50, 2, generator=g) + 1.0
    result = divergence.permutation_test(lambda a, b: divergence.code_kl(torch.sigmoid(a), torch.sigmoid(b)), x, y,
                                         n_permutations=99)
    assert result.p_value == pytest.approx(0.01)


def test_vectorised_mmd_test_equals_the_generic_test_on_the_same_splits():
    g = torch.Generator().manual_seed(3)
    x, y = torch.randn(40, 6, generator=g, dtype=torch.float64), torch.randn(30, 6, generator=g, dtype=torch.float64) + 0.2
    fast = divergence.mmd_permutation_test(x, y, n_permutations=60, seed=7, chunk=16)
    bw = divergence.median_bandwidth(torch.cat([x, y]))
    slow = divergence.permutation_test(lambda a, b: divergence.rbf_mmd2(a, b, bandwidth=bw), x, y,
                                       n_permutations=60, seed=7)
    assert fast.statistic == pytest.approx(slow.statistic, rel=1e-9)
    np.testing.assert_allclose(fast.null.numpy(), slow.null.numpy(), rtol=1e-8, atol=1e-14)
    assert fast.p_value == slow.p_value


def test_mmd_permutation_p_values_under_the_null_and_a_shift():
    g = torch.Generator().manual_seed(4)
    null_p = [divergence.mmd_permutation_test(torch.randn(30, 3, generator=g), torch.randn(30, 3, generator=g),
                                              n_permutations=49, seed=s).p_value for s in range(60)]
    assert 0.25 <= np.mean(null_p) <= 0.75  # uniform has mean 0.5
    shifted = divergence.mmd_permutation_test(torch.randn(60, 3, generator=g), torch.randn(60, 3, generator=g) + 1.0,
                                              n_permutations=99)
    assert shifted.p_value == pytest.approx(0.01)


def test_median_bandwidth_subsamples_the_pooled_rows_at_random():
    g = torch.Generator().manual_seed(6)
    x, y = torch.randn(300, 2, generator=g, dtype=torch.float64), 10 + torch.randn(300, 2, generator=g, dtype=torch.float64)
    pooled = torch.cat([x, y])
    within_x = divergence.median_bandwidth(x)
    sub = divergence.median_bandwidth(pooled, max_points=200)
    # the first 200 rows are all x; a random 200 mixes x and y, so half the pairs span the gap
    assert sub > 5 * within_x
    assert sub == pytest.approx(divergence.median_bandwidth(pooled.flip(0), max_points=200, seed=1), rel=0.3)


def test_unbiased_mmd_matches_the_u_statistic_and_centres_on_zero():
    g = torch.Generator().manual_seed(7)
    x, y = torch.randn(25, 3, generator=g, dtype=torch.float64), torch.randn(30, 3, generator=g, dtype=torch.float64)
    gamma = 1 / (2 * 1.2 ** 2)
    kxx, kyy, kxy = rbf_kernel(x, x, gamma=gamma), rbf_kernel(y, y, gamma=gamma), rbf_kernel(x, y, gamma=gamma)
    ref = ((kxx.sum() - np.trace(kxx)) / (25 * 24) + (kyy.sum() - np.trace(kyy)) / (30 * 29) - 2 * kxy.mean())
    assert divergence.rbf_mmd2_unbiased(x, y, bandwidth=1.2) == pytest.approx(ref, rel=1e-9)
    null = [divergence.rbf_mmd2_unbiased(torch.randn(40, 2, generator=g), torch.randn(40, 2, generator=g), 1.0)
            for _ in range(200)]
    biased = [divergence.rbf_mmd2(torch.randn(40, 2, generator=g), torch.randn(40, 2, generator=g), 1.0)
              for _ in range(200)]
    assert abs(np.mean(null)) < 3 * np.std(null) / np.sqrt(200) + 1e-4 and min(null) < 0
    assert min(biased) > 0


def test_batched_kl_test_equals_the_generic_test_on_the_same_splits():
    g = torch.Generator().manual_seed(8)
    p, q = torch.rand(3, 40, 4, generator=g), torch.rand(3, 30, 4, generator=g) ** 1.5
    masks = divergence.split_masks(40, 30, 50, seed=9)
    for quantile in (False, True):
        stat, pv = divergence.kl_permutation_pvalues(p, q, masks, bins=6, quantile=quantile)
        for r in range(3):
            edges = divergence.quantile_edges(torch.cat([p[r], q[r]]), 6) if quantile else None
            slow = divergence.permutation_test(lambda a, b: divergence.code_kl(a, b, 6, edges=edges), p[r], q[r],
                                               n_permutations=50, seed=9)
            assert stat[r].item() == pytest.approx(slow.statistic, rel=1e-9)
            assert pv[r].item() == pytest.approx(slow.p_value)


def test_batched_gram_test_equals_the_vectorised_mmd_test():
    g = torch.Generator().manual_seed(10)
    pool = torch.randn(120, 5, generator=g, dtype=torch.float64)
    pool[60:] += 0.4
    gram = divergence.rbf_kernel(pool, pool, 2.0)
    index_p = torch.stack([torch.arange(0, 30), torch.arange(30, 60)])
    index_q = torch.stack([torch.arange(60, 90), torch.arange(90, 120)])
    masks = divergence.split_masks(30, 30, 40, seed=11)
    stat, pv = divergence.gram_permutation_pvalues(gram, index_p, index_q, masks)
    stat_u, pv_u = divergence.gram_permutation_pvalues(gram, index_p, index_q, masks, unbiased=True)
    for r in range(2):
        x, y = pool[index_p[r]], pool[index_q[r]]
        slow = divergence.mmd_permutation_test(x, y, n_permutations=40, seed=11, bandwidth=2.0)
        assert stat[r].item() == pytest.approx(slow.statistic, rel=1e-9)
        assert pv[r].item() == pytest.approx(slow.p_value)
        assert stat_u[r].item() == pytest.approx(divergence.rbf_mmd2_unbiased(x, y, 2.0), rel=1e-9)
        assert pv_u[r].item() == pytest.approx(pv[r].item())  # equal sizes: the same ranking of re-splits


def test_gram_test_from_a_float32_kernel_matches_float64_arithmetic():
    # The notebooks keep the pool's kernel in float32 to halve its memory; the p-values must
    # still be those of exact arithmetic on that kernel, with the items in any order.
    g = torch.Generator().manual_seed(12)
    pool = torch.randn(600, 3, generator=g)
    gram = torch.cdist(pool, pool).square_().div_(-2.0).exp_()  # float32
    picks = torch.stack([torch.randperm(600, generator=g)[:400] for _ in range(6)])
    index_p, index_q = picks[:, :200], picks[:, 200:]
    masks = divergence.split_masks(200, 200, 60, seed=13)
    stat, pv = divergence.gram_permutation_pvalues(gram, index_p, index_q, masks)
    sides = torch.cat([(torch.arange(400) < 200)[None], masks])
    weights = torch.where(sides, 1.0, -1.0).double() / 200  # MMD^2 = w^T K w for each split
    for r in range(len(picks)):
        k = gram[picks[r]][:, picks[r]].double()
        exact = ((weights @ k) * weights).sum(1)
        assert stat[r].item() == pytest.approx(exact[0].item(), rel=1e-9, abs=1e-15)
        assert pv[r].item() == pytest.approx(((1 + (exact[1:] >= exact[0] - 1e-12).sum()) / 61).item())
