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


@pytest.fixture(scope="session")
def counterfactual(tmp_path_factory):
    """``counterfactual("02_mlp_classifier", epochs=2) -> dict``: run a notebook on the smoke
    profile with these parameters changed (papermill, in a folder of its own) and return its
    whole metrics.json record (``claims``, ``claim_details``, ``metrics``, ...). For the tests
    that show a claim can fail: under a counterfactual input, the notebook still runs to the
    end and records the finding as false."""
    import papermill
    import yaml

    profile = yaml.safe_load((ROOT / "params" / "smoke.yaml").read_text())

    def run(name: str, **overrides) -> dict:
        out = tmp_path_factory.mktemp(f"counterfactual-{name[:2]}")
        entry = (profile.get("notebooks") or {}).get(name) or {}
        parameters = {**(profile.get("common") or {}), **(entry.get("parameters") or {}), **overrides,
                      "output_dir": str(out / name)}
        papermill.execute_notebook(str(ROOT / "notebooks" / f"{name}.ipynb"), str(out / f"{name}.ipynb"),
                                   parameters=parameters, kernel_name="mnist-course", cwd=str(ROOT / "notebooks"),
                                   progress_bar=False)
        return json.loads((out / name / "metrics.json").read_text())

    return run
