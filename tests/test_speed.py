"""The budgets' factor (course_lib.tooling.speed) on made-up probe times: nothing here is timed.

The runner's tests (tests/test_runner.py) run notebooks under scaled budgets, the real probes
included; these check the arithmetic, the profile's reference: and the one-line failures."""
import pytest
import yaml

from course_lib.tooling import profiles, speed
from course_lib.tooling.errors import RunError

REFERENCE = {"machine": "a made-up reference", "sgemm_s": 0.1, "train_s": 0.4}


def probes(sgemm_s, train_s):
    return {"sgemm_s": sgemm_s, "train_s": train_s, "capability": "AVX2", "threads": 2}


@pytest.mark.parametrize("measured, slowdown, factor", [
    (probes(0.1, 0.4), 1.0, 1.25),    # the reference itself: budgets x the safety factor alone
    (probes(0.2, 0.4), 2.0, 2.5),     # matrix multiplies twice as slow: the slower probe counts
    (probes(0.1, 1.2), 3.0, 3.75),    # training steps three times as slow
    (probes(0.03, 0.1), 0.3, 1.25),   # a faster machine never shrinks a budget
    (probes(0.1234, 0.4), 1.234, 1.54),  # to 2 decimals: 1.234 x 1.25 = 1.5425
])
def test_factor_is_the_slower_probes_ratio_never_below_one_times_safety(measured, slowdown, factor):
    assert speed.slowdown(measured, REFERENCE) == pytest.approx(slowdown)
    assert speed.factor(measured, REFERENCE) == factor


def test_no_reference_keeps_budgets_as_written():
    assert speed.factor(probes(9.0, 9.0), None) == 1.0
    scale = speed.for_profile({"notebooks": {}})
    assert scale["factor"] == 1.0 and "names no reference machine" in scale["line"]


def test_budget_scales_by_this_machines_factor(monkeypatch):
    monkeypatch.setattr(speed, "measure", lambda threads=speed.THREADS: probes(0.15, 0.8))  # 1.5x, 2x
    profile = {"reference": REFERENCE, "notebooks": {"01_a": {"budget_s": 100}, "02_b": {}}}
    scale = speed.for_profile(profile)
    assert scale["factor"] == 2.5 and scale["slowdown"] == 2.0
    assert scale["line"] == ("budgets x2.50: this machine takes 2.00x the time of the reference, a made-up reference "
                             "(sgemm on 2 threads 1.50x, training steps on 1 thread 2.00x; AVX2 here); "
                             "never below 1, x1.25 for safety")
    assert profiles.budget(profile, "01_a") == 250  # this machine's factor by default
    assert profiles.budget(profile, "01_a", 1.0) == 100 and profiles.budget(profile, "01_a", 1.37) == 137
    assert profiles.budget(profile, "02_b") is None and profiles.budget(profile, "03_c") is None


def test_a_probe_that_fails_is_one_line(monkeypatch):
    monkeypatch.setattr(speed, "CHILD", "import sys; sys.exit('torch is missing')")
    speed.measure.cache_clear()
    try:
        with pytest.raises(RunError, match=r"^cannot time this machine for the budgets \(torch is missing\); "
                                           r"rerun with --no-budget$"):
            speed.measure()
    finally:
        speed.measure.cache_clear()


@pytest.mark.parametrize("reference, message", [
    ({"machine": "x", "sgemm_s": 0.1}, "reference must give machine, sgemm_s, train_s"),
    ("a fast one", "reference must give machine, sgemm_s, train_s"),
    ({"machine": "x", "sgemm_s": 0.1, "train_s": 0}, "reference train_s must be a positive number of seconds; got 0"),
    ({"machine": "x", "sgemm_s": "fast", "train_s": 1}, "reference sgemm_s must be a positive number"),
])
def test_a_malformed_reference_is_one_line(tmp_path, reference, message):
    (tmp_path / "params").mkdir()
    (tmp_path / "params" / "mine.yaml").write_text(yaml.safe_dump({"reference": reference, "notebooks": {}}))
    with pytest.raises(RunError, match=f"^profile 'mine': {message}"):
        profiles.load_profile("mine", tmp_path / "params", tmp_path)


@pytest.mark.parametrize("name", ["smoke", "default", "full"])
def test_each_profile_names_its_reference_machine(name):
    profile = profiles.load_profile(name)
    reference = profile["reference"]
    assert "Xeon" in reference["machine"] and "AVX512" in reference["machine"] and "2 threads" in reference["machine"]
    assert all(reference[k] > 0 for k in speed.PROBES)


def test_speed_prints_a_reference_block_a_profile_accepts(monkeypatch):
    monkeypatch.setattr(speed, "measure", lambda threads=speed.THREADS: probes(0.05, 0.2))
    first, *block = speed.report({"reference": REFERENCE}).splitlines()
    assert first.startswith("budgets x1.25: this machine takes 0.50x the time of the reference")
    reference = yaml.safe_load("\n".join(block))["reference"]
    assert reference["sgemm_s"] == 0.05 and reference["train_s"] == 0.2
    assert "-core " in reference["machine"] and "(AVX2), 2 threads" in reference["machine"]
    profiles.check_reference("mine", reference)  # no error
