"""This run beside ten seeds: how much a notebook's numbers move when only the seed changes.

``benchmarks/seeds.csv`` holds every number that each notebook's default profile recorded
under seeds 0-9 (written by ``python -m course_lib sweep``; see README, "Seed sweeps").
A summary prints its headline numbers with :func:`beside`, from the ``metrics`` it records:

    seeds.beside("02_mlp_classifier", {"MLP test accuracy": ("mlp_test_acc", ".1%")}, metrics, train.name)

A number of this run far outside the seeds' min-max says that a parameter, the data or
the machine differ from the sweep's, not that the finding is new.
"""
from __future__ import annotations

import csv
import math
import statistics
from pathlib import Path

import pandas as pd

from .records import numbers

TABLE = Path(__file__).resolve().parent.parent / "benchmarks" / "seeds.csv"


def read(notebook: str, table: Path = TABLE) -> tuple[dict[str, dict[int, float]], set[str]]:
    """({metric: {seed: value}}, the datasets) of ``notebook``'s rows in the sweep table."""
    by_metric: dict[str, dict[int, float]] = {}
    datasets = set()
    with open(table, newline="") as f:
        for row in csv.DictReader(f):
            if row["notebook"] == notebook and row.get("profile", "default") == "default":
                by_metric.setdefault(row["metric"], {})[int(row["seed"])] = float(row["value"])
                datasets.add(row["dataset"])
    return by_metric, datasets


def beside(notebook: str, headlines: dict[str, str | tuple[str, str]], metrics: dict, dataset: str,
           table: Path = TABLE) -> pd.DataFrame:
    """A table with a row for each ``label: metric`` (or ``label: (metric, format spec)``, default
    ``".4g"``): this run's value (from ``metrics``, nested keys joined by dots as in
    ``knn_seconds.l1``), then the metric's mean ± sd, min and max over the sweep's seeds.
    Its ``attrs["caption"]`` says which seeds and data those are, and warns when this run's
    data are not the sweep's."""
    try:
        by_metric, datasets = read(notebook, table)
    except FileNotFoundError:
        by_metric, datasets = {}, set()
    mine = numbers(metrics, finite=False)
    rows = []
    for label, spec in headlines.items():
        metric, fmt = (spec, ".4g") if isinstance(spec, str) else spec
        if metric not in mine:
            raise KeyError(f"{metric!r} is not a number in this notebook's metrics; they are: {', '.join(mine)}")
        seen = list(by_metric.get(metric, {}).values())
        value = mine[metric]
        row = {"": label, "this run": format(value, fmt) if math.isfinite(value) else "none"}
        if len(seen) > 1:
            row.update({f"{len(seen)} seeds: mean ± sd": f"{statistics.fmean(seen):{fmt}} ± {statistics.stdev(seen):{fmt}}",
                        "min": format(min(seen), fmt), "max": format(max(seen), fmt)})
        rows.append(row)
    out = pd.DataFrame(rows).set_index("").fillna("not swept")
    out.index.name = None  # no empty header line under the column names
    seeds = sorted({s for m in by_metric.values() for s in m})
    if not seeds:
        out.attrs["caption"] = f"no seed sweep of {notebook} in {table}: run `python -m course_lib sweep` (README)"
    else:
        out.attrs["caption"] = (f"this run beside seeds {seeds[0]}-{seeds[-1]} of the default profile on "
                                f"{', '.join(sorted(datasets))}"
                                + ("" if dataset in datasets else
                                   f"; this run is on {dataset}, so its numbers are not comparable with the seeds'"))
    return out


def show(table: pd.DataFrame) -> None:
    """Print :func:`beside`'s table under its caption."""
    print(table.attrs.get("caption", ""))
    print(table.to_string())
