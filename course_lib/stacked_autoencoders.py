"""The seed's four small autoencoders, and a loop that trains several of them at once.

``make_autoencoder("linear" | "relu")`` builds the seed's 784-128-64-12-2 encoder with a
mirrored decoder: no activations at all in the linear one; ReLU between layers and a
tanh on the output in the ReLU one (the seed's choice; a tanh reaches [-1, 1], so the
seed most likely fed its pixels in [-1, 1], and notebook 05 shows the L1-trained ReLU
model needs that).

``fit_many(models, losses, x, ...)`` trains several same-shaped autoencoders side by
side. Their weights are stacked into (models, in, out) tensors, so each layer of all
models is one batched matrix multiply (``torch.baddbmm``) and one Adam step updates all
of them. Every model sees the same mini-batches, and because Adam (with its L2 weight
decay) works element by element, each model ends up as if it had been trained alone with
the same seed (a test checks this), only faster: small models spend much of their time in
per-step overhead, which stacking shares. Measured side by side on an idle 2-core CPU with
two threads, on 60k images: 1.9x faster per model-epoch than the seed's per-item DataLoader
loop (benchmarks/RESULTS.md), and 2.1x the plain in-memory loop in the full 05 run. That needs
subnormal numbers flushed to zero (``session.start`` does it): the seed's collapsing ReLU models
fill their gradients with them, and kept, they made the same stack 4x slower.
``torch.func.stack_module_state`` + ``vmap`` would do the same job; a hand-written batched
forward lets linear and ReLU models share one stack. Every tensor the stack makes lives on
the models' device.

``decoupled=True`` swaps the seed's ``Adam(weight_decay=...)``, whose L2 term is added to
the gradient before Adam rescales it, for ``AdamW``'s decoupled decay: notebook 05 finds the
coupled term flattens these narrow models' 2-D codes to a point or a line.
"""
from __future__ import annotations

import time

import torch
from torch import nn

from .training import History, batches

KINDS = ("linear", "relu")
LOSSES = ("l1", "mse")
SIZES = (784, 128, 64, 12, 2)


class Autoencoder(nn.Module):
    """An MLP autoencoder: ``encode`` maps pixels to the code, ``forward`` reconstructs."""

    def __init__(self, kind: str = "relu", sizes: tuple = SIZES):
        super().__init__()
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(map(repr, KINDS))}; got {kind!r}")
        self.kind, self.sizes = kind, tuple(sizes)
        self.encoder = self._stack(self.sizes)
        self.decoder = self._stack(self.sizes[::-1])
        if kind == "relu":
            self.decoder.append(nn.Tanh())

    def _stack(self, sizes) -> nn.Sequential:
        layers = []
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(nn.Linear(a, b))
            if self.kind == "relu" and i < len(sizes) - 2:
                layers.append(nn.ReLU())
        return nn.Sequential(*layers)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x.reshape(len(x), -1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encode(x))

    def linears(self) -> list:
        return [m for m in list(self.encoder) + list(self.decoder) if isinstance(m, nn.Linear)]


def make_autoencoder(kind: str, sizes: tuple = SIZES) -> Autoencoder:
    """The seed's linear or ReLU autoencoder (784-128-64-12-2 and back by default)."""
    return Autoencoder(kind, sizes)


def reconstruction_loss(name: str, recon: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Mean absolute ("l1") or mean squared ("mse") error, over all pixels of the batch."""
    diff = recon - x.reshape(recon.shape)
    return diff.abs().mean() if name == "l1" else diff.square().mean()


class Stacked:
    """The weights of several same-shaped autoencoders as (models, in, out) tensors."""

    def __init__(self, models: list):
        first = models[0]
        for m in models:
            if not isinstance(m, Autoencoder) or m.sizes != first.sizes:
                raise ValueError("fit_many needs Autoencoder models of one shape (make_autoencoder, same sizes)")
        per_model = [m.linears() for m in models]
        self.weights = [torch.stack([layers[i].weight.detach().T for layers in per_model]).clone().requires_grad_()
                        for i in range(len(per_model[0]))]
        self.biases = [torch.stack([layers[i].bias.detach() for layers in per_model]).unsqueeze(1).clone().requires_grad_()
                       for i in range(len(per_model[0]))]
        device = self.weights[0].device  # every tensor below lives where the weights do
        relu = torch.tensor([m.kind == "relu" for m in models], device=device).view(-1, 1, 1)
        # max(h, floor) is a ReLU where floor is 0 and the identity where floor is -inf
        self.floor = torch.full(relu.shape, -torch.inf, device=device, dtype=self.weights[0].dtype).masked_fill(relu, 0.0)
        self.relu = relu
        self.n_enc = len(first.sizes) - 1

    def parameters(self) -> list:
        return self.weights + self.biases

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, D), the same batch for every model, or (models, B, D) -> reconstructions (models, B, D)."""
        h = x if x.dim() == 3 else x.unsqueeze(0).expand(len(self.relu), -1, -1)
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            h = torch.baddbmm(b, h, w)
            if i == last:  # tanh on the ReLU models' outputs only
                h = torch.where(self.relu, torch.tanh(h), h)
            elif i != self.n_enc - 1:  # no activation on the code itself
                h = torch.maximum(h, self.floor)
        return h

    @torch.no_grad()
    def write_back(self, models: list) -> None:
        for m, model in enumerate(models):
            for layer, w, b in zip(model.linears(), self.weights, self.biases):
                layer.weight.copy_(w[m].T)
                layer.bias.copy_(b[m, 0])


def _optimizer(parameters, lr, weight_decay, decoupled, **kw):
    """Adam with the seed's coupled L2 penalty (``decoupled=False``), or AdamW's decoupled decay."""
    kind = torch.optim.AdamW if decoupled else torch.optim.Adam
    return kind(parameters, lr=lr, weight_decay=weight_decay, **kw)


def fit_many(models: list, losses: list, x: torch.Tensor, *, epochs: int, batch_size: int = 100,
             lr: float = 1e-3, weight_decay: float = 1e-3, decoupled: bool = False, seed: int = 0,
             signed: list | None = None, progress: bool = True) -> list:
    """Train several autoencoders at once with Adam; return one ``History`` per model.

    ``losses[i]`` ("l1" or "mse") is model i's reconstruction loss. Every model sees the
    same shuffled mini-batches of ``x`` (N, D) (shuffled with ``seed``); where ``signed[i]``
    is true, model i gets them as ``2 * x - 1`` (pixels in [-1, 1]) and reconstructs that. The trained
    weights are written back into ``models``. History rows hold ``epoch``, ``train_loss``
    (that model's mean loss over the epoch) and ``seconds`` (the wall time of the epoch
    for all models together).
    """
    from tqdm.auto import tqdm

    if len(models) != len(losses) or not models:
        raise ValueError(f"fit_many needs one loss per model; got {len(models)} models and {len(losses)} losses")
    for name in losses:
        if name not in LOSSES:
            raise ValueError(f"each loss must be one of {', '.join(map(repr, LOSSES))}; got {name!r}")
    x = x.reshape(len(x), -1)
    stack = Stacked(models)
    if signed is not None:
        if len(signed) != len(models):
            raise ValueError(f"signed needs one entry per model; got {len(signed)} for {len(models)} models")
        scale = 1.0 + torch.tensor([bool(v) for v in signed], device=x.device,
                                   dtype=x.dtype).view(-1, 1, 1)  # 2 where signed, else 1; the shift is 1 - scale
    opt = _optimizer(stack.parameters(), lr, weight_decay, decoupled, fused=True)
    generator = torch.Generator().manual_seed(seed)
    histories = [History() for _ in models]

    bar = tqdm(range(epochs), desc=f"fit {len(models)} models", disable=not progress, leave=False)
    for epoch in bar:
        t0 = time.perf_counter()
        totals = torch.zeros(len(models), dtype=torch.float64, device=x.device)
        for idx in batches(len(x), batch_size, generator):
            xb = x[idx] if signed is None else x[idx] * scale + (1 - scale)  # (B, D) or (models, B, D)
            diff = stack.forward(xb) - xb
            loss_each = torch.stack([d.abs().mean() if name == "l1" else d.square().mean()  # each model's
                                     for d, name in zip(diff, losses)])                    # own mean loss
            opt.zero_grad(set_to_none=True)
            loss_each.sum().backward()  # the sum's gradient w.r.t. model i is model i's own
            opt.step()
            totals += loss_each.detach().double() * len(idx)
        seconds = time.perf_counter() - t0
        for h, total in zip(histories, (totals / len(x)).tolist()):
            h.rows.append({"epoch": epoch, "train_loss": total, "seconds": seconds})
        bar.set_postfix(loss=" ".join(f"{v:.4f}" for v in (totals / len(x)).tolist()))
    stack.write_back(models)
    for m in models:
        m.eval()
    return histories


def fit_one_by_one(model: Autoencoder, loss: str, x: torch.Tensor, *, epochs: int, batch_size: int = 100,
                   lr: float = 1e-3, weight_decay: float = 1e-3, decoupled: bool = False, seed: int = 0) -> History:
    """The plain loop (one model, in-memory batches): the reference ``fit_many`` must match."""
    x = x.reshape(len(x), -1)
    opt = _optimizer(model.parameters(), lr, weight_decay, decoupled)
    generator = torch.Generator().manual_seed(seed)
    history = History()
    model.train()
    for epoch in range(epochs):
        t0, total = time.perf_counter(), 0.0
        for idx in batches(len(x), batch_size, generator):
            xb = x[idx]
            value = reconstruction_loss(loss, model(xb), xb)
            opt.zero_grad(set_to_none=True)
            value.backward()
            opt.step()
            total += value.item() * len(idx)
        history.rows.append({"epoch": epoch, "train_loss": total / len(x), "seconds": time.perf_counter() - t0})
    model.eval()
    return history
