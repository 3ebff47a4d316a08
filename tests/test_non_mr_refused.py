"""Inputs the model was not made for get no class: a DICOM series of another modality is refused before the model
runs, in the CLI (and, in tests/gui/test_analysis_flow.py, the window)."""

from __future__ import annotations

import json
from pathlib import Path

import pydicom
import pytest

from core.analysis.pipeline import default_analysis_set
from core.analysis.results import not_analysable_reason
from core.cli import EXIT_SKIPPED, main
from core.io.load import load_study
from tests.dicom_factory import write_mr_series

pytest_plugins = ["tests.model_fixtures"]


def write_series_of_modality(folder: Path, modality: str, n_slices: int = 4) -> Path:
    write_mr_series(folder, n_slices=n_slices, rows=64, cols=64)
    for path in folder.glob("*.dcm"):
        dataset = pydicom.dcmread(path)
        dataset.Modality = modality
        dataset.save_as(path)
    return folder


@pytest.mark.parametrize("modality", ["CT", "NM", "US", "OT"])
def test_other_modalities_are_not_analysable(tmp_path: Path, modality: str) -> None:
    info = load_study(write_series_of_modality(tmp_path / "s", modality)).series[0].info
    assert not_analysable_reason(info) == (f"modality {modality.upper()} is not MR "
                                           "(the model was trained on brain MRI only)")
    assert default_analysis_set(load_study(tmp_path / "s").series[0], 9) == []  # nothing chosen, nothing decoded


def test_mr_and_pictures_are_analysable(tmp_path: Path) -> None:
    assert not_analysable_reason(load_study(write_series_of_modality(tmp_path / "mr", "MR")).series[0].info) == ""
    assert not_analysable_reason(None) == ""


def test_cli_refuses_a_ct_series_and_analyses_the_mr_one(tiny_model_dir: Path, tmp_path: Path, capsys) -> None:
    study = tmp_path / "study"
    write_series_of_modality(study / "ct", "CT")
    write_mr_series(study / "mr", n_slices=4, rows=64, cols=64, seed=3, origin=(0.0, 0.0, 0.0))
    status = main(["classify", str(study), "--model-dir", str(tiny_model_dir), "--json", str(tmp_path / "out.json")])
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert status == EXIT_SKIPPED
    assert sum("no prediction: modality CT is not MR" in line for line in lines) == 1
    assert "not analysed: " in captured.err and "modality CT is not MR" in captured.err  # with what was skipped
    exported = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    modalities = [series["metadata"]["modality"] for series in exported["studies"][0]["series"]]
    assert modalities == ["MR"]  # the CT series has no result, so no class and no report
    (refused,) = exported["studies"][0]["refused_series"]  # but the record says it was there and why
    assert refused["metadata"]["modality"] == "CT" and refused["reason"].startswith("modality CT is not MR")
