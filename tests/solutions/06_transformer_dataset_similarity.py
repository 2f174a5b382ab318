"""Solutions to notebook 06's exercises (tests/test_exercises.py pastes each block into its cell)."""

# %% same_marginals
def same_marginals(p: torch.Tensor) -> torch.Tensor:
    """A sample with P's per-column values (each column in any order) but a different joint distribution."""
    g = torch.Generator().manual_seed(1)
    return torch.stack([p[torch.randperm(len(p), generator=g), d] for d in range(p.shape[1])], dim=1)
