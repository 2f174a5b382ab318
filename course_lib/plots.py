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


def loss_curves(history, keys=("train_loss",), title: str = "Training", ylabel: str = "loss", log: bool = False, ax=None,
                labels: dict | None = None):
    """Per-epoch curves from a ``training.History`` (or several, as a dict name -> History).

    ``labels`` maps a key to the words its legend entry shows (``{"test_acc": "test
    accuracy"}``); a key without one is shown with its underscores as spaces. Epochs are
    whole numbers on the x axis."""
    from matplotlib.ticker import MaxNLocator

    fig = None
    if ax is None:
        fig, ax = plt.subplots()
    runs = history if isinstance(history, dict) else {"": history}
    labels = labels or {}
    for name, h in runs.items():
        for key in keys:
            values = h.column(key)
            words = labels.get(key, key.replace("_", " "))
            ax.plot(range(1, len(values) + 1), values, marker="o" if len(values) <= 40 else None, ms=3,
                    label=f"{name} {words}".strip())
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if log:
        ax.set_yscale("log")
    ax.legend()
    return fig or ax.figure


def lr_finder(result, title: str = "Learning-rate range test"):
    """The range test's loss against the learning rate: each batch's loss (faint), the
    smoothed loss, its minimum, and the suggestion (the steepest fall before the minimum)
    with the tangent that finds it."""
    fig, ax = plt.subplots(figsize=(7, 4))
    lrs, losses = np.asarray(result.lrs), np.asarray(result.losses)
    raw = getattr(result, "raw", None)
    if raw is not None and len(raw):
        ax.plot(lrs, raw, color="0.75", lw=0.8, label="loss of each batch")
    ax.plot(lrs, losses, color="C0", lw=2, label="smoothed loss")
    lowest = int(np.argmin(losses))
    ax.plot(lrs[lowest], losses[lowest], "o", color="0.3", label=f"lowest smoothed loss, at rate {lrs[lowest]:.2g}")
    ax.axvline(lrs[lowest] / 10, color="0.5", ls=":", label=f"the old rule, lowest point / 10 = {lrs[lowest] / 10:.2g}")
    i = int(getattr(result, "steepest", int(np.argmin(np.abs(lrs - result.suggestion)))))
    if 0 < i < len(lrs) - 1:  # the tangent at the steepest point, over half a decade each side
        slope = (losses[i + 1] - losses[i - 1]) / np.log(lrs[i + 1] / lrs[i - 1])
        span = lrs[i] * np.array([10 ** -0.5, 10 ** 0.5])
        ax.plot(span, losses[i] + slope * np.log(span / lrs[i]), color="C3", lw=1, ls="--",
                label="steepest slope of the smoothed loss")
    ax.axvline(result.suggestion, color="C3", lw=1.5, label=f"suggestion (steepest fall) {result.suggestion:.2g}")
    ax.set_xscale("log")
    top = max(losses[0], losses.max()) if len(losses) else 1
    ax.set_ylim(min(losses.min(), np.min(raw) if raw is not None and len(raw) else np.inf) * 0.9, top * 1.15)
    ax.set_xlabel("learning rate (log scale)")
    ax.set_ylabel("training loss")
    ax.set_title(title)
    ax.legend(fontsize=8, loc="lower left")
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


def scatter_2d(codes, labels, title: str = "2-D codes", xlabel: str = "code[0]", ylabel: str = "code[1]", ax=None,
               s: float = 4, names=None, equal: bool = True, legend: bool = True):
    """A 2-D embedding coloured by label, with a legend of classes (``names[label]`` if given, else
    the label) beside the axes. ``equal`` keeps one unit the same length on both axes, so that
    distances in the picture are distances in the code. In a row of panels, give the legend to
    the last one only (``legend=False`` on the others)."""
    fig = None
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.5, 5))
    c, lab = _np(codes), _np(labels)
    ax.scatter(c[:, 0], c[:, 1], c=lab, cmap="tab10", vmin=-0.5, vmax=9.5, s=s, alpha=0.8, linewidths=0)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if equal:
        ax.set_aspect("equal", adjustable="datalim")
    if not legend:
        return fig or ax.figure
    cmap = plt.get_cmap("tab10")
    handles = [plt.Line2D([], [], marker="o", linestyle="", color=cmap(int(k)),
                          label=str(names[int(k)]) if names is not None else str(int(k)))
               for k in sorted(set(lab.tolist()))]
    ax.legend(handles=handles, title="class", loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False,
              handletextpad=0.2, borderaxespad=0)
    return fig or ax.figure
