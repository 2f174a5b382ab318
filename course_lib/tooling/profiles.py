"""What each notebook runs with: a profile (``params/NAME.yaml``), ``--only`` and ``-p key=value``.

A profile has ``common`` parameters (given to every notebook that declares them), per
notebook a time ``budget_s`` and its ``parameters``, and the ``reference`` machine its budgets
were measured on (scaled to this machine by :mod:`.speed`). :func:`parameters_for` merges them
(common < the notebook's entry < ``-p``) and checks the result against the notebook's
``parameters`` cell, so a misspelt name stops the run instead of being ignored.
"""
from __future__ import annotations

import difflib
from pathlib import Path

import yaml

from . import speed
from .checkout import NO_COURSE, NOTEBOOK_DIR, PARAMS_DIR, notebooks
from .errors import RunError

PROFILE_KEYS = {"common", "notebooks", "reference"}
PROFILE_ENTRY_KEYS = {"budget_s", "parameters"}
REFERENCE_KEYS = {"machine", *speed.PROBES}


def load_profile(name: str, params_dir: Path = PARAMS_DIR, notebook_dir: Path = NOTEBOOK_DIR) -> dict:
    """``params/NAME.yaml``, checked: ``common`` parameters and, per notebook,
    ``budget_s`` (seconds) and ``parameters``, and the ``reference`` machine (its name and probe
    seconds); a misspelt key or notebook name is an error, not a no-op."""
    params_dir = Path(params_dir)
    if not params_dir.is_dir():
        raise RunError(f"no profiles: {params_dir} does not exist; {NO_COURSE}")
    path = params_dir / f"{name}.yaml"
    if not path.exists():
        known = ", ".join(sorted(p.stem for p in params_dir.glob("*.yaml")))
        raise RunError(f"unknown profile {name!r}: choose one of {known}")
    try:
        profile = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise RunError(f"profile {name!r}: {path} is not valid YAML ({yaml_problem(err)})") from None
    if not isinstance(profile, dict):
        raise RunError(f"profile {name!r}: {path} must be a mapping with common: and notebooks:")
    extra = set(profile) - PROFILE_KEYS
    if extra:
        raise RunError(f"profile {name!r}: unknown top-level key(s) {', '.join(sorted(extra))}; "
                       f"allowed: {', '.join(sorted(PROFILE_KEYS))}")
    check_reference(name, profile.get("reference"))
    names = notebooks(notebook_dir)
    for nb, entry in (profile.get("notebooks") or {}).items():
        if names and nb not in names:
            near = difflib.get_close_matches(str(nb), names, n=2, cutoff=0.5)
            hint = f"did you mean {' or '.join(near)}?" if near else f"choose from {', '.join(names)}"
            raise RunError(f"profile {name!r}: notebooks entry {nb!r} names no notebook; {hint}")
        entry = entry or {}
        bad = set(entry) - PROFILE_ENTRY_KEYS
        if bad:
            raise RunError(f"profile {name!r}, {nb}: unknown key(s) {', '.join(sorted(bad))}; "
                           f"allowed: {', '.join(sorted(PROFILE_ENTRY_KEYS))}")
        budget = entry.get("budget_s")
        if budget is not None and (isinstance(budget, bool) or not isinstance(budget, (int, float)) or budget <= 0):
            raise RunError(f"profile {name!r}, {nb}: budget_s must be a positive number of seconds; got {budget!r}")
    return profile


def check_reference(name: str, reference) -> None:
    """A profile's ``reference:``, if any: the machine's name and its seconds for each probe."""
    if reference is None:
        return
    if not isinstance(reference, dict) or set(reference) != REFERENCE_KEYS:
        raise RunError(f"profile {name!r}: reference must give {', '.join(sorted(REFERENCE_KEYS))} "
                       f"(python -m course_lib speed prints them for this machine)")
    for key in speed.PROBES:
        value = reference[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise RunError(f"profile {name!r}: reference {key} must be a positive number of seconds; got {value!r}")


def budget(profile: dict, name: str, factor: float | None = None) -> float | None:
    """One notebook's time budget on this machine, in seconds (None: no budget): the profile's
    ``budget_s`` times ``factor`` (default: this machine's, measured once a process; see :mod:`.speed`)."""
    seconds = ((profile.get("notebooks") or {}).get(name) or {}).get("budget_s")
    if seconds is None:
        return None
    return round(seconds * (speed.for_profile(profile)["factor"] if factor is None else factor), 1)


def yaml_problem(err: Exception) -> str:
    """PyYAML's complaint in a few words, on one line."""
    problem = getattr(err, "problem", None) or str(err).splitlines()[0]
    mark = getattr(err, "problem_mark", None)
    return f"{problem} at column {mark.column + 1}" if mark is not None else problem


def parse_override(text: str) -> tuple[str, object]:
    """``key=value`` with the value read as YAML (``5`` is an int, ``true`` a bool, ``[2, 3]`` a list)."""
    if "=" not in text:
        raise RunError(f"-p {text!r} must look like key=value, e.g. -p epochs=5")
    key, value = text.split("=", 1)
    key = key.strip()
    if not key:
        raise RunError(f"-p {text!r} has no parameter name before '='")
    try:
        return key, yaml.safe_load(value)
    except yaml.YAMLError as err:
        raise RunError(f"-p {key}: {value!r} is not a valid YAML value ({yaml_problem(err)}); "
                       f"e.g. 5, 0.001, true, fashion-mnist, [2, 10]") from None


def select(only: str | None, notebook_dir: Path = NOTEBOOK_DIR) -> list[str]:
    """The notebooks ``--only`` names, in course order (``None``: all of them).

    Each comma-separated item is a number (``3`` or ``03``), a full name
    (``03_autoencoder``) or the start of one (``03_auto``); an empty item is an error.
    """
    names = notebooks(notebook_dir)
    if only is None:
        return names
    choices = ", ".join(n[:2] for n in names)
    tokens = [t.strip() for t in only.split(",")]
    if any(not t for t in tokens):
        raise RunError(f"--only {only!r} has an empty item: give notebook numbers or names separated by commas, "
                       f"e.g. --only 03,05 (choose from {choices})")
    chosen = []
    for token in tokens:
        if token.isdigit():
            match = [n for n in names if n[:2].isdigit() and int(n[:2]) == int(token)]
        else:
            match = [n for n in names if n == token or n.startswith(token)]
        if not match:
            raise RunError(f"--only {token!r} matches no notebook: choose from {choices}")
        chosen += [m for m in match if m not in chosen]
    return [n for n in names if n in chosen]


def notebook_parameters(name: str, notebook_dir: Path = NOTEBOOK_DIR) -> dict:
    """The names and defaults of a notebook's ``parameters`` cell, via papermill."""
    import papermill

    return papermill.inspect_notebook(str(Path(notebook_dir) / f"{name}.ipynb"))


def output_dir_for(name: str, declared: dict, profile_params: dict, overrides: dict, output: Path) -> str:
    """The one place the runner handles ``output_dir``: the notebook must declare it, nobody
    may set it (not ``-p``, not a profile), and the runner gives it ``OUTPUT/NN_name``."""
    if "output_dir" not in declared:
        raise RunError(f"{name}: its parameters cell has no output_dir, so the runner cannot collect its metrics.json")
    if "output_dir" in overrides:
        raise RunError("-p output_dir: the runner puts each notebook's output in OUTPUT/NN_name; "
                       "choose OUTPUT with --output instead")
    if "output_dir" in profile_params:
        raise RunError(f"{name}: the profile sets output_dir, which the runner sets itself (OUTPUT/{name}); "
                       f"remove it and choose OUTPUT with --output")
    return str(Path(output) / name)


def parameters_for(name: str, profile: dict, overrides: dict, output: Path,
                   notebook_dir: Path = NOTEBOOK_DIR) -> dict:
    """Profile ``common`` < the profile's notebook entry < command-line overrides, checked;
    ``output_dir`` is ``output/name``."""
    declared = notebook_parameters(name, notebook_dir)
    if not declared:
        raise RunError(f"{name}: no cell is tagged 'parameters', so it cannot take the run's parameters")
    entry = (profile.get("notebooks") or {}).get(name) or {}
    params = {k: v for k, v in (profile.get("common") or {}).items() if k in declared}
    params.update(entry.get("parameters") or {})
    output_dir = output_dir_for(name, declared, params, overrides, output)
    for key, value in overrides.items():
        if key not in declared:
            raise RunError(f"{name}: unknown parameter {key!r}; it takes {', '.join(declared)}")
        params[key] = value
    unknown = [k for k in params if k not in declared]
    if unknown:
        raise RunError(f"{name}: the profile sets unknown parameter(s) {', '.join(unknown)}; "
                       f"it takes {', '.join(declared)}")
    params["output_dir"] = output_dir
    return params


def all_parameters(notebook_dir: Path = NOTEBOOK_DIR) -> set:
    """Every parameter name some notebook declares (a notebook that cannot be read counts as none)."""
    names = set()
    for n in notebooks(notebook_dir):
        try:
            names |= set(notebook_parameters(n, notebook_dir))
        except Exception:  # half-written by someone else: the chosen ones were checked already
            pass
    return names


def check_common(profile_name: str, profile: dict, notebook_dir: Path = NOTEBOOK_DIR) -> None:
    """A ``common`` parameter that no notebook takes is a misspelling."""
    stray = sorted(set(profile.get("common") or {}) - all_parameters(notebook_dir))
    if stray:
        raise RunError(f"profile {profile_name!r}: common parameter(s) {', '.join(stray)} are taken by no notebook")
