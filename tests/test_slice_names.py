"""Slices are named as radiologists name them, "Se 6 Im 26, S 12.5 mm", by `Slice.label`, and every output uses
that name: results, notes, the PDF findings, the JSON and saved cases; pictures keep their file name ("image k"
anonymised)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from pydicom.dataset import Dataset

from core.analysis.overlay import OverlaySettings
from core.analysis.results import aggregate, analyse_slice
from core.cases.store import CaseStore
from core.io.load import load_study
from core.output.export import StudyExport, json_document
from core.output.report import findings_paragraphs
from core.output.wording import study_notes
from core.paths import sample_study_dir
from tests.analysis_doubles import ClassifierDouble, ManifestDouble, prediction
from tests.dicom_factory import write_mr_series

GLIOMA, NO_TUMOUR = [0.7, 0.1, 0.1, 0.1], [0.1, 0.1, 0.7, 0.1]


def series_labels(folder: Path, **overrides: object) -> list[str]:
    write_mr_series(folder, n_slices=3, rows=32, cols=32, **overrides)
    return [slice_.label for slice_ in load_study(folder).series[0].slices]


def test_a_dicom_slice_is_named_by_series_instance_and_position_along_the_normal(tmp_path: Path) -> None:
    # The factory's axial slices lie at z = -30 + 1.5 k mm (inferior of the origin); IPP · normal names them, not
    # Slice Location (1.5 k).
    assert series_labels(tmp_path / "mr", SeriesNumber=6) == [
        "Se 6 Im 1, I 30.0 mm", "Se 6 Im 2, I 28.5 mm", "Se 6 Im 3, I 27.0 mm"]


@pytest.mark.parametrize(("orientation", "origin", "expected"), [
    ([-1.0, 0.0, 0.0, 0.0, 1.0, 0.0], (0.0, 0.0, 12.5), "S 12.5 mm"),  # axial stored mirrored: its normal points down
    ([0.0, 1.0, 0.0, 0.0, 0.0, -1.0], (-20.0, 0.0, 0.0), "R 20.0 mm"),  # sagittal
    ([1.0, 0.0, 0.0, 0.0, 0.0, -1.0], (0.0, -8.0, 0.0), "A 8.0 mm"),  # coronal
], ids=["mirrored-axial", "sagittal", "coronal"])
def test_the_position_is_lettered_with_the_patient_direction(tmp_path: Path, orientation, origin, expected) -> None:
    def place(k: int, dataset: Dataset) -> None:
        dataset.ImageOrientationPatient, dataset.ImagePositionPatient = orientation, list(origin)

    write_mr_series(tmp_path, n_slices=1, rows=32, cols=32, SeriesNumber=6, per_slice=place)
    assert load_study(tmp_path).series[0].slices[0].label == f"Se 6 Im 1, {expected}"


@pytest.mark.parametrize(("dropped", "expected"), [
    (("SeriesNumber",), "Im 2, I 28.5 mm"),
    (("InstanceNumber",), "Se 3, I 28.5 mm"),
    (("ImagePositionPatient",), "Se 3 Im 2, loc 1.5 mm"),  # Slice Location, when the position is not stated
    (("ImagePositionPatient", "SliceLocation"), "Se 3 Im 2"),
], ids=["no-series-number", "no-instance-number", "slice-location", "no-position"])
def test_unknown_parts_are_left_out(tmp_path: Path, dropped: tuple[str, ...], expected: str) -> None:
    def drop(k: int, dataset: Dataset) -> None:
        for keyword in dropped:
            delattr(dataset, keyword)

    write_mr_series(tmp_path, n_slices=3, rows=32, cols=32, shuffle=False, per_slice=drop)
    slices = load_study(tmp_path).series[0].slices
    assert slices[1].label == expected and not slices[1].named_by_file


def test_without_instance_number_and_position_the_file_names_the_slice(tmp_path: Path) -> None:
    def anonymous_geometry(k: int, dataset: Dataset) -> None:
        del dataset.InstanceNumber, dataset.ImagePositionPatient, dataset.SliceLocation

    paths = write_mr_series(tmp_path, n_slices=2, rows=32, cols=32, per_slice=anonymous_geometry)
    slices = load_study(tmp_path).series[0].slices
    assert sorted(slice_.label for slice_ in slices) == sorted(path.name for path in paths)
    assert all(slice_.named_by_file for slice_ in slices)


def test_a_position_that_rounds_to_zero_reads_plus_zero(tmp_path: Path) -> None:
    write_mr_series(tmp_path, n_slices=1, rows=32, cols=32, SeriesNumber=6, InstanceNumber=9)
    slice_ = load_study(tmp_path).series[0].slices[0]
    assert dataclasses.replace(slice_, position=-0.04).label == "Se 6 Im 9, S 0.0 mm"


def test_pictures_keep_their_file_name() -> None:
    pictures = sorted(sample_study_dir().glob("*.jpg"))[:2]
    slices = load_study(pictures).series[0].slices
    assert sorted(slice_.label for slice_ in slices) == [path.name for path in pictures]
    assert all(slice_.named_by_file for slice_ in slices)


def analysed(series, rows: list[list[float]]):
    classifier = ClassifierDouble([prediction(row) for row in rows])
    results = [analyse_slice(slice_, classifier) for slice_ in series.slices[: len(rows)]]
    return aggregate(results, ManifestDouble(), series_info=series.info, series_length=len(series))


def test_every_output_names_a_dicom_slice_the_same_way_anonymised_too(tmp_path: Path) -> None:
    write_mr_series(tmp_path / "DOE_JANE", n_slices=3, rows=32, cols=32, SeriesNumber=6)
    series = load_study(tmp_path / "DOE_JANE").series[0]
    study = analysed(series, [GLIOMA, GLIOMA, NO_TUMOUR])
    disagreement = "The slices disagree: Se 6 Im 3, I 27.0 mm favours No tumour (70%)."

    for anonymise in (False, True):
        assert study.slice_results[2].slice_label == "Se 6 Im 3, I 27.0 mm"
        assert disagreement in study_notes(study, anonymise)
        findings = " ".join(findings_paragraphs(study, anonymise))
        assert disagreement.replace("(70%)", "(70.0%)") in findings  # the report prints one decimal
        assert "Se 6 Im 1, I 30.0 mm; Se 6 Im 2, I 28.5 mm" in findings
        document = json_document([StudyExport(tmp_path, [study], [])], ManifestDouble(), anonymise=anonymise)
        slices = document["studies"][0]["series"][0]["slices"]
        assert [entry["label"] for entry in slices] == [slice_.label for slice_ in series.slices]
    assert "DOE_JANE" not in json.dumps(document)  # the last document is the anonymised one


def test_anonymised_outputs_name_a_picture_image_k() -> None:
    series = load_study(sorted(sample_study_dir().glob("*.jpg"))[:2]).series[0]
    study = analysed(series, [GLIOMA, NO_TUMOUR])
    assert "The slices disagree: image 2 favours No tumour (70%)." in study_notes(study, anonymise=True)
    assert f"The slices disagree: {series.slices[1].path.name} favours No tumour (70%)." in study_notes(study)


def test_a_reopened_case_keeps_the_names_and_says_class_names_not_ids(tmp_path: Path) -> None:
    write_mr_series(tmp_path / "mr", n_slices=2, rows=32, cols=32, SeriesNumber=6)
    study = analysed(load_study(tmp_path / "mr").series[0], [GLIOMA, NO_TUMOUR])
    store = CaseStore(tmp_path / "data")
    record = store.save("Teaching", study, None, OverlaySettings(), anonymised=True)

    reopened = store.get(record.case_id).study_result
    assert not reopened.display_names  # a case stores the class ids only
    assert study_notes(reopened)[-1] == "The slices disagree: Se 6 Im 2, I 28.5 mm favours No tumour (70%)."
    assert "notumor" not in " ".join(study_notes(reopened) + findings_paragraphs(reopened, anonymise=True))
