"""What a notebook leaves behind: ``metrics.json`` in its ``output_dir``.

Notebooks write it through ``run.record(metrics, data=...)`` (see :mod:`course_lib.session`),
which passes the run's claims, parameters, device and seconds to :func:`write`.
"""
from __future__ import annotations

import json
import math
import platform
from pathlib import Path


def _plain(value):
    """Make tensors, numpy numbers and dict keys JSON-friendly; NaN becomes null."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):  # tensors, numpy arrays and scalars
        return _plain(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value


def write(output_dir: str | Path, metrics: dict, *, claims: dict | None = None, details: dict | None = None,
          not_checked: dict | None = None, margins: dict | None = None, params: dict | None = None, data=(), device=None,
          seconds: float | None = None) -> Path:
    """Write ``output_dir/metrics.json``: the headline numbers; the claims ({text: held}),
    the numbers behind each ({text: detail}), the margins they held by ({text: margin}) and
    those not checked ({text: why}); the
    parameters; the data (name, source, sizes); torch's version, the device, the threads
    and the seconds the notebook ran."""
    import torch  # here, not at the top: the course tooling reads metrics.json without loading torch
    payload = {
        "metrics": _plain(metrics),
        "claims": {str(k): bool(v) for k, v in (claims or {}).items()},
        "claim_details": {str(k): str(v) for k, v in (details or {}).items()},
        "not_checked": {str(k): str(v) for k, v in (not_checked or {}).items()},
        "claim_margins": {str(k): _plain(float(v)) for k, v in (margins or {}).items()},
        "params": _plain(params or {}),
        "data": [d.describe() for d in data],
        "torch": torch.__version__,
        "device": str(device) if device is not None else "cpu",
        "threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "seconds": None if seconds is None else round(seconds, 2),
    }
    path = Path(output_dir) / "metrics.json"
    path.write_text(json.dumps(payload, indent=2) + "\n")
    return path


def read(output_dir: str | Path) -> dict:
    return json.loads((Path(output_dir) / "metrics.json").read_text())


def false_claims(record: dict) -> dict:
    """{text: detail} of the claims a metrics.json records as not held."""
    details = record.get("claim_details") or {}
    return {text: details.get(text, "") for text, held in (record.get("claims") or {}).items() if not held}


def numbers(metrics: dict, prefix: str = "", finite: bool = True) -> dict[str, float]:
    """Every number in ``metrics`` (a metrics.json's ``metrics``), nested keys joined by
    dots: ``{"knn_seconds": {"l1": 0.6}}`` -> ``{"knn_seconds.l1": 0.6}``. Lists and text are left
    out, and so are inf and NaN unless ``finite=False`` (which gives NaN for them and for nulls,
    since a metrics.json writes them as null)."""
    found = {}
    for key, value in _plain(metrics).items():
        if isinstance(value, dict):
            found.update(numbers(value, f"{prefix}{key}.", finite))
        elif isinstance(value, (int, float)) and not isinstance(value, bool) and (math.isfinite(value) or not finite):
            found[f"{prefix}{key}"] = value
        elif value is None and not finite:
            found[f"{prefix}{key}"] = math.nan
    return found
