"""Notebook 06 under the smoke profile: the metrics it records, with checks that can fail."""
import json
import math
from pathlib import Path

import pytest

NAME = "06_transformer_dataset_similarity"
METHODS = ("KL, equal bins (seed)", "KL, quantile bins", "MMD² codes", "MMD² pixels")
CLAIMS = ("At 40% randomised, the seed's pixel-token code logits tell Q from P",  # the start of each claim's text
          "The quantile-bin KL and both MMD² tests raise no false alarms",
          "MMD² on raw pixels reaches power 0.8")


def smoke_record(smoke_metrics) -> dict:
    smoke_metrics(NAME)  # runs the smoke profile if it has not run
    return json.loads((Path(__file__).resolve().parents[1] / "runs" / "smoke" / NAME / "metrics.json").read_text())


def test_06_records_every_key_the_issue_names(smoke_metrics):
    m = smoke_metrics(NAME)
    for key in ("pixel_loss_first", "pixel_loss_last", "pixel_train_steps", "kl_pixel_tokens", "p_value_pixel_tokens",
                "false_alarm_rate", "n_null_replicates", "power", "sec_per_epoch_pixel_tokens",
                "sec_per_epoch_patch_tokens", "kl_uci", "pair_distances", "speedup_patch_vs_pixel",
                "time_split_pixel_step", "attention_share", "embedding_share"):
        assert key in m, key
    assert m["speedup_patch_vs_pixel"] == pytest.approx(m["sec_per_epoch_pixel_tokens"] / m["sec_per_epoch_patch_tokens"])
    assert math.isfinite(m["kl_uci"]) and m["kl_uci"] >= 0


def test_06_records_its_claims_as_findings(smoke_metrics):
    record = smoke_record(smoke_metrics)
    claims, not_checked = record["claims"], record["not_checked"]
    assert all(isinstance(held, bool) for held in claims.values()), claims
    for start in CLAIMS:  # every claim applies at smoke scale (40% of Q randomised; raw pixels reach power 0.8)
        assert sum(text.startswith(start) for text in claims) == 1, (start, claims)
    assert not not_checked, not_checked
    assert set(record["claim_details"]) == set(claims)


def test_06_our_implementations_equal_the_libraries(smoke_metrics):
    m = smoke_metrics(NAME)
    assert m["pixel_model_gap_to_library"] < 1e-5  # the notebook's SeedTransformer is course_lib's PixelTokenAE
    assert m["kl_gap_to_library"] < 1e-9  # its histogram KL is course_lib's code_kl and scipy's entropy
    assert m["permutation_test_matches_library"]  # its permutation test draws course_lib's re-splits
    assert m["mmd2_gap_to_library"] < 1e-9  # its MMD² is scikit-learn's rbf_kernel and course_lib's U-statistic
    assert m["mmd2_fast_path_matches_ours"]  # course_lib's one-matrix MMD² test gives its null


def test_06_the_seeds_model_trains_and_its_experiment_is_reported(smoke_metrics):
    m = smoke_metrics(NAME)
    assert m["pixel_train_steps"] >= 10
    assert m["pixel_loss_last"] < 0.8 * m["pixel_loss_first"]
    assert m["kl_pixel_tokens"] >= 0 and 0 < m["p_value_pixel_tokens"] <= 1
    assert m["kl_quantile_pixel_tokens"] > 0 and 0 < m["p_value_quantile_pixel_tokens"] <= 1


def test_06_false_alarms_and_power_come_from_many_replicates(smoke_metrics):
    m = smoke_metrics(NAME)
    assert m["n_null_replicates"] >= 200
    assert set(m["false_alarm_rate"]) == set(METHODS) == set(m["power"])
    for method in METHODS:
        lo, hi = m["false_alarm_interval"][method]
        assert 0 <= lo <= m["false_alarm_rate"][method] <= hi <= 1
        assert m["false_alarm_rate"][method] <= 0.15  # far above alpha = 0.05 would be a broken test
        assert all(0 <= v <= 1 for v in m["power"][method].values())
    # the raw-pixel test involves no trained model, so no CPU moves it: not anti-conservative, even at smoke size
    assert m["false_alarm_interval"]["MMD² pixels"][0] <= 0.05 + 1e-12
    # noise images in 40% of Q are plain to see on raw pixels, even at smoke size
    assert m["power"]["MMD² pixels"]["0.4"] >= 0.8


def test_06_time_split_and_speed(smoke_metrics):
    m = smoke_metrics(NAME)
    assert m["attention_share"] > m["embedding_share"]
    assert abs(sum(m["time_split_pixel_step"].values()) * m["attention_share"]
               - m["time_split_pixel_step"]["self-attention, 6 layers"]) < 1e-9
    assert m["sec_per_epoch_patch_tokens"] < m["sec_per_epoch_pixel_tokens"]
    assert m["sec_per_epoch_by_tokens"]["785"] == m["sec_per_epoch_pixel_tokens"]
    assert m["grad_reaching_embedding"] < 1e-12  # the width-2 layer norms pass back almost nothing


def test_06_real_pairs_are_compared(smoke_metrics):
    pairs = smoke_metrics(NAME)["pair_distances"]
    assert any(name.endswith("test") for name in pairs) and any("uci-digits" in name for name in pairs)
    for d in pairs.values():
        assert d["mmd2_pixels"] >= 0 and 0 < d["p_mmd2_pixels"] <= 1


def test_06_a_claim_fails_when_almost_nothing_is_randomised(counterfactual):
    """At 1% randomised (one item of the smoke profile's 100), the pixel-token codes no longer tell Q from P:
    the claim is recorded as false, and the notebook still runs to the end."""
    record = counterfactual(NAME, fraction=0.01)
    found = [text for text in record["claims"] if text.startswith("At 1% randomised, the seed's pixel-token code logits")]
    assert len(found) == 1, record["claims"]
    assert record["claims"][found[0]] is False, record["claim_details"][found[0]]
    assert "pair_distances" in record["metrics"] and "power" in record["metrics"]  # it ran to its record cell
