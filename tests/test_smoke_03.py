"""Checks on the smoke run of notebook 03 (metrics.json); each can fail."""
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

NAME = "03_autoencoder"
PCA_2_CLAIM = "the 2-D autoencoder reconstructs the test images better than PCA-2"
# claims that need more than the smoke profile gives: 300 steps a fix run, DIM 100 in the sweep
NOT_AT_SMOKE_SCALE = ("on MNIST digits, a linear code escapes the DIM-3 plateau", "on MNIST digits, at DIM 100, PCA-100 beats the autoencoder")


@pytest.fixture(scope="module")
def m(smoke_metrics):
    return smoke_metrics(NAME)


@pytest.fixture(scope="module")
def record(m):
    # the whole metrics.json (claims, params), written by the same smoke run as ``m``
    return json.loads((ROOT / "runs" / "smoke" / NAME / "metrics.json").read_text())


def test_keys(m):
    for key in ("mse_by_dim", "pca_mse_by_dim", "mse_2d", "epochs", "mean_image_mse", "seed_dim3_mse",
                "seed_table", "seed_dim100_mse", "seed_dim3_saturation_step", "width_mse", "knn5_2d"):
        assert key in m
    assert set(m["mse_by_dim"]) == set(m["pca_mse_by_dim"])
    assert m["mse_2d"] == m["mse_by_dim"]["2"]


def test_the_original_posts_table_has_its_three_dims_per_epoch(m):
    # "seed_table": the original post's recipe rerun (the key predates the course's wording)
    assert set(m["seed_table"]) == {"100", "50", "3"}
    for dim, by_epoch in m["seed_table"].items():
        assert [int(e) for e in by_epoch] == list(range(1, len(by_epoch) + 1)), dim
        assert all(0 < v < 0.2 for v in by_epoch.values()), dim
    assert m["seed_dim100_mse"] == m["seed_table_test_mse"]["100"][str(len(m["seed_table"]["100"]))]


def test_the_posts_dim3_collapses_and_dim100_does_not(m):
    # even in the smoke run's first 100 steps the tanh code saturates and the encoder's gradient dies
    assert m["seed_dim3_saturated"] > 0.9
    assert m["seed_dim3_saturation_step"] is not None
    grad = m["seed_dim3_encoder_grad"]
    assert grad["last_steps"] < grad["first_steps"] / 100
    assert m["seed_dim100_mse"] < m["mean_image_mse"]


def test_claims_are_recorded_as_booleans(record):
    claims = record["claims"]
    assert claims, "the notebook records its claims"
    assert all(isinstance(held, bool) for held in claims.values()), claims
    assert set(claims) <= set(record["claim_details"]), "each claim keeps the numbers behind it"
    assert len(claims) + len(record["not_checked"]) == 5, "five claims, each checked or said why not"
    assert PCA_2_CLAIM in claims


def test_claims_beyond_the_smoke_scale_are_not_checked_not_true(record):
    for start in NOT_AT_SMOKE_SCALE:
        assert any(start in text for text in record["not_checked"]), start
        assert not any(start in text for text in record["claims"]), start
    assert all(why for why in record["not_checked"].values()), "each unchecked claim says why"


def test_2d_autoencoder_beats_pca_2_on_the_same_data(m):
    assert m["mse_2d"] < m["pca_mse_by_dim"]["2"]


def test_2d_autoencoder_beats_the_mean_image(m):
    assert m["mse_2d"] < 0.85 * m["mean_image_mse"]


def test_2d_code_knows_the_classes_above_chance(m):
    assert m["knn5_2d"] > 0.3


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


def test_an_undertrained_2d_autoencoder_loses_to_pca_2(counterfactual):
    # Two epochs of the fixed recipe instead of the smoke's ten: the 2-D model gets below 90% of the mean image's
    # error (its health check passes) but not below PCA-2's. The notebook runs to the end (papermill raises if a
    # cell fails) and records the finding as false. The width comparison is skipped for time.
    record = counterfactual(NAME, epochs=2, wide_hidden=0)
    assert record["claims"][PCA_2_CLAIM] is False, record["claim_details"][PCA_2_CLAIM]
    assert record["metrics"]["mse_2d"] > record["metrics"]["pca_mse_by_dim"]["2"]
