"""``python -m course_lib claims RUN``: one line per false claim, a tally, exit status 1 if
anything is false or missing; on hand-made run folders (no notebook runs)."""
import json

import pytest

from course_lib.tooling import cli
from course_lib.tooling.errors import RunError
from course_lib.tooling.claims import check


def notebook(folder, name, claims=None, details=None, not_checked=None, metrics_json=True):
    (folder / f"{name}.ipynb").write_text("{}")
    if metrics_json:
        (folder / name).mkdir(parents=True, exist_ok=True)
        record = {"metrics": {}, "claims": claims or {}, "claim_details": details or {},
                  "not_checked": not_checked or {}}
        (folder / name / "metrics.json").write_text(json.dumps(record))


def claims_command(folder, capsys) -> tuple[int, list[str]]:
    status = cli.main(["claims", str(folder)])
    return status, capsys.readouterr().out.strip().splitlines()


def test_a_false_claim_fails_with_one_line_naming_it(tmp_path, capsys):
    notebook(tmp_path, "01_pixel_similarity", {"the mean beats chance": True})
    notebook(tmp_path, "02_mlp_classifier", {"the MLP beats 1-NN": False, "the loss fell": True},
             {"the MLP beats 1-NN": "MLP 0.91 < 1-NN 0.93"}, {"the CNN beats the MLP": "cnn_epochs=0"})
    status, lines = claims_command(tmp_path, capsys)
    assert status == 1
    assert lines == ["✗ 02_mlp_classifier: the MLP beats 1-NN [MLP 0.91 < 1-NN 0.93]",
                     "claims: 2 held, 1 not, 1 not checked, in 2 notebook(s)"]


def test_all_claims_held_passes(tmp_path, capsys):
    notebook(tmp_path, "01_pixel_similarity", {"a": True, "b": True})
    notebook(tmp_path, "02_mlp_classifier", {"c": True}, not_checked={"d": "too few epochs"})
    status, lines = claims_command(tmp_path, capsys)
    assert status == 0 and lines == ["claims: 3 held, 0 not, 1 not checked, in 2 notebook(s)"]


def test_a_notebook_without_metrics_json_fails(tmp_path, capsys):
    notebook(tmp_path, "01_pixel_similarity", {"a": True})
    notebook(tmp_path, "02_mlp_classifier", metrics_json=False)
    status, lines = claims_command(tmp_path, capsys)
    assert status == 1
    assert lines[0] == "✗ 02_mlp_classifier: no 02_mlp_classifier/metrics.json: the notebook did not run to its end"
    assert lines[-1] == "claims: 1 held, 0 not, 0 not checked, in 2 notebook(s), 1 notebook(s) without claims"


def test_the_run_folders_summary_and_plan_are_followed(tmp_path):
    """A notebook summary.json marks as failed, or one run.json planned that never ran, fails too."""
    notebook(tmp_path, "01_pixel_similarity", {"a": True})
    notebook(tmp_path, "02_mlp_classifier", {"b": True})
    (tmp_path / "summary.json").write_text(json.dumps([
        {"notebook": "01_pixel_similarity", "error": None},
        {"notebook": "02_mlp_classifier", "error": "ValueError: boom"}]))
    (tmp_path / "run.json").write_text(json.dumps({"notebooks": ["01_pixel_similarity", "02_mlp_classifier",
                                                                 "03_autoencoder"]}))
    lines, ok = check(tmp_path)
    assert not ok
    assert lines == ["✗ 02_mlp_classifier: the notebook failed (ValueError: boom), so its claims were not checked",
                     "✗ 03_autoencoder: no 03_autoencoder/metrics.json: the notebook did not run to its end",
                     "claims: 1 held, 0 not, 0 not checked, in 3 notebook(s), 2 notebook(s) without claims"]


def test_a_folder_with_no_run_is_one_line(tmp_path, capsys):
    with pytest.raises(RunError, match="no course run here"):
        check(tmp_path / "nowhere")
    assert cli.main(["claims", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
