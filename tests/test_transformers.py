"""course_lib.transformers: shapes, the patch cutting, positions, and that fit() trains them."""
import math

import torch

from course_lib import training
from course_lib.transformers import PatchTokenAE, PixelTokenAE, SinusoidalPositions, encode


def n_params(model):
    return sum(p.numel() for p in model.parameters())


def test_pixel_token_ae_is_the_seeds_shape():
    torch.manual_seed(0)
    model = PixelTokenAE(n_values=785)
    x = torch.rand(3, 785)
    codes = model.encode(x)
    assert codes.shape == (3, 4) and ((0 < codes) & (codes < 1)).all()
    assert model(x).shape == (3, 785) and model.n_tokens == 785
    assert model.embed.weight.shape == (1570, 785)  # the 1.2M-parameter pseudo-embedding
    assert len(model.encoder.layers) == 6 and model.encoder.layers[0].self_attn.num_heads == 2
    assert n_params(model.embed) == 785 * 1570 + 1570


def test_patch_token_ae_shapes_and_token_count():
    model = PatchTokenAE()
    x = torch.rand(5, 785)
    assert model.encode(x).shape == (5, 4) and model(x).shape == (5, 785)
    assert model.n_tokens == 17
    small = PatchTokenAE(side=8, patch=4, d_model=8, n_heads=2)
    assert small.encode(torch.rand(2, 65)).shape == (2, 4) and small.n_tokens == 5


def test_patch_code_logits_cannot_drift_together_into_saturation():
    # Notebook 06's collapse: on some seeds Adam moved every code logit to about +-8 for
    # every item, and the codes stopped varying. With the logits batch-normalised, even a
    # code layer whose bias is pushed far out gives a batch of codes that still spread.
    torch.manual_seed(0)
    model = PatchTokenAE(side=8, patch=4, d_model=8, n_heads=2).train()
    with torch.no_grad():
        model.to_code[0].bias.fill_(8.0)
    codes = model.encode(torch.rand(32, 65))
    assert codes.std(0).min() > 0.1 and ((codes - 0.5).abs() < 0.49).float().mean() > 0.9


def test_patches_are_the_image_squares_in_reading_order():
    model = PatchTokenAE(side=28, patch=7)
    image = torch.arange(784.0).reshape(28, 28)
    x = torch.cat([image.flatten(), torch.tensor([0.5])])[None]
    patches = model.patches(x)
    assert patches.shape == (1, 16, 49)
    assert torch.equal(patches[0, 0], image[:7, :7].flatten())
    assert torch.equal(patches[0, 1], image[:7, 7:14].flatten())
    assert torch.equal(patches[0, 4], image[7:14, :7].flatten())
    assert torch.equal(patches[0, 15], image[21:, 21:].flatten())


def test_sinusoidal_positions():
    pos = SinusoidalPositions(d_model=2, n_positions=10)
    out = pos(torch.zeros(1, 10, 2))[0]
    assert torch.allclose(out[:, 0], torch.sin(torch.arange(10.0)))
    assert torch.allclose(out[:, 1], torch.cos(torch.arange(10.0)))
    wide = SinusoidalPositions(d_model=6, n_positions=5).table
    assert math.isclose(wide[3, 2].item(), math.sin(3 / 10000 ** (2 / 6)), rel_tol=1e-6)
    assert math.isclose(wide[3, 5].item(), math.cos(3 / 10000 ** (4 / 6)), rel_tol=1e-6)


def test_both_models_train_with_fit_and_encode_in_batches():
    torch.manual_seed(0)
    x = torch.rand(40, 65)

    def loss_fn(model, xb, _):
        return torch.nn.functional.mse_loss(model(xb), xb)

    for model in (PixelTokenAE(n_values=65), PatchTokenAE(side=8, patch=4, d_model=8, n_heads=2)):
        history = training.fit(model, loss_fn, x, epochs=3, batch_size=10,
                               optimizer=torch.optim.Adam(model.parameters(), lr=3e-3), progress=False,
                               generator=torch.Generator().manual_seed(0))
        losses = history.column("train_loss")
        assert losses[-1] < losses[0]
        codes = encode(model, x, batch_size=16)
        assert codes.shape == (40, 4) and not model.training
        with torch.no_grad():
            assert torch.allclose(codes, model.encode(x), atol=1e-6)


def test_a_width_two_token_leaves_a_layer_norm_as_one_of_two_points():
    """The seed's d_model = 2: a layer norm maps (a, b) to (+1, -1) or (-1, +1), up to its scale and shift."""
    torch.manual_seed(0)
    model = PixelTokenAE(n_values=65)
    tokens = model.encoder(model.positions(torch.randn(4, 65, 2))).detach()
    norm = model.encoder.layers[-1].norm2
    standard = (tokens - norm.bias) / norm.weight
    assert torch.allclose(standard.sum(-1), torch.zeros(4, 65), atol=1e-4)
    assert ((standard.abs() - 1).abs() < 1e-2).float().mean() > 0.95
