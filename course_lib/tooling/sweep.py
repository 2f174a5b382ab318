"""``python -m course_lib sweep``: chosen notebooks over seeds and a grid of parameters, on Dask.

One task is one papermill run of one notebook, through :func:`.execute.execute_one` (its own
child process, its time budget, its peak memory), into its own folder
``OUTPUT/tasks/NN_name/seed=3[,key=value]/``: the executed ``NN_name.ipynb``, its kernel log
``NN_name.log``, its ``output_dir`` ``NN_name/`` (metrics.json, artifacts) and ``task.json``
(status ok / error / over budget, the error line, seconds, peak memory, parameters).

Every task's parameters are checked before any is submitted (names by
:func:`.profiles.parameters_for`, values by the types of each notebook's ``parameters``
cell). The tasks go to a Dask ``LocalCluster`` on this machine (one task per worker, the
workers times each notebook's ``threads`` no more than the cores; see :func:`size`) or to a
running scheduler (``--scheduler``: the workers must see the checkout and OUTPUT at the same
paths, i.e. a shared filesystem, and run this environment). A failed task is recorded and
the sweep goes on. A rerun skips the tasks whose task.json says ok with the same parameters.

:func:`merge` (also ``sweep --merge-only OUTPUT``) writes ``sweep.csv`` (one row a task),
``sweep-claims.csv`` (per notebook, grid point and claim: seeds checked, held, not checked,
the smallest margin), ``sweep-metrics.csv`` (per notebook, grid point and headline metric,
then ``seconds`` and ``peak_mb``: n, mean, sd, min, max), ``sweep.json`` (all of it) and
``sweep.html`` (``templates/sweep.html.j2``).
"""
from __future__ import annotations

import csv
import datetime
import hashlib
import itertools
import json
import math
import logging
import os
import re
import socket
import statistics
import sys
import time
from pathlib import Path

import yaml

from .. import records
from . import profiles, speed, summary
from .checkout import NO_COURSE, NOTEBOOK_DIR, PARAMS_DIR, notebooks
from .errors import RunError
from .execute import ensure_kernel, execute_one, machine
from .runner import refuse_a_file, output_folder

CONNECT_TIMEOUT_S = 10
ENV_PASSED = ("COURSE_DATA",)  # set here, it reaches every task, on any worker
# A Dask nanny sets these for its worker; a notebook's kernel must not inherit them. The notebook
# sets its own threads (torch and, through threadpoolctl, the BLAS pools), and glibc trimming its heap
# at 64 KB made the default profile of 05 run twice as slowly as a plain run (measured: 255 s against 130 s).
NANNY_ENV = ("MALLOC_TRIM_THRESHOLD_", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
RESULTS = {"tasks": "sweep.csv", "claims": "sweep-claims.csv", "metrics": "sweep-metrics.csv",
           "values": "sweep-values.csv"}


def first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0]}" if text else type(err).__name__


# ---- the command line's input -------------------------------------------------------------

def parse_seeds(text: str) -> list[int]:
    """``0-3,7`` -> [0, 1, 2, 3, 7]: numbers and rising ranges, comma-separated."""
    seeds: list[int] = []
    for item in (t.strip() for t in str(text).split(",")):
        match = re.fullmatch(r"(\d+)(?:\s*-\s*(\d+))?", item)
        if not match:
            what = "an empty item" if not item else f"{item!r}, which is not a seed or a range"
            raise RunError(f"--seeds {text!r} has {what}: give numbers and ranges, e.g. --seeds 0-3,7")
        low, high = int(match[1]), int(match[2] or match[1])
        if high < low:
            raise RunError(f"--seeds {text!r}: the range {item} goes down; write {high}-{low}")
        seeds += [s for s in range(low, high + 1) if s not in seeds]
    return sorted(seeds)


def parse_grid(items: list[str]) -> dict[str, list]:
    """``["epochs=5,10", "dims=[2],[2, 10]"]`` -> {"epochs": [5, 10], "dims": [[2], [2, 10]]}: each value YAML."""
    grid: dict[str, list] = {}
    for text in items:
        key, sep, values = text.partition("=")
        key = key.strip()
        if not sep or not key:
            raise RunError(f"--grid {text!r} must look like key=v1,v2, e.g. --grid epochs=5,10")
        if not values.strip():
            raise RunError(f"--grid {key}: no values after '='; give one or more, e.g. --grid {key}=5,10")
        if key in grid:
            raise RunError(f"--grid {key} is given twice; give all its values in one, e.g. --grid {key}=5,10")
        if key == "seed":
            raise RunError("--grid seed: choose the seeds with --seeds, e.g. --seeds 0-3,7")
        try:
            parsed = yaml.safe_load(f"[{values}]")
        except yaml.YAMLError as err:
            raise RunError(f"--grid {key}: {values!r} is not a comma-separated list of YAML values "
                           f"({profiles.yaml_problem(err)}); e.g. 5,10 or [2],[2, 10]") from None
        if values.rstrip().endswith(","):
            raise RunError(f"--grid {key}: {values!r} ends with a comma; give the values separated by commas")
        repeated = [v for i, v in enumerate(parsed) if v in parsed[:i]]
        if repeated:
            raise RunError(f"--grid {key}: {repeated[0]!r} is given twice")
        grid[key] = parsed
    return grid


def grid_points(grid: dict[str, list]) -> list[dict]:
    """Every combination of the grid's values (one empty point for no grid), in the order given."""
    return [dict(zip(grid, values)) for values in itertools.product(*grid.values())]


def _slug(value) -> str:
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    return re.sub(r"[^\w.+\-\[\]]", "_", text)


def task_folder_name(seed: int, point: dict) -> str:
    """``seed=3`` or ``seed=3,epochs=5,dims=[2_10]``: a task's folder under OUTPUT/tasks/NN_name/."""
    return ",".join([f"seed={seed}", *(f"{k}={_slug(v)}" for k, v in point.items())])


# ---- the plan: every task's parameters, checked, and the cluster's size ------------------

def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS
        return os.cpu_count() or 1


def check_values(name: str, label: str, params: dict, declared: dict) -> None:
    """Each value against the type its ``parameters`` cell declares and the rules every notebook
    shares (dataset, seed, threads, ...): what the notebook's own check cell would refuse at its start.
    A notebook's own rules (ranges of its learning rates, ...) are still checked there."""
    from .. import params as checks

    for key, value in params.items():
        kind = (declared.get(key) or {}).get("inferred_type_name")
        if key == "output_dir" or not kind or kind == "None":
            continue
        try:
            checks.check({"__annotations__": {key: kind}, key: value})
        except ValueError as err:
            raise RunError(f"{name}, {label}: {err}") from None
        except Exception:  # a type this cannot read: the notebook's check cell has the last word
            pass


def default_value(name: str, declared: dict):
    """A parameter's default from the notebook's ``parameters`` cell (papermill gives its source text)."""
    text = declared[name].get("default")
    try:
        return yaml.safe_load(text) if isinstance(text, str) else text
    except yaml.YAMLError:
        return text


def size(wanted: int, cores: int, workers: int | None) -> tuple[int, int]:
    """(workers, threads per task) for a LocalCluster: one task per worker, and workers x threads
    no more than the cores. ``wanted``: the most threads a chosen notebook runs with."""
    if workers:
        return workers, max(1, min(wanted, cores // workers))
    threads = max(1, min(wanted, cores))
    return max(1, cores // threads), threads


def plan(profile_name: str, profile: dict, names: list[str], seeds: list[int], grid: dict, overrides: dict,
         out: Path, notebook_dir: Path, factor: float | None = 1.0) -> tuple[list[dict], dict]:
    """Every task (its notebook, seed, grid point, folder, parameters, budget: the profile's times
    ``factor``, or none if ``factor`` is None) and each notebook's
    declared parameters. Names are checked here, once a notebook (:func:`.profiles.parameters_for`);
    :func:`settle` then fixes the threads and checks the values."""
    env = {k: os.environ[k] for k in ENV_PASSED if os.environ.get(k)}
    points = grid_points(grid)
    tasks, declared = [], {}
    for name in names:
        declared[name] = profiles.notebook_parameters(name, notebook_dir)
        base = profiles.parameters_for(name, profile, {**overrides, **points[0], "seed": seeds[0]},
                                       out / "tasks" / name / "-", notebook_dir)
        folders: dict[str, dict] = {}
        for point, seed in itertools.product(points, seeds):
            label = task_folder_name(seed, point)
            if label in folders:
                raise RunError(f"--grid: {folders[label]} and {point} give the same task folder {label}; "
                               f"give values that differ in their letters or digits")
            folders[label] = point
            folder = out / "tasks" / name / label
            params = {**base, **point, "seed": seed, "output_dir": str(folder / name)}
            if "threads" in declared[name]:  # said, not left to the notebook: the cluster is sized by it
                params.setdefault("threads", default_value("threads", declared[name]))
            tasks.append({"notebook": name, "seed": seed, "grid": point, "label": label, "folder": str(folder),
                          "params": params, "budget_s": None if factor is None else profiles.budget(profile, name, factor),
                          "profile": profile_name,
                          "notebook_dir": str(notebook_dir), "env": env})
    return tasks, declared


def settle(tasks: list[dict], declared: dict, threads_cap: int | None, pinned: bool) -> None:
    """Give each task at most ``threads_cap`` threads (unless ``-p``/``--grid`` pinned them), check
    its values (:func:`check_values`) and give it its Dask key: deterministic, one a task."""
    for task in tasks:
        params = task["params"]
        if _number(params.get("threads")) and threads_cap is not None and not pinned:
            params["threads"] = min(params["threads"], threads_cap)
        check_values(task["notebook"], task["label"], params, declared[task["notebook"]])
        digest = hashlib.sha1(json.dumps([task["folder"], params], sort_keys=True, default=str).encode()).hexdigest()
        task["key"] = f"course-sweep-{task['notebook']}-{task['label']}-{digest[:10]}"


def _same_params(a: dict, b: dict) -> bool:
    """Whether a finished task ran with the parameters planned now (threads aside: they follow the cluster)."""
    def key(p):
        return json.dumps({k: v for k, v in p.items() if k != "threads"}, sort_keys=True, default=str)
    return key(a) == key(b)


def finished_earlier(task: dict) -> bool:
    path = Path(task["folder"]) / "task.json"
    try:
        done = json.loads(path.read_text())
    except (OSError, ValueError):
        return False
    return done.get("status") == "ok" and _same_params(done.get("params") or {}, task["params"])


# ---- one task, on a worker ----------------------------------------------------------------

def write_task(task: dict, result: dict) -> dict:
    """``task.json`` of one task from :func:`.execute.execute_one`'s ``result``: status (ok, error,
    over budget), error line, seconds, peak memory, parameters. The merge reads its metrics.json;
    a worker never imports torch (a child it starts would count the worker's memory as its own)."""
    status = "over budget" if result["over_budget"] else "error" if result["error"] else "ok"
    entry = {"notebook": task["notebook"], "seed": task["seed"], "grid": task["grid"], "label": task["label"],
             "status": status, "error": result["error"], "seconds": round(result["seconds"], 1),
             "peak_mb": None if result["peak_mb"] is None else round(result["peak_mb"]),
             "over_budget": result["over_budget"], "budget_s": task["budget_s"], "profile": task["profile"],
             "params": task["params"], "folder": task["folder"], "host": socket.gethostname(),
             "finished": datetime.datetime.now().astimezone().isoformat(timespec="seconds")}
    folder = Path(task["folder"])
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / "task.json.partial"
    partial.write_text(json.dumps(entry, indent=2, default=str) + "\n")
    partial.replace(folder / "task.json")  # whole or absent: a rerun never reads half a file
    return entry


def run_task(task: dict) -> dict:
    """Run one task's notebook and write its task.json; never raises (a failure is recorded)."""
    folder = Path(task["folder"])
    name = task["notebook"]
    saved = {k: os.environ.get(k) for k in (*task["env"], *NANNY_ENV)}
    try:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "task.json").unlink(missing_ok=True)
        (Path(task["params"]["output_dir"]) / "metrics.json").unlink(missing_ok=True)  # no earlier numbers
        for k in NANNY_ENV:
            os.environ.pop(k, None)
        os.environ.update(task["env"])  # one task at a time per worker (threads_per_worker=1)
        result = execute_one(name, folder / f"{name}.ipynb", task["params"], folder / f"{name}.log",
                             task["budget_s"], Path(task["notebook_dir"]))
    except Exception as err:
        result = {"error": first_line(err), "peak_mb": None, "seconds": 0.0, "over_budget": False}
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return write_task(task, result)


# ---- the cluster --------------------------------------------------------------------------

def connect(scheduler: str | None, workers: int):
    """(client, cluster): a running scheduler's, or a new LocalCluster of ``workers`` one-thread workers."""
    import importlib.util

    from distributed import Client, LocalCluster

    if scheduler:
        try:
            return Client(scheduler, timeout=CONNECT_TIMEOUT_S), None
        except Exception as err:  # OSError, TimeoutError, ValueError (a malformed address) ...
            raise RunError(f"--scheduler {scheduler}: cannot reach it ({first_line(err)})") from None
    dashboard = ":0" if importlib.util.find_spec("bokeh") else None  # the dashboard needs bokeh
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=dashboard,
                           silence_logs=logging.ERROR)
    return Client(cluster), cluster


def describe(client, scheduler: str | None, threads: int | None, cores: int) -> str:
    """One line: the cluster's workers and task slots, the threads of each notebook, the dashboard."""
    info = client.scheduler_info()
    workers = (info.get("workers") or {}).values()
    if scheduler is None:
        line = (f"cluster: LocalCluster, {len(workers)} worker(s) x 1 task, on {cores} core(s); "
                f"each notebook runs with threads={threads}")
    else:
        line = f"cluster: {scheduler}, {len(workers)} worker(s), {sum(w.get('nthreads', 0) for w in workers)} task slot(s)"
        line += "" if workers else " (no workers yet: the tasks wait for them)"
    if "dashboard" in (info.get("services") or {}):
        line += f"; dashboard {client.dashboard_link}"
    return line


def submit(tasks: list[dict], client, quiet: bool) -> None:
    """Every task to the cluster; a progress bar counts them as they finish."""
    from distributed import as_completed
    from tqdm.auto import tqdm

    futures = [client.submit(run_task, t, key=t["key"], pure=False) for t in tasks]
    by_key = {f.key: t for f, t in zip(futures, tasks)}
    counts = {"ok": 0, "failed": 0}
    with tqdm(total=len(tasks), unit="task", disable=quiet, desc="sweep", file=sys.stdout) as bar:
        for future in as_completed(futures):
            task = by_key[future.key]
            try:
                entry = future.result()
            except Exception as err:  # the worker died under it (memory, a signal): recorded from here
                entry = write_task(task, {"error": f"its worker died ({first_line(err)})", "peak_mb": None,
                                          "seconds": 0.0, "over_budget": False})
            counts["ok" if entry["status"] == "ok" else "failed"] += 1
            bar.set_postfix_str(f"{counts['ok']} ok, {counts['failed']} failed", refresh=False)
            bar.update()


# ---- the sweep ----------------------------------------------------------------------------

def sweep(profile_name: str = "default", only: str | None = None, seeds: str = "0-9", grid: list[str] = (),
          overrides: dict | None = None, output: str | None = None, scheduler: str | None = None,
          workers: int | None = None, quiet: bool = False, budgets: bool = True, *, notebook_dir: Path = NOTEBOOK_DIR,
          params_dir: Path = PARAMS_DIR) -> dict:
    """Run every (notebook, grid point, seed) task not done earlier; merge all of them; return the merge.
    Budgets are scaled to this machine as in a run (:mod:`.speed`), or off with ``budgets=False``."""
    seed_list = parse_seeds(seeds)
    grid_values = parse_grid(list(grid))
    overrides = overrides or {}
    both = sorted(set(grid_values) & set(overrides))
    if both:
        raise RunError(f"{both[0]} is given with both -p and --grid; keep one")
    if "seed" in overrides:
        raise RunError("-p seed: choose the seeds with --seeds, e.g. --seeds 0-3,7")
    if workers is not None and workers < 1:
        raise RunError(f"--workers {workers}: give 1 or more")
    if workers is not None and scheduler:
        raise RunError("--workers sizes the LocalCluster; with --scheduler the cluster's workers are its own")
    notebook_dir = Path(notebook_dir).resolve()
    if not notebooks(notebook_dir):
        raise RunError(f"no course notebooks in {notebook_dir}; {NO_COURSE}")
    profile = profiles.load_profile(profile_name, params_dir, notebook_dir)
    try:
        names = profiles.select(only, notebook_dir)
    except RunError as err:  # the runner's words name its switch
        raise RunError(str(err).replace("--only", "--notebooks")) from None
    out = Path(output or notebook_dir.parent / "runs" / f"sweep-{profile_name}")
    refuse_a_file(out, output or out)
    cores = available_cores()
    scale = speed.for_profile(profile) if budgets else {"factor": None, "line": "budgets: off (--no-budget)"}
    tasks, declared = plan(profile_name, profile, names, seed_list, grid_values, overrides, out.resolve(), notebook_dir,
                           scale["factor"] if budgets else None)
    wanted = max((t["params"]["threads"] for t in tasks if _number(t["params"].get("threads"))), default=1)
    n_workers, cap = (None, None) if scheduler else size(wanted, cores, workers)
    settle(tasks, declared, cap, pinned="threads" in overrides or "threads" in grid_values)
    threads = max((t["params"]["threads"] for t in tasks if _number(t["params"].get("threads"))), default=1)
    profiles.check_common(profile_name, profile, notebook_dir)
    out = output_folder(out)
    ensure_kernel()

    todo = [t for t in tasks if not finished_earlier(t)]
    info = {"profile": profile_name, "notebooks": names, "seeds": seed_list, "grid": grid_values,
            "overrides": overrides, "scheduler": scheduler, "workers": n_workers, "threads": threads,
            "budgets": {k: v for k, v in scale.items() if k != "measured"},
            "command": "python -m course_lib " + " ".join(sys.argv[1:]) if sys.argv[0].endswith("__main__.py") else None,
            "started": datetime.datetime.now().astimezone().isoformat(timespec="seconds"), "machine": machine()}
    (out / "sweep-run.json").write_text(json.dumps(info, indent=2, default=str) + "\n")
    points = len(grid_points(grid_values))
    say = (lambda line: None) if quiet else (lambda line: print(line, flush=True))
    say(f"sweep: {len(names)} notebook(s) x {len(seed_list)} seed(s) x {points} grid point(s) = {len(tasks)} task(s); "
        f"{len(tasks) - len(todo)} done earlier, {len(todo)} to run -> {out}")
    say(scale["line"])
    t0 = time.perf_counter()
    if todo:
        client, cluster = connect(scheduler, n_workers)
        try:
            say(describe(client, scheduler, threads, cores))
            if n_workers and n_workers * threads > cores:
                say(f"note: {n_workers} worker(s) x {threads} thread(s) is more than the {cores} core(s): "
                    f"the runs will wait for each other (drop -p threads or --workers)")
            submit(todo, client, quiet)
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
    merged = merge(out, [Path(t["folder"]) for t in tasks], info)
    for line in failure_lines(merged):
        print(line, flush=True)
    counts = {s: sum(r["status"] == s for r in merged["tasks"]) for s in ("ok", "error", "over budget")}
    print(f"sweep: {counts['ok']} ok, {counts['error']} failed, {counts['over budget']} over budget "
          f"({len(todo)} run in {time.perf_counter() - t0:.0f}s) -> {out / 'sweep.html'}", flush=True)
    return merged


def failure_lines(merged: dict) -> list[str]:
    """One line per task that did not finish, with its error."""
    return [f"✗ {r['notebook']} {r['label']}: {r['status']}: {r['error']} ({r['folder']})"
            for r in merged["tasks"] if r["status"] != "ok"]


# ---- the merge ----------------------------------------------------------------------------

def load_tasks(out: Path, folders: list[Path] | None = None) -> list[dict]:
    """Each task.json under OUTPUT/tasks (or of ``folders``), with its metrics.json as ``record``."""
    out = Path(out)
    if folders is None:
        folders = sorted(p.parent for p in (out / "tasks").glob("*/*/task.json"))
    entries = []
    for folder in map(Path, folders):
        try:
            entry = json.loads((folder / "task.json").read_text())
        except (OSError, ValueError):  # not run yet (an interrupted sweep)
            continue
        try:
            entry["record"] = json.loads((folder / entry["notebook"] / "metrics.json").read_text())
        except (OSError, ValueError):
            entry["record"] = {}
        entries.append(entry)
    return entries


def stats(values: list[float]) -> dict:
    """n, mean, sd (sample; None for one value), min, max."""
    return {"n": len(values), "mean": statistics.fmean(values),
            "sd": statistics.stdev(values) if len(values) > 1 else None, "min": min(values), "max": max(values)}


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _claim_counts() -> dict:
    return {"checked": 0, "held": 0, "not_checked": 0, "false_seeds": [], "min_margin": None, "min_margin_seed": None}


def count_claims(finished: list[dict]) -> dict[str, dict]:
    """{claim text: checked, held, not checked, the seeds it was false in, the smallest margin and its seed}
    over the metrics.json ``record`` of each finished task."""
    found: dict[str, dict] = {}
    for e in finished:
        margins = e["record"].get("claim_margins") or {}
        for text, held in (e["record"].get("claims") or {}).items():
            c = found.setdefault(text, _claim_counts())
            c["checked"] += 1
            c["held"] += bool(held)
            if not held:
                c["false_seeds"].append(e["seed"])
            margin = margins.get(text)
            if _number(margin) and (c["min_margin"] is None or margin < c["min_margin"]):
                c["min_margin"], c["min_margin_seed"] = margin, e["seed"]
        for text in e["record"].get("not_checked") or {}:
            found.setdefault(text, _claim_counts())["not_checked"] += 1
    return found


def values_table(entries: list[dict]) -> list[dict]:
    """One row per finished task and number of its metrics.json: notebook, seed, dataset, metric, value
    (with its grid point): what a notebook's summary reads to set this run beside the seeds."""
    rows = []
    for e in sorted(entries, key=lambda e: (e["notebook"], json.dumps(e.get("grid") or {}, sort_keys=True), e["seed"])):
        record = e.get("record") or {}
        if e.get("status") != "ok" or not record:
            continue
        data = record.get("data") or [{}]
        rows += [{"notebook": e["notebook"], "seed": e["seed"], "grid": e.get("grid") or {}, "profile": e.get("profile"),
                  "dataset": data[0].get("dataset"), "metric": k, "value": v}
                 for k, v in records.numbers(record.get("metrics") or {}).items()]
    return rows


def merge_tasks(entries: list[dict]) -> dict:
    """The merged tables of a sweep's tasks (each a task.json with its metrics.json as ``record``):
    ``tasks`` (one row each, as :func:`.summary.row` makes it), ``claims`` (per notebook, grid point
    and claim), ``metrics`` (per notebook, grid point and headline metric, then ``seconds`` and
    ``peak_mb``) and ``notebooks`` (per notebook and grid point: tasks, ok, failed, seconds, peak memory).
    Claims and metrics count the tasks that ran to their end (a notebook that raised has none)."""
    def order(e):
        return e["notebook"], json.dumps(e.get("grid") or {}, sort_keys=True, default=str)

    tasks, groups = [], {}
    for e in sorted(entries, key=lambda e: (*order(e), e["seed"])):
        result = {"error": e.get("error"), "seconds": e.get("seconds") or 0.0, "peak_mb": e.get("peak_mb"),
                  "over_budget": bool(e.get("over_budget"))}
        row = summary.row(e["notebook"], e.get("profile"), result, e.get("record") or {}, e.get("params") or {},
                          e.get("budget_s"))
        row.update({"seed": e["seed"], "grid": e.get("grid") or {}, "label": e.get("label"), "folder": e.get("folder"),
                    "headlines": {k: v for k, v in row["headlines"].items() if _number(v)},
                    "finished": bool(e.get("record")) and not result["error"]})
        tasks.append(row)
        groups.setdefault(order(e), []).append((row, e))
    claims, metrics, runs = [], [], []
    for (name, _), members in groups.items():
        grid = members[0][0]["grid"]
        finished = [e for row, e in members if row["finished"]]
        claims += [{"notebook": name, "grid": grid, "claim": text, "seeds": len(finished), **c}
                   for text, c in count_claims(finished).items()]
        values: dict[str, list] = {}
        for row, _ in members:
            if row["finished"]:
                for k, v in [*row["headlines"].items(), ("seconds", row["seconds"]), ("peak_mb", row["peak_mb"])]:
                    values.setdefault(k, []).append(v)
        metrics += [{"notebook": name, "grid": grid, "metric": k, **stats([v for v in vs if _number(v)])}
                    for k, vs in values.items() if any(_number(v) for v in vs)]
        rows = [row for row, _ in members]
        runs.append({"notebook": name, "grid": grid, "tasks": len(rows),
                     **{s: sum(r["status"] == s for r in rows) for s in ("ok", "error", "over budget")},
                     "seconds": round(sum(r["seconds"] for r in rows), 1),
                     "peak_mb": max((r["peak_mb"] for r in rows if _number(r["peak_mb"])), default=None)})
    return {"grid_keys": list(dict.fromkeys(k for r in tasks for k in r["grid"])),
            "headline_keys": list(dict.fromkeys(k for r in tasks for k in r["headlines"])),
            "tasks": tasks, "claims": claims, "metrics": metrics, "notebooks": runs, "values": values_table(entries)}


def _cell(value):
    """A CSV cell: numbers and text as they are, lists and the like as YAML-readable JSON."""
    if value is None or isinstance(value, str) or _number(value):
        return value
    return json.dumps(value)


def write_csv(path: Path, rows: list[dict], fields: list[str], grid_keys: list[str], headline_keys=()) -> None:
    """Rows to CSV: ``fields``, each grid key a column of its own after ``notebook`` (and ``seed``) and
    each headline metric one after ``peak_mb``; a name taken twice gets ``grid:`` / ``metric:`` before it."""
    at = 2 if "seed" in fields else 1
    grid_cols = {k: k if k not in fields else f"grid:{k}" for k in grid_keys}
    taken = set(fields) | set(grid_cols.values())
    head_cols = {k: k if k not in taken else f"metric:{k}" for k in headline_keys}
    cut = fields.index("peak_mb") + 1 if head_cols else len(fields)
    columns = [*fields[:at], *grid_cols.values(), *fields[at:cut], *head_cols.values(), *fields[cut:]]
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            cells = {k: row.get(k) for k in fields}
            cells.update({col: row["grid"].get(k) for k, col in grid_cols.items()})
            cells.update({col: row["headlines"].get(k) for k, col in head_cols.items()})
            writer.writerow({k: _cell(v) for k, v in cells.items()})


def merge(out: str | Path, folders: list[Path] | None = None, info: dict | None = None) -> dict:
    """Merge a sweep folder's tasks (or those of ``folders``) into sweep.csv, sweep-claims.csv,
    sweep-metrics.csv, sweep.json and sweep.html; return the merge."""
    from .report import template

    out = Path(out)
    if info is None:
        try:
            info = json.loads((out / "sweep-run.json").read_text())
        except (OSError, ValueError):
            info = {}
    merged = merge_tasks(load_tasks(out, folders))
    if not merged["tasks"]:
        raise RunError(f"{out}: no finished task here (no tasks/NN_name/seed=N/task.json); run a sweep into it first")
    for row in merged["tasks"]:  # relative paths: the folder can be moved, the page still links
        row["folder"] = os.path.relpath(row["folder"], out) if row["folder"] else None
    for c in merged["claims"]:
        c["false_seeds"] = " ".join(map(str, c["false_seeds"]))
    keys = merged["grid_keys"]
    write_csv(out / RESULTS["tasks"], merged["tasks"],
              ["notebook", "seed", "status", "seconds", "peak_mb", "claims_held", "claims_false",
               "claims_not_checked", "error", "folder"], keys, merged["headline_keys"])
    write_csv(out / RESULTS["claims"], merged["claims"],
              ["notebook", "claim", "seeds", "checked", "held", "not_checked", "min_margin", "min_margin_seed",
               "false_seeds"], keys)
    write_csv(out / RESULTS["metrics"], merged["metrics"], ["notebook", "metric", "n", "mean", "sd", "min", "max"], keys)
    write_csv(out / RESULTS["values"], merged["values"], ["notebook", "seed", "profile", "dataset", "metric", "value"], keys)
    (out / "sweep.json").write_text(json.dumps({"info": info, **{k: v for k, v in merged.items() if k != "values"}},
                                               indent=2, default=str) + "\n")
    page = template("sweep.html.j2").render(
        info=info, grid_keys=keys, merged=merged, tables=[*RESULTS.values(), "sweep.json"],
        index="index.html" if (out / "index.html").exists() else None)
    (out / "sweep.html").write_text(page, encoding="utf-8")
    return merged
