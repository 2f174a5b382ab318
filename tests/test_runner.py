"""The course runner on a throwaway course of tiny notebooks (not the real ones).

Each test builds its own notebooks and profile in a tmp folder and passes them to
``runner.run`` through ``notebook_dir`` / ``params_dir``, so these tests hold whatever
state the real notebooks are in.
"""
import contextlib
import csv
import io
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
import yaml
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from course_lib.tooling import checkout, cli, profiles, refresh, runner, speed
from course_lib.tooling.errors import RunError

PARAMETERS = """\
dataset = "mnist-sample"  # which data
seed = 0                  # random seed
scale = 2                 # how many points to draw
fail = False              # raise in the body
sleep_s = 0.0             # seconds to sleep
progress = False          # progress bars
output_dir = "../runs/default/nb"  # where metrics.json goes
"""

BODY = """\
import json, pathlib, time
if fail:
    raise ValueError("this notebook was told to fail")
time.sleep(sleep_s)
out = pathlib.Path(output_dir); out.mkdir(parents=True, exist_ok=True)
metrics = {"accuracy": 0.5 + 0.1 * scale, "loss": 1.0 / scale, "epochs": scale}
record = {"metrics": metrics, "data": [{"dataset": dataset, "split": "train", "n": 10 * scale,
          "source": "made up by the runner's tests"}], "device": "cpu", "threads": 1,
          "claims": {"scale is positive": scale > 0, "scale is below 2": scale < 2},
          "claim_details": {"scale is positive": f"scale={scale}", "scale is below 2": f"scale={scale}"},
          "not_checked": {"scale is prime": "not asked"}}
(out / "metrics.json").write_text(json.dumps(record))
print("recorded", metrics)
"""

FIGURE = """\
import matplotlib.pyplot as plt
plt.plot(range(scale + 2), [v * v for v in range(scale + 2)])
plt.xlabel("x"); plt.ylabel("x squared")
plt.show()
"""


def make_notebook(path: Path, parameters: str = PARAMETERS, body: str = BODY, figure: bool = True) -> Path:
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "mnist-course", "display_name": "Python (mnist-course)", "language": "python"}
    cells = [new_markdown_cell(f"# {path.stem}\nA notebook made by the runner's tests.")]
    if parameters is not None:
        cells.append(new_code_cell(parameters, metadata={"tags": ["parameters"]}))
    cells.append(new_code_cell(body))
    if figure:
        cells.append(new_code_cell(FIGURE))
    nb.cells = cells
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def make_course(root: Path, names=("01_first", "02_second"), profile: dict | None = None, name="tiny"):
    """Notebooks in root/notebooks, a profile root/params/NAME.yaml; returns the run() kwargs."""
    for n in names:
        make_notebook(root / "notebooks" / f"{n}.ipynb")
    profile = profile if profile is not None else {
        "common": {"progress": False},
        "notebooks": {n: {"budget_s": 120, "parameters": {"scale": i + 1}} for i, n in enumerate(names)},
    }
    (root / "params").mkdir(parents=True, exist_ok=True)
    (root / "params" / f"{name}.yaml").write_text(yaml.safe_dump(profile))
    return {"notebook_dir": root / "notebooks", "params_dir": root / "params"}


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A two-notebook course, run once: (output folder, rows)."""
    root = tmp_path_factory.mktemp("course")
    dirs = make_course(root)
    out = root / "runs" / "tiny"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        rows = runner.run("tiny", output=str(out), quiet=True, **dirs)
    return out, rows, printed.getvalue()


def test_run_records_each_notebook(tiny_run):
    out, rows, _ = tiny_run
    assert [r["notebook"] for r in rows] == ["01_first", "02_second"]
    for i, row in enumerate(rows, 1):
        assert row["status"] == "ok" and row["error"] is None
        assert 0 < row["seconds"] < 120
        assert row["peak_mb"] is not None and 20 < row["peak_mb"] < 10_000  # the kernel's, in MB
        assert row["params"]["scale"] == i  # the profile's parameter reached the notebook
        assert row["metrics"]["epochs"] == i  # ... and its metrics.json came back
        assert row["headlines"]["accuracy"] == pytest.approx(0.5 + 0.1 * i)
        assert row["data_source"] == "made up by the runner's tests"
        assert (out / f"{row['notebook']}.ipynb").exists() and (out / f"{row['notebook']}.log").exists()


def test_summary_csv_and_json_agree(tiny_run):
    out, rows, _ = tiny_run
    table = list(csv.DictReader(open(out / "summary.csv")))
    saved = json.loads((out / "summary.json").read_text())
    assert [r["notebook"] for r in table] == [r["notebook"] for r in saved] == ["01_first", "02_second"]
    for line, row in zip(table, saved):
        assert line["device"] == row["device"] == "cpu"  # from each notebook's metrics.json
        assert float(line["seconds"]) == row["seconds"]
        assert float(line["budget_s"]) == 120
        assert line["status"] == "ok"
        assert f"epochs={row['metrics']['epochs']}" in line["headlines"]
        assert int(line["claims_held"]) == row["claims_held"] and int(line["claims_false"]) == row["claims_false"]
    assert [(r["claims_held"], r["claims_false"]) for r in saved] == [(2, 0), (1, 1)]
    assert saved[1]["false_claims"] == {"scale is below 2": "scale=2"} and saved[1]["claims_not_checked"] == 1
    info = json.loads((out / "run.json").read_text())
    assert info["profile"] == "tiny" and info["machine"]["cores"] >= 1


def test_a_false_claim_is_said_at_the_end_and_does_not_stop_the_run(tiny_run):
    out, rows, printed = tiny_run
    assert [r["status"] for r in rows] == ["ok", "ok"]
    lines = [line for line in printed.splitlines() if "claims:" in line]
    assert lines == [f"{'02_second':<36} claims: 1 held, 1 not: scale is below 2 [scale=2]"]
    assert printed.splitlines()[-1].startswith("total")
    index = (out / "index.html").read_text()
    assert "1 held, 1 not" in index and "✗ scale is below 2 <small>[scale=2]</small>" in index
    assert "1 claim(s) do not hold" in index


def test_index_html_links_every_notebook(tiny_run):
    out, _, _ = tiny_run
    index = (out / "index.html").read_text()
    for name in ("01_first", "02_second"):
        assert f'href="html/{name}.html"' in index
        page = (out / "html" / f"{name}.html").read_text()
        assert "data:image/png;base64," in page  # the figure is embedded
        assert "require.min.js" not in page  # no network needed to load the page
    assert "made up by the runner&#39;s tests" in index  # the data source, escaped


def test_unknown_override_fails_before_running(tmp_path):
    dirs = make_course(tmp_path)
    with pytest.raises(RunError, match="unknown parameter 'epochz'"):
        runner.run("tiny", overrides={"epochz": 3}, output=str(tmp_path / "out"), quiet=True, **dirs)
    assert not (tmp_path / "out" / "01_first.ipynb").exists()  # nothing ran


def test_unknown_profile_parameter_fails(tmp_path):
    dirs = make_course(tmp_path, profile={"notebooks": {"02_second": {"parameters": {"scael": 3}}}})
    with pytest.raises(RunError, match="02_second: the profile sets unknown parameter.*scael"):
        runner.run("tiny", output=str(tmp_path / "out"), quiet=True, **dirs)


def test_profile_typos_fail(tmp_path):
    dirs = make_course(tmp_path, profile={"notebooks": {"01_first": {"budget": 10}}})
    with pytest.raises(RunError, match="unknown key.*budget"):
        runner.run("tiny", output=str(tmp_path / "out"), quiet=True, **dirs)
    dirs = make_course(tmp_path, profile={"common": {"progres": False}})
    with pytest.raises(RunError, match="progres.*taken by no notebook"):
        runner.run("tiny", output=str(tmp_path / "out"), quiet=True, **dirs)
    with pytest.raises(RunError, match="unknown profile 'nope'"):
        runner.run("nope", output=str(tmp_path / "out"), quiet=True, **dirs)


def test_notebook_without_parameters_cell_fails(tmp_path):
    dirs = make_course(tmp_path)
    make_notebook(tmp_path / "notebooks" / "03_bare.ipynb", parameters=None, body="x = 1", figure=False)
    with pytest.raises(RunError, match="03_bare: no cell is tagged 'parameters'"):
        runner.run("tiny", only="03", output=str(tmp_path / "out"), quiet=True, **dirs)


def test_only_picks_notebooks(tmp_path):
    dirs = make_course(tmp_path, names=("01_a", "02_b", "03_c"))
    assert profiles.select("03,01", dirs["notebook_dir"]) == ["01_a", "03_c"]
    assert profiles.select("3, 02_b", dirs["notebook_dir"]) == ["02_b", "03_c"]
    assert profiles.select(None, dirs["notebook_dir"]) == ["01_a", "02_b", "03_c"]
    with pytest.raises(RunError, match="--only '07' matches no notebook"):
        profiles.select("07", dirs["notebook_dir"])
    with pytest.raises(RunError, match="--only '0' matches no notebook"):
        profiles.select("0", dirs["notebook_dir"])  # a number names one notebook, not every one starting with it


def one_line(err) -> str:
    text = str(err.value)
    assert "\n" not in text and text
    return text


@pytest.mark.parametrize("only", ["03,", ",03", "01,,03", "", " "])
def test_only_with_an_empty_item_is_refused(tmp_path, only):
    """A trailing comma used to select every notebook."""
    dirs = make_course(tmp_path, names=("01_a", "02_b", "03_c"))
    with pytest.raises(RunError) as err:
        profiles.select(only, dirs["notebook_dir"])
    msg = one_line(err)
    assert msg.startswith(f"--only {only!r} has an empty item") and "e.g. --only 03,05" in msg


@pytest.mark.parametrize("text", ["dims=[2, 10", "dims={a: 1", "name='unclosed", "x=: ]"])
def test_malformed_override_value_is_one_line(text):
    with pytest.raises(RunError) as err:
        profiles.parse_override(text)
    msg = one_line(err)
    assert msg.startswith(f"-p {text.split('=')[0]}: ") and "not a valid YAML value" in msg


@pytest.mark.parametrize("overrides, profile, message", [
    ({"output_dir": "elsewhere"}, {}, "-p output_dir: the runner puts each notebook's output in OUTPUT/NN_name"),
    ({}, {"common": {"output_dir": "x"}}, "01_first: the profile sets output_dir"),
    ({}, {"notebooks": {"01_first": {"parameters": {"output_dir": "x"}}}}, "01_first: the profile sets output_dir"),
])
def test_a_user_set_output_dir_is_refused_in_one_place(tmp_path, overrides, profile, message):
    """-p output_dir and a profile's output_dir: both refused by profiles.output_dir_for, before anything runs."""
    dirs = make_course(tmp_path, profile=profile)
    with pytest.raises(RunError) as err:
        runner.run("tiny", overrides=overrides, output=str(tmp_path / "out"), quiet=True, **dirs)
    assert one_line(err).startswith(message) and "--output" in one_line(err)
    assert not (tmp_path / "out").exists()
    params = profiles.parameters_for("01_first", {}, {}, tmp_path / "out", dirs["notebook_dir"])
    assert params["output_dir"] == str(tmp_path / "out" / "01_first")


def test_profile_output_dir_and_bad_yaml_are_refused(tmp_path):
    dirs = make_course(tmp_path, profile={"notebooks": {"01_first": {"parameters": {"output_dir": "x"}}}})
    with pytest.raises(RunError, match="01_first: the profile sets output_dir.*--output"):
        runner.run("tiny", output=str(tmp_path / "out"), quiet=True, **dirs)
    (dirs["params_dir"] / "broken.yaml").write_text("common: {epochs: [1, 2\n")
    with pytest.raises(RunError) as err:
        profiles.load_profile("broken", dirs["params_dir"])
    assert "is not valid YAML" in one_line(err)


def test_output_that_is_a_file_or_unwritable_is_refused(tmp_path):
    dirs = make_course(tmp_path)
    a_file = tmp_path / "notes.txt"
    a_file.write_text("not a folder")
    with pytest.raises(RunError) as err:
        runner.run("tiny", output=str(a_file), quiet=True, **dirs)
    assert "that is a file, not a folder" in one_line(err)
    with pytest.raises(RunError) as err:
        runner.run("tiny", output=str(a_file / "inside"), quiet=True, **dirs)
    assert one_line(err).startswith(f"--output {a_file / 'inside'}: cannot create that folder")
    assert a_file.read_text() == "not a folder"


@pytest.mark.parametrize("args, message", [
    (["-p", "dims=[2, 10"], "error: -p dims: '[2, 10' is not a valid YAML value"),
    (["--only", "03,"], "error: --only '03,' has an empty item"),
    (["-p", "output_dir=x"], "error: -p output_dir: the runner puts each notebook's output in OUTPUT/NN_name"),
    (["--output", "FILE"], "error: --output FILE: that is a file, not a folder"),
])
def test_command_line_input_errors_are_one_line(tmp_path, args, message):
    (tmp_path / "FILE").write_text("x")
    proc = subprocess.run([sys.executable, "-m", "course_lib", "run", "--profile", "smoke", *args],
                          capture_output=True, text=True, cwd=tmp_path,
                          env={**__import__("os").environ, "COURSE_ROOT": str(checkout.ROOT)})
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()], proc.stderr
    assert proc.stderr.startswith(message), proc.stderr


def test_outside_a_checkout_says_how_to_run(tmp_path):
    """``pip install .`` then ``python -m course_lib run`` outside the course: one line on what to do."""
    env = {k: v for k, v in __import__("os").environ.items() if k != "COURSE_ROOT"}
    script = "import sys, course_lib.tooling.cli as c; sys.exit(c.main(['run']))"
    # pretend the package was installed as a copy: no checkout around it, none around the cwd
    fake = tmp_path / "site" / "course_lib"
    fake.parent.mkdir()
    import shutil
    shutil.copytree(Path(runner.__file__).parents[1], fake, ignore=shutil.ignore_patterns("__pycache__"))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=elsewhere,
                          env={**env, "PYTHONPATH": str(fake.parent)})
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.strip().count("\n") == 0, proc.stderr
    assert "run it from the course checkout" in proc.stderr and "COURSE_ROOT" in proc.stderr
    # from inside a checkout (here: its notebooks/ folder), the copy finds the course
    proc = subprocess.run([sys.executable, "-c", "import course_lib.tooling.checkout as c; print(c.ROOT)"],
                          capture_output=True, text=True, cwd=Path(checkout.ROOT) / "notebooks",
                          env={**env, "PYTHONPATH": str(fake.parent)})
    assert proc.stdout.strip() == str(Path(checkout.ROOT).resolve()), proc.stderr


def test_erroring_notebook_stops_the_run(tmp_path):
    dirs = make_course(tmp_path, names=("01_bad", "02_never"))
    out = tmp_path / "out"
    with pytest.raises(RunError, match="01_bad failed: ValueError: this notebook was told to fail"):
        runner.run("tiny", overrides={"fail": True}, output=str(out), quiet=True, **dirs)
    rows = json.loads((out / "summary.json").read_text())
    assert [r["notebook"] for r in rows] == ["01_bad"]  # the second never started
    assert rows[0]["status"] == "error" and rows[0]["metrics"] == {}
    assert "failed" in (out / "index.html").read_text()  # the report is written for a failed run too


def test_over_budget_notebook_is_stopped(tmp_path):
    """A profile that names no reference machine keeps its budgets as written (factor 1)."""
    dirs = make_course(tmp_path, names=("01_slow",),
                       profile={"notebooks": {"01_slow": {"budget_s": 4, "parameters": {"sleep_s": 300}}}})
    out = tmp_path / "out"
    t0 = time.perf_counter()
    with pytest.raises(RunError, match=r"^01_slow stopped after \d+s, over its 4s budget \(4s in params/tiny.yaml "
                                       r"x 1.00 for this machine\); if it should take longer, rerun with --no-budget$"):
        runner.run("tiny", output=str(out), quiet=True, **dirs)
    assert time.perf_counter() - t0 < 60  # stopped at the budget, not after the 300 s sleep
    row = json.loads((out / "summary.json").read_text())[0]
    assert row["status"] == "over budget" and row["over_budget"]
    assert row["budget_s"] == 4 and row["budget_factor"] == 1.0


REFERENCE = {"machine": "the tests' imaginary machine", "sgemm_s": 0.1, "train_s": 0.2}


def test_budgets_scale_on_a_slow_machine_and_still_stop_a_runaway(tmp_path, monkeypatch):
    """Faked probes 4x slower than the reference: factor 4 x 1.25 = 5, so a 3 s budget is 15 s. The
    first notebook takes longer than 3 s and passes; the second sleeps "forever" and is stopped at 15 s."""
    monkeypatch.setattr(speed, "measure", lambda threads=speed.THREADS: {
        "sgemm_s": 0.2, "train_s": 0.8, "capability": "AVX2", "threads": 2})  # sgemm 2x, training 4x slower
    dirs = make_course(tmp_path, names=("01_slower", "02_runaway"), profile={
        "reference": REFERENCE,
        "notebooks": {"01_slower": {"budget_s": 3, "parameters": {"sleep_s": 4}},
                      "02_runaway": {"budget_s": 3, "parameters": {"sleep_s": 300}}}})
    out = tmp_path / "out"
    printed = io.StringIO()
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(printed), pytest.raises(RunError) as stop:
        runner.run("tiny", output=str(out), quiet=True, **dirs)
    assert time.perf_counter() - t0 < 90  # the runaway was stopped, not waited for
    assert printed.getvalue().splitlines()[0] == (
        "budgets x5.00: this machine takes 4.00x the time of the reference, the tests' imaginary machine "
        "(sgemm on 2 threads 2.00x, training steps on 1 thread 4.00x; AVX2 here); never below 1, x1.25 for safety")
    assert re.fullmatch(r"02_runaway stopped after (\d+)s, over its 15s budget \(3s in params/tiny.yaml x 5.00 "
                        r"for this machine\); if it should take longer, rerun with --no-budget", str(stop.value))
    rows = json.loads((out / "summary.json").read_text())
    assert [r["status"] for r in rows] == ["ok", "over budget"]
    assert rows[0]["seconds"] > 3  # over the profile's 3 s: only the scaled budget let it finish
    assert 15 <= rows[1]["seconds"] < 15 + 10  # stopped within a poll or two of its scaled budget
    assert [(r["budget_s"], r["budget_factor"]) for r in rows] == [(15, 5.0), (15, 5.0)]
    table = list(csv.DictReader(open(out / "summary.csv")))
    assert [(float(r["budget_s"]), float(r["budget_factor"])) for r in table] == [(15, 5.0), (15, 5.0)]
    budgets = json.loads((out / "run.json").read_text())["budgets"]
    assert budgets["factor"] == 5.0 and budgets["slowdown"] == 4.0 and budgets["reference"] == REFERENCE


def test_no_budget_lets_a_notebook_run_past_its_budget(tmp_path, monkeypatch):
    def never(threads=speed.THREADS):
        raise AssertionError("--no-budget must not time the machine")

    monkeypatch.setattr(speed, "measure", never)
    dirs = make_course(tmp_path, names=("01_slow",), profile={
        "reference": REFERENCE, "notebooks": {"01_slow": {"budget_s": 1, "parameters": {"sleep_s": 3}}}})
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        rows = runner.run("tiny", output=str(tmp_path / "out"), quiet=True, budgets=False, **dirs)
    assert printed.getvalue().splitlines()[0] == "budgets: off (--no-budget)"
    assert rows[0]["status"] == "ok" and rows[0]["seconds"] > 3
    assert rows[0]["budget_s"] is None and rows[0]["budget_factor"] is None
    assert cli.parser().parse_args(["run", "--no-budget"]).no_budget


def test_smoke_notebook_under_a_tiny_budget_stops_with_one_line(tmp_path):
    """The real notebook 01 on the smoke profile, its budget_s 0.1 s: the command line times this
    machine, prints the factor, and stops the notebook at its scaled budget with one line on stderr."""
    profile = yaml.safe_load((Path(checkout.PARAMS_DIR) / "smoke.yaml").read_text())
    profile["notebooks"]["01_pixel_similarity"]["budget_s"] = 0.1
    (tmp_path / "params").mkdir()
    (tmp_path / "params" / "smoke.yaml").write_text(yaml.safe_dump(profile))
    (tmp_path / "notebooks").symlink_to(Path(checkout.NOTEBOOK_DIR).resolve(), target_is_directory=True)
    proc = subprocess.run([sys.executable, "-m", "course_lib", "run", "--profile", "smoke", "--only", "01",
                           "--output", str(tmp_path / "out")], capture_output=True, text=True, cwd=tmp_path,
                          env={**__import__("os").environ, "COURSE_ROOT": str(tmp_path)}, timeout=300)
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()], proc.stderr
    stop = re.fullmatch(r"error: 01_pixel_similarity stopped after (\d+)s, over its ([\d.]+)s budget "
                        r"\(0.1s in params/smoke.yaml x ([\d.]+) for this machine\); "
                        r"if it should take longer, rerun with --no-budget", proc.stderr.strip())
    assert stop, proc.stderr
    seconds, budget, factor = int(stop[1]), float(stop[2]), float(stop[3])
    assert factor >= speed.SAFETY and budget == round(0.1 * factor, 1)
    assert seconds < budget + 10  # stopped near its budget, long before the notebook could finish
    assert proc.stdout.splitlines()[0].startswith(f"budgets x{factor:.2f}: this machine takes "), proc.stdout
    row = json.loads((tmp_path / "out" / "summary.json").read_text())[0]
    assert row["status"] == "over budget" and row["budget_factor"] == factor


def test_command_line_fails_with_one_line(tmp_path):
    """The CLI turns a RunError into one line on stderr and exit status 1."""
    proc = subprocess.run([sys.executable, "-m", "course_lib", "run", "--profile", "no-such-profile",
                           "--output", str(tmp_path / "out")], capture_output=True, text=True,
                          cwd=Path(checkout.ROOT))
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()]
    assert proc.stderr.startswith("error: unknown profile 'no-such-profile'")


def test_parse_override_reads_yaml_values():
    assert profiles.parse_override("epochs=5") == ("epochs", 5)
    assert profiles.parse_override("progress=true") == ("progress", True)
    assert profiles.parse_override("dataset=fashion-mnist") == ("dataset", "fashion-mnist")
    assert profiles.parse_override("dims=[2, 3]") == ("dims", [2, 3])
    with pytest.raises(RunError, match="key=value"):
        profiles.parse_override("epochs")


def test_the_stamp_covers_the_modules_a_notebook_uses():
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("from course_lib import autoencoder, data\n")])
    used = refresh.modules_used(nb)
    assert {"autoencoder", "training", "data", "__init__"} <= set(used)  # training: through autoencoder
    assert "neighbours" not in used and "tooling" not in used
    nb.cells.append(nbformat.v4.new_code_cell("%matplotlib inline\nfrom course_lib import (neighbours,\n    params as p)\n"
                                              "import course_lib.divergence\n"))
    assert {"neighbours", "params", "divergence"} <= set(refresh.modules_used(nb))  # magics, brackets, aliases


def test_a_profile_entry_that_names_no_notebook_is_one_line(tmp_path):
    """A misspelt notebook name used to be ignored: the run went ahead with every notebook at its defaults."""
    dirs = make_course(tmp_path, names=("01_pixel_similarity", "02_mlp_classifier"),
                       profile={"notebooks": {"01_pixel_smilarity": {"budget_s": 10}}})
    with pytest.raises(RunError) as err:
        runner.run("tiny", output=str(tmp_path / "out"), quiet=True, **dirs)
    assert one_line(err) == ("profile 'tiny': notebooks entry '01_pixel_smilarity' names no notebook; "
                             "did you mean 01_pixel_similarity?")
    assert not (tmp_path / "out").exists()
    dirs = make_course(tmp_path, names=("01_pixel_similarity", "02_mlp_classifier"),
                       profile={"notebooks": {"zzz": {}}})
    with pytest.raises(RunError) as err:
        profiles.load_profile("tiny", dirs["params_dir"], dirs["notebook_dir"])
    assert one_line(err).endswith("'zzz' names no notebook; choose from 01_pixel_similarity, 02_mlp_classifier")
