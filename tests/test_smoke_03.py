"""Checks on the smoke run of notebook 03 (metrics.json); each can fail."""
from pathlib import Path

import pytest

NAME = "03_autoencoder"


@pytest.fixture(scope="module")
def m(smoke_metrics):
    return smoke_metrics(NAME)


def test_keys(m):
    for key in ("mse_by_dim", "pca_mse_by_dim", "mse_2d", "epochs", "mean_image_mse", "seed_dim3_mse"):
        assert key in m
    assert set(m["mse_by_dim"]) == set(m["pca_mse_by_dim"])
    assert m["mse_2d"] == m["mse_by_dim"]["2"]


def test_2d_autoencoder_beats_pca_2_on_the_same_data(m):
    assert m["mse_2d"] < m["pca_mse_by_dim"]["2"]


def test_2d_autoencoder_beats_the_mean_image(m):
    assert m["mse_2d"] < 0.85 * m["mean_image_mse"]


def test_mean_image_mse_is_the_pixel_variance_of_mnist(m):
    # about 0.067 on MNIST digits; a bug in loading or scaling would move it far away
    assert 0.05 < m["mean_image_mse"] < 0.09


def test_more_code_dimensions_reconstruct_better(m):
    by_dim = {int(k): v for k, v in m["mse_by_dim"].items()}
    pca = {int(k): v for k, v in m["pca_mse_by_dim"].items()}
    dims = sorted(by_dim)
    assert all(pca[a] > pca[b] for a, b in zip(dims, dims[1:]))
    assert by_dim[dims[0]] > by_dim[dims[-1]]


def test_checkpoint_for_notebook_04_is_there(m):
    assert Path(m["checkpoint_2d"]).name == "ae_2d.pt"
    assert Path(m["checkpoint_2d"]).exists()
