"""The findings a run's notebooks recorded, and which of them do not hold.

Each notebook records its claims in ``NN_name/metrics.json`` (see :mod:`course_lib.records`).
A false claim never stops a run; :func:`check` (``python -m course_lib claims RUN``) lists
them, one line each, and fails; CI runs it on the default profile.
"""
from __future__ import annotations

import json
from pathlib import Path

from ..records import false_claims
from .errors import RunError


def tally(record: dict) -> dict:
    """One metrics.json record's claims: ``held`` and ``not_checked`` (counts), ``false`` ({text: detail})."""
    false = false_claims(record)
    return {"held": len(record.get("claims") or {}) - len(false), "false": false,
            "not_checked": len(record.get("not_checked") or {})}


def finding(text: str, detail: str = "") -> str:
    """A claim and the numbers behind it, on one line."""
    return f"{text} [{detail}]" if detail else text


def counts(held: int, false: int) -> str:
    return f"{held} held, {false} not"


def run_line(row: dict) -> str | None:
    """The line ``run`` prints at its end for a notebook with a false claim (None if all held)."""
    false = row.get("false_claims") or {}
    if not false:
        return None
    listed = "; ".join(finding(t, d) for t, d in false.items())
    return f"{row['notebook']:<36} claims: {counts(row['claims_held'], len(false))}: {listed}"


def _names(folder: Path, rows: dict) -> list[str]:
    """The notebooks of a run folder: those run.json planned, else summary.json's, else those it holds."""
    info = folder / "run.json"
    if info.exists():
        planned = json.loads(info.read_text()).get("notebooks")
        if planned:
            return list(planned)
    if rows:
        return list(rows)
    found = {p.stem for p in folder.glob("[0-9][0-9]_*.ipynb")}
    found |= {p.parent.name for p in folder.glob("[0-9][0-9]_*/metrics.json")}
    return sorted(found)


def check(folder: str | Path) -> tuple[list[str], bool]:
    """One line per false claim, per failed notebook and per missing metrics.json, then a
    tally; and whether the run's claims all hold."""
    folder = Path(folder)
    summary = folder / "summary.json"
    rows = {r["notebook"]: r for r in json.loads(summary.read_text())} if summary.exists() else {}
    names = _names(folder, rows) if folder.is_dir() else []
    if not names:
        raise RunError(f"{folder}: no course run here (no run.json, summary.json or NN_name/metrics.json); "
                       f"run the course into it first")
    lines, held, false, unchecked, broken = [], 0, 0, 0, 0
    for name in names:
        error = (rows.get(name) or {}).get("error")
        path = folder / name / "metrics.json"
        if error or not path.exists():
            broken += 1
            lines.append(f"✗ {name}: " + (f"the notebook failed ({error}), so its claims were not checked" if error
                                          else f"no {path.relative_to(folder)}: the notebook did not run to its end"))
            continue
        found = tally(json.loads(path.read_text()))
        lines += [f"✗ {name}: {finding(t, d)}" for t, d in found["false"].items()]
        held, false, unchecked = held + found["held"], false + len(found["false"]), unchecked + found["not_checked"]
    tail = f", {broken} notebook(s) without claims" if broken else ""
    lines.append(f"claims: {counts(held, false)}, {unchecked} not checked, in {len(names)} notebook(s){tail}")
    return lines, not (false or broken)
