# Solutions to the exercises of notebooks/03_autoencoder.ipynb (tests/test_exercises.py pastes them in).

# %% tanh_slope
def tanh_slope(y):
    # y = tanh(a), a tensor. Return d tanh(a) / da, written with y only.
    return 1 - y**2
