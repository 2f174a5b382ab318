"""Run the course: every chosen notebook, in order, each in its own process, on one profile.

Every notebook's parameters are checked before any runs (see :mod:`.profiles`). The profile's
budgets are scaled to this machine (see :mod:`.speed`; the run says the factor in one line), or
turned off (``budgets=False``, ``--no-budget``). A notebook that errors or goes over its time
budget stops the run with a one-line message; a false claim does not (the run lists them at its
end; see :mod:`.claims`).

A run folder holds, per notebook, the executed ``NN_name.ipynb``, its ``NN_name.log``
(the kernel's stderr) and its ``output_dir`` ``NN_name/`` (metrics.json, artifacts);
for the run, ``summary.csv`` / ``summary.json`` (one row a notebook), ``run.json``
(profile, overrides, machine, budget factor) and ``index.html`` (see :mod:`.report`).
"""
from __future__ import annotations

import datetime
import json
import os
import sys
from pathlib import Path

from . import claims, profiles, speed, summary
from .checkout import NO_COURSE, NOTEBOOK_DIR, PARAMS_DIR, notebooks
from .errors import RunError
from .execute import ensure_kernel, execute_one, machine


def refuse_a_file(out: Path, output) -> None:
    """A one-line RunError if the output folder asked for is a file (the runner, the sweep, the site, the
    slides and the student edition share it)."""
    if out.exists() and not out.is_dir():
        raise RunError(f"--output {output}: that is a file, not a folder; give a folder (it is created if missing)")


def output_folder(output: str | os.PathLike) -> Path:
    """The run's output folder, created; a one-line RunError if it is a file or cannot be made/written."""
    out = Path(output).expanduser().resolve()
    refuse_a_file(out, output)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise RunError(f"--output {output}: cannot create that folder ({err.strerror}); give another") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise RunError(f"--output {output}: that folder is not writable; give another")
    return out


class Progress:
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
        line = f"{self.prefix} {state:<6} {row['seconds']:6.1f}s  {peak:<14} {summary.format_headlines(row['headlines'])}"
        print(("\r\033[K" if self.live else "") + line, flush=True)


def _failure(row: dict, out: Path, profile_name: str, reference_s: float | None) -> str:
    """The one line a run stops with when a notebook fails (``reference_s``: its budget_s in the profile)."""
    name = row["notebook"]
    if row["status"] == "over budget":
        return (f"{name} stopped after {row['seconds']:.0f}s, over its {row['budget_s']:g}s budget "
                f"({reference_s:g}s in params/{profile_name}.yaml x {row['budget_factor']:.2f} for this machine); "
                f"if it should take longer, rerun with --no-budget")
    return f"{name} failed: {row['error']} (executed notebook: {out / (name + '.ipynb')}; kernel log: {out / (name + '.log')})"


def run(profile_name: str = "default", only: str | None = None, overrides: dict | None = None,
        output: str | None = None, quiet: bool = False, budgets: bool = True, *,
        notebook_dir: Path = NOTEBOOK_DIR, params_dir: Path = PARAMS_DIR, report: bool = True) -> list[dict]:
    """Execute the chosen notebooks; write summary.json, summary.csv, run.json and
    index.html (also when a notebook fails); return the rows. ``budgets=False``: no time budgets."""
    notebook_dir = Path(notebook_dir).resolve()
    if not notebooks(notebook_dir):
        raise RunError(f"no course notebooks in {notebook_dir}; {NO_COURSE}")
    profile = profiles.load_profile(profile_name, params_dir, notebook_dir)
    names = profiles.select(only, notebook_dir)
    overrides = overrides or {}
    out = Path(output or Path(notebook_dir).parent / "runs" / profile_name)
    refuse_a_file(out, output or out)  # before the parameters: the first thing wrong is the one said
    # check every notebook's parameters before running any
    plan = {n: profiles.parameters_for(n, profile, overrides, out.resolve(), notebook_dir) for n in names}
    profiles.check_common(profile_name, profile, notebook_dir)
    out = output_folder(out)
    ensure_kernel()
    scale = speed.for_profile(profile) if budgets else {"factor": None, "line": "budgets: off (--no-budget)"}
    print(scale["line"], flush=True)

    info = {"profile": profile_name, "only": only, "overrides": overrides, "budgets": scale,
            "command": "python -m course_lib " + " ".join(sys.argv[1:]) if sys.argv[0].endswith("__main__.py") else None,
            "started": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
            "machine": machine(), "notebooks": names}
    (out / "run.json").write_text(json.dumps(info, indent=2, default=str) + "\n")
    progress = Progress(quiet)
    rows: list[dict] = []
    failure = None
    try:
        for i, name in enumerate(names, 1):
            budget = profiles.budget(profile, name, scale["factor"]) if budgets else None
            progress.start(i, len(names), name, budget)
            metrics_file = out / name / "metrics.json"
            metrics_file.unlink(missing_ok=True)  # never report a previous run's numbers
            result = execute_one(name, out / f"{name}.ipynb", plan[name], out / f"{name}.log", budget,
                                 notebook_dir, progress.tick)
            record = json.loads(metrics_file.read_text()) if metrics_file.exists() else {}
            row = summary.row(name, profile_name, result, record, plan[name], budget, scale["factor"])
            rows.append(row)
            progress.done(row)
            summary.write(out, rows)
            if row["error"]:
                failure = _failure(row, out, profile_name, profiles.budget(profile, name, 1.0))
                break
    finally:
        for line in filter(None, map(claims.run_line, rows)):  # claims never stop a run: said, not raised
            print(line, flush=True)
        if report and rows:
            from .report import write_index

            index = write_index(out, rows, info)
            if not quiet:
                print(f"report: {index}", flush=True)
    if failure:
        raise RunError(failure)
    total = sum(r["seconds"] for r in rows)
    print(f"{'total':<44} {total:6.1f}s  -> {out}", flush=True)
    return rows
