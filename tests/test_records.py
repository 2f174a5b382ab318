import json
import math

import numpy as np
import torch

from course_lib import data, records, session


def test_record_writes_params_data_versions_and_numbers(tmp_path):
    session.start(seed=0, threads=1, device="cpu")
    test = data.load("mnist-sample", "test")
    path = records.record({"acc": torch.tensor(0.5), "per_class": np.arange(3) / 2, "bad": math.nan, "by_dim": {2: 0.1}},
                          str(tmp_path / "nb"), params={"seed": 0}, data=[test], device="cpu")
    saved = json.loads(path.read_text())
    assert saved["metrics"] == {"acc": 0.5, "per_class": [0.0, 0.5, 1.0], "bad": None, "by_dim": {"2": 0.1}}
    assert saved["params"] == {"seed": 0} and saved["data"][0]["n"] == 1000
    assert saved["torch"] == torch.__version__ and saved["device"] == "cpu" and saved["seconds"] >= 0
    assert records.read(str(tmp_path / "nb"))["metrics"]["acc"] == 0.5
