"""The MLP autoencoder of notebook 03, which saves its 2-D model (`ae_2d.pt`) beside its outputs.

``MLPAutoencoder(dim)`` is 784 -> hidden -> dim -> hidden -> 784: an encoder whose code
may pass through tanh, and a decoder ending in a sigmoid so pixels land in [0, 1]. The
activations are arguments because notebook 03 compares them: the seed used ReLU inside
and tanh on the code. ``save`` / ``load`` keep the architecture next to the weights, so a
checkpoint rebuilds itself. ``pca_mse`` is the linear anchor: scikit-learn's PCA fitted
on the training images, scored on the test images.
"""
from __future__ import annotations

import os

import torch
from torch import nn

from .training import in_batches, load_checkpoint, save_checkpoint

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "leaky_relu": nn.LeakyReLU, "elu": nn.ELU}
CODE_ACTIVATIONS = ("tanh", "none")


class MLPAutoencoder(nn.Module):
    """784 -> hidden -> dim (the code) -> hidden -> 784, sigmoid on the output."""

    def __init__(self, dim: int, hidden: int = 100, activation: str = "relu", code_activation: str = "tanh",
                 n_pixels: int = 784):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}; got {activation!r}")
        if code_activation not in CODE_ACTIVATIONS:
            raise ValueError(f"code_activation must be one of {', '.join(CODE_ACTIVATIONS)}; got {code_activation!r}")
        self.config = {"dim": dim, "hidden": hidden, "activation": activation,
                       "code_activation": code_activation, "n_pixels": n_pixels}
        act = ACTIVATIONS[activation]
        self.encoder = nn.Sequential(
            nn.Linear(n_pixels, hidden), act(),
            nn.Linear(hidden, dim), nn.Tanh() if code_activation == "tanh" else nn.Identity(),
        )
        self.decoder = nn.Sequential(
            nn.Linear(dim, hidden), act(),
            nn.Linear(hidden, n_pixels), nn.Sigmoid(),
        )

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x.reshape(len(x), -1))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Flat reconstructions (N, 784) of images given as (N, 784) or (N, 1, 28, 28)."""
        return self.decode(self.encode(x))


def codes(model: MLPAutoencoder, x: torch.Tensor, batch_size: int = 4096) -> torch.Tensor:
    """The codes of ``x``, computed in chunks, in eval mode, on the model's device."""
    model.eval()
    return in_batches(model.encode, x, batch_size, next(model.parameters()).device)


def reconstruction_errors(model: MLPAutoencoder, x: torch.Tensor, batch_size: int = 4096) -> torch.Tensor:
    """Per-image mean squared error (per pixel) between ``x`` and its reconstruction."""
    model.eval()

    def errors(xb: torch.Tensor) -> torch.Tensor:
        xb = xb.reshape(len(xb), -1)
        return (model(xb) - xb).pow(2).mean(dim=1)

    return in_batches(errors, x, batch_size, next(model.parameters()).device)


def save(path: str | os.PathLike, model: MLPAutoencoder, **extra) -> None:
    """Atomically write the weights, the architecture and any ``extra`` facts (recipe, data)."""
    save_checkpoint(path, {"config": model.config, "model": model.state_dict(), **extra})


def load(path: str | os.PathLike) -> tuple[MLPAutoencoder, dict]:
    """Rebuild the model saved by :func:`save`; return it (eval mode, CPU) and the whole record."""
    state = load_checkpoint(path)
    model = MLPAutoencoder(**state["config"])
    model.load_state_dict(state["model"])
    return model.eval(), state


def pca_mse(x_train: torch.Tensor, x_test: torch.Tensor, dims, seed: int = 0) -> dict:
    """Test reconstruction MSE per pixel of PCA with k components, for each k in ``dims``.

    One scikit-learn PCA with the largest k is fitted on the training images; the first
    k components of it are the k-component PCA (they are nested)."""
    import numpy as np
    from sklearn.decomposition import PCA

    xtr = x_train.reshape(len(x_train), -1).double().numpy()
    xte = x_test.reshape(len(x_test), -1).double().numpy()
    kmax = max(dims)
    pca = PCA(n_components=kmax, svd_solver="covariance_eigh", random_state=seed).fit(xtr)
    centred = xte - pca.mean_
    result = {}
    for k in dims:
        comps = pca.components_[:k]
        recon = centred @ comps.T @ comps
        result[k] = float(np.mean((centred - recon) ** 2))
    return result
