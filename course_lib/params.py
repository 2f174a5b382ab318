"""Checks for a notebook's ``parameters`` cell, declared in one place.

The parameters cell is typed (``lr: float = 1e-3  # comment``). Its check cell is one call::

    params.check(globals(), lr=(1e-6, 1.0), optimizer={"adam", "sgd"})

``check`` reads the cell's names and types from the annotations, checks each value
against its type (a float must also be finite), then against its rule: a
``(low, high)`` range, a set of allowed values, or a function that raises. The names
every notebook shares (``dataset``, ``seed``, ``threads``, ...) have rules here. A bad
value stops with a one-line ``ValueError`` naming the parameter and what is allowed.
``check`` only reads: :func:`course_lib.session.start` calls it, keeps the values on the
run and makes ``output_dir``.
"""
from __future__ import annotations

import math
import typing

SEED_MAX = 2**32 - 1  # numpy's seeds stop here
DEVICES = ("auto", "cpu", "cuda", "mps")


def _common_rules() -> dict:
    from . import data

    return {
        "dataset": set(data.NAMES),
        "seed": (0, SEED_MAX),
        "threads": (1, 256),
        "batch_size": (1, None),
        "n_train": (10, None),
        "n_test": (10, None),
        "epochs": (1, None),
        "device": set(DEVICES),
    }


def check(namespace: dict, **rules) -> dict:
    """Check every annotated name of ``namespace`` (a notebook's ``globals()``)."""
    annotations = namespace.get("__annotations__", {})
    values = {name: namespace[name] for name in annotations if name in namespace}
    missing = set(rules) - set(values)
    if missing:
        raise ValueError(f"rules given for names the parameters cell does not declare: {', '.join(sorted(missing))}")
    rules = {**_common_rules(), **rules}
    for name, value in values.items():
        kind = annotations[name]
        if isinstance(kind, str):  # `from __future__ import annotations` in the notebook
            kind = eval(kind, vars(typing) | {"Optional": typing.Optional})  # noqa: S307 (a notebook's own cell)
        _check_type(name, value, kind)
        if value is not None and name in rules:
            _check_rule(name, value, rules[name])
    return values


def _check_type(name: str, value, kind) -> None:
    args = typing.get_args(kind)
    if typing.get_origin(kind) is typing.Union:  # Optional[X]
        if value is None and type(None) in args:
            return
        kind = next(a for a in args if a is not type(None))
        args = typing.get_args(kind)
    origin = typing.get_origin(kind) or kind
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)) or not value:
            raise ValueError(f"{name} must be a non-empty list; got {value!r}")
        for item in value:
            _check_type(name, item, args[0] if args else typing.Any)
        return
    if kind is bool and not isinstance(value, bool):
        raise ValueError(f"{name} must be True or False; got {value!r}")
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise ValueError(f"{name} must be an integer; got {value!r}")
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{name} must be a number; got {value!r}")
        if not math.isfinite(value):
            raise ValueError(f"{name} must be a finite number; got {value!r}")
    if kind is str and not (isinstance(value, str) and value):
        raise ValueError(f"{name} must be a non-empty string; got {value!r}")


def _check_rule(name: str, value, rule) -> None:
    if callable(rule):
        rule(name, value)
        return
    items = value if isinstance(value, (list, tuple)) else [value]
    if isinstance(rule, (set, frozenset)):
        allowed = sorted(rule, key=repr)
        if any(v not in rule for v in items):
            what = "drawn from" if isinstance(value, (list, tuple)) else "one of"
            raise ValueError(f"{name} must be {what} {', '.join(map(repr, allowed))}; got {value!r}")
        return
    low, high = rule
    if any((low is not None and v < low) or (high is not None and v > high) for v in items):
        lo = "-inf" if low is None else low
        hi = "inf" if high is None else high
        each = "each of " if isinstance(value, (list, tuple)) else ""
        raise ValueError(f"{each}{name} must be in [{lo}, {hi}]; got {value!r}")
