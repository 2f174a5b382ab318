"""``python -m course_lib sweep`` on a throwaway course of tiny notebooks, on a 2-worker LocalCluster.

The notebooks (built as in test_runner.py) record two claims, one with a margin that falls
with the seed, and fail for seed 1 while a flag file exists, so one sweep shows a failed
task recorded while the others finish, and a second one shows the resume.
"""
import contextlib
import csv
import io
import json
import os

import pytest
import yaml

from course_lib import records
from course_lib.tooling import cli, profiles, sweep
from course_lib.tooling.errors import RunError
from test_runner import make_notebook

PARAMETERS = """\
seed: int = 0             # random seed
threads: int = 2          # CPU threads
scale: int = 2            # a number the metrics grow with
fail_if: str = "none"     # a file: while it exists, seed 1 fails
output_dir: str = "out"   # where metrics.json goes
"""

BODY = """\
import json, pathlib
if seed == 1 and pathlib.Path(fail_if).exists():
    raise ValueError(f"seed {seed} was told to fail")
out = pathlib.Path(output_dir); out.mkdir(parents=True, exist_ok=True)
accuracy, margin = 0.5 + 0.1 * seed, 0.1 - 0.1 * seed
record = {"metrics": {"accuracy": accuracy, "scale": scale}, "device": "cpu", "threads": threads,
          "claims": {"accuracy beats 0.45": accuracy > 0.45, "the margin is positive": margin > 0},
          "claim_details": {"the margin is positive": f"margin={margin:.2f}"},
          "claim_margins": {"the margin is positive": margin}, "not_checked": {"scale is prime": "not asked"}}
(out / "metrics.json").write_text(json.dumps(record))
"""


def make_course(root, names=("01_a", "02_b")) -> dict:
    """Tiny notebooks and a profile ``tiny`` (threads: 1, as in smoke); returns sweep()'s folder arguments."""
    for name in names:
        make_notebook(root / "notebooks" / f"{name}.ipynb", PARAMETERS, BODY, figure=False)
    (root / "params").mkdir(parents=True, exist_ok=True)
    profile = {"common": {"threads": 1}, "notebooks": {n: {"budget_s": 120} for n in names}}
    (root / "params" / "tiny.yaml").write_text(yaml.safe_dump(profile))
    return {"notebook_dir": root / "notebooks", "params_dir": root / "params"}


def quietly(**kwargs) -> tuple[dict, str]:
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        merged = sweep.sweep("tiny", seeds="0-1", workers=2, quiet=True, **kwargs)
    return merged, printed.getvalue()


@pytest.fixture(scope="module")
def two_sweeps(tmp_path_factory):
    """Notebook 01 over seeds 0-1 twice into one folder: seed 1 fails the first time, not the second."""
    root = tmp_path_factory.mktemp("sweep")
    dirs = make_course(root)
    flag = root / "fail-seed-1"
    flag.write_text("")
    out = root / "out"
    args = dict(only="01", overrides={"fail_if": str(flag)}, output=str(out), **dirs)
    first, first_printed = quietly(**args)
    before = {p.parent.name: (p.read_text(), p.stat().st_mtime_ns) for p in out.glob("tasks/01_a/*/task.json")}
    flag.unlink()
    second, second_printed = quietly(**args)
    return out, first, first_printed, before, second, second_printed


def test_a_failing_task_is_recorded_and_the_others_finish(two_sweeps):
    out, first, printed, before, _, _ = two_sweeps
    assert [(t["seed"], t["status"]) for t in first["tasks"]] == [(0, "ok"), (1, "error")]
    failed = json.loads(before["seed=1"][0])
    assert failed["status"] == "error" and failed["error"] == "ValueError: seed 1 was told to fail"
    assert failed["params"]["seed"] == 1 and failed["params"]["threads"] == 1
    assert failed["params"]["output_dir"] == str(out / "tasks" / "01_a" / "seed=1" / "01_a")
    assert (out / "tasks" / "01_a" / "seed=1" / "01_a.ipynb").exists()  # the executed notebook, to look at
    done = json.loads(before["seed=0"][0])
    assert done["status"] == "ok" and done["error"] is None and done["seconds"] > 0 and done["peak_mb"] > 0
    assert (out / "tasks" / "01_a" / "seed=0" / "01_a" / "metrics.json").exists()
    assert "✗ 01_a seed=1: error: ValueError: seed 1 was told to fail" in printed
    assert printed.splitlines()[-1].startswith("sweep: 1 ok, 1 failed, 0 over budget")


def test_a_rerun_skips_the_finished_tasks_and_reruns_the_failed_one(two_sweeps):
    out, _, _, before, second, printed = two_sweeps
    after = {p.parent.name: (p.read_text(), p.stat().st_mtime_ns) for p in out.glob("tasks/01_a/*/task.json")}
    assert after["seed=0"] == before["seed=0"]  # not resubmitted
    assert after["seed=1"] != before["seed=1"] and json.loads(after["seed=1"][0])["status"] == "ok"
    assert [(t["seed"], t["status"]) for t in second["tasks"]] == [(0, "ok"), (1, "ok")]
    assert printed.splitlines()[-1].startswith("sweep: 2 ok, 0 failed")
    # what it would print without --quiet: the count of done tasks
    tasks = [{"folder": str(out / "tasks" / "01_a" / f"seed={s}"), "params": json.loads(after[f"seed={s}"][0])["params"]}
             for s in (0, 1)]
    assert all(sweep.finished_earlier(t) for t in tasks)
    assert not sweep.finished_earlier({**tasks[0], "params": {**tasks[0]["params"], "scale": 3}})  # other settings


def test_the_merged_tables(two_sweeps):
    out, _, _, _, merged, _ = two_sweeps
    claims = {c["claim"]: c for c in csv.DictReader(open(out / "sweep-claims.csv"))}
    assert claims["accuracy beats 0.45"]["held"] == "2" and claims["accuracy beats 0.45"]["checked"] == "2"
    margin = claims["the margin is positive"]  # seed 0: 0.1, seed 1: 0.0 (not > 0)
    assert (margin["held"], margin["false_seeds"], margin["min_margin_seed"]) == ("1", "1", "1")
    assert float(margin["min_margin"]) == pytest.approx(0.0)
    assert claims["scale is prime"]["not_checked"] == "2" and claims["scale is prime"]["checked"] == "0"
    metrics = {m["metric"]: m for m in csv.DictReader(open(out / "sweep-metrics.csv"))}
    assert float(metrics["accuracy"]["mean"]) == pytest.approx(0.55)
    assert float(metrics["accuracy"]["sd"]) == pytest.approx(0.0707107, rel=1e-5)
    assert (metrics["accuracy"]["min"], metrics["accuracy"]["max"], metrics["accuracy"]["n"]) == ("0.5", "0.6", "2")
    assert {"seconds", "peak_mb"} <= set(metrics)
    rows = list(csv.DictReader(open(out / "sweep.csv")))
    assert [(r["notebook"], r["seed"], r["status"], r["accuracy"]) for r in rows] == [("01_a", "0", "ok", "0.5"),
                                                                                     ("01_a", "1", "ok", "0.6")]
    page = (out / "sweep.html").read_text()
    assert "the margin is positive" in page and "1 / 2" in page and "sweep-claims.csv" in page
    assert "http" not in page.replace("http-equiv", "")  # offline: nothing from the network
    everything = json.loads((out / "sweep.json").read_text())
    assert everything["info"]["seeds"] == [0, 1] and len(everything["tasks"]) == 2
    values = [r for r in csv.DictReader(open(out / "sweep-values.csv")) if r["metric"] == "accuracy"]
    assert [(r["seed"], r["value"]) for r in values] == [("0", "0.5"), ("1", "0.6")]


def entry(seed, grid, accuracy=None, margin=None, status="ok"):
    """A task.json with its metrics.json ``record``, as merge_tasks reads them."""
    record = {} if accuracy is None else {
        "metrics": {"accuracy": accuracy}, "claims": {"holds": margin > 0},
        "claim_margins": {"holds": margin}, "claim_details": {"holds": f"margin={margin}"}}
    return {"notebook": "01_a", "seed": seed, "grid": grid, "label": f"seed={seed}", "status": status,
            "error": None if status == "ok" else "ValueError: no", "seconds": 2.0 + seed, "peak_mb": 100 + seed,
            "over_budget": False, "budget_s": 60, "profile": "tiny", "params": {"seed": seed, **grid},
            "folder": f"/x/{seed}", "record": record}


def test_merge_counts_claims_and_summarises_metrics_per_grid_point():
    entries = [entry(0, {"lr": 0.1}, 0.5, 0.2), entry(1, {"lr": 0.1}, 0.7, -0.05), entry(2, {"lr": 0.1}, 0.9, 0.4),
               entry(0, {"lr": 1.0}, 0.2, 0.3), entry(1, {"lr": 1.0}, status="error")]
    merged = sweep.merge_tasks(entries)
    assert merged["grid_keys"] == ["lr"] and merged["headline_keys"] == ["accuracy"]
    claims = {c["grid"]["lr"]: c for c in merged["claims"]}
    assert (claims[0.1]["held"], claims[0.1]["checked"], claims[0.1]["false_seeds"]) == (2, 3, [1])
    assert (claims[0.1]["min_margin"], claims[0.1]["min_margin_seed"]) == (-0.05, 1)
    assert (claims[1.0]["held"], claims[1.0]["checked"], claims[1.0]["seeds"]) == (1, 1, 1)  # the failed seed: none
    acc = {m["grid"]["lr"]: m for m in merged["metrics"] if m["metric"] == "accuracy"}
    assert acc[0.1]["mean"] == pytest.approx(0.7) and acc[0.1]["sd"] == pytest.approx(0.2)
    assert (acc[0.1]["min"], acc[0.1]["max"], acc[0.1]["n"]) == (0.5, 0.9, 3)
    assert acc[1.0]["n"] == 1 and acc[1.0]["sd"] is None
    seconds = {m["grid"]["lr"]: m for m in merged["metrics"] if m["metric"] == "seconds"}
    assert seconds[0.1]["mean"] == pytest.approx(3.0)
    runs = {r["grid"]["lr"]: r for r in merged["notebooks"]}
    assert (runs[1.0]["tasks"], runs[1.0]["ok"], runs[1.0]["error"], runs[1.0]["peak_mb"]) == (2, 1, 1, 101)


def test_the_values_table_has_every_number_of_each_finished_task():
    assert records.numbers({"a": 1, "b": {"c": 2.5, "d": [1, 2]}, "e": "text", "f": True, "g": float("nan")}) == \
        {"a": 1, "b.c": 2.5}
    rows = sweep.values_table([entry(1, {}, 0.7, 0.1), entry(0, {}, 0.5, 0.2), entry(2, {}, status="error")])
    assert [(r["seed"], r["metric"], r["value"]) for r in rows] == [(0, "accuracy", 0.5), (1, "accuracy", 0.7)]


def test_grid_seeds_and_task_folders():
    assert sweep.parse_seeds("0-3,7") == [0, 1, 2, 3, 7]
    assert sweep.parse_seeds("5, 1-2, 2") == [1, 2, 5]
    grid = sweep.parse_grid(["epochs=5,10", "dims=[2],[2, 10]", "dataset=mnist-sample"])
    assert grid == {"epochs": [5, 10], "dims": [[2], [2, 10]], "dataset": ["mnist-sample"]}
    points = sweep.grid_points(grid)
    assert len(points) == 4 and points[1] == {"epochs": 5, "dims": [2, 10], "dataset": "mnist-sample"}
    assert sweep.task_folder_name(3, points[1]) == "seed=3,epochs=5,dims=[2_10],dataset=mnist-sample"
    assert sweep.grid_points({}) == [{}] and sweep.task_folder_name(0, {}) == "seed=0"


@pytest.mark.parametrize("wanted, cores, workers, expect", [
    (1, 2, None, (2, 1)), (2, 2, None, (1, 2)), (2, 16, None, (8, 2)), (4, 2, None, (1, 2)), (2, 2, 2, (2, 1)),
    (1, 16, 4, (4, 1)), (8, 16, 4, (4, 4)),
])
def test_the_local_cluster_never_runs_more_threads_than_cores(wanted, cores, workers, expect):
    n, threads = sweep.size(wanted, cores, workers)
    assert (n, threads) == expect and n * threads <= cores


@pytest.mark.parametrize("args, message", [
    (["--seeds", "3-1"], "error: --seeds '3-1': the range 3-1 goes down; write 1-3"),
    (["--seeds", "x"], "error: --seeds 'x' has 'x', which is not a seed or a range"),
    (["--seeds", "1,"], "error: --seeds '1,' has an empty item"),
    (["--grid", "epochs"], "error: --grid 'epochs' must look like key=v1,v2"),
    (["--grid", "epochs="], "error: --grid epochs: no values after '='"),
    (["--grid", "epochs=5,"], "error: --grid epochs: '5,' ends with a comma"),
    (["--grid", "dims=[2, 10"], "error: --grid dims: '[2, 10' is not a comma-separated list of YAML values"),
    (["--grid", "seed=1,2"], "error: --grid seed: choose the seeds with --seeds"),
    (["--grid", "epochs=1", "-p", "epochs=2"], "error: epochs is given with both -p and --grid"),
    (["--notebooks", "07"], "error: --notebooks '07' matches no notebook"),
])
def test_bad_command_lines_are_one_line(capsys, args, message):
    assert cli.main(["sweep", *args]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(message), err


@pytest.mark.parametrize("kwargs, message", [
    ({"only": "03"}, "--notebooks '03' matches no notebook: choose from 01, 02"),
    ({"grid": ["scael=1,2"]}, "01_a: unknown parameter 'scael'"),
    ({"grid": ["scale=1,x"]}, "01_a, seed=0,scale=x: scale must be an integer; got 'x'"),
    ({"overrides": {"threads": 0}}, "01_a, seed=0: threads must be in [1, 256]; got 0"),
    ({"seeds": "0,99999999999"}, "01_a, seed=99999999999: seed must be in [0, 4294967295]"),
])
def test_bad_parameters_stop_before_anything_is_submitted(tmp_path, kwargs, message):
    dirs = make_course(tmp_path)
    with pytest.raises(RunError) as err:
        sweep.sweep("tiny", **{"seeds": "0", **kwargs}, output=str(tmp_path / "out"), quiet=True, **dirs)
    assert "\n" not in str(err.value) and str(err.value).startswith(message), err.value
    assert not (tmp_path / "out").exists()


def test_an_unreachable_scheduler_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setattr(sweep, "CONNECT_TIMEOUT_S", 1)
    dirs = make_course(tmp_path)
    with pytest.raises(RunError) as err:
        sweep.sweep("tiny", seeds="0", scheduler="tcp://127.0.0.1:9", output=str(tmp_path / "out"), quiet=True, **dirs)
    assert "\n" not in str(err.value)
    assert str(err.value).startswith("--scheduler tcp://127.0.0.1:9: cannot reach it (")
    assert not list((tmp_path / "out").glob("tasks/*/*/task.json"))  # nothing ran


def test_merge_only_of_an_empty_folder_is_one_line(tmp_path, capsys):
    assert cli.main(["sweep", "--merge-only", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no finished task here" in err
    assert os.listdir(tmp_path) == []


def test_task_budgets_scale_with_the_machine_or_are_off(tmp_path):
    dirs = make_course(tmp_path)
    profile = profiles.load_profile("tiny", dirs["params_dir"], dirs["notebook_dir"])
    args = ("tiny", profile, ["01_a"], [0], {}, {}, tmp_path / "out", dirs["notebook_dir"])
    assert [t["budget_s"] for t in sweep.plan(*args, 2.5)[0]] == [300.0]  # 120 s x this machine's 2.5
    assert [t["budget_s"] for t in sweep.plan(*args, None)[0]] == [None]  # --no-budget


def test_sweep_takes_no_budget_on_its_command_line():
    assert cli.parser().parse_args(["sweep", "--no-budget"]).no_budget
