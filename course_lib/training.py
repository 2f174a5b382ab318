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
        generator: torch.Generator, evaluate: Callable[[torch.nn.Module], dict] | None = None,
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
    raw: list = field(default_factory=list)  # the loss of each step's batch, before smoothing
    steepest: int = 0  # index into lrs/losses of the suggestion


def lr_find(model: torch.nn.Module, loss_fn: LossFn, x: torch.Tensor, y: torch.Tensor | None = None, *,
            make_optimizer: Callable[[list, float], torch.optim.Optimizer], batch_size: int,
            start: float = 1e-4, end: float = 10.0, steps: int = 300, beta: float = 0.95,
            generator: torch.Generator, progress: bool = True) -> LRFinderResult:
    """Smith's learning-rate range test.

    Trains a copy of ``model`` for up to ``steps`` mini-batches (each drawn at random,
    with replacement, by ``generator``) while the learning rate grows geometrically from
    ``start`` to ``end``. The loss is smoothed by an exponential moving average
    (``beta``, bias-corrected); the test stops once the smoothed loss passes four times
    its best, or is not finite. The suggestion is the rate where the smoothed loss falls
    fastest against log(rate), looked for before its minimum: the middle of the steep,
    falling stretch, well before the blow-up. ``model`` itself is left untouched.
    """
    from tqdm.auto import tqdm

    probe = copy.deepcopy(model).train()
    opt = make_optimizer(list(probe.parameters()), start)
    lrs, losses, raw, avg, best = [], [], [], 0.0, math.inf
    bar = tqdm(total=steps, desc="lr_find", disable=not progress, leave=False)
    try:
        for step in range(steps):
            lr = start * (end / start) ** (step / max(steps - 1, 1))
            for group in opt.param_groups:
                group["lr"] = lr
            idx = torch.randint(len(x), (batch_size,), generator=generator)
            loss = loss_fn(probe, x[idx], None if y is None else y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            avg = beta * avg + (1 - beta) * loss.item()
            smooth = avg / (1 - beta ** (step + 1))
            bar.update(1)
            if not math.isfinite(smooth) or smooth > 4 * best:
                bar.reset(total=step + 1)  # the blow-up is the test's normal end: show the bar complete
                bar.update(step + 1)
                break
            best = min(best, smooth)
            lrs.append(lr)
            losses.append(smooth)
            raw.append(loss.item())
    finally:
        bar.close()
    steepest = steepest_fall(lrs, losses)
    return LRFinderResult(lrs, losses, lrs[steepest], raw, steepest)


def steepest_fall(lrs: list, losses: list) -> int:
    """Index where ``losses`` falls fastest against log(``lrs``), looked for before the
    loss's minimum (``numpy.gradient``: central differences inside, one-sided at the ends);
    0 when the minimum is the first point."""
    import numpy as np

    lowest = int(np.argmin(losses))
    if lowest == 0:
        return 0
    slopes = np.gradient(np.asarray(losses, dtype=float), np.log(np.asarray(lrs, dtype=float)))
    return int(np.argmin(slopes[:lowest]))
