import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

os.environ["COURSE_DATA"] = "mnist-sample"  # tests never depend on the network
ROOT = Path(__file__).resolve().parents[1]
SMOKE = ROOT / "runs" / "smoke"


@pytest.fixture(scope="session")
def smoke_metrics():
    """``smoke_metrics("03_autoencoder") -> dict``: the metrics of that notebook's smoke
    run in runs/smoke (made by ``make test``; run here if missing)."""

    def get(name: str) -> dict:
        path = SMOKE / name / "metrics.json"
        if not path.exists():
            subprocess.run([sys.executable, "-m", "course_lib", "run", "--profile", "smoke", "--only", name[:2],
                            "--output", str(SMOKE), "--quiet"], check=True, cwd=ROOT)
        return json.loads(path.read_text())["metrics"]

    return get
