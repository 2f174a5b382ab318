"""course_lib.knn: exact kNN against scikit-learn, every kernel forced, the calibration, the path it reports."""
import functools
import warnings

import numpy as np
import pytest
import torch
from sklearn.neighbors import NearestNeighbors

from course_lib import data, knn


@pytest.fixture(scope="module")
def pixels():
    return data.load("mnist-sample", "train").flat()[:2000]


@pytest.mark.parametrize("scale", [1.0, 0.5], ids=["8-bit integer path", "float path"])
@pytest.mark.parametrize("metric, sk_metric", [("l2", "euclidean"), ("l1", "manhattan")])
def test_knn_matches_sklearn(pixels, metric, sk_metric, scale):
    k = 25
    pixels = pixels * scale  # halved pixels are no longer multiples of 1/255: the float path
    assert (knn._eight_bit(pixels) is None) == (scale != 1.0)
    # a block size that leaves a ragged last block, so off-diagonal and transposed blocks are both used
    dist, ind, _ = knn.search(pixels, k, metric, chunk_size=700)
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
    assert torch.equal(knn._eight_bit(torch.tensor([[0.0, 1 / 255, 1.0]])), torch.tensor([[0, 1, 255]], dtype=torch.uint8))
    assert knn._eight_bit(torch.tensor([[0.0, 0.3]])) is None  # 76.5 / 255
    assert knn._eight_bit(torch.tensor([[2.0]])) is None
    assert knn._eight_bit(torch.tensor([[-1 / 255]])) is None


def test_integer_and_float_paths_find_the_same_neighbours(pixels):
    # on 8-bit images the integer path's distances are exact; the float path's are close
    for metric in knn.METRICS:
        d_int, i_int, _ = knn.search(pixels, 10, metric, chunk_size=512)
        shrunk = pixels * 0.999  # no longer multiples of 1/255
        assert knn._eight_bit(shrunk) is None
        d_float, i_float, _ = knn.search(shrunk, 10, metric, chunk_size=512)
        assert torch.allclose(d_int * 0.999, d_float, atol=1e-3)
        assert (i_int == i_float).float().mean() > 0.99  # equal distances may swap places


def test_knn_excludes_self_even_with_duplicates():
    x = torch.rand(300, 20)
    x[1] = x[0]  # an exact duplicate
    for metric in knn.METRICS:
        dist, ind, _ = knn.search(x, 10, metric, chunk_size=64)
        assert not (ind == torch.arange(300).unsqueeze(1)).any()
        assert (dist[:, 1:] >= dist[:, :-1]).all()
        assert {ind[0, 0].item(), ind[1, 0].item()} == {1, 0}
        assert dist[0, 0].item() < 1e-3


@pytest.mark.parametrize("metric, sk_metric", [("l2", "euclidean"), ("l1", "manhattan")])
def test_knn_low_dimensional_path(metric, sk_metric):
    y = torch.randn(1500, 2)
    dist, ind, _ = knn.search(y, 15, metric)
    ref_d, ref_i = NearestNeighbors(n_neighbors=15, metric=sk_metric).fit(y.double().numpy()).kneighbors()
    assert np.allclose(dist.numpy(), ref_d, atol=1e-5)
    assert (ind.numpy() == ref_i).mean() > 0.999


def test_knn_rejects_bad_arguments():
    x = torch.rand(50, 5)
    with pytest.raises(ValueError, match="metric"):
        knn.search(x, 5, "cosine")
    with pytest.raises(ValueError, match="k must be"):
        knn.search(x, 50)


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
    *[("l2", "euclidean", kern) for kern in knn.L2_EIGHT_BIT_KERNELS],
    *[("l1", "manhattan", kern) for kern in knn.L1_EIGHT_BIT_KERNELS]])
def test_each_kernel_matches_sklearn(pixels, monkeypatch, metric, sk_metric, kernel, search):
    # every kernel forced in turn, on both searches (strips + topk, symmetric blocks + heaps)
    if kernel == "int8-matmul" and not knn._int8_matmul_is_exact():
        pytest.skip("torch._int_mm saturates on this CPU: the calibration never chooses it (tested below)")
    monkeypatch.setattr(knn, "STRIPS_MAX_N", 10**9 if search == "strips" else 0)
    x, k = pixels[:700], 15
    dist, ind, path = knn.search(x, k, metric, chunk_size=300, kernel=kernel)
    assert (path["kernel"], path["chosen_by"], path["data"]) == (kernel, "forced", "8-bit")
    assert path["search"] == ("row strips + topk" if search == "strips" else "symmetric blocks + heaps")
    _assert_same_as_sklearn(dist, ind, *_sklearn_reference(x, k, sk_metric), k)


@pytest.mark.parametrize("search", ["strips", "heaps"])
@pytest.mark.parametrize("metric, sk_metric", [("l2", "euclidean"), ("l1", "manhattan")])
def test_float64_fallback_matches_sklearn(pixels, monkeypatch, metric, sk_metric, search):
    monkeypatch.setattr(knn, "STRIPS_MAX_N", 10**9 if search == "strips" else 0)
    x, k = pixels[:700] * 0.5, 15  # not 8-bit: the float64 path
    dist, ind, path = knn.search(x, k, metric, chunk_size=300)
    assert (path["kernel"], path["data"]) == ("float64", "float")
    _assert_same_as_sklearn(dist, ind, *_sklearn_reference(x, k, sk_metric), k)


def test_all_eight_bit_kernels_give_identical_distances(pixels):
    # exact integer distances: every kernel returns the very same sorted distances
    x = pixels[:600]
    for metric, kernels in (("l2", knn.L2_EIGHT_BIT_KERNELS), ("l1", knn.L1_EIGHT_BIT_KERNELS)):
        kernels = [kern for kern in kernels if kern != "int8-matmul" or knn._int8_matmul_is_exact()]
        dists = [knn.search(x, 20, metric, kernel=kern).distances for kern in kernels]
        assert all(torch.equal(d, dists[0]) for d in dists[1:]), metric


def test_float32_exact_sums_wide_images_in_chunks():
    # 1,500 pixels: more than FLOAT32_EXACT_CHUNK, so the float32 kernel sums two chunks
    assert 1500 > knn.FLOAT32_EXACT_CHUNK
    gen = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (300, 1500), generator=gen).float() / 255
    d32, i32, _ = knn.search(x, 10, "l2", kernel="float32-exact")
    d64, i64, _ = knn.search(x, 10, "l2", kernel="float64")
    assert torch.equal(d32, d64)
    ref = torch.cdist(x.double(), x.double()).fill_diagonal_(float("inf")).topk(10, largest=False).values
    assert torch.allclose(d32.double(), ref, atol=1e-5)


def test_calibration_is_cached_and_recorded(pixels):
    verdict = knn.l2_kernel()
    assert verdict["kernel"] in knn.L2_EIGHT_BIT_KERNELS and verdict["cpu_capability"]
    calibrations = knn._calibrate_l2.cache_info().misses
    assert knn.l2_kernel() == verdict  # cached: no second calibration
    found = knn.search(pixels[:300], 5, "l2")
    assert knn._calibrate_l2.cache_info().misses == calibrations
    assert isinstance(found, knn.Neighbours) and found.distances.shape == found.indices.shape == (300, 5)
    path = found.path
    assert path["kernel"] == verdict["kernel"] and path["chosen_by"] == "calibration"
    assert {"metric", "data", "kernel", "chosen_by", "reason", "cpu_capability", "threads", "search"} <= set(path)
    assert knn.search(torch.randn(200, 2), 5, "l1").path["kernel"] == "kd-tree"
    assert found.path["kernel"] == verdict["kernel"]  # each search has its own path: a later one changes nothing


def test_calibration_avoids_the_plain_int8_loop():
    # without oneDNN (as on every CPU without AVX-512 VNNI) torch._int_mm is a plain loop
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch's note that TF32 on oneDNN needs an Intel GPU
            with torch.backends.mkldnn.flags(enabled=False):
                verdict = knn.l2_kernel(refresh=True)
        assert verdict["kernel"] == "float32-exact", verdict
        assert verdict["calibration_ms"]["64"]["int8-matmul"] > 4 * verdict["calibration_ms"]["64"]["float32-exact"]
    finally:
        knn.l2_kernel(refresh=True)


def test_calibration_never_chooses_an_int8_kernel_that_saturates(monkeypatch):
    # as with oneDNN held to AVX2 on a CPU that reports VNNI: _int_mm adds pairs of products in
    # 16 bits and saturates, so its distances are wrong however fast it is
    monkeypatch.setattr(knn, "_int8_matmul_is_exact", functools.cache(lambda: False))
    try:
        verdict = knn.l2_kernel(refresh=True)
        assert verdict["kernel"] == "float32-exact" and "wrong sum" in verdict["reason"], verdict
    finally:
        monkeypatch.undo()
        knn.l2_kernel(refresh=True)


def test_the_int8_exactness_probe_catches_a_saturating_sum(monkeypatch):
    def saturating(a, b):  # products summed in pairs, each pair clamped to int16 (vpmaddubsw's way)
        pairs = (a.long().reshape(len(a), -1, 2).unsqueeze(1) * b.T.long().reshape(b.shape[1], -1, 2)).sum(-1)
        return pairs.clamp(-2**15, 2**15 - 1).sum(-1).int()

    knn._int8_matmul_is_exact.cache_clear()
    monkeypatch.setattr(torch, "_int_mm", saturating)
    try:
        assert knn._int8_matmul_is_exact() is False
    finally:
        monkeypatch.undo()
        knn._int8_matmul_is_exact.cache_clear()


def test_reduced_precision_float32_falls_back_to_float64(pixels):
    before = torch.get_float32_matmul_precision()
    try:
        torch.set_float32_matmul_precision("medium")  # bf16 matmuls where the CPU has them: not exact
        assert knn.l2_kernel(refresh=True)["kernel"] == "float64"
        with pytest.raises(ValueError, match="full-precision"):
            knn.search(pixels[:100], 5, "l2", kernel="float32-exact")
    finally:
        torch.set_float32_matmul_precision(before)
        knn.l2_kernel(refresh=True)


def test_knn_rejects_kernels_that_cannot_run(pixels):
    with pytest.raises(ValueError, match="cannot run L2"):
        knn.search(pixels[:50], 5, "l2", kernel="uint8-sad")
    with pytest.raises(ValueError, match="not 8-bit"):
        knn.search(pixels[:50] * 0.5, 5, "l2", kernel="int8-matmul")
    with pytest.raises(ValueError, match="KD-tree"):
        knn.search(torch.randn(50, 2), 5, "l2", kernel="float64")
