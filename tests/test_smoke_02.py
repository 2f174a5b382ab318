"""Checks on the smoke run of notebook 02 (a hand-trained linear classifier, the MLP and a small
CNN): 1,000 training images of the embedded sample, 10 MLP epochs of batch 32 (320 plain-SGD
steps, not the original post's 9,380, so the claim against 1-NN is not checked), 1 Adam epoch for
the CNN and the MLP trained alike (so the claim between them is not checked either). The numbers
only need to show that the models learnt something and that the recipe was followed. The
notebook's appendix asserts that its hand-written SGD loop gives the same weights as
``training.fit``: a smoke run that finishes has passed that check."""
import json
import math
from pathlib import Path

import pytest

SMOKE = Path(__file__).resolve().parents[1] / "runs" / "smoke"
NAME = "02_mlp_classifier"
KEYS = ("mlp_test_acc", "cnn_test_acc", "lr", "epochs", "train_seconds", "mlp_train_acc", "mlp_steps",
        "lr_suggested", "acc_1nn", "acc_mean_l1", "acc_mean_l2", "linear_test_acc", "mlp_test_acc_at_min_loss",
        "min_test_loss_epoch", "mcnemar_z", "mlp_adam_test_acc", "right_mlp_only", "right_1nn_only")


@pytest.fixture(scope="module")
def m(smoke_metrics):
    return smoke_metrics(NAME)


def test_metrics_has_the_issue_keys(m):
    missing = [k for k in KEYS if k not in m]
    assert not missing, f"metrics.json lacks {missing}"


def test_recipe_and_sizes(m):
    assert m["dataset"] == "mnist-sample"
    assert m["n_train"] == 1000
    assert m["n_test"] == 1000
    assert m["epochs"] == 10
    assert m["mlp_steps"] == 10 * math.ceil(1000 / 32)
    assert len(m["mlp_test_acc_per_epoch"]) == m["epochs"]
    assert m["mlp_params"] == 784 * 250 + 250 + 250 * 50 + 50 + 50 * 10 + 10  # the original post's 784-250-50-10
    assert 1 <= m["min_test_loss_epoch"] <= m["epochs"]


def test_learning_rate_comes_from_the_finder(m):
    # no lr parameter in the smoke profile: the range test's suggestion is used, and it is a
    # sensible rate for plain SGD on this MLP, not the edge of the range it scanned (1e-4 to 10)
    assert m["lr"] == m["lr_suggested"]
    assert 1e-2 < m["lr"] < 3.0


def test_every_model_learns(m):
    assert m["linear_test_acc"] > 0.6  # chance is 0.10
    assert m["mlp_test_acc"] > 0.6
    assert m["mlp_train_acc"] > 0.8
    assert m["cnn_test_acc"] > 0.6
    assert m["mlp_adam_test_acc"] > 0.3  # one Adam epoch of 32 steps
    assert m["mlp_test_acc_per_epoch"][-1] > m["mlp_test_acc_per_epoch"][0] - 0.05


def test_timings_are_real(m):
    assert math.isfinite(m["train_seconds"]) and m["train_seconds"] > 0


def test_every_claim_is_recorded(smoke_metrics):
    # the smoke profile's claims are recorded, not asserted: at 320 steps "the MLP beats both
    # nearest-mean rules" came out 78.0% against 78.2% on an AMD EPYC, a ✗ in the notebook, not a failure here
    smoke_metrics(NAME)
    record = json.loads((SMOKE / NAME / "metrics.json").read_text())
    claims, not_checked = record["claims"], record["not_checked"]
    assert len(claims) >= 2, claims
    assert all(isinstance(held, bool) for held in claims.values()), claims
    assert any("nearest-mean" in text for text in claims), claims
    # the hand loop against training.fit is an assertion in the appendix, not a claim
    assert not any("training.fit" in text for text in claims)
    # 320 steps, fewer than the original post's 9,380: the claim against 1-NN is not checked, and not listed as checked
    assert not any("1-NN" in text for text in claims)
    assert any("1-NN" in text for text in not_checked), not_checked
    # 320 steps and 1 Adam epoch: the claim between the CNN and the MLP is not checked either
    assert not any("CNN" in text for text in claims)
    assert any("CNN" in text for text in not_checked), not_checked


def test_a_claim_can_fail(counterfactual):
    # two epochs (64 SGD steps; `-p epochs=2` of issue 22): the MLP is still learning and falls
    # behind nearest mean under L2 (60% against 78% here); the notebook runs to the end (an
    # under-trained model is not a degenerate one) and records the finding as false
    record = counterfactual(NAME, epochs=2)
    assert record["metrics"]["epochs"] == 2  # it ran to the record cell: no health check stopped it
    text = "the MLP beats both nearest-mean rules of notebook 01 on the same test images"
    assert record["claims"][text] is False, record["claim_details"][text]
