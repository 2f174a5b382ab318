"""Training over in-memory tensors: mini-batches, a fit loop and a learning-rate finder.

There is no per-item ``Dataset``: the whole training set is one tensor on the device
and a batch is a slice of a shuffled index, with no collation of single items. For the
course's small MLPs that saves little next to the model's own work (benchmarks/RESULTS.md
measures the ratio against a DataLoader loop); its real gains are simplicity and
reproducible shuffling from one generator.

``fit`` takes a ``loss_fn(model, xb, yb) -> scalar`` so the same loop trains a
classifier, an autoencoder or a VAE; the notebook writes the loss it teaches.
"""
from __future__ import annotations

import copy
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch

LossFn = Callable[[torch.nn.Module, torch.Tensor, "torch.Tensor | None"], torch.Tensor]


def batches(n: int, batch_size: int, generator: torch.Generator | None = None, shuffle: bool = True):
    """Yield index tensors covering ``range(n)`` in batches (shuffled with ``generator``)."""
    order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
    for i in range(0, n, batch_size):
        yield order[i:i + batch_size]


@torch.no_grad()
def in_batches(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, batch_size: int,
               device: torch.device | str | None = None) -> torch.Tensor:
    """``fn`` applied to ``x`` a batch at a time (moved to ``device``), without gradients;
    the results concatenated on the CPU. Put the model in eval mode first."""
    return torch.cat([fn(x[i:i + batch_size].to(device)).cpu() for i in range(0, len(x), batch_size)])


@dataclass
class History:
    """One row per epoch: ``{"epoch", "train_loss", "seconds", ...evaluation metrics}``."""

    rows: list = field(default_factory=list)

    def column(self, key: str) -> list:
        return [row[key] for row in self.rows if key in row]

    @property
    def last(self) -> dict:
        return self.rows[-1] if self.rows else {}

    @property
    def seconds(self) -> float:
        return sum(self.column("seconds"))


def save_checkpoint(path: str | os.PathLike, state: dict) -> None:
    """Write ``state`` with torch.save, atomically: a temp file, then a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: str | os.PathLike) -> dict:
    return torch.load(path, map_location="cpu", weights_only=False)


def fit(model: torch.nn.Module, loss_fn: LossFn, x: torch.Tensor, y: torch.Tensor | None = None, *,
        epochs: int, batch_size: int, optimizer: torch.optim.Optimizer,
        generator: torch.Generator | None = None, evaluate: Callable[[torch.nn.Module], dict] | None = None,
        progress: bool = True, checkpoint: str | os.PathLike | None = None, resume: bool = True,
        desc: str = "train") -> History:
    """Train ``model`` for ``epochs`` passes over ``x`` (and ``y``), returning the history.

    - ``evaluate(model) -> dict`` runs after each epoch in eval mode without gradients;
      its numbers join the history row.
    - ``checkpoint``: a path written after every epoch (model, optimizer, shuffle
      state, history). With ``resume`` an existing file continues where it stopped,
      and the result is the same as an uninterrupted run.
    - ``progress`` switches the tqdm bar (off under CI and in scripts).
    """
    from tqdm.auto import tqdm

    generator = generator if generator is not None else torch.Generator().manual_seed(0)
    history, first = History(), 0
    if checkpoint is not None and resume and Path(checkpoint).exists():
        state = load_checkpoint(checkpoint)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        generator.set_state(state["generator"])
        history, first = History(state["history"]), state["epoch"] + 1

    bar = tqdm(range(first, epochs), desc=desc, disable=not progress, leave=False)
    for epoch in bar:
        model.train()
        t0, total, count = time.perf_counter(), 0.0, 0
        for idx in batches(len(x), batch_size, generator):
            xb = x[idx]
            yb = None if y is None else y[idx]
            loss = loss_fn(model, xb, yb)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(idx)
            count += len(idx)
        row = {"epoch": epoch, "train_loss": total / count}
        if evaluate is not None:
            model.eval()
            with torch.no_grad():
                row.update(evaluate(model))
        row["seconds"] = time.perf_counter() - t0
        history.rows.append(row)
        bar.set_postfix(loss=f"{row['train_loss']:.4f}")
        if checkpoint is not None:
            save_checkpoint(checkpoint, {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                                         "generator": generator.get_state(), "history": history.rows,
                                         "epoch": epoch})
    model.eval()
    return history


@dataclass
class LRFinderResult:
    lrs: list
    losses: list  # smoothed
    suggestion: float


def lr_find(model: torch.nn.Module, loss_fn: LossFn, x: torch.Tensor, y: torch.Tensor | None = None, *,
            make_optimizer: Callable[[list, float], torch.optim.Optimizer], batch_size: int,
            start: float = 1e-6, end: float = 10.0, steps: int = 100, generator: torch.Generator | None = None,
            progress: bool = True) -> LRFinderResult:
    """Smith's learning-rate range test.

    Trains a copy of ``model`` for up to ``steps`` mini-batches while the learning rate
    grows geometrically from ``start`` to ``end``, recording an exponentially smoothed
    loss; it stops once the loss passes four times its best. The suggestion is the rate
    at the smoothed minimum divided by ten: still on the steep, falling part of the
    curve, safely before it blows up. ``model`` itself is left untouched.
    """
    from tqdm.auto import tqdm

    probe = copy.deepcopy(model).train()
    opt = make_optimizer(list(probe.parameters()), start)
    generator = generator if generator is not None else torch.Generator().manual_seed(0)
    factor = (end / start) ** (1 / max(steps - 1, 1))
    lrs, losses, avg, best = [], [], 0.0, math.inf
    it = iter(())
    for step in tqdm(range(steps), desc="lr_find", disable=not progress, leave=False):
        idx = next(it, None)
        if idx is None:
            it = batches(len(x), batch_size, generator)
            idx = next(it)
        lr = start * factor ** step
        for group in opt.param_groups:
            group["lr"] = lr
        loss = loss_fn(probe, x[idx], None if y is None else y[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        avg = 0.98 * avg + 0.02 * loss.item()
        smooth = avg / (1 - 0.98 ** (step + 1))
        if not math.isfinite(smooth) or smooth > 4 * best:
            break
        best = min(best, smooth)
        lrs.append(lr)
        losses.append(smooth)
    suggestion = lrs[min(range(len(losses)), key=losses.__getitem__)] / 10
    return LRFinderResult(lrs, losses, suggestion)
