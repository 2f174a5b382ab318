"""Notebook 06 under the smoke profile: the metrics it records, with checks that can fail."""
import json
import math
from pathlib import Path

NAME = "06_transformer_dataset_similarity"
METHODS = ("KL, equal bins (seed)", "KL, quantile bins", "MMD² codes", "MMD² pixels")


def test_06_records_every_key_the_issue_names(smoke_metrics):
    m = smoke_metrics(NAME)
    for key in ("pixel_loss_first", "pixel_loss_last", "pixel_train_steps", "kl_pixel_tokens", "p_value_pixel_tokens",
                "false_alarm_rate", "n_null_replicates", "power", "sec_per_epoch_pixel_tokens",
                "sec_per_epoch_patch_tokens", "kl_uci", "pair_distances", "speedup_patch_vs_pixel",
                "time_split_pixel_step", "attention_share", "embedding_share"):
        assert key in m, key
    assert m["speedup_patch_vs_pixel"] == m["sec_per_epoch_pixel_tokens"] / m["sec_per_epoch_patch_tokens"]
    assert math.isfinite(m["kl_uci"]) and m["kl_uci"] >= 0
    claims = json.loads((Path(__file__).resolve().parents[1] / "runs" / "smoke" / NAME / "metrics.json").read_text())["claims"]
    assert len(claims) >= 4 and all(claims.values()), claims


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
        assert lo <= 0.05 + 1e-12  # no test is anti-conservative, even at smoke size
        assert all(0 <= v <= 1 for v in m["power"][method].values())
    # noise images in 40% of Q are plain to see on raw pixels, even at smoke size
    assert m["power"]["MMD² pixels"]["0.4"] >= 0.8


def test_06_time_split_and_speed(smoke_metrics):
    m = smoke_metrics(NAME)
    assert m["attention_share"] > m["embedding_share"]
    assert abs(sum(m["time_split_pixel_step"].values()) * m["attention_share"]
               - m["time_split_pixel_step"]["self-attention, 6 layers"]) < 1e-9
    assert m["sec_per_epoch_patch_tokens"] < m["sec_per_epoch_pixel_tokens"]
    assert m["sec_per_epoch_by_tokens"]["785"] == m["sec_per_epoch_pixel_tokens"]


def test_06_real_pairs_are_compared(smoke_metrics):
    pairs = smoke_metrics(NAME)["pair_distances"]
    assert any(name.endswith("test") for name in pairs) and any("uci-digits" in name for name in pairs)
    for d in pairs.values():
        assert d["mmd2_pixels"] >= 0 and 0 < d["p_mmd2_pixels"] <= 1
