"""course_lib.autoencoder: the MLP autoencoder shared by notebooks 03 and 04, and the PCA anchor."""
import numpy as np
import pytest
import torch
from sklearn.decomposition import PCA

from course_lib import autoencoder


def test_shapes_and_parameter_count():
    torch.manual_seed(0)
    model = autoencoder.MLPAutoencoder(3)
    x = torch.rand(5, 1, 28, 28)
    assert model.encode(x).shape == (5, 3)
    assert model(x).shape == (5, 784)
    # 784*100+100 + 100*3+3 + 3*100+100 + 100*784+784
    assert sum(p.numel() for p in model.parameters()) == 78500 + 303 + 400 + 79184


def test_code_activation_bounds_the_code_and_output_is_in_unit_interval():
    torch.manual_seed(0)
    x = torch.rand(64, 784) * 50  # large inputs push tanh towards +-1
    tanh = autoencoder.MLPAutoencoder(2, code_activation="tanh")
    linear = autoencoder.MLPAutoencoder(2, code_activation="none")
    assert tanh.encode(x).abs().max() <= 1
    assert linear.encode(x).abs().max() > 1
    out = linear(x)
    assert out.min() >= 0 and out.max() <= 1


def test_bad_arguments_raise_one_line_value_errors():
    with pytest.raises(ValueError, match="activation must be one of"):
        autoencoder.MLPAutoencoder(2, activation="sigmoid")
    with pytest.raises(ValueError, match="code_activation must be one of"):
        autoencoder.MLPAutoencoder(2, code_activation="relu")


def test_save_and_load_round_trip(tmp_path):
    torch.manual_seed(0)
    model = autoencoder.MLPAutoencoder(2, hidden=16, activation="tanh", code_activation="none")
    path = tmp_path / "ae.pt"
    autoencoder.save(path, model, recipe={"lr": 0.01})
    again, state = autoencoder.load(path)
    assert state["recipe"] == {"lr": 0.01}
    assert again.config == model.config
    x = torch.rand(7, 784)
    assert torch.equal(again(x), model.eval()(x))
    assert not (tmp_path / "ae.pt.tmp").exists()


def test_codes_and_errors_match_a_direct_computation():
    torch.manual_seed(0)
    model = autoencoder.MLPAutoencoder(2, hidden=8).eval()
    x = torch.rand(10, 784)
    with torch.no_grad():
        assert torch.allclose(autoencoder.codes(model, x, batch_size=3), model.encode(x))
        direct = ((model(x) - x) ** 2).mean(1)
    assert torch.allclose(autoencoder.reconstruction_errors(model, x, batch_size=4), direct)


def test_pca_mse_matches_scikit_learn_and_the_eigenvalue_formula():
    rng = np.random.default_rng(0)
    x_train = torch.from_numpy(rng.random((200, 30)) ** 3)
    x_test = torch.from_numpy(rng.random((50, 30)) ** 3)
    ours = autoencoder.pca_mse(x_train, x_test, [1, 5, 12])
    for k, value in ours.items():
        pca = PCA(n_components=k, svd_solver="full").fit(x_train.numpy())
        recon = pca.inverse_transform(pca.transform(x_test.numpy()))
        assert value == pytest.approx(np.mean((x_test.numpy() - recon) ** 2), rel=1e-6)
    # On the training set itself: MSE_k = (1/D) * sum of the eigenvalues beyond k (biased covariance).
    on_train = autoencoder.pca_mse(x_train, x_train, [5])[5]
    eig = np.sort(np.linalg.eigvalsh(np.cov(x_train.numpy().T, bias=True)))[::-1]
    assert on_train == pytest.approx(eig[5:].sum() / 30, rel=1e-6)
    assert ours[1] > ours[5] > ours[12]
