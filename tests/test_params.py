"""course_lib.params: each bad value gives a one-line ValueError naming the parameter."""
import pytest

from course_lib import params

GOOD = dict(dataset="auto", seed=0, batch_size=64, n_train=None, device="auto", progress=True,
            output_dir="out", epochs=3, threads=2)


def test_good_values_pass():
    params.common(**GOOD)


@pytest.mark.parametrize("key,value,words", [
    ("dataset", "mnits", "dataset must be one of"),
    ("seed", -1, "seed must be in"),
    ("batch_size", 0, "batch_size must be in"),
    ("batch_size", 2.5, "batch_size must be an integer"),
    ("n_train", 5, "n_train must be in"),
    ("device", "tpu", "device must be one of"),
    ("progress", "yes", "progress must be True or False"),
    ("output_dir", "", "output_dir must be a non-empty string"),
    ("epochs", 0, "epochs must be in"),
    ("threads", True, "threads must be an integer"),
])
def test_bad_values_name_the_parameter(key, value, words):
    with pytest.raises(ValueError) as err:
        params.common(**{**GOOD, key: value})
    assert words in str(err.value) and "\n" not in str(err.value)


def test_lists():
    params.integers("dims", [2, 3], 1, 784)
    params.numbers("fractions", [0, 0.5, 1.0], 0, 1)
    with pytest.raises(ValueError, match="dims must be a list"):
        params.integers("dims", [2, 0], 1, 784)
    with pytest.raises(ValueError, match="fractions must be a non-empty list"):
        params.numbers("fractions", [], 0, 1)
