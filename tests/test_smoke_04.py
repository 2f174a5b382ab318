"""Checks on the smoke run of notebook 04 (metrics.json); each can fail."""
import math

import pytest

NAME = "04_vae_visualisation"
KEYS = ("test_elbo", "recon_mse", "kl", "silhouette_vae", "silhouette_ae", "knn5_acc_vae", "knn5_acc_ae",
        "trust_vae", "trust_ae", "auc_ae", "auc_vae", "beta", "epochs", "sample_pixel_std")


@pytest.fixture(scope="module")
def m(smoke_metrics):
    return smoke_metrics(NAME)


def test_keys_present_and_finite(m):
    for key in KEYS:
        assert key in m, key
        assert m[key] is not None and math.isfinite(m[key]), key


def test_elbo_is_a_negative_log_likelihood_bound_of_plausible_size(m):
    # nats per 784-pixel image under a Bernoulli decoder: negative, and not absurd
    assert -600 < m["test_elbo"] < 0
    for row in m["compare"].values():
        assert -600 < row["test_elbo"] < 0


def test_per_image_scaling_keeps_the_code_alive(m):
    # the ELBO-form loss uses its code; the seed's batch-summed KL collapses it
    per_image = m["compare"]["BCE, per image"]
    seed_scaled = m["compare"]["MSE, seed scaling"]
    assert per_image["kl"] > 1.0
    assert per_image["active_dims"] == 2
    assert seed_scaled["kl"] < 0.1 * per_image["kl"]


def test_vae_samples_are_not_constant_images(m):
    assert m["compare"]["BCE, per image"]["sample_pixel_std"] > 0.03
    assert m["compare"]["MSE, per image"]["sample_pixel_std"] > 0.03


def test_per_image_vae_beats_the_collapsed_one_on_the_elbo(m):
    assert m["compare"]["BCE, per image"]["test_elbo"] > m["compare"]["BCE, seed scaling"]["test_elbo"]


def test_anomaly_detection_beats_chance_under_strong_corruption(m):
    assert m["auc_ae"] > 0.9
    assert m["auc_vae"] > 0.9
    assert m["auc_chained"] > 0.9


def test_embedding_scores_in_range_and_ae_beats_chance(m):
    for key in ("trust_ae", "trust_vae"):
        assert 0.0 <= m[key] <= 1.0
    for key in ("silhouette_ae", "silhouette_vae"):
        assert -1.0 <= m[key] <= 1.0
    assert m["knn5_acc_ae"] > 0.3  # chance is 0.1
    assert m["trust_ae"] > 0.6
