"""Checks for a notebook's ``parameters`` cell.

Each check raises a one-line ``ValueError`` naming the parameter and what is allowed,
so a bad papermill ``-p`` stops at once instead of deep inside torch.
"""
from __future__ import annotations

from collections.abc import Iterable


def choice(name: str, value, allowed: Iterable) -> None:
    allowed = tuple(allowed)
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}; got {value!r}")


def integer(name: str, value, low: int | None = None, high: int | None = None, optional: bool = False) -> None:
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer{' or None' if optional else ''}; got {value!r}")
    _bounds(name, value, low, high)


def number(name: str, value, low: float | None = None, high: float | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a number; got {value!r}")
    _bounds(name, value, low, high)


def flag(name: str, value) -> None:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be True or False; got {value!r}")


def text(name: str, value) -> None:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty string; got {value!r}")


def integers(name: str, values, low: int | None = None, high: int | None = None) -> None:
    if not isinstance(values, (list, tuple)) or not values:
        raise ValueError(f"{name} must be a non-empty list of integers; got {values!r}")
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int) or (low is not None and v < low) or (high is not None and v > high):
            raise ValueError(f"{name} must be a list of integers in [{low}, {high}]; got {values!r}")


def numbers(name: str, values, low: float | None = None, high: float | None = None) -> None:
    if not isinstance(values, (list, tuple)) or not values:
        raise ValueError(f"{name} must be a non-empty list of numbers; got {values!r}")
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or (low is not None and v < low) or (high is not None and v > high):
            raise ValueError(f"{name} must be a list of numbers in [{low}, {high}]; got {values!r}")


def _bounds(name: str, value, low, high) -> None:
    if (low is not None and value < low) or (high is not None and value > high):
        lo = "-inf" if low is None else low
        hi = "inf" if high is None else high
        raise ValueError(f"{name} must be in [{lo}, {hi}]; got {value!r}")


def common(*, dataset, seed, batch_size, n_train, device, progress, output_dir, epochs=None, threads=None) -> None:
    """The checks every notebook shares."""
    from . import data, session

    choice("dataset", dataset, data.NAMES)
    integer("seed", seed, 0)
    integer("batch_size", batch_size, 1)
    integer("n_train", n_train, 10, optional=True)
    choice("device", device, session.DEVICES)
    flag("progress", progress)
    text("output_dir", output_dir)
    if epochs is not None:
        integer("epochs", epochs, 1)
    if threads is not None:
        integer("threads", threads, 1, 256)
