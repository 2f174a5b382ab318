"""course_lib.session: the one set-up line and the run object it returns."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from course_lib import data, session


def cell(tmp_path, **overrides):
    """A notebook's namespace after its typed parameters cell."""
    ns = {"__annotations__": {"dataset": str, "seed": int, "threads": int, "device": str, "output_dir": str,
                              "epochs": int},
          "dataset": "mnist-sample", "seed": 3, "threads": 1, "device": "cpu",
          "output_dir": str(tmp_path / "out" / "nb"), "epochs": 2}
    return {**ns, **overrides}


def test_start_checks_makes_the_folder_and_returns_the_run(tmp_path, capsys):
    run = session.start(cell(tmp_path), epochs=(1, 10))
    assert run.seed == 3 and run.device == torch.device("cpu") and run.params["epochs"] == 2
    assert run.output_dir.is_dir() and run.path("model.pt") == run.output_dir / "model.pt"
    assert "seed 3" in capsys.readouterr().out
    assert run.elapsed() >= 0


def test_a_bad_parameter_stops_start_with_one_line(tmp_path):
    with pytest.raises(ValueError, match=r"epochs must be in \[1, 10\]") as err:
        session.start(cell(tmp_path, epochs=20), epochs=(1, 10))
    assert "\n" not in str(err.value)
    assert not (tmp_path / "out").exists()  # nothing is made before the parameters are good


def test_an_output_dir_that_cannot_be_made_is_one_line(tmp_path):
    taken = tmp_path / "taken"
    taken.write_text("a file, not a folder")
    for bad in (taken, taken / "below"):
        with pytest.raises(ValueError, match="output_dir must be a folder we can create") as err:
            session.start(cell(tmp_path, output_dir=str(bad)))
        assert "\n" not in str(err.value)


def test_generators_are_fresh_and_seeded_from_the_run(tmp_path):
    run = session.start(cell(tmp_path))
    a, b = run.generator(1), run.generator(1)
    assert torch.equal(torch.randperm(50, generator=a), torch.randperm(50, generator=b))
    assert torch.equal(torch.randperm(50, generator=run.generator(1)),
                       torch.randperm(50, generator=torch.Generator().manual_seed(3 + 1)))
    run.manual_seed(2)
    x = torch.rand(3)
    torch.manual_seed(5)
    assert torch.equal(x, torch.rand(3))


def test_claims_are_shown_and_recorded_never_raised(tmp_path, capsys):
    run = session.start(cell(tmp_path))
    run.claim("the model beats chance", 0.9 > 0.1, "0.90 against 0.10")
    run.claim("the model beats 1-NN", 0.90 > 0.93, "0.90 against 0.93", margin=0.90 - 0.93)
    run.claim("the CNN is within 2 points", None, "only at 3 epochs or more")
    out = capsys.readouterr().out
    assert "✓ the model beats chance  [0.90 against 0.10]" in out
    assert "✗ the model beats 1-NN  [0.90 against 0.93]" in out
    assert "not checked: the CNN is within 2 points (only at 3 epochs or more)" in out
    path = run.record({"acc": 0.9}, data=[data.load("mnist-sample", "test")])
    saved = json.loads(path.read_text())
    assert saved["claims"] == {"the model beats chance": True, "the model beats 1-NN": False}
    assert saved["claim_details"]["the model beats 1-NN"] == "0.90 against 0.93"
    assert saved["claim_margins"]["the model beats 1-NN"] == pytest.approx(-0.03)
    assert saved["not_checked"] == {"the CNN is within 2 points": "only at 3 epochs or more"}
    assert saved["params"]["seed"] == 3 and saved["metrics"] == {"acc": 0.9}


def test_a_failed_health_check_stops_with_one_line(tmp_path):
    run = session.start(cell(tmp_path))
    run.healthy(True, "never shown")
    with pytest.raises(session.HealthCheckFailed, match="train longer: epochs >= 5") as err:
        run.healthy(False, "the loss did not fall: train longer: epochs >= 5")
    assert err.value._render_traceback_()[0].endswith("the loss did not fall: train longer: epochs >= 5")


def test_no_course_lib_module_keeps_mutable_state_at_module_level():
    """Module-level names are constants (tables filled where they are written) or functions and
    classes. State shows as a name bound to None or to an empty container to be filled later,
    or a ``global`` statement; per-process caches are functools caches, documented as such."""
    import ast

    def empty(value):
        if isinstance(value, ast.Constant):
            return value.value is None
        if isinstance(value, (ast.List, ast.Set, ast.Tuple)):
            return not value.elts or any(isinstance(e, ast.Constant) and e.value is None for e in value.elts)
        if isinstance(value, ast.Dict):
            return not value.keys
        return isinstance(value, ast.Call) and getattr(value.func, "id", "") in {"set", "dict", "list"} and not value.args

    root = Path(session.__file__).parent
    offenders = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text())
        for node in tree.body:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
            value = getattr(node, "value", None)
            offenders += [f"{path.relative_to(root)}:{node.lineno} {t.id}" for t in targets
                          if isinstance(t, ast.Name) and value is not None and empty(value) and t.id != "__all__"]
        offenders += [f"{path.relative_to(root)}:{n.lineno} global {', '.join(n.names)}"
                      for n in ast.walk(tree) if isinstance(n, ast.Global)]
    assert not offenders, offenders
