"""One notebook in its own child process, so that its time and peak memory are its own.

The child runs papermill; the last line it prints is the result (error, peak memory).
A notebook still running at its time budget is stopped, kernel and all. Also here: the
``mnist-course`` Jupyter kernel the notebooks run in, and what machine they run on.
"""
from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from .checkout import KERNEL, NOTEBOOK_DIR

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


def kill_tree(pid: int) -> None:
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


def execute_one(name: str, out_nb: Path, params: dict, log_path: Path, budget: float | None = None,
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
                    kill_tree(proc.pid)
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
