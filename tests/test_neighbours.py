"""course_lib.neighbours: the neighbourhood-preservation scores against scikit-learn and on cases with known answers."""
import numpy as np
import pytest
import torch
from sklearn.decomposition import PCA
from sklearn.manifold import trustworthiness as sk_trustworthiness

from course_lib import data, knn, neighbours as nb


@pytest.fixture(scope="module")
def pixels():
    return data.load("mnist-sample", "train").flat()[:2000]


def test_score_at_k_perfect_and_random():
    n, k = 1000, 10
    x = torch.randn(n, 10)
    nn_x = knn.search(x, 50).indices
    assert nb.score_at_k(nn_x, nn_x, k) == 1.0
    nn_random = knn.search(torch.randn(n, 2), 50).indices  # an embedding that ignores x
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
    nn_x = knn.search(x, 40).indices
    nn_y = knn.search(y, 40).indices
    q = nb.qnx_curve(nn_x, nn_y)
    for k in (1, 5, 10, 40):
        assert abs(q[k - 1].item() - nb.score_at_k(nn_x, nn_y, k)) < 1e-6
    assert torch.allclose(nb.rnx_curve(nb.qnx_curve(nn_x, nn_x), len(x)), torch.ones(40, dtype=torch.float64))
    assert abs(nb.rnx_auc(torch.ones(40)) - 1.0) < 1e-12
    nn_random = knn.search(torch.randn(len(x), 2), 40).indices
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


def test_rank_penalties_of_a_map_row_by_row_equal_the_matrix_path(monkeypatch):
    # A 2-D map ranks by distances computed row by row; the general path by a matrix product.
    # On a map with many ties (coordinates on a coarse grid) they must agree exactly.
    g = torch.Generator().manual_seed(3)
    x = torch.randn(700, 10, generator=g)
    for dims in (2, 3):  # the written-out 2-D loop and the general one
        y = (x[:, :dims] * 2).round() / 2  # ties everywhere, and exactly representable distances
        nn_x, nn_y = knn.search(x, 5).indices, knn.search(y, 5).indices
        monkeypatch.setattr(nb, "LOW_DIM", 8)
        row_by_row = nb._rank_penalties(y, nn_y, [nn_x, nn_y], 5, 128)
        monkeypatch.setattr(nb, "LOW_DIM", 0)
        assert nb._rank_penalties(y, nn_y, [nn_x, nn_y], 5, 128) == row_by_row


def test_rnx_and_trustworthiness_match_their_definitions_from_a_full_rank_matrix():
    # notebook 05 writes the measures from an n x n rank matrix; course_lib works from kNN lists.
    # On points without tied distances the two must agree exactly: one neighbour of one point
    # moved would change Q_NX(K) by 1 / (n K), far above the tolerance.
    from scipy.spatial.distance import cdist

    gen = torch.Generator().manual_seed(0)
    x, n, k_top = torch.randn(300, 20, generator=gen, dtype=torch.float64), 300, 60
    y = x[:, :2] + 0.3 * torch.randn(300, 2, generator=gen, dtype=torch.float64)

    def ranks(p):
        d = cdist(p, p)
        np.fill_diagonal(d, -np.inf)
        r = np.empty(d.shape, dtype=np.int64)
        np.put_along_axis(r, np.argsort(d, axis=1), np.arange(len(p))[None, :], axis=1)
        return r

    rx, ry = ranks(x.numpy()), ranks(y.numpy())
    K = np.arange(1, k_top + 1)
    q = np.array([((rx >= 1) & (rx <= k) & (ry >= 1) & (ry <= k)).sum(1).mean() / k for k in K])
    rnx = ((n - 1) * q - K) / (n - 1 - K)
    ours = nb.rnx_curve(nb.qnx_curve(knn.search(x, k_top).indices, knn.search(y, k_top).indices), n).numpy()
    assert np.abs(ours - rnx).max() < 1e-12
    intruders = (ry >= 1) & (ry <= 5) & (rx > 5)
    t = 1 - 2 * np.where(intruders, rx - 5, 0).sum() / (n * 5 * (2 * n - 3 * 5 - 1))
    assert abs(nb.trustworthiness(x, y, 5) - t) < 1e-6  # course_lib computes in float32
