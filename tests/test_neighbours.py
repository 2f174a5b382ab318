"""course_lib.neighbours against scikit-learn, and the scores on cases with known answers."""
import warnings

import numpy as np
import pytest
import torch
from sklearn.decomposition import PCA
from sklearn.manifold import trustworthiness as sk_trustworthiness
from sklearn.neighbors import NearestNeighbors

from course_lib import data, neighbours as nb


@pytest.fixture(scope="module")
def pixels():
    return data.load("mnist-sample", "train").flat()[:2000]


@pytest.mark.parametrize("scale", [1.0, 0.5], ids=["8-bit integer path", "float path"])
@pytest.mark.parametrize("metric, sk_metric", [("l2", "euclidean"), ("l1", "manhattan")])
def test_knn_matches_sklearn(pixels, metric, sk_metric, scale):
    k = 25
    pixels = pixels * scale  # halved pixels are no longer multiples of 1/255: the float path
    assert (nb._eight_bit(pixels) is None) == (scale != 1.0)
    # a block size that leaves a ragged last block, so off-diagonal and transposed blocks are both used
    dist, ind = nb.knn(pixels, k, metric, chunk_size=700)
    ref = NearestNeighbors(n_neighbors=k + 1, metric=sk_metric).fit(pixels.double().numpy())
    ref_d, ref_i = ref.kneighbors()  # the training points, each without itself
    ref_d, ref_i = ref_d[:, :k + 1], ref_i[:, :k + 1]
    assert dist.shape == ind.shape == (len(pixels), k)
    assert np.allclose(dist.numpy(), ref_d[:, :k], atol=1e-3)  # same sorted distances, nearest first
    # same neighbour sets wherever the k-th and (k+1)-th distances are not tied
    clear = (ref_d[:, k] - ref_d[:, k - 1]) > 1e-3
    assert clear.mean() > 0.9
    same = [set(a) == set(b) for a, b in zip(ind.numpy()[clear], ref_i[clear, :k])]
    assert all(same)


def test_eight_bit_detection():
    assert torch.equal(nb._eight_bit(torch.tensor([[0.0, 1 / 255, 1.0]])), torch.tensor([[0, 1, 255]], dtype=torch.uint8))
    assert nb._eight_bit(torch.tensor([[0.0, 0.3]])) is None  # 76.5 / 255
    assert nb._eight_bit(torch.tensor([[2.0]])) is None
    assert nb._eight_bit(torch.tensor([[-1 / 255]])) is None


def test_integer_and_float_paths_find_the_same_neighbours(pixels):
    # on 8-bit images the integer path's distances are exact; the float path's are close
    for metric in nb.METRICS:
        d_int, i_int = nb.knn(pixels, 10, metric, chunk_size=512)
        shrunk = pixels * 0.999  # no longer multiples of 1/255
        assert nb._eight_bit(shrunk) is None
        d_float, i_float = nb.knn(shrunk, 10, metric, chunk_size=512)
        assert torch.allclose(d_int * 0.999, d_float, atol=1e-3)
        assert (i_int == i_float).float().mean() > 0.99  # equal distances may swap places


def test_knn_excludes_self_even_with_duplicates():
    x = torch.rand(300, 20)
    x[1] = x[0]  # an exact duplicate
    for metric in nb.METRICS:
        dist, ind = nb.knn(x, 10, metric, chunk_size=64)
        assert not (ind == torch.arange(300).unsqueeze(1)).any()
        assert (dist[:, 1:] >= dist[:, :-1]).all()
        assert {ind[0, 0].item(), ind[1, 0].item()} == {1, 0}
        assert dist[0, 0].item() < 1e-3


@pytest.mark.parametrize("metric, sk_metric", [("l2", "euclidean"), ("l1", "manhattan")])
def test_knn_low_dimensional_path(metric, sk_metric):
    y = torch.randn(1500, 2)
    dist, ind = nb.knn(y, 15, metric)
    ref_d, ref_i = NearestNeighbors(n_neighbors=15, metric=sk_metric).fit(y.double().numpy()).kneighbors()
    assert np.allclose(dist.numpy(), ref_d, atol=1e-5)
    assert (ind.numpy() == ref_i).mean() > 0.999


def test_knn_rejects_bad_arguments():
    x = torch.rand(50, 5)
    with pytest.raises(ValueError, match="metric"):
        nb.knn(x, 5, "cosine")
    with pytest.raises(ValueError, match="k must be"):
        nb.knn(x, 50)


def test_score_at_k_perfect_and_random():
    n, k = 1000, 10
    x = torch.randn(n, 10)
    _, nn_x = nb.knn(x, 50)
    assert nb.score_at_k(nn_x, nn_x, k) == 1.0
    _, nn_random = nb.knn(torch.randn(n, 2), 50)  # an embedding that ignores x
    score = nb.score_at_k(nn_x, nn_random, k)
    assert abs(score - k / (n - 1)) < 0.005


def test_score_at_k_hand_made():
    a = torch.tensor([[1, 2, 3], [0, 2, 3], [0, 1, 3], [0, 1, 2]])
    b = torch.tensor([[3, 2, 1], [2, 3, 0], [3, 1, 0], [1, 2, 0]])  # same sets, other order
    assert nb.score_at_k(a, b, 3) == 1.0
    assert nb.overlap(a, b, 1).tolist() == [0.0, 0.0, 0.0, 0.0]
    assert nb.overlap(a, b, 2).tolist() == [0.5, 0.5, 0.5, 0.5]


def test_qnx_and_rnx(pixels):
    x = pixels[:800]
    y = torch.from_numpy(PCA(2, random_state=0).fit_transform(x.numpy()))
    _, nn_x = nb.knn(x, 40)
    _, nn_y = nb.knn(y, 40)
    q = nb.qnx_curve(nn_x, nn_y)
    for k in (1, 5, 10, 40):
        assert abs(q[k - 1].item() - nb.score_at_k(nn_x, nn_y, k)) < 1e-6
    assert torch.allclose(nb.rnx_curve(nb.qnx_curve(nn_x, nn_x), len(x)), torch.ones(40, dtype=torch.float64))
    assert abs(nb.rnx_auc(torch.ones(40)) - 1.0) < 1e-12
    _, nn_random = nb.knn(torch.randn(len(x), 2), 40)
    r = nb.rnx_curve(nb.qnx_curve(nn_x, nn_random), len(x))
    assert abs(nb.rnx_auc(r)) < 0.02
    assert 0.0 < nb.rnx_auc(nb.rnx_curve(q, len(x))) < 1.0


def test_trustworthiness_and_continuity_match_sklearn(pixels):
    x = pixels[:1500]
    pca = PCA(2, random_state=0).fit_transform(x.numpy())
    noise = np.random.default_rng(0).normal(size=(len(x), 2))
    for y in (pca, noise):
        ours = nb.trustworthiness(x, torch.from_numpy(y), k=5)
        assert abs(ours - sk_trustworthiness(x.numpy(), y, n_neighbors=5)) < 1e-6
        mirror = nb.continuity(x, torch.from_numpy(y), k=5)
        assert abs(mirror - sk_trustworthiness(y, x.numpy(), n_neighbors=5)) < 1e-6
    both = nb.trust_and_continuity(x, {"pca": torch.from_numpy(pca)}, k=5)["pca"]
    assert abs(both["trustworthiness"] - nb.trustworthiness(x, torch.from_numpy(pca), 5)) < 1e-12
    assert abs(both["continuity"] - nb.continuity(x, torch.from_numpy(pca), 5)) < 1e-12


def test_trustworthiness_of_a_collapsed_map_stays_in_range(pixels):
    x = pixels[:500]
    y = torch.zeros(len(x), 2)  # every image on one point: all distances tie
    t = nb.trust_and_continuity(x, {"collapsed": y}, k=5)["collapsed"]
    assert 0.0 <= t["trustworthiness"] <= 1.0 and 0.0 <= t["continuity"] <= 1.0
    assert abs(t["continuity"] - sk_trustworthiness(y.numpy(), x.numpy(), n_neighbors=5)) < 0.05


# ---------------------------------------------------------------- every kernel, forced

def _sklearn_reference(x, k, sk_metric):
    ref_d, ref_i = NearestNeighbors(n_neighbors=k + 1, metric=sk_metric).fit(x.double().numpy()).kneighbors()
    return ref_d, ref_i


def _assert_same_as_sklearn(dist, ind, ref_d, ref_i, k):
    assert np.allclose(dist.numpy(), ref_d[:, :k], atol=1e-3)
    clear = (ref_d[:, k] - ref_d[:, k - 1]) > 1e-3  # the k-th and (k+1)-th not tied
    assert clear.mean() > 0.9
    assert all(set(a) == set(b) for a, b in zip(ind.numpy()[clear], ref_i[clear, :k]))


@pytest.mark.parametrize("search", ["strips", "heaps"])
@pytest.mark.parametrize("metric, sk_metric, kernel", [
    *[("l2", "euclidean", kern) for kern in nb.L2_EIGHT_BIT_KERNELS],
    *[("l1", "manhattan", kern) for kern in nb.L1_EIGHT_BIT_KERNELS]])
def test_each_kernel_matches_sklearn(pixels, monkeypatch, metric, sk_metric, kernel, search):
    # every kernel forced in turn, on both searches (strips + topk, symmetric blocks + heaps)
    monkeypatch.setattr(nb, "STRIPS_MAX_N", 10**9 if search == "strips" else 0)
    x, k = pixels[:700], 15
    dist, ind = nb.knn(x, k, metric, chunk_size=300, kernel=kernel)
    path = nb.last_path()
    assert (path["kernel"], path["chosen_by"], path["data"]) == (kernel, "forced", "8-bit")
    assert path["search"] == ("row strips + topk" if search == "strips" else "symmetric blocks + heaps")
    _assert_same_as_sklearn(dist, ind, *_sklearn_reference(x, k, sk_metric), k)


@pytest.mark.parametrize("search", ["strips", "heaps"])
@pytest.mark.parametrize("metric, sk_metric", [("l2", "euclidean"), ("l1", "manhattan")])
def test_float64_fallback_matches_sklearn(pixels, monkeypatch, metric, sk_metric, search):
    monkeypatch.setattr(nb, "STRIPS_MAX_N", 10**9 if search == "strips" else 0)
    x, k = pixels[:700] * 0.5, 15  # not 8-bit: the float64 path
    dist, ind = nb.knn(x, k, metric, chunk_size=300)
    assert (nb.last_path()["kernel"], nb.last_path()["data"]) == ("float64", "float")
    _assert_same_as_sklearn(dist, ind, *_sklearn_reference(x, k, sk_metric), k)


def test_all_eight_bit_kernels_give_identical_distances(pixels):
    # exact integer distances: every kernel returns the very same sorted distances
    x = pixels[:600]
    for metric, kernels in (("l2", nb.L2_EIGHT_BIT_KERNELS), ("l1", nb.L1_EIGHT_BIT_KERNELS)):
        dists = [nb.knn(x, 20, metric, kernel=kern)[0] for kern in kernels]
        assert all(torch.equal(d, dists[0]) for d in dists[1:]), metric


def test_float32_exact_sums_wide_images_in_chunks():
    # 1,500 pixels: more than FLOAT32_EXACT_CHUNK, so the float32 kernel sums two chunks
    assert 1500 > nb.FLOAT32_EXACT_CHUNK
    gen = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (300, 1500), generator=gen).float() / 255
    d32, i32 = nb.knn(x, 10, "l2", kernel="float32-exact")
    d64, i64 = nb.knn(x, 10, "l2", kernel="float64")
    assert torch.equal(d32, d64)
    ref = torch.cdist(x.double(), x.double()).fill_diagonal_(float("inf")).topk(10, largest=False).values
    assert torch.allclose(d32.double(), ref, atol=1e-5)


def test_calibration_is_cached_and_recorded(pixels):
    verdict = nb.l2_kernel()
    assert verdict["kernel"] in nb.L2_EIGHT_BIT_KERNELS and verdict["cpu_capability"]
    assert nb.l2_kernel() == verdict  # cached: no second calibration
    nb.knn(pixels[:300], 5, "l2")
    path = nb.last_path()
    assert path["kernel"] == verdict["kernel"] and path["chosen_by"] == "calibration"
    assert {"metric", "data", "kernel", "chosen_by", "reason", "cpu_capability", "threads", "search"} <= set(path)
    nb.knn(torch.randn(200, 2), 5, "l1")
    assert nb.last_path()["kernel"] == "kd-tree"


def test_calibration_avoids_the_plain_int8_loop():
    # without oneDNN (as on every CPU without AVX-512 VNNI) torch._int_mm is a plain loop
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch's note that TF32 on oneDNN needs an Intel GPU
            with torch.backends.mkldnn.flags(enabled=False):
                verdict = nb.l2_kernel(refresh=True)
        assert verdict["kernel"] == "float32-exact", verdict
        assert verdict["calibration_ms"]["64"]["int8-matmul"] > 4 * verdict["calibration_ms"]["64"]["float32-exact"]
    finally:
        nb.l2_kernel(refresh=True)


def test_reduced_precision_float32_falls_back_to_float64(pixels):
    before = torch.get_float32_matmul_precision()
    try:
        torch.set_float32_matmul_precision("medium")  # bf16 matmuls where the CPU has them: not exact
        assert nb.l2_kernel(refresh=True)["kernel"] == "float64"
        with pytest.raises(ValueError, match="full-precision"):
            nb.knn(pixels[:100], 5, "l2", kernel="float32-exact")
    finally:
        torch.set_float32_matmul_precision(before)
        nb.l2_kernel(refresh=True)


def test_knn_rejects_kernels_that_cannot_run(pixels):
    with pytest.raises(ValueError, match="cannot run L2"):
        nb.knn(pixels[:50], 5, "l2", kernel="uint8-sad")
    with pytest.raises(ValueError, match="not 8-bit"):
        nb.knn(pixels[:50] * 0.5, 5, "l2", kernel="int8-matmul")
    with pytest.raises(ValueError, match="KD-tree"):
        nb.knn(torch.randn(50, 2), 5, "l2", kernel="float64")


def test_rank_penalties_of_a_map_row_by_row_equal_the_matrix_path(monkeypatch):
    # A 2-D map ranks by distances computed row by row; the general path by a matrix product.
    # On a map with many ties (coordinates on a coarse grid) they must agree exactly.
    g = torch.Generator().manual_seed(3)
    x = torch.randn(700, 10, generator=g)
    for dims in (2, 3):  # the written-out 2-D loop and the general one
        y = (x[:, :dims] * 2).round() / 2  # ties everywhere, and exactly representable distances
        nn_x, nn_y = nb.knn(x, 5)[1], nb.knn(y, 5)[1]
        monkeypatch.setattr(nb, "LOW_DIM", 8)
        row_by_row = nb._rank_penalties(y, nn_y, [nn_x, nn_y], 5, 128)
        monkeypatch.setattr(nb, "LOW_DIM", 0)
        assert nb._rank_penalties(y, nn_y, [nn_x, nn_y], 5, 128) == row_by_row
