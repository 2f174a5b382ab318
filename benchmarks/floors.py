"""Compute floors: at best, how fast could each notebook of the `full` profile run on this CPU?

    python benchmarks/floors.py --peak 180 --run runs/full-fashion   # --run: relative to the checkout, or absolute

for `python -m course_lib run --profile full -p dataset=fashion-mnist` (60,000 training, 10,000
test images). A notebook's floor is the FLOPs of its matrix multiplies and convolutions (training
steps forward + backward, evaluation passes forward, distance matrices 2*n*m*d) over the measured
float32 sgemm peak (--peak, GFLOP/s: benchmarks/run.py --only gemm), plus the seconds of what no
matmul does. No current notebook records those seconds in its metrics.json, so these parts (05's
t-SNE, UMAP, L1 kNN, top-k heaps and rank counting; 04's ranks and densities; 06's permutation
bookkeeping) are named "not recorded" and left out: the floor is their matmuls alone.

Model FLOPs: torch.utils.flop_counter on the real course_lib classes and the notebooks' own model
code (their functions and classes, executed from the .ipynb), built on the "meta" device, so
nothing is computed. Distances, PCA and scikit-learn are counted by hand ("analytic"). Loop counts
follow what the runner passes: the parameters cell, overridden by params/<profile>.yaml.

Limits: a lower bound, and a loose one. Elementwise and memory-bound work (activations, losses,
softmax over 785 x 785 attention maps, N x N distances of 2-D codes, kernel-matrix gathers), Python
overhead, optimizer steps, shuffling and plots are not in it; float64 ("f64") and int8 matmuls are
counted at the float32 rate; work under ~0.1% of a notebook's FLOPs is left out, and so is what
t-SNE and UMAP compute inside (their PCA and neighbour searches).
"""
import argparse
import ast
import csv
import json
import math
import sys
from inspect import signature
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout without installing
from course_lib import autoencoder, knn, stacked_autoencoders  # noqa: E402
from course_lib.tooling import profiles  # noqa: E402
from course_lib.transformers import PatchTokenAE, PixelTokenAE  # noqa: E402

parser = argparse.ArgumentParser(description="Compute floors of the course's notebooks (FLOPs / sgemm peak + unbatchable seconds).")
parser.add_argument("--peak", type=float, default=None, help="measured float32 sgemm peak in GFLOP/s; without it, FLOPs only")
parser.add_argument("--run", default="runs/full-fashion", help="the runner's output folder: summary.csv, NN_name/metrics.json")
parser.add_argument("--profile", default="full", help="params/<profile>.yaml")
parser.add_argument("--dataset", default="fashion-mnist")
args = parser.parse_args()
torch.set_num_threads(1)
torch.set_default_device("meta")  # every tensor and model below is shape only: nothing is computed
RUN, PROFILE = ROOT / args.run, profiles.load_profile(args.profile)
D, N_TRAIN, N_TEST = 784, 60_000, 10_000  # Fashion-MNIST (and MNIST): pixels, training and test images


def cells(nb):
    return json.loads((ROOT / "notebooks" / f"{nb}.ipynb").read_text())["cells"]


def parameters(nb):
    """What the runner passes: the parameters cell's values, then the runner's own merge of the profile
    and the dataset override (``profiles.parameters_for``)."""
    src = next("".join(c["source"]) for c in cells(nb) if "parameters" in c.get("metadata", {}).get("tags", []))
    p = {}
    exec(src, p)
    return {**p, **profiles.parameters_for(nb, PROFILE, {"dataset": args.dataset}, RUN)}


def notebook_defs(nb, names, **env):
    """The notebook's own top-level functions and classes called `names`, defined in a namespace."""
    ns = {"torch": torch, "nn": nn, "F": F, "math": math, **env}
    for c in cells(nb):
        if c["cell_type"] == "code":
            body = [s for s in ast.parse("".join(c["source"])).body
                    if isinstance(s, (ast.FunctionDef, ast.ClassDef)) and s.name in names]
            exec(compile(ast.Module(body, []), nb, "exec"), ns)
    return ns


def constant(nb, name):  # the value of a top-level `name = <literal>` in the notebook's code
    return next(ast.literal_eval(s.value) for c in cells(nb) if c["cell_type"] == "code" for s in ast.parse("".join(c["source"])).body
                if isinstance(s, ast.Assign) and getattr(s.targets[0], "id", "") == name)


def count(fn):  # FLOPs of fn(), forward and any backward in it
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


def train_flops(model, loss, x):  # one training step: forward and backward (the optimizer step is no matmul)
    return count(lambda: loss(model, x).backward())


def eval_flops(fn, x):  # one forward pass, no gradients
    with torch.no_grad():
        return count(lambda: fn(x))


def mse(model, x):
    return F.mse_loss(model(x), x)


rows, unbatchable = [], {}  # unbatchable[nb]: [(what, measured seconds or None)]


def add(nb, what, steps, batch, flop, note=""):
    rows.append({"nb": nb, "what": what, "steps": steps, "batch": batch, "flop": flop, "note": note})


# ---------------------------------------------------------------- 01: class templates and 1-NN
nb = "01_pixel_similarity"
p = parameters(nb)
n, n_test, bs = p["n_train"] or N_TRAIN, p["n_test"] or N_TEST, p["batch_size"]
add(nb, "1-NN: L2 cdist, test x train", math.ceil(n_test / bs), bs, 2 * bs * n * D, "analytic (cdist's matmul path)")
add(nb, f"softmax regression: L-BFGS, at most {p['linear_iters']} steps", p["linear_iters"], n, 4 * n * D * 10,
    "analytic (scores X W and gradient X^T G per step; line-search re-evaluations left out); f64; upper bound")
unbatchable[nb] = []  # distances to the 10 class means/medians: under 1 GFLOP; L1 has no matmul

# ---------------------------------------------------------------- 02: a linear model and an MLP by hand, a small CNN
nb = "02_mlp_classifier"
p = parameters(nb)
n, bs = p["n_train"] or N_TRAIN, p["batch_size"]  # the test set is always all of it
spe = math.ceil(n / bs)
ns = notebook_defs(nb, {"make_mlp", "make_cnn", "lr_range_test"}, n_pixels=D, n_classes=10, side=28, device="meta")
ce = lambda m, x: F.cross_entropy(m(x), torch.zeros(len(x), dtype=torch.long))  # noqa: E731
mlp, cnn = ns["make_mlp"](), ns["make_cnn"]()
mlp_step, cnn_step = train_flops(mlp, ce, torch.empty(bs, D)), train_flops(cnn, ce, torch.empty(bs, 1, 28, 28))
W, b = torch.empty(D, 10, requires_grad=True), torch.empty(10, requires_grad=True)
mlp_epochs = p["epochs"] or math.ceil(20 * math.ceil(60_000 / 128) / spe)
add(nb, "linear model x @ W + b, trained by hand: 10 epochs", 10 * spe, bs, train_flops(lambda x: x @ W + b, ce, torch.empty(bs, D)))
lr_steps = signature(ns["lr_range_test"]).parameters["steps"].default
add(nb, "MLP: LR range test", lr_steps, bs, mlp_step, "upper bound: it stops at its blow-up (data-dependent)")
add(nb, "MLP: three trial rates x 3 epochs", 3 * 3 * spe, bs, mlp_step)
add(nb, "MLP: training (hand-written loop)", mlp_epochs * spe, bs, mlp_step)
add(nb, "MLP: per-epoch loss/accuracy on all train + test images", mlp_epochs, n + N_TEST,
    eval_flops(mlp, torch.empty(n + N_TEST, D)))
add(nb, "1-NN: L2 cdist, test x train", math.ceil(N_TEST / 500), 500, 2 * 500 * n * D, "analytic")
add(nb, "CNN and MLP, matched: Adam, cnn_epochs each", p["cnn_epochs"] * spe, bs, cnn_step + mlp_step)
add(nb, "CNN and MLP, matched: per-epoch test accuracy", p["cnn_epochs"], N_TEST,
    eval_flops(cnn, torch.empty(N_TEST, 1, 28, 28)) + eval_flops(mlp, torch.empty(N_TEST, D)))
add(nb, "appendix: hand-written loop vs training.fit, 2 epochs of 20 steps each", 2 * 2 * 20, bs, mlp_step)
unbatchable[nb] = []  # the MLP's test probabilities, nearest means, the exercise's 64 images: under 0.1%

# ---------------------------------------------------------------- 03: MLP autoencoders
nb = "03_autoencoder"
p = parameters(nb)
n, bs, hid, post_spe = p["n_train"] or N_TRAIN, p["batch_size"], 100, p["steps_per_epoch"]  # HIDDEN = 100 in the notebook
spe = math.ceil(n / bs)
ae = lambda dim, h=hid: autoencoder.MLPAutoencoder(dim, hidden=h)  # noqa: E731 (activations change no FLOPs)
ae_step = lambda dim, h=hid: train_flops(ae(dim, h), mse, torch.empty(bs, D))  # noqa: E731
ae_test = lambda dim, h=hid: eval_flops(ae(dim, h), torch.empty(N_TEST, D))  # noqa: E731
for dim in p["dims"]:
    add(nb, f"DIM sweep: DIM {dim}", p["epochs"] * spe, bs, ae_step(dim))
    add(nb, f"DIM sweep: DIM {dim}, test MSE per epoch", p["epochs"], N_TEST, ae_test(dim))
add(nb, "PCA: two fits (covariance_eigh), pca_mse and the pictures", 2, n, 2 * n * D * D, "analytic; f64")
add(nb, "PCA: test reconstructions, each DIM", 1, N_TEST, sum(4 * N_TEST * D * k for k in p["dims"]), "analytic; f64")
top, lr = max(p["dims"]), p["lr"]
for h, rate in [(hid, lr / 10)] + [(p["wide_hidden"], lr), (p["wide_hidden"], lr / 10)] * bool(p["wide_hidden"]):
    add(nb, f"width: DIM {top}, hidden {h}, Adam {rate:g}", p["epochs"] * spe, bs, ae_step(top, h))
    add(nb, f"width: DIM {top}, hidden {h}, Adam {rate:g}: test MSE per epoch", p["epochs"], N_TEST, ae_test(top, h))
post_losses = constant(nb, "POST_LOSSES")  # the post's printed losses, one per epoch, for each DIM
for dim, post_epochs in ((dim, len(losses)) for dim, losses in post_losses.items()):
    add(nb, f"the post's recipe, DIM {dim}", post_epochs * post_spe, bs, ae_step(dim))
    add(nb, f"the post's recipe, DIM {dim}: test MSE per epoch + summary's errors", post_epochs + 1, N_TEST, ae_test(dim))
runs = 5 * p["n_starts"]  # the notebook's five `variants`, n_starts each
add(nb, f"DIM 3 fixes: 5 variants x {p['n_starts']} starts", runs * p["fix_epochs"] * spe, bs, ae_step(3))
add(nb, "DIM 3 fixes: test MSE per epoch", runs * p["fix_epochs"], N_TEST, ae_test(3))
add(nb, "2-D codes of all test and training images", 1, N_TEST + n, eval_flops(ae(2).encode, torch.empty(N_TEST + n, D)))
unbatchable[nb] = []  # health codes, gradient norms on 1,000 images, 2-D code distances: under 0.1% or memory-bound

# ---------------------------------------------------------------- 04: a 2-D VAE, its collapse, its codes, held-out classes
nb = "04_vae_visualisation"
p = parameters(nb)
n, bs, ep, held = p["n_train"] or N_TRAIN, p["batch_size"], p["epochs"], len(p["held_out"])
ns = notebook_defs(nb, {"reparameterise", "VAE", "kl_divergence", "vae_loss", "ae_loss"}, HIDDEN=400)  # HIDDEN as in the notebook
vae, vae_loss, ae_loss = ns["VAE"](), ns["vae_loss"], ns["ae_loss"]
step = lambda loss, b: train_flops(vae, lambda m, x: loss(m, x, None), torch.empty(b, D))  # noqa: E731
enc = eval_flops(vae.encode, torch.empty(N_TEST, D)) / N_TEST  # per image
dec = eval_flops(vae.decoder, torch.empty(N_TEST, 2)) / N_TEST
post_epochs = max(1, round(p["seed_steps"] / math.ceil(n / 10)))
nine, small = n * 9 // 10, 1000 if 1000 < n else 0  # a held-out model's images (about 9/10); appendix A's AE
add(nb, f"the original post's regime: SGD, batch 10, {post_epochs} epochs", post_epochs * math.ceil(n / 10), 10,
    step(vae_loss(scaling="post"), 10), "runs on 1 thread (the floor assumes all)")
for what, loss in [("working VAE", vae_loss()), ("AE (no KL)", ae_loss), ("BCE VAE", vae_loss("bce")),
                   ("the post's scaling, Adam", vae_loss(scaling="post"))]:
    add(nb, f"{what}: Adam, {ep} epochs", ep * math.ceil(n / bs), bs, step(loss, bs))
add(nb, f"held-out classes: an AE + a VAE without each of {held}", held * p["anomaly_epochs"] * math.ceil(nine / bs), bs,
    step(ae_loss, bs) + step(vae_loss(), bs), "about 9/10 of the images each")
add(nb, "appendix A: the AE on 1,000 images", ep * math.ceil(small / bs), bs, step(ae_loss, bs))
add(nb, "fit_vae's per-epoch test KL and MSE (encode, decode mu)",
    post_epochs + 4 * ep + 2 * held * p["anomaly_epochs"] + ep * bool(small), N_TEST, N_TEST * (enc + dec))
add(nb, "ELBO (4 draws) + MSE: 7 summaries, 2 per held-out class", 7 + 2 * held, N_TEST, N_TEST * (enc + 5 * dec),
    "the chained score's 2,000 reference images left out")
add(nb, "AE errors of the test images, 2 per held-out class", 2 * held, N_TEST, N_TEST * (enc + dec))
add(nb, "codes (mu): 5 models x train + test, the post's of train", 1, 5 * (n + N_TEST) + n, (5 * (n + N_TEST) + n) * enc)
add(nb, "distance to the nearest training image (cdist)", held, N_TEST, 2 * N_TEST * nine * D, "analytic (cdist's matmul path)")
n_ev = min(N_TEST, 2000)
add(nb, "trustworthiness (scikit-learn), pixel distances: 7 maps + appendix A", 7 + bool(small), n_ev, 2 * n_ev ** 2 * D,
    "analytic; f64")
add(nb, "5-NN classifier on raw pixels", 1, N_TEST, 2 * N_TEST * n * D, "analytic; f64")
add(nb, "PCA-2 (covariance_eigh)", 1, n, 2 * n * D * D, "analytic")
unbatchable[nb] = [("trustworthiness ranks (argsort, 8 maps)", None), ("I(x; z) mixture densities", None)]

# ---------------------------------------------------------------- 05: pixel kNN, four small autoencoders, every map measured
nb = "05_neighbourhood_preservation"
p = parameters(nb)
n, bs, make, baselines = p["n_train"] or N_TRAIN, p["batch_size"], stacked_autoencoders.make_autoencoder, p["baselines"]
spe = math.ceil(n / bs)


def stack_step(kinds, losses):  # one step of fit_many: all models' layers as batched matrix multiplies
    stack, x = stacked_autoencoders.Stacked([make(k) for k in kinds]), torch.empty(bs, D)

    def step():
        diff = stack.forward(x) - x
        torch.stack([d.abs().mean() if name == "l1" else d.square().mean() for d, name in zip(diff, losses)]).sum().backward()
    return count(step)


relu, four = make("relu"), stack_step(["linear", "linear", "relu", "relu"], ["l1", "mse", "l1", "mse"])
blocks = [min(knn.DEFAULT_BLOCK, n - s) for s in range(0, n, knn.DEFAULT_BLOCK)]  # knn.search: above STRIPS_MAX_N
knn_flop = 2 * D * ((n * n + sum(b * b for b in blocks)) // 2 if n > knn.STRIPS_MAX_N else n * n)  # points, blocks a <= b
rows_flop = 2 * n * n * D  # neighbours' rank penalties: every row of the pixel distances (float32 addmm)
add(nb, "pixel kNN, L2, k = 200: distance blocks", 1, n, knn_flop, "analytic; 8-bit: int8-matmul or float32-exact, calibrated")
if "pca" in baselines:
    add(nb, "PCA-2 baseline (covariance_eigh)", 1, n, 2 * n * D * D, "analytic")
add(nb, "trustworthiness of each baseline: pixel kNN (k = 5) + distance rows", len(baselines), n, knn_flop + rows_flop,
    "analytic; neighbours.trustworthiness redoes both each call")
add(nb, "the fix: 4 models, one stack (fit_many)", p["epochs"] * spe, bs, four)
add(nb, "np_ae: images and their neighbours, encoded together", (p["np_epochs"] or p["epochs"]) * spe, 2 * bs,
    train_flops(relu, mse, torch.empty(2 * bs, D)), "its 100 x 100 2-D cdist left out")
add(nb, "trust and continuity: pixel distance rows, all maps at once", 1, n, rows_flop, "analytic")
add(nb, "appendix A: the recipe as written" + ", 4 one-change recipes" * p["diagnose"],
    (1 + 5 * p["diagnose"]) * p["epochs"] * spe, bs, four, "the 2x-epochs recipe counts twice")
add(nb, "inspect: codes and reconstructions", 5 + 4 * (1 + 4 * p["diagnose"]), n,
    eval_flops(lambda x: (relu.encode(x), relu(x)), torch.empty(n, D)))
unbatchable[nb] = [("pixel L1 kNN (k = 200; k = 10 at 4 sizes)", None), ("top-k heaps", None)] \
    + [({"tsne": "t-SNE", "umap": "UMAP"}[b], None) for b in baselines if b != "pca"] \
    + [("rank counting", None), ("2-D KD-trees", None)]

# ---------------------------------------------------------------- 06: the post's transformer, a patch-token model, permutation tests
nb = "06_transformer_dataset_similarity"
p = parameters(nb)
torch.backends.mha.set_fastpath_enabled(False)  # as the notebook does
B, n, T, BINS = p["batch_size"], p["n_train"], constant(nb, "timing_batches"), 10  # BINS as in the notebook
tf_step = lambda model, b, w=785: train_flops(model, mse, torch.empty(b, w))  # noqa: E731
post = notebook_defs(nb, {"PostTransformer"})["PostTransformer"]()
patch = PatchTokenAE(side=28, patch=7, d_model=32, n_heads=4, n_layers=2, d_ff=64)
pix_step, t = tf_step(post, B), torch.empty(B, 785, 2, requires_grad=True)
add(nb, "original model: training", p["epochs"] * math.ceil(n / B), B, pix_step)
add(nb, "original model: gradient probe; appendix A's cost split + step timing; appendix B", 1 + (2 * (T + 1) + 1) + (1 + 2 * 3),
    B, pix_step, "the split's pieces add to ~1 step; appendix B runs where the CPU can flush subnormals")
add(nb, "original model: one layer's attention, math vs fused", 2 * (T + 1), B,
    count(lambda: post.encoder.layers[0].self_attn(t, t, t, need_weights=False)[0].sum().backward()))
add(nb, "patch model: training", p["patch_epochs"] * math.ceil(n / 100), 100, tf_step(patch, 100))
add(nb, f"patch model: step timing at batch {B}", T + 1, B, tf_step(patch, B))
for w in (8 * 8 + 1, 14 * 14 + 1, 20 * 20 + 1):
    add(nb, f"{w}-token model: step timing", T + 1, B, tf_step(PixelTokenAE(w), B, w))
items, pooled, splits = n + 3 * p["n_study"] + 2 * (3 * p["n_study"] // 2), 2 * p["n_study"], p["n_permutations"] + 1
add(nb, "both models: MSE on P", 1, n, eval_flops(post, torch.empty(n, 785)) + eval_flops(patch, torch.empty(n, 785)))
add(nb, "both models: codes of every item (P, pool, noise, rotated)", 1, items,
    eval_flops(post.code_logits, torch.empty(items, 785)) + eval_flops(patch.encode, torch.empty(items, 785)))
add(nb, "Gram matrices of all items (cdist): pixels, 2 codes; bandwidths", 1, items,
    2 * items ** 2 * (D + 4 + 4) + 2 * n ** 2 * (D + 4 + 4), "analytic; codes memory-bound; bandwidths f64")
tests = lambda m: splits * (3 * 2 * m * m + 2 * m * 4 * BINS)  # noqa: E731 (every split of m items: 3 MMD² w @ K, the KL einsum)
add(nb, "the post's P against Q, 2 shifts: MMD² x 3 kernels + KL, every split", 2, 2 * n, tests(2 * n), "analytic; f64")
add(nb, "false-alarm and power study: the same, each replicate", p["n_null_replicates"] + 2 * len(p["fractions"]) * p["power_replicates"],
    pooled, tests(pooled), "analytic; f64")
unbatchable[nb] = [("permutation tests' kernel gathers and histograms", None)]

# ---------------------------------------------------------------- tables
summary = {}
if (RUN / "summary.csv").exists():
    with open(RUN / "summary.csv", newline="") as f:
        summary = {r["notebook"]: r for r in csv.DictReader(f)}
fmt = lambda v, spec=".1f": "-" if v is None else format(v, spec)  # noqa: E731
print(f"# Compute floors: profile `{args.profile}`, {args.dataset}, run `{args.run}`, "
      f"sgemm peak {fmt(args.peak, '.0f')} GFLOP/s\n")
print("| notebook | matmul/conv TFLOP | matmul floor s | unbatchable parts s | floor s | measured s | measured / floor |")
print("|---|---:|---:|---|---:|---:|---:|")
total_flop = 0
for nb, parts in unbatchable.items():
    flop = sum(r["steps"] * r["flop"] for r in rows if r["nb"] == nb)
    total_flop += flop
    mm = flop / (args.peak * 1e9) if args.peak else None
    extra = sum(s for _, s in parts if s is not None)
    unknown = ", ".join(what for what, s in parts if s is None)
    text = "; ".join([f"{what} {fmt(s)}" for what, s in parts if s is not None] + [f"{unknown}: not recorded"] * bool(unknown)) or "none"
    floor = mm + extra if mm is not None else None
    row = summary.get(nb, {})
    measured = float(row["seconds"]) if row.get("seconds") else None
    shown = fmt(measured) + ("" if row.get("status") in (None, "ok") else f" ({row['status']})")
    ratio = measured / floor if measured and floor and row.get("status") == "ok" else None  # not for a failed run
    print(f"| {nb} | {flop / 1e12:.2f} | {fmt(mm)} | {text} | {fmt(floor)} | {shown} | {fmt(ratio, '.1f')} |")
print(f"| all | {total_flop / 1e12:.2f} | {fmt(total_flop / (args.peak * 1e9) if args.peak else None)} | | | | |\n")
print("| notebook | workload | steps | batch | GFLOP/step | TFLOP | note |")
print("|---|---|---:|---:|---:|---:|---|")
for r in rows:
    print(f"| {r['nb'][:2]} | {r['what']} | {r['steps']:,} | {r['batch']:,} | {r['flop'] / 1e9:.4g} | "
          f"{r['steps'] * r['flop'] / 1e12:.3g} | {r['note']} |")

# ---------------------------------------------------------------- where the time went
print("\n| notebook | slowest code cells: seconds (papermill's), cell number, the section it is in | share of the notebook |")
print("|---|---|---:|")
for nb in unbatchable:
    path = RUN / f"{nb}.ipynb"
    if not path.exists():
        continue
    timed, section = [], ""
    for i, c in enumerate(json.loads(path.read_text())["cells"]):
        heads = [line for line in "".join(c["source"]).split("\n") if line.startswith("#")]
        if c["cell_type"] == "markdown" and heads:
            section = heads[-1].lstrip("# ").strip()
        elif c["cell_type"] == "code":
            timed.append((c["metadata"].get("papermill", {}).get("duration") or 0.0, i, section))
    total, top = sum(t for t, _, _ in timed), sorted(timed, reverse=True)[:3]
    text = "; ".join(f"{t:.0f} s, cell {i} ({where[:50]})" for t, i, where in top)
    print(f"| {nb[:2]} | {text} | {sum(t for t, _, _ in top) / total:.0%} |")
