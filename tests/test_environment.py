"""pyproject.toml and environment.yml must ask for the same packages."""
import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def name(req: str) -> str:
    return re.split(r"[<>=!~\[ ]", req.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_pyproject_and_environment_yml_agree():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {name(r) for r in project["dependencies"]}
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda, pip = set(), set()
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            pip |= {name(r) for r in dep["pip"] if not r.startswith("-e")}
        else:
            conda.add(name(dep))
    conda -= {"python", "pip"}
    assert wanted == conda | pip, f"only in pyproject: {wanted - conda - pip}; only in environment.yml: {(conda | pip) - wanted}"
    # the pins travel too
    pins = {name(r): r for r in project["dependencies"] if "==" in r}
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            for r in dep["pip"]:
                if "==" in r:
                    assert pins[name(r)] == r.strip()
