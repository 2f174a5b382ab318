"""The summaries' "this run beside ten seeds" table (course_lib.seeds) and the committed sweep table."""
import csv

import pytest

from course_lib import seeds
from course_lib.tooling.checkout import notebooks


def write(path, rows):
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["notebook", "seed", "profile", "dataset", "metric", "value"])
        w.writeheader()
        w.writerows(rows)
    return path


def test_this_run_beside_the_seeds(tmp_path):
    table = write(tmp_path / "seeds.csv", [
        {"notebook": "02_x", "seed": s, "profile": "default", "dataset": "mnist-sample", "metric": "acc", "value": v}
        for s, v in enumerate([0.90, 0.92, 0.94])] + [
        {"notebook": "03_y", "seed": 0, "profile": "default", "dataset": "mnist-sample", "metric": "acc", "value": 0.1}])
    mine = {"acc": 0.93, "fit": {"loss": 0.5}, "never": float("inf")}
    out = seeds.beside("02_x", {"accuracy": ("acc", ".1%"), "loss": "fit.loss"}, mine, "mnist-sample", table)
    assert out.loc["accuracy"].tolist() == ["93.0%", "92.0% ± 2.0%", "90.0%", "94.0%"]
    assert out.loc["loss", "this run"] == "0.5" and out.loc["loss", "min"] == "not swept"
    assert out.to_string().splitlines()[1].startswith("accuracy")  # no empty header line
    assert out.attrs["caption"] == "this run beside seeds 0-2 of the default profile on mnist-sample"
    other = seeds.beside("02_x", {"accuracy": "acc"}, mine, "fashion-mnist", table)
    assert "not comparable" in other.attrs["caption"]
    missing = seeds.beside("02_x", {"accuracy": "acc"}, mine, "mnist-sample", tmp_path / "none.csv")
    assert "no seed sweep" in missing.attrs["caption"] and missing.loc["accuracy", "this run"] == "0.93"
    assert seeds.beside("02_x", {"limit": "never"}, mine, "mnist-sample", table).loc["limit", "this run"] == "none"
    with pytest.raises(KeyError, match="'acc2' is not a number in this notebook's metrics"):
        seeds.beside("02_x", {"accuracy": "acc2"}, mine, "mnist-sample", table)


@pytest.mark.skipif(not seeds.TABLE.exists(), reason="no committed seed sweep")
def test_the_committed_sweep_covers_ten_seeds_of_every_notebook():
    for name in notebooks():
        by_metric, datasets = seeds.read(name)
        assert by_metric, f"{name} is not in {seeds.TABLE}"
        assert max(len(v) for v in by_metric.values()) == 10 and datasets == {"mnist-sample"}, name
