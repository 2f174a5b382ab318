"""Run the course: every notebook, in order, through papermill, on one profile.

    python -m course_lib run --profile default            # the whole course into runs/default
    python -m course_lib run --profile smoke --only 01,02  # two notebooks, in seconds
    python -m course_lib run -p epochs=5 -p seed=1        # overrides for every notebook
    python -m course_lib report runs/default              # rebuild index.html of a run

Each notebook's parameters are checked against its ``parameters`` cell before anything
runs (papermill alone only warns about a name it does not know). Each notebook runs in
a child process so that its wall-clock time and peak memory are its own; one that errors
or goes over the profile's time budget (it is stopped at the budget) stops the run with
a one-line message.

A run folder holds, per notebook, the executed ``NN_name.ipynb``, its ``NN_name.log``
(the kernel's stderr) and its ``output_dir`` ``NN_name/`` (metrics.json, artifacts);
for the run, ``summary.csv`` / ``summary.json`` (one row a notebook), ``run.json``
(profile, overrides, machine) and ``index.html`` with every notebook rendered to a
self-contained HTML page in ``html/`` (see :mod:`course_lib.report`).
"""
from __future__ import annotations

import argparse
import csv
import datetime
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

from . import course_root

# The checkout the runner works on: found next to this package (editable install) or from
# the working directory (``pip install .``, then run from inside the checkout); see
# :func:`course_lib.course_root`. Outside any checkout the folders below do not exist and
# ``run`` says in one line what to do.
ROOT = course_root() or Path.cwd()
NOTEBOOK_DIR = ROOT / "notebooks"
PARAMS_DIR = ROOT / "params"
KERNEL = "mnist-course"
NO_COURSE = ("run it from the course checkout (the folder with notebooks/ and params/), "
             "or set COURSE_ROOT=/path/to/the/checkout")

# The metrics each notebook's summary line, summary.csv and index.html show, in order
# (those its metrics.json has; a notebook not listed shows its first few numbers).
HEADLINES = {
    "01_pixel_similarity": ("acc_l1", "acc_l2", "acc_1nn"),
    "02_mlp_classifier": ("mlp_test_acc", "cnn_test_acc", "train_seconds"),
    "03_autoencoder": ("mse_2d", "pca_mse_2d", "seed_dim3_mse"),
    "04_vae_visualisation": ("test_elbo", "recon_mse", "knn5_acc_vae", "auc_chained"),
    "05_neighbourhood_preservation": ("score10_relu_mse", "np_vs_relu_mse_score10", "knn_seconds"),
    "06_transformer_dataset_similarity": ("speedup_patch_vs_pixel", "p_value_patch_tokens", "p_value_uci"),
}
MAX_HEADLINES = 4
PROFILE_ENTRY_KEYS = {"budget_s", "parameters"}


class RunError(RuntimeError):
    """A run that must stop; the message is one line."""


def notebooks(notebook_dir: Path = NOTEBOOK_DIR) -> list[str]:
    return sorted(p.stem for p in Path(notebook_dir).glob("[0-9][0-9]_*.ipynb"))


def load_profile(name: str, params_dir: Path = PARAMS_DIR) -> dict:
    """``params/NAME.yaml``, checked: ``common`` parameters and, per notebook,
    ``budget_s`` (seconds) and ``parameters``; a misspelt key is an error, not a no-op."""
    params_dir = Path(params_dir)
    if not params_dir.is_dir():
        raise RunError(f"no profiles: {params_dir} does not exist; {NO_COURSE}")
    path = params_dir / f"{name}.yaml"
    if not path.exists():
        known = ", ".join(sorted(p.stem for p in params_dir.glob("*.yaml")))
        raise RunError(f"unknown profile {name!r}: choose one of {known}")
    try:
        profile = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise RunError(f"profile {name!r}: {path} is not valid YAML ({_yaml_problem(err)})") from None
    if not isinstance(profile, dict):
        raise RunError(f"profile {name!r}: {path} must be a mapping with common: and notebooks:")
    extra = set(profile) - {"common", "notebooks"}
    if extra:
        raise RunError(f"profile {name!r}: unknown top-level key(s) {', '.join(sorted(extra))}; "
                       f"allowed: common, notebooks")
    for nb, entry in (profile.get("notebooks") or {}).items():
        entry = entry or {}
        bad = set(entry) - PROFILE_ENTRY_KEYS
        if bad:
            raise RunError(f"profile {name!r}, {nb}: unknown key(s) {', '.join(sorted(bad))}; "
                           f"allowed: {', '.join(sorted(PROFILE_ENTRY_KEYS))}")
        budget = entry.get("budget_s")
        if budget is not None and (isinstance(budget, bool) or not isinstance(budget, (int, float)) or budget <= 0):
            raise RunError(f"profile {name!r}, {nb}: budget_s must be a positive number of seconds; got {budget!r}")
    return profile


def _yaml_problem(err: Exception) -> str:
    """PyYAML's complaint in a few words, on one line."""
    problem = getattr(err, "problem", None) or str(err).splitlines()[0]
    mark = getattr(err, "problem_mark", None)
    return f"{problem} at column {mark.column + 1}" if mark is not None else problem


def parse_override(text: str) -> tuple[str, object]:
    """``key=value`` with the value read as YAML (``5`` is an int, ``true`` a bool, ``[2, 3]`` a list).

    ``output_dir`` is refused: the runner gives every notebook its own folder in ``--output``.
    """
    if "=" not in text:
        raise RunError(f"-p {text!r} must look like key=value, e.g. -p epochs=5")
    key, value = text.split("=", 1)
    key = key.strip()
    if not key:
        raise RunError(f"-p {text!r} has no parameter name before '='")
    if key == "output_dir":
        raise RunError("-p output_dir: the runner puts each notebook's output in OUTPUT/NN_name; "
                       "choose OUTPUT with --output instead")
    try:
        return key, yaml.safe_load(value)
    except yaml.YAMLError as err:
        raise RunError(f"-p {key}: {value!r} is not a valid YAML value ({_yaml_problem(err)}); "
                       f"e.g. 5, 0.001, true, fashion-mnist, [2, 10]") from None


def select(only: str | None, notebook_dir: Path = NOTEBOOK_DIR) -> list[str]:
    """The notebooks ``--only`` names, in course order (``None``: all of them).

    Each comma-separated item is a number (``3`` or ``03``), a full name
    (``03_autoencoder``) or the start of one (``03_auto``); an empty item is an error.
    """
    names = notebooks(notebook_dir)
    if only is None:
        return names
    choices = ", ".join(n[:2] for n in names)
    tokens = [t.strip() for t in only.split(",")]
    if any(not t for t in tokens):
        raise RunError(f"--only {only!r} has an empty item: give notebook numbers or names separated by commas, "
                       f"e.g. --only 03,05 (choose from {choices})")
    chosen = []
    for token in tokens:
        if token.isdigit():
            match = [n for n in names if n[:2].isdigit() and int(n[:2]) == int(token)]
        else:
            match = [n for n in names if n == token or n.startswith(token)]
        if not match:
            raise RunError(f"--only {token!r} matches no notebook: choose from {choices}")
        chosen += [m for m in match if m not in chosen]
    return [n for n in names if n in chosen]


def output_folder(output: str | os.PathLike) -> Path:
    """The run's output folder, created; a one-line RunError if it is a file or cannot be made/written."""
    out = Path(output).expanduser().resolve()
    if out.exists() and not out.is_dir():
        raise RunError(f"--output {output}: that is a file, not a folder; give a folder (it is created if missing)")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise RunError(f"--output {output}: cannot create that folder ({err.strerror}); give another") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise RunError(f"--output {output}: that folder is not writable; give another")
    return out


def notebook_parameters(name: str, notebook_dir: Path = NOTEBOOK_DIR) -> dict:
    """The names and defaults of a notebook's ``parameters`` cell, via papermill."""
    import papermill

    return papermill.inspect_notebook(str(Path(notebook_dir) / f"{name}.ipynb"))


def parameters_for(name: str, profile: dict, overrides: dict, output_dir: Path,
                   notebook_dir: Path = NOTEBOOK_DIR) -> dict:
    """Profile ``common`` < the profile's notebook entry < command-line overrides, checked."""
    declared = notebook_parameters(name, notebook_dir)
    if not declared:
        raise RunError(f"{name}: no cell is tagged 'parameters', so it cannot take the run's parameters")
    if "output_dir" not in declared:
        raise RunError(f"{name}: its parameters cell has no output_dir, so the runner cannot collect its metrics.json")
    entry = (profile.get("notebooks") or {}).get(name) or {}
    params = {k: v for k, v in (profile.get("common") or {}).items() if k in declared}
    params.update(entry.get("parameters") or {})
    if "output_dir" in params:
        raise RunError(f"{name}: the profile sets output_dir, which the runner sets itself (OUTPUT/{name}); "
                       f"remove it and choose OUTPUT with --output")
    if "output_dir" in overrides:
        raise RunError("-p output_dir: the runner puts each notebook's output in OUTPUT/NN_name; "
                       "choose OUTPUT with --output instead")
    for key, value in overrides.items():
        if key not in declared:
            raise RunError(f"{name}: unknown parameter {key!r}; it takes {', '.join(declared)}")
        params[key] = value
    unknown = [k for k in params if k not in declared]
    if unknown:
        raise RunError(f"{name}: the profile sets unknown parameter(s) {', '.join(unknown)}; "
                       f"it takes {', '.join(declared)}")
    params["output_dir"] = str(output_dir / name)
    return params


def _all_parameters(notebook_dir: Path) -> set:
    """Every parameter name some notebook declares (a notebook that cannot be read counts as none)."""
    names = set()
    for n in notebooks(notebook_dir):
        try:
            names |= set(notebook_parameters(n, notebook_dir))
        except Exception:  # half-written by someone else: the chosen ones were checked already
            pass
    return names


# The child process: papermill runs the notebook; the last stdout line is the result.
CHILD = """\
import json, resource, sys, papermill
args = json.loads(sys.argv[1])
err = None
try:
    papermill.execute_notebook(args['input'], args['output'], parameters=args['params'],
        kernel_name=args['kernel'], cwd=args['cwd'], progress_bar=False, log_output=False)
except papermill.PapermillExecutionError as e:
    err = f'{e.ename}: {e.evalue}'.splitlines()[0]
except Exception as e:
    err = f'{type(e).__name__}: {e}'.splitlines()[0]
# the kernel is a reaped child by now: its peak resident memory (KiB on Linux)
peak = max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
print(json.dumps({'error': err, 'peak_mb': peak / (1024 * 1024 if sys.platform == 'darwin' else 1024)}))
"""


def _kill_tree(pid: int) -> None:
    """Kill a process and every descendant (the kernel runs in its own session)."""
    try:
        import psutil

        parent = psutil.Process(pid)
        procs = parent.children(recursive=True) + [parent]
        for p in procs:
            try:
                p.kill()
            except psutil.NoSuchProcess:
                pass
        psutil.wait_procs(procs, timeout=10)
    except ImportError:  # pragma: no cover - psutil comes with ipykernel
        os.kill(pid, 9)
    except Exception:
        pass


def _execute_one(name: str, out_nb: Path, params: dict, log_path: Path, budget: float | None = None,
                 notebook_dir: Path = NOTEBOOK_DIR, status=None) -> dict:
    """Run one notebook in a child process; return seconds, peak memory and error (if any).

    A notebook still running at ``budget`` seconds is stopped (with its kernel).
    ``status(seconds)`` is called about once a second while it runs.
    """
    args = {"input": str(Path(notebook_dir) / f"{name}.ipynb"), "output": str(out_nb), "params": params,
            "kernel": KERNEL, "cwd": str(notebook_dir)}
    t0 = time.perf_counter()
    over = False
    with open(log_path, "w") as log:
        proc = subprocess.Popen([sys.executable, "-c", CHILD, json.dumps(args)], stdout=subprocess.PIPE,
                                stderr=log, text=True)
        while True:
            try:
                stdout, _ = proc.communicate(timeout=1.0)
                break
            except subprocess.TimeoutExpired:
                seconds = time.perf_counter() - t0
                if budget is not None and seconds > budget:
                    over = True
                    _kill_tree(proc.pid)
                    stdout, _ = proc.communicate()
                    break
                if status is not None:
                    status(seconds)
    seconds = time.perf_counter() - t0
    if over:
        return {"error": f"stopped after {seconds:.0f}s: over its {budget:g}s budget", "peak_mb": None,
                "seconds": seconds, "over_budget": True}
    try:
        result = json.loads(stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        result = {"error": f"the runner's child process failed (see {log_path})", "peak_mb": None}
    result["seconds"] = seconds
    result["over_budget"] = budget is not None and seconds > budget
    return result


def headlines(name: str, metrics: dict) -> dict:
    """The notebook's headline metrics (see HEADLINES), else its first few scalar numbers."""
    def scalar(v):
        return isinstance(v, (int, float, str)) and not isinstance(v, bool)

    keys = [k for k in HEADLINES.get(name, ()) if k in metrics]
    if not keys:
        keys = [k for k, v in metrics.items() if scalar(v) and not isinstance(v, str)]
    chosen = {}
    for k in keys[:MAX_HEADLINES]:
        v = metrics[k]
        if isinstance(v, dict):  # a small table of numbers, e.g. {"l1": 2.2, "l2": 0.04}: one entry each
            chosen.update({f"{k}.{sub}": x for sub, x in list(v.items())[:3] if scalar(x)})
        elif scalar(v) or v is None:
            chosen[k] = v
    return chosen


def format_value(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value)


def format_headlines(values: dict) -> str:
    return "; ".join(f"{k}={format_value(v)}" for k, v in values.items())


def machine() -> dict:
    """What ran the course: CPU, cores, memory, OS and the versions that matter."""
    from importlib import metadata

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        memory_gb = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        memory_gb = None
    versions = {}
    for package in ("torch", "torchvision", "numpy", "scikit-learn", "papermill", "nbconvert"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            pass
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gb": memory_gb, "os": platform.platform(),
            "python": platform.python_version(), "versions": versions}


class _Progress:
    """One line per notebook; on a terminal it counts the seconds while the notebook runs."""

    def __init__(self, quiet: bool):
        self.quiet = quiet
        self.live = not quiet and sys.stdout.isatty()

    def start(self, i: int, n: int, name: str, budget) -> None:
        self.prefix = f"[{i}/{n}] {name:<36}"
        self.budget = f" (budget {budget:g}s)" if budget else ""
        if self.live:
            print(f"{self.prefix} running ...{self.budget}", end="", flush=True)
        elif not self.quiet:
            print(f"{self.prefix} running ...{self.budget}", flush=True)

    def tick(self, seconds: float) -> None:
        if self.live:
            print(f"\r{self.prefix} running {seconds:4.0f}s{self.budget}", end="", flush=True)

    def done(self, row: dict) -> None:
        state = "ok" if not row["error"] else ("OVER BUDGET" if row.get("over_budget") else "FAILED")
        peak = f"peak {row['peak_mb']} MB" if row["peak_mb"] is not None else "peak ? MB"
        line = f"{self.prefix} {state:<6} {row['seconds']:6.1f}s  {peak:<14} {format_headlines(row['headlines'])}"
        print(("\r\033[K" if self.live else "") + line, flush=True)


def run(profile_name: str = "default", only: str | None = None, overrides: dict | None = None,
        output: str | None = None, quiet: bool = False, *, notebook_dir: Path = NOTEBOOK_DIR,
        params_dir: Path = PARAMS_DIR, report: bool = True) -> list[dict]:
    """Execute the chosen notebooks; write summary.json, summary.csv, run.json and
    index.html (also when a notebook fails); return the rows."""
    notebook_dir = Path(notebook_dir).resolve()
    if not notebooks(notebook_dir):
        raise RunError(f"no course notebooks in {notebook_dir}; {NO_COURSE}")
    profile = load_profile(profile_name, params_dir)
    names = select(only, notebook_dir)
    overrides = overrides or {}
    out = Path(output or Path(notebook_dir).parent / "runs" / profile_name)
    if out.exists() and not out.is_dir():
        raise RunError(f"--output {output or out}: that is a file, not a folder; give a folder (it is created if missing)")
    # check every notebook's parameters before running any
    plan = {n: parameters_for(n, profile, overrides, out.resolve(), notebook_dir) for n in names}
    stray = sorted(set(profile.get("common") or {}) - _all_parameters(notebook_dir))
    if stray:
        raise RunError(f"profile {profile_name!r}: common parameter(s) {', '.join(stray)} are taken by no notebook")
    out = output_folder(out)
    ensure_kernel()

    info = {"profile": profile_name, "only": only, "overrides": overrides,
            "command": "python -m course_lib " + " ".join(sys.argv[1:]) if sys.argv[0].endswith("__main__.py") else None,
            "started": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
            "machine": machine(), "notebooks": names}
    (out / "run.json").write_text(json.dumps(info, indent=2, default=str) + "\n")
    progress = _Progress(quiet)
    rows: list[dict] = []
    failure = None
    try:
        for i, name in enumerate(names, 1):
            budget = ((profile.get("notebooks") or {}).get(name) or {}).get("budget_s")
            progress.start(i, len(names), name, budget)
            metrics_file = out / name / "metrics.json"
            metrics_file.unlink(missing_ok=True)  # never report a previous run's numbers
            result = _execute_one(name, out / f"{name}.ipynb", plan[name], out / f"{name}.log", budget,
                                  notebook_dir, progress.tick)
            record = json.loads(metrics_file.read_text()) if metrics_file.exists() else {}
            metrics = record.get("metrics", {}) if not result["error"] else {}
            data = record.get("data") or []
            row = {"notebook": name, "profile": profile_name,
                   "status": "ok" if not result["error"] else ("over budget" if result["over_budget"] else "error"),
                   "seconds": round(result["seconds"], 1),
                   "peak_mb": None if result["peak_mb"] is None else round(result["peak_mb"]),
                   "budget_s": budget, "dataset": data[0].get("dataset") if data else plan[name].get("dataset"),
                   "data_source": data[0].get("source") if data else None,
                   "device": record.get("device"), "threads": record.get("threads"),
                   "headlines": headlines(name, metrics), "error": result["error"],
                   "over_budget": result["over_budget"], "params": plan[name], "metrics": metrics,
                   "data": data}
            if result["over_budget"] and not result["error"]:
                row["status"] = "over budget"
                row["error"] = f"took {result['seconds']:.0f}s, over its {budget:g}s budget"
            rows.append(row)
            progress.done(row)
            _write_summary(out, rows)
            if row["error"]:
                where = out / f"{name}.ipynb"
                if row["status"] == "over budget":
                    failure = (f"{name} {row['error']} in profile {profile_name!r} "
                               f"(raise budget_s in params/{profile_name}.yaml if it should take longer)")
                else:
                    failure = f"{name} failed: {row['error']} (executed notebook: {where}; kernel log: {out / (name + '.log')})"
                break
    finally:
        if report and rows:
            from . import report as report_module

            index = report_module.write_index(out, rows, info)
            if not quiet:
                print(f"report: {index}", flush=True)
    if failure:
        raise RunError(failure)
    total = sum(r["seconds"] for r in rows)
    print(f"{'total':<44} {total:6.1f}s  -> {out}", flush=True)
    return rows


SUMMARY_FIELDS = ["notebook", "profile", "status", "seconds", "budget_s", "peak_mb", "dataset", "device",
                  "threads", "headlines", "error"]


def _write_summary(out: Path, rows: list[dict]) -> None:
    (out / "summary.json").write_text(json.dumps(rows, indent=2, default=str) + "\n")
    with open(out / "summary.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=SUMMARY_FIELDS, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, "headlines": format_headlines(row["headlines"])})


def ensure_kernel() -> None:
    """Register the ``mnist-course`` kernel for this Python, inside its prefix, if missing."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        spec = KernelSpecManager().get_kernel_spec(KERNEL)
        if Path(spec.argv[0]).resolve() == Path(sys.executable).resolve():
            return
    except NoSuchKernel:
        pass
    subprocess.run([sys.executable, "-m", "ipykernel", "install", "--sys-prefix", "--name", KERNEL,
                    "--display-name", "Python (mnist-course)"], check=True, stdout=subprocess.DEVNULL)


# course_lib modules that do not change what a notebook computes or prints.
def modules_used(nb) -> list[str]:
    """The course_lib modules a notebook imports, and those they import in turn."""
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    todo = set(re.findall(r"from course_lib\.(\w+) import", code))
    for names in re.findall(r"from course_lib import ([\w, ]+)", code):
        todo |= {n.strip() for n in names.split(",") if n.strip()}
    todo.add("__init__")
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        path = ROOT / "course_lib" / f"{name}.py"
        if name in seen or not path.exists():
            continue
        seen.add(name)
        text = path.read_text()
        todo |= set(re.findall(r"from \.(\w+) import", text))
        for names in re.findall(r"from \. import ([\w, ]+)", text):
            todo |= {n.strip() for n in names.split(",") if n.strip()}
    return sorted(seen)


def source_stamp(nb) -> str:
    """sha256 of a notebook's code cells and of the course_lib modules it runs.

    ``refresh`` stores it in the committed notebook's metadata; a test recomputes it, so
    a notebook whose outputs predate an edit (to it or to a course_lib module it uses)
    fails the tests.
    """
    h = hashlib.sha256()
    for cell in nb.cells:
        if cell.cell_type == "code" and "injected-parameters" not in cell.metadata.get("tags", []):
            h.update(cell.source.encode() + b"\0")
    for name in modules_used(nb):
        path = ROOT / "course_lib" / f"{name}.py"
        h.update(path.name.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def refresh(only: str | None = None) -> None:
    """Re-execute the committed notebooks in place on the embedded sample, default
    parameters, in order, and stamp each with :func:`source_stamp`."""
    import nbformat
    import papermill

    ensure_kernel()
    os.environ["COURSE_DATA"] = "mnist-sample"
    for name in select(only):
        path = NOTEBOOK_DIR / f"{name}.ipynb"
        # the notebooks' default output_dir: clear it, so no checkpoint of an earlier run is
        # reloaded and the committed outputs show what a newcomer's first run does
        shutil.rmtree(ROOT / "runs" / "default" / name, ignore_errors=True)
        t0 = time.perf_counter()
        try:
            papermill.execute_notebook(str(path), str(path), parameters={"progress": False}, kernel_name=KERNEL,
                                       cwd=str(NOTEBOOK_DIR), progress_bar=False)
        except papermill.PapermillExecutionError as e:
            raise RunError(f"{name} failed: {e.ename}: {e.evalue}") from None
        nb = nbformat.read(path, as_version=4)
        nb.cells = [c for c in nb.cells if "injected-parameters" not in c.metadata.get("tags", [])]
        nb.metadata.pop("papermill", None)
        for cell in nb.cells:
            cell.metadata.pop("papermill", None)
            cell.metadata.pop("execution", None)
        # renumber: dropping the injected cell leaves a gap in the execution counts
        count = 0
        for cell in nb.cells:
            if cell.cell_type == "code":
                count += 1
                cell.execution_count = count
                for out in cell.outputs:
                    if "execution_count" in out:
                        out["execution_count"] = count
        nb.metadata["course"] = {"stamp": source_stamp(nb), "profile": "default", "dataset": "mnist-sample"}
        nbformat.write(nb, path)
        print(f"{name:<36} refreshed in {time.perf_counter() - t0:.1f}s", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_lib", description="Run the MNIST course notebooks.")
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="execute notebooks with papermill on a profile")
    r.add_argument("--profile", default="default", help="smoke, default or full (params/NAME.yaml)")
    r.add_argument("--only", help="comma-separated notebook numbers or names, e.g. 03,05")
    r.add_argument("-p", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="a parameter for every chosen notebook (repeatable)")
    r.add_argument("--output", help="output folder (default runs/PROFILE)")
    r.add_argument("--quiet", action="store_true", help="only the summary lines")
    sub.add_parser("kernel", help="register the mnist-course Jupyter kernel")
    f = sub.add_parser("refresh", help="re-execute the committed notebooks in place (default profile, sample data)")
    f.add_argument("--only", help="comma-separated notebook numbers or names")
    rep = sub.add_parser("report", help="rebuild index.html of a run folder from its summary.json")
    rep.add_argument("folder", help="a run folder, e.g. runs/default")
    args = parser.parse_args(argv)
    try:
        if args.command == "kernel":
            ensure_kernel()
            return 0
        if args.command == "refresh":
            refresh(args.only)
            return 0
        if args.command == "report":
            from . import report

            print(report.rebuild(args.folder))
            return 0
        overrides = dict(parse_override(o) for o in args.overrides)
        run(args.profile, args.only, overrides, args.output, args.quiet)
    except RunError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0
