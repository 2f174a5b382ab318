"""Run the course: every notebook, in order, through papermill, on one profile.

    python -m course_lib run --profile default            # the whole course into runs/default
    python -m course_lib run --profile smoke --only 01,02  # two notebooks, in seconds
    python -m course_lib run -p epochs=5 -p seed=1        # overrides for every notebook

Each notebook's parameters are checked against its ``parameters`` cell before anything
runs (papermill alone only warns about a name it does not know). Each notebook runs in
a child process so that its wall-clock time and peak memory are its own; one that errors
or goes over the profile's time budget stops the run with a one-line message.
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
PARAMS_DIR = ROOT / "params"
KERNEL = "mnist-course"

# The course, in order, with the metric each notebook's summary line shows.
HEADLINES = {
    "01_pixel_similarity": "acc_l2",
    "02_mlp_classifier": "mlp_test_acc",
    "03_autoencoder": "mse_2d",
    "04_vae_visualisation": "test_elbo",
    "05_neighbourhood_preservation": "score10_relu_mse",
    "06_transformer_dataset_similarity": "speedup_patch_vs_pixel",
}


class RunError(RuntimeError):
    """A run that must stop; the message is one line."""


def notebooks() -> list[str]:
    return sorted(p.stem for p in NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))


def load_profile(name: str) -> dict:
    path = PARAMS_DIR / f"{name}.yaml"
    if not path.exists():
        known = ", ".join(sorted(p.stem for p in PARAMS_DIR.glob("*.yaml")))
        raise RunError(f"unknown profile {name!r}: choose one of {known}")
    return yaml.safe_load(path.read_text())


def parse_override(text: str) -> tuple[str, object]:
    """``key=value`` with the value read as YAML (``5`` is an int, ``true`` a bool)."""
    if "=" not in text:
        raise RunError(f"override {text!r} must look like key=value")
    key, value = text.split("=", 1)
    return key.strip(), yaml.safe_load(value)


def select(only: str | None) -> list[str]:
    names = notebooks()
    if not only:
        return names
    chosen = []
    for token in only.split(","):
        token = token.strip()
        match = [n for n in names if n == token or n.startswith(token + "_") or n.startswith(token)]
        if not match:
            raise RunError(f"--only {token!r} matches no notebook: choose from {', '.join(n[:2] for n in names)}")
        chosen += [m for m in match if m not in chosen]
    return [n for n in names if n in chosen]


def notebook_parameters(name: str) -> dict:
    """The names and defaults of a notebook's ``parameters`` cell, via papermill."""
    import papermill

    return papermill.inspect_notebook(str(NOTEBOOK_DIR / f"{name}.ipynb"))


def parameters_for(name: str, profile: dict, overrides: dict, output_dir: Path) -> dict:
    """Profile ``common`` < the profile's notebook entry < command-line overrides, checked."""
    declared = notebook_parameters(name)
    entry = (profile.get("notebooks") or {}).get(name) or {}
    params = {k: v for k, v in (profile.get("common") or {}).items() if k in declared}
    params.update(entry.get("parameters") or {})
    for key, value in overrides.items():
        if key not in declared:
            raise RunError(f"{name}: unknown parameter {key!r}; it takes {', '.join(declared)}")
        params[key] = value
    unknown = [k for k in params if k not in declared]
    if unknown:
        raise RunError(f"{name}: the profile sets unknown parameter(s) {', '.join(unknown)}")
    params["output_dir"] = str(output_dir / name)
    return params


def _execute_one(name: str, out_nb: Path, params: dict, log_path: Path) -> dict:
    """Run one notebook in a child process; return seconds, peak memory and error (if any)."""
    code = (
        "import json, resource, sys, papermill\n"
        "args = json.loads(sys.argv[1])\n"
        "err = None\n"
        "try:\n"
        "    papermill.execute_notebook(args['input'], args['output'], parameters=args['params'],\n"
        "        kernel_name=args['kernel'], cwd=args['cwd'], progress_bar=False, log_output=False)\n"
        "except papermill.PapermillExecutionError as e:\n"
        "    err = f'{e.ename}: {e.evalue}'\n"
        "except Exception as e:\n"
        "    err = f'{type(e).__name__}: {e}'\n"
        "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024\n"
        "print(json.dumps({'error': err, 'peak_mb': peak}))\n"
    )
    args = {"input": str(NOTEBOOK_DIR / f"{name}.ipynb"), "output": str(out_nb), "params": params,
            "kernel": KERNEL, "cwd": str(NOTEBOOK_DIR)}
    t0 = time.perf_counter()
    with open(log_path, "w") as log:
        proc = subprocess.run([sys.executable, "-c", code, json.dumps(args)], stdout=subprocess.PIPE,
                              stderr=log, text=True)
    seconds = time.perf_counter() - t0
    try:
        result = json.loads(proc.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        result = {"error": f"the runner's child process failed (see {log_path})", "peak_mb": None}
    result["seconds"] = seconds
    return result


def _headline(name: str, metrics: dict) -> tuple[str, object]:
    key = HEADLINES.get(name, "")
    return key, metrics.get(key)


def run(profile_name: str = "default", only: str | None = None, overrides: dict | None = None,
        output: str | None = None, quiet: bool = False) -> list[dict]:
    """Execute the chosen notebooks; write summary.json and summary.csv; return the rows."""
    ensure_kernel()
    profile = load_profile(profile_name)
    names = select(only)
    if not names:
        raise RunError(f"no notebooks found in {NOTEBOOK_DIR}")
    out = Path(output or ROOT / "runs" / profile_name).resolve()
    out.mkdir(parents=True, exist_ok=True)
    plan = {n: parameters_for(n, profile, overrides or {}, out) for n in names}  # check all first

    rows = []
    for i, name in enumerate(names, 1):
        budget = ((profile.get("notebooks") or {}).get(name) or {}).get("budget_s")
        if not quiet:
            print(f"[{i}/{len(names)}] {name} ...", flush=True)
        result = _execute_one(name, out / f"{name}.ipynb", plan[name], out / f"{name}.log")
        metrics_file = out / name / "metrics.json"
        metrics = json.loads(metrics_file.read_text())["metrics"] if metrics_file.exists() and not result["error"] else {}
        key, value = _headline(name, metrics)
        row = {"notebook": name, "profile": profile_name, "seconds": round(result["seconds"], 1),
               "peak_mb": None if result["peak_mb"] is None else round(result["peak_mb"]),
               "budget_s": budget, "headline": key, "value": value, "error": result["error"],
               "dataset": plan[name].get("dataset", "default"), "metrics": metrics}
        rows.append(row)
        shown = f"{value:.4g}" if isinstance(value, (int, float)) else value
        print(f"{name:<36} {key}={shown}  {row['seconds']:.1f}s  peak {row['peak_mb']} MB", flush=True)
        _write_summary(out, rows)
        if result["error"]:
            raise RunError(f"{name} failed: {result['error']} (notebook: {out / (name + '.ipynb')})")
        if budget is not None and result["seconds"] > budget:
            raise RunError(f"{name} took {result['seconds']:.0f}s, over its {budget}s budget in profile {profile_name!r}")
    total = sum(r["seconds"] for r in rows)
    print(f"{'total':<36} {total:.1f}s  -> {out}")
    return rows


def _write_summary(out: Path, rows: list[dict]) -> None:
    (out / "summary.json").write_text(json.dumps(rows, indent=2, default=str) + "\n")
    fields = ["notebook", "profile", "dataset", "seconds", "peak_mb", "budget_s", "headline", "value", "error"]
    with open(out / "summary.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


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
NOT_IN_STAMP = {"runner.py", "__main__.py", "report.py"}


def source_stamp(nb) -> str:
    """sha256 of a notebook's code cells and of the course_lib modules it runs.

    ``refresh`` stores it in the committed notebook's metadata; a test recomputes it, so
    a notebook whose outputs predate an edit (to it or to course_lib) fails the tests.
    """
    h = hashlib.sha256()
    for cell in nb.cells:
        if cell.cell_type == "code" and "injected-parameters" not in cell.metadata.get("tags", []):
            h.update(cell.source.encode() + b"\0")
    for path in sorted((ROOT / "course_lib").glob("*.py")):
        if path.name not in NOT_IN_STAMP:
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
    args = parser.parse_args(argv)
    try:
        if args.command == "kernel":
            ensure_kernel()
            return 0
        if args.command == "refresh":
            refresh(args.only)
            return 0
        overrides = dict(parse_override(o) for o in args.overrides)
        run(args.profile, args.only, overrides, args.output, args.quiet)
    except RunError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0
