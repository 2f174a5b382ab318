"""One row per notebook of a run, and the run's ``summary.csv`` / ``summary.json``.

A row holds what the runner measured (status, seconds, peak memory, budget and the factor that
scaled it to this machine) and what the notebook's ``metrics.json`` says (data, device, headline
metrics, how many claims held).
"""
from __future__ import annotations

import csv
import json
from pathlib import Path

from . import claims

# The metrics each notebook's summary line, summary.csv and index.html show, in order
# (those its metrics.json has; a notebook not listed shows its first few numbers).
HEADLINES = {
    "01_pixel_similarity": ("acc_l1", "acc_l2", "acc_1nn"),
    "02_mlp_classifier": ("mlp_test_acc", "cnn_test_acc", "train_seconds"),
    "03_autoencoder": ("mse_2d", "pca_mse_2d", "seed_dim3_mse"),
    "04_vae_visualisation": ("test_elbo", "recon_mse", "info_vae", "knn5_acc_vae"),
    "05_neighbourhood_preservation": ("score10_relu_mse", "np_vs_relu_mse_score10", "knn5_accuracy"),
    "06_transformer_dataset_similarity": ("pixel_mse_on_p", "patch_mse_on_p", "p_value_pixel_tokens",
                                          "speedup_patch_vs_pixel"),
}
MAX_HEADLINES = 4
FIELDS = ["notebook", "profile", "status", "seconds", "budget_s", "budget_factor", "peak_mb", "dataset", "device",
          "threads", "claims_held", "claims_false", "headlines", "error"]


def headlines(name: str, metrics: dict) -> dict:
    """The notebook's headline metrics (see HEADLINES), else its first few scalar numbers."""
    def scalar(v):
        return isinstance(v, (int, float, str)) and not isinstance(v, bool)

    keys = [k for k in HEADLINES.get(name, ()) if k in metrics]
    if not keys:
        keys = [k for k, v in metrics.items() if scalar(v) and not isinstance(v, str)]
    chosen = {}
    for k in keys[:MAX_HEADLINES]:
        v = metrics[k]
        if isinstance(v, dict):  # a small table of numbers, e.g. {"l1": 2.2, "l2": 0.04}: one entry each
            chosen.update({f"{k}.{sub}": x for sub, x in list(v.items())[:3] if scalar(x)})
        elif scalar(v) or v is None:
            chosen[k] = v
    return chosen


def format_value(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value)


def format_headlines(values: dict) -> str:
    return "; ".join(f"{k}={format_value(v)}" for k, v in values.items())


def row(name: str, profile_name: str, result: dict, record: dict, params: dict, budget: float | None,
        factor: float | None = None) -> dict:
    """A notebook's row from the runner's ``result`` (see :func:`.execute.execute_one`) and its metrics.json
    ``record``; ``budget`` is the one it ran under, the profile's times ``factor`` (see :mod:`.speed`)."""
    ran = not result["error"]
    metrics = record.get("metrics", {}) if ran else {}
    found = claims.tally(record) if ran and record else {"held": None, "false": {}, "not_checked": None}
    data = record.get("data") or []
    status = "ok" if ran else ("over budget" if result["over_budget"] else "error")
    error = result["error"]
    if result["over_budget"] and ran:
        status, error = "over budget", f"took {result['seconds']:.0f}s, over its {budget:g}s budget"
    return {"notebook": name, "profile": profile_name, "status": status,
            "seconds": round(result["seconds"], 1),
            "peak_mb": None if result["peak_mb"] is None else round(result["peak_mb"]),
            "budget_s": budget, "budget_factor": None if budget is None else factor,
            "dataset": data[0].get("dataset") if data else params.get("dataset"),
            "data_source": data[0].get("source") if data else None,
            "device": record.get("device"), "threads": record.get("threads"),
            "headlines": headlines(name, metrics), "error": error,
            "over_budget": result["over_budget"], "params": params, "metrics": metrics, "data": data,
            "claims_held": found["held"], "claims_false": None if found["held"] is None else len(found["false"]),
            "false_claims": found["false"], "claims_not_checked": found["not_checked"]}


def write(out: Path, rows: list[dict]) -> None:
    """``summary.json`` (every field) and ``summary.csv`` (:data:`FIELDS`) of a run folder."""
    (out / "summary.json").write_text(json.dumps(rows, indent=2, default=str) + "\n")
    with open(out / "summary.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS, extrasaction="ignore")
        writer.writeheader()
        for r in rows:
            writer.writerow({**r, "headlines": format_headlines(r["headlines"])})
