"""Notebook 06 under the smoke profile: the metrics it records, with checks that can fail."""
import math

NAME = "06_transformer_dataset_similarity"


def test_06_records_every_key_the_issue_names(smoke_metrics):
    m = smoke_metrics(NAME)
    for key in ("kl_by_fraction", "p_value_by_fraction", "mmd_by_fraction", "sec_per_epoch_pixel_tokens",
                "sec_per_epoch_patch_tokens", "kl_uci", "pair_distances", "speedup_patch_vs_pixel"):
        assert key in m, key
    assert m["speedup_patch_vs_pixel"] == m["sec_per_epoch_pixel_tokens"] / m["sec_per_epoch_patch_tokens"]
    assert all(math.isfinite(v) and v >= 0 for v in m["kl_by_fraction"].values())
    assert all(0 < p <= 1 for p in m["p_value_by_fraction"].values())
    assert math.isfinite(m["kl_uci"]) and m["kl_uci"] >= 0


def test_06_distance_grows_with_contamination(smoke_metrics):
    m = smoke_metrics(NAME)
    # the seed's equal bins can miss a code crowded into one bin (then both are 0): never less
    assert m["kl_by_fraction"]["1.0"] >= m["kl_by_fraction"]["0.0"]
    assert m["kl_quantile_by_fraction"]["1.0"] > m["kl_quantile_by_fraction"]["0.0"]
    assert m["mmd_by_fraction"]["1.0"] > m["mmd_by_fraction"]["0.0"]
    assert m["mmd_codes_by_fraction"]["1.0"] > m["mmd_codes_by_fraction"]["0.0"]
    # an image of pure noise in every item of Q is plain to see on raw pixels, even at smoke size
    assert m["p_value_mmd_by_fraction"]["1.0"] < 0.05


def test_06_patch_tokens_are_faster_than_pixel_tokens(smoke_metrics):
    m = smoke_metrics(NAME)
    assert m["sec_per_epoch_patch_tokens"] < m["sec_per_epoch_pixel_tokens"]
    assert m["sec_per_epoch_by_tokens"]["785"] == m["sec_per_epoch_pixel_tokens"]


def test_06_real_pairs_are_compared(smoke_metrics):
    pairs = smoke_metrics(NAME)["pair_distances"]
    assert any(name.endswith("test") for name in pairs) and any("uci-digits" in name for name in pairs)
    for d in pairs.values():
        assert d["mmd2_pixels"] >= 0 and 0 < d["p_mmd2_pixels"] <= 1
