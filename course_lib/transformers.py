"""Autoencoding transformers that squeeze a digit (plus its label) into a 4-D code.

Both models read one flat row per item: the image's pixels followed by its label,
all scaled into [0, 1] (784 + 1 = 785 values for MNIST, 64 + 1 = 65 for UCI digits).
``encode(x)`` gives a ``(B, code_dim)`` code in (0, 1) (a sigmoid), ``forward(x)``
the reconstruction of the whole flat row.

- :class:`PixelTokenAE`: every value is a token (the seed's design). A linear
  "pseudo-embedding" turns the n values into n tokens of width ``d_model`` (2), so
  attention compares every pixel with every other: n^2 pairs per head and layer.
- :class:`PatchTokenAE`: the image is cut into ``patch x patch`` squares (7x7 for
  MNIST: 16 tokens) plus one token for the label, each embedded to a wider
  ``d_model``. Far fewer tokens: (16 + 1)^2 = 289 pairs instead of 785^2. Its code
  logits are batch-normalised before the sigmoid: without that, on some seeds Adam
  pushed all of them together into the sigmoid's flat tails within the first epoch,
  and every item got the same code (found by a 10-seed sweep; see notebook 06).

The decoder is the seed's small MLP in both (code -> 30 -> 400 -> n values).
"""
from __future__ import annotations

import math

import torch
from torch import nn

from .training import in_batches


class SinusoidalPositions(nn.Module):
    """Adds the fixed sine/cosine position signal of Vaswani et al. (2017) to tokens.

    Channel pair (2i, 2i+1) of position ``pos`` gets sin / cos of pos / 10000^(2i/d).
    With ``d_model = 2`` that is just (sin pos, cos pos).
    """

    def __init__(self, d_model: int, n_positions: int):
        super().__init__()
        pos = torch.arange(n_positions, dtype=torch.float32)[:, None]
        rate = torch.exp(torch.arange(0, d_model, 2, dtype=torch.float32) * (-math.log(10000.0) / d_model))
        table = torch.zeros(n_positions, d_model)
        table[:, 0::2] = torch.sin(pos * rate)
        table[:, 1::2] = torch.cos(pos * rate[: d_model // 2])
        self.register_buffer("table", table, persistent=False)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:  # (B, T, d) -> (B, T, d)
        return tokens + self.table[: tokens.shape[1]]


def _encoder_stack(d_model: int, n_heads: int, n_layers: int, d_ff: int) -> nn.TransformerEncoder:
    layer = nn.TransformerEncoderLayer(d_model=d_model, nhead=n_heads, dim_feedforward=d_ff, dropout=0.0,
                                       batch_first=True)
    # nested tensors only help with padding masks, which we never use; turning them off
    # also silences torch's warning about the 2-wide, 2-head layer of the seed
    return nn.TransformerEncoder(layer, num_layers=n_layers, enable_nested_tensor=False)


def _decoder(code_dim: int, n_values: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(code_dim, 30), nn.Tanh(), nn.Linear(30, 400), nn.Tanh(),
                         nn.Linear(400, n_values), nn.Sigmoid())


class PixelTokenAE(nn.Module):
    """The seed's autoencoding transformer: one token per input value.

    n values -> Linear(n, n*d_model), tanh -> n tokens of width d_model -> + positions
    -> ``n_layers`` encoder layers -> flatten -> Linear(n*d_model, code_dim), sigmoid.
    """

    def __init__(self, n_values: int = 785, d_model: int = 2, n_heads: int = 2, n_layers: int = 6,
                 d_ff: int = 100, code_dim: int = 4):
        super().__init__()
        self.n_values, self.d_model, self.code_dim = n_values, d_model, code_dim
        self.embed = nn.Linear(n_values, n_values * d_model)  # the "pseudo-embedding"
        self.positions = SinusoidalPositions(d_model, n_values)
        self.encoder = _encoder_stack(d_model, n_heads, n_layers, d_ff)
        self.to_code = nn.Linear(n_values * d_model, code_dim)
        self.decoder = _decoder(code_dim, n_values)

    @property
    def n_tokens(self) -> int:
        return self.n_values

    def encode(self, x: torch.Tensor) -> torch.Tensor:  # (B, n) -> (B, code_dim)
        tokens = torch.tanh(self.embed(x)).view(len(x), self.n_values, self.d_model)
        tokens = self.encoder(self.positions(tokens))
        return torch.sigmoid(self.to_code(tokens.flatten(1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encode(x))


class PatchTokenAE(nn.Module):
    """One token per ``patch x patch`` square of the image, plus one for the label.

    The flat input is (B, side*side + 1): pixels row by row, then the scaled label.
    """

    def __init__(self, side: int = 28, patch: int = 7, d_model: int = 32, n_heads: int = 4, n_layers: int = 2,
                 d_ff: int = 64, code_dim: int = 4):
        super().__init__()
        if side % patch:
            raise ValueError(f"patch must divide the image side {side}; got {patch}")
        self.side, self.patch, self.d_model, self.code_dim = side, patch, d_model, code_dim
        self.n_values = side * side + 1
        self.n_patches = (side // patch) ** 2
        self.patch_embed = nn.Linear(patch * patch, d_model)
        self.label_embed = nn.Linear(1, d_model)
        self.positions = SinusoidalPositions(d_model, self.n_patches + 1)
        self.encoder = _encoder_stack(d_model, n_heads, n_layers, d_ff)
        # The flattened tokens share a large part across items (empty paper, positions) and
        # differ only a little, so at the start every item's code logits are nearly equal.
        # Adam then moves the 17*d_model weights of each logit together, and within an epoch
        # some seeds had every logit near +-8: saturated, with no gradient to come back.
        # Standardising each logit over the batch keeps them spread and out of the tails.
        self.to_code = nn.Sequential(nn.Linear((self.n_patches + 1) * d_model, code_dim), nn.BatchNorm1d(code_dim))
        self.decoder = _decoder(code_dim, self.n_values)

    @property
    def n_tokens(self) -> int:
        return self.n_patches + 1

    def patches(self, x: torch.Tensor) -> torch.Tensor:
        """(B, side*side + 1) -> (B, n_patches, patch*patch), patches in reading order."""
        s, p = self.side, self.patch
        img = x[:, : s * s].reshape(len(x), s // p, p, s // p, p)
        return img.permute(0, 1, 3, 2, 4).reshape(len(x), self.n_patches, p * p)

    def encode(self, x: torch.Tensor) -> torch.Tensor:  # (B, side*side + 1) -> (B, code_dim)
        tokens = torch.cat([self.patch_embed(self.patches(x)), self.label_embed(x[:, -1:])[:, None]], dim=1)
        tokens = self.encoder(self.positions(tokens))
        return torch.sigmoid(self.to_code(tokens.flatten(1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encode(x))


def encode(model: nn.Module, x: torch.Tensor, batch_size: int = 250) -> torch.Tensor:
    """Codes of all rows of ``x`` in eval mode, in batches; returned on the CPU."""
    model.eval()
    # torch's fused inference path for encoder layers is several times slower than the
    # ordinary one for the seed's 1-wide attention heads on a CPU (measured), so switch it off here
    fast = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        return in_batches(model.encode, x, batch_size, next(model.parameters()).device)
    finally:
        torch.backends.mha.set_fastpath_enabled(fast)
