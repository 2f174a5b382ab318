"""course_lib.stacked_autoencoders: the seed's shapes, and fit_many = training each model alone."""
import copy

import pytest
import torch

from course_lib import stacked_autoencoders as ae


def test_shapes_and_parameter_counts():
    for kind in ae.KINDS:
        model = ae.make_autoencoder(kind)
        x = torch.rand(7, 1, 28, 28)
        assert model.encode(x).shape == (7, 2)
        assert model(x).shape == (7, 784)
        sizes = (784, 128, 64, 12, 2)
        per_side = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
        per_side += sum(a * b + a for a, b in zip(sizes[:-1], sizes[1:]))  # mirrored decoder
        assert sum(p.numel() for p in model.parameters()) == per_side
    relu = ae.make_autoencoder("relu")
    assert isinstance(relu.decoder[-1], torch.nn.Tanh)
    assert not any(isinstance(m, (torch.nn.ReLU, torch.nn.Tanh)) for m in ae.make_autoencoder("linear").modules())
    with pytest.raises(ValueError, match="kind"):
        ae.make_autoencoder("sigmoid")


def test_fit_many_equals_training_each_alone():
    torch.manual_seed(0)
    x = torch.rand(300, 784)
    kinds, losses = ["linear", "relu", "relu", "linear"], ["l1", "mse", "l1", "mse"]
    models = [ae.make_autoencoder(k) for k in kinds]
    alone = [copy.deepcopy(m) for m in models]
    histories = ae.fit_many(models, losses, x, epochs=2, batch_size=50, lr=1e-3, weight_decay=1e-3, seed=5,
                            progress=False)
    for model, ref, loss, history in zip(models, alone, losses, histories):
        ref_history = ae.fit_one_by_one(ref, loss, x, epochs=2, batch_size=50, lr=1e-3, weight_decay=1e-3, seed=5)
        for p, q in zip(model.parameters(), ref.parameters()):
            assert torch.allclose(p, q, atol=1e-5)
        assert history.column("train_loss") == pytest.approx(ref_history.column("train_loss"), rel=1e-5)
        assert history.column("train_loss")[1] < history.column("train_loss")[0]


def test_fit_many_is_deterministic():
    x = torch.rand(200, 784)
    runs = []
    for _ in range(2):
        torch.manual_seed(1)
        models = [ae.make_autoencoder("relu"), ae.make_autoencoder("linear")]
        ae.fit_many(models, ["mse", "l1"], x, epochs=1, batch_size=40, seed=2, progress=False)
        runs.append(torch.cat([p.flatten() for m in models for p in m.parameters()]))
    assert torch.equal(runs[0], runs[1])


def test_fit_many_rejects_bad_arguments():
    models = [ae.make_autoencoder("relu")]
    x = torch.rand(20, 784)
    with pytest.raises(ValueError, match="loss"):
        ae.fit_many(models, ["huber"], x, epochs=1, progress=False)
    with pytest.raises(ValueError, match="one loss per model"):
        ae.fit_many(models, ["l1", "mse"], x, epochs=1, progress=False)
    with pytest.raises(ValueError, match="one shape"):
        ae.fit_many(models + [ae.make_autoencoder("relu", (784, 32, 2))], ["l1", "l1"], x, epochs=1,
                    progress=False)


def test_decoupled_weight_decay_equals_adamw_alone():
    torch.manual_seed(3)
    x = torch.rand(120, 784)
    models = [ae.make_autoencoder("relu"), ae.make_autoencoder("linear")]
    alone = [copy.deepcopy(m) for m in models]
    ae.fit_many(models, ["l1", "mse"], x, epochs=2, batch_size=40, weight_decay=1e-2, decoupled=True, seed=4,
                progress=False)
    for model, ref, loss in zip(models, alone, ["l1", "mse"]):
        ae.fit_one_by_one(ref, loss, x, epochs=2, batch_size=40, weight_decay=1e-2, decoupled=True, seed=4)
        for p, q in zip(model.parameters(), ref.parameters()):
            assert torch.allclose(p, q, atol=1e-5)
    coupled = copy.deepcopy(alone[0])
    ae.fit_one_by_one(coupled, "l1", x, epochs=2, batch_size=40, weight_decay=1e-2, decoupled=False, seed=4)
    assert not torch.allclose(coupled.encoder[0].weight, models[0].encoder[0].weight, atol=1e-5)


def test_stacked_tensors_live_on_the_models_device():
    # the "meta" device stands in for a GPU: every tensor Stacked makes must follow the weights
    models = [ae.make_autoencoder("relu").to("meta"), ae.make_autoencoder("linear").to("meta")]
    stack = ae.Stacked(models)
    assert stack.floor.device.type == "meta" and stack.relu.device.type == "meta"
    assert all(t.device.type == "meta" for t in stack.parameters())
    out = stack.forward(torch.empty(5, 784, device="meta"))
    assert out.shape == (2, 5, 784) and out.device.type == "meta"


def test_floor_is_a_relu_for_relu_models_only():
    models = [ae.make_autoencoder("relu"), ae.make_autoencoder("linear")]
    stack = ae.Stacked(models)
    assert stack.floor.flatten().tolist() == [0.0, float("-inf")]
    x = torch.rand(6, 784)
    with torch.no_grad():
        out = stack.forward(x)
        for m, model in enumerate(models):
            assert torch.allclose(out[m], model(x), atol=1e-5)


def test_signed_inputs_equal_training_on_2x_minus_1_alone():
    # One stack can mix input ranges: a model with signed=True sees (and rebuilds) 2x - 1.
    torch.manual_seed(6)
    x = torch.rand(120, 784)
    models = [ae.make_autoencoder("relu"), ae.make_autoencoder("linear")]
    alone = [copy.deepcopy(m) for m in models]
    histories = ae.fit_many(models, ["l1", "mse"], x, epochs=2, batch_size=40, signed=[True, False], seed=7,
                            progress=False)
    for model, ref, loss, inputs, history in zip(models, alone, ["l1", "mse"], [x * 2 - 1, x], histories):
        ref_history = ae.fit_one_by_one(ref, loss, inputs, epochs=2, batch_size=40, seed=7)
        for p, q in zip(model.parameters(), ref.parameters()):
            assert torch.allclose(p, q, atol=1e-5)
        assert history.column("train_loss") == pytest.approx(ref_history.column("train_loss"), rel=1e-5)
    with pytest.raises(ValueError, match="one entry per model"):
        ae.fit_many(models, ["l1", "mse"], x, epochs=1, signed=[True], progress=False)
