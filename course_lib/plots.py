"""The course's recurring figures. Every function labels its axes and returns the figure;
the notebook cell ends with ``plt.show()``."""
from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import torch


def _np(a) -> np.ndarray:
    return a.detach().cpu().numpy() if isinstance(a, torch.Tensor) else np.asarray(a)


def image_grid(images, nrow: int = 10, titles=None, title: str | None = None, scale: float = 1.0, cmap: str = "gray_r"):
    """Tile (N, 1, H, W) or (N, H, W) images in rows of ``nrow``, with an optional title per image."""
    imgs = _np(images)
    if imgs.ndim == 4:
        imgs = imgs[:, 0]
    n = len(imgs)
    ncol = min(nrow, n)
    nrows = math.ceil(n / ncol)
    fig, axes = plt.subplots(nrows, ncol, figsize=(scale * ncol * 0.9, scale * nrows * (1.05 if titles is None else 1.3)),
                             squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(imgs[i], cmap=cmap, vmin=0, vmax=1)
            if titles is not None:
                ax.set_title(str(titles[i]), fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def gallery(images, captions, nrow: int = 8, title: str | None = None):
    """A captioned gallery: ``image_grid`` with a caption under each picture."""
    return image_grid(images, nrow=nrow, titles=captions, title=title, scale=1.2)


def loss_curves(history, keys=("train_loss",), title: str = "Training", ylabel: str = "loss", log: bool = False, ax=None):
    """Per-epoch curves from a ``training.History`` (or several, as a dict name -> History)."""
    fig = None
    if ax is None:
        fig, ax = plt.subplots()
    runs = history if isinstance(history, dict) else {"": history}
    for name, h in runs.items():
        for key in keys:
            values = h.column(key)
            ax.plot(range(1, len(values) + 1), values, marker="o", ms=3, label=f"{name} {key}".strip())
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if log:
        ax.set_yscale("log")
    ax.legend()
    return fig or ax.figure


def lr_finder(result, title: str = "Learning-rate finder"):
    """Smoothed loss against learning rate, with the suggestion marked."""
    fig, ax = plt.subplots()
    ax.plot(result.lrs, result.losses)
    ax.axvline(result.suggestion, color="C3", ls="--", label=f"suggestion {result.suggestion:.2g}")
    ax.set_xscale("log")
    ax.set_xlabel("learning rate (log scale)")
    ax.set_ylabel("smoothed training loss")
    ax.set_title(title)
    ax.legend()
    return fig


def confusion(y_true, y_pred, classes, title: str = "Confusion matrix", normalize: bool = True):
    """A confusion matrix (rows: true class, columns: predicted), via scikit-learn."""
    from sklearn.metrics import ConfusionMatrixDisplay

    fig, ax = plt.subplots(figsize=(5.5, 5))
    ConfusionMatrixDisplay.from_predictions(_np(y_true), _np(y_pred), display_labels=list(classes),
                                            normalize="true" if normalize else None, values_format=".2f" if normalize else "d",
                                            cmap="Blues", colorbar=False, ax=ax)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title)
    ax.grid(False)
    return fig


def scatter_2d(codes, labels, title: str = "2-D codes", xlabel: str = "code[0]", ylabel: str = "code[1]", ax=None, s: float = 4):
    """A 2-D embedding coloured by label, with a legend of classes."""
    fig = None
    if ax is None:
        fig, ax = plt.subplots(figsize=(5.5, 5))
    c, lab = _np(codes), _np(labels)
    points = ax.scatter(c[:, 0], c[:, 1], c=lab, cmap="tab10", vmin=-0.5, vmax=9.5, s=s, alpha=0.8, linewidths=0)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    (fig or ax.figure).colorbar(points, ax=ax, ticks=range(10), label="label")
    return fig or ax.figure
