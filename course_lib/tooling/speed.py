"""How fast this machine is against the one a profile's budgets were set on, and the factor
that scales those budgets.

A profile's ``budget_s`` are reference seconds: measured on the machine its ``reference:``
names, which also gives that machine's times for two small probes (:data:`PROBES`). At the start
of a run, :func:`measure` times the same probes here, in a child process of their own, best of a
few: a fixed float32 matrix multiply on the notebooks' 2 threads (what the cores give together:
fewer cores, or two threads sharing one core, show here) and SGD steps of notebook 02's MLP at
batch 32 on 1 thread (how fast one core runs small steps; on 2 threads they mostly time the
threads' hand-offs, which another job on the machine can slow fifty-fold). :func:`factor` turns the
slower probe's ratio into the budgets' multiplier: never below 1, times :data:`SAFETY`. The
factor only scales budgets: no notebook sees it, so no number depends on it.
"""
from __future__ import annotations

import functools
import json
import subprocess
import sys

from .errors import RunError
from .execute import machine

PROBES = ("sgemm_s", "train_s")  # the keys of a profile's reference: besides machine
THREADS = 2  # the matrix multiply's threads: the notebooks' default, as on the reference machine
SAFETY = 1.25  # the probes are not the notebooks: room for a machine they misjudge by a quarter

# The child process: times the probes and prints them as one JSON line.
CHILD = """\
import json, sys, time, torch
torch.manual_seed(0)
g = torch.Generator().manual_seed(0)

def best(job, repeats=5):
    job()  # warm-up: first calls allocate and pick kernels
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        job()
        times.append(time.perf_counter() - t0)
    return min(times)

a, b = torch.rand(1024, 1024, generator=g), torch.rand(1024, 1024, generator=g)

def sgemm():
    for _ in range(4):
        a @ b

model = torch.nn.Sequential(torch.nn.Linear(784, 250), torch.nn.ReLU(), torch.nn.Linear(250, 50), torch.nn.ReLU(),
                            torch.nn.Linear(50, 10))
opt = torch.optim.SGD(model.parameters(), lr=0.01)
x, y = torch.rand(50 * 32, 784, generator=g), torch.randint(0, 10, (50 * 32,), generator=g)

def train():
    for i in range(0, len(x), 32):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x[i:i + 32]), y[i:i + 32]).backward()
        opt.step()

torch.set_num_threads(1)  # first: a second thread, once started, may still spin beside it
train_s = best(train)
torch.set_num_threads(int(sys.argv[1]))
print(json.dumps({"sgemm_s": best(sgemm), "train_s": train_s, "capability": torch.backends.cpu.get_cpu_capability(),
                  "threads": int(sys.argv[1])}))
"""


@functools.cache  # per process: a run (or a sweep) measures this machine once
def measure(threads: int = THREADS) -> dict:
    """This machine's probe seconds (:data:`PROBES`), torch's CPU capability and the matrix multiply's threads.

    A child process runs them, so the runner never imports torch (a notebook's peak memory
    would count it) and the threads are set for the probes alone."""
    try:
        proc = subprocess.run([sys.executable, "-c", CHILD, str(threads)], capture_output=True, text=True,
                              timeout=300)
    except subprocess.TimeoutExpired:
        raise RunError("cannot time this machine for the budgets (its probes took over 300 s); "
                       "rerun with --no-budget") from None
    try:
        return json.loads(proc.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        why = (proc.stderr.strip().splitlines() or ["its probes printed nothing"])[-1]
        raise RunError(f"cannot time this machine for the budgets ({why}); rerun with --no-budget") from None


def slowdown(measured: dict, reference: dict) -> float:
    """How many times the reference's time this machine takes: its slower probe's ratio."""
    return max(measured[k] / reference[k] for k in PROBES)


def factor(measured: dict, reference: dict | None, safety: float = SAFETY) -> float:
    """The budgets' multiplier: :func:`slowdown`, never below 1, times ``safety``, to 2 decimals.
    A profile that names no reference keeps its budgets as written (1)."""
    if not reference:
        return 1.0
    return round(max(1.0, slowdown(measured, reference)) * safety, 2)


def for_profile(profile: dict) -> dict:
    """The factor for a profile's budgets on this machine and the one line that says it:
    ``{"factor", "line"}``, with ``slowdown``, ``measured`` and ``reference`` where it has a reference."""
    reference = profile.get("reference")
    if not reference:
        return {"factor": 1.0, "line": "budgets: as written (the profile names no reference machine)"}
    measured = measure()
    ratio = slowdown(measured, reference)
    scale = factor(measured, reference)
    line = (f"budgets x{scale:.2f}: this machine takes {ratio:.2f}x the time of the reference, {reference['machine']} "
            f"(sgemm on {measured['threads']} threads {measured['sgemm_s'] / reference['sgemm_s']:.2f}x, "
            f"training steps on 1 thread {measured['train_s'] / reference['train_s']:.2f}x; "
            f"{measured['capability']} here); never below 1, x{SAFETY:g} for safety")
    return {"factor": scale, "slowdown": round(ratio, 3), "measured": measured, "reference": reference, "line": line}


def report(profile: dict) -> str:
    """``python -m course_lib speed``: the factor's line, then this machine as a profile's
    ``reference:`` (for budgets measured here)."""
    measured, here = measure(), machine()
    name = f"{here['cores']}-core {here['cpu']} ({measured['capability']}), {measured['threads']} threads"
    block = "\n".join(["reference:  # the machine budget_s was measured on", f"  machine: {name}",
                        *(f"  {k}: {measured[k]:.4f}" for k in PROBES)])
    return f"{for_profile(profile)['line']}\n{block}"
