"""pyproject.toml and environment.yml ask for the same packages, with the same version
ranges; the installed torch lies in them; installing the course keeps that torch."""
import json
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
import yaml

try:
    import tomllib
except ImportError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parents[1]


def name(req: str) -> str:
    return re.split(r"[<>=!~\[ ]", req.strip(), maxsplit=1)[0].lower().replace("_", "-")


def spec(req: str) -> str:
    return req.strip()[len(name(req)):].replace(" ", "")


def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def environment() -> tuple[dict, dict]:
    """(conda deps, pip deps) of environment.yml, each name -> version specifier."""
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda, pip = {}, {}
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            pip.update({name(r): spec(r) for r in dep["pip"] if not r.startswith("-e")})
        else:
            conda[name(dep)] = spec(dep).removeprefix("=") if not spec(dep).startswith(("=", "<", ">")) else spec(dep)
    for skip in ("python", "pip"):
        conda.pop(skip, None)
    return conda, pip


def test_pyproject_and_environment_yml_agree():
    wanted = {name(r): spec(r) for r in project()["dependencies"]}
    conda, pip = environment()
    both = {**conda, **pip}
    assert set(wanted) == set(both), (f"only in pyproject: {set(wanted) - set(both)}; "
                                      f"only in environment.yml: {set(both) - set(wanted)}")
    for package, version in wanted.items():  # the version ranges travel too
        assert both[package] == version, f"{package}: pyproject says {version!r}, environment.yml {both[package]!r}"


def test_torch_is_a_range_and_the_installed_one_is_in_it():
    """A pin would make `pip install -e .` replace the torch a learner already has."""
    from packaging.requirements import Requirement
    from packaging.version import Version

    reqs = {name(r): Requirement(r) for r in project()["dependencies"]}
    for package in ("torch", "torchvision"):
        assert "==" not in str(reqs[package].specifier), f"{package} is pinned: {reqs[package]}"
        installed = Version(metadata.version(package))
        assert reqs[package].specifier.contains(Version(installed.public)), f"{package} {installed} is outside {reqs[package]}"
    # the oldest torch measured to work, and the one CI runs here, are both allowed
    assert reqs["torch"].specifier.contains("2.4.1") and reqs["torch"].specifier.contains("2.14.1")
    assert not reqs["torch"].specifier.contains("2.3.1")


def test_installing_the_course_keeps_the_installed_torch(tmp_path):
    """`pip install -e .` into this environment, dry run: torch and torchvision are not touched."""
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--quiet", "--report",
                           str(tmp_path / "report.json"), "-e", str(ROOT)],
                          capture_output=True, text=True, timeout=600)
    if proc.returncode != 0 and ("No matching distribution" in proc.stderr or "Could not find" in proc.stderr):
        pytest.skip("no package index reachable for the build backend")
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads((tmp_path / "report.json").read_text())
    would = {item["metadata"]["name"].lower() for item in report["install"]}
    assert not would & {"torch", "torchvision"}, f"pip would install {sorted(would)}"
    assert "course-lib" in {w.replace("_", "-") for w in would}


def test_the_wheel_ships_the_report_templates(tmp_path):
    """`pip install .` (a copy, not editable) must carry course_lib/tooling/templates/*.j2: the report needs them."""
    import zipfile

    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(tmp_path), str(ROOT)],
                          capture_output=True, text=True, timeout=600)
    if proc.returncode != 0 and ("No matching distribution" in proc.stderr or "Could not find" in proc.stderr):
        pytest.skip("no package index reachable for the build backend")
    assert proc.returncode == 0, proc.stderr[-2000:]
    (wheel,) = tmp_path.glob("course_lib-*.whl")
    shipped = set(zipfile.ZipFile(wheel).namelist())
    templates = {f"course_lib/{p.relative_to(ROOT / 'course_lib').as_posix()}"
                 for p in (ROOT / "course_lib" / "tooling" / "templates").glob("*.j2")}
    assert templates and templates <= shipped, f"missing from the wheel: {sorted(templates - shipped)}"
