# %% random_map
shuffled_codes = zs[np.random.default_rng(seed).permutation(len(zs))]
