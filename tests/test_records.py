import json
import math

import numpy as np
import torch

from course_lib import data, records


def test_write_keeps_numbers_claims_params_data_and_versions(tmp_path):
    test = data.load("mnist-sample", "test")
    (tmp_path / "nb").mkdir()
    path = records.write(tmp_path / "nb", {"acc": torch.tensor(0.5), "per_class": np.arange(3) / 2, "bad": math.nan,
                                           "by_dim": {2: 0.1}},
                         claims={"a": True, "b": np.bool_(False)}, details={"b": "0.4 < 0.5"},
                         not_checked={"c": "other data"}, params={"seed": 0}, data=[test], device="cpu", seconds=1.234)
    saved = json.loads(path.read_text())
    assert saved["metrics"] == {"acc": 0.5, "per_class": [0.0, 0.5, 1.0], "bad": None, "by_dim": {"2": 0.1}}
    assert saved["claims"] == {"a": True, "b": False} and saved["not_checked"] == {"c": "other data"}
    assert saved["params"] == {"seed": 0} and saved["data"][0]["n"] == 1000
    assert saved["torch"] == torch.__version__ and saved["device"] == "cpu" and saved["seconds"] == 1.23
    assert records.read(tmp_path / "nb")["metrics"]["acc"] == 0.5
    assert records.false_claims(saved) == {"b": "0.4 < 0.5"}
