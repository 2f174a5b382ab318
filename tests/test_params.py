"""course_lib.params.check: each bad value gives a one-line ValueError naming the parameter."""
import math
from typing import Optional

import pytest

from course_lib import params


def cell(tmp_path, **overrides):
    """A notebook's namespace after its typed parameters cell (and papermill's overrides)."""
    ns = {
        "__annotations__": {"dataset": str, "seed": int, "threads": int, "batch_size": int, "n_train": Optional[int],
                            "device": str, "progress": bool, "output_dir": str, "epochs": int, "lr": float,
                            "dims": list[int], "fractions": list[float], "optimizer": str, "note": str},
        "dataset": "auto", "seed": 0, "threads": 2, "batch_size": 64, "n_train": None, "device": "auto",
        "progress": True, "output_dir": str(tmp_path / "out"), "epochs": 3, "lr": 1e-3, "dims": [2, 3],
        "fractions": [0.0, 0.5, 1], "optimizer": "adam", "note": "x",
    }
    return {**ns, **overrides}


RULES = dict(lr=(1e-6, 1.0), dims=(1, 784), fractions=(0.0, 1.0), optimizer={"adam", "sgd"})


def test_good_values_pass_and_are_kept(tmp_path):
    values = params.check(cell(tmp_path), **RULES)
    assert values["lr"] == 1e-3 and values["dims"] == [2, 3]
    assert not (tmp_path / "out").exists()  # check only reads: session.start makes output_dir


@pytest.mark.parametrize("key,value,words", [
    ("dataset", "mnits", "dataset must be one of"),
    ("seed", -1, "seed must be in [0, 4294967295]"),
    ("seed", 2**32, "seed must be in [0, 4294967295]"),
    ("seed", 1.5, "seed must be an integer"),
    ("batch_size", 0, "batch_size must be in"),
    ("batch_size", 2.5, "batch_size must be an integer"),
    ("n_train", 5, "n_train must be in"),
    ("device", "tpu", "device must be one of"),
    ("progress", "yes", "progress must be True or False"),
    ("output_dir", "", "output_dir must be a non-empty string"),
    ("epochs", 0, "epochs must be in"),
    ("threads", True, "threads must be an integer"),
    ("lr", math.nan, "lr must be a finite number"),
    ("lr", math.inf, "lr must be a finite number"),
    ("lr", -math.inf, "lr must be a finite number"),
    ("lr", 2.0, "lr must be in [1e-06, 1.0]"),
    ("lr", "0.1", "lr must be a number"),
    ("dims", [2, 0], "each of dims must be in [1, 784]"),
    ("dims", [], "dims must be a non-empty list"),
    ("dims", [2, 2.5], "dims must be an integer"),
    ("fractions", [0.0, math.nan], "fractions must be a finite number"),
    ("fractions", [0.0, math.inf], "fractions must be a finite number"),
    ("optimizer", "adamw", "optimizer must be one of 'adam', 'sgd'"),
])
def test_bad_values_name_the_parameter(tmp_path, key, value, words):
    with pytest.raises(ValueError) as err:
        params.check(cell(tmp_path, **{key: value}), **RULES)
    assert words in str(err.value) and "\n" not in str(err.value)


def test_rules_for_undeclared_names_are_a_mistake(tmp_path):
    with pytest.raises(ValueError, match="does not declare: typo"):
        params.check(cell(tmp_path), typo=(0, 1))


def test_a_rule_can_be_a_function(tmp_path):
    def even(name, value):
        if value % 2:
            raise ValueError(f"{name} must be even; got {value}")
    params.check(cell(tmp_path, epochs=4), epochs=even)
    with pytest.raises(ValueError, match="epochs must be even"):
        params.check(cell(tmp_path, epochs=3), epochs=even)
