"""What a notebook leaves behind: ``metrics.json`` and named artifacts in ``output_dir``."""
from __future__ import annotations

import json
import math
import platform
from pathlib import Path

import torch

from . import params as _params
from . import session


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


def output_path(output_dir: str, name: str) -> Path:
    """``output_dir/name``, creating the folder."""
    path = Path(output_dir)
    path.mkdir(parents=True, exist_ok=True)
    return path / name


def record(metrics: dict, output_dir: str, *, data: list | None = None, device=None,
           claims: dict | None = None, params: dict | None = None) -> Path:
    """Write ``metrics.json``: the headline numbers, the summary's claims ({text: held}),
    the parameters (by default those ``params.check`` saw), the data (name, source,
    sizes), torch's version, the device and the seconds since ``session.start``."""
    payload = {
        "metrics": _plain(metrics),
        "claims": {str(k): bool(v) for k, v in (claims or {}).items()},
        "params": _plain(_params.CHECKED if params is None else params),
        "data": [d.describe() for d in (data or [])],
        "torch": torch.__version__,
        "device": str(device) if device is not None else "cpu",
        "threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "seconds": round(session.elapsed(), 2),
    }
    path = output_path(output_dir, "metrics.json")
    path.write_text(json.dumps(payload, indent=2) + "\n")
    return path


def read(output_dir: str) -> dict:
    return json.loads((Path(output_dir) / "metrics.json").read_text())
