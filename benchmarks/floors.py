"""Compute floors: at best, how fast could each notebook of the `full` profile run on this CPU?

    python benchmarks/floors.py --peak 180 --run runs/full-fashion   # paths relative to the checkout

for `python -m course_lib run --profile full -p dataset=fashion-mnist` (60,000 training, 10,000
test images). A notebook's floor is the FLOPs of its matrix multiplies and convolutions (training
steps forward + backward, evaluation passes forward, distance matrices 2*n*m*d) over the measured
float32 sgemm peak (--peak, GFLOP/s: benchmarks/run.py --only gemm), plus the measured seconds of
what no matmul does (t-SNE, UMAP, the exact kNN's L1 kernel and top-k heaps: its L2 time less the
floor of its distance blocks), read from the run's metrics.json where the notebook records them.

Model FLOPs: torch.utils.flop_counter on the real course_lib classes and the notebooks' own model
code (their functions and classes, executed from the .ipynb), built on the "meta" device, so
nothing is computed. Distances, PCA and scikit-learn are counted by hand ("analytic"). Loop counts
follow what the runner passes: the parameters cell, overridden by params/<profile>.yaml.

Limits: a lower bound, and a loose one. Elementwise and memory-bound work (activations, losses,
softmax over 785 x 785 attention maps, N x N distances of 2-D codes), Python overhead, optimizer
steps, shuffling and plots are not in it; float64 ("f64") and int8 matmuls are counted at the
float32 rate; work under ~0.1% of a notebook's FLOPs is left out. Rank computations and KD-tree
searches are named but not added: the notebooks do not time them.
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
from course_lib import autoencoder, records, stacked_autoencoders  # noqa: E402
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


def metrics(nb):
    return records.read(RUN / nb)["metrics"] if (RUN / nb / "metrics.json").exists() else {}


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
add(nb, "appendix: hand-written loop vs training.fit, 2 epochs each", 2 * 2 * spe, bs, mlp_step)
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
post_losses = next(ast.literal_eval(s.value) for c in cells(nb) if c["cell_type"] == "code"  # the post's printed
                   for s in ast.parse("".join(c["source"])).body  # losses, one per epoch, for each DIM
                   if isinstance(s, ast.Assign) and getattr(s.targets[0], "id", "") == "POST_LOSSES")
for dim, post_epochs in ((dim, len(losses)) for dim, losses in post_losses.items()):
    add(nb, f"the post's recipe, DIM {dim}", post_epochs * post_spe, bs, ae_step(dim))
    add(nb, f"the post's recipe, DIM {dim}: test MSE per epoch + summary's errors", post_epochs + 1, N_TEST, ae_test(dim))
runs = 5 * p["n_starts"]  # the notebook's five `variants`, n_starts each
add(nb, f"DIM 3 fixes: 5 variants x {p['n_starts']} starts", runs * p["fix_epochs"] * spe, bs, ae_step(3))
add(nb, "DIM 3 fixes: test MSE per epoch", runs * p["fix_epochs"], N_TEST, ae_test(3))
add(nb, "2-D codes of all test and training images", 1, N_TEST + n, eval_flops(ae(2).encode, torch.empty(N_TEST + n, D)))
unbatchable[nb] = []  # health codes, gradient norms on 1,000 images, 2-D code distances: under 0.1% or memory-bound

# ---------------------------------------------------------------- 04: VAEs, embeddings, anomaly scores
nb = "04_vae_visualisation"
p, m04 = parameters(nb), metrics(nb)
n, n_test = p["n_train"] or N_TRAIN, p["n_test"] or N_TEST
ns = notebook_defs(nb, {"reparameterise", "VAE", "kl_divergence", "vae_loss_terms", "make_vae_loss"})
vae = ns["VAE"](p["hidden"])
vae_step = lambda b, recon, scaling: train_flops(  # noqa: E731
    vae, lambda m, x: ns["make_vae_loss"](recon, scaling, p["beta"])(m, x, None), torch.empty(b, D))
enc = eval_flops(vae.encode, torch.empty(n_test, D)) / n_test  # per image
dec = eval_flops(vae.decode, torch.empty(n_test, 2)) / n_test
seed_bs = p["seed_batch_size"]
seed_spe = math.ceil(n / seed_bs)
seed_epochs = max(1, round(p["seed_steps"] / seed_spe))
add(nb, "seed regime VAE (SGD)", seed_epochs * seed_spe, seed_bs, vae_step(seed_bs, "mse", "seed"),
    "runs on 1 thread (the floor assumes all); reloaded instead if seed_recipe/vae.pt matches")
add(nb, "working VAE", p["epochs"] * math.ceil(n / p["batch_size"]), p["batch_size"],
    vae_step(p["batch_size"], p["recon"], p["scaling"]), "reloaded instead if vae.pt matches")
add(nb, "two comparison VAEs (BCE)", 2 * p["compare_epochs"] * math.ceil(n / 100), 100, vae_step(100, "bce", "per_image"))
add(nb, "per-epoch test KL and MSE (encode, decode mu)", seed_epochs + p["epochs"] + 2 * p["compare_epochs"],
    n_test, n_test * (enc + dec))
n_auc = 1 + len(set(p["corrupt_sweep"]) | {p["corrupt_fraction"]})  # ROC calls: the main one + the sweep
add(nb, "ELBO passes (encode + 5 decodes): 6 scores, 2 norms, 3 per ROC call", 6 + 2 + 3 * n_auc, n_test,
    n_test * (enc + 5 * dec), "train set for the norms (same size at full)")
add(nb, "codes (mu): seed's, active dims, 7 code sets x train+test, scatter", 2 + 6 + 14 + 2, n_test, n_test * enc)
ae2 = ae(2)
if m04.get("ae_source", "reloaded").startswith("retrained"):
    add(nb, "2-D AE retrained (03's was missing)", p["ae_epochs"] * math.ceil(n / 100), 100,
        train_flops(ae2, mse, torch.empty(100, D)))
add(nb, "2-D AE: reconstruction errors and codes", 7 + 2 * n_auc, n_test, eval_flops(ae2, torch.empty(n_test, D)))
n_ev = min(p["n_eval"] or n_test, n_test)
add(nb, "trustworthiness (scikit-learn), pixel distances, 10 maps", 10, n_ev, 2 * n_ev ** 2 * D, "analytic; f64")
add(nb, "silhouette of raw pixels", 1, n_ev, 2 * n_ev ** 2 * D, "analytic; f64")
add(nb, "5-NN classifier on raw pixels", 1, n_test, 2 * n_test * n * D, "analytic; f64")
add(nb, "PCA-2 (covariance_eigh)", 1, n, 2 * n * D * D, "analytic")
unbatchable[nb] = [("trustworthiness ranks (argsort, 10 maps)", None)]

# ---------------------------------------------------------------- 05: kNN at scale, stacked autoencoders
nb = "05_neighbourhood_preservation"
p, m05 = parameters(nb), metrics(nb)
n, bs, make = p["n_train"] or N_TRAIN, p["batch_size"], stacked_autoencoders.make_autoencoder
spe = math.ceil(n / bs)


def stack_step(kinds, losses):  # one step of fit_many: all models' layers as batched matrix multiplies
    stack, x = stacked_autoencoders.Stacked([make(k) for k in kinds]), torch.empty(bs, D)

    def step():
        diff = stack.forward(x) - x
        torch.stack([d.abs().mean() if name == "l1" else d.square().mean() for d, name in zip(diff, losses)]).sum().backward()
    return count(step)


def inspect(x):  # the notebook's inspect(): encode, reconstruct, then layer by layer for the ReLU activity
    relu.encode(x), relu(x)
    for layer in list(relu.encoder) + list(relu.decoder):
        x = layer(x)


relu, four = make("relu"), stack_step(["linear", "linear", "relu", "relu"], ["l1", "mse", "l1", "mse"])
blocks = [min(p["knn_block"], n - s) for s in range(0, n, p["knn_block"])]  # knn.search: above 10,000 points,
knn_flop = 2 * D * ((n * n + sum(b * b for b in blocks)) // 2 if n > 10_000 else n * n)  # only blocks a <= b
kernel = m05.get("knn_path", {}).get("l2", {}).get("kernel", "calibrated: int8-matmul or float32-exact")
add(nb, f"pixel kNN, L2, k = {p['k_max']}: distance blocks", 1, n, knn_flop, f"analytic; kernel {kernel}")
if p["reference_epochs"]:
    add(nb, "plain one-model loop (reference timing)", p["reference_epochs"] * spe, bs, train_flops(relu, mse, torch.empty(bs, D)))
add(nb, "seed recipe as written: 4 models stacked", p["epochs"] * spe, bs, four)
if p["diagnose"]:
    add(nb, "diagnosis: 3 one-change recipes + more steps", (3 * p["epochs"] + p["long_epochs"]) * spe, bs, four)
add(nb, "the fix: 4 models, one stack (signed inputs for the ReLU pair)", p["epochs"] * spe, bs,
    stack_step(["linear"] * 2, ["l1", "mse"]) + stack_step(["relu"] * 2, ["l1", "mse"]))
add(nb, "np_ae: images and their neighbours, encoded together", (p["np_epochs"] or p["epochs"]) * spe, 2 * bs,
    train_flops(relu, mse, torch.empty(2 * bs, D)), "its 100 x 100 2-D cdist left out")
add(nb, "inspect: codes, reconstructions, ReLU activity", 4 * (2 + 4 * p["diagnose"]) + 1, n,
    eval_flops(inspect, torch.empty(n, D)))
baselines = [b for b in p["baselines"] if b == "pca" or n <= p["baseline_max_n"]]
if "pca" in baselines:
    add(nb, "PCA-2 baseline (covariance_eigh)", 1, n, 2 * n * D * D, "analytic")
n_maps = 5 + len(baselines)  # the four fixed models, np_ae, the baselines
add(nb, f"trustworthiness: pixel distance rows, {n_maps} maps at once", 1, n, 2 * n * n * D, "analytic")
add(nb, f"continuity: 2-D distance rows, {n_maps} maps", n_maps, n, 2 * n * n * 2, "analytic; memory-bound")
add(nb, "metrics: trustworthiness of the 4 as-written maps, one shared pass", 1, n, 2 * n * n * D, "analytic")
knn_s, base_s = m05.get("knn_seconds", {}), m05.get("baseline_seconds", {})
l2 = knn_s.get("l2")  # with a peak: the kNN's time less the floor of its distance blocks, i.e. its top-k heaps
l2 = ("kNN L2 top-k heaps", None if l2 is None else max(0.0, l2 - knn_flop / (args.peak * 1e9))) if args.peak \
    else ("kNN L2 (with its matmul)", l2)
unbatchable[nb] = [("kNN L1 (SAD kernel + heaps)", knn_s.get("l1")), l2] \
    + [({"tsne": "t-SNE", "umap": "UMAP"}[b], base_s.get(b)) for b in baselines if b != "pca"] \
    + [("trust/continuity rank counting", None), ("KD-tree kNN of 2-D maps", None)]

# ---------------------------------------------------------------- 06: transformers, permutation tests
nb = "06_transformer_dataset_similarity"
p = parameters(nb)
T, B, items = p["timing_batches"], p["batch_size"], p["n_train"]
tf_step = lambda model, b: train_flops(model, mse, torch.empty(b, model.n_values))  # noqa: E731
pixel = PixelTokenAE(785)  # = the notebook's SeedTransformer: it loads one's weights into the other and compares
pix_step, t = tf_step(pixel, B), torch.empty(B, 785, 2, requires_grad=True)
attn = count(lambda: pixel.encoder.layers[0].self_attn(t, t, t, need_weights=False)[0].sum().backward())
add(nb, "pixel tokens: cost split + whole-step timing", 2 * (T + 1) + 1, B, pix_step, "the split's pieces add to ~1 step")
add(nb, "pixel tokens: one layer's attention, math vs fused", 2 * (T + 1), B, attn)
add(nb, "pixel tokens: training", p["epochs"] * math.ceil((p["pixel_train_items"] or items) / B), B, pix_step)
add(nb, "pixel tokens: gradient probe, subnormal timings", 1 + 2 * (max(1, T // 2) + 1), B, pix_step,
    "the flushed half runs where the CPU can flush subnormals")
add(nb, "pixel tokens: codes of P and Q (sigmoid, logits), health", 4 * math.ceil((p["pixel_eval_items"] or items) / 250) + 1,
    250, eval_flops(pixel.encode, torch.empty(250, 785)))
for side in (8, 14):
    add(nb, f"{side * side + 1}-token model: step timing", T + 1, B, tf_step(PixelTokenAE(side * side + 1), B))
uci = PixelTokenAE(65)
add(nb, "UCI digits, 65 tokens: training", p["uci_epochs"] * math.ceil(p["uci_n"] / B), B, tf_step(uci, B))
patch = PatchTokenAE(28, p["patch"], p["d_model"], 4, 2, 2 * p["d_model"])
pbs = p["patch_batch_size"]
for b in (B, pbs):
    add(nb, f"patch tokens: step timing at batch {b}", T + 1, b, tf_step(patch, b))
add(nb, "patch tokens: training", p["patch_epochs"] * math.ceil(items / pbs), pbs, tf_step(patch, pbs))
universe, n_others = items + 2 * p["null_pool"], 2 if args.dataset == "fashion-mnist" else 3
coded = 4 * items + universe + p["pair_n"] * (1 + n_others)  # untrained loss, P, Q, clean Q; the pool; real pairs
add(nb, "patch tokens: codes (P, Q, pool universe, real pairs)", math.ceil(coded / 250), 250,
    eval_flops(patch.encode, torch.empty(250, 785)))
add(nb, "Gram matrix of the universe's pixels (cdist)", 1, universe, 2 * universe ** 2 * D, "analytic")
add(nb, "Gram matrix of the universe's codes (cdist)", 1, universe, 2 * universe ** 2 * 4, "analytic; memory-bound")
reps, pooled, splits = p["n_null_replicates"] + len(p["fractions"]) * p["power_replicates"], 2 * items, p["n_permutations"] + 1
add(nb, "replicates: MMD² re-splits (Gram @ sides), codes + pixels", 2 * reps, pooled, 2 * pooled ** 2 * splits, "analytic")
add(nb, "replicates: KL re-splits (one-hot einsum), 2 binnings", 2 * reps, pooled, 2 * splits * pooled * 4 * p["bins"], "analytic; f64")
med, pair = 2 * 2000 ** 2 * D, 2 * p["pair_n"]  # median bandwidth on a 2,000-row subsample; a pooled pair
mmd_tests = n_others * (med + 2 * pair ** 2 * D + 2 * pair ** 2 * 4 + 2 * 2 * splits * pair ** 2)  # pixels + codes
mmd_matrix = (1 + n_others) ** 2 * (med + 3 * 2 * p["pair_n"] ** 2 * D)
add(nb, "real pairs: MMD² tests, 3 x 3 pixel MMD² matrix, bandwidths", 1, pair, mmd_tests + mmd_matrix + med, "analytic; f64")
unbatchable[nb] = []  # its permutation tests are histograms and Python loops: overhead, not in a floor

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
    text = "; ".join(f"{what} {fmt(s)}" if s is not None else f"{what}: not recorded" for what, s in parts) or "none"
    floor = mm + extra if mm is not None else None
    row = summary.get(nb, {})
    measured = float(row["seconds"]) if row.get("seconds") else None
    shown = fmt(measured) + ("" if row.get("status") in (None, "ok") else f" ({row['status']})")
    ratio = measured / floor if measured and floor else None
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
