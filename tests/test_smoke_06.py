"""Notebook 06 under the smoke profile: the metrics it records, with checks that can fail."""
import json
from pathlib import Path

NAME = "06_transformer_dataset_similarity"
TESTS = ("mean brightness", "KL, original model", "MMD², original model", "MMD², patch model", "MMD², pixels")
CLAIMS = ("the original post's model does not beat P's mean row",  # the start of each claim's text
          "on noise at share",  # 0.05 in the default profile
          "on MNIST digits, mean brightness has more power on noise than every other test",
          "on rotated digits at share")


def smoke_record(smoke_metrics) -> dict:
    smoke_metrics(NAME)  # runs the smoke profile if it has not run
    return json.loads((Path(__file__).resolve().parents[1] / "runs" / "smoke" / NAME / "metrics.json").read_text())


def test_06_records_every_key_the_summary_reads(smoke_metrics):
    m = smoke_metrics(NAME)
    for key in ("pixel_loss_first", "pixel_loss_last", "pixel_train_steps", "pixel_mean_row_mse", "kl_pixel_tokens",
                "p_value_pixel_tokens", "p_value_quantile_pixel_tokens", "false_alarms", "false_alarm_intervals",
                "n_null_replicates", "power_by_shift", "power_08_from", "weights_moved", "sec_per_epoch_pixel_tokens",
                "sec_per_epoch_patch_tokens", "speedup_patch_vs_pixel", "time_split_pixel_step", "attention_share",
                "embedding_share", "tokens_exponent"):
        assert key in m, key
    assert abs(m["speedup_patch_vs_pixel"] - m["sec_per_epoch_pixel_tokens"] / m["sec_per_epoch_patch_tokens"]) < 1e-9


def test_06_records_its_claims_as_findings(smoke_metrics):
    record = smoke_record(smoke_metrics)
    claims = {**record["claims"], **record["not_checked"]}
    for start in CLAIMS:
        assert sum(text.startswith(start) for text in claims) == 1, (start, list(claims))
    assert all(isinstance(held, bool) for held in record["claims"].values()), record["claims"]


def test_06_our_implementations_equal_the_libraries(smoke_metrics):
    m = smoke_metrics(NAME)
    assert m["pixel_model_gap_to_library"] < 1e-5  # the notebook's PostTransformer is course_lib's PixelTokenAE
    assert m["kl_gap_to_library"] < 1e-9  # its all-splits-at-once KL is course_lib's code_kl and scipy's entropy
    assert m["mmd2_gap_to_library"] < 1e-6  # its w'Kw is course_lib's rbf_mmd2 (float32 kernel against float64)


def test_06_the_original_model_trains_only_its_top(smoke_metrics):
    m = smoke_metrics(NAME)
    assert m["pixel_train_steps"] >= 10
    assert m["pixel_loss_last"] < 0.8 * m["pixel_loss_first"]
    moved = m["weights_moved"]
    assert moved["decoder"] > 1e3 * moved["embedding"]  # the decoder learns; the embedding keeps its start
    assert m["kl_pixel_tokens"] >= 0 and 0 < m["p_value_pixel_tokens"] <= 1


def test_06_false_alarms_and_power_come_from_many_replicates(smoke_metrics):
    m = smoke_metrics(NAME)
    assert m["n_null_replicates"] >= 200
    assert set(m["false_alarms"]) == set(TESTS)
    for name in TESTS:
        lo, hi = m["false_alarm_intervals"][name]
        assert 0 <= lo <= m["false_alarms"][name] <= hi <= 1
        assert m["false_alarms"][name] <= 0.15  # far above alpha = 0.05 would be a broken test
        for kind in ("noise", "rotation"):
            assert all(0 <= v <= 1 for v in m["power_by_shift"][kind][name].values())
    # noise images in 40% of Q' are plain to see in the brightness, even at smoke size
    assert m["power_by_shift"]["noise"]["mean brightness"]["0.4"] >= 0.8


def test_06_time_split_and_speed(smoke_metrics):
    m = smoke_metrics(NAME)
    assert abs(sum(m["time_split_pixel_step"].values()) * m["attention_share"]
               - m["time_split_pixel_step"]["self-attention, 6 layers"]) < 1e-9
    assert m["sec_per_epoch_patch_tokens"] < m["sec_per_epoch_pixel_tokens"]
    assert m["sec_per_step_by_tokens"]["785"] == m["sec_per_step_pixel_tokens"]


def test_06_a_claim_fails_when_every_share_is_large(counterfactual):
    """With 30% of Q' the smallest share, every test sees the noise images: mean brightness no longer has more power
    than the others at the smallest share, so that claim is recorded as false, and the notebook runs to the end."""
    record = counterfactual(NAME, fractions=[0.3, 0.4])
    found = [text for text in record["claims"] if text.startswith("on MNIST digits, mean brightness has more power")]
    assert len(found) == 1, record["claims"]
    assert record["claims"][found[0]] is False, record["claim_details"][found[0]]
    assert "power_by_shift" in record["metrics"] and "tokens_exponent" in record["metrics"]  # it ran to its last cell
